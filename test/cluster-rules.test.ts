// The rules that need the cluster's Services, and namespace modes, with plain context objects:
// no cache, no apiserver. The informer layer that fills these in is tested in cluster-cache.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reviewAdmission, reviewMutation, type AdmissionResponse } from '../src/admission.ts';
import type { ClusterView } from '../src/cluster/view.ts';
import { namespaceInfo, serviceInfo, serviceLookup } from '../src/cluster/objects.ts';
import { type Config, configSchema } from '../src/config.ts';
import type { ServiceInfo } from '../src/rules/context.ts';
import { warningLine } from '../src/policy.ts';
import { guardReview } from '../src/server/review-guard.ts';
import { captureLog } from './helpers/log.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { check, endpointsObject, slice } from './helpers/objects.ts';

const web: ServiceInfo = { name: 'web', hasSelector: false, ports: [{ name: 'http', protocol: 'TCP' }] };
const services = (...list: ServiceInfo[]) => serviceLookup(list);
const clusterRules = (object: unknown, lookup = services(web)) =>
  check(object, { services: lookup }).filter((f) => f.rule.startsWith('service-') && f.rule !== 'service-name-missing');
const lines = (object: unknown, lookup = services(web)) => clusterRules(object, lookup).map(warningLine);

describe('service-exists', () => {
  test('a slice for a Service that exists: nothing to say', () => {
    assert.deepEqual(lines(slice()), []);
  });
  test('a slice whose kubernetes.io/service-name names no Service in the namespace', () => {
    assert.deepEqual(lines(slice(), services()), [
      'service-exists: metadata.labels[kubernetes.io/service-name]: no Service of this name here; create it or fix the label',
    ]);
  });
  test('an Endpoints object whose name is no Service', () => {
    const [f] = clusterRules(endpointsObject(), services());
    assert.equal(f?.rule, 'service-exists');
    assert.deepEqual(f?.path, ['metadata', 'name']);
  });
  test('a slice without the service-name label is left to service-name-missing', () => {
    const unlabelled = slice({ metadata: { name: 'web-1', labels: { 'endpointslice.kubernetes.io/managed-by': 'me' } } });
    assert.deepEqual(clusterRules(unlabelled, services()), []);
  });
  test('an Endpoints object with only generateName names no Service yet', () => {
    assert.deepEqual(clusterRules(endpointsObject({ metadata: { generateName: 'web-' } }), services()), []);
  });
  test('without cluster knowledge (offline, cache not in sync) none of the Service rules runs', () => {
    assert.deepEqual(check(slice()).filter((f) => ['service-exists', 'service-ports', 'service-selector'].includes(f.rule)), []);
  });
});

describe('service-ports', () => {
  const twoPorts: ServiceInfo = { name: 'web', hasSelector: false, ports: [{ name: 'http', protocol: 'TCP' }, { name: 'dns', protocol: 'UDP' }] };
  test('ports matching the Service by name and protocol pass', () => {
    const object = slice({ ports: [{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 5353 }] });
    assert.deepEqual(clusterRules(object, services(twoPorts)), []);
  });
  test('a slice port named differently from every Service port', () => {
    const [f] = clusterRules(slice({ ports: [{ name: 'https', protocol: 'TCP', port: 443 }] }), services(twoPorts));
    assert.equal(f && warningLine(f), 'service-ports: ports[0].name: no Service port of this name (it has "http" and 1 more)');
  });
  test('a port whose name matches but protocol does not', () => {
    const [f] = clusterRules(slice({ ports: [{ name: 'dns', protocol: 'TCP', port: 53 }] }), services(twoPorts));
    assert.equal(f && warningLine(f), "service-ports: ports[0].name: the Service's port of this name is UDP, not TCP; no traffic reaches it");
  });
  test('an unnamed port matches a single unnamed Service port', () => {
    const unnamed: ServiceInfo = { name: 'web', hasSelector: false, ports: [{ name: '', protocol: 'TCP' }] };
    assert.deepEqual(clusterRules(endpointsObject(), services(unnamed)), []);
    const [f] = clusterRules(endpointsObject(), services(web));
    assert.deepEqual(f?.path, ['subsets', 0, 'ports', 0, 'name']);
    assert.match(f ? warningLine(f) : '', /\(it has "http"\)$/);
  });
});

describe('service-selector', () => {
  const selected: ServiceInfo = { ...web, hasSelector: true };
  test('a hand-written slice for a Service with a selector adds to what the control plane writes', () => {
    assert.deepEqual(lines(slice(), services(selected)), [
      'service-selector: metadata.labels[kubernetes.io/service-name]: the Service selects Pods; this adds endpoints to theirs',
    ]);
  });
  test('an Endpoints object for a Service with a selector is overwritten by the endpoints controller', () => {
    const endpoints = endpointsObject({}, [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ name: 'http', port: 80 }] }]);
    assert.deepEqual(lines(endpoints, services(selected)), [
      'service-selector: metadata.name: the Service has a selector: the endpoints controller overwrites this',
    ]);
  });
});

