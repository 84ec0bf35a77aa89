// Decoding: an untrusted JSON value becomes a typed Endpoints or EndpointSlice, the way the apiserver
// decodes it (null is "not set", int32 is range-checked, defaults applied, v1beta1 converted to v1).
// What the apiserver could not decode becomes a field-type finding; unknown fields an unknown-field one.
//
// A hand-written walk rather than a schema library: this runs on every admission request, and a
// 1000-endpoint slice is checked field by field in a fraction of the time a generic validator takes.
// The envelope around it (AdmissionReview) and all settings still go through zod.
import { type DepthBudget, TooDeep, deeperThan, isContainer, nestsPast, ownValue } from '../depth.ts';
import { type Finding, badRequest } from './finding.ts';
import { type GoFields, goFieldsOf, goTypeError } from './go-json.ts';
import { type FieldPath, type Segment, formatPath } from './path.ts';
import type { KubeVersion } from './version.ts';

export const DISCOVERY_V1 = 'discovery.k8s.io/v1';
export const DISCOVERY_V1BETA1 = 'discovery.k8s.io/v1beta1';

export interface OwnerReference {
  apiVersion: string; kind: string; name: string; uid: string; controller?: boolean | undefined;
}
export interface ObjectMeta {
  name?: string | undefined;
  generateName?: string | undefined;
  namespace?: string | undefined;
  labels?: Record<string, string> | undefined;
  annotations?: Record<string, string> | undefined;
  finalizers?: string[] | undefined;
  ownerReferences?: OwnerReference[] | undefined;
  generation?: number | undefined;
}
export interface SliceEndpoint {
  addresses?: string[] | undefined;
  hostname?: string | undefined;
  nodeName?: string | undefined;
  zone?: string | undefined;
  deprecatedTopology?: Record<string, string> | undefined;
  hints?: { forZones?: { name: string }[] | undefined; forNodes?: { name: string }[] | undefined } | undefined;
  conditions?: unknown;
  targetRef?: unknown;
}
export interface SlicePort { name: string; protocol: string; port?: number | undefined; appProtocol?: string | undefined }
export interface EndpointSlice {
  kind: 'EndpointSlice';
  apiVersion: string;
  metadata: ObjectMeta;
  addressType: string;
  endpoints: SliceEndpoint[];
  ports?: SlicePort[] | undefined;
}
export interface ObjectReference {
  kind?: string | undefined; namespace?: string | undefined; name?: string | undefined; uid?: string | undefined;
  apiVersion?: string | undefined; resourceVersion?: string | undefined; fieldPath?: string | undefined;
}
export interface EndpointAddress { ip: string; hostname: string; nodeName?: string | undefined; targetRef?: ObjectReference | undefined }
export interface EndpointPort { name: string; port: number; protocol: string; appProtocol?: string | undefined }
export interface EndpointSubset { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[]; ports: EndpointPort[] }
export interface Endpoints { kind: 'Endpoints'; apiVersion: string; metadata: ObjectMeta; subsets: EndpointSubset[] }
export type KubeObject = EndpointSlice | Endpoints;

