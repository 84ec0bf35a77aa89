// What the EndpointSlice mirroring controller makes of a v1 Endpoints object (spec 7.3 and the
// behaviour recorded from a real v1.36 kube-controller-manager in the fixtures' README). Pure.
import { MAX_MIRRORED_PER_SUBSET } from '../rules/endpoints.ts';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from '../rules/endpointslice.ts';
import { canonicalIP, parseIP } from '../rules/net.ts';
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference } from '../rules/objects.ts';

export const MIRRORING_CONTROLLER = 'endpointslicemirroring-controller.k8s.io';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
export const ANNOTATION_LEADER = 'control-plane.alpha.kubernetes.io/leader';
/** Annotations the controller does not copy onto the slices. */
const NOT_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration', 'endpoints.kubernetes.io/last-change-trigger-time']);

export interface ServiceInfo { readonly name: string; readonly hasSelector: boolean }

/** Why the controller leaves these Endpoints alone, or undefined when it mirrors them. */
export function notMirroredBecause(ep: Endpoints, service: ServiceInfo | undefined): string | undefined {
  const name = ep.metadata.name ?? '';
  if (ep.metadata.labels?.[LABEL_SKIP_MIRROR] === 'true') return `it is labelled ${LABEL_SKIP_MIRROR}: "true"`;
  if (ep.metadata.annotations && ANNOTATION_LEADER in ep.metadata.annotations) return `it carries the leader-election annotation ${ANNOTATION_LEADER}`;
  if (!service || service.name !== name) return `there is no Service named "${name}" in its namespace`;
  if (service.hasSelector) return `Service "${name}" has a selector, so the control plane writes its EndpointSlices`;
  return undefined;
}

export interface RepackedSubset {
  readonly ready: EndpointAddress[];
  readonly notReady: EndpointAddress[];
  /** Empty for addresses listed without ports. */
  readonly ports: EndpointPort[];
}

const addressKey = (a: EndpointAddress): string => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort): string => JSON.stringify([p.name, p.port, p.protocol, p.appProtocol ?? null]);
const byIPThenUID = (a: EndpointAddress, b: EndpointAddress): number => {
  const x = addressKey(a);
  const y = addressKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * RepackSubsets: addresses (deduplicated by IP and targetRef uid, the first occurrence's fields
 * kept, not-ready winning over ready) grouped by the exact set of ports they serve; ports with the
 * same addresses share one subset. Addresses sorted by IP text, then uid.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): RepackedSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  const byPort = new Map<string, { port: EndpointPort | undefined; ready: Map<EndpointAddress, boolean> }>();
  const note = (port: EndpointPort | undefined, address: EndpointAddress, ready: boolean) => {
    const key = addressKey(address);
    const first = addresses.get(key) ?? address;
    addresses.set(key, first);
    const pk = port ? portKey(port) : '';
    const entry = byPort.get(pk) ?? { port, ready: new Map<EndpointAddress, boolean>() };
    byPort.set(pk, entry);
    if (entry.ready.get(first) !== false) entry.ready.set(first, ready);
  };
  for (const subset of subsets) {
    for (const port of subset.ports.length > 0 ? subset.ports : [undefined]) {
      for (const a of subset.addresses) note(port, a, true);
      for (const a of subset.notReadyAddresses) note(port, a, false);
    }
  }
  const groups = new Map<string, RepackedSubset>();
  for (const { port, ready } of byPort.values()) {
    const key = [...ready].map(([a, r]) => `${addressKey(a)}\u0000${r}`).sort().join('\u0001');
    let group = groups.get(key);
    if (!group) {
      const all = [...ready];
      group = {
        ready: all.filter(([, r]) => r).map(([a]) => a).sort(byIPThenUID),
        notReady: all.filter(([, r]) => !r).map(([a]) => a).sort(byIPThenUID),
        ports: [],
      };
      groups.set(key, group);
    }
    if (port) group.ports.push(port);
  }
  return [...groups.values()];
}

export type AddressType = 'IPv4' | 'IPv6';

export interface SliceEndpointManifest {
  addresses: string[];
  conditions: { ready: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}
export interface SliceManifest {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name?: string;
    generateName?: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid?: string; controller: boolean; blockOwnerDeletion: boolean }[];
  };
  addressType: AddressType;
  endpoints: SliceEndpointManifest[];
  ports?: { name: string; port: number; protocol: string; appProtocol?: string }[];
}

/** One desired slice before naming: what the controller computes per address family and port set. */
export interface DesiredSlice {
  readonly addressType: AddressType;
  readonly endpoints: SliceEndpointManifest[];
  readonly ports: EndpointPort[];
  /** Whether the subset had ports at all (a portless subset gives a slice without `ports`). */
  readonly hasPorts: boolean;
}

export interface Translation {
  readonly slices: DesiredSlice[];
  /** Addresses left out because they are not IPs. */
  readonly invalid: number;
  /** Addresses left out by the per-subset cap (invalid ones included, as the controller counts). */
  readonly skipped: number;
}

const withoutUndefined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

function toEndpoint(a: EndpointAddress, ip: string, ready: boolean): SliceEndpointManifest {
  return withoutUndefined({
    addresses: [ip],
    conditions: { ready },
    hostname: a.hostname === '' ? undefined : a.hostname,
    nodeName: a.nodeName,
    targetRef: a.targetRef && withoutUndefined(a.targetRef),
  });
}

