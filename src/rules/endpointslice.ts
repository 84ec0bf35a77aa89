// EndpointSlice: what kube-apiserver validates (spec 4.3), then the policy on top.
import { checkSliceAddress, addressPolicy } from './addresses.ts';
import type { RuleContext } from './context.ts';
import { type Finding, duplicate, invalid, notServed, notSupported, policy, required, tooMany, internal } from './finding.ts';
import { checkMetadata, checkName, effectiveName } from './metadata.ts';
import { dnsLabel, dnsSubdomain, labelValue, qualifiedName, shortNameHint } from './names.ts';
import type { EndpointSlice, SliceEndpoint, SlicePort } from './objects.ts';
import { DISCOVERY_V1, DISCOVERY_V1BETA1 } from './objects.ts';
import type { FieldPath } from './path.ts';
import type { KubeVersion } from './version.ts';
import type { RuleId } from './catalogue.ts';
import { semanticEqual } from './equal.ts';

export const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;
const MAX_TOPOLOGY = 16;
const MAX_HINTS = 8;
const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const ZONE_KEY = 'topology.kubernetes.io/zone';

export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** The reserved managed-by values and the users that legitimately write them (spec 4.8, 7.4). */
export const CONTROLLER_WRITERS: Readonly<Record<string, readonly string[]>> = {
  'endpointslice-controller.k8s.io': ['system:serviceaccount:kube-system:endpointslice-controller', 'system:kube-controller-manager'],
  'endpointslicemirroring-controller.k8s.io': ['system:serviceaccount:kube-system:endpointslicemirroring-controller', 'system:kube-controller-manager'],
};

/**
 * The words of the policy findings on slices. The admission policies (src/policies) say the same
 * in CEL, so each is written once; a value is passed in already rendered.
 */
export const sliceWords = {
  managedByMissing: `no ${LABEL_MANAGED_BY} label; add one naming your tool`,
  managedByController: "controller's managed-by value: it will fight over this slice; use your own",
  serviceNameMissing: `no ${LABEL_SERVICE_NAME} label, so no Service uses this slice; add one`,
  namePrefix: (service: string) => `name does not start with its Service name "${service}"; use "${service}-..."`,
  fqdn: 'FQDN slices are deprecated and kube-proxy ignores them; use IPv4 or IPv6',
  softLimit: (count: string, limit: number) => `${count} endpoints, over the soft limit of ${limit}; split the slice`,
  noPortNumber: 'no port number: the port is unusable for Services; set 1-65535',
  portOutOfRange: (port: string) => `port ${port} is outside 1-65535`,
  zone: (quoted: string) => `${quoted} is not a valid zone label value, so topology routing ignores it`,
} as const;

const names = (rule: RuleId, path: FieldPath, value: string, details: readonly string[]): Finding[] =>
  details.map((d) => invalid({ rule, path }, value, d, shortNameHint(d)));

/** What the target apiserver itself validates. */
export function validateEndpointSlice(slice: EndpointSlice, ctx: RuleContext): Finding[] {
  const { version } = ctx;
  const endpoints = ratchet(validateEndpoints(slice, version), slice, ctx);
  const ports = validatePorts(slice.ports ?? [], version, ['ports']);
  return [
    ...apiVersionServed(slice, ctx),
    ...checkName(slice.metadata, ['metadata']),
    ...checkMetadata(slice.metadata, version, ['metadata']),
    ...validateAddressType(slice, ctx),
    ...(version.portsBeforeEndpoints ? [...ports, ...endpoints] : [...endpoints, ...ports]),
  ];
}

function apiVersionServed(slice: EndpointSlice, ctx: RuleContext): Finding[] {
  // In a webhook call the object arrives converted to v1; only a manifest can name another version.
  const served = slice.apiVersion === DISCOVERY_V1 || (slice.apiVersion === DISCOVERY_V1BETA1 && ctx.version.v1beta1Served);
  if (served) return [];
  return [notServed('EndpointSlice', slice.apiVersion,
    slice.apiVersion === DISCOVERY_V1BETA1 ? 'discovery.k8s.io/v1beta1 is not served since Kubernetes 1.25; use discovery.k8s.io/v1' : 'use apiVersion discovery.k8s.io/v1')];
}

