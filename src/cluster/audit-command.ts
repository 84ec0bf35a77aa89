// `endpoint-guard audit`: what enforce mode would reject among the Endpoints and EndpointSlices
// the cluster already holds; the report an admin reads before switching to enforce, or the
// PolicyReports (policy-report.ts) that policy tools show. Options and output here; listing and
// checking in audit.ts. Exit 1 when enforce would reject something.
import type { ParseArgsOptionsConfig } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadCommandConfig } from '../config-load.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, commandArgs, kubectlYaml } from '../io.ts';
import { lintMessage, objectLabel } from '../lint/run.ts';
import type { Judged } from '../policy.ts';
import { catalogue } from '../rules/catalogue.ts';
import { errorBody } from '../rules/finding.ts';
import { formatPath } from '../rules/path.ts';
import { formatKubeVersion } from '../rules/version.ts';
import { AUDIT_RESOURCES, AuditError, type AuditReport, type AuditedObject, DEFAULT_LIST_LIMITS, type ListProgress, auditCluster } from './audit.ts';
import { loadKubeConfig } from './kube.ts';
import {
  type Applied, DEFAULT_REPORT_API, FIELD_MANAGER, OMITTED_ANNOTATION, type PolicyReportObject, REPORT_APIS, REPORT_API_NAMES, ReportApplyError, type ReportApi,
  applyReports, isReportApi, policyReports,
} from './policy-report.ts';
import { NAMESPACE_MODE_LABEL } from './view.ts';

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export const AUDIT_FORMATS = ['text', 'json'] as const;
const MAX_TIMEOUT_SECONDS = 600;

export const auditCommand = {
  summary: 'check every Endpoints and EndpointSlice in a cluster as enforce mode would, and summarise what it would reject',
  usage: 'endpoint-guard audit [--kubeconfig FILE] [--namespace NS] [--format text|json] [--request-timeout S] [--config FILE] [--kubernetes-version V]\n' +
    '                            [--policy-report [--format yaml|json] [--apply] [--report-api API]]',
  help: [
    '  --kubeconfig FILE         the cluster to audit (default: $KUBECONFIG, ~/.kube/config, or in-cluster, as kubectl)',
    '  --namespace NS            audit one namespace instead of the whole cluster',
    '  --format F                text (default) or json; with --policy-report, yaml (default) or json',
    '  --policy-report           print a PolicyReport per namespace (wgpolicyk8s.io/v1alpha2) instead of the report',
    '  --apply                   with --policy-report: write them to the cluster (server-side apply, field manager endpoint-guard)',
    `  --report-api API          with --policy-report: ${REPORT_API_NAMES.join(' (default) or ')} (the successor Report API)`,
    `  --request-timeout S       give up on a page that takes longer than S seconds (default ${DEFAULT_LIST_LIMITS.requestTimeoutMs / 1000})`,
    '  --config FILE             the server\'s YAML or JSON settings: rules, softEndpointLimit, kubernetesVersion',
    '  --kubernetes-version V    the apiserver release whose rules apply, 1.24 to 1.36 (default 1.36)',
    'Needs get and list on namespaces, services, endpoints and endpointslices. Objects the control plane writes',
    'are not checked: the webhooks exempt their writers. --apply also needs create and patch on the reports named',
    'endpoint-guard (deploy/components/policy-reports runs it hourly with exactly that).',
    'Exit status: 0 enforce would reject nothing, 1 it would reject an object, 2 usage error or the cluster could',
    'not be listed. With --policy-report: 0 the reports were printed or written, 2 they could not be.',
  ].join('\n'),
  options: {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    format: { type: 'string' },
    'request-timeout': { type: 'string' },
    config: { type: 'string' },
    'kubernetes-version': { type: 'string' },
    'policy-report': { type: 'boolean' },
    apply: { type: 'boolean' },
    'report-api': { type: 'string' },
  } as const satisfies ParseArgsOptionsConfig,
  run: (values: Values, _positionals: readonly string[], io: Io): Promise<number> => runAudit(values, io),
};