/**
 * The endpoints per address family and port set. `cap` is the most addresses taken from one
 * repacked subset (the controller's --mirroring-max-endpoints-per-subset), or Infinity.
 */
export function translate(ep: Endpoints, cap: number): Translation {
  const slices: DesiredSlice[] = [];
  let invalid = 0;
  let skipped = 0;
  for (const subset of repackSubsets(ep.subsets)) {
    const byFamily = new Map<AddressType, SliceEndpointManifest[]>();
    const listed = [...subset.ready.map((a) => [a, true] as const), ...subset.notReady.map((a) => [a, false] as const)];
    let taken = 0;
    for (const [a, ready] of listed) {
      if (taken >= cap) break;
      const ip = parseIP(a.ip);
      if (!ip) {
        invalid++;
        continue;
      }
      taken++;
      const family: AddressType = ip.is4 ? 'IPv4' : 'IPv6';
      const list = byFamily.get(family) ?? [];
      byFamily.set(family, list);
      list.push(toEndpoint(a, canonicalIP(ip), ready));
    }
    skipped += listed.length - taken;
    for (const [addressType, endpoints] of byFamily) {
      slices.push({ addressType, endpoints, ports: subset.ports, hasPorts: subset.ports.length > 0 });
    }
  }
  return { slices, invalid, skipped };
}

/** The labels, annotations and owner the controller gives every slice of these Endpoints. */
export function sliceMetadata(ep: Endpoints, managedBy: string): Omit<SliceManifest['metadata'], 'name' | 'generateName'> {
  const name = ep.metadata.name ?? '';
  const annotations = Object.fromEntries(Object.entries(ep.metadata.annotations ?? {}).filter(([k]) => !NOT_COPIED.has(k)));
  return withoutUndefined({
    namespace: ep.metadata.namespace,
    labels: { ...ep.metadata.labels, [LABEL_SERVICE_NAME]: name, [LABEL_MANAGED_BY]: managedBy },
    annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
  });
}

export const slicePorts = (d: DesiredSlice): SliceManifest['ports'] =>
  d.hasPorts ? d.ports.map((p) => withoutUndefined({ name: p.name, port: p.port, protocol: p.protocol, appProtocol: p.appProtocol })) : undefined;

/**
 * Exactly what the mirroring controller creates: names from generateName `<name>-`, an owner
 * reference to the Endpoints (its uid when known), at most 1000 addresses per repacked subset.
 */
export function mirrorSlices(ep: Endpoints, ownerUid?: string): { slices: SliceManifest[]; translation: Translation } {
  const translation = translate(ep, MAX_MIRRORED_PER_SUBSET);
  const name = ep.metadata.name ?? '';
  const metadata = {
    generateName: `${name}-`,
    ...sliceMetadata(ep, MIRRORING_CONTROLLER),
    ownerReferences: [withoutUndefined({ apiVersion: 'v1', kind: 'Endpoints', name, uid: ownerUid, controller: true, blockOwnerDeletion: true })],
  };
  const slices = translation.slices.map((d): SliceManifest => withoutUndefined({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata, addressType: d.addressType, endpoints: d.endpoints, ports: slicePorts(d),
  }));
  return { slices, translation };
}

const MAX_NAME = 253;
/** Byte-wise order, the same on every machine (localeCompare is not). */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `<endpoints name>-<family>-<n>`, cut to 253 characters at a point that keeps it a DNS subdomain. */
export function ownedSliceName(endpointsName: string, family: AddressType, n: number): string {
  const suffix = `-${family.toLowerCase()}-${n}`;
  const base = endpointsName.slice(0, MAX_NAME - suffix.length).replace(/[-.]+$/, '');
  return base + suffix;
}

export interface OwnedOptions {
  /** The managed-by value: the tool or team that will own the slices (never a controller's). */
  readonly managedBy: string;
  /** Endpoints per slice; larger groups are spread over several slices (1 to 1000). */
  readonly perSlice: number;
}

/**
 * Slices a person keeps and owns: the controller's translation, but every address kept (groups
 * over `perSlice` are spread over several slices), stable names so a second run gives the same
 * files, the given managed-by value, and no owner reference (deleting the Endpoints afterwards
 * must not delete its replacement).
 */
export function ownedSlices(ep: Endpoints, options: OwnedOptions): { slices: SliceManifest[]; translation: Translation } {
  const translation = translate(ep, Infinity);
  const metadata = sliceMetadata(ep, options.managedBy);
  const counts: Record<AddressType, number> = { IPv4: 0, IPv6: 0 };
  const ordered = [...translation.slices].sort((a, b) =>
    byText(a.addressType, b.addressType) || byText(JSON.stringify(slicePorts(a) ?? []), JSON.stringify(slicePorts(b) ?? [])));
  const slices: SliceManifest[] = [];
  for (const d of ordered) {
    const endpoints = [...d.endpoints].sort((x, y) => byText(x.addresses[0] ?? '', y.addresses[0] ?? ''));
    for (let start = 0; start < endpoints.length; start += options.perSlice) {
      const name = ownedSliceName(ep.metadata.name ?? '', d.addressType, ++counts[d.addressType]);
      slices.push(withoutUndefined({
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name, ...metadata },
        addressType: d.addressType, endpoints: endpoints.slice(start, start + options.perSlice), ports: slicePorts(d),
      }));
    }
  }
  return { slices, translation };
}
