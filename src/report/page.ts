// The report page: the figures of a trial (tally.ts) and of an audit, as one self-contained HTML
// file. No script, no external resource (a Content-Security-Policy forbids both), charts as inline
// SVG: it opens from file://, a mail attachment or a CI artifact, and shows the same everywhere.
import { catalogue, isRuleId } from '../rules/catalogue.ts';
import { NAMESPACE_MODE_LABEL } from '../cluster/view.ts';
import type { AuditJson } from './audit-input.ts';
import { type Bar, COLORS, barChart, timeChart } from './charts.ts';
import { type Content, type Html, html, renderHtml, trustedMarkup } from './html.ts';
import type { CountRow, Distinct, ObjectExample, Table, TableRow, TrialSummary } from './tally.ts';

/** What was read, line by line, for the report's note on its input. */
export interface LineCounts {
  readonly lines: number;
  readonly reviews: number;
  readonly blank: number;
  /** Not JSON: other programs' text, torn lines. */
  readonly unreadable: number;
  /** JSON, but not a review line. */
  readonly other: number;
  readonly tooLong: number;
  readonly outsideWindow: number;
}

export interface ReportInput {
  readonly title: string;
  readonly generatedAt: number;
  /** The --log sources, in order; empty without --log. */
  readonly logs: readonly string[];
  readonly summary: TrialSummary | undefined;
  readonly lineCounts: LineCounts | undefined;
  readonly audit: { readonly file: string; readonly json: AuditJson } | undefined;
}

export const DEFAULT_TITLE = 'endpoint-guard trial report';

/** Rows shown per table; the rest are summed into one "and N more" row. */
const TABLE_ROWS = 15;
const CHART_BARS = 10;
const AUDIT_OBJECTS = 25;
const COMMAND_NAMESPACES = 10;

// ---- wording helpers -------------------------------------------------------------------------

const num = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${num(n)} ${n === 1 ? one : many}`;
const percent = (part: number, whole: number): string => {
  if (whole === 0) return '0%';
  const p = (part / whole) * 100;
  return p > 0 && p < 0.1 ? '<0.1%' : `${p < 10 ? p.toFixed(1) : Math.round(p)}%`;
};
const distinctText = (d: Distinct): string => `${d.atLeast ? 'at least ' : ''}${num(d.count)}`;

const pad = (n: number): string => String(n).padStart(2, '0');
export function utcText(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
const durationText = (ms: number): string => {
  const hours = ms / 3_600_000;
  if (hours < 48) return plural(Math.max(1, Math.round(hours)), 'hour');
  return plural(Math.round(hours / 24), 'day');
};
/** "hour", "3 hours", "day", "7 days": the width of a time bucket, after "per". */
const bucketText = (ms: number): string => {
  const [n, unit] = ms % 86_400_000 === 0 ? [ms / 86_400_000, 'day'] : [ms / 3_600_000, 'hour'];
  return n === 1 ? unit : `${num(n)} ${unit}s`;
};

/** A count from a table: exact, or the range it lies in when the table tracked more keys than it could. */
const countText = (row: CountRow): string => (row.error === 0 ? num(row.count) : `${num(row.count - row.error)}–${num(row.count)}`);

const objectText = (e: ObjectExample): string => `${e.kind} ${e.namespace}/${e.name}`;

const ruleDoc = (rule: string): string => (isRuleId(rule) ? catalogue[rule].doc : 'a rule this version of endpoint-guard does not know');

/** Names safe to put in a shell command a person will copy: Kubernetes namespace names only. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const listText = (rows: readonly CountRow[], show = 3): string => {
  const named = rows.slice(0, show).map((r) => (rows.length === 1 ? r.key : `${r.key} (${countText(r)})`));
  return rows.length > show ? `${named.join(', ')} and ${num(rows.length - show)} more` : named.join(', ');
};

// ---- sections ---------------------------------------------------------------------------------

const writesOf = (s: TrialSummary): number => s.verdicts['would-deny'] + s.verdicts.warned + s.verdicts.clean;
const validateReviewsOf = (s: TrialSummary): number =>
  Object.entries(s.verdicts).reduce((sum, [verdict, n]) => (verdict === 'mutate' ? sum : sum + n), 0);

function windowText(input: ReportInput): string {
  const s = input.summary;
  const { since, until } = s?.window ?? {};
  const from = since ?? s?.first;
  const to = until ?? s?.last;
  if (from === undefined || to === undefined) {
    if (since !== undefined) return `from ${utcText(since)}`;
    if (until !== undefined) return `until ${utcText(until)}`;
    return 'no reviews';
  }
  return `${utcText(from)} to ${utcText(to)} (${durationText(to - from)})`;
}

function figure(id: string, value: string, label: string, tone: 'deny' | 'ok' | 'plain' = 'plain'): Html {
  return html`<div class="figure ${tone}"><div class="value" data-figure="${id}">${value}</div><div class="label">${label}</div></div>`;
}

function verdictSection(input: ReportInput): Html {
  const s = input.summary;
  const audit = input.audit?.json;
  if (s === undefined) {
    if (audit === undefined) return html``;
    const stored = audit.summary.endpoints + audit.summary.endpointSlices;
    return audit.summary.rejected > 0
      ? html`<section class="verdict deny"><p class="answer">Enforce would reject ${plural(audit.summary.rejected, 'stored object')} of ${num(stored)} checked.</p>
