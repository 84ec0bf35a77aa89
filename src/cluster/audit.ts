// `endpoint-guard audit`, the cluster half: list what the cluster holds (paged, bounded in pages
// and time), and run every rule on it as the webhook would, with the namespace's Services and mode
// label. The command (audit-command.ts) turns the report into text or JSON and an exit code.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Mode, RuleSetting } from '../config.ts';
import type { ObjectRef } from '../lint/run.ts';
import { type Judged, decide, judge } from '../policy.ts';
import type { RuleId } from '../rules/catalogue.ts';
import type { ServiceInfo } from '../rules/context.ts';
import { LABEL_MANAGED_BY, CONTROLLER_WRITERS } from '../rules/endpointslice.ts';
import { type RuleError, checkObject } from '../rules/index.ts';
import type { KubeVersion } from '../rules/version.ts';
import { KubeError, kubeRequest } from './kube.ts';
import { type NamespaceInfo, namespaceInfo, record, serviceInfo, serviceLookup } from './objects.ts';

/** What audit lists, and where: the core group under /api/v1, EndpointSlices under discovery.k8s.io. */
export const AUDIT_RESOURCES = {
  namespaces: { prefix: '/api/v1', title: 'Namespaces' },
  services: { prefix: '/api/v1', title: 'Services' },
  endpoints: { prefix: '/api/v1', title: 'Endpoints' },
  endpointslices: { prefix: '/apis/discovery.k8s.io/v1', title: 'EndpointSlices' },
} as const;
export type AuditResource = keyof typeof AUDIT_RESOURCES;

export interface ListLimits {
  /** Objects per page (the `limit` parameter). */
  readonly pageSize: number;
  /** Each page request is abandoned after this long. */
  readonly requestTimeoutMs: number;
  /** A listing that needs more pages than this stops with an error instead of running on. */
  readonly maxPages: number;
}

export const DEFAULT_LIST_LIMITS: ListLimits = { pageSize: 500, requestTimeoutMs: 30_000, maxPages: 10_000 };

export interface ListProgress {
  /** After each page: objects so far, and the apiserver's estimate of those still to come (when it gives one). */
  page(resource: AuditResource, listed: number, remaining: number | undefined): void;
  /** Something the reader of the report should know (a listing restarted). */
  note(message: string): void;
}

/** A listing that could not be completed; the message says what, where and what to do. */
export class AuditError extends Error {}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

const collectionPath = (resource: AuditResource, namespace: string | undefined): string =>
  `${AUDIT_RESOURCES[resource].prefix}${namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`}/${resource}`;

/** One request with a deadline; a timeout or a refusal becomes an AuditError that says what to do. */
async function request(kc: KubeConfig, path: string, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return record(await kubeRequest(kc, 'GET', path, undefined, signal));
  } catch (err) {
    if (signal.aborted) {
      throw new AuditError(`listing ${what} timed out: the apiserver did not answer GET ${path} within ${timeoutMs / 1000} s; ` +
        'retry, audit one namespace at a time with --namespace, or allow more time with --request-timeout');
    }
    if (err instanceof KubeError && err.status !== 410) throw new AuditError(explain(err, what));
    throw err;
  }
}

/** A KubeError as a sentence a user can act on. */
export function explain(err: KubeError, what: string): string {
  if (err.status === 0) return `cannot reach the apiserver to list ${what}: ${err.message}; check the kubeconfig's server and that the cluster is up`;
  if (err.status === 401) return `the apiserver refused the kubeconfig's credentials (401) when listing ${what}; log in again or pass another --kubeconfig`;
  if (err.status === 403) {
    return `not allowed to list ${what} (403): ${err.message}; audit needs get and list on namespaces, services, endpoints and ` +
      'endpointslices, as the ClusterRole endpoint-guard-read in deploy/base/rbac.yaml grants';
  }
  if (err.status === 404) return `${what}: not found (404); check the name and the kubeconfig's cluster`;
  return `listing ${what} failed: ${err.message}`;
}

/**
 * Every object of a collection, page by page (`limit`, then `continue`). A continue token the
 * apiserver has expired (410 Gone: the listing took longer than etcd keeps its snapshot) restarts
 * the listing once from the beginning; a second expiry is an error.
 */
export async function listAll(kc: KubeConfig, resource: AuditResource, namespace: string | undefined, limits: ListLimits, progress?: ListProgress): Promise<Record<string, unknown>[]> {
  const what = `${AUDIT_RESOURCES[resource].title}${namespace === undefined ? '' : ` in namespace ${namespace}`}`;
  const base = collectionPath(resource, namespace);
  let items: Record<string, unknown>[] = [];
  let token = '';
  let restarted = false;
  for (let page = 0; page < limits.maxPages; page++) {
    const path = `${base}?limit=${limits.pageSize}${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`;
    let list: Record<string, unknown>;
    try {
      list = await request(kc, path, what, limits.requestTimeoutMs);
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      if (token === '' || restarted) throw new AuditError(`${explain(err, what)}${restarted ? ' (after one restart); retry when the cluster is less busy' : ''}`);
      restarted = true;
      progress?.note(`the apiserver expired the continue token while listing ${what} (410 Gone: listing took too long); listed them again from the start`);
      items = [];
      token = '';
      continue;
    }
    // The items of a typed list carry no kind of their own; the rules need one.
    const kind = (text(list.kind) ?? '').replace(/List$/, '');
    const apiVersion = text(list.apiVersion);
    const pageItems = Array.isArray(list.items) ? list.items.map(record) : [];
    items.push(...pageItems.map((item) => ({ kind, apiVersion, ...item })));
    const metadata = record(list.metadata);
    token = text(metadata.continue) ?? '';
    progress?.page(resource, items.length, typeof metadata.remainingItemCount === 'number' ? metadata.remainingItemCount : undefined);
    if (token === '') return items;
  }
  throw new AuditError(`listing ${what} needed more than ${limits.maxPages} pages of ${limits.pageSize}; audit one namespace at a time with --namespace`);
}

