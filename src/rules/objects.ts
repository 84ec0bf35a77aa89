// Decoding: an untrusted JSON value becomes a typed Endpoints or EndpointSlice, the way the apiserver
// decodes it (null is "not set", int32 is range-checked, defaults applied, v1beta1 converted to v1).
// What the apiserver could not decode becomes a field-type finding; unknown fields an unknown-field one.
import { z } from 'zod';
import { type Finding, badRequest } from './finding.ts';
import { type FieldPath, formatPath } from './path.ts';
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
export interface EndpointAddress { ip: string; hostname: string; nodeName?: string | undefined; targetRef?: { uid?: string | undefined } | undefined }
export interface EndpointPort { name: string; port: number; protocol: string; appProtocol?: string | undefined }
export interface EndpointSubset { addresses: EndpointAddress[]; notReadyAddresses: EndpointAddress[]; ports: EndpointPort[] }
export interface Endpoints { kind: 'Endpoints'; apiVersion: string; metadata: ObjectMeta; subsets: EndpointSubset[] }
export type KubeObject = EndpointSlice | Endpoints;

// Go's JSON decoder treats null as "not set". The schemas accept null; the normalize functions
// below turn it into undefined field by field (a zod transform per field costs twice the time).
const opt = <T extends z.ZodType>(t: T) => t.nullish();
const some = <T>(v: T | null | undefined): T | undefined => v ?? undefined;
const str = opt(z.string());
const int32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);
const int64 = z.number().int();
const bool = opt(z.boolean());
const stringMap = opt(z.record(z.string(), z.string()));

type Strictness = 'strict' | 'strip';

function schemas(strictness: Strictness) {
  const obj = <S extends z.ZodRawShape>(shape: S) => (strictness === 'strict' ? z.strictObject(shape) : z.object(shape));
  const list = <T extends z.ZodType>(t: T) => opt(z.array(t));
  const objectReference = obj({
    kind: str, namespace: str, name: str, uid: str, apiVersion: str, resourceVersion: str, fieldPath: str,
  });
  const metadata = obj({
    name: str, generateName: str, namespace: str, selfLink: str, uid: str, resourceVersion: str,
    generation: opt(int64), creationTimestamp: str, deletionTimestamp: str, deletionGracePeriodSeconds: opt(int64),
    labels: stringMap, annotations: stringMap,
    ownerReferences: list(obj({
      apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool,
    })),
    finalizers: list(z.string()),
    managedFields: list(z.unknown()),
  });
  const typeMeta = { apiVersion: str, kind: str, metadata: opt(metadata) };
  const conditions = opt(obj({ ready: bool, serving: bool, terminating: bool }));
  const hints = opt(obj({ forZones: list(obj({ name: str })), forNodes: list(obj({ name: str })) }));
  const slicePort = obj({ name: str, protocol: str, port: opt(int32), appProtocol: str });
  const sliceCommon = { ...typeMeta, addressType: str, ports: list(slicePort) };
  const endpointCommon = {
    addresses: list(z.string()), conditions, hostname: str, targetRef: opt(objectReference), nodeName: str, hints,
  };
  const sliceV1 = obj({
    ...sliceCommon,
    endpoints: list(obj({ ...endpointCommon, zone: str, deprecatedTopology: stringMap })),
  });
  const sliceV1beta1 = obj({ ...sliceCommon, endpoints: list(obj({ ...endpointCommon, topology: stringMap })) });
  const address = obj({ ip: str, hostname: str, nodeName: str, targetRef: opt(objectReference) });
  const endpoints = obj({
    ...typeMeta,
    subsets: list(obj({
      addresses: list(address),
      notReadyAddresses: list(address),
      ports: list(obj({ name: str, port: opt(int32), protocol: str, appProtocol: str })),
    })),
  });
  return { sliceV1, sliceV1beta1, endpoints };
}

const strict = schemas('strict');
const strip = schemas('strip');
type Schemas = typeof strict;

export interface Decoded {
  /** undefined when the apiserver could not decode the object (see findings). */
  readonly object?: KubeObject | undefined;
  readonly findings: Finding[];
}

const kindOf = (raw: unknown): unknown =>
  typeof raw === 'object' && raw !== null && 'kind' in raw ? raw.kind : undefined;
const apiVersionOf = (raw: unknown): unknown =>
  typeof raw === 'object' && raw !== null && 'apiVersion' in raw ? raw.apiVersion : undefined;

/** Whether endpoint-guard has rules for this object at all. */
export const isHandledKind = (raw: unknown): boolean => {
  const kind = kindOf(raw);
  return kind === 'EndpointSlice' || kind === 'Endpoints';
};

const zodPath = (path: readonly PropertyKey[]): FieldPath =>
  path.map((p) => (typeof p === 'number' ? p : String(p)));

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const p of path) value = typeof value === 'object' && value !== null ? Reflect.get(value, p) : undefined;
  return value;
}

/** Like Go's "json: cannot unmarshal ...": what was found and what the API wants there. */
function describeDecodeError(issue: z.core.$ZodIssue, raw: unknown): string {
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'value' : (JSON.stringify(value) ?? String(value)).slice(0, 40);
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? `cannot decode ${shown}: expected an integer (int32)` : `cannot decode ${shown}: expected ${issue.expected === 'record' ? 'an object of strings' : issue.expected}`;
    case 'too_big':
    case 'too_small':
      return `cannot decode ${shown}: out of range for int32`;
    default:
      return `cannot decode ${shown}: ${issue.message}`;
  }
}

interface Parsed<T> { data?: T | undefined; findings: Finding[] }