<p>Fix them, or label their namespace ${NAMESPACE_MODE_LABEL}=complain, before switching. Add the webhook's logs (--log) to see the writes of the trial.</p></section>`
      : html`<section class="verdict ok"><p class="answer">Enforce would reject none of the ${plural(stored, 'stored object')} checked.</p></section>`;
  }
  const writes = writesOf(s);
  const deny = s.verdicts['would-deny'];
  if (validateReviewsOf(s) === 0) {
    return html`<section class="verdict empty"><p class="answer">No reviews in this window.</p>
<p>The ${plural(input.lineCounts?.lines ?? 0, 'line')} read hold no endpoint-guard review${s.window.since !== undefined || s.window.until !== undefined ? ' between --since and --until' : ''}.
Check the window and that the lines come from the endpoint-guard Pods:
<code>kubectl logs -n endpoint-guard -l app.kubernetes.io/name=endpoint-guard --since=336h --prefix --tail=-1</code>.</p></section>`;
  }
  if (deny === 0) {
    return html`<section class="verdict ok"><p class="answer">Enforce would have denied none of the ${plural(writes, 'write')} checked.</p>
<p>${writes === 0 ? 'No write was checked in this window (see how this report counts, below).' : 'Switching to enforce would not have blocked any write in this window.'}
${s.verdicts.warned > 0 ? ` ${plural(s.verdicts.warned, 'write')} had warnings only: enforce allows those and warns.` : ''}</p></section>`;
  }
  const rules = s.byRule.rows.map((r) => r.key);
  const byMode = [
    s.wouldDenyByMode.complain > 0 ? `${num(s.wouldDenyByMode.complain)} ran in complain mode (allowed, with a warning)` : '',
    s.wouldDenyByMode.off > 0 ? `${num(s.wouldDenyByMode.off)} in off mode (allowed silently)` : '',
    s.wouldDenyByMode.enforce > 0 ? `${num(s.wouldDenyByMode.enforce)} in enforce mode (already denied)` : '',
  ].filter(Boolean);
  return html`<section class="verdict deny">
<p class="answer">Enforce would have denied <strong>${num(deny)}</strong> of ${plural(writes, 'write')} (${percent(deny, writes)}),
by ${plural(s.distinct.writers.count, 'writer')}${s.distinct.writers.atLeast ? '+' : ''} in ${plural(s.distinct.namespaces.count, 'namespace')}${s.distinct.namespaces.atLeast ? '+' : ''},
for ${rules.length === 1 ? html`the rule <code>${rules[0]}</code>` : html`${num(rules.length)} rules${rules.length <= 3 ? html` (${rules.map((r, i) => html`${i > 0 ? ', ' : ''}<code>${r}</code>`)})` : ''}`}.</p>
<p>Of these, ${byMode.join('; ')}.${s.wouldDenyKeptByLabel > 0
    ? ` ${num(s.wouldDenyKeptByLabel)} of them ${s.wouldDenyKeptByLabel === 1 ? 'was' : 'were'} in namespaces labelled ${NAMESPACE_MODE_LABEL}=complain or off, which a switch of the global mode does not change.`
    : ''}
Fix these writers, or keep their namespaces on complain, before you switch (see the last section).</p></section>`;
}

