// `endpoint-guard audit --policy-report`: PolicyReports that pass the published CRD schemas
// (test/schemas/), hold a result per object and rule, and that --apply writes by server-side apply
// against the fake apiserver, idempotently; and deploy/components/policy-reports, which runs it
// hourly with exactly the permissions it uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments } from 'yaml';
import { AUDIT_RESOURCES, type AuditReport, type AuditedObject } from '../src/cluster/audit.ts';
import { MAX_RESULTS_BYTES, OMITTED_ANNOTATION, type PolicyReportObject, REPORT_NAME, policyReports } from '../src/cluster/policy-report.ts';
import type { Judged } from '../src/policy.ts';
import { parseKubeVersion } from '../src/rules/version.ts';
import { populate, slice } from './helpers/audit-cluster.ts';
import { type FakeApiserver, type RecordedRequest, startFakeApiserver } from './helpers/fake-apiserver.ts';
import { runCli } from './helpers/lint.ts';
import { renderDocsOverlay, schemaProblems } from './helpers/manifests.ts';
import { tempDir } from './helpers/temp.ts';

type Schema = Record<string, unknown>;

/** The openAPIV3Schema of one version of a CRD kept in test/schemas/. */
function crdSchema(file: string, version: string): Schema {
  const text = readFileSync(new URL(`schemas/${file}`, import.meta.url), 'utf8');
  const crd = parseAllDocuments(text).map((d) => d.toJS() as Schema).find((d) => d?.kind === 'CustomResourceDefinition');
  const versions = (crd?.spec as { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] }).versions;
  return versions.find((v) => v.name === version)?.schema.openAPIV3Schema ?? assert.fail(`${file} has no version ${version}`);
}

