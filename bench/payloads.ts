// AdmissionReview bodies for the benchmarks: what the apiserver sends for slices the EndpointSlice
// controller would write, and for a hand-written v1 Endpoints object.
const request = (kind: { group: string; version: string; kind: string }, object: unknown) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '11111111-2222-3333-4444-555555555555',
    kind, requestKind: kind,
    name: 'web-abcde', namespace: 'default', operation: 'CREATE',
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    object, oldObject: null, dryRun: false,
  },
});

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** An EndpointSlice as the controller writes it, with `endpoints` endpoints, by a tool of a team (so the webhooks check it). */
export function controllerSlice(endpoints: number, name = 'web-abcde', namespace = 'default') {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'team.example.com' } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: endpoints }, (_, i) => ({
      addresses: [ip(i)],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: `node-${i % 50}`,
      zone: `zone-${i % 3}`,
      targetRef: { kind: 'Pod', namespace, name: `web-${i}`, uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}` },
    })),
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

export function sliceReview(endpoints: number): string {
  return JSON.stringify(request({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' }, controllerSlice(endpoints)));
}

export function endpointsReview(addresses: number): string {
  const endpoints = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'default' },
    subsets: [{ addresses: Array.from({ length: addresses }, (_, i) => ({ ip: ip(i) })), ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
  };
  return JSON.stringify(request({ group: '', version: 'v1', kind: 'Endpoints' }, endpoints));
}
