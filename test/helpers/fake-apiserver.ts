// A small kube-apiserver for tests: real HTTPS (a CA from generateCertificates that clients
// verify), bearer-token authentication, and the JSON shapes the real one sends for the resources
// endpoint-guard reads and writes. Lists page with limit/continue; watches stream newline-delimited
// events and stay open; single objects answer GET/POST/PUT with 404/409 as Status objects, and
// PATCH as server-side apply.
// Tests steer it: add/modify/remove objects (watchers are told), drop watches, compact the event
// history (a watch resumed from before it gets 410 Gone), expire continue tokens, slow lists down,
// cut a list off, stop serving a resource (a missing CRD), or serve generated objects in lists.
//
//   const api = await startFakeApiserver(t);               // closed in t.after
//   api.add('namespaces', { metadata: { name: 'team-a' } });
//   const kubeconfig = await api.writeKubeconfig(dir);      // or api.kubeConfig() for client-node
//   ... api.requests (method, path, query) for assertions
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { generateCertificates } from '../../src/server/tls.ts';

export const RESOURCES = {
  namespaces: { group: '', version: 'v1', kind: 'Namespace', namespaced: false },
  services: { group: '', version: 'v1', kind: 'Service', namespaced: true },
  endpoints: { group: '', version: 'v1', kind: 'Endpoints', namespaced: true },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', namespaced: true },
  policyreports: { group: 'wgpolicyk8s.io', version: 'v1alpha2', kind: 'PolicyReport', namespaced: true },
  reports: { group: 'openreports.io', version: 'v1alpha1', kind: 'Report', namespaced: true },
  validatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', namespaced: false },
  mutatingwebhookconfigurations: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', namespaced: false },
  validatingadmissionpolicies: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicy', namespaced: false },
  validatingadmissionpolicybindings: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicyBinding', namespaced: false },
  mutatingadmissionpolicies: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingAdmissionPolicy', namespaced: false },
  mutatingadmissionpolicybindings: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingAdmissionPolicyBinding', namespaced: false },
} as const;
export type Resource = keyof typeof RESOURCES;

export type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> };
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The content-type header of a request with a body. */
  readonly contentType?: string | undefined;
}

/**
 * Objects made on demand for lists, never stored: make(i) for each i below count. The keys
 * (namespace/name) must increase with i, so a page is found by binary search and only its
 * objects are made.
 */
export interface GeneratedObjects {
  readonly count: number;
  make(index: number): unknown;
}

export interface FakeApiserverOptions {
  /** The bearer token clients must send (default: a random one, written into the kubeconfig). */
  readonly token?: string;
  /** How a watch from a compacted resourceVersion is refused: an ERROR event (as the apiserver does) or HTTP 410. */
  readonly goneAs?: 'event' | 'http';
}

export interface FakeApiserver {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** The CA (PEM) that signed the server's certificate. */
  readonly ca: string;
  readonly token: string;
  /** Every request so far, in order. */
  readonly requests: RecordedRequest[];
  /** Requests to one resource's collection (cluster-wide or namespaced), in order; watches included. */
  requestsFor(resource: Resource): RecordedRequest[];
  /** Creates an object (fills kind, apiVersion, uid, resourceVersion...) and tells the watches; returns the stored copy. */
  add(resource: Resource, object: unknown): KubeObject;
  /** Replaces an existing object (a new resourceVersion) and tells the watches. */
  modify(resource: Resource, object: unknown): KubeObject;
  /** Removes an object (by metadata.namespace/name) and tells the watches. */
  remove(resource: Resource, object: unknown): KubeObject;
  /** The stored object, or undefined. */
  get(resource: Resource, name: string, namespace?: string): KubeObject | undefined;
  list(resource: Resource): KubeObject[];
  /** The current resourceVersion (the last write's). */
  resourceVersion(): string;
  /** Ends every open watch (clients see the stream close, as on an apiserver restart). */
  dropWatches(): void;
  /** The number of watches open now. */
  openWatches(): number;
  /** Forgets the event history: a watch resumed from any resourceVersion issued so far gets 410 Gone. */
  compact(): void;
  /** Sends a BOOKMARK at the current resourceVersion to the open watches that allowed them. */
  bookmark(): void;
  /** The next `times` list requests for `resource` that carry a continue token get 410 Expired. */
  expireContinue(resource: Resource, times?: number): void;
  /** Every list of `resource` (not watches) waits this long before answering; 0 to stop. */
  delayLists(resource: Resource, ms: number): void;
  /** The next `times` requests with this method whose path starts with `pathPrefix` get this Status. */
  failNext(method: string, pathPrefix: string, status: number, reason: string, message: string, times?: number): void;
  /**
   * Lists of `resource` also serve these objects, made page by page when asked for, so a list of
   * 20,000 large slices costs the server one page of memory. They are not in get(), list(),
   * watches or writes. Replaces an earlier generator of the resource.
   */
  generate(resource: Resource, objects: GeneratedObjects): void;
  /** The next list of `resource` sends the first half of its body, then drops the connection. */
  cutNextList(resource: Resource): void;
  /** Stops serving a resource, as a cluster without its CRD: every request for it gets 404 from now on. */
  uninstall(resource: Resource): void;
  /** A client-node KubeConfig for this server (CA verified, token user). */
  kubeConfig(): KubeConfig;
  /** Writes a kubeconfig file into `dir` (name: kubeconfig) and returns its path. */
  writeKubeconfig(dir: string, name?: string): Promise<string>;
  close(): Promise<void>;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
}