export async function runAudit(values: Values, io: Io): Promise<number> {
  const { usage, str } = commandArgs('audit', values, io);
  const policyReport = values['policy-report'] === true;
  const format = str('format') ?? (policyReport ? 'yaml' : 'text');
  if (policyReport && format !== 'yaml' && format !== 'json') {
    return usage(`--format must be yaml or json with --policy-report, not ${JSON.stringify(format)}`);
  }
  if (!policyReport && format !== 'text' && format !== 'json') return usage(`--format must be text or json, not ${JSON.stringify(format)}`);
  const reportApi = str('report-api') ?? DEFAULT_REPORT_API;
  if (!isReportApi(reportApi)) {
    return usage(`--report-api must be ${REPORT_API_NAMES.join(' or ')}, not ${JSON.stringify(reportApi)}`);
  }
  for (const flag of ['apply', 'report-api'] as const) {
    if (values[flag] !== undefined && !policyReport) return usage(`--${flag} goes with --policy-report`);
  }
  const timeout = Number(str('request-timeout') ?? DEFAULT_LIST_LIMITS.requestTimeoutMs / 1000);
  if (!(timeout > 0 && timeout <= MAX_TIMEOUT_SECONDS)) {
    return usage(`--request-timeout must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, not ${JSON.stringify(str('request-timeout'))}`);
  }
  const namespace = str('namespace');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) return usage(`--namespace ${JSON.stringify(namespace)} is not a namespace name`);

  const loaded = loadCommandConfig(str, io.env, ['config', 'kubernetes-version', 'kubeconfig']);
  if (!loaded.ok) return usage(loaded.message);
  const { config, version } = loaded;
  const kube = await loadKubeConfig({ file: config.kubeconfig, fallback: 'default', env: io.env });
  if (!kube.ok || kube.kc === undefined) {
    io.stderr(`endpoint-guard audit: ${kube.ok ? 'no kubeconfig found; pass --kubeconfig FILE' : kube.message}`);
    return EXIT_USAGE;
  }

  const bar = io.stdoutIsTTY === true && format !== 'json' ? progressBar(io) : undefined;
  let report: AuditReport;
  try {
    report = await auditCluster(kube.kc, namespace, {
      version, rules: config.rules, softEndpointLimit: config.softEndpointLimit, onRuleError: config.onRuleError,
    }, { ...DEFAULT_LIST_LIMITS, requestTimeoutMs: timeout * 1000 }, bar ?? { page: () => {}, note: (m) => io.stderr(`endpoint-guard audit: ${m}`) });
  } catch (err) {
    if (!(err instanceof AuditError)) throw err;
    io.stderr(`endpoint-guard audit: ${err.message}`);
    return EXIT_USAGE;
  }
  if (policyReport) return writePolicyReports(kube.kc, reportApi, policyReports(report, reportApi), values.apply === true, format, timeout * 1000, io);
  io.stdout(format === 'json' ? formatAuditJson(report) : formatAuditText(report));
  return auditExitCode(report);
}

const resultCounts = (r: PolicyReportObject): string =>
  (['fail', 'warn', 'error'] as const).filter((k) => r.summary[k] > 0).map((k) => `${r.summary[k]} ${k}`).join(', ');

/** Prints the reports, or writes them and says what each namespace got. */
async function writePolicyReports(kc: KubeConfig, api: ReportApi, reports: PolicyReportObject[], apply: boolean, format: string, timeoutMs: number, io: Io): Promise<number> {
  for (const r of reports) {
    const omitted = r.metadata.annotations?.[OMITTED_ANNOTATION];
    if (omitted !== undefined) {
      io.stderr(`endpoint-guard audit: ${r.kind} ${r.metadata.namespace}/${r.metadata.name} holds its first ${r.results.length} results; ${omitted} more ` +
        `did not fit in one object (annotation ${OMITTED_ANNOTATION}): run endpoint-guard audit --namespace ${r.metadata.namespace} for all of them`);
    }
  }
  if (!apply) {
    io.stdout(format === 'json'
      ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: reports }, null, 2)
      : reports.map((r) => kubectlYaml(r).trimEnd()).join('\n---\n'));
    return EXIT_OK;
  }
  let applied: Applied[];
  try {
    applied = await applyReports(kc, reports, timeoutMs);
  } catch (err) {
    if (!(err instanceof ReportApplyError)) throw err;
    io.stderr(`endpoint-guard audit: ${err.message}`);
    return EXIT_USAGE;
  }
  for (const { report: r, skipped } of applied) {
    if (skipped) io.stderr(`endpoint-guard audit: namespace ${r.metadata.namespace} was deleted during the audit; no ${r.kind} written there`);
    else if (r.results.length > 0) io.stdout(`${r.kind} ${r.metadata.namespace}/${r.metadata.name}: ${resultCounts(r)}`);
  }
  const written = applied.filter((a) => !a.skipped);
  const withResults = written.filter((a) => a.report.results.length > 0).length;
  io.stdout(`applied ${plural(written.length, REPORT_APIS[api].kind)} (${api}, field manager ${FIELD_MANAGER}): ` +
    `${withResults} with results, ${written.length - withResults} empty`);
  return EXIT_OK;
}