function figuresSection(input: ReportInput): Html {
  const s = input.summary;
  const audit = input.audit?.json;
  const cards: Html[] = [];
  if (s !== undefined) {
    const deny = s.verdicts['would-deny'];
    cards.push(
      figure('reviews', num(validateReviewsOf(s)), 'reviews'),
      figure('writes', num(writesOf(s)), 'writes checked'),
      figure('would-deny', num(deny), 'writes enforce would have denied', deny > 0 ? 'deny' : 'ok'),
      figure('writers', distinctText(s.distinct.writers), 'writers behind them'),
      figure('namespaces', distinctText(s.distinct.namespaces), 'namespaces they were in'),
      figure('endpoints-writes', num(s.endpointsWrites), `v1 Endpoints writes, by ${plural(s.distinct.endpointsWriters.count, 'writer')}${s.distinct.endpointsWriters.atLeast ? '+' : ''}`),
    );
  }
  if (audit !== undefined) {
    cards.push(figure('stored-rejected', num(audit.summary.rejected), 'stored objects enforce would reject', audit.summary.rejected > 0 ? 'deny' : 'ok'));
  }
  return html`<section class="figures">${cards}</section>`;
}

const tableBars = (t: Table): Bar[] => {
  const shown = t.rows.slice(0, CHART_BARS).map((r) => ({ label: r.key, count: r.count }));
  const rest = t.total - shown.reduce((sum, b) => sum + b.count, 0);
  return rest > 0 && t.rows.length > CHART_BARS ? [...shown, { label: `${num(t.rows.length - CHART_BARS)}${t.exact ? '' : '+'} others`, count: rest }] : shown;
};

function chart(title: string, svg: string, note?: Content): Html {
  return html`<figure class="chart"><figcaption>${title}</figcaption>${trustedMarkup(svg)}${note ? html`<p class="note">${note}</p>` : ''}</figure>`;
}

async function chartsSection(s: TrialSummary): Promise<Html> {
  const deny = s.verdicts['would-deny'];
  const per = bucketText(s.bucketWidth);
  if (writesOf(s) === 0) return html``;
  if (deny === 0) {
    const svg = await timeChart(s.buckets.map((b) => ({ start: b.start, count: b.writes })), { bucketMs: s.bucketWidth, axisTitle: `writes per ${per}`, color: COLORS.neutral });
    return html`<section><h2>When</h2>${chart(`Writes checked, per ${per} (none would have been denied)`, svg)}</section>`;
  }
  const [overTime, rules, namespaces, writers] = await Promise.all([
    timeChart(s.buckets.map((b) => ({ start: b.start, count: b.wouldDeny })), { bucketMs: s.bucketWidth, axisTitle: `writes per ${per}` }),
    barChart(tableBars(s.byRule), { axisTitle: 'writes' }),
    barChart(tableBars(s.byNamespace), { axisTitle: 'writes' }),
    barChart(tableBars(s.byWriter), { axisTitle: 'writes', width: 560, labelLimit: 420 }),
  ]);
  return html`<section><h2>When, what, where and who</h2>
${chart(`Writes enforce would have denied, per ${per}`, overTime)}
<div class="grid">
${chart('By rule', rules, 'A write that breaks two rules counts under each.')}
${chart('By namespace', namespaces)}
</div>
${chart('By writer', writers)}
</section>`;
}

function moreRow(t: Table, shown: readonly TableRow[], columns: number, what: string): Html | '' {
  const hidden = t.rows.length - shown.length;
  if (hidden <= 0 && t.exact) return '';
  const rest = t.total - shown.reduce((sum, r) => sum + r.count, 0);
  const who = t.exact ? plural(hidden, what) : `more ${what}s`;
  return html`<tr class="more"><td colspan="${columns}">and ${who}, with ${plural(rest, 'write')} between them</td></tr>`;
}

const exampleCell = (e: ObjectExample | undefined): Html =>
  (e === undefined ? html`<td></td>` : html`<td class="example"><code>${objectText(e)}</code><br><span class="muted">${e.rules.join(', ')}, ${utcText(e.time)}</span></td>`);