describe('cluster objects from raw JSON', () => {
  test('a Service: selector, ports, and TCP when the protocol is left out', () => {
    const info = serviceInfo({ metadata: { name: 'db', namespace: 'data' }, spec: { selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] } });
    assert.deepEqual(info, { name: 'db', namespace: 'data', hasSelector: true, ports: [{ name: 'pg', protocol: 'TCP' }] });
    assert.equal(serviceInfo({ metadata: { name: 'x' }, spec: { selector: {} } }).hasSelector, false);
  });
  test('a namespace label names a mode, names none, or is absent', () => {
    const ns = (labels: Record<string, string>) => namespaceInfo({ metadata: { name: 'team', labels } });
    assert.equal(ns({ 'endpoint-guard.io/mode': 'enforce' }).mode, 'enforce');
    assert.deepEqual(ns({ 'endpoint-guard.io/mode': 'strict' }), { name: 'team', badMode: 'strict' });
    assert.deepEqual(ns({}), { name: 'team' });
  });
});

describe('namespace modes in a review', () => {
  const config = (over: Partial<Config> = {}): Config => configSchema.parse(over);
  const cluster = (modes: Record<string, 'enforce' | 'complain' | 'off'>, lookup = services()): ClusterView => ({
    namespaceMode: (ns) => modes[ns],
    services: () => lookup,
  });
  /** A captured request for a slice that enforce rejects (a controller's managed-by value), in a namespace. */
  const request = (namespace: string) => {
    const fixture = readAdmissionFixture('create-endpointslice-v1.json');
    const req = fixture.request as Record<string, unknown>;
    const object = slice({ metadata: { name: 'web-1', namespace, labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } });
    return { ...fixture, request: { ...req, namespace, object, userInfo: { username: 'alice' } } };
  };
  const answer = (outcome: ReturnType<typeof reviewAdmission>) => (outcome.body as { response: AdmissionResponse }).response;

  test('a namespace labelled enforce rejects while the global mode complains', () => {
    const outcome = reviewAdmission(request('payments'), config({ mode: 'complain' }), { cluster: cluster({ payments: 'enforce' }) });
    assert.equal(answer(outcome).allowed, false);
    assert.equal(outcome.log.mode, 'enforce');
    assert.equal(outcome.log.modeFrom, 'namespace');
  });
  test('a namespace labelled complain only warns while the global mode enforces', () => {
    const outcome = reviewAdmission(request('trial'), config({ mode: 'enforce' }), { cluster: cluster({ trial: 'complain' }) });
    assert.equal(answer(outcome).allowed, true);
    assert.ok(answer(outcome).auditAnnotations?.['would-deny']);
  });
  test('a namespace labelled off gets no warnings and no patch', () => {
    const ctx = { cluster: cluster({ legacy: 'off' }) };
    const validated = answer(reviewAdmission(request('legacy'), config({ mode: 'enforce' }), ctx));
    assert.deepEqual([validated.allowed, validated.warnings], [true, undefined]);
    const unlabelled = slice({ metadata: { name: 'web-1', namespace: 'legacy', labels: { 'kubernetes.io/service-name': 'web' } } });
    const mutated = answer(reviewMutation({ ...request('legacy'), request: { ...request('legacy').request, object: unlabelled } }, config(), ctx));
    assert.equal(mutated.patch, undefined);
  });
  test('an unlabelled namespace keeps the global mode, and the log says nothing of namespaces', () => {
    const outcome = reviewAdmission(request('other'), config({ mode: 'enforce' }), { cluster: cluster({ payments: 'complain' }) });
    assert.equal(answer(outcome).allowed, false);
    assert.equal(outcome.log.modeFrom, undefined);
  });
  test("the review's namespace picks the Services the rules see", () => {
    let asked: string | undefined;
    const view: ClusterView = { namespaceMode: () => undefined, services: (ns) => ((asked = ns), services()) };
    const warnings = answer(reviewAdmission(request('shop'), config(), { cluster: view })).warnings ?? [];
    assert.equal(asked, 'shop');
    assert.ok(warnings.some((w) => w.startsWith('service-exists: ')), warnings.join('\n'));
  });
});

describe('a review that fails, in a namespace with its own mode', () => {
  test("onRuleError deny applies where the namespace's label says enforce, even when the global mode complains", () => {
    const throwing = () => {
      throw new Error('boom');
    };
    const guarded = guardReview('validate', throwing, captureLog().log, undefined);
    const fixture = readAdmissionFixture('create-endpointslice-v1.json');
    const body = (namespace: string) => ({ ...fixture, request: { ...(fixture.request as object), namespace } });
    const cluster: ClusterView = { namespaceMode: (ns) => (ns === 'payments' ? 'enforce' : undefined), services: () => undefined };
    const config = configSchema.parse({ mode: 'complain', onRuleError: 'deny' });
    const allowed = (namespace: string) => (guarded(body(namespace), config, { cluster }).body as { response: AdmissionResponse }).response.allowed;
    assert.equal(allowed('payments'), false);
    assert.equal(allowed('sandbox'), true);
  });
});