export const auditExitCode = (report: AuditReport): number => (report.objects.some((o) => o.rejected) ? EXIT_FAILURE : EXIT_OK);

/**
 * One stderr line per resource, redrawn in place as pages arrive (cursor up, clear line): for a
 * person at a terminal only, never in a pipe.
 */
export function progressBar(io: Io, width = 24): ListProgress {
  let current: string | undefined;
  const redraw = (line: string, resource: string) => {
    io.stderr(current === resource ? `\u001b[1A\u001b[2K${line}` : line);
    current = resource;
  };
  return {
    page(resource, listed, remaining) {
      const title = AUDIT_RESOURCES[resource].title.padEnd(14);
      if (remaining === undefined || remaining === 0) return redraw(`${title} listed ${listed}`, resource);
      const filled = Math.round((listed / (listed + remaining)) * width);
      redraw(`${title} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${listed}/${listed + remaining}`, resource);
    },
    note(message) {
      io.stderr(`endpoint-guard audit: ${message}`);
      current = undefined;
    },
  };
}

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

interface Tally { errors: number; warnings: number; rejected: number; spared: number }
const tally = (): Tally => ({ errors: 0, warnings: 0, rejected: 0, spared: 0 });

/** Findings per rule and per namespace, and the objects enforce would reject (or spares by a label). */
function tallies(report: AuditReport) {
  const byRule = new Map<string, Tally>();
  const byNamespace = new Map<string, Tally>();
  const total = tally();
  for (const o of report.objects) {
    const ns = byNamespace.get(o.object.namespace ?? '') ?? tally();
    byNamespace.set(o.object.namespace ?? '', ns);
    for (const f of o.findings) {
      const rule = byRule.get(f.rule) ?? tally();
      byRule.set(f.rule, rule);
      for (const t of [rule, ns, total]) t[f.severity === 'error' ? 'errors' : 'warnings'] += 1;
    }
    for (const t of [ns, total]) {
      if (o.rejected) t.rejected += 1;
      if (o.spared) t.spared += 1;
    }
  }
  const sorted = (m: Map<string, Tally>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { byRule: sorted(byRule), byNamespace: sorted(byNamespace).filter(([, t]) => t.errors + t.warnings > 0), total };
}

const counts = (t: Tally): string => [t.errors > 0 ? plural(t.errors, 'error') : '', t.warnings > 0 ? plural(t.warnings, 'warning') : ''].filter(Boolean).join(', ');

export function formatAuditText(report: AuditReport): string {
  const { byRule, byNamespace, total } = tallies(report);
  const lines: string[] = [];
  for (const o of report.objects) lines.push(...objectLines(o));
  const modes = new Map(report.namespaces.map((n) => [n.name, n]));
  if (byRule.length > 0) {
    const width = Math.max(...byRule.map(([r]) => r.length));
    lines.push('', 'findings by rule:', ...byRule.map(([rule, t]) => `  ${rule.padEnd(width)}  ${counts(t)}`));
    lines.push('', 'findings by namespace:');
    const nsWidth = Math.max(...byNamespace.map(([ns]) => ns.length));
    for (const [ns, t] of byNamespace) {
      const mode = modes.get(ns)?.mode;
      const verdict = t.rejected > 0 ? `; enforce would reject ${plural(t.rejected, 'object')}`
        : t.spared > 0 ? `; labelled ${NAMESPACE_MODE_LABEL}=${mode}: enforce would not reject its ${plural(t.spared, 'object')} with errors`
          : '';
      lines.push(`  ${ns.padEnd(nsWidth)}  ${counts(t)}${verdict}`);
    }
  }
  lines.push('', ...namespaceLines(report));
  lines.push('', scopeLine(report));
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push(total.rejected > 0
    ? `enforce would reject ${plural(total.rejected, 'object')}: fix the errors (or label their namespace ${NAMESPACE_MODE_LABEL}=complain) before switching to enforce (exit 1)`
    : `enforce would reject nothing${total.spared > 0 ? ` outside the namespaces labelled off or complain (${plural(total.spared, 'object')} with errors there)` : ''}` +
      `${total.errors + total.warnings > 0 ? '; the findings above are what complain mode warns about' : ''}`);
  return lines.join('\n').replace(/^\n/, '');
}

/** lint's wording: `path: message`, the rule's hint as the detail. */
function objectLines(o: AuditedObject): string[] {
  const label = objectLabel(o.object);
  return [
    ...o.findings.map((f) => `${label}  ${f.severity === 'error' ? 'error  ' : 'warning'}  ${f.rule}  ${lintMessage(f)}`),
    ...o.ruleErrors.map((e) => `${label}  internal  the ${e.check} check failed: ${e.message}; this object was not fully checked: please report this endpoint-guard bug`),
  ];
}

function namespaceLines(report: AuditReport): string[] {
  const labelled = report.namespaces.filter((n) => n.mode !== undefined || n.badMode !== undefined);
  if (labelled.length === 0) return [`no namespace carries the ${NAMESPACE_MODE_LABEL} label: enforce applies everywhere`];
  const width = Math.max(...labelled.map((n) => n.name.length));
  return [
    `namespaces labelled ${NAMESPACE_MODE_LABEL}:`,
    ...labelled.map((n) => `  ${n.name.padEnd(width)}  ${n.mode !== undefined ? `${n.mode}${n.mode === 'enforce' ? '' : ': enforce mode does not reject here'}`
      : `${JSON.stringify(n.badMode)} is not a mode (off, complain or enforce): the global mode applies; fix the label`}`),
  ];
}

function scopeLine(report: AuditReport): string {
  const { endpoints, endpointSlices } = report.checked;
  const skipped = report.controlPlane.endpoints + report.controlPlane.endpointSlices;
  const where = report.namespace === undefined ? `${plural(report.namespaces.length, 'namespace')}` : `namespace ${report.namespace}`;
  return `checked ${plural(endpoints, 'Endpoints', 'Endpoints')} and ${plural(endpointSlices, 'EndpointSlice')} in ${where} ` +
    `against ${plural(report.services, 'Service')} (Kubernetes ${formatKubeVersion(report.settings.version)} rules)` +
    (skipped > 0 ? `; ${plural(skipped, 'object')} written by the control plane not checked (the webhooks exempt its writers)` : '');
}

export const AUDIT_JSON_SCHEMA_VERSION = 1;

export function formatAuditJson(report: AuditReport): string {
  const { byRule, byNamespace, total } = tallies(report);
  return JSON.stringify({
    schemaVersion: AUDIT_JSON_SCHEMA_VERSION,
    settings: { kubernetesVersion: formatKubeVersion(report.settings.version), namespace: report.namespace ?? null },
    summary: {
      namespaces: report.namespaces.length,
      services: report.services,
      endpoints: report.checked.endpoints,
      endpointSlices: report.checked.endpointSlices,
      controlPlane: report.controlPlane,
      errors: total.errors,
      warnings: total.warnings,
      rejected: total.rejected,
      sparedByNamespaceLabel: total.spared,
      exitCode: auditExitCode(report),
    },
    byRule: Object.fromEntries(byRule.map(([rule, t]) => [rule, { errors: t.errors, warnings: t.warnings }])),
    byNamespace: Object.fromEntries(byNamespace.map(([ns, t]) => [ns, t])),
    namespaceModes: report.namespaces.filter((n) => n.mode !== undefined || n.badMode !== undefined)
      .map((n) => ({ name: n.name, mode: n.mode ?? null, invalidLabel: n.badMode ?? null })),
    findings: report.objects.flatMap((o) => o.findings.map((f) => ({
      object: o.object, rule: f.rule, severity: f.severity, source: catalogue[f.rule].source, path: formatPath(f.path), message: lintMessage(f),
    }))),
    rejected: report.objects.filter((o) => o.rejected).map((o) => o.object),
    ruleErrors: report.objects.flatMap((o) => o.ruleErrors.map((e) => ({ object: o.object, check: e.check, message: e.message }))),
    notes: report.notes,
  }, null, 2);
}