/** Strict first, to name unknown fields; the stripping schema then gives the data the apiserver would keep. */
function parse<T>(strictSchema: z.ZodType<T>, stripSchema: z.ZodType<T>, raw: unknown, version: KubeVersion): Parsed<T> {
  const first = strictSchema.safeParse(raw);
  if (first.success) return { data: first.data, findings: [] };
  const typeErrors = first.error.issues.filter((i) => i.code !== 'unrecognized_keys');
  if (typeErrors.length > 0) {
    return { findings: typeErrors.map((i) => badRequest({ rule: 'field-type', path: zodPath(i.path) }, describeDecodeError(i, raw))) };
  }
  const findings = first.error.issues.flatMap((issue) => (issue.code !== 'unrecognized_keys' ? [] : issue.keys.map((key): Finding => {
    const path = [...zodPath(issue.path), key];
    const unknown = badRequest({ rule: 'unknown-field', path }, `unknown field "${formatPath(path)}"`);
    return version.strictFields ? unknown : { ...unknown, severity: 'warning' };
  })));
  const second = stripSchema.safeParse(raw);
  return { data: second.success ? second.data : undefined, findings };
}

export function decodeObject(raw: unknown, version: KubeVersion, requestApiVersion?: string): Decoded {
  const kind = kindOf(raw);
  const apiVersion = apiVersionOf(raw);
  if (kind === 'Endpoints') {
    const { data, findings } = parse(strict.endpoints, strip.endpoints, raw, version);
    return { object: data && normalizeEndpoints(data), findings };
  }
  const { data, findings } = apiVersion === DISCOVERY_V1BETA1
    ? parse(strict.sliceV1beta1, strip.sliceV1beta1, raw, version)
    : parse(strict.sliceV1, strip.sliceV1, raw, version);
  return { object: data && normalizeSlice(data, version, requestApiVersion ?? String(apiVersion)), findings };
}

type Out<K extends keyof Schemas> = z.output<Schemas[K]>;

function normalizeMeta(m: Out<'endpoints'>['metadata']): ObjectMeta {
  if (!m) return {};
  return {
    name: some(m.name),
    generateName: some(m.generateName),
    namespace: some(m.namespace),
    labels: some(m.labels),
    annotations: some(m.annotations),
    finalizers: some(m.finalizers),
    generation: some(m.generation),
    ownerReferences: m.ownerReferences?.map((r) => ({
      apiVersion: r.apiVersion ?? '', kind: r.kind ?? '', name: r.name ?? '', uid: r.uid ?? '', controller: some(r.controller),
    })),
  };
}

type V1Endpoint = NonNullable<Out<'sliceV1'>['endpoints']>[number];
type V1beta1Endpoint = NonNullable<Out<'sliceV1beta1'>['endpoints']>[number];
type DecodedEndpoint = V1Endpoint | V1beta1Endpoint;
const isV1 = (ep: DecodedEndpoint): ep is V1Endpoint => !('topology' in ep);
const names = (list: { name?: string | null | undefined }[] | null | undefined) => list?.map((x) => ({ name: x.name ?? '' }));

function normalizeEndpoint(ep: DecodedEndpoint, version: KubeVersion, requestApiVersion: string): SliceEndpoint {
  const out: SliceEndpoint = {
    addresses: some(ep.addresses),
    hostname: some(ep.hostname),
    nodeName: some(ep.nodeName),
    conditions: some(ep.conditions),
    targetRef: some(ep.targetRef),
    ...(isV1(ep) ? { zone: some(ep.zone), deprecatedTopology: some(ep.deprecatedTopology) } : convertV1beta1Topology(some(ep.topology), some(ep.nodeName))),
  };
  // The apiserver wipes deprecatedTopology on v1 writes before validating (spec 4.5).
  if (requestApiVersion === DISCOVERY_V1) delete out.deprecatedTopology;
  // Hint fields the target version does not know are dropped before validation.
  if (ep.hints && version.hintsValidated) {
    out.hints = { forZones: names(ep.hints.forZones), forNodes: version.forNodes ? names(ep.hints.forNodes) : undefined };
  }
  return out;
}

function normalizeSlice(s: Out<'sliceV1'> | Out<'sliceV1beta1'>, version: KubeVersion, requestApiVersion: string): EndpointSlice {
  return {
    kind: 'EndpointSlice',
    apiVersion: s.apiVersion ?? DISCOVERY_V1,
    metadata: normalizeMeta(s.metadata),
    addressType: s.addressType ?? '',
    endpoints: (s.endpoints ?? []).map((ep) => normalizeEndpoint(ep, version, requestApiVersion)),
    // v1 defaulting (spec 4.2): a missing name becomes "", a missing protocol TCP.
    ports: s.ports?.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: some(p.port), appProtocol: some(p.appProtocol) })),
  };
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

function normalizeEndpoints(e: Out<'endpoints'>): Endpoints {
  const address = (a: NonNullable<NonNullable<Out<'endpoints'>['subsets']>[number]['addresses']>[number]): EndpointAddress =>
    ({ ip: a.ip ?? '', hostname: a.hostname ?? '', nodeName: some(a.nodeName), targetRef: a.targetRef ? { uid: some(a.targetRef.uid) } : undefined });
  return {
    kind: 'Endpoints',
    apiVersion: e.apiVersion ?? 'v1',
    metadata: normalizeMeta(e.metadata),
    subsets: (e.subsets ?? []).map((s) => ({
      addresses: (s.addresses ?? []).map(address),
      notReadyAddresses: (s.notReadyAddresses ?? []).map(address),
      // v1 defaulting: an empty protocol becomes TCP.
      ports: (s.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol || 'TCP', appProtocol: some(p.appProtocol) })),
    })),
  };
}