export interface Decoded {
  /** undefined when the apiserver could not decode the object (see findings). */
  readonly object?: KubeObject | undefined;
  readonly findings: Finding[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const kindOf = (raw: unknown): unknown => (isObject(raw) ? raw.kind : undefined);

/** Whether endpoint-guard has rules for this object at all. */
export const isHandledKind = (raw: unknown): boolean => {
  const kind = kindOf(raw);
  return kind === 'EndpointSlice' || kind === 'Endpoints';
};

/**
 * The fields one API type defines; anything else is an unknown field. `order` remembers the keys
 * last accepted, by position: the objects of one request (a thousand endpoints) nearly always list
 * their keys in the same order, and comparing with it is cheaper than a hash lookup per key.
 */
interface Fields { readonly names: ReadonlySet<string>; readonly order: string[] }
const fields = (...names: string[]): Fields => ({ names: new Set(names), order: [] });
const TYPE_META = ['apiVersion', 'kind', 'metadata'];
const FIELDS = {
  metadata: fields('name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation',
    'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations',
    'ownerReferences', 'finalizers', 'managedFields'),
  ownerReference: fields('apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'),
  objectReference: fields('kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'),
  slice: fields(...TYPE_META, 'addressType', 'endpoints', 'ports'),
  endpointV1: fields('addresses', 'conditions', 'hostname', 'targetRef', 'nodeName', 'hints', 'zone', 'deprecatedTopology'),
  endpointV1beta1: fields('addresses', 'conditions', 'hostname', 'targetRef', 'nodeName', 'hints', 'topology'),
  conditions: fields('ready', 'serving', 'terminating'),
  hints: fields('forZones', 'forNodes'),
  hint: fields('name'),
  port: fields('name', 'protocol', 'port', 'appProtocol'),
  endpoints: fields(...TYPE_META, 'subsets'),
  subset: fields('addresses', 'notReadyAddresses', 'ports'),
  address: fields('ip', 'hostname', 'nodeName', 'targetRef'),
};

function allStrings(list: unknown[]): list is string[] {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return false;
  return true;
}

/** A value of the wrong type is shown in its message, unless it nests deeper than this. */
const SHOWN_DEPTH = 32;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * One decoding pass: type errors (the apiserver answers 400) and unknown fields, with their paths.
 * The path is a stack pushed and popped while walking, so nothing is allocated unless there is
 * something to report. Callers read each field themselves (`o['name']`) and pass the value with
 * its key for the path: a load with a fixed name at each call site is fast, while one load with a
 * varying key inside a shared method (`o[key]`) goes megamorphic and took half the decoding time.
 */
class Reader {
  readonly typeErrors: Finding[] = [];
  readonly unknown: Finding[] = [];
  readonly version: KubeVersion;
  private readonly path: Segment[] = [];
  private readonly depth: DepthBudget | undefined;
  private readonly goFields: GoFields;
  constructor(version: KubeVersion, depth: DepthBudget | undefined, goFields: GoFields) {
    this.version = version;
    this.depth = depth;
    this.goFields = goFields;
  }

  /**
   * Holds a value the decoder does not read field by field to the body's depth limit: throws
   * TooDeep past it. The value sits at the current path, plus `key` when given.
   */
  opaque(value: unknown, key?: string): void {
    if (this.depth === undefined) return;
    const level = this.depth.level + this.path.length + (key === undefined ? 0 : 1);
    if (nestsPast(value, level, this.depth.max)) throw new TooDeep(this.depth.max);
  }

  private here(key?: string): FieldPath {
    return key === undefined ? [...this.path] : [...this.path, key];
  }

  /** The detail is the apiserver's decoder's own words (go-json.ts), the hint lint's shorter ones. */
  private typeError(value: unknown, expected: string, key?: string): undefined {
    this.opaque(value, key);
    const shown = (isContainer(value) && deeperThan(value, SHOWN_DEPTH) ? (Array.isArray(value) ? '[...]' : '{...}')
      : JSON.stringify(value) ?? String(value)).slice(0, 40);
    const path = this.here(key);
    const hint = `cannot decode ${shown}: expected ${expected}`;
    this.typeErrors.push({ rule: 'field-type', path, type: 'BadRequest', value, detail: goTypeError(this.goFields, path, value) ?? hint, hint });
    return undefined;
  }

  /** Runs `read` with `key` appended to the current path. */
  in<T>(key: Segment, read: () => T): T {
    this.path.push(key);
    try {
      return read();
    } finally {
      this.path.pop();
    }
  }

  // enter/leave: `in` without a closure, for what runs once per endpoint.
  enter(key: Segment): void {
    this.path.push(key);
  }

  leave(): void {
    this.path.pop();
  }

  /** An object with the given fields, at the current path; null is "not set". */
  object(value: unknown, allowed: Fields): Json | undefined {
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) return this.typeError(value, 'object');
    const { names, order } = allowed;
    let i = -1;
    for (const key in value) {
      i++;
      if (order[i] === key) continue;
      if (names.has(key)) {
        if (i < names.size) order[i] = key;
        continue;
      }
      this.opaque(ownValue(value, key), key);
      const at = this.here(key);
      const finding = badRequest({ rule: 'unknown-field', path: at }, `unknown field "${formatPath(at)}"`);
      // Before strict field validation (1.25) the apiserver dropped unknown fields silently.
      this.unknown.push(this.version.strictFields ? finding : { ...finding, severity: 'warning' });
    }
    return value;
  }

  /** The object in field `key`. */
  child(v: unknown, key: string, allowed: Fields): Json | undefined {
    this.path.push(key);
    const child = this.object(v, allowed);
    this.path.pop();
    return child;
  }

  string(v: unknown, key: string): string | undefined {
    if (typeof v === 'string') return v;
    return v === undefined || v === null ? undefined : this.typeError(v, 'string', key);
  }

  boolean(v: unknown, key: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    return v === undefined || v === null ? undefined : this.typeError(v, 'boolean', key);
  }

  integer(v: unknown, key: string, int32: boolean): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.typeError(v, int32 ? 'an integer (int32)' : 'an integer', key);
    if (int32 && (v < INT32_MIN || v > INT32_MAX)) return this.typeError(v, 'an integer in int32 range', key);
    return v;
  }