interface HistoryEvent {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
}

interface Failure { method: string; pathPrefix: string; status: number; reason: string; message: string; times: number }

const record = (value: unknown): Record<string, unknown> =>
  (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

const apiVersionOf = (resource: Resource): string => {
  const { group, version } = RESOURCES[resource];
  return group === '' ? version : `${group}/${version}`;
};
const keyOf = (object: KubeObject): string => `${str(object.metadata.namespace)}/${str(object.metadata.name)}`;
const groupResource = (resource: Resource): string => {
  const { group } = RESOURCES[resource];
  return group === '' ? resource : `${resource}.${group}`;
};

/** Two lists sorted by key, as one. */
function mergeByKey(a: readonly KubeObject[], b: readonly KubeObject[]): KubeObject[] {
  const merged: KubeObject[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && keyOf(x) <= keyOf(y))) {
      merged.push(x as KubeObject);
      i += 1;
    } else {
      merged.push(y);
      j += 1;
    }
  }
  return merged;
}

export function statusBody(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** Fields the apiserver fills in a webhook configuration when they are absent, so "unchanged" is tested honestly. */
function defaultWebhooks(object: KubeObject, resource: Resource): void {
  if (resource !== 'validatingwebhookconfigurations' && resource !== 'mutatingwebhookconfigurations') return;
  if (!Array.isArray(object.webhooks)) return;
  for (const raw of object.webhooks) {
    const hook = record(raw);
    hook.matchPolicy ??= 'Equivalent';
    hook.namespaceSelector ??= {};
    hook.objectSelector ??= {};
    hook.timeoutSeconds ??= 10;
    hook.failurePolicy ??= 'Fail';
    if (resource === 'mutatingwebhookconfigurations') hook.reinvocationPolicy ??= 'Never';
    const service = record(record(hook.clientConfig).service);
    if (Object.keys(service).length > 0) service.port ??= 443;
    for (const rule of Array.isArray(hook.rules) ? hook.rules : []) record(rule).scope ??= '*';
  }
}

/** Fields the apiserver fills in an admission policy or binding when they are absent, as for the webhooks above. */
function defaultPolicies(object: KubeObject, resource: Resource): void {
  if (!['validatingadmissionpolicies', 'validatingadmissionpolicybindings', 'mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'].includes(resource)) return;
  const spec = record(object.spec);
  const match = record(resource.endsWith('bindings') ? spec.matchResources : spec.matchConstraints);
  if (Object.keys(match).length === 0) return;
  match.matchPolicy ??= 'Equivalent';
  match.namespaceSelector ??= {};
  match.objectSelector ??= {};
  if (!resource.endsWith('bindings')) spec.failurePolicy ??= 'Fail';
}

/** Parses an apiserver path into the resource, namespace and name it names; undefined for any other path. */
function route(path: string): { resource: Resource; namespace?: string; name?: string } | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const known = (name: string | undefined): Resource | undefined => {
    if (name === undefined || !Object.hasOwn(RESOURCES, name)) return undefined;
    const resource = RESOURCES[name as Resource];
    return resource.group === group && resource.version === version ? (name as Resource) : undefined;
  };
  // /namespaces/NS/RESOURCE[/NAME] for namespaced resources; /RESOURCE[/NAME] otherwise.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const resource = known(rest[2]);
    if (resource === undefined || !RESOURCES[resource].namespaced || rest.length > 4) return undefined;
    return { resource, namespace: rest[1], ...(rest[3] !== undefined ? { name: rest[3] } : {}) };
  }
  const resource = known(rest[0]);
  if (resource === undefined || rest.length > 2) return undefined;
  if (rest[1] !== undefined && RESOURCES[resource].namespaced) return undefined;
  return { resource, ...(rest[1] !== undefined ? { name: rest[1] } : {}) };
}