const v1beta1Refused = (slice: EndpointSlice, ctx: RuleContext): boolean =>
  slice.apiVersion === DISCOVERY_V1BETA1 && !ctx.version.v1beta1Served;

function validateAddressType(slice: EndpointSlice, ctx: RuleContext): Finding[] {
  const b = { rule: 'address-type', path: ['addressType'] } as const;
  const findings: Finding[] = [];
  if (!slice.addressType) findings.push(required(b));
  else if (!ADDRESS_TYPES.includes(slice.addressType)) findings.push(notSupported(b, slice.addressType, ADDRESS_TYPES));
  const old = ctx.operation === 'UPDATE' && ctx.oldObject?.kind === 'EndpointSlice' ? ctx.oldObject : undefined;
  if (old && old.addressType !== slice.addressType) findings.push(invalid(b, slice.addressType, 'field is immutable'));
  return findings;
}

function validateEndpoints(slice: EndpointSlice, version: KubeVersion): Finding[] {
  const { endpoints } = slice;
  if (endpoints.length > MAX_ENDPOINTS) {
    return [tooMany({ rule: 'endpoint-limit', path: ['endpoints'] }, endpoints.length, MAX_ENDPOINTS)]; // nothing inside is checked
  }
  const checkAddresses = ADDRESS_TYPES.includes(slice.addressType);
  const findings: Finding[] = [];
  for (let i = 0; i < endpoints.length; i++) validateEndpoint(endpoints[i] ?? {}, slice.addressType, checkAddresses, version, i, findings);
  return findings;
}

// Runs for each of up to 1000 endpoints: field paths are built only for a finding.
function validateEndpoint(
  ep: SliceEndpoint, addressType: string, checkAddresses: boolean, version: KubeVersion, i: number, findings: Finding[],
): void {
  const addresses = ep.addresses ?? [];
  if (addresses.length === 0) {
    findings.push(required({ rule: 'address-count', path: ['endpoints', i, 'addresses'] }, 'must contain at least 1 address'));
  } else if (addresses.length > MAX_ADDRESSES) {
    findings.push(tooMany({ rule: 'address-count', path: ['endpoints', i, 'addresses'] }, addresses.length, MAX_ADDRESSES));
  }
  if (checkAddresses) {
    for (let j = 0; j < addresses.length; j++) checkSliceAddress(addressType, addresses[j] ?? '', version, i, j, findings);
  }
  if (ep.nodeName !== undefined) {
    const details = dnsSubdomain(ep.nodeName);
    if (details.length > 0) findings.push(...names('endpoint-fields', ['endpoints', i, 'nodeName'], ep.nodeName, details));
  }
  if (ep.deprecatedTopology) findings.push(...validateTopology(ep.deprecatedTopology, version, ['endpoints', i, 'deprecatedTopology']));
  if (ep.hostname !== undefined) {
    const details = dnsLabel(ep.hostname, version.labelDotsMessage);
    if (details.length > 0) findings.push(...names('endpoint-fields', ['endpoints', i, 'hostname'], ep.hostname, details));
  }
  if (ep.hints) findings.push(...validateHints(ep.hints, version, ['endpoints', i, 'hints']));
}

function validateTopology(topology: Record<string, string>, version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'endpoint-fields';
  const entries = Object.entries(topology);
  const findings: Finding[] = [];
  if (entries.length > MAX_TOPOLOGY) findings.push(tooMany({ rule, path }, entries.length, MAX_TOPOLOGY));
  for (const [key, value] of entries) {
    findings.push(...names(rule, path, key, qualifiedName(key, version.lengthInBytes)));
    findings.push(...names(rule, path, value, labelValue(value, version.lengthInBytes)));
  }
  if (ZONE_KEY in topology) findings.push(internal({ rule, path: [...path, { key: ZONE_KEY }] }, 'reserved key was not removed in conversion'));
  return findings;
}

