// The small cluster the audit tests read: clean objects, a slice for a missing Service, loopback
// addresses (errors), labelled namespaces, and a slice the control plane wrote.
import type { FakeApiserver } from './fake-apiserver.ts';

export const slice = (namespace: string, name: string, service: string, address = '10.0.0.1', extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'my-tool' }, ...extra },
  addressType: 'IPv4',
  endpoints: [{ addresses: [address] }],
  ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
});
export const service = (namespace: string, name: string, selector?: Record<string, string>) => ({
  metadata: { name, namespace }, spec: { ...(selector ? { selector } : {}), ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
});

/** A small cluster: clean objects, a slice for a missing Service, loopback addresses (errors), labelled namespaces. */
export function populate(api: FakeApiserver): void {
  api.add('namespaces', { metadata: { name: 'shop' } });
  api.add('namespaces', { metadata: { name: 'legacy', labels: { 'endpoint-guard.io/mode': 'off' } } });
  api.add('namespaces', { metadata: { name: 'trial', labels: { 'endpoint-guard.io/mode': 'bogus' } } });
  api.add('services', service('shop', 'manual'));
  api.add('services', service('shop', 'web', { app: 'web' }));
  api.add('services', service('legacy', 'old'));
  api.add('endpointslices', slice('shop', 'manual-1', 'manual'));
  api.add('endpointslices', slice('shop', 'orphan-1', 'gone'));
  api.add('endpointslices', slice('shop', 'manual-2', 'manual', '127.0.0.1'));
  api.add('endpointslices', slice('legacy', 'old-1', 'old', '127.0.0.1'));
  // Written by the EndpointSlice controller: the webhooks exempt it, so audit does not check it.
  api.add('endpointslices', {
    ...slice('shop', 'web-x7k2p', 'web', '127.0.0.1'),
    metadata: {
      name: 'web-x7k2p', namespace: 'shop',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'discovery.k8s.io/v1' }],
    },
  });
  api.add('endpoints', {
    metadata: { name: 'manual', namespace: 'shop' },
    subsets: [{ addresses: [{ ip: '10.0.0.2' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  });
}
