// `endpoint-guard manifests`: the registrations it prints agree with deploy/ (the same exemptions,
// rules and policies; only the caBundle added), pass the Kubernetes schemas of every release they
// are made for, and --apply creates, updates and leaves alone as it should against the fake apiserver.
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { generateCertificates, writeCertificates } from '../src/server/tls.ts';
import { startFakeApiserver } from './helpers/fake-apiserver.ts';
import { runCli } from './helpers/lint.ts';
import { type Manifest, kustomizeBuild, renderDocsOverlay, schemaProblems, schemaProblemsFor } from './helpers/manifests.ts';
import { tempDir } from './helpers/temp.ts';

type Hook = Record<string, unknown> & { failurePolicy: string; clientConfig: Record<string, unknown> & { caBundle?: string } };
type Registration = Manifest & { webhooks: Hook[] };

async function certDir(t: TestContext): Promise<{ dir: string; ca: string }> {
  const dir = join(await tempDir(t), 'certs');
  const pems = await generateCertificates('endpoint-guard/endpoint-guard');
  const written = await writeCertificates(dir, pems, false);
  assert.ok(written.ok);
  return { dir, ca: pems.ca };
}

// kubectl reads YAML 1.1, where a bare off, on, yes or no is a boolean: read the output as it does.
const parse = (text: string): Registration[] => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as Registration);
const byKind = (docs: readonly Registration[], kind: string): Registration => docs.find((d) => d.kind === kind) ?? assert.fail(`no ${kind}`);
const withoutCaBundle = (r: Registration): Registration =>
  ({ ...r, webhooks: r.webhooks.map((h) => ({ ...h, clientConfig: { ...h.clientConfig, caBundle: undefined } })) });