const approximateNote = (t: Table, what: string): Html | '' =>
  (t.exact ? '' : html`<p class="note">More distinct ${what} than the report tracks: a count shown as a range lies within it, and every ${what.replace(/s$/, '')} with more than 0.1% of the writes is listed.</p>`);

function rulesTable(s: TrialSummary): Html {
  const rows = s.byRule.rows;
  return html`<section><h2>Rules enforce would have denied on</h2>
<table><thead><tr><th>rule</th><th class="n">writes</th><th>what it checks</th><th>writers</th><th>namespaces</th><th>latest example</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><code>${r.key}</code></td><td class="n">${countText(r)}</td><td>${ruleDoc(r.key)}</td>
<td>${listText(r.writers)}</td><td>${listText(r.namespaces)}</td>${exampleCell(r.example)}</tr>`)}
</tbody></table></section>`;
}

function writersTable(s: TrialSummary): Html {
  const t = s.byWriter;
  const shown = t.rows.slice(0, TABLE_ROWS);
  const deny = s.verdicts['would-deny'];
  return html`<section><h2>Top writers</h2>
<p>Who wrote what enforce would have denied: the people and tools to talk to before switching.</p>
<table><thead><tr><th>writer</th><th class="n">writes</th><th class="n">share</th><th>rules</th><th>namespaces</th><th>latest example</th></tr></thead><tbody>
${shown.map((r) => html`<tr><td class="who">${r.key}</td><td class="n">${countText(r)}</td><td class="n">${percent(r.count, deny)}</td>
<td>${listText(r.rules)}</td><td>${listText(r.namespaces)}</td>${exampleCell(r.example)}</tr>`)}
${moreRow(t, shown, 6, 'writer')}
</tbody></table>${approximateNote(t, 'writers')}</section>`;
}

const modeText = (row: TableRow): Html => {
  if (row.mode === undefined) return html``;
  return row.mode.fromLabel ? html`${row.mode.mode} <span class="muted">(label)</span>` : html`${row.mode.mode}`;
};

function namespacesTable(s: TrialSummary): Html {
  const t = s.byNamespace;
  const shown = t.rows.slice(0, TABLE_ROWS);
  const deny = s.verdicts['would-deny'];
  return html`<section><h2>Top namespaces</h2>
<p>Mode is that of the latest review there: "(label)" when the namespace's ${NAMESPACE_MODE_LABEL} label chose it, which a change of the global mode does not override.</p>
<table><thead><tr><th>namespace</th><th>mode</th><th class="n">writes</th><th class="n">share</th><th>rules</th><th>writers</th><th>latest example</th></tr></thead><tbody>
${shown.map((r) => html`<tr><td class="who">${r.key}</td><td>${modeText(r)}</td><td class="n">${countText(r)}</td><td class="n">${percent(r.count, deny)}</td>
<td>${listText(r.rules)}</td><td>${listText(r.writers)}</td>${exampleCell(r.example)}</tr>`)}
${moreRow(t, shown, 7, 'namespace')}
</tbody></table>${approximateNote(t, 'namespaces')}</section>`;
}

function endpointsSection(s: TrialSummary): Html {
  const t = s.endpointsWriters;
  if (s.endpointsWrites === 0) {
    return html`<section><h2>v1 Endpoints writers</h2><p>No write of a v1 Endpoints object in this window: nothing to migrate to EndpointSlices.</p></section>`;
  }
  const shown = t.rows.slice(0, TABLE_ROWS);
  return html`<section><h2>v1 Endpoints writers: the migration list</h2>
