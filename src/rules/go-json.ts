// How the apiserver (and kubectl, for metadata) words a field of the wrong JSON type: Go's
// encoding/json as forked in sigs.k8s.io/json decodes the object into the API's Go structs and
// reports
//
//   json: cannot unmarshal <value> into Go struct field <Struct>.<Field> of type <Type>
//
// <value> is what the JSON holds: "string", "bool", "array", "object", or "number", with the number
// itself when the field is an integer ("number 80.5"). <Struct> is the Go struct that holds the
// field, <Field> the JSON names from the object's root to it (no list indexes, no map keys) and
// <Type> the field's Go type with pointers dropped (*int32 is "int32"), or the element's type for a
// list item or map value. The structs are those of k8s.io/api discovery/v1 (v1beta1), core/v1 and
// apimachinery meta/v1, keyed here by JSON path.
import type { FieldPath } from './path.ts';

export interface GoField {
  /** The Go struct the field belongs to. */
  readonly struct: string;
  /** The field's Go type, pointer dropped. */
  readonly type: string;
  /** For a list or map field, its items' or values' type. */
  readonly elem?: string;
  /** A map: the next path segment is a key, not a field. */
  readonly map?: true;
  /**
   * Decoded by a type's own UnmarshalJSON (metav1.Time): its error ends decoding at once and is
   * the one reported, where other type errors are only noted and the first reported at the end.
   */
  readonly aborts?: true;
}

/** Go fields by JSON path: `ports.port`, `metadata.labels`. */
export type GoFields = Readonly<Record<string, GoField>>;

const field = (struct: string, type: string, more: Omit<GoField, 'struct' | 'type'> = {}): GoField => ({ struct, type, ...more });
const list = (struct: string, elem: string): GoField => ({ struct, type: `[]${elem}`, elem });
const stringMap = (struct: string): GoField => ({ struct, type: 'map[string]string', elem: 'string', map: true });

