// `endpoint-guard audit`, the cluster half: list what the cluster holds (paged, bounded in pages
// and time), and run every rule on it as the webhook would, with the namespace's Services and mode
// label, a page at a time. The command (audit-command.ts) turns the report into text, JSON or
// PolicyReports and an exit code.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Mode, RuleSetting } from '../config.ts';
import type { ObjectRef } from '../lint/run.ts';
import { type Judged, judge } from '../policy.ts';
import type { RuleId } from '../rules/catalogue.ts';
import type { ServiceInfo, ServiceLookup } from '../rules/context.ts';
import { LABEL_MANAGED_BY, CONTROLLER_WRITERS } from '../rules/endpointslice.ts';
import { type RuleError, checkObject } from '../rules/index.ts';
import type { KubeVersion } from '../rules/version.ts';
import { messageOf } from '../errors.ts';
import { KubeError, kubeRequest, kubeResponse } from './kube.ts';
import { ListStreamError, readList } from './list-stream.ts';
import { type NamespaceInfo, namespaceInfo, record, serviceInfo, serviceLookup } from './objects.ts';

/** What audit lists, and where: the core group under /api/v1, EndpointSlices under discovery.k8s.io. */
export const AUDIT_RESOURCES = {
  namespaces: { prefix: '/api/v1', title: 'Namespaces', kind: 'Namespace', apiVersion: 'v1' },
  services: { prefix: '/api/v1', title: 'Services', kind: 'Service', apiVersion: 'v1' },
  endpoints: { prefix: '/api/v1', title: 'Endpoints', kind: 'Endpoints', apiVersion: 'v1' },
  endpointslices: { prefix: '/apis/discovery.k8s.io/v1', title: 'EndpointSlices', kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
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

const timedOut = (what: string, path: string, timeoutMs: number): AuditError =>
  new AuditError(`listing ${what} timed out: the apiserver did not answer GET ${path} within ${timeoutMs / 1000} s; ` +
    'retry, audit one namespace at a time with --namespace, or allow more time with --request-timeout');

/** One request with a deadline; a timeout or a refusal becomes an AuditError that says what to do. */
async function request(kc: KubeConfig, path: string, what: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return record(await kubeRequest(kc, 'GET', path, undefined, signal));
  } catch (err) {
    if (signal.aborted) throw timedOut(what, path, timeoutMs);
    if (err instanceof KubeError) throw new AuditError(explain(err, what));
    throw err;
  }
}

/** The connection broke while a list's body arrived. */
class BrokenAnswer extends Error {}

/** A response body whose read failures (a broken connection) are BrokenAnswers, apart from a bug in what reads it. */
async function* bodyChunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    throw new BrokenAnswer(messageOf(err));
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

/** Where a listing hands each object as it arrives, so no listing holds more than one object. */
export interface ObjectSink {
  object(raw: Record<string, unknown>): void;
  /** The listing starts over (an expired continue token): forget what it gave so far. */
  restart(): void;
}

/**
 * Every object of a collection, page by page (`limit`, then `continue`), each object handed to
 * the sink as its page arrives (see list-stream.ts) and then let go. A continue token the
 * apiserver has expired (410 Gone: the listing took longer than etcd keeps its snapshot) restarts
 * the listing once from the beginning; a second expiry is an error. Returns how many objects the
 * listing had.
 */
export async function listObjects(kc: KubeConfig, resource: AuditResource, namespace: string | undefined, limits: ListLimits, sink: ObjectSink, progress?: ListProgress): Promise<number> {
  const { title, kind, apiVersion } = AUDIT_RESOURCES[resource];
  const what = `${title}${namespace === undefined ? '' : ` in namespace ${namespace}`}`;
  const base = collectionPath(resource, namespace);
  let listed = 0;
  let token = '';
  let restarted = false;
  for (let page = 0; page < limits.maxPages; page++) {
    const path = `${base}?limit=${limits.pageSize}${token === '' ? '' : `&continue=${encodeURIComponent(token)}`}`;
    const signal = AbortSignal.timeout(limits.requestTimeoutMs);
    let list: Record<string, unknown>;
    try {
      const response = await kubeResponse(kc, 'GET', path, undefined, { signal });
      // The items of a typed list carry no kind of their own; the rules need one.
      list = await readList(bodyChunks(response.body), (item) => {
        listed += 1;
        sink.object({ kind, apiVersion, ...record(item) });
      });
    } catch (err) {
      if (signal.aborted) throw timedOut(what, path, limits.requestTimeoutMs);
      if (err instanceof ListStreamError) throw new AuditError(`listing ${what} failed: the answer to GET ${path} is not a list: ${err.message}`);
      if (err instanceof BrokenAnswer) {
        throw new AuditError(`listing ${what} failed: the connection broke while the answer to GET ${path} arrived (${err.message}); ` +
          'retry, or audit one namespace at a time with --namespace');
      }
      if (!(err instanceof KubeError)) throw err;
      if (err.status !== 410 || token === '' || restarted) {
        throw new AuditError(`${explain(err, what)}${restarted ? ' (after one restart); retry when the cluster is less busy' : ''}`);
      }
      restarted = true;
      progress?.note(`the apiserver expired the continue token while listing ${what} (410 Gone: listing took too long); listed them again from the start`);
      sink.restart();
      listed = 0;
      token = '';
      continue;
    }
    const metadata = record(list.metadata);
    token = text(metadata.continue) ?? '';
    progress?.page(resource, listed, typeof metadata.remainingItemCount === 'number' ? metadata.remainingItemCount : undefined);
    if (token === '') return listed;
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
  /** metadata.uid ('' when the apiserver gave none), for reports that point at the object. */
  readonly uid: string;
  /** When the object was last written: its newest managedFields time, else its creationTimestamp. */
  readonly writtenAt: string | undefined;
  readonly findings: Judged[];
  readonly ruleErrors: RuleError[];
  /** The namespace's endpoint-guard.io/mode label, when it names a mode. */
  readonly namespaceMode: Mode | undefined;
  /** Enforce would reject it: errors, in a namespace that does not opt out with an off/complain label. */
  readonly rejected: boolean;
  /** Errors that enforce would reject, but the namespace's label turns enforce off there. */
  readonly spared: boolean;
}

export interface KindCounts { readonly endpoints: number; readonly endpointSlices: number }

export interface AuditReport {
  readonly settings: AuditSettings;
  /** undefined: the whole cluster. */
  readonly namespace: string | undefined;
  readonly namespaces: readonly NamespaceInfo[];
  readonly services: number;
  /**
   * The objects with findings or rule errors, in the order listed (Endpoints, then slices). Clean
   * objects are only counted: a cluster of 100,000 slices costs memory for what is wrong in it.
   */
  readonly objects: readonly AuditedObject[];
  /** Every Endpoints and EndpointSlice checked (written by people and tools, not the control plane). */
  readonly checked: KindCounts;
  /** Objects the control plane writes: the webhooks exempt those writers, so they are not checked. */
  readonly controlPlane: KindCounts;
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

/** When the object was last written: the newest time in its managedFields, else its creationTimestamp. */
export function lastWritten(metadata: Record<string, unknown>): string | undefined {
  let newest: string | undefined;
  let newestMs = Number.NEGATIVE_INFINITY;
  for (const entry of Array.isArray(metadata.managedFields) ? metadata.managedFields : []) {
    const time = text(record(entry).time);
    const ms = time === null ? Number.NaN : Date.parse(time);
    if (time !== null && ms > newestMs) {
      newest = time;
      newestMs = ms;
    }
  }
  return newest ?? text(metadata.creationTimestamp) ?? undefined;
}

/** Checks the Endpoints or the EndpointSlices of one listing, page by page, keeping findings and counts. */
function objectChecker(settings: AuditSettings, modes: ReadonlyMap<string, Mode | undefined>, services: ReadonlyMap<string, ServiceLookup>) {
  const noServices = serviceLookup([]);
  let kept: AuditedObject[] = [];
  let checked = 0;
  let controlPlane = 0;
  const check = (raw: Record<string, unknown>): void => {
    if (writtenByControlPlane(raw)) {
      controlPlane += 1;
      return;
    }
    checked += 1;
    const ref = objectRefOf(raw);
    const ns = ref.namespace ?? '';
    const result = checkObject({
      object: raw, operation: 'CREATE', version: settings.version, softEndpointLimit: settings.softEndpointLimit,
      services: services.get(ns) ?? noServices,
    });
    const findings = judge(result.findings, settings.rules);
    if (findings.length === 0 && result.ruleErrors.length === 0) return;
    const wouldReject = findings.some((f) => f.severity === 'error') || (result.ruleErrors.length > 0 && settings.onRuleError === 'deny');
    const namespaceMode = modes.get(ns);
    const optedOut = namespaceMode === 'off' || namespaceMode === 'complain';
    const metadata = record(raw.metadata);
    kept.push({
      object: ref, uid: text(metadata.uid) ?? '', writtenAt: lastWritten(metadata), findings, ruleErrors: result.ruleErrors, namespaceMode,
      rejected: wouldReject && !optedOut, spared: wouldReject && optedOut,
    });
  };
  return {
    sink: {
      object: check,
      restart: () => {
        kept = [];
        checked = 0;
        controlPlane = 0;
      },
    } satisfies ObjectSink,
    result: () => ({ kept, checked, controlPlane }),
  };
}

/** A sink that keeps what `keep` makes of each object, and forgets it on a restart. */
function collect<T>(keep: (raw: Record<string, unknown>) => T): { sink: ObjectSink; items: () => T[] } {
  let items: T[] = [];
  return {
    sink: { object: (raw) => void items.push(keep(raw)), restart: () => (items = []) },
    items: () => items,
  };
}

/**
 * Lists the cluster (or one namespace) and checks every Endpoints and EndpointSlice in it, a page
 * at a time: Namespaces and Services first, kept as the rules need them (modes, ServiceInfo),
 * then each object is checked as its page arrives and let go, so memory follows the findings, not the cluster.
 */
export async function auditCluster(kc: KubeConfig, namespace: string | undefined, settings: AuditSettings, limits: ListLimits, progress?: ListProgress): Promise<AuditReport> {
  const notes: string[] = [];
  const tracked: ListProgress = {
    page: (...args) => progress?.page(...args),
    note: (message) => {
      notes.push(message);
      progress?.note(message);
    },
  };
  const namespaces = collect(namespaceInfo);
  if (namespace === undefined) await listObjects(kc, 'namespaces', undefined, limits, namespaces.sink, tracked);
  else namespaces.sink.object(await request(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}`, `namespace ${namespace}`, limits.requestTimeoutMs));
  const services = collect(serviceInfo);
  await listObjects(kc, 'services', namespace, limits, services.sink, tracked);

  const infos = namespaces.items();
  const modes = new Map(infos.map((n) => [n.name, n.mode]));
  const byNamespace = new Map<string, ServiceInfo[]>();
  for (const s of services.items()) {
    const list = byNamespace.get(s.namespace);
    if (list === undefined) byNamespace.set(s.namespace, [s]);
    else list.push(s);
  }
  const lookups = new Map([...byNamespace].map(([ns, list]) => [ns, serviceLookup(list)]));

  const endpoints = objectChecker(settings, modes, lookups);
  await listObjects(kc, 'endpoints', namespace, limits, endpoints.sink, tracked);
  const slices = objectChecker(settings, modes, lookups);
  await listObjects(kc, 'endpointslices', namespace, limits, slices.sink, tracked);
  const e = endpoints.result();
  const s = slices.result();
  return {
    settings, namespace, namespaces: infos, services: services.items().length,
    objects: [...e.kept, ...s.kept],
    checked: { endpoints: e.checked, endpointSlices: s.checked },
    controlPlane: { endpoints: e.controlPlane, endpointSlices: s.controlPlane },
    notes,
  };
}