/** As the apiserver holds an applied object to a structural schema: a field the schema does not declare is refused. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, closed(s)])) : closed(v)]));
  if ('properties' in copy && !('additionalProperties' in copy) && copy['x-kubernetes-preserve-unknown-fields'] !== true) copy.additionalProperties = false;
  return copy;
}

function validator(file: string, version: string) {
  const ajv = new Ajv.default({ allErrors: true, strict: false }); // strict: false for the x-kubernetes-* extensions
  addFormats.default(ajv); // int32, int64
  const validate = ajv.compile(closed(crdSchema(file, version)) as Schema);
  return (object: unknown): string[] => (validate(object) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}
const policyReportSchema = validator('wgpolicyk8s.io_policyreports.yaml', 'v1alpha2');
const openReportSchema = validator('openreports.io_reports.yaml', 'v1alpha1');

async function setup(t: TestContext) {
  const api = await startFakeApiserver(t);
  const kubeconfig = await api.writeKubeconfig(await tempDir(t));
  return { api, audit: (...args: string[]) => runCli(['audit', '--kubeconfig', kubeconfig, ...args]) };
}

const itemsOf = (stdout: string): PolicyReportObject[] => (JSON.parse(stdout) as { items: PolicyReportObject[] }).items;
const byNamespace = (reports: readonly PolicyReportObject[], ns: string): PolicyReportObject =>
  reports.find((r) => r.metadata.namespace === ns) ?? assert.fail(`no report in ${ns}`);
const seconds = (timestamp: unknown): number => Math.floor(Date.parse(String(timestamp)) / 1000);

describe('audit --policy-report', { timeout: 60_000 }, () => {
  test('prints one wgpolicyk8s.io/v1alpha2 PolicyReport per namespace, each valid against the published CRD schema', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--policy-report', '--format', 'json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const reports = itemsOf(run.stdout);
    assert.deepEqual(reports.map((r) => [r.apiVersion, r.kind, r.metadata.namespace, r.metadata.name]), [
      ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'legacy', REPORT_NAME],
      ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'shop', REPORT_NAME],
      ['wgpolicyk8s.io/v1alpha2', 'PolicyReport', 'trial', REPORT_NAME],
    ]);
    for (const r of reports) assert.deepEqual(policyReportSchema(r), [], `${r.metadata.namespace}`);
    const yaml = await audit('--policy-report');
    assert.deepEqual(parseAllDocuments(yaml.stdout, { version: '1.1' }).map((d) => d.toJS()), reports, 'the YAML form, as kubectl reads it, is the same');
  });

  test('holds a result per object and rule: the object with its uid, fail for errors, warn for warnings, and a summary that counts them', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const reports = itemsOf((await audit('--policy-report', '--format', 'json')).stdout);
    const shop = byNamespace(reports, 'shop');
    const row = (r: PolicyReportObject['results'][number]) =>
      [r.resources.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(), r.rule, r.result, r.severity, r.scored, r.category];
    assert.deepEqual(shop.results.map(row), [
      ['EndpointSlice shop/manual-2', 'address', 'fail', 'high', true, 'Kubernetes API validation'],
      ['EndpointSlice shop/orphan-1', 'service-exists', 'warn', 'low', false, 'Best Practices'],
      ['EndpointSlice shop/orphan-1', 'slice-name-prefix', 'warn', 'low', false, 'Best Practices'],
      ['Endpoints shop/manual', 'endpoints-deprecated', 'warn', 'low', false, 'Best Practices'],
    ], 'failures first, then by kind, name and rule');
    assert.deepEqual(shop.summary, { pass: 0, fail: 1, warn: 3, error: 0, skip: 0 });
    const text = (await audit()).stdout;
    for (const r of shop.results) {
      const [resource] = r.resources;
      assert.ok(resource);
      const stored = api.get(resource.kind === 'Endpoints' ? 'endpoints' : 'endpointslices', resource.name, 'shop') ?? assert.fail();
      assert.equal(resource.uid, stored.metadata.uid, 'the object is named by its uid');
      assert.equal(resource.apiVersion, resource.kind === 'Endpoints' ? 'v1' : 'discovery.k8s.io/v1');
      assert.deepEqual(r.timestamp, { seconds: seconds(stored.metadata.creationTimestamp), nanos: 0 });
      assert.equal(r.policy, 'endpoint-guard');
      assert.equal(r.source, 'endpoint-guard');
      assert.ok(text.includes(`${resource.kind} shop/${resource.name}  ${r.result === 'fail' ? 'error  ' : 'warning'}  ${r.rule}  ${r.message}\n`), 'the message is the report\'s line');
    }
    assert.deepEqual(byNamespace(reports, 'legacy').summary, { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 }, 'a label that spares the namespace does not hide its failures');
    assert.deepEqual(byNamespace(reports, 'trial').results, [], 'a namespace with nothing to report gets an empty report');
    assert.deepEqual(byNamespace(reports, 'trial').summary, { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });
  });

  test('a result is stamped with when its object was last written: the newest managedFields time', async (t) => {
    const { api, audit } = await setup(t);
    api.add('namespaces', { metadata: { name: 'shop' } });
    api.add('endpointslices', slice('shop', 'web-1', 'web', '127.0.0.1', {
      managedFields: [
        { manager: 'kubectl-client-side-apply', operation: 'Update', time: '2025-03-01T10:00:00Z' },
        { manager: 'deploy-tool', operation: 'Apply', time: '2025-06-30T12:34:56Z' },
        { manager: 'kubectl-edit', operation: 'Update', time: '2025-04-01T00:00:00Z' },
      ],
    }));
    const [report] = itemsOf((await audit('--policy-report', '--format', 'json')).stdout);
    assert.ok(report && report.results.length > 0);
    for (const r of report.results) assert.deepEqual(r.timestamp, { seconds: seconds('2025-06-30T12:34:56Z'), nanos: 0 });
  });

  test('--report-api openreports.io/v1alpha1 prints Reports, valid against the openreports.io CRD schema', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--policy-report', '--report-api', 'openreports.io/v1alpha1', '--format', 'json');
    assert.equal(run.code, 0, run.stderr);
    const reports = itemsOf(run.stdout);
    assert.deepEqual(reports.map((r) => [r.apiVersion, r.kind]), Array(3).fill(['openreports.io/v1alpha1', 'Report']));
    for (const r of reports) assert.deepEqual(openReportSchema(r), [], `${r.metadata.namespace}`);
    assert.equal(byNamespace(reports, 'shop').source, 'endpoint-guard');
    assert.equal(byNamespace(reports, 'shop').results.length, 4);
  });

  test('the schema checks refuse what the apiserver would: an unknown field, a result outside the enum, a missing policy', () => {
    const good = { apiVersion: 'wgpolicyk8s.io/v1alpha2', kind: 'PolicyReport', metadata: {}, results: [{ policy: 'p', result: 'fail' }] };
    assert.deepEqual(policyReportSchema(good), []);
    assert.notDeepEqual(policyReportSchema({ ...good, results: [{ policy: 'p', result: 'failed' }] }), []);
    assert.notDeepEqual(policyReportSchema({ ...good, results: [{ policy: 'p', reslut: 'fail' }] }), []);
    assert.notDeepEqual(policyReportSchema({ ...good, results: [{ result: 'fail' }] }), []);
    assert.notDeepEqual(policyReportSchema({ ...good, source: 'endpoint-guard' }), [], 'a PolicyReport has no report-level source');
    assert.deepEqual(openReportSchema({ ...good, apiVersion: 'openreports.io/v1alpha1', kind: 'Report', source: 'endpoint-guard' }), [], 'a Report has');
  });

  test('a namespace whose results outgrow one object keeps the errors first, within the bound, and says how many it left out', () => {
    const error = (i: number): AuditedObject => ({
      object: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespace: 'big', name: `s-${String(i).padStart(5, '0')}`, generateName: null },
      uid: `uid-${i}`, writtenAt: '2025-01-01T00:00:00Z', namespaceMode: undefined, rejected: i % 2 === 0, spared: false, ruleErrors: [],
      findings: [i % 2 === 0
        ? { rule: 'address', path: ['endpoints', 0, 'addresses', 0], type: 'Invalid', value: '127.0.0.1', detail: 'may not be in the loopback range (127.0.0.0/8, ::1/128)', severity: 'error' }
        : { rule: 'service-exists', path: ['metadata', 'labels', { key: 'kubernetes.io/service-name' }], type: 'Policy', detail: 'no Service of this name here; create it or fix the label', severity: 'warning' }] satisfies Judged[],
    });
    const objects = Array.from({ length: 6000 }, (_, i) => error(i));
    const report: AuditReport = {
      settings: { version: parseKubeVersion('1.36') ?? assert.fail(), rules: {}, softEndpointLimit: 1000, onRuleError: 'allow' },
      namespace: undefined, namespaces: [{ name: 'big' }], services: 0, objects,
      checked: { endpoints: 0, endpointSlices: objects.length }, controlPlane: { endpoints: 0, endpointSlices: 0 }, notes: [],
    };
    const [big] = policyReports(report, 'wgpolicyk8s.io/v1alpha2');
    assert.ok(big);
    assert.ok(JSON.stringify(big.results).length <= MAX_RESULTS_BYTES);
    assert.ok(big.results.length > 1000 && big.results.length < 6000, `${big.results.length} results kept`);
    assert.equal(big.metadata.annotations?.[OMITTED_ANNOTATION], String(6000 - big.results.length));
    const firstWarn = big.results.findIndex((r) => r.result === 'warn');
    assert.ok(firstWarn === -1 || big.results.slice(firstWarn).every((r) => r.result === 'warn'), 'every failure before any warning');
    assert.equal(big.summary.fail + big.summary.warn, big.results.length, 'the summary counts what the report holds');
    assert.deepEqual(policyReportSchema(big), []);
  });

  test('a report cut to fit is said on stderr, naming the namespace and how to see it all', async (t) => {
    const { api, audit } = await setup(t);
    api.add('namespaces', { metadata: { name: 'big' } });
    api.generate('endpointslices', { count: 4000, make: (i) => ({ ...slice('big', `web-${String(i).padStart(5, '0')}`, 'web', '127.0.0.1') }) });
    const run = await audit('--policy-report', '--format', 'json');
    assert.equal(run.code, 0);
    const [big] = itemsOf(run.stdout);
    const omitted = Number(big?.metadata.annotations?.[OMITTED_ANNOTATION]);
    assert.ok(omitted > 0);
    assert.match(run.stderr, new RegExp(`^endpoint-guard audit: PolicyReport big/endpoint-guard holds its first ${big?.results.length} results; ${omitted} more did not fit in one object .*: run endpoint-guard audit --namespace big for all of them$`, 'm'));
  });

  test('usage errors name the flag and touch nothing', async (t) => {
    const { api, audit } = await setup(t);
    assert.match((await audit('--apply')).stderr, /^endpoint-guard audit: --apply goes with --policy-report; run 'endpoint-guard audit --help'$/m);
    assert.match((await audit('--report-api', 'openreports.io/v1alpha1')).stderr, /--report-api goes with --policy-report/);
    const badApi = await audit('--policy-report', '--report-api', 'wgpolicyk8s.io/v1beta1');
    assert.equal(badApi.code, 2);
    assert.match(badApi.stderr, /--report-api must be wgpolicyk8s\.io\/v1alpha2 or openreports\.io\/v1alpha1, not "wgpolicyk8s\.io\/v1beta1"/);
    assert.match((await audit('--policy-report', '--format', 'text')).stderr, /--format must be yaml or json with --policy-report, not "text"/);
    assert.deepEqual(api.requests, []);
  });
});

/** The stored reports, by namespace: name, resourceVersion and results. */
const stored = (api: FakeApiserver, resource: 'policyreports' | 'reports' = 'policyreports') =>
  Object.fromEntries(api.list(resource).map((r) => [String(r.metadata.namespace), r]));

