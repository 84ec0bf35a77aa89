// The fake apiserver against the clients that will talk to it: client-node's own informer
// (list, then watch; reconnect after a dropped watch; relist after 410 Gone), and plain requests.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoreV1Api, type KubeConfig, type V1Namespace, type V1Service, Watch, makeInformer } from '@kubernetes/client-node';
import { startFakeApiserver } from './helpers/fake-apiserver.ts';
import { httpsRequest, replyJson } from './helpers/https.ts';
import { withDeadline } from './helpers/cli.ts';
import { eventually } from './helpers/eventually.ts';

function namespaceInformer(kc: KubeConfig) {
  const api = kc.makeApiClient(CoreV1Api);
  return makeInformer<V1Namespace>(kc, '/api/v1/namespaces', () => api.listNamespace());
}

describe('fake apiserver', { timeout: 30_000 }, () => {
  test('a client-node informer lists, sees pushed events, survives a dropped watch and relists after 410', async (t) => {
    const api = await startFakeApiserver(t);
    api.add('namespaces', { metadata: { name: 'team-a', labels: { 'endpoint-guard.io/mode': 'off' } } });
    const informer = namespaceInformer(api.kubeConfig());
    const seen: string[] = [];
    informer.on('add', (ns) => seen.push(`add ${ns.metadata?.name}`));
    informer.on('update', (ns) => seen.push(`update ${ns.metadata?.name}`));
    informer.on('delete', (ns) => seen.push(`delete ${ns.metadata?.name}`));
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    t.after(() => informer.stop());

    await informer.start();
    assert.deepEqual(seen, ['add team-a']);
    assert.equal(informer.get('team-a')?.metadata?.labels?.['endpoint-guard.io/mode'], 'off');
    await eventually(() => api.openWatches() === 1, 5_000, 'the watch opens');

    api.add('namespaces', { metadata: { name: 'team-b' } });
    api.modify('namespaces', { metadata: { name: 'team-a', labels: { 'endpoint-guard.io/mode': 'enforce' } } });
    await eventually(() => seen.length === 3, 5_000, 'pushed events arrive');
    assert.deepEqual(seen.slice(1), ['add team-b', 'update team-a']);

    // A dropped watch: the informer resumes from its resourceVersion; what happened meanwhile is replayed.
    const watchesBefore = api.requestsFor('namespaces').filter((r) => r.query.watch === 'true').length;
    api.dropWatches();
    api.remove('namespaces', { metadata: { name: 'team-b' } });
    await eventually(() => seen.includes('delete team-b'), 10_000, 'the event sent while the watch was down');
    const resumed = api.requestsFor('namespaces').filter((r) => r.query.watch === 'true');
    assert.equal(resumed.length, watchesBefore + 1);
    assert.notEqual(resumed.at(-1)?.query.resourceVersion, '');

    // 410 Gone: the history is compacted, the watch dropped; the informer lists again from scratch.
    const listsBefore = api.requestsFor('namespaces').filter((r) => r.query.watch === undefined).length;
    api.compact();
    api.dropWatches();
    await eventually(() => api.requestsFor('namespaces').filter((r) => r.query.watch === undefined).length === listsBefore + 1, 10_000, 'a relist after 410');
    await eventually(() => api.openWatches() === 1, 10_000, 'the watch opens again');
    api.add('namespaces', { metadata: { name: 'team-c' } });
    await eventually(() => seen.includes('add team-c'), 5_000, 'events after the relist');
    assert.deepEqual(informer.list().map((ns) => ns.metadata?.name).sort(), ['team-a', 'team-c']);
    assert.deepEqual(errors, []);
  });

  test('a Service informer over all namespaces', async (t) => {
    const api = await startFakeApiserver(t);
    api.add('services', { metadata: { name: 'web', namespace: 'shop' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } });
    const kc = api.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    t.after(() => informer.stop());
    await informer.start();
    assert.equal(informer.get('web', 'shop')?.spec?.ports?.[0]?.name, 'http');
    api.add('services', { metadata: { name: 'db', namespace: 'shop' }, spec: {} });
    await eventually(() => informer.get('db', 'shop') !== undefined, 5_000, 'the new Service');
  });

  test('a raw watch: current state first without a resourceVersion, bookmarks when allowed, namespaced', async (t) => {
    const api = await startFakeApiserver(t);
    api.add('endpointslices', { metadata: { name: 'web-1', namespace: 'shop' }, addressType: 'IPv4', endpoints: [] });
    api.add('endpointslices', { metadata: { name: 'other', namespace: 'elsewhere' }, addressType: 'IPv4', endpoints: [] });
    const events: string[] = [];
    const ended = Promise.withResolvers<unknown>();
    const controller = await new Watch(api.kubeConfig()).watch('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', { allowWatchBookmarks: true },
      (type, object: { metadata: { name?: string; resourceVersion: string } }) => events.push(`${type} ${object.metadata.name ?? object.metadata.resourceVersion}`),
      (err) => ended.resolve(err));
    t.after(() => controller.abort());
    await eventually(() => events.length === 1, 5_000, 'the synthetic ADDED');
    api.bookmark();
    api.add('endpointslices', { metadata: { name: 'web-2', namespace: 'shop' }, addressType: 'IPv4', endpoints: [] });
    await eventually(() => events.length === 3, 5_000, 'a bookmark and an event');
    assert.deepEqual(events, ['ADDED web-1', `BOOKMARK ${Number(api.resourceVersion()) - 1}`, 'ADDED web-2']);
    api.dropWatches();
    assert.equal(await withDeadline(ended.promise, 5_000, 'the watch ends'), null);
  });

  test('lists page with limit/continue, expire a token on demand, and need the token', async (t) => {
    const api = await startFakeApiserver(t);
    for (let i = 0; i < 5; i++) api.add('endpoints', { metadata: { name: `e${i}`, namespace: i < 3 ? 'a' : 'b' } });
    const get = async (path: string, token = api.token) =>
      httpsRequest(api.url + path, { ca: api.ca, headers: { authorization: `Bearer ${token}` } });

    const first = await get('/api/v1/endpoints?limit=2');
    const page = replyJson(first) as { kind: string; metadata: { continue?: string; resourceVersion: string }; items: { metadata: { name: string } }[] };
    assert.equal(page.kind, 'EndpointsList');
    assert.deepEqual(page.items.map((i) => i.metadata.name), ['e0', 'e1']);
    assert.equal(typeof page.metadata.continue, 'string');
    const second = replyJson(await get(`/api/v1/endpoints?limit=2&continue=${page.metadata.continue}`)) as typeof page;
    assert.deepEqual(second.items.map((i) => i.metadata.name), ['e2', 'e3']);

    api.expireContinue('endpoints');
    const gone = await get(`/api/v1/endpoints?limit=2&continue=${second.metadata.continue}`);
    assert.equal(gone.status, 410);
    assert.deepEqual(
      [(replyJson(gone) as Record<string, unknown>).reason, (replyJson(gone) as Record<string, unknown>).code],
      ['Expired', 410],
    );

    const namespaced = replyJson(await get('/api/v1/namespaces/b/endpoints')) as typeof page;
    assert.deepEqual(namespaced.items.map((i) => i.metadata.name), ['e3', 'e4']);
    assert.equal((await get('/api/v1/endpoints', 'wrong')).status, 401);
    assert.deepEqual(api.requests.slice(0, 2).map((r) => r.query), [{ limit: '2' }, { limit: '2', continue: page.metadata.continue }]);
  });

  test('single objects: 404, create, 409 on a stale resourceVersion, a watch from a compacted version as HTTP 410', async (t) => {
    const api = await startFakeApiserver(t, { goneAs: 'http' });
    const call = (method: string, path: string, body?: unknown) => httpsRequest(api.url + path, {
      ca: api.ca, method, headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const base = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
    assert.equal((await call('GET', `${base}/guard`)).status, 404);
    const created = await call('POST', base, { metadata: { name: 'guard' }, webhooks: [] });
    assert.equal(created.status, 201);
    const rv = (replyJson(created) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    assert.equal((await call('PUT', `${base}/guard`, { metadata: { name: 'guard', resourceVersion: rv }, webhooks: [] })).status, 200);
    const stale = await call('PUT', `${base}/guard`, { metadata: { name: 'guard', resourceVersion: rv }, webhooks: [] });
    assert.equal(stale.status, 409);
    assert.match((replyJson(stale) as { message: string }).message, /has been modified/);

    api.compact();
    const watch = await withDeadline(call('GET', `/api/v1/namespaces?watch=true&resourceVersion=${rv}`), 5_000, 'watch');
    assert.equal(watch.status, 410);
  });
});