export async function startFakeApiserver(t: Pick<TestContext, 'after'>, options: FakeApiserverOptions = {}): Promise<FakeApiserver> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const goneAs = options.goneAs ?? 'event';
  const pems = await generateCertificates('default/kubernetes', { caName: 'fake apiserver CA' });

  const store = new Map<Resource, Map<string, KubeObject>>(Object.keys(RESOURCES).map((r) => [r as Resource, new Map()]));
  const requests: RecordedRequest[] = [];
  const watchers = new Set<Watcher>();
  const timers = new Set<NodeJS.Timeout>();
  const expired = new Map<Resource, number>();
  const delays = new Map<Resource, number>();
  const failures: Failure[] = [];
  const generators = new Map<Resource, { objects: GeneratedObjects; rv: number }>();
  const uninstalled = new Set<Resource>();
  const cutLists = new Set<Resource>();
  let history: HistoryEvent[] = [];
  let rv = 1;
  let compactedBelow = 0;

  const objects = (resource: Resource): Map<string, KubeObject> => store.get(resource) ?? new Map();

  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const sendStatus = (res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>) =>
    send(res, code, statusBody(code, reason, message, details));

  const writeEvent = (w: Watcher, type: EventType, object: unknown): void => {
    if (!w.res.writableEnded) w.res.write(`${JSON.stringify({ type, object })}\n`);
  };

  const notify = (event: HistoryEvent): void => {
    history.push(event);
    for (const w of watchers) {
      if (w.resource !== event.resource) continue;
      if (w.namespace !== undefined && w.namespace !== str(event.object.metadata.namespace)) continue;
      writeEvent(w, event.type, event.object);
    }
  };

  const normalize = (resource: Resource, raw: unknown): KubeObject => {
    const object = structuredClone(record(raw)) as KubeObject;
    object.metadata = record(object.metadata);
    const { kind, namespaced } = RESOURCES[resource];
    object.kind = kind;
    object.apiVersion = apiVersionOf(resource);
    if (!namespaced) delete object.metadata.namespace;
    else object.metadata.namespace ??= 'default';
    if (str(object.metadata.name) === '') throw new Error(`fake apiserver: a ${kind} needs metadata.name`);
    defaultWebhooks(object, resource);
    defaultPolicies(object, resource);
    return object;
  };

  const write = (resource: Resource, raw: unknown, type: 'ADDED' | 'MODIFIED'): KubeObject => {
    const object = normalize(resource, raw);
    const map = objects(resource);
    const key = keyOf(object);
    const old = map.get(key);
    if (type === 'ADDED' && old !== undefined) throw new Error(`fake apiserver: ${resource} ${key} exists already`);
    if (type === 'MODIFIED' && old === undefined) throw new Error(`fake apiserver: ${resource} ${key} does not exist`);
    rv += 1;
    object.metadata.resourceVersion = String(rv);
    object.metadata.uid = old?.metadata.uid ?? randomUUID();
    object.metadata.creationTimestamp = old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    object.metadata.generation = Number(old?.metadata.generation ?? 0) + 1;
    map.set(key, object);
    notify({ rv, resource, type, object: structuredClone(object) });
    return structuredClone(object);
  };

  const remove = (resource: Resource, raw: unknown): KubeObject => {
    const object = normalize(resource, raw);
    const map = objects(resource);
    const old = map.get(keyOf(object));
    if (old === undefined) throw new Error(`fake apiserver: ${resource} ${keyOf(object)} does not exist`);
    map.delete(keyOf(object));
    rv += 1;
    const gone = { ...structuredClone(old), metadata: { ...structuredClone(old.metadata), resourceVersion: String(rv) } };
    notify({ rv, resource, type: 'DELETED', object: gone });
    return gone;
  };

  const sorted = (resource: Resource, namespace: string | undefined): KubeObject[] =>
    [...objects(resource).values()]
      .filter((o) => namespace === undefined || str(o.metadata.namespace) === namespace)
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  function serveList(res: ServerResponse, resource: Resource, namespace: string | undefined, query: URLSearchParams): void {
    const token = query.get('continue') ?? '';
    if (token !== '' && (expired.get(resource) ?? 0) > 0) {
      expired.set(resource, (expired.get(resource) ?? 0) - 1);
      sendStatus(res, 410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      return;
    }
    let start = '';
    if (token !== '') {
      try {
        start = str(record(JSON.parse(Buffer.from(token, 'base64url').toString('utf8'))).start);
      } catch {
        sendStatus(res, 400, 'BadRequest', `continue key is not valid: ${token}`);
        return;
      }
    }
    const limit = Number(query.get('limit') ?? '0');
    const stored = sorted(resource, namespace).filter((o) => keyOf(o) > start || start === '');
    const made = generatedAfter(resource, namespace, start, limit > 0 ? limit : Number.POSITIVE_INFINITY);
    const all = made.total === 0 ? stored : mergeByKey(stored, made.items);
    const total = stored.length + made.total;
    const page = limit > 0 ? all.slice(0, limit) : all;
    const last = page.at(-1);
    const more = limit > 0 && total > limit && last !== undefined;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (more) {
      metadata.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: keyOf(last) })).toString('base64url');
      metadata.remainingItemCount = total - page.length;
    }
    // As the real apiserver: the items of a typed list carry no kind or apiVersion of their own.
    const items = page.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest);
    const body = { kind: `${RESOURCES[resource].kind}List`, apiVersion: apiVersionOf(resource), metadata, items };
    if (cutLists.delete(resource)) {
      const text = Buffer.from(JSON.stringify(body));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': text.length });
      res.write(text.subarray(0, text.length >> 1), () => res.destroy());
      return;
    }
    const delay = delays.get(resource) ?? 0;
    if (delay > 0) later(delay, () => { if (!res.destroyed) send(res, 200, body); });
    else send(res, 200, body);
  }

  /**
   * Up to `max` generated objects after `start` (in `namespace`, when given), made now, and how
   * many there are after `start` in all.
   */
  function generatedAfter(resource: Resource, namespace: string | undefined, start: string, max: number): { items: KubeObject[]; total: number } {
    const generator = generators.get(resource);
    if (generator === undefined) return { items: [], total: 0 };
    const { objects, rv: madeAt } = generator;
    const make = (index: number): KubeObject => {
      const object = record(objects.make(index)) as KubeObject;
      object.metadata = record(object.metadata);
      object.kind = RESOURCES[resource].kind;
      object.apiVersion = apiVersionOf(resource);
      if (RESOURCES[resource].namespaced) object.metadata.namespace ??= 'default';
      object.metadata.uid ??= `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
      object.metadata.resourceVersion ??= String(madeAt);
      object.metadata.creationTimestamp ??= '2024-01-01T00:00:00Z';
      return object;
    };
    const key = (index: number): string => keyOf(make(index));
    // The first index whose key passes `ok`, for a predicate that turns true once and stays true.
    const firstIndex = (ok: (k: string) => boolean): number => {
      let lo = 0;
      let hi = objects.count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ok(key(mid))) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    const prefix = namespace === undefined ? '' : `${namespace}/`;
    const from = firstIndex((k) => k > start && k >= prefix);
    const to = namespace === undefined ? objects.count : firstIndex((k) => k >= prefix && !k.startsWith(prefix));
    const items: KubeObject[] = [];
    for (let i = from; i < to && items.length < max; i++) items.push(make(i));
    return { items, total: Math.max(0, to - from) };
  }

  function serveWatch(req: IncomingMessage, res: ServerResponse, resource: Resource, namespace: string | undefined, query: URLSearchParams): void {
    const from = query.get('resourceVersion') ?? '';
    const fromNumber = Number(from);
    const inNamespace = (o: KubeObject) => namespace === undefined || str(o.metadata.namespace) === namespace;
    if (from !== '' && from !== '0' && (!Number.isInteger(fromNumber) || fromNumber < compactedBelow)) {
      const message = `too old resource version: ${from} (${compactedBelow})`;
      if (goneAs === 'http') {
        sendStatus(res, 410, 'Expired', message);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', message) })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const watcher: Watcher = { resource, namespace, bookmarks: query.get('allowWatchBookmarks') === 'true', res };
    watchers.add(watcher);
    res.on('close', () => watchers.delete(watcher));
    req.socket.setKeepAlive(true);
    if (from === '' || from === '0') {
      // No resourceVersion (or 0): the current state first, as synthetic ADDED events.
      for (const object of sorted(resource, namespace)) writeEvent(watcher, 'ADDED', object);
    } else {
      for (const event of history) {
        if (event.rv > fromNumber && event.resource === resource && inNamespace(event.object)) writeEvent(watcher, event.type, event.object);
      }
    }
  }

  async function serveWrite(req: IncomingMessage, res: ServerResponse, method: 'POST' | 'PUT', resource: Resource, namespace: string | undefined, name: string | undefined): Promise<void> {
    let body: KubeObject;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      body = record(JSON.parse(Buffer.concat(chunks).toString('utf8'))) as KubeObject;
      body.metadata = record(body.metadata);
    } catch (err) {
      sendStatus(res, 400, 'BadRequest', `the body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    const bodyName = str(body.metadata.name);
    if (namespace !== undefined) body.metadata.namespace ??= namespace;
    if (method === 'PUT' && bodyName !== name) {
      sendStatus(res, 400, 'BadRequest', `the name of the object (${bodyName}) does not match the name on the URL (${name})`);
      return;
    }
    const existing = objects(resource).get(`${namespace ?? ''}/${bodyName}`);
    const what = `${groupResource(resource)} "${bodyName}"`;
    const details = { name: bodyName, group: RESOURCES[resource].group, kind: resource };
    if (method === 'POST') {
      if (existing !== undefined) return sendStatus(res, 409, 'AlreadyExists', `${what} already exists`, details);
      return send(res, 201, write(resource, body, 'ADDED'));
    }
    if (existing === undefined) return sendStatus(res, 404, 'NotFound', `${what} not found`, details);
    const given = str(body.metadata.resourceVersion);
    if (given !== '' && given !== existing.metadata.resourceVersion) {
      return sendStatus(res, 409, 'Conflict',
        `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`, details);
    }
    return send(res, 200, write(resource, body, 'MODIFIED'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const method = req.method ?? 'GET';
    requests.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'] });
    if (req.headers.authorization !== `Bearer ${token}`) return sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
    const failure = failures.find((f) => f.times > 0 && f.method === method && url.pathname.startsWith(f.pathPrefix));
    if (failure !== undefined) {
      failure.times -= 1;
      return sendStatus(res, failure.status, failure.reason, failure.message);
    }
    const target = route(url.pathname);
    if (target === undefined || uninstalled.has(target.resource)) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    const { resource, namespace, name } = target;
    if (method === 'GET' && name === undefined) {
      const watch = url.searchParams.get('watch');
      if (watch === 'true' || watch === '1') return serveWatch(req, res, resource, namespace, url.searchParams);
      return serveList(res, resource, namespace, url.searchParams);
    }
    if (method === 'GET' && name !== undefined) {
      const found = objects(resource).get(`${namespace ?? ''}/${name}`);
      if (found === undefined) {
        return sendStatus(res, 404, 'NotFound', `${groupResource(resource)} "${name}" not found`, { name, group: RESOURCES[resource].group, kind: resource });
      }
      return send(res, 200, found);
    }
    if ((method === 'POST' && name === undefined) || (method === 'PUT' && name !== undefined)) {
      return serveWrite(req, res, method, resource, namespace, name);
    }
    if (method === 'PATCH' && name !== undefined) return serveApply(req, res, resource, namespace, name, url.searchParams);
    return sendStatus(res, 405, 'MethodNotAllowed', `${method} is not supported by the fake apiserver on ${url.pathname}`);
  }

  /**
   * Server-side apply (PATCH, application/apply-patch+yaml) as the apiserver answers it for one
   * field manager: the applied configuration becomes the object (creating it: 201), with the
   * server's own metadata kept; an apply that changes nothing writes nothing (same
   * resourceVersion, no event). Fields other managers own are not tracked: with force=true they
   * would be taken over, which is what the one manager here asks for.
   */
  async function serveApply(req: IncomingMessage, res: ServerResponse, resource: Resource, namespace: string | undefined, name: string, query: URLSearchParams): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers['content-type'] !== 'application/apply-patch+yaml') {
      return sendStatus(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    const manager = query.get('fieldManager') ?? '';
    if (manager === '') {
      return sendStatus(res, 422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    }
    let body: KubeObject;
    try {
      body = record(parseYaml(Buffer.concat(chunks).toString('utf8'))) as KubeObject;
      body.metadata = record(body.metadata);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', `error decoding YAML: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { kind } = RESOURCES[resource];
    if (body.kind !== kind || body.apiVersion !== apiVersionOf(resource)) {
      return sendStatus(res, 400, 'BadRequest', `the applied object is ${String(body.apiVersion)} ${String(body.kind)}, not ${apiVersionOf(resource)} ${kind}`);
    }
    if (str(body.metadata.name) !== name) {
      return sendStatus(res, 400, 'BadRequest', `the name of the object (${str(body.metadata.name)}) does not match the name on the URL (${name})`);
    }
    if (namespace !== undefined) {
      if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
        return sendStatus(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      if (!objects('namespaces').has(`/${namespace}`)) {
        return sendStatus(res, 404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
      }
      body.metadata.namespace = namespace;
    }
    const existing = objects(resource).get(`${namespace ?? ''}/${name}`);
    const applied = normalize(resource, body);
    const entry = { manager, operation: 'Apply', apiVersion: apiVersionOf(resource), time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), fieldsType: 'FieldsV1' };
    if (existing === undefined) {
      applied.metadata.managedFields = [entry];
      return send(res, 201, write(resource, applied, 'ADDED'));
    }
    const serverFields = ['uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields'];
    const withoutServerFields = (o: KubeObject) => ({ ...o, metadata: Object.fromEntries(Object.entries(o.metadata).filter(([k]) => !serverFields.includes(k))) });
    if (isDeepStrictEqual(withoutServerFields(existing), withoutServerFields(applied))) return send(res, 200, existing);
    const others = (Array.isArray(existing.metadata.managedFields) ? existing.metadata.managedFields : []).filter((m) => record(m).manager !== manager);
    if (others.length > 0 && query.get('force') !== 'true') {
      return sendStatus(res, 409, 'Conflict', `Apply failed with conflicts: fields of ${groupResource(resource)} "${name}" are managed by another manager; apply with force to take them`);
    }
    applied.metadata.managedFields = [entry];
    return send(res, 200, write(resource, applied, 'MODIFIED'));
  }

  const server: Server = createServer({ cert: pems.cert, key: pems.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendStatus(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;

  const dropWatches = (): void => {
    for (const w of watchers) w.res.end();
    watchers.clear();
  };

  const kubeconfigObject = () => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(pems.ca).toString('base64') } }],
    users: [{ name: 'tester', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tester' } }],
    'current-context': 'fake',
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    dropWatches();
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await stopped;
  };
  t.after(close);

  return {
    url,
    ca: pems.ca,
    token,
    requests,
    requestsFor: (resource) => requests.filter((r) => route(r.path)?.resource === resource && route(r.path)?.name === undefined),
    add: (resource, object) => write(resource, object, 'ADDED'),
    modify: (resource, object) => write(resource, object, 'MODIFIED'),
    remove,
    get: (resource, name, namespace) => {
      const found = objects(resource).get(`${RESOURCES[resource].namespaced ? namespace ?? 'default' : ''}/${name}`);
      return found === undefined ? undefined : structuredClone(found);
    },
    list: (resource) => sorted(resource, undefined).map((o) => structuredClone(o)),
    resourceVersion: () => String(rv),
    dropWatches,
    openWatches: () => watchers.size,
    compact: () => {
      rv += 1;
      compactedBelow = rv;
      history = [];
    },
    bookmark: () => {
      for (const w of watchers) {
        if (w.bookmarks) writeEvent(w, 'BOOKMARK', { kind: RESOURCES[w.resource].kind, apiVersion: apiVersionOf(w.resource), metadata: { resourceVersion: String(rv) } });
      }
    },
    expireContinue: (resource, times = 1) => expired.set(resource, (expired.get(resource) ?? 0) + times),
    delayLists: (resource, ms) => delays.set(resource, ms),
    failNext: (method, pathPrefix, status, reason, message, times = 1) => failures.push({ method, pathPrefix, status, reason, message, times }),
    uninstall: (resource) => void uninstalled.add(resource),
    cutNextList: (resource) => void cutLists.add(resource),
    generate: (resource, objects) => {
      rv += 1;
      generators.set(resource, { objects, rv });
    },
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromString(JSON.stringify(kubeconfigObject()));
      return kc;
    },
    writeKubeconfig: async (dir, name = 'kubeconfig') => {
      const path = join(dir, name);
      await writeFile(path, JSON.stringify(kubeconfigObject(), null, 2), { mode: 0o600 });
      return path;
    },
    close,
  };
}
