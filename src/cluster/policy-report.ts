// The audit as PolicyReports (wgpolicyk8s.io/v1alpha2) or their successor, openreports.io
// Reports: one per namespace, named endpoint-guard, a result per object and rule, so
// `kubectl get polr` and Policy Reporter show what enforce would reject. Building them is pure;
// writing them (server-side apply) is applyReports.
import type { KubeConfig } from '@kubernetes/client-node';
import { lintMessage } from '../lint/run.ts';
import type { Judged } from '../policy.ts';
import { type RuleId, type Severity, type Source, catalogue } from '../rules/catalogue.ts';
import type { AuditReport, AuditedObject } from './audit.ts';
import { KubeError, kubeRequest } from './kube.ts';

export const REPORT_APIS = {
  'wgpolicyk8s.io/v1alpha2': {
    kind: 'PolicyReport', plural: 'policyreports', crd: 'policyreports.wgpolicyk8s.io',
    install: 'Kyverno and the Policy Reporter Helm chart install it; kubernetes-sigs/wg-policy-prototypes publishes it',
  },
  'openreports.io/v1alpha1': {
    kind: 'Report', plural: 'reports', crd: 'reports.openreports.io',
    install: 'openreports/reports-api publishes it; Kyverno 1.15+ and Policy Reporter 3 can install it',
  },
} as const;
export type ReportApi = keyof typeof REPORT_APIS;
export const REPORT_API_NAMES = Object.keys(REPORT_APIS) as ReportApi[];
export const DEFAULT_REPORT_API: ReportApi = 'wgpolicyk8s.io/v1alpha2';
export const isReportApi = (value: string): value is ReportApi => Object.hasOwn(REPORT_APIS, value);

/** The name of the report in each namespace, the policy its results name, and the field manager that applies them. */
export const REPORT_NAME = 'endpoint-guard';
export const FIELD_MANAGER = 'endpoint-guard';
export const OMITTED_ANNOTATION = 'endpoint-guard.io/omitted-results';
/**
 * The results of one report are kept under this many bytes of JSON: etcd refuses an object over
 * 1.5 MiB, and a namespace with thousands of findings would otherwise lose its whole report.
 */
export const MAX_RESULTS_BYTES = 1_000_000;

const CATEGORY: Readonly<Record<Source, string>> = {
  apiserver: 'Kubernetes API validation', // the target apiserver itself rejects (or drops) this
  policy: 'Best Practices', // the apiserver accepts it; endpoint-guard's policy adds it
};

type Result = 'fail' | 'warn' | 'error';
export interface ReportResult {
  readonly source: string;
  readonly policy: string;
  readonly rule: string;
  readonly category?: string;
  readonly severity?: 'high' | 'medium' | 'low';
  readonly result: Result;
  readonly scored: boolean;
  readonly message: string;
  readonly resources: readonly { apiVersion: string; kind: string; name: string; namespace: string; uid: string }[];
  readonly timestamp?: { readonly seconds: number; readonly nanos: number };
}

export interface PolicyReportObject {
  readonly apiVersion: ReportApi;
  readonly kind: string;
  readonly metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  readonly source?: string;
  readonly summary: { pass: number; fail: number; warn: number; error: number; skip: number };
  readonly results: readonly ReportResult[];
}

/** What enforce does with it decides the severity: high, the apiserver itself rejects it; medium, policy errors; low, warnings. */
const severityOf = (severity: Severity, rule: RuleId): 'high' | 'medium' | 'low' =>
  (severity === 'warning' ? 'low' : catalogue[rule].source === 'apiserver' ? 'high' : 'medium');

/**
 * The result's time: when the object was last written. Stable while the object is unchanged, so
 * a run that finds the same thing writes nothing, as Kyverno's reports keep a result's timestamp
 * until the resource or the policy changes.
 */
function timestampOf(writtenAt: string | undefined): ReportResult['timestamp'] {
  const ms = writtenAt === undefined ? Number.NaN : Date.parse(writtenAt);
  return Number.isFinite(ms) ? { seconds: Math.floor(ms / 1000), nanos: 0 } : undefined;
}

/** One result per rule the object breaks (the first finding's message, and how many more), one per failed check. */
function objectResults(o: AuditedObject): ReportResult[] {
  const resource = {
    apiVersion: o.object.apiVersion ?? '', kind: o.object.kind, name: o.object.name ?? o.object.generateName ?? '',
    namespace: o.object.namespace ?? '', uid: o.uid,
  };
  const timestamp = timestampOf(o.writtenAt);
  const base = { source: REPORT_NAME, policy: REPORT_NAME, resources: [resource], ...(timestamp ? { timestamp } : {}) };
  const byRule = new Map<RuleId, Judged[]>();
  for (const f of o.findings) {
    const list = byRule.get(f.rule);
    if (list === undefined) byRule.set(f.rule, [f]);
    else list.push(f);
  }
  const results: ReportResult[] = [...byRule].map(([rule, findings]) => {
    // An error, when the rule gave one, speaks for the rule: it is what enforce rejects.
    const f = findings.find((x) => x.severity === 'error') ?? (findings[0] as Judged);
    const more = findings.length - 1;
    return {
      ...base, rule, category: CATEGORY[catalogue[rule].source], severity: severityOf(f.severity, rule),
      result: f.severity === 'error' ? 'fail' : 'warn', scored: f.severity === 'error',
      message: `${lintMessage(f)}${more > 0 ? ` (and ${more} more like it in this object)` : ''}`,
    };
  });
  for (const e of o.ruleErrors) {
    results.push({
      ...base, rule: e.check, result: 'error', scored: false,
      message: `the ${e.check} check failed: ${e.message}; this object was not fully checked: please report this endpoint-guard bug`,
    });
  }
  return results;
}

