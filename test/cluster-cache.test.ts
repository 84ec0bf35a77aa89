// serve with cluster access, against a fake apiserver over verified HTTPS: readiness waits for the
// Namespace and Service caches, namespace labels set the mode, the Service rules follow the
// cache, and an apiserver that fails or goes away never stops a review from being answered.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AdmissionResponse } from '../src/admission.ts';
import { startServing } from '../src/server/serve.ts';
import { startClusterCache } from '../src/cluster/cache.ts';
import { configSchema } from '../src/config.ts';
import { eventually } from './helpers/eventually.ts';
import { startFakeApiserver } from './helpers/fake-apiserver.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { httpsRequest, replyJson } from './helpers/https.ts';
import { captureLog } from './helpers/log.ts';
import { slice } from './helpers/objects.ts';
import { scrape, valueOf } from './helpers/prometheus.ts';
import { startTestServing } from './helpers/serving.ts';
import { tempDir } from './helpers/temp.ts';

/** A captured request carrying a slice for Service `web` in `namespace`, written by alice. */
function sliceReview(namespace: string, managedBy = 'team.example.com') {
  const fixture = readAdmissionFixture('create-endpointslice-v1.json');
  const object = slice({ metadata: { name: 'web-1', namespace, labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': managedBy } } });
  return { ...fixture, request: { ...(fixture.request as object), namespace, object, userInfo: { username: 'alice' } } };
}

const webService = (namespace: string) => ({ metadata: { name: 'web', namespace }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });

async function startWithCluster(t: Parameters<typeof startTestServing>[0], mode: 'complain' | 'enforce' = 'complain') {
  const api = await startFakeApiserver(t);
  const kubeconfig = await api.writeKubeconfig(await tempDir(t));
  const started = await startTestServing(t, { mode, kubeconfig }, {}, { clusterBackoffMs: 50 });
  const review = async (body: unknown) => (replyJson(await started.post('/validate', body)) as { response: AdmissionResponse }).response;
  const readyz = () => httpsRequest(`${started.serving.url}/readyz`, { ca: started.ca });
  return { api, ...started, review, readyz };
}

describe('serve with cluster access', { timeout: 60_000 }, () => {
  test('/readyz is 503 until both caches have listed, then 200', async (t) => {
    const api = await startFakeApiserver(t);
    api.delayLists('services', 1_500);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const { serving, ca, logs } = await startTestServing(t, { kubeconfig }, {}, { clusterBackoffMs: 50 });
    const first = await httpsRequest(`${serving.url}/readyz`, { ca });
    assert.deepEqual([first.status, first.text], [503, 'waiting for the Namespace and Service caches to sync']);
    await eventually(async () => (await httpsRequest(`${serving.url}/readyz`, { ca })).status === 200, 10_000, '/readyz turning 200');
    assert.ok(logs.lines.some((l) => l.msg === 'cluster cache synced' && l.resource === 'services'));
  });

  test('a namespace label overrides the global mode, and a label change applies without a restart', async (t) => {
    const { api, review, readyz } = await startWithCluster(t, 'complain');
    api.add('namespaces', { metadata: { name: 'payments', labels: { 'endpoint-guard.io/mode': 'enforce' } } });
    api.add('namespaces', { metadata: { name: 'sandbox' } });
    await eventually(async () => (await readyz()).status === 200, 10_000, 'sync');
    await eventually(async () => (await review(sliceReview('payments', 'endpointslice-controller.k8s.io'))).allowed === false, 5_000, 'payments enforcing');
    assert.equal((await review(sliceReview('sandbox', 'endpointslice-controller.k8s.io'))).allowed, true, 'the global mode (complain) elsewhere');

    api.modify('namespaces', { metadata: { name: 'payments', labels: { 'endpoint-guard.io/mode': 'off' } } });
    await eventually(async () => (await review(sliceReview('payments', 'endpointslice-controller.k8s.io'))).warnings === undefined, 5_000, 'payments off');
    const response = await review(sliceReview('payments', 'endpointslice-controller.k8s.io'));
    assert.deepEqual([response.allowed, response.auditAnnotations], [true, undefined]);
  });

  test('the Service rules follow the cache: a missing Service warns until it is created', async (t) => {
    const { api, review, readyz, serving } = await startWithCluster(t);
    await eventually(async () => (await readyz()).status === 200, 10_000, 'sync');
    const warned = async () => ((await review(sliceReview('shop'))).warnings ?? []).some((w) => w.startsWith('service-exists: '));
    assert.equal(await warned(), true);
    api.add('services', webService('shop'));
    await eventually(async () => !(await warned()), 5_000, 'the warning goes once the Service exists');
    api.modify('services', { ...webService('shop'), spec: { selector: { app: 'web' }, ports: [{ name: 'web', port: 80 }] } });
    await eventually(async () => {
      const warnings = (await review(sliceReview('shop'))).warnings ?? [];
      return warnings.some((w) => w.startsWith('service-selector: ')) && warnings.some((w) => w.startsWith('service-ports: ports[0].name: '));
    }, 5_000, 'selector and port warnings after the Service changed');
    const { samples } = await scrape(serving.metricsUrl ?? '');
    assert.equal(valueOf(samples, 'endpoint_guard_cluster_cache_synced', { resource: 'services' }), 1);
  });

  test('a dropped watch and a 410 Gone on resume: the cache relists and goes on following the cluster', async (t) => {
    const { api, review, readyz } = await startWithCluster(t);
    await eventually(async () => (await readyz()).status === 200, 10_000, 'sync');
    await eventually(() => api.openWatches() === 2, 5_000, 'both watches open');
    const warned = async (namespace: string) => ((await review(sliceReview(namespace))).warnings ?? []).some((w) => w.startsWith('service-exists: '));
    const lists = () => api.requestsFor('services').filter((r) => r.query.watch === undefined).length;
    const listsBefore = lists();

    api.dropWatches();
    api.add('services', webService('shop')); // while no watch is open: the resumed watch replays it
    await eventually(async () => !(await warned('shop')), 10_000, 'the Service added while the watch was down');

    api.compact();
    api.dropWatches();
    await eventually(() => lists() === listsBefore + 1, 10_000, 'a relist after 410 Gone');
    api.add('services', webService('books'));
    await eventually(async () => !(await warned('books')), 10_000, 'events after the relist');
  });

  test('a failing Service list: reviews are answered with the cluster-free rules, logged, counted and retried', async (t) => {
    const api = await startFakeApiserver(t);
    api.failNext('GET', '/api/v1/services', 500, 'InternalError', 'etcd is having a bad day', 3);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const { post, logs, serving, ca } = await startTestServing(t, { kubeconfig }, {}, { clusterBackoffMs: 50 });
    const reply = await post('/validate', sliceReview('shop'));
    const response = (replyJson(reply) as { response: AdmissionResponse }).response;
    assert.equal(response.allowed, true);
    assert.ok(!(response.warnings ?? []).some((w) => w.startsWith('service-')), 'no Service rule without a synced cache');
    await eventually(() => logs.lines.some((l) => String(l.msg).startsWith('cannot list services: answering with the cluster-free rules')), 5_000, 'the failure logged');
    await eventually(async () => (await httpsRequest(`${serving.url}/readyz`, { ca })).status === 200, 10_000, 'synced after the retries');
    const { samples } = await scrape(serving.metricsUrl ?? '');
    assert.equal(valueOf(samples, 'endpoint_guard_cluster_cache_failures_total', { resource: 'services' }), 3);
  });

  test('the apiserver going away after the sync: reviews still answered, Service rules off, namespace modes kept', async (t) => {
    const { api, review, readyz, logs } = await startWithCluster(t, 'complain');
    api.add('namespaces', { metadata: { name: 'payments', labels: { 'endpoint-guard.io/mode': 'enforce' } } });
    await eventually(async () => (await readyz()).status === 200, 10_000, 'sync');
    await eventually(async () => (await review(sliceReview('payments'))).warnings?.some((w) => w.startsWith('service-exists')) === true, 5_000, 'cache in use');
    await api.close();
    await eventually(() => logs.lines.some((l) => String(l.msg).startsWith('cannot watch services')), 10_000, 'the lost watch logged');
    const response = await review(sliceReview('payments', 'endpointslice-controller.k8s.io'));
    assert.equal(response.allowed, false, 'the last known namespace mode (enforce) still applies');
    assert.ok(!(response.warnings ?? []).some((w) => w.startsWith('service-exists')), 'no Service rule from a stale cache');
    assert.equal((await readyz()).status, 200, 'still ready: the webhook answers without the apiserver');
  });

  test('a kubeconfig that cannot be read stops serve with a message naming it', async (t) => {
    const dir = await tempDir(t);
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [}\n');
    const config = { ...configSchema.parse({}), kubeconfig, certDir: join(dir, 'certs'), port: 0, metricsPort: 0, certReloadSeconds: 0 };
    const started = await startServing(config, captureLog().log, { env: {} });
    assert.equal(started.ok, false);
    assert.match(started.ok ? '' : started.message, new RegExp(`^cannot load kubeconfig ${kubeconfig.replace(/[/.]/g, '\\$&')}: `));
  });

  test('a list the RBAC forbids: the log says which permission is missing', async (t) => {
    const api = await startFakeApiserver(t);
    api.failNext('GET', '/api/v1/namespaces', 403, 'Forbidden', 'namespaces is forbidden: User "system:serviceaccount:endpoint-guard:endpoint-guard" cannot list resource "namespaces"', 1);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const { logs } = await startTestServing(t, { kubeconfig }, {}, { clusterBackoffMs: 50 });
    await eventually(() => logs.lines.some((l) => l.status === 403), 5_000, 'the 403 logged');
    const line = logs.lines.find((l) => l.status === 403);
    assert.equal(line?.fix, 'give this service account get, list and watch on namespaces (deploy/base has the ClusterRole)');
    assert.match(String(line?.err), /cannot list resource "namespaces"/);
  });

  test('stop() while a list is still running leaves no watch open behind it', async (t) => {
    const api = await startFakeApiserver(t);
    api.delayLists('namespaces', 300);
    api.delayLists('services', 300);
    const cache = startClusterCache({ kc: api.kubeConfig(), log: captureLog().log });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await cache.stop();
    await new Promise((resolve) => setTimeout(resolve, 700)); // the lists answer; no watch may follow
    assert.equal(api.openWatches(), 0);
  });
});