describe('audit --policy-report --apply', { timeout: 60_000 }, () => {
  test('writes a report per namespace by server-side apply, as field manager endpoint-guard, and says what each holds', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--policy-report', '--apply');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, [
      'PolicyReport legacy/endpoint-guard: 1 fail',
      'PolicyReport shop/endpoint-guard: 1 fail, 3 warn',
      'applied 3 PolicyReports (wgpolicyk8s.io/v1alpha2, field manager endpoint-guard): 2 with results, 1 empty',
      '',
    ].join('\n'));
    const writes = api.requests.filter((r) => r.method !== 'GET');
    assert.deepEqual(writes.map((r) => [r.method, r.path, r.query, r.contentType]), ['legacy', 'shop', 'trial'].map((ns) => [
      'PATCH', `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports/endpoint-guard`,
      { fieldManager: 'endpoint-guard', force: 'true' }, 'application/apply-patch+yaml',
    ]));
    const reports = stored(api);
    assert.deepEqual(Object.keys(reports).sort(), ['legacy', 'shop', 'trial']);
    const printed = itemsOf((await audit('--policy-report', '--format', 'json')).stdout);
    for (const r of printed) {
      const { metadata, ...body } = reports[r.metadata.namespace] ?? assert.fail();
      assert.deepEqual(JSON.parse(JSON.stringify({ ...body, metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels } })), r, 'stored as printed');
      assert.deepEqual((metadata.managedFields as { manager: string; operation: string }[]).map((m) => [m.manager, m.operation]), [['endpoint-guard', 'Apply']]);
    }
  });

  test('a second run with nothing changed writes nothing: same objects, same resourceVersions', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    assert.equal((await audit('--policy-report', '--apply')).code, 0);
    const first = stored(api);
    const rv = api.resourceVersion();
    const again = await audit('--policy-report', '--apply');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(stored(api), first);
    assert.equal(api.resourceVersion(), rv, 'no write at all');
  });

  test('an object gone from the cluster is gone from the next report; a namespace left clean keeps an empty report', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    await audit('--policy-report', '--apply');
    const first = stored(api);
    api.remove('endpointslices', { metadata: { name: 'orphan-1', namespace: 'shop' } });
    api.remove('endpointslices', { metadata: { name: 'old-1', namespace: 'legacy' } });
    const run = await audit('--policy-report', '--apply');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /: 1 with results, 2 empty\n$/);
    const now = stored(api);
    const names = (r: unknown) => ((r as { results: { resources: { name: string }[] }[] }).results).map((x) => x.resources[0]?.name);
    assert.deepEqual(names(now.shop), ['manual-2', 'manual']);
    assert.deepEqual(names(now.legacy), []);
    assert.deepEqual(now.legacy?.summary, { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 });
    assert.equal(now.trial?.metadata.resourceVersion, first.trial?.metadata.resourceVersion, 'an unchanged report is not rewritten');
    assert.notEqual(now.shop?.metadata.resourceVersion, first.shop?.metadata.resourceVersion);
  });

  test('--report-api openreports.io/v1alpha1 writes Reports', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    const run = await audit('--policy-report', '--apply', '--report-api', 'openreports.io/v1alpha1');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^applied 3 Reports \(openreports\.io\/v1alpha1, field manager endpoint-guard\)/m);
    assert.deepEqual(Object.keys(stored(api, 'reports')).sort(), ['legacy', 'shop', 'trial']);
    assert.deepEqual(api.list('policyreports'), []);
  });

  test('a refusal (403) says which permissions --apply needs and where they are granted', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    api.failNext('PATCH', '/apis/wgpolicyk8s.io/', 403, 'Forbidden',
      'policyreports.wgpolicyk8s.io "endpoint-guard" is forbidden: User "alice" cannot patch resource "policyreports" in API group "wgpolicyk8s.io" in the namespace "legacy"');
    const run = await audit('--policy-report', '--apply');
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^endpoint-guard audit: not allowed to write PolicyReport legacy\/endpoint-guard \(403\): .*cannot patch resource "policyreports".*; --apply needs create and patch on policyreports\.wgpolicyk8s\.io named endpoint-guard, as the ClusterRole endpoint-guard-policy-reports in deploy\/components\/policy-reports grants$/m);
  });

  test('a cluster without the CRD (404) is told to install it', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    api.uninstall('policyreports');
    const run = await audit('--policy-report', '--apply');
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^endpoint-guard audit: the apiserver does not serve wgpolicyk8s\.io\/v1alpha2 PolicyReports \(404\): install the PolicyReport CRD \(policyreports\.wgpolicyk8s\.io: Kyverno and the Policy Reporter Helm chart install it; .*\), or write openreports\.io Reports with --report-api openreports\.io\/v1alpha1$/m);
    api.uninstall('reports');
    const open = await audit('--policy-report', '--apply', '--report-api', 'openreports.io/v1alpha1');
    assert.equal(open.code, 2);
    assert.match(open.stderr, /does not serve openreports\.io\/v1alpha1 Reports \(404\): install the Report CRD \(reports\.openreports\.io: .*\)$/m);
  });

  test('a namespace deleted while the audit ran is skipped with a note, and the others are written', async (t) => {
    const { api, audit } = await setup(t);
    populate(api);
    api.failNext('PATCH', '/apis/wgpolicyk8s.io/v1alpha2/namespaces/legacy/', 404, 'NotFound', 'namespaces "legacy" not found');
    const run = await audit('--policy-report', '--apply');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^endpoint-guard audit: namespace legacy was deleted during the audit; no PolicyReport written there$/m);
    assert.deepEqual(Object.keys(stored(api)).sort(), ['shop', 'trial']);
  });
});

