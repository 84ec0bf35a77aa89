// `endpoint-guard report`: known traffic through the real server ends in a page with exactly its
// counts and names; what counts as a write enforce would have denied; lines that are not review
// lines; the window; bad input; and text from the logs that must stay text.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import escapeHtml from 'escape-html';
import { configSchema } from '../src/config.ts';
import { catalogue } from '../src/rules/catalogue.ts';
import { runReport } from '../src/report/command.ts';
import { progressLine } from '../src/report/progress.ts';
import { parseLine } from '../src/report/review-line.ts';
import { type TrialSummary, createTally } from '../src/report/tally.ts';
import { parseWhen } from '../src/report/when.ts';
import { guardReview } from '../src/server/review-guard.ts';
import { startFakeApiserver } from './helpers/fake-apiserver.ts';
import { captureLog } from './helpers/log.ts';
import { runCli } from './helpers/lint.ts';
import { slice } from './helpers/objects.ts';
import {
  admissionReview, cleanEndpoints, cleanSlice, clusterWithModes, controllerClaimingSlice, reviewLines, writeLines,
} from './helpers/review-log.ts';
import { startTestServing } from './helpers/serving.ts';
import { tempDir } from './helpers/temp.ts';

/** The text of an element marked data-figure="id". */
const figureOf = (page: string, id: string): string | undefined => new RegExp(`data-figure="${id}">([^<]*)<`).exec(page)?.[1];

interface Built { readonly code: number; readonly stdout: string; readonly stderr: string; readonly page: string }

/** Writes the lines to a log file, runs `endpoint-guard report --log FILE ...args`, and reads the page. */
async function buildReport(t: TestContext, lines: readonly string[], ...args: string[]): Promise<Built> {
  const dir = await tempDir(t);
  const log = join(dir, 'kubectl-logs.txt');
  const out = join(dir, 'report.html');
  await writeFile(log, `${lines.join('\n')}\n`);
  const run = await runCli(['report', '--log', log, '--out', out, ...args]);
  const page = run.code === 0 ? await readFile(out, 'utf8') : '';
  return { ...run, page };
}

/** The trial's figures from lines, as the report reads them. */
function summarise(lines: readonly string[], window = {}): TrialSummary {
  const tally = createTally(window);
  for (const line of lines) {
    const parsed = parseLine(line);
    if (parsed.type === 'review') tally.add(parsed.review);
  }
  return tally.summary();
}

const pods = ['[pod/endpoint-guard-7d9c6b5f4-x2k8q/endpoint-guard] ', '[pod/endpoint-guard-7d9c6b5f4-p7m4z/endpoint-guard] '];