function validateHints(hints: NonNullable<SliceEndpoint['hints']>, version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'hints';
  const zones = hints.forZones ?? [];
  const zonesPath = [...path, 'forZones'];
  if (zones.length > MAX_HINTS) return [tooMany({ rule, path: zonesPath }, zones.length, MAX_HINTS)]; // forNodes is then not checked
  const findings: Finding[] = [];
  const seenZones = new Set<string>();
  zones.forEach((z, k) => {
    const at = [...zonesPath, k, 'name'];
    if (seenZones.has(z.name)) findings.push(duplicate({ rule, path: at }, z.name));
    seenZones.add(z.name);
    findings.push(...names(rule, at, z.name, labelValue(z.name, version.lengthInBytes)));
  });
  const nodes = hints.forNodes ?? [];
  const nodesPath = [...path, 'forNodes'];
  if (nodes.length > MAX_HINTS) return [...findings, tooMany({ rule, path: nodesPath }, nodes.length, MAX_HINTS)];
  const seenNodes = new Set<string>();
  nodes.forEach((n, k) => {
    const at = [...nodesPath, k, 'name'];
    if (seenNodes.has(n.name)) findings.push(duplicate({ rule, path: at }, n.name));
    seenNodes.add(n.name);
    findings.push(...names(rule, at, n.name, dnsSubdomain(n.name)));
  });
  return findings;
}

function validatePorts(ports: SlicePort[], version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'ports';
  if (ports.length > MAX_PORTS) return [tooMany({ rule, path }, ports.length, MAX_PORTS)];
  const seen = new Set<string>();
  return ports.flatMap((p, i) => {
    const findings: Finding[] = [];
    const namePath = [...path, i, 'name'];
    if (p.name !== '') findings.push(...names(rule, namePath, p.name, dnsLabel(p.name, version.labelDotsMessage)));
    if (seen.has(p.name)) findings.push(duplicate({ rule, path: namePath }, p.name));
    seen.add(p.name);
    if (!PROTOCOLS.includes(p.protocol)) findings.push(notSupported({ rule, path: [...path, i, 'protocol'] }, p.protocol, PROTOCOLS));
    if (p.appProtocol !== undefined) {
      findings.push(...names(rule, [...path, i, 'appProtocol'], p.appProtocol, qualifiedName(p.appProtocol, version.lengthInBytes)));
    }
    return findings;
  });
}

/** 1.33+: an UPDATE that leaves `endpoints` as they were keeps passing, whatever the rules say now. */
function ratchet(findings: Finding[], slice: EndpointSlice, ctx: RuleContext): Finding[] {
  const old = ctx.oldObject;
  if (!ctx.version.ratcheting || ctx.operation !== 'UPDATE' || old?.kind !== 'EndpointSlice') return findings;
  return semanticEqual(slice.endpoints, old.endpoints) ? [] : findings;
}