describe('deploy/components/policy-reports', { timeout: 60_000 }, () => {
  interface CronJob {
    metadata: { name: string; namespace: string };
    spec: {
      schedule: string; concurrencyPolicy: string;
      jobTemplate: { spec: { activeDeadlineSeconds: number; template: { spec: {
        serviceAccountName: string; securityContext: Record<string, unknown>;
        containers: { image: string; args: string[]; env: { name: string; value: string }[]; securityContext: Record<string, unknown>; resources: { limits: Record<string, string> } }[];
      } } } };
    };
  }
  interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
  const grants = (rules: readonly Rule[]): string[] => rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.flatMap((v) =>
    (r.resourceNames ?? ['*']).map((n) => `${g}/${res} ${v} ${n}`))))).sort();

  test('renders inside an overlay and passes the schemas; the CronJob runs audit --policy-report --apply hourly, hardened like the Deployment', async (t) => {
    const docs = await renderDocsOverlay(t, 'docs/audit.md', 'deploy/clusters/policy-reports/kustomization.yaml\n', 'policy-reports');
    assert.deepEqual(docs.flatMap(schemaProblems), []);
    const cronJob = docs.find((d) => d.kind === 'CronJob') as unknown as CronJob;
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as { spec: { template: { spec: { securityContext: Record<string, unknown>; containers: { image: string; env: { name: string; value: string }[]; securityContext: Record<string, unknown> }[] } } } };
    assert.equal(cronJob.metadata.namespace, 'endpoint-guard');
    assert.match(cronJob.spec.schedule, /^\d{1,2} \* \* \* \*$/, 'once an hour');
    assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid');
    assert.ok(cronJob.spec.jobTemplate.spec.activeDeadlineSeconds <= 3600, 'a hung run ends before the next one is due');
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const [container] = pod.containers;
    const [webhook] = deployment.spec.template.spec.containers;
    assert.ok(container && webhook);
    assert.deepEqual(container.args, ['audit', '--policy-report', '--apply']);
    assert.equal(container.image, webhook.image, 'the webhook\'s image');
    const version = (env: { name: string; value: string }[]) => env.find((e) => e.name === 'ENDPOINT_GUARD_KUBERNETES_VERSION')?.value;
    assert.equal(version(container.env), version(webhook.env), 'the same Kubernetes rules as the webhook');
    assert.deepEqual(container.securityContext, webhook.securityContext);
    const { fsGroup: _fsGroup, ...podHardening } = deployment.spec.template.spec.securityContext;
    assert.deepEqual(pod.securityContext, podHardening);
    assert.ok(container.resources.limits.memory, 'a memory limit');
  });

  test('its ServiceAccount has exactly what a run uses: the verbs of the requests --apply makes, and nothing else', async (t) => {
    const docs = await renderDocsOverlay(t, 'docs/audit.md', 'deploy/clusters/policy-reports/kustomization.yaml\n', 'policy-reports');
    const cronJob = docs.find((d) => d.kind === 'CronJob') as unknown as CronJob;
    const account = cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName;
    const bindings = docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding') as unknown as { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] }[];
    const bound = bindings.filter((b) => b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === 'endpoint-guard'));
    assert.deepEqual(bound.map((b) => b.roleRef.name), ['endpoint-guard-policy-reports']);
    const role = docs.find((d) => d.kind === 'ClusterRole' && d.metadata.name === 'endpoint-guard-policy-reports') as unknown as { rules: Rule[] };

    // What a first run against a cluster does, as RBAC sees each request.
    const { api, audit } = await setup(t);
    populate(api);
    assert.equal((await audit('--policy-report', '--apply')).code, 0);
    const group = (path: string) => (path.startsWith('/api/v1') ? '' : path.split('/')[2] ?? '');
    const resource = (path: string) => (/\/(namespaces|services|endpoints|endpointslices|policyreports)(\/[^/]+)?$/.exec(path)?.[1] ?? path);
    const verbs = (r: RecordedRequest): string[] => (r.method === 'GET' ? [`${group(r.path)}/${resource(r.path)} list *`]
      : [`${group(r.path)}/${resource(r.path)} patch ${REPORT_NAME}`, `${group(r.path)}/${resource(r.path)} create ${REPORT_NAME}`]); // apply creates a missing report
    assert.deepEqual(grants(role.rules), [...new Set(api.requests.flatMap(verbs))].sort());
    for (const listed of Object.keys(AUDIT_RESOURCES)) assert.ok(grants(role.rules).some((g) => g.includes(`/${listed} list `)), `audit lists ${listed}`);
  });
});

test('the schemas in test/schemas name where they come from', () => {
  for (const file of ['wgpolicyk8s.io_policyreports.yaml', 'openreports.io_reports.yaml']) {
    const header = readFileSync(new URL(`schemas/${file}`, import.meta.url), 'utf8').split('\n---')[0] ?? '';
    assert.match(header, /repository: \S+\/\S+/);
    assert.match(header, /path: +\S+\.yaml/);
    assert.match(header, /commit: +[0-9a-f]{40}/);
    assert.ok(parse(header) === null, 'the header is YAML comments only');
  }
});