  /** A list; `item` decodes one element at its index (null elements are zero values, as in Go). */
  list<T>(v: unknown, key: string, item: (value: unknown) => T): T[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) return this.typeError(v, 'a list', key);
    const out = new Array<T>(v.length);
    this.path.push(key);
    for (let i = 0; i < v.length; i++) {
      this.path.push(i);
      out[i] = item(v[i]);
      this.path.pop();
    }
    this.path.pop();
    return out;
  }

  /** A list of strings (null items are ""): the list itself when every item is already a string. */
  strings(v: unknown, key: string): string[] | undefined {
    if (Array.isArray(v) && allStrings(v)) return v;
    return this.list(v, key, this.stringItem);
  }

  stringItem = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (value !== null) this.typeError(value, 'string');
    return '';
  };

  stringMap(v: unknown, key: string): Record<string, string> | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) return this.typeError(v, 'an object of strings', key);
    const before = this.typeErrors.length;
    for (const k in v) {
      const value = ownValue(v, k);
      // Each is reported: which one the apiserver names depends on the order kubectl writes keys in.
      if (typeof value !== 'string' && value !== null) this.in(key, () => this.typeError(value, 'string', k));
    }
    return this.typeErrors.length === before ? v as Record<string, string> : undefined; // every value was checked above
  }
}

