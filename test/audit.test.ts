// `endpoint-guard audit` against the fake apiserver: paging, an expired continue token, a slow
// list, an unreachable server, a bad kubeconfig, one namespace, text and JSON, the exit codes,
// the Service rules, the namespace mode labels and the progress bar.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { progressBar } from '../src/cluster/audit-command.ts';
import { populate, service, slice } from './helpers/audit-cluster.ts';
import { type FakeApiserver, startFakeApiserver } from './helpers/fake-apiserver.ts';
import { runCli } from './helpers/lint.ts';
import { tempDir } from './helpers/temp.ts';

async function setup(t: TestContext) {
  const api = await startFakeApiserver(t);
  const dir = await tempDir(t);
  const kubeconfig = await api.writeKubeconfig(dir);
  return { api, dir, kubeconfig, audit: (...args: string[]) => runCli(['audit', '--kubeconfig', kubeconfig, ...args]) };
}

describe('endpoint-guard audit', { timeout: 60_000 }, () => {
  test('reports findings per object, rule and namespace, the mode labels, and exits 1 for what enforce would reject', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit();
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, '');
    const out = run.stdout;
    assert.match(out, /^EndpointSlice shop\/orphan-1 {2}warning {2}service-exists {2}metadata\.labels\[kubernetes\.io\/service-name\]: .*no Service of this name here/m,
      'the Service rules run with the cluster\'s Services');
    assert.match(out, /^EndpointSlice shop\/manual-2 {2}error {4}address {2}endpoints\[0\]\.addresses\[0\]: .*"127\.0\.0\.1".*loopback/m);
    assert.match(out, /^EndpointSlice legacy\/old-1 {2}error {4}address {2}/m);
    assert.doesNotMatch(out, /web-x7k2p/, 'the controller\'s slice is not checked');
    assert.doesNotMatch(out, /manual-1/, 'a clean slice has no lines');
    assert.match(out, /^findings by rule:\n {2}address {15}2 errors\n/m);
    assert.match(out, /^ {2}service-exists {8}1 warning$/m);
    assert.match(out, /^ {2}legacy {2}1 error; labelled endpoint-guard\.io\/mode=off: enforce would not reject its 1 object with errors$/m);
    assert.match(out, /^ {2}shop {4}1 error, 3 warnings; enforce would reject 1 object$/m);
    assert.match(out, /^ {2}legacy {2}off: enforce mode does not reject here$/m);
    assert.match(out, /^ {2}trial {3}"bogus" is not a mode \(off, complain or enforce\): the global mode applies; fix the label$/m);
    assert.match(out, /^checked 1 Endpoints and 4 EndpointSlices in 3 namespaces against 3 Services \(Kubernetes 1\.36 rules\); 1 object written by the control plane not checked/m);
    assert.match(out, /enforce would reject 1 object: fix the errors .* before switching to enforce \(exit 1\)\n$/);
  });

  test("docs/audit.md's sample report is what audit prints for that cluster", async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const page = await readFile(new URL('../docs/audit.md', import.meta.url), 'utf8');
    const sample = /\n\$ endpoint-guard audit\n([\s\S]*?)```/.exec(page)?.[1];
    assert.ok(sample, 'docs/audit.md has a sample audit report');
    assert.equal((await audit()).stdout, sample);
  });

  test('exits 0 when enforce would reject nothing, and says so', async (t) => {
    const { api, audit } = await setup(t);
    api.add('namespaces', { metadata: { name: 'shop' } });
    api.add('services', service('shop', 'manual'));
    api.add('endpointslices', slice('shop', 'manual-1', 'manual'));
    const run = await audit();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^no namespace carries the endpoint-guard\.io\/mode label: enforce applies everywhere$/m);
    assert.match(run.stdout, /enforce would reject nothing\n$/);
  });

  test('pages with limit and continue, in every listing', async (t) => {
    const { api, audit } = await setup(t);
    api.add('namespaces', { metadata: { name: 'big' } });
    for (let i = 0; i < 1203; i++) api.add('endpointslices', slice('big', `s-${String(i).padStart(4, '0')}`, 'none'));
    const run = await audit('--format', 'json');
    const report = JSON.parse(run.stdout) as { summary: { endpointSlices: number; warnings: number } };
    assert.equal(report.summary.endpointSlices, 1203);
    const pages = api.requestsFor('endpointslices');
    assert.deepEqual(pages.map((r) => r.path), Array(3).fill('/apis/discovery.k8s.io/v1/endpointslices'));
    assert.deepEqual(pages.map((r) => r.query.limit), ['500', '500', '500']);
    assert.equal(pages[0]?.query.continue, undefined);
    assert.ok(pages[1]?.query.continue && pages[2]?.query.continue && pages[1].query.continue !== pages[2].query.continue);
    for (const resource of ['namespaces', 'services', 'endpoints'] as const) assert.equal(api.requestsFor(resource)[0]?.query.limit, '500');
  });

  test('checks each object as its page arrives and keeps only the findings: many namespaces, one of them on its own', async (t) => {
    const { api, audit } = await setup(t);
    for (const ns of ['a', 'b', 'c']) {
      api.add('namespaces', { metadata: { name: ns } });
      api.add('services', service(ns, 'web'));
    }
    // 1,203 slices made page by page by the server, every 100th with a loopback address.
    const name = (i: number) => `web-${String(i).padStart(4, '0')}`;
    const namespaceOf = (i: number) => (i < 400 ? 'a' : i < 800 ? 'b' : 'c');
    api.generate('endpointslices', { count: 1203, make: (i) => slice(namespaceOf(i), name(i), 'web', i % 100 === 0 ? '127.0.0.1' : '10.0.0.1') });
    const run = await audit('--format', 'json');
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as { summary: Record<string, number>; findings: { object: { namespace: string; name: string } }[]; byNamespace: Record<string, unknown> };
    assert.partialDeepStrictEqual(report.summary, { endpointSlices: 1203, errors: 13, warnings: 0, rejected: 13 });
    assert.deepEqual(report.findings.map((f) => `${f.object.namespace}/${f.object.name}`),
      Array.from({ length: 13 }, (_, k) => `${namespaceOf(k * 100)}/${name(k * 100)}`));
    assert.equal(api.requestsFor('endpointslices').length, 3);
    const one = JSON.parse((await audit('--namespace', 'b', '--format', 'json')).stdout) as typeof report;
    assert.partialDeepStrictEqual(one.summary, { endpointSlices: 400, errors: 4 });
    assert.deepEqual(Object.keys(one.byNamespace), ['b']);
  });

  test('a list cut off mid-body stops the audit with exit 2, naming the request, never with a partial report', async (t) => {
    const { api, audit } = await setup(t);
    api.add('namespaces', { metadata: { name: 'a' } });
    for (let i = 0; i < 50; i++) api.add('endpointslices', slice('a', `s-${i}`, 'none'));
    api.cutNextList('endpointslices');
    const run = await audit();
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^endpoint-guard audit: listing EndpointSlices failed: the connection broke while the answer to GET \/apis\/discovery\.k8s\.io\/v1\/endpointslices\?limit=500 arrived \(other side closed\); retry, or audit one namespace at a time with --namespace$/m);
  });

  test('restarts a listing once when its continue token expires (410), and says so', async (t) => {
    const { api, audit } = await setup(t);
    for (let i = 0; i < 1100; i++) api.add('endpoints', { metadata: { name: `e${i}`, namespace: 'a' }, subsets: [] });
    api.expireContinue('endpoints');
    const run = await audit('--format', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^endpoint-guard audit: the apiserver expired the continue token while listing Endpoints \(410 Gone: listing took too long\); listed them again from the start$/m);
    const report = JSON.parse(run.stdout) as { summary: { endpoints: number }; notes: string[] };
    assert.equal(report.summary.endpoints, 1100, 'each object once, after the restart');
    assert.equal(report.notes.length, 1);
    assert.deepEqual(api.requestsFor('endpoints').map((r) => r.query.continue === undefined), [true, false, true, false, false]);
  });

  test('gives up after a second expiry, with exit 2 and what to do', async (t) => {
    const { api, audit } = await setup(t);
    for (let i = 0; i < 600; i++) api.add('endpoints', { metadata: { name: `e${i}`, namespace: 'a' }, subsets: [] });
    api.expireContinue('endpoints', 2);
    const run = await audit();
    assert.equal(run.code, 2);
    assert.match(run.stderr, /listing Endpoints failed: .*HTTP 410: The provided continue parameter is too old.* \(after one restart\); retry when the cluster is less busy$/m);
  });

  test('a slow list times out with a clear message and exit 2', async (t) => {
    const { api, audit } = await setup(t);
    api.delayLists('services', 2_000);
    const run = await audit('--request-timeout', '0.2');
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^endpoint-guard audit: listing Services timed out: the apiserver did not answer GET \/api\/v1\/services\?limit=500 within 0\.2 s; retry, audit one namespace at a time with --namespace, or allow more time with --request-timeout$/m);
  });

  test('an unreachable apiserver: exit 2, naming the server', async (t) => {
    const { api, audit } = await setup(t);
    await api.close();
    const run = await audit();
    assert.equal(run.code, 2);
    assert.match(run.stderr, new RegExp(`^endpoint-guard audit: cannot reach the apiserver to list Namespaces: GET ${api.url.replace(/\./g, '\\.')}/api/v1/namespaces\\?limit=500 failed: .*check the kubeconfig's server`, 'm'));
  });

  test('refused credentials and a missing permission say what to do', async (t) => {
    const { api, dir } = await setup(t);
    const wrong = join(dir, 'wrong');
    await writeFile(wrong, (await readFile(join(dir, 'kubeconfig'), 'utf8')).replace(api.token, 'nope'));
    const refused = await runCli(['audit', '--kubeconfig', wrong]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refused the kubeconfig's credentials \(401\) when listing Namespaces; log in again or pass another --kubeconfig/);
    api.failNext('GET', '/api/v1/services', 403, 'Forbidden', 'services is forbidden: User "alice" cannot list resource "services"');
    const forbidden = await runCli(['audit', '--kubeconfig', join(dir, 'kubeconfig')]);
    assert.equal(forbidden.code, 2);
    assert.match(forbidden.stderr, /not allowed to list Services \(403\): .*cannot list resource "services"; audit needs get and list on namespaces, services, endpoints and endpointslices/);
  });

  test('a bad kubeconfig, and usage errors, exit 2 without touching the cluster', async (t) => {
    const { api, dir, audit } = await setup(t);
    const missing = await runCli(['audit', '--kubeconfig', join(dir, 'nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^endpoint-guard audit: cannot load kubeconfig .*nope: ENOENT: no such file or directory, open '.*nope'$/m);
    await writeFile(join(dir, 'empty'), 'apiVersion: v1\nkind: Config\n');
    const empty = await runCli(['audit', '--kubeconfig', join(dir, 'empty')]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /has no current cluster; set current-context, or pass --kubeconfig FILE/);
    assert.match((await audit('--format', 'yaml')).stderr, /^endpoint-guard audit: --format must be text or json, not "yaml"; run 'endpoint-guard audit --help'$/m);
    assert.match((await audit('--request-timeout', '0')).stderr, /--request-timeout must be a number of seconds above 0/);
    assert.match((await audit('--namespace', 'Bad_Name')).stderr, /--namespace "Bad_Name" is not a namespace name/);
    assert.deepEqual(api.requests, []);
  });

  test('--namespace lists that namespace only, and reads its mode label', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--namespace', 'legacy', '--format', 'json');
    assert.equal(run.code, 0, 'the only error is in a namespace labelled off');
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { summary: Record<string, unknown> };
    assert.partialDeepStrictEqual(report.summary, { namespaces: 1, services: 1, endpointSlices: 1, errors: 1, rejected: 0, sparedByNamespaceLabel: 1, exitCode: 0 });
    assert.deepEqual(report.namespaceModes, [{ name: 'legacy', mode: 'off', invalidLabel: null }]);
    assert.deepEqual([...new Set(api.requests.map((r) => r.path))], [
      '/api/v1/namespaces/legacy', '/api/v1/namespaces/legacy/services', '/api/v1/namespaces/legacy/endpoints',
      '/apis/discovery.k8s.io/v1/namespaces/legacy/endpointslices',
    ]);
    const missing = await audit('--namespace', 'nowhere');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /namespace nowhere: not found \(404\)/);
  });

  test('json: the summary, per rule and per namespace, the findings and the rejected objects', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--format', 'json');
    assert.equal(run.code, 1);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & {
      summary: Record<string, unknown>; byRule: Record<string, unknown>; findings: { rule: string; object: { name: string } }[];
    };
    assert.equal(report.schemaVersion, 1);
    assert.partialDeepStrictEqual(report.summary, {
      namespaces: 3, services: 3, endpoints: 1, endpointSlices: 4, controlPlane: { endpoints: 0, endpointSlices: 1 }, rejected: 1, sparedByNamespaceLabel: 1, exitCode: 1,
    });
    assert.deepEqual(report.byRule.address, { errors: 2, warnings: 0 });
    assert.deepEqual(report.byRule['service-exists'], { errors: 0, warnings: 1 });
    assert.ok(report.findings.some((f) => f.rule === 'service-exists' && f.object.name === 'orphan-1'));
    assert.deepEqual(report.rejected, [{ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespace: 'shop', name: 'manual-2', generateName: null }]);
    assert.deepEqual(report.namespaceModes, [
      { name: 'legacy', mode: 'off', invalidLabel: null }, { name: 'trial', mode: null, invalidLabel: 'bogus' },
    ]);
  });

  test('a progress bar on a terminal only, redrawn in place on stderr', async (t) => {
    const { api, audit } = await setup(t);
    for (let i = 0; i < 1001; i++) api.add('endpoints', { metadata: { name: `e${i}`, namespace: 'a' }, subsets: [] });
    const piped = await audit();
    assert.equal(piped.stderr, '', 'no progress in a pipe');
    const tty = await runCli(['audit', '--kubeconfig', (await setupKubeconfig(t, api))], { tty: true });
    assert.match(tty.stderr, /^Endpoints {6}\[#{12}\.{12}\] 500\/1001$/m);
    assert.match(tty.stderr, /^\u001b\[1A\u001b\[2KEndpoints {6}listed 1001$/m);
    assert.doesNotMatch(tty.stdout, /\u001b/);
    const lines: string[] = [];
    const bar = progressBar({ env: {}, stdout: () => {}, stderr: (line) => lines.push(line) }, 10);
    bar.page('services', 3, 1);
    bar.page('services', 4, undefined);
    bar.page('endpoints', 1, undefined);
    assert.deepEqual(lines, ['Services       [########..] 3/4', '\u001b[1A\u001b[2KServices       listed 4', 'Endpoints      listed 1']);
  });
});

async function setupKubeconfig(t: TestContext, api: FakeApiserver): Promise<string> {
  return api.writeKubeconfig(await tempDir(t));
}