describe('endpoint-guard manifests', { timeout: 60_000 }, () => {
  for (const mode of ['complain', 'enforce'] as const) {
    test(`${mode}: the same registrations as deploy/overlays/${mode}, plus the caBundle of ca.crt`, async (t) => {
      const { dir, ca } = await certDir(t);
      const run = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--mode', mode, '--cert-dir', dir]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, 'endpoint-guard manifests: the apiserver will call https://endpoint-guard.endpoint-guard.svc:443/validate ' +
        '(validating) and https://endpoint-guard.endpoint-guard.svc:443/mutate (mutating)\n');
      assert.match(run.stdout, /\n---\n/);
      const docs = parse(run.stdout);
      assert.deepEqual(docs.map((d) => d.kind), ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
      assert.deepEqual(docs.flatMap(schemaProblems), []);
      const caBundle = Buffer.from(await readFile(join(dir, 'ca.crt'))).toString('base64');
      for (const doc of docs) assert.equal(doc.webhooks[0]?.clientConfig.caBundle, caBundle);
      assert.equal(byKind(docs, 'ValidatingWebhookConfiguration').webhooks[0]?.failurePolicy, mode === 'enforce' ? 'Fail' : 'Ignore');
      assert.equal(byKind(docs, 'MutatingWebhookConfiguration').webhooks[0]?.failurePolicy, 'Ignore');

      // deploy/ and the generator agree on everything but the caBundle: exemptions (matchConditions),
      // rules, timeouts, policies, the Service and its paths.
      const deployed = kustomizeBuild(`deploy/overlays/${mode}`) as Registration[];
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        assert.deepEqual(JSON.parse(JSON.stringify(withoutCaBundle(byKind(docs, kind)))), byKind(deployed, kind), kind);
      }
    });
  }

  test('--url takes a base URL or the URL of one route, and says what the apiserver will call', async (t) => {
    const { dir } = await certDir(t);
    const cases: [string, string][] = [
      ['https://webhook.example.com:8443', 'https://webhook.example.com:8443'],
      ['https://webhook.example.com:8443/', 'https://webhook.example.com:8443'],
      ['https://webhook.example.com:8443/validate', 'https://webhook.example.com:8443'],
      ['https://webhook.example.com:8443/mutate/', 'https://webhook.example.com:8443'],
      ['https://hooks.example.com/endpoint-guard/validate', 'https://hooks.example.com/endpoint-guard'],
      ['https://hooks.example.com/validate-endpoints', 'https://hooks.example.com/validate-endpoints'],
    ];
    for (const [url, base] of cases) {
      const run = await runCli(['manifests', '--url', url, '--cert-dir', dir]);
      assert.equal(run.code, 0, run.stderr);
      const docs = parse(run.stdout);
      assert.equal(byKind(docs, 'ValidatingWebhookConfiguration').webhooks[0]?.clientConfig.url, `${base}/validate`, url);
      assert.equal(byKind(docs, 'MutatingWebhookConfiguration').webhooks[0]?.clientConfig.url, `${base}/mutate`, url);
      assert.equal(byKind(docs, 'MutatingWebhookConfiguration').webhooks[0]?.clientConfig.service, undefined);
      assert.equal(run.stderr, `endpoint-guard manifests: the apiserver will call ${base}/validate (validating) and ${base}/mutate (mutating)\n`);
      assert.deepEqual(docs.flatMap(schemaProblems), []);
    }
  });

  test('below Kubernetes 1.28 the registrations leave out matchConditions, say so, and pass that release\'s schema', async (t) => {
    const { dir } = await certDir(t);
    for (let minor = 24; minor <= 36; minor++) {
      const run = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--kubernetes-version', `1.${minor}`, '--cert-dir', dir]);
      assert.equal(run.code, 0, run.stderr);
      const docs = parse(run.stdout);
      const hooks = docs.flatMap((d) => d.webhooks);
      assert.equal(hooks.length, 2);
      assert.ok(hooks.every((h) => (h.matchConditions !== undefined) === (minor >= 28)), `1.${minor}`);
      assert.deepEqual(docs.flatMap((d) => schemaProblemsFor(d, minor)), [], `1.${minor}`);
      assert.equal(/does not apply matchConditions/.test(run.stderr), minor < 28, run.stderr);
    }
    const old = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--kubernetes-version', '1.27', '--cert-dir', dir]);
    assert.match(old.stderr, /endpoint-guard manifests: Kubernetes 1\.27 does not apply matchConditions \(1\.28 and later do\): the registrations leave them out, so the apiserver also calls the webhook for the control plane's writers, and the server exempts them itself \(exemptUsers\)/);

    // What they leave out is what an older apiserver refuses: the 1.36 registrations fail its schema.
    const current = parse((await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--cert-dir', dir])).stdout);
    assert.deepEqual(current.flatMap((d) => schemaProblemsFor(d, 24)).map((p) => p.replace(/^\S+ /, '')), [
      '/webhooks/0 must NOT have additional properties "matchConditions"',
      '/webhooks/0 must NOT have additional properties "matchConditions"',
    ]);
  });

  test('deploy/components/before-1.28 with an overlay gives the registrations manifests makes for 1.27, as docs/deploying.md shows', async (t) => {
    const deployed = await renderDocsOverlay(t, 'docs/deploying.md', 'kustomization.yaml, for Kubernetes 1.24 to 1.27', 'before-1.28') as Registration[];
    assert.deepEqual(deployed.flatMap((d) => (d.kind.endsWith('WebhookConfiguration') ? schemaProblemsFor(d, 24) : schemaProblems(d))), []);

    const { dir } = await certDir(t);
    const run = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--kubernetes-version', '1.27', '--cert-dir', dir]);
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      assert.deepEqual(JSON.parse(JSON.stringify(withoutCaBundle(byKind(parse(run.stdout), kind)))), byKind(deployed, kind), kind);
    }
  });

  test('without ca.crt, tls.crt is the caBundle, with a note on stderr; without either, exit 2 and what to do', async (t) => {
    const dir = await tempDir(t);
    const pems = await generateCertificates('endpoint-guard/endpoint-guard');
    await writeFile(join(dir, 'tls.crt'), pems.cert);
    const run = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--cert-dir', dir]);
    assert.equal(run.code, 0);
    assert.equal(parse(run.stdout)[0]?.webhooks[0]?.clientConfig.caBundle, Buffer.from(pems.cert).toString('base64'));
    assert.match(run.stderr, /^endpoint-guard manifests: no .*ca\.crt: using .*tls\.crt as the caBundle, which only works while that certificate is self-signed/);

    const empty = join(dir, 'empty');
    await mkdir(empty);
    const none = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--cert-dir', empty]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /neither .*ca\.crt nor .*tls\.crt exists: run 'endpoint-guard certs --out .*', or point --cert-dir at your certificates/);
    await writeFile(join(empty, 'ca.crt'), 'not a certificate');
    const bad = await runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--cert-dir', empty]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ca\.crt is not a PEM certificate/);
  });

  test('usage errors say what to give', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give exactly one of --service NAMESPACE\/NAME and --url URL/],
      [['--service', 'a/b', '--url', 'https://x'], /give exactly one of/],
      [['--service', 'nope'], /--service "nope": must be NAMESPACE\/NAME/],
      [['--url', 'http://x/'], /the apiserver only calls https:\/\/ URLs/],
      [['--url', 'https://x/?q=1'], /without user, query or fragment/],
      [['--service', 'a/b', '--mode', 'off'], /--mode must be complain or enforce, not "off"/],
      [['--service', 'a/b', '--kubernetes-version', '1.23'], /config: kubernetesVersion \(from --kubernetes-version\): must be a Kubernetes version from 1\.24 to 1\.36/],
      [['--as', 'crd'], /--as must be webhook or policies, not "crd"/],
      [['--as', 'policies', '--service', 'a/b'], /--service is for the webhook registrations; admission policies run in the apiserver and need no address or certificate/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['manifests', ...args]);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, message);
      assert.match(run.stderr, /run 'endpoint-guard manifests --help'$/m);
    }
  });

  test('--apply creates both, updates what changed (keeping others\' annotations), then leaves them unchanged', async (t) => {
    const api = await startFakeApiserver(t);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const { dir } = await certDir(t);
    const apply = (mode: string) => runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--mode', mode, '--cert-dir', dir, '--apply', '--kubeconfig', kubeconfig]);

    const created = await apply('complain');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'mutatingwebhookconfiguration/endpoint-guard created\nvalidatingwebhookconfiguration/endpoint-guard created\n');
    assert.equal((api.get('validatingwebhookconfigurations', 'endpoint-guard') as unknown as Registration).webhooks[0]?.failurePolicy, 'Ignore');

    // Someone else's annotation (cert-manager's CA injector) must survive an update.
    const stored = api.get('validatingwebhookconfigurations', 'endpoint-guard') ?? assert.fail();
    api.modify('validatingwebhookconfigurations', { ...stored, metadata: { ...stored.metadata, annotations: { 'example.com/keep': 'yes' } } });
    const before = api.get('validatingwebhookconfigurations', 'endpoint-guard')?.metadata.resourceVersion;
    api.requests.length = 0;
    const updated = await apply('enforce');
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, 'mutatingwebhookconfiguration/endpoint-guard unchanged\nvalidatingwebhookconfiguration/endpoint-guard updated\n');
    const validating = api.get('validatingwebhookconfigurations', 'endpoint-guard') as unknown as Registration;
    assert.equal(validating.webhooks[0]?.failurePolicy, 'Fail');
    assert.deepEqual((validating.metadata as { annotations?: unknown }).annotations, { 'example.com/keep': 'yes' });
    assert.deepEqual(api.requests.map((r) => `${r.method} ${r.path}`), [
      'GET /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/endpoint-guard',
      'GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/endpoint-guard',
      'PUT /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/endpoint-guard',
    ]);
    assert.notEqual(api.get('validatingwebhookconfigurations', 'endpoint-guard')?.metadata.resourceVersion, before);

    api.requests.length = 0;
    const again = await apply('enforce');
    assert.equal(again.stdout, 'mutatingwebhookconfiguration/endpoint-guard unchanged\nvalidatingwebhookconfiguration/endpoint-guard unchanged\n');
    assert.ok(api.requests.every((r) => r.method === 'GET'), 'nothing written when nothing changed');
  });

  test('--apply: a conflict, a refusal and an unreachable cluster are answered clearly', async (t) => {
    const api = await startFakeApiserver(t);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const { dir } = await certDir(t);
    const apply = (mode: string) => runCli(['manifests', '--service', 'endpoint-guard/endpoint-guard', '--mode', mode, '--cert-dir', dir, '--apply', '--kubeconfig', kubeconfig]);
    assert.equal((await apply('complain')).code, 0);

    api.failNext('PUT', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/', 409, 'Conflict',
      'Operation cannot be fulfilled on validatingwebhookconfigurations.admissionregistration.k8s.io "endpoint-guard": the object has been modified; please apply your changes to the latest version and try again');
    const conflict = await apply('enforce');
    assert.equal(conflict.code, 1);
    assert.equal(conflict.stderr.split('\n').at(-2), 'endpoint-guard manifests: validatingwebhookconfiguration/endpoint-guard changed while we updated it ' +
      '(409 Conflict: someone else wrote it between our read and our write); nothing was overwritten: run the command again');

    api.failNext('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/', 403, 'Forbidden', 'mutatingwebhookconfigurations.admissionregistration.k8s.io "endpoint-guard" is forbidden');
    const forbidden = await apply('enforce');
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /not allowed to write mutatingwebhookconfiguration\/endpoint-guard \(403\): .*bind the ClusterRole endpoint-guard-manifests-apply/);

    await api.close();
    const down = await apply('enforce');
    assert.equal(down.code, 2);
    assert.match(down.stderr, /cannot reach the apiserver for mutatingwebhookconfiguration\/endpoint-guard: GET https:\/\/127\.0\.0\.1:\d+\/apis\/.* failed: .*check the kubeconfig's server/);
  });
});
