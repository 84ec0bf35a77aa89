// v1 Endpoints: what kube-apiserver validates (spec 5.3), then the policy on top.
import { checkEndpointsIP, ipFamily, addressPolicy } from './addresses.ts';
import type { RuleContext } from './context.ts';
import { type Finding, invalid, notServed, notSupported, policy, required } from './finding.ts';
import { checkMetadata, checkName, effectiveName } from './metadata.ts';
import { dns1035Label, dnsLabel, dnsSubdomain, qualifiedName, shortNameHint } from './names.ts';
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset } from './objects.ts';
import { type FieldPath, formatPath } from './path.ts';
import type { KubeVersion } from './version.ts';
import { semanticEqual } from './equal.ts';
import type { RuleId } from './catalogue.ts';

/** The mirroring controller copies at most this many addresses of one subset (--mirroring-max-endpoints-per-subset). */
export const MAX_MIRRORED_PER_SUBSET = 1000;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
/** Exactly the apiserver's text, so a 1.33+ kubectl that already got it shows it once. */
export const ENDPOINTS_DEPRECATION = 'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice';

/** The words of the endpoints-name finding, shared with the admission policies; the name comes rendered. */
export const endpointsNameWords = (quoted: string): string =>
  `${quoted} is not a valid Service name (DNS-1035 label), so no Service uses it`;

const names = (rule: RuleId, path: FieldPath, value: string, details: readonly string[]): Finding[] =>
  details.map((d) => invalid({ rule, path }, value, d, shortNameHint(d)));

export function validateEndpoints(ep: Endpoints, ctx: RuleContext): Finding[] {
  const subsets = ep.subsets.flatMap((s, i) => validateSubset(s, ctx.version, ['subsets', i]));
  const old = ctx.oldObject;
  const ratcheted = ctx.version.ratcheting && ctx.operation === 'UPDATE' && old?.kind === 'Endpoints' && semanticEqual(ep.subsets, old.subsets);
  return [
    ...(ep.apiVersion === 'v1' ? [] : [notServed('Endpoints', ep.apiVersion, 'use apiVersion v1')]),
    ...checkName(ep.metadata, ['metadata']),
    ...checkMetadata(ep.metadata, ctx.version, ['metadata']),
    ...(ratcheted ? [] : subsets),
  ];
}

function validateSubset(subset: EndpointSubset, version: KubeVersion, path: FieldPath): Finding[] {
  const findings: Finding[] = [];
  if (subset.addresses.length === 0 && subset.notReadyAddresses.length === 0) {
    findings.push(required({ rule: 'subset-addresses', path }, 'must specify `addresses` or `notReadyAddresses`'));
  }
  subset.addresses.forEach((a, j) => findings.push(...validateAddress(a, version, [...path, 'addresses', j])));
  subset.notReadyAddresses.forEach((a, j) => findings.push(...validateAddress(a, version, [...path, 'notReadyAddresses', j])));
  subset.ports.forEach((p, k) => findings.push(...validatePort(p, subset.ports.length > 1, version, [...path, 'ports', k])));
  return findings;
}

function validateAddress(a: EndpointAddress, version: KubeVersion, path: FieldPath): Finding[] {
  const ip = checkEndpointsIP(a.ip, version, [...path, 'ip']);
  return [
    ...ip.findings,
    ...(a.hostname ? names('endpoint-fields', [...path, 'hostname'], a.hostname, dnsLabel(a.hostname, version.labelDotsMessage)) : []),
    ...(a.nodeName !== undefined ? names('endpoint-fields', [...path, 'nodeName'], a.nodeName, dnsSubdomain(a.nodeName)) : []),
    ...ip.special,
  ];
}

function validatePort(p: EndpointPort, nameRequired: boolean, version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'ports';
  const findings: Finding[] = [];
  if (nameRequired && p.name === '') findings.push(required({ rule, path: [...path, 'name'] }));
  else if (p.name !== '') findings.push(...names(rule, [...path, 'name'], p.name, dnsLabel(p.name, version.labelDotsMessage)));
  if (p.port < 1 || p.port > 65535) findings.push(invalid({ rule, path: [...path, 'port'] }, p.port, 'must be between 1 and 65535, inclusive'));
  if (!PROTOCOLS.includes(p.protocol)) findings.push(notSupported({ rule, path: [...path, 'protocol'] }, p.protocol, PROTOCOLS));
  if (p.appProtocol !== undefined) {
    findings.push(...names(rule, [...path, 'appProtocol'], p.appProtocol, qualifiedName(p.appProtocol, version.lengthInBytes)));
  }
  return findings;
}

export function endpointsPolicy(ep: Endpoints, ctx: RuleContext): Finding[] {
  const findings: Finding[] = [];
  if (ctx.operation === 'CREATE' || ctx.operation === 'UPDATE') {
    findings.push(policy({ rule: 'endpoints-deprecated', path: [] }, ENDPOINTS_DEPRECATION));
  }
  const name = effectiveName(ep.metadata);
  if (name !== undefined && dns1035Label(name).length > 0 && dnsSubdomain(name).length === 0) {
    findings.push(policy({ rule: 'endpoints-name', path: ['metadata', 'name'] }, endpointsNameWords(JSON.stringify(name)), name));
  }
  ep.subsets.forEach((subset, i) => {
    const path = ['subsets', i];
    const all = [...subset.addresses.map((a, j) => ({ a, at: [...path, 'addresses', j] })),
      ...subset.notReadyAddresses.map((a, j) => ({ a, at: [...path, 'notReadyAddresses', j] }))];
    if (all.length > MAX_MIRRORED_PER_SUBSET) {
      findings.push(policy({ rule: 'mirror-limit', path }, `${all.length} addresses; only ${MAX_MIRRORED_PER_SUBSET} per subset are mirrored to EndpointSlices`, all.length));
    }
    const families = new Set(all.map(({ a }) => ipFamily(a.ip)).filter((f) => f !== undefined));
    if (families.size > 1) {
      findings.push(policy({ rule: 'mixed-families', path }, 'mixes IPv4 and IPv6; mirroring splits them into one slice per family'));
    }
    const seen = new Map<string, FieldPath>(); // where each address was first listed, formatted only for a finding
    for (const { a, at } of all) {
      const ipPath = [...at, 'ip'];
      const key = `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
      const first = seen.get(key);
      if (first !== undefined) {
        findings.push(policy({ rule: 'duplicate-address', path: ipPath }, `${JSON.stringify(a.ip)} is already listed at ${formatPath(first)}; keep one`, a.ip));
      } else {
        seen.set(key, at);
      }
      addressPolicy(a.ip, () => ipPath, findings);
    }
  });
  return findings;
}