const RANK: Readonly<Record<Result, number>> = { error: 0, fail: 1, warn: 2 };
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** Errors and failures first (they stay when a report must be cut), then by object and rule: the same findings give the same report. */
const byImportance = (a: ReportResult, b: ReportResult): number =>
  RANK[a.result] - RANK[b.result] || compare(a.resources[0]?.kind ?? '', b.resources[0]?.kind ?? '') ||
  compare(a.resources[0]?.name ?? '', b.resources[0]?.name ?? '') || compare(a.rule, b.rule);

/**
 * A report for every namespace audited, empty where nothing was found: applying the empty one is
 * what takes the results of fixed or deleted objects out of a namespace.
 */
export function policyReports(report: AuditReport, api: ReportApi): PolicyReportObject[] {
  const byNamespace = new Map<string, ReportResult[]>(report.namespaces.map((n) => [n.name, []]));
  for (const o of report.objects) {
    const ns = o.object.namespace ?? '';
    const results = byNamespace.get(ns) ?? [];
    byNamespace.set(ns, results);
    results.push(...objectResults(o));
  }
  return [...byNamespace].filter(([ns]) => ns !== '').sort(([a], [b]) => compare(a, b))
    .map(([namespace, results]) => reportObject(api, namespace, results.sort(byImportance)));
}

function reportObject(api: ReportApi, namespace: string, all: readonly ReportResult[]): PolicyReportObject {
  const results: ReportResult[] = [];
  let bytes = 0;
  for (const r of all) {
    bytes += JSON.stringify(r).length + 1;
    if (bytes > MAX_RESULTS_BYTES) break;
    results.push(r);
  }
  const omitted = all.length - results.length;
  const count = (result: Result) => results.filter((r) => r.result === result).length;
  return {
    apiVersion: api,
    kind: REPORT_APIS[api].kind,
    metadata: {
      name: REPORT_NAME, namespace, labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER },
      ...(omitted > 0 ? { annotations: { [OMITTED_ANNOTATION]: String(omitted) } } : {}),
    },
    ...(api === 'openreports.io/v1alpha1' ? { source: REPORT_NAME } : {}),
    summary: { pass: 0, fail: count('fail'), warn: count('warn'), error: count('error'), skip: 0 },
    results,
  };
}

/** A failure to write the reports; the message says what to do. */
export class ReportApplyError extends Error {}

export interface Applied {
  readonly report: PolicyReportObject;
  /** The namespace was deleted after it was listed: nothing to report there. */
  readonly skipped: boolean;
}

/**
 * Writes each report with server-side apply (field manager endpoint-guard, force): created when
 * missing, replaced by what this run found, and left as it is when nothing changed. Stops at the
 * first refusal, with what to do about it.
 */
export async function applyReports(kc: KubeConfig, reports: readonly PolicyReportObject[], timeoutMs: number): Promise<Applied[]> {
  const applied: Applied[] = [];
  for (const report of reports) {
    const { apiVersion, metadata } = report;
    const { kind, plural } = REPORT_APIS[apiVersion];
    const path = `/apis/${apiVersion}/namespaces/${encodeURIComponent(metadata.namespace)}/${plural}/${REPORT_NAME}` +
      `?fieldManager=${FIELD_MANAGER}&force=true`;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await kubeRequest(kc, 'PATCH', path, report, signal, 'application/apply-patch+yaml');
      applied.push({ report, skipped: false });
    } catch (err) {
      if (signal.aborted) {
        throw new ReportApplyError(`writing ${kind} ${metadata.namespace}/${REPORT_NAME} timed out: the apiserver did not answer within ${timeoutMs / 1000} s; ` +
          'retry, or allow more time with --request-timeout');
      }
      if (!(err instanceof KubeError)) throw err;
      if (err.status === 404 && /namespaces "[^"]*" not found/.test(err.message)) {
        applied.push({ report, skipped: true });
        continue;
      }
      throw new ReportApplyError(explainApply(err, report));
    }
  }
  return applied;
}

/** A refused apply as a sentence a user can act on. */
export function explainApply(err: KubeError, report: PolicyReportObject): string {
  const { kind, plural, crd, install } = REPORT_APIS[report.apiVersion];
  const what = `${kind} ${report.metadata.namespace}/${REPORT_NAME}`;
  const group = report.apiVersion.split('/')[0] ?? '';
  if (err.status === 0) return `cannot reach the apiserver to write ${what}: ${err.message}; check the kubeconfig's server and that the cluster is up`;
  if (err.status === 401) return `the apiserver refused the kubeconfig's credentials (401) when writing ${what}; log in again or pass another --kubeconfig`;
  if (err.status === 403) {
    return `not allowed to write ${what} (403): ${err.message}; --apply needs create and patch on ${plural}.${group} named ${REPORT_NAME}, ` +
      'as the ClusterRole endpoint-guard-policy-reports in deploy/components/policy-reports grants';
  }
  if (err.status === 404) {
    return `the apiserver does not serve ${report.apiVersion} ${kind}s (404): install the ${kind} CRD (${crd}: ${install})` +
      `${report.apiVersion === 'wgpolicyk8s.io/v1alpha2' ? ', or write openreports.io Reports with --report-api openreports.io/v1alpha1' : ''}`;
  }
  return `writing ${what} failed: ${err.message}`;
}