/** Policy on top of the apiserver: what it accepts but an operator should hear about. */
export function slicePolicy(slice: EndpointSlice, ctx: RuleContext): Finding[] {
  const labels = slice.metadata.labels ?? {};
  const labelsPath = ['metadata', 'labels'];
  const findings: Finding[] = [];
  const managedBy = labels[LABEL_MANAGED_BY];
  if (managedBy === undefined) {
    findings.push(policy({ rule: 'managed-by-missing', path: labelsPath }, sliceWords.managedByMissing));
  } else {
    const writers = CONTROLLER_WRITERS[managedBy];
    if (writers && !(ctx.username && writers.includes(ctx.username))) {
      findings.push(policy({ rule: 'managed-by-controller', path: labelsPath }, sliceWords.managedByController, managedBy));
    }
  }
  const serviceName = labels[LABEL_SERVICE_NAME];
  if (serviceName === undefined) {
    findings.push(policy({ rule: 'service-name-missing', path: labelsPath }, sliceWords.serviceNameMissing));
  } else {
    const name = slice.metadata.generateName ?? effectiveName(slice.metadata) ?? '';
    if (!name.startsWith(serviceName)) {
      const namePath = ['metadata', slice.metadata.name ? 'name' : 'generateName'];
      findings.push(policy({ rule: 'slice-name-prefix', path: namePath }, sliceWords.namePrefix(serviceName), name));
    }
  }
  if (slice.addressType === 'FQDN') {
    findings.push(policy({ rule: 'fqdn-address-type', path: ['addressType'] }, sliceWords.fqdn));
  }
  if (ctx.requestApiVersion === DISCOVERY_V1BETA1 && !v1beta1Refused(slice, ctx)) {
    findings.push(policy({ rule: 'api-version-deprecated', path: ['apiVersion'] }, 'discovery.k8s.io/v1beta1 is gone since Kubernetes 1.25; use discovery.k8s.io/v1'));
  }
  const count = slice.endpoints.length;
  if (count > ctx.softEndpointLimit && count <= MAX_ENDPOINTS) {
    findings.push(policy({ rule: 'endpoint-soft-limit', path: ['endpoints'] }, sliceWords.softLimit(String(count), ctx.softEndpointLimit), count));
  }
  if (count <= MAX_ENDPOINTS) findings.push(...endpointPolicy(slice));
  (slice.ports ?? []).forEach((p, i) => {
    const at = { rule: 'port-number', path: ['ports', i, 'port'] } as const;
    if (p.port === undefined) findings.push(policy(at, sliceWords.noPortNumber));
    else if (p.port < 1 || p.port > 65535) findings.push(policy(at, sliceWords.portOutOfRange(String(p.port)), p.port));
  });
  return findings;
}

/**
 * Which endpoint each address was first seen in, for one slice. One map serves every slice, each
 * under a stamp of its own, because controllers resend the same addresses all day and updating an
 * entry costs far less than growing a new map by a thousand entries; it is emptied between
 * slices once it holds more than SEEN_MAX.
 */
const SEEN_MAX = 16_384;
const ENDPOINT_SLOTS = 2 ** 10; // > MAX_ENDPOINTS: stamp * ENDPOINT_SLOTS + endpoint index
const seenMap = new Map<string, number>();
let seenStamp = 0;
function seenAddresses(): { see(address: string, endpoint: number): number | undefined } {
  if (seenMap.size > SEEN_MAX) seenMap.clear();
  const base = ++seenStamp * ENDPOINT_SLOTS;
  return {
    /** The endpoint `address` was first seen in, or undefined when this is the first time (and it is now recorded). */
    see(address, endpoint) {
      const value = seenMap.get(address);
      if (value !== undefined && value >= base) return value - base;
      seenMap.set(address, base + endpoint);
      return undefined;
    },
  };
}

function endpointPolicy(slice: EndpointSlice): Finding[] {
  const findings: Finding[] = [];
  const isIP = slice.addressType === 'IPv4' || slice.addressType === 'IPv6';
  const firstSeen = seenAddresses();
  const { endpoints } = slice;
  // Runs for every address of up to 1000 endpoints: paths are built only for a finding.
  for (let i = 0; i < endpoints.length; i++) {
    const ep = endpoints[i] ?? {};
    const addresses = ep.addresses ?? [];
    for (let j = 0; j < addresses.length; j++) {
      const a = addresses[j] ?? '';
      const first = firstSeen.see(a, i);
      if (first !== undefined) {
        const path = ['endpoints', i, 'addresses', j];
        findings.push(addresses.indexOf(a) < j
          ? policy({ rule: 'duplicate-address', path }, `${JSON.stringify(a)} repeats in this endpoint; remove the duplicate`, a)
          : policy({ rule: 'duplicate-address', path }, `${JSON.stringify(a)} is also in endpoints[${first}]; keep one`, a));
      }
      if (isIP) addressPolicy(a, () => ['endpoints', i, 'addresses', j], findings);
    }
    if (ep.zone !== undefined && labelValue(ep.zone, true).length > 0) {
      findings.push(policy({ rule: 'zone', path: ['endpoints', i, 'zone'] }, sliceWords.zone(JSON.stringify(ep.zone)), ep.zone));
    }
  }
  return findings;
}