describe('endpoint-guard report', { timeout: 60_000 }, () => {
  test('shows exactly the known traffic sent through the real server: 30 would-deny writes by one user in one namespace, 20 clean writes, 10 v1 Endpoints writes', async (t) => {
    const server = await startTestServing(t);
    const write = async (body: unknown) => {
      // As the apiserver calls them: the mutating webhook first, then the validating one.
      assert.equal((await server.post('/mutate', body)).status, 200);
      assert.equal((await server.post('/validate', body)).status, 200);
    };
    for (let i = 0; i < 30; i++) await write(admissionReview({ object: controllerClaimingSlice(), user: 'alice@example.com', namespace: 'team-a', name: `web-${i}` }));
    for (let i = 0; i < 20; i++) await write(admissionReview({ object: cleanSlice(), user: i % 2 ? 'bob@example.com' : 'system:serviceaccount:team-b:deployer', namespace: i % 2 ? 'team-b' : 'team-c', name: `api-${i}` }));
    for (let i = 0; i < 10; i++) await write(admissionReview({ object: cleanEndpoints(), user: 'system:serviceaccount:team-d:legacy-sync', namespace: 'team-d', name: `db-${i}` }));

    // What kubectl logs -l ... --prefix prints: each replica's lines (here every other line), one replica after the other.
    const lines = server.logs.raw.map((l) => l.trimEnd());
    const printed = [0, 1].flatMap((pod) => lines.filter((_, i) => i % 2 === pod).map((l) => pods[pod] + l));
    const { code, stdout, page } = await buildReport(t, printed);

    assert.equal(code, 0);
    assert.match(stdout, /60 reviews, 60 writes checked, 30 enforce would have denied, 10 v1 Endpoints writes/);
    assert.deepEqual(
      Object.fromEntries(['reviews', 'writes', 'would-deny', 'writers', 'namespaces', 'endpoints-writes'].map((id) => [id, figureOf(page, id)])),
      { reviews: '60', writes: '60', 'would-deny': '30', writers: '1', namespaces: '1', 'endpoints-writes': '10' },
    );
    assert.match(page, /Enforce would have denied <strong>30<\/strong> of 60 writes \(50%\),\s+by 1 writer in 1 namespace,\s+for the rule <code>managed-by-controller<\/code>/);
    // The writer, the namespace and the rule with its doc line, in their tables.
    assert.match(page, /<td class="who">alice@example\.com<\/td><td class="n">30<\/td><td class="n">100%<\/td>/);
    assert.match(page, /<td class="who">team-a<\/td><td>complain<\/td><td class="n">30<\/td>/);
    assert.ok(page.includes(`<td><code>managed-by-controller</code></td><td class="n">30</td><td>${escapeHtml(catalogue['managed-by-controller'].doc)}</td>`));
    assert.match(page, /<code>EndpointSlice team-a\/web-29<\/code>/, 'an example object');
    // The migration list names the Endpoints writer; the clean writers are in no table of denials.
    assert.match(page, /<td class="who">system:serviceaccount:team-d:legacy-sync<\/td><td class="n">10<\/td>/);
    assert.doesNotMatch(page, /bob@example\.com/);
    // The charts: over time, by rule, by namespace and by writer, as inline SVG naming what they count.
    const charts = [...page.matchAll(/<figure class="chart"><figcaption>([^<]*)<\/figcaption><svg[^]*?<\/svg>/g)];
    assert.deepEqual(charts.map((c) => c[1]), ['Writes enforce would have denied, per hour', 'By rule', 'By namespace', 'By writer']);
    assert.match(charts[3]?.[0] ?? '', /<text[^>]*>alice@example\.com<\/text>/);
    assert.match(charts[2]?.[0] ?? '', /<text[^>]*>team-a<\/text>/);
    // /mutate saw the same 60 writes; they are counted once, as mutating reviews.
    assert.match(page, /<td>mutating reviews \(0 writes fixed\)<\/td><td class="n">60<\/td>/);
  });

  test('is one self-contained file: no script, no external resource, a policy that forbids both', async (t) => {
    const lines = writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' });
    const { page } = await buildReport(t, lines);
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/);
    // url(#clip1): the SVG's references to its own clip paths, within the page
    assert.doesNotMatch(page, /<script|<link|<iframe|<img|<object|<embed|@import|url\((?!#)/i);
    assert.doesNotMatch(page, /\b(?:src|href)=/i);
  });

  test('keeps text from the logs as text: user, namespace and object names cannot add markup', async (t) => {
    const user = '<script>alert(1)</script>';
    const namespace = '"><img src=x onerror=alert(2)>';
    const name = '</style><b>bold</b>';
    const lines = [
      ...writeLines({ object: controllerClaimingSlice(), user, namespace, name }),
      ...writeLines({ object: cleanEndpoints(), user, namespace, name }),
    ];
    const { page } = await buildReport(t, lines, '--title', '<i>trial</i> & more');
    assert.doesNotMatch(page, /<script|<img|<b>|<i>|<\/style><b>/i);
    assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the user name is shown as text');
    assert.ok(page.includes('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;'), 'the namespace is shown as text');
    assert.ok(page.includes('<title>&lt;i&gt;trial&lt;/i&gt; &amp; more</title>'));
    // Nor is such a name put into a command to copy: the generic one is shown instead.
    assert.ok(page.includes('kubectl label namespace NAMESPACE endpoint-guard.io/mode=complain --overwrite'));
  });

  test('skips and counts what is not a review line: other programs, torn lines, start-up messages; reads kubectl prefixes and timestamps', async (t) => {
    const [mutate = '', validate = ''] = writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' });
    const lines = [
      `${pods[0]}${validate}`,
      `${pods[1]}2025-06-01T10:00:00.123456789Z ${mutate}`,
      `2025-06-01T10:00:00Z ${validate}`,
      '(node:1) Warning: a warning from Node',
      `${pods[0]}${validate.slice(0, 80)}`,
      `${pods[0]}{"level":30,"time":"2025-06-01T10:00:00.000Z","pid":1,"url":"https://0.0.0.0:8443","msg":"listening"}`,
      '{"level":40,"msg":"review","note":"another program\'s line with a msg of review"}',
      '',
      '\u0000\u00ff garbage',
    ];
    const { stdout, page } = await buildReport(t, lines);
    assert.equal(figureOf(page, 'reviews'), '2');
    assert.equal(figureOf(page, 'would-deny'), '2');
    assert.match(stdout, /skipped 5 lines that are not review lines/);
    assert.match(page, /Read 9 lines from <code>[^<]+<\/code>: 3 review lines; skipped 3 lines not JSON \(other programs, torn lines\), 2 JSON lines that are not review lines/);
  });

  test('is the same page in every time zone: times are UTC, charts included', async (t) => {
    const dir = await tempDir(t);
    const log = join(dir, 'a.log');
    const lines = ['2025-06-01T03:30:00Z', '2025-06-02T22:10:00Z'].flatMap((time) => writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' }, { time }));
    await writeFile(log, `${lines.join('\n')}\n`);
    const zone = process.env.TZ;
    t.after(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    const pages: string[] = [];
    for (const tz of ['America/New_York', 'Asia/Kolkata', 'UTC']) {
      process.env.TZ = tz;
      const out = join(dir, `${tz.replace('/', '-')}.html`);
      assert.equal(await runReport({ log: [log], out }, { env: {}, stdout: () => {}, stderr: () => {} }, Date.parse('2025-06-03T00:00:00Z')), 0);
      // vega numbers its clip paths across the process: each page's are unique, not the same in the next one.
      pages.push((await readFile(out, 'utf8')).replace(/clip\d+/g, 'clip'));
    }
    assert.equal(pages[0], pages[2]);
    assert.equal(pages[1], pages[2]);
    assert.match(pages[2] ?? '', /aria-label="2025-06-01 03:00 UTC: 1"/);
  });

  test('reads lines written before /mutate existed, which have no path, as /validate', async (t) => {
    const [, validate = ''] = writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' });
    const old = validate.replace('"path":"/validate",', '');
    assert.notEqual(old, validate);
    const { page } = await buildReport(t, [old]);
    assert.equal(figureOf(page, 'would-deny'), '1');
  });

  test('says so when the window holds no review', async (t) => {
    const lines = writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' }, { time: '2025-06-01T10:00:00.000Z' });
    const { code, page } = await buildReport(t, lines, '--since', '2025-07-01', '--until', '2025-07-02T00:00:00Z');
    assert.equal(code, 0);
    assert.match(page, /<p class="answer">No reviews in this window\.<\/p>\n<p>The 2 lines read hold no endpoint-guard review between --since and --until\./);
    assert.match(page, /2 reviews outside the window/);
    assert.equal(figureOf(page, 'would-deny'), '0');
    assert.doesNotMatch(page, /<svg/);
  });

  test('says so for a log with no review line at all', async (t) => {
    const { code, page } = await buildReport(t, ['just some text', '{"msg":"listening"}']);
    assert.equal(code, 0);
    assert.match(page, /No reviews in this window\.<\/p>\n<p>The 2 lines read hold no endpoint-guard review\./);
  });

  test('says enforce would have denied nothing when no write had an error', async (t) => {
    const lines = [
      ...writeLines({ object: cleanSlice(), user: 'bob', namespace: 'team-b' }),
      ...writeLines({ object: cleanEndpoints(), user: 'bob', namespace: 'team-b' }),
    ];
    const { page } = await buildReport(t, lines);
    assert.match(page, /<p class="answer">Enforce would have denied none of the 2 writes checked\.<\/p>/);
    assert.match(page, /Writes checked, per hour \(none would have been denied\)/);
    assert.equal(figureOf(page, 'endpoints-writes'), '1');
  });

  test('counts only the reviews between --since (inclusive) and --until (exclusive)', async (t) => {
    const at = (time: string) => writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' }, { time, paths: ['/validate'] });
    const lines = [...at('2025-06-01T09:59:59.999Z'), ...at('2025-06-01T10:00:00.000Z'), ...at('2025-06-01T11:59:59.999Z'), ...at('2025-06-01T12:00:00.000Z')];
    const { page } = await buildReport(t, lines, '--since', '2025-06-01T10:00:00Z', '--until', '2025-06-01T14:00:00+02:00');
    assert.equal(figureOf(page, 'would-deny'), '2');
    assert.equal(figureOf(page, 'window'), '2025-06-01 10:00 UTC to 2025-06-01 12:00 UTC (2 hours)');
  });

  test('takes --since as a duration before now', async (t) => {
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const lines = [26, 20, 2].flatMap((h) => writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' }, { time: hoursAgo(h), paths: ['/validate'] }));
    assert.equal(figureOf((await buildReport(t, lines, '--since', '24h')).page, 'would-deny'), '2');
    assert.equal(figureOf((await buildReport(t, lines, '--since', '1d', '--until', '3h')).page, 'would-deny'), '1');
  });

  test('reads standard input with --log -, and writes the page to standard output with --out -', async () => {
    const lines = writeLines({ object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' });
    const run = await runCli(['report', '--log', '-', '--out', '-'], { stdin: [lines.join('\n').slice(0, 100), `${lines.join('\n').slice(100)}\n`] });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(figureOf(run.stdout, 'would-deny'), '1');
    assert.match(run.stderr, /^endpoint-guard report: wrote the report: 1 review, 1 write checked, 1 enforce would have denied, 0 v1 Endpoints writes$/m);
  });

  test('adds the stored objects enforce would reject from an audit', async (t) => {
    const api = await startFakeApiserver(t);
    const dir = await tempDir(t);
    api.add('namespaces', { metadata: { name: 'shop' } });
    api.add('services', { metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } });
    api.add('endpointslices', slice({ metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'my-tool' } } }, [{ addresses: ['127.0.0.1'] }]));
    api.add('endpointslices', slice({ metadata: { name: 'web-2', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'my-tool' } } }));
    const audit = await runCli(['audit', '--kubeconfig', await api.writeKubeconfig(dir), '--format', 'json']);
    assert.equal(audit.code, 1, audit.stderr);
    const auditFile = join(dir, 'audit.json');
    await writeFile(auditFile, audit.stdout);

    const lines = writeLines({ object: cleanSlice(), user: 'bob', namespace: 'shop' });
    const { page } = await buildReport(t, lines, '--audit', auditFile);
    assert.equal(figureOf(page, 'stored-rejected'), '1');
    assert.match(page, /<code>EndpointSlice shop\/web-1<\/code><\/td>\s*<td><div>address: [^<]*127\.0\.0\.1[^<]*<\/div><\/td>/);
    assert.match(page, /Objects enforce would reject, by namespace<\/figcaption><svg/);

    // An audit alone is a report too.
    const out = join(dir, 'audit-only.html');
    const alone = await runCli(['report', '--audit', auditFile, '--out', out]);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(await readFile(out, 'utf8'), /Enforce would reject 1 stored object of 2 checked\./);
  });

  test('builds the sample trial in examples/, whose report the docs show', async (t) => {
    const out = join(await tempDir(t), 'report.html');
    const run = await runCli(['report', '--log', 'examples/trial-logs.txt', '--audit', 'examples/trial-audit.json', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    const page = await readFile(out, 'utf8');
    for (const id of ['would-deny', 'writers', 'namespaces', 'endpoints-writes', 'stored-rejected']) assert.ok(Number(figureOf(page, id)) > 0, id);
    assert.match(page, /<td class="who">system:serviceaccount:search:external-dns<\/td>/);
    assert.match(run.stdout, /skipped 2 lines that are not review lines/, 'a torn line and a line of Node\'s');
  });

  describe('bad input', () => {
    test('a --log file that cannot be read exits 2 naming it, before writing anything', async (t) => {
      const dir = await tempDir(t);
      const out = join(dir, 'report.html');
      const missing = await runCli(['report', '--log', join(dir, 'nope.log'), '--out', out]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^endpoint-guard report: cannot read --log \S+nope\.log: no such file$/m);
      await mkdir(join(dir, 'logs'));
      const directory = await runCli(['report', '--log', join(dir, 'logs'), '--out', out]);
      assert.equal(directory.code, 2);
      assert.match(directory.stderr, /cannot read --log \S+logs: is a directory, not a file/);
      await assert.rejects(readFile(out), /ENOENT/);
    });

    test('an --audit file that is not audit JSON exits 2 naming it and what is wrong', async (t) => {
      const dir = await tempDir(t);
      const file = join(dir, 'audit.json');
      await writeFile(file, '{"schemaVersion":1}');
      const run = await runCli(['report', '--audit', file, '--out', join(dir, 'r.html')]);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--audit \S+audit\.json is not what 'endpoint-guard audit --format json' prints: settings: /);
      await writeFile(file, 'not json');
      assert.match((await runCli(['report', '--audit', file])).stderr, /--audit \S+audit\.json is not JSON/);
    });

    test('usage errors exit 2 naming the flag', async () => {
      const cases: [string[], RegExp][] = [
        [[], /give the review log lines with --log FILE/],
        [['--log', 'x', '--since', 'yesterday'], /--since "yesterday": expected an RFC 3339 time/],
        [['--log', 'x', '--until', '2025-02-30'], /--until "2025-02-30": not a valid date or time/],
        [['--log', 'x', '--since', '2025-06-02', '--until', '2025-06-01'], /--since 2025-06-02 is not before --until 2025-06-01/],
        [['--log', 'x', '--title', ''], /--title must have 1 to 200 characters/],
        [['--log', '-', '--log', '-'], /--log - \(standard input\) can be given once/],
        [['--bogus'], /unknown option '--bogus'/],
      ];
      for (const [args, message] of cases) {
        const run = await runCli(['report', ...args], { stdin: '' });
        assert.equal(run.code, 2, args.join(' '));
        assert.match(run.stderr, message);
      }
    });

    test('an output file that cannot be written exits 2 naming it', async (t) => {
      const dir = await tempDir(t);
      const lines = writeLines({ object: cleanSlice(), user: 'bob', namespace: 'b' });
      const run = await buildReport(t, lines, '--out', join(dir, 'no-such-dir', 'r.html'));
      assert.equal(run.code, 2);
      assert.match(run.stderr, /cannot write --out \S+r\.html: no such file/);
    });
  });
});

describe('progress on stderr', () => {
  test('is drawn only for a person at a terminal, redrawn in place, at most five times a second', () => {
    const lines: string[] = [];
    let now = 1_000;
    const bar = progressLine({ env: {}, stdout: () => {}, stderr: (text) => lines.push(text) }, () => now);
    bar.update('a.log', 0, 400, 0);
    now += 50;
    bar.update('a.log', 100, 400, 10); // too soon: kept for later
    now += 200;
    bar.update('a.log', 200, 400, 20);
    bar.update('a.log', 400, 400, 40);
    bar.done();
    assert.deepEqual(lines, [
      'reading a.log [........................] 0% 0 lines',
      '\u001b[1A\u001b[2Kreading a.log [############............] 50% 20 lines',
      '\u001b[1A\u001b[2Kreading a.log [########################] 100% 40 lines',
    ]);
  });

  test('counts lines alone when the size is not known (standard input)', () => {
    const lines: string[] = [];
    progressLine({ env: {}, stdout: () => {}, stderr: (text) => lines.push(text) }, () => 0).update('standard input', 10, undefined, 1234);
    assert.deepEqual(lines, ['reading standard input: 1,234 lines']);
  });

  test('the command draws it when stderr is a terminal, and not otherwise', async (t) => {
    const dir = await tempDir(t);
    const log = join(dir, 'a.log');
    await writeFile(log, `${writeLines({ object: cleanSlice(), user: 'bob', namespace: 'b' }).join('\n')}\n`);
    for (const stderrIsTTY of [true, false]) {
      let stderr = '';
      const code = await runReport({ log: [log], out: join(dir, 'r.html') }, { env: {}, stdout: () => {}, stderr: (text) => (stderr += `${text}\n`), stderrIsTTY });
      assert.equal(code, 0);
      if (stderrIsTTY) assert.match(stderr, /^reading \S+a\.log \[#{24}\] 100% 2 lines$/m);
      else assert.equal(stderr, '');
    }
  });
});

describe('what enforce would have denied', () => {
  const complain = configSchema.parse({ mode: 'complain' });
  const bad = { object: controllerClaimingSlice(), user: 'alice', namespace: 'team-a' };

  test('counts a write with an error in any mode, and says which mode let it through', () => {
    const s = summarise([
      ...writeLines(bad, { config: complain }),
      ...writeLines(bad, { config: configSchema.parse({ mode: 'enforce' }) }),
      ...writeLines(bad, { config: configSchema.parse({ mode: 'off' }) }),
    ]);
    assert.equal(s.verdicts['would-deny'], 3);
    assert.deepEqual(s.wouldDenyByMode, { complain: 1, enforce: 1, off: 1 });
    assert.equal(s.verdicts.mutate, 3);
  });

  test('notes the writes in namespaces whose label keeps them out of enforce', () => {
    const context = { cluster: clusterWithModes({ 'team-a': 'complain', 'team-b': 'enforce' }) };
    const s = summarise([
      ...writeLines(bad, { context }),
      ...writeLines({ ...bad, namespace: 'team-b' }, { context }),
      ...writeLines({ ...bad, namespace: 'team-c' }, { context }),
    ]);
    assert.equal(s.verdicts['would-deny'], 3);
    assert.equal(s.wouldDenyKeptByLabel, 1);
    const modes = Object.fromEntries(s.byNamespace.rows.map((r) => [r.key, r.mode]));
    assert.deepEqual(modes, {
      'team-a': { mode: 'complain', fromLabel: true }, 'team-b': { mode: 'enforce', fromLabel: true }, 'team-c': { mode: 'complain', fromLabel: false },
    });
  });

  test('does not count dry runs, exempt writers, deletes, other kinds, bad requests or failed reviews as writes', () => {
    // A review that throws is answered by the guard serve puts around it, which logs why.
    const throwing = guardReview('validate', () => {
      throw new Error('a bug');
    }, captureLog('silent').log, undefined);
    const [failed = ''] = reviewLines(admissionReview(bad), { paths: ['/validate'], review: throwing });
    const s = summarise([
      ...writeLines({ ...bad, dryRun: true }),
      ...writeLines({ ...bad, user: 'system:serviceaccount:kube-system:endpointslice-controller' }),
      ...writeLines({ ...bad, operation: 'DELETE' }),
      ...writeLines({ ...bad, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } }),
      ...reviewLines({ kind: 'AdmissionReview' }),
      failed,
    ]);
    assert.deepEqual(s.verdicts, {
      'would-deny': 0, warned: 0, clean: 0, 'dry-run': 1, exempt: 1, ignored: 2, 'bad-request': 1, 'not-checked': 1, mutate: 5,
    });
    assert.equal(s.dryRunWouldDeny, 1);
    assert.equal(s.distinct.writers.count, 0);
  });

  test('counts v1 Endpoints writes by writer, whatever their findings', () => {
    const s = summarise([
      ...writeLines({ object: cleanEndpoints(), user: 'legacy', namespace: 'a' }),
      ...writeLines({ object: { ...cleanEndpoints(), subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }] }, user: 'legacy', namespace: 'b' }),
      ...writeLines({ object: cleanEndpoints(), user: 'system:serviceaccount:kube-system:endpoint-controller', namespace: 'a' }),
    ]);
    assert.equal(s.endpointsWrites, 2);
    assert.deepEqual(s.endpointsWriters.rows.map((r) => [r.key, r.count, r.namespaces.map((n) => n.key).sort()]), [['legacy', 2, ['a', 'b']]]);
    assert.equal(s.verdicts['would-deny'], 1);
  });

  test('keeps the latest would-deny write as the example, whatever order the replicas\' lines come in', () => {
    const at = (name: string, time: string) => writeLines({ ...bad, name }, { time, paths: ['/validate'] });
    const lines = [...at('late', '2025-06-02T00:00:00Z'), ...at('early', '2025-06-01T00:00:00Z')];
    for (const order of [lines, [...lines].reverse()]) {
      assert.equal(summarise(order).byWriter.rows[0]?.example?.name, 'late');
    }
  });
});

describe('--since and --until values', () => {
  const now = Date.parse('2025-06-10T12:00:00Z');
  const cases: [string, string | undefined][] = [
    ['2025-06-01T10:00:00Z', '2025-06-01T10:00:00.000Z'],
    ['2025-06-01T10:00:00.5+02:00', '2025-06-01T08:00:00.500Z'],
    ['2025-06-01t10:00:00z', '2025-06-01T10:00:00.000Z'],
    ['2025-06-01', '2025-06-01T00:00:00.000Z'],
    ['24h', '2025-06-09T12:00:00.000Z'],
    ['90m', '2025-06-10T10:30:00.000Z'],
    ['7d', '2025-06-03T12:00:00.000Z'],
    ['2w', '2025-05-27T12:00:00.000Z'],
    ['1.5h', '2025-06-10T10:30:00.000Z'],
    ['2025-06-01T10:00:00', undefined],
    ['2025-13-01', undefined],
    ['2025-02-29', undefined],
    ['24', undefined],
    ['-1h', undefined],
    ['yesterday', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of cases) {
    test(`${JSON.stringify(text)} is ${expected ?? 'refused'}`, () => {
      const when = parseWhen(text, now);
      assert.equal(when.ok ? new Date(when.time).toISOString() : undefined, expected);
    });
  }
});
