// Small builders for EndpointSlice and Endpoints manifests used by the rule tables.
import { checkObject, type CheckInput } from '../../src/rules/index.ts';
import { kubeVersion } from '../../src/rules/version.ts';
import type { Finding } from '../../src/rules/finding.ts';

export type Json = Record<string, unknown>;

export function slice(over: Json = {}, endpoints: Json[] = [{ addresses: ['10.1.2.3'] }]): Json {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'team.example.com' } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    ...over,
  };
}

export function endpointsObject(over: Json = {}, subsets: Json[] = [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ port: 80 }] }]): Json {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets, ...over };
}

export const ipv4Endpoints = (n: number): Json[] =>
  Array.from({ length: n }, (_, i) => ({ addresses: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`] }));

export const ipv4Addresses = (n: number): Json[] =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));

export const check = (object: unknown, over: Partial<CheckInput> = {}): Finding[] => {
  const result = checkObject({ object, operation: 'CREATE', version: kubeVersion(36), softEndpointLimit: 100, ...over });
  if (result.ruleErrors.length > 0) throw new Error(`rule error: ${JSON.stringify(result.ruleErrors)}`);
  return result.findings;
};

export const rulesOf = (findings: readonly Finding[]): string[] => findings.map((f) => f.rule);