export interface AuditSettings {
  readonly version: KubeVersion;
  readonly rules: Partial<Record<RuleId, RuleSetting>>;
  readonly softEndpointLimit: number;
  readonly onRuleError: 'allow' | 'deny';
}

export interface AuditedObject {
  readonly object: ObjectRef;
  readonly findings: Judged[];
  readonly ruleErrors: RuleError[];
  /** The namespace's endpoint-guard.io/mode label, when it names a mode. */
  readonly namespaceMode: Mode | undefined;
  /** Enforce would reject it: errors, in a namespace that does not opt out with an off/complain label. */
  readonly rejected: boolean;
  /** Errors that enforce would reject, but the namespace's label turns enforce off there. */
  readonly spared: boolean;
}

export interface AuditReport {
  readonly settings: AuditSettings;
  /** undefined: the whole cluster. */
  readonly namespace: string | undefined;
  readonly namespaces: readonly NamespaceInfo[];
  readonly services: number;
  /** Every Endpoints and EndpointSlice checked (written by people and tools, not the control plane). */
  readonly objects: readonly AuditedObject[];
  /** Objects the control plane writes: the webhooks exempt those writers, so they are not checked. */
  readonly controlPlane: { readonly endpoints: number; readonly endpointSlices: number };
  readonly notes: readonly string[];
}

/** Written by kube-controller-manager alone (managedFields), or, without managedFields, a slice a controller's managed-by label claims. */
export function writtenByControlPlane(raw: Record<string, unknown>): boolean {
  const metadata = record(raw.metadata);
  const managers = Array.isArray(metadata.managedFields) ? metadata.managedFields.map((m) => text(record(m).manager)) : [];
  if (managers.length > 0) return managers.every((m) => m === 'kube-controller-manager');
  const managedBy = text(record(metadata.labels)[LABEL_MANAGED_BY]);
  return raw.kind === 'EndpointSlice' && managedBy !== null && Object.hasOwn(CONTROLLER_WRITERS, managedBy);
}

export function objectRefOf(raw: Record<string, unknown>): ObjectRef {
  const metadata = record(raw.metadata);
  return {
    kind: text(raw.kind) ?? '', apiVersion: text(raw.apiVersion),
    namespace: text(metadata.namespace), name: text(metadata.name), generateName: text(metadata.generateName),
  };
}

/** Lists the cluster (or one namespace) and checks every Endpoints and EndpointSlice in it. */
export async function auditCluster(kc: KubeConfig, namespace: string | undefined, settings: AuditSettings, limits: ListLimits, progress?: ListProgress): Promise<AuditReport> {
  const notes: string[] = [];
  const tracked: ListProgress = {
    page: (...args) => progress?.page(...args),
    note: (message) => {
      notes.push(message);
      progress?.note(message);
    },
  };
  const namespaces = namespace === undefined
    ? await listAll(kc, 'namespaces', undefined, limits, tracked)
    : [await request(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}`, `namespace ${namespace}`, limits.requestTimeoutMs)];
  const services = await listAll(kc, 'services', namespace, limits, tracked);
  const endpoints = await listAll(kc, 'endpoints', namespace, limits, tracked);
  const slices = await listAll(kc, 'endpointslices', namespace, limits, tracked);

  const infos = namespaces.map(namespaceInfo);
  const modes = new Map(infos.map((n) => [n.name, n.mode]));
  const byNamespace = new Map<string, ServiceInfo[]>();
  for (const s of services.map(serviceInfo)) byNamespace.set(s.namespace, [...(byNamespace.get(s.namespace) ?? []), s]);

  const checked: AuditedObject[] = [];
  const controlPlane = { endpoints: 0, endpointSlices: 0 };
  for (const raw of [...endpoints, ...slices]) {
    if (writtenByControlPlane(raw)) {
      if (raw.kind === 'EndpointSlice') controlPlane.endpointSlices += 1;
      else controlPlane.endpoints += 1;
      continue;
    }
    const ref = objectRefOf(raw);
    const ns = ref.namespace ?? '';
    const result = checkObject({
      object: raw, operation: 'CREATE', version: settings.version, softEndpointLimit: settings.softEndpointLimit,
      services: serviceLookup(byNamespace.get(ns) ?? []),
    });
    const findings = judge(result.findings, settings.rules);
    const wouldReject = !decide(findings, 'enforce', Number.MAX_SAFE_INTEGER).allowed ||
      (result.ruleErrors.length > 0 && settings.onRuleError === 'deny');
    const namespaceMode = modes.get(ns);
    const optedOut = namespaceMode === 'off' || namespaceMode === 'complain';
    checked.push({
      object: ref, findings, ruleErrors: result.ruleErrors, namespaceMode,
      rejected: wouldReject && !optedOut, spared: wouldReject && optedOut,
    });
  }
  return { settings, namespace, namespaces: infos, services: services.length, objects: checked, controlPlane, notes };
}