<p>v1 Endpoints is deprecated since Kubernetes 1.33. These writers still create or update Endpoints objects
(${plural(s.endpointsWrites, 'write')}; the control plane's own writes are exempt and not counted): move them to EndpointSlices.</p>
<table><thead><tr><th>writer</th><th class="n">writes</th><th>namespaces</th><th>latest object</th></tr></thead><tbody>
${shown.map((r) => html`<tr><td class="who">${r.key}</td><td class="n">${countText(r)}</td><td>${listText(r.namespaces)}</td>
<td class="example">${r.example ? html`<code>${objectText(r.example)}</code><br><span class="muted">${utcText(r.example.time)}</span>` : ''}</td></tr>`)}
${moreRow(t, shown, 4, 'writer')}
</tbody></table>${approximateNote(t, 'writers')}</section>`;
}

async function auditSection(file: string, audit: AuditJson): Promise<Html> {
  const { summary } = audit;
  const stored = summary.endpoints + summary.endpointSlices;
  const scope = audit.settings.namespace === null ? `${plural(summary.namespaces, 'namespace')}` : `namespace ${audit.settings.namespace}`;
  const namespaces = Object.entries(audit.byNamespace).filter(([, t]) => t.errors > 0).sort(([a, x], [b, y]) => y.rejected - x.rejected || y.errors - x.errors || (a < b ? -1 : 1));
  const rules = Object.entries(audit.byRule).filter(([, t]) => t.errors > 0).sort(([a, x], [b, y]) => y.errors - x.errors || (a < b ? -1 : 1));
  const errorsOf = new Map<string, string[]>();
  for (const f of audit.findings) {
    if (f.severity !== 'error') continue;
    const key = `${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name ?? ''}`;
    errorsOf.set(key, [...(errorsOf.get(key) ?? []), `${f.rule}: ${f.message}`]);
  }
  const rejected = audit.rejected.slice(0, AUDIT_OBJECTS);
  const rejectedIn = namespaces.filter(([, t]) => t.rejected > 0);
  const byNamespace = rejectedIn.length > 0 ? await barChart(rejectedIn.slice(0, CHART_BARS).map(([ns, t]) => ({ label: ns, count: t.rejected })), { axisTitle: 'objects' }) : '';
  return html`<section><h2>Stored objects enforce would reject</h2>
<p>From <code>${file}</code> (<code>endpoint-guard audit --format json</code>): ${plural(summary.endpoints, 'Endpoints', 'Endpoints')} and
${plural(summary.endpointSlices, 'EndpointSlice')} in ${scope}, checked with the Kubernetes ${audit.settings.kubernetesVersion} rules.
Enforce would reject <strong data-figure="audit-rejected">${num(summary.rejected)}</strong> of the ${plural(stored, 'object')} the next time someone writes them
${summary.sparedByNamespaceLabel > 0 ? `(and ${plural(summary.sparedByNamespaceLabel, 'object')} with errors in namespaces labelled off or complain, where enforce does not reject)` : ''}.</p>
${namespaces.length > 0 ? html`<div class="grid">${byNamespace === '' ? html`<div></div>` : chart('Objects enforce would reject, by namespace', byNamespace)}
<table><thead><tr><th>rule</th><th class="n">errors</th><th>what it checks</th></tr></thead><tbody>
${rules.map(([rule, t]) => html`<tr><td><code>${rule}</code></td><td class="n">${num(t.errors)}</td><td>${ruleDoc(rule)}</td></tr>`)}
</tbody></table></div>
<table><thead><tr><th>object</th><th>errors</th></tr></thead><tbody>
${rejected.map((o) => html`<tr><td><code>${o.kind} ${o.namespace ?? ''}${o.namespace === null ? '' : '/'}${o.name ?? ''}</code></td>
<td>${(errorsOf.get(`${o.kind}/${o.namespace ?? ''}/${o.name ?? ''}`) ?? []).map((e) => html`<div>${e}</div>`)}</td></tr>`)}
${audit.rejected.length > rejected.length ? html`<tr class="more"><td colspan="2">and ${plural(audit.rejected.length - rejected.length, 'more object')}</td></tr>` : ''}
</tbody></table>` : ''}
</section>`;
}

function switchSection(input: ReportInput): Html {
  const s = input.summary;
  const namespaces = (s?.byNamespace.rows ?? []).map((r) => r.key).filter((ns) => NAMESPACE_NAME.test(ns)).slice(0, COMMAND_NAMESPACES);
  const endpointsNamespaces = [...new Set((s?.endpointsWriters.rows ?? []).flatMap((r) => r.namespaces.map((n) => n.key)))]
    .filter((ns) => NAMESPACE_NAME.test(ns)).slice(0, COMMAND_NAMESPACES);
  const labelLines = namespaces.map((ns) => `kubectl label namespace ${ns} ${NAMESPACE_MODE_LABEL}=complain --overwrite`);
  const convertLines = endpointsNamespaces.map((ns) => `kubectl get endpoints,services -n ${ns} -o yaml | endpoint-guard convert - -o migrated/${ns}/`);
  return html`<section class="switch"><h2>Before you switch to enforce</h2><ol>
<li><p><strong>Fix the writers above, or keep their namespaces on trial.</strong> A namespace labelled complain stays in complain mode whatever the global mode:</p>
<pre><code>${labelLines.length > 0 ? labelLines.join('\n') : `kubectl label namespace NAMESPACE ${NAMESPACE_MODE_LABEL}=complain --overwrite`}</code></pre>
<p>Or try enforce on one namespace first: <code>kubectl label namespace NAMESPACE ${NAMESPACE_MODE_LABEL}=enforce --overwrite</code>.</p></li>
<li><p><strong>Move v1 Endpoints writers to EndpointSlices.</strong> <code>convert</code> writes the slices that replace each Endpoints object:</p>
<pre><code>${convertLines.length > 0 ? convertLines.join('\n') : 'kubectl get endpoints,services -n NAMESPACE -o yaml | endpoint-guard convert - -o migrated/'}</code></pre></li>
<li><p><strong>Check what is stored.</strong> Objects written before the trial are rejected the next time someone updates them:</p>
<pre><code>endpoint-guard audit                               # exit 0: enforce would reject none of them
endpoint-guard audit --format json &gt; audit.json   # then: endpoint-guard report --log ... --audit audit.json</code></pre></li>
<li><p><strong>Switch.</strong> With the manifests in <code>deploy/</code>, which set the server's mode and the validating webhook's failurePolicy together:</p>
<pre><code>kubectl apply -k deploy/overlays/enforce</code></pre>
<p>With registrations made by <code>manifests</code>, set the mode and re-register with <code>failurePolicy: Fail</code>:</p>
<pre><code>kubectl -n endpoint-guard set env deployment/endpoint-guard ENDPOINT_GUARD_MODE=enforce
endpoint-guard manifests --service endpoint-guard/endpoint-guard --mode enforce --cert-dir certs --apply</code></pre></li>
<li><p><strong>Watch the first days.</strong> Denied writes show in <code>endpoint_guard_reviews_total{decision="denied"}</code> and in this report run again on the new logs; <code>deploy/monitoring</code> has a dashboard and alerts.</p></li>
</ol></section>`;
}

function countingSection(input: ReportInput): Html {
  const s = input.summary;
  const c = input.lineCounts;
  const v = s?.verdicts;
  const skipped = c ? [
    c.unreadable > 0 ? `${plural(c.unreadable, 'line')} not JSON (other programs, torn lines)` : '',
    c.other > 0 ? `${plural(c.other, 'JSON line')} that are not review lines (start-up and error messages, other programs)` : '',
    c.tooLong > 0 ? `${plural(c.tooLong, 'line')} over 16 MiB` : '',
    c.outsideWindow > 0 ? `${plural(c.outsideWindow, 'review')} outside the window` : '',
  ].filter(Boolean) : [];
  return html`<section class="counting"><h2>How this report counts</h2>
<p>A <strong>write</strong> is a review by the validating webhook (<code>/validate</code>) of a CREATE or UPDATE of an Endpoints or EndpointSlice that its rules checked, and not a dry run.
<strong>Enforce would have denied</strong> a write when the rules found an error in it (the review line's <code>errors</code>), whatever mode it ran in:
in complain and off mode it was allowed, in enforce mode it was denied. The rules and severities are those the server ran with.
The mutating webhook (<code>/mutate</code>) sees the same writes; its lines are not counted again.
Not counted as writes: dry runs, the control plane's writes (exempt), deletes and other kinds (ignored), requests that were not AdmissionReviews, and reviews that failed (a rule threw, or the review overran its time).</p>
${v ? html`<table class="compact"><tbody>
<tr><td>writes enforce would have denied</td><td class="n">${num(v['would-deny'])}</td></tr>
<tr><td>writes with warnings only (enforce allows them)</td><td class="n">${num(v.warned)}</td></tr>
<tr><td>writes without findings</td><td class="n">${num(v.clean)}</td></tr>
<tr><td>dry runs${s && s.dryRunWouldDeny > 0 ? ` (${num(s.dryRunWouldDeny)} that enforce would deny)` : ''}</td><td class="n">${num(v['dry-run'])}</td></tr>
<tr><td>exempt writers (the control plane)</td><td class="n">${num(v.exempt)}</td></tr>
<tr><td>ignored (deletes, other kinds)</td><td class="n">${num(v.ignored)}</td></tr>
<tr><td>not AdmissionReviews (answered 400)</td><td class="n">${num(v['bad-request'])}</td></tr>
<tr><td>not checked: a rule threw, or the review overran reviewBudgetMs</td><td class="n">${num(v['not-checked'])}</td></tr>
<tr><td>mutating reviews (${s ? plural(s.fixedWrites, 'write') : ''} fixed${s && s.fixes.rows.length > 0 ? `: ${listText(s.fixes.rows, 4)}` : ''})</td><td class="n">${num(v.mutate)}</td></tr>
</tbody></table>` : ''}
${c ? html`<p>Read ${plural(c.lines, 'line')} from ${input.logs.map((l, i) => html`${i > 0 ? ', ' : ''}<code>${l}</code>`)}: ${plural(c.reviews, 'review line')}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}.
Times are UTC.</p>` : ''}
</section>`;
}

const STYLE = `
:root { color-scheme: light; --deny: ${COLORS.deny}; --ok: ${COLORS.ok}; --muted: #5f6b7a; --line: #e3e6eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d2430; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
section { margin-top: 28px; }
h2 { font-size: 19px; margin: 0 0 10px; }
.verdict { padding: 18px 22px; border-radius: 8px; border-left: 6px solid; background: white; }
.verdict.deny { border-color: var(--deny); }
.verdict.ok { border-color: var(--ok); }
.verdict.empty { border-color: #8a94a6; }
.verdict .answer { font-size: 22px; margin: 0 0 6px; }
.verdict.deny .answer strong { color: var(--deny); }
.verdict p { margin: 6px 0 0; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(135px, 1fr)); gap: 12px; }
.figure { background: white; border-radius: 8px; padding: 12px 14px; border: 1px solid var(--line); }
.figure .value { font-size: 28px; font-weight: 600; }
.figure.deny .value { color: var(--deny); }
.figure.ok .value { color: var(--ok); }
.figure .label { color: var(--muted); font-size: 13px; }
.chart { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 0 0 12px; overflow-x: auto; }
.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.chart svg { max-width: 100%; height: auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 12px; align-items: start; }
table { width: 100%; border-collapse: collapse; background: white; border: 1px solid var(--line); border-radius: 8px; margin-bottom: 8px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); font-size: 14px; }
th { background: #eef0f4; font-weight: 600; }
td.n, th.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.who { word-break: break-all; }
td.example code { word-break: break-all; }
tr.more td { color: var(--muted); font-style: italic; }
.muted, .note { color: var(--muted); font-size: 13px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #1d2430; color: #f1f3f6; padding: 10px 12px; border-radius: 6px; overflow-x: auto; }
.switch li { margin-bottom: 10px; }
table.compact { width: auto; }
`;

/** The whole page. Every value from the logs or the audit goes through html``, which escapes it. */
export async function renderReport(input: ReportInput): Promise<string> {
  const s = input.summary;
  const sections: Html[] = [verdictSection(input), figuresSection(input)];
  if (s !== undefined && validateReviewsOf(s) > 0) {
    sections.push(await chartsSection(s));
    if (s.verdicts['would-deny'] > 0) sections.push(rulesTable(s), writersTable(s), namespacesTable(s));
    sections.push(endpointsSection(s));
  }
  if (input.audit !== undefined) sections.push(await auditSection(input.audit.file, input.audit.json));
  sections.push(switchSection(input), countingSection(input));
  const page = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title}</title>
<style>${trustedMarkup(STYLE)}</style></head>
<body><main>
<header><h1>${input.title}</h1>
<p>${s !== undefined ? html`Window: <span data-figure="window">${windowText(input)}</span> · ` : ''}generated ${utcText(input.generatedAt)} by <code>endpoint-guard report</code></p></header>
${sections}
</main></body></html>
`;
  return renderHtml(page);
}