const under = (prefix: string, fields: GoFields): GoFields =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${prefix}.${k}`, v]));

/** metav1.ObjectMeta, as a struct's `metadata`; metav1 is package "v1". */
const OBJECT_META: GoFields = {
  name: field('ObjectMeta', 'string'),
  generateName: field('ObjectMeta', 'string'),
  namespace: field('ObjectMeta', 'string'),
  selfLink: field('ObjectMeta', 'string'),
  uid: field('ObjectMeta', 'types.UID'),
  resourceVersion: field('ObjectMeta', 'string'),
  generation: field('ObjectMeta', 'int64'),
  // metav1.Time unmarshals itself: json.Unmarshal into a string first.
  creationTimestamp: field('ObjectMeta', 'string', { aborts: true }),
  deletionTimestamp: field('ObjectMeta', 'string', { aborts: true }),
  deletionGracePeriodSeconds: field('ObjectMeta', 'int64'),
  labels: stringMap('ObjectMeta'),
  annotations: stringMap('ObjectMeta'),
  ownerReferences: list('ObjectMeta', 'v1.OwnerReference'),
  'ownerReferences.apiVersion': field('OwnerReference', 'string'),
  'ownerReferences.kind': field('OwnerReference', 'string'),
  'ownerReferences.name': field('OwnerReference', 'string'),
  'ownerReferences.uid': field('OwnerReference', 'types.UID'),
  'ownerReferences.controller': field('OwnerReference', 'bool'),
  'ownerReferences.blockOwnerDeletion': field('OwnerReference', 'bool'),
  finalizers: list('ObjectMeta', 'string'),
  managedFields: list('ObjectMeta', 'v1.ManagedFieldsEntry'),
};

/** core/v1 ObjectReference. */
const OBJECT_REFERENCE: GoFields = Object.fromEntries(['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']
  .map((k) => [k, field('ObjectReference', k === 'uid' ? 'types.UID' : 'string')]));

const topLevel = (struct: string): GoFields => ({
  apiVersion: field(struct, 'string'),
  kind: field(struct, 'string'),
  metadata: field(struct, 'v1.ObjectMeta'),
  ...under('metadata', OBJECT_META),
});

/** discovery.k8s.io EndpointSlice in package `pkg` (v1 or v1beta1). */
function endpointSlice(pkg: 'v1' | 'v1beta1'): GoFields {
  const endpoint: GoFields = {
    addresses: list('Endpoint', 'string'),
    conditions: field('Endpoint', `${pkg}.EndpointConditions`),
    'conditions.ready': field('EndpointConditions', 'bool'),
    'conditions.serving': field('EndpointConditions', 'bool'),
    'conditions.terminating': field('EndpointConditions', 'bool'),
    hostname: field('Endpoint', 'string'),
    targetRef: field('Endpoint', 'v1.ObjectReference'),
    ...under('targetRef', OBJECT_REFERENCE),
    nodeName: field('Endpoint', 'string'),
    hints: field('Endpoint', `${pkg}.EndpointHints`),
    'hints.forZones': list('EndpointHints', `${pkg}.ForZone`),
    'hints.forZones.name': field('ForZone', 'string'),
    ...(pkg === 'v1'
      ? {
        zone: field('Endpoint', 'string'),
        deprecatedTopology: stringMap('Endpoint'),
        'hints.forNodes': list('EndpointHints', 'v1.ForNode'),
        'hints.forNodes.name': field('ForNode', 'string'),
      }
      : { topology: stringMap('Endpoint') }),
  };
  return {
    ...topLevel('EndpointSlice'),
    addressType: field('EndpointSlice', `${pkg}.AddressType`),
    endpoints: list('EndpointSlice', `${pkg}.Endpoint`),
    ...under('endpoints', endpoint),
    ports: list('EndpointSlice', `${pkg}.EndpointPort`),
    'ports.name': field('EndpointPort', 'string'),
    'ports.protocol': field('EndpointPort', 'v1.Protocol'),
    'ports.port': field('EndpointPort', 'int32'),
    'ports.appProtocol': field('EndpointPort', 'string'),
  };
}

const address = (struct: string): GoFields => ({
  ip: field(struct, 'string'),
  hostname: field(struct, 'string'),
  nodeName: field(struct, 'string'),
  targetRef: field(struct, 'v1.ObjectReference'),
  ...under('targetRef', OBJECT_REFERENCE),
});

/** core/v1 Endpoints. */
const ENDPOINTS: GoFields = {
  ...topLevel('Endpoints'),
  subsets: list('Endpoints', 'v1.EndpointSubset'),
  'subsets.addresses': list('EndpointSubset', 'v1.EndpointAddress'),
  ...under('subsets.addresses', address('EndpointAddress')),
  'subsets.notReadyAddresses': list('EndpointSubset', 'v1.EndpointAddress'),
  ...under('subsets.notReadyAddresses', address('EndpointAddress')),
  'subsets.ports': list('EndpointSubset', 'v1.EndpointPort'),
  'subsets.ports.name': field('EndpointPort', 'string'),
  'subsets.ports.port': field('EndpointPort', 'int32'),
  'subsets.ports.protocol': field('EndpointPort', 'v1.Protocol'),
  'subsets.ports.appProtocol': field('EndpointPort', 'string'),
};

const SLICE_V1 = endpointSlice('v1');
const SLICE_V1BETA1 = endpointSlice('v1beta1');

/** The Go fields of an object of this kind, as its apiVersion decodes it. */
export const goFieldsOf = (kind: 'EndpointSlice' | 'Endpoints', apiVersion: string): GoFields =>
  kind === 'Endpoints' ? ENDPOINTS : apiVersion === 'discovery.k8s.io/v1beta1' ? SLICE_V1BETA1 : SLICE_V1;

/**
 * kubectl checks an object's metadata itself before it sends anything, by decoding the document into
 * its own struct with only the type fields and metadata (cli-runtime's metadataValidatingDecoder).
 */
export const KUBECTL_METADATA: GoFields = {
  apiVersion: field('metadataOnlyObject', 'string'),
  kind: field('metadataOnlyObject', 'string'),
  metadata: field('metadataOnlyObject', 'v1.ObjectMeta'),
  ...under('metadata', OBJECT_META),
};

/** The Go field at a JSON path: its dotted name, and whether the path is at one of its items or values. */
function goField(fields: GoFields, path: FieldPath): { name: string; field: GoField; element: boolean } | undefined {
  const names: string[] = [];
  let element = false;
  for (const segment of path) {
    if (typeof segment === 'number' || fields[names.join('.')]?.map) {
      element = true; // a list index or a map key: Go's path names struct fields only
      continue;
    }
    names.push(typeof segment === 'string' ? segment : segment.key);
    element = false;
  }
  const name = names.join('.');
  const found = fields[name];
  return found === undefined ? undefined : { name, field: found, element };
}

/** Go's words for `value` at `path` of the wrong type; undefined where the structs have no such field. */
export function goTypeError(fields: GoFields, path: FieldPath, value: unknown): string | undefined {
  const found = goField(fields, path);
  const type = found?.element ? found.field.elem : found?.field.type;
  if (found === undefined || type === undefined) return undefined;
  return `json: cannot unmarshal ${jsonValue(value, type)} into Go struct field ${found.field.struct}.${found.name} of type ${type}`;
}

/** Whether a type error at `path` ends decoding at once (see GoField.aborts). */
export const endsDecoding = (fields: GoFields, path: FieldPath): boolean => goField(fields, path)?.field.aborts === true;

const NUMERIC = new Set(['int32', 'int64']);

/** The decoder's name for the JSON value: numbers are shown for integer fields, whose parse failed. */
function jsonValue(value: unknown, type: string): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return NUMERIC.has(type) ? `number ${value}` : 'number'; // String(n) is Go's JSON form of a float too
  return typeof value === 'object' && value !== null ? 'object' : 'string';
}

/**
 * Of several type errors, the one the decoder reports: the first in decoding order, unless one
 * ends decoding at once (`aborts`), which then is the one. `before` orders two by decoding order.
 */
export function reportedTypeError<T>(errors: readonly T[], aborts: (e: T) => boolean, before: (a: T, b: T) => number): T | undefined {
  const ordered = [...errors].sort(before);
  return ordered.find(aborts) ?? ordered[0];
}

/**
 * Decoding order when the JSON's keys are sorted, as Go's json.Marshal writes every map and so
 * every object kubectl sends: keys in byte order (code point order, as UTF-8 sorts), items in order.
 */
export function sortedKeyOrder(a: FieldPath, b: FieldPath): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return x - y;
      continue;
    }
    const kx = typeof x === 'number' ? String(x) : typeof x === 'string' ? x : x?.key ?? '';
    const ky = typeof y === 'number' ? String(y) : typeof y === 'string' ? y : y?.key ?? '';
    if (kx !== ky) return compareCodePoints(kx, ky);
  }
  return a.length - b.length;
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