function readMeta(r: Reader, raw: Json): ObjectMeta {
  const m = r.child(raw['metadata'], 'metadata', FIELDS.metadata);
  if (!m) return {};
  return r.in('metadata', () => {
    r.integer(m['deletionGracePeriodSeconds'], 'deletionGracePeriodSeconds', false);
    for (const key of ['selfLink', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp']) r.string(m[key], key);
    r.list(m['managedFields'], 'managedFields', (entry) => r.opaque(entry));
    return {
      name: r.string(m['name'], 'name'),
      generateName: r.string(m['generateName'], 'generateName'),
      namespace: r.string(m['namespace'], 'namespace'),
      labels: r.stringMap(m['labels'], 'labels'),
      annotations: r.stringMap(m['annotations'], 'annotations'),
      finalizers: r.list(m['finalizers'], 'finalizers', r.stringItem),
      generation: r.integer(m['generation'], 'generation', false),
      ownerReferences: r.list(m['ownerReferences'], 'ownerReferences', (v) => {
        const o = r.object(v, FIELDS.ownerReference) ?? {};
        r.boolean(o['blockOwnerDeletion'], 'blockOwnerDeletion');
        return {
          apiVersion: r.string(o['apiVersion'], 'apiVersion') ?? '', kind: r.string(o['kind'], 'kind') ?? '',
          name: r.string(o['name'], 'name') ?? '', uid: r.string(o['uid'], 'uid') ?? '', controller: r.boolean(o['controller'], 'controller'),
        };
      }),
    };
  });
}

/** targetRef, type-checked; as given, since only Endpoints rules read it (see readObjectReference). */
function checkObjectReference(r: Reader, o: Json): Json | undefined {
  const ref = r.child(o['targetRef'], 'targetRef', FIELDS.objectReference);
  if (!ref) return undefined;
  r.enter('targetRef');
  r.string(ref['kind'], 'kind');
  r.string(ref['namespace'], 'namespace');
  r.string(ref['name'], 'name');
  r.string(ref['uid'], 'uid');
  r.string(ref['apiVersion'], 'apiVersion');
  r.string(ref['resourceVersion'], 'resourceVersion');
  r.string(ref['fieldPath'], 'fieldPath');
  r.leave();
  return ref;
}

function readObjectReference(r: Reader, o: Json): ObjectReference | undefined {
  const ref = checkObjectReference(r, o);
  if (!ref) return undefined;
  const text = (key: string) => (typeof ref[key] === 'string' ? ref[key] : undefined);
  return {
    kind: text('kind'), namespace: text('namespace'), name: text('name'), uid: text('uid'),
    apiVersion: text('apiVersion'), resourceVersion: text('resourceVersion'), fieldPath: text('fieldPath'),
  };
}

function readSlice(r: Reader, raw: Json, apiVersion: string, requestApiVersion: string): EndpointSlice {
  const v1beta1 = apiVersion === DISCOVERY_V1BETA1;
  return {
    kind: 'EndpointSlice',
    apiVersion,
    metadata: readMeta(r, raw),
    addressType: r.string(raw['addressType'], 'addressType') ?? '',
    endpoints: r.list(raw['endpoints'], 'endpoints', (value) => readSliceEndpoint(r, value, v1beta1, requestApiVersion)) ?? [],
    // v1 defaulting (spec 4.2): a missing name becomes "", a missing protocol TCP.
    ports: r.list(raw['ports'], 'ports', (value) => {
      const p = r.object(value, FIELDS.port) ?? {};
      return {
        name: r.string(p['name'], 'name') ?? '', protocol: r.string(p['protocol'], 'protocol') ?? 'TCP',
        port: r.integer(p['port'], 'port', true), appProtocol: r.string(p['appProtocol'], 'appProtocol'),
      };
    }),
  };
}

function readSliceEndpoint(r: Reader, value: unknown, v1beta1: boolean, requestApiVersion: string): SliceEndpoint {
  const { version } = r;
  const problems = r.typeErrors.length + r.unknown.length;
  const ep = r.object(value, v1beta1 ? FIELDS.endpointV1beta1 : FIELDS.endpointV1) ?? {};
  const conditions = r.child(ep['conditions'], 'conditions', FIELDS.conditions);
  if (conditions) {
    r.enter('conditions');
    r.boolean(conditions['ready'], 'ready');
    r.boolean(conditions['serving'], 'serving');
    r.boolean(conditions['terminating'], 'terminating');
    r.leave();
  }
  const nodeName = r.string(ep['nodeName'], 'nodeName');
  const addresses = r.strings(ep['addresses'], 'addresses');
  const hostname = r.string(ep['hostname'], 'hostname');
  const targetRef = checkObjectReference(r, ep);
  if (!v1beta1 && ep['hints'] === undefined && ep['deprecatedTopology'] === undefined) {
    const zone = r.string(ep['zone'], 'zone');
    // Nearly every endpoint: a v1 endpoint with only known fields, each of its type and none
    // null, is already what the rules read. It is used as it is, with nothing allocated.
    if (r.typeErrors.length + r.unknown.length === problems && value === ep && addresses === ep['addresses']
      && ep['nodeName'] !== null && ep['hostname'] !== null && ep['zone'] !== null) return ep as SliceEndpoint;
    return { addresses, hostname, nodeName, zone, deprecatedTopology: undefined, hints: undefined, conditions, targetRef };
  }
  let zone: string | undefined;
  let deprecatedTopology: Record<string, string> | undefined;
  if (v1beta1) ({ zone, deprecatedTopology } = convertV1beta1Topology(r.stringMap(ep['topology'], 'topology'), nodeName));
  else {
    zone = r.string(ep['zone'], 'zone');
    // The apiserver wipes deprecatedTopology on v1 writes before validating (spec 4.5).
    const topology = r.stringMap(ep['deprecatedTopology'], 'deprecatedTopology');
    if (requestApiVersion !== DISCOVERY_V1) deprecatedTopology = topology;
  }
  let hints: SliceEndpoint['hints'];
  const rawHints = r.child(ep['hints'], 'hints', FIELDS.hints);
  if (rawHints) {
    const names = (key: string) => r.list(rawHints[key], key, (v) => ({ name: r.string((r.object(v, FIELDS.hint) ?? {})['name'], 'name') ?? '' }));
    const [forZones, forNodes] = r.in('hints', () => [names('forZones'), names('forNodes')]);
    // Hint fields the target version does not know are dropped before validation.
    if (version.hintsValidated) hints = { forZones, forNodes: version.forNodes ? forNodes : undefined };
  }
  // One object shape for every endpoint, whatever fields it has.
  return { addresses, hostname, nodeName, zone, deprecatedTopology, hints, conditions, targetRef };
}

const ZONE_KEY = 'topology.kubernetes.io/zone';
const HOSTNAME_KEY = 'kubernetes.io/hostname';

/** v1beta1 -> v1: the zone moves out of topology, a hostname equal to nodeName is dropped, the rest stays. */
function convertV1beta1Topology(topology: Record<string, string> | undefined, nodeName: string | undefined): Pick<SliceEndpoint, 'zone' | 'deprecatedTopology'> {
  if (!topology) return {};
  const { [ZONE_KEY]: zone, ...deprecated } = topology;
  if (HOSTNAME_KEY in deprecated && deprecated[HOSTNAME_KEY] === nodeName) delete deprecated[HOSTNAME_KEY];
  return { zone, deprecatedTopology: Object.keys(deprecated).length > 0 ? deprecated : undefined };
}

function readEndpoints(r: Reader, raw: Json, apiVersion: string): Endpoints {
  const address = (value: unknown): EndpointAddress => {
    const a = r.object(value, FIELDS.address) ?? {};
    return { ip: r.string(a['ip'], 'ip') ?? '', hostname: r.string(a['hostname'], 'hostname') ?? '', nodeName: r.string(a['nodeName'], 'nodeName'), targetRef: readObjectReference(r, a) };
  };
  return {
    kind: 'Endpoints',
    apiVersion,
    metadata: readMeta(r, raw),
    subsets: r.list(raw['subsets'], 'subsets', (value) => {
      const s = r.object(value, FIELDS.subset) ?? {};
      return {
        addresses: r.list(s['addresses'], 'addresses', address) ?? [],
        notReadyAddresses: r.list(s['notReadyAddresses'], 'notReadyAddresses', address) ?? [],
        ports: r.list(s['ports'], 'ports', (v) => {
          const p = r.object(v, FIELDS.port) ?? {};
          // v1 defaulting: an empty protocol becomes TCP.
          return { name: r.string(p['name'], 'name') ?? '', port: r.integer(p['port'], 'port', true) ?? 0, protocol: r.string(p['protocol'], 'protocol') || 'TCP', appProtocol: r.string(p['appProtocol'], 'appProtocol') };
        }) ?? [],
      };
    }) ?? [],
  };
}

/**
 * `depth`: hold the object to a body's depth limit (the webhook); TooDeep is thrown past it, and
 * the object is added to depth.decoded once read whole.
 */
export function decodeObject(raw: unknown, version: KubeVersion, requestApiVersion?: string, depth?: DepthBudget): Decoded {
  const apiVersion = isObject(raw) && typeof raw.apiVersion === 'string' ? raw.apiVersion : '';
  const r = new Reader(version, depth, goFieldsOf(kindOf(raw) === 'Endpoints' ? 'Endpoints' : 'EndpointSlice', apiVersion));
  const top = r.object(raw, kindOf(raw) === 'Endpoints' ? FIELDS.endpoints : FIELDS.slice);
  const object = top && readTop(r, top, requestApiVersion);
  depth?.decoded.add(raw);
  // A value of the wrong type fails the whole decode in the apiserver: no object to validate.
  if (!object || r.typeErrors.length > 0) return { findings: r.typeErrors };
  return { object, findings: r.unknown };
}

function readTop(r: Reader, top: Json, requestApiVersion: string | undefined): KubeObject {
  const apiVersion = r.string(top['apiVersion'], 'apiVersion');
  r.string(top['kind'], 'kind');
  return top.kind === 'Endpoints'
    ? readEndpoints(r, top, apiVersion ?? 'v1')
    : readSlice(r, top, apiVersion ?? DISCOVERY_V1, requestApiVersion ?? apiVersion ?? DISCOVERY_V1);
}
