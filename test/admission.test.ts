// The review function alone: AdmissionReview in, AdmissionReview out, for every mode and bad input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { reviewAdmission, type AdmissionResponse } from '../src/admission.ts';
import { type Config, configSchema } from '../src/config.ts';
import { type Check, checkObject, runChecks } from '../src/rules/index.ts';
import type { RuleContext } from '../src/rules/context.ts';
import { policy } from '../src/rules/finding.ts';
import { MAX_WARNING_CHARS } from '../src/policy.ts';
import { admissionFixtureNames, readAdmissionFixture } from './helpers/fixtures.ts';
import { ipv4Endpoints, slice } from './helpers/objects.ts';

const config = (over: Partial<Config> = {}): Config => configSchema.parse(over);
const DEPRECATION = 'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice';

interface Answer { status: number; apiVersion: unknown; kind: unknown; response: AdmissionResponse }
function review(body: unknown, cfg: Config = config(), check = checkObject): Answer {
  const outcome = reviewAdmission(body, cfg, { check });
  const envelope = outcome.body as { apiVersion: unknown; kind: unknown; response: AdmissionResponse };
  return { status: outcome.httpStatus, apiVersion: envelope.apiVersion, kind: envelope.kind, response: envelope.response };
}

/** A real captured request with its object replaced. */
function requestWith(object: unknown, over: Record<string, unknown> = {}) {
  const fixture = readAdmissionFixture('create-endpointslice-v1.json');
  const request = fixture.request as Record<string, unknown>;
  return { ...fixture, request: { ...request, object, ...over } };
}

describe('every captured request', () => {
  for (const name of admissionFixtureNames()) {
    for (const mode of ['complain', 'enforce', 'off'] as const) {
      test(`${name} gets a well-formed ${mode} answer echoing its uid`, () => {
        const fixture = readAdmissionFixture(name);
        const a = review(fixture, config({ mode }));
        assert.equal(a.status, 200);
        assert.equal(a.apiVersion, 'admission.k8s.io/v1');
        assert.equal(a.kind, 'AdmissionReview');
        assert.equal(a.response.uid, (fixture.request as { uid: string }).uid);
        assert.equal(typeof a.response.allowed, 'boolean');
        assert.ok(!('patch' in a.response) && !('patchType' in a.response), 'a validating webhook may not patch');
        for (const w of a.response.warnings ?? []) assert.ok([...w].length <= MAX_WARNING_CHARS, w);
        if (mode !== 'enforce') assert.equal(a.response.allowed, true);
      });
    }
  }
});

describe('modes', () => {
  const tooMany = requestWith(slice({}, ipv4Endpoints(1001)));
  test('complain allows a 1001-endpoint slice, warns, and records what enforce would deny', () => {
    const { response } = review(tooMany, config({ mode: 'complain' }));
    assert.equal(response.allowed, true);
    assert.ok(response.warnings?.some((w) => w.startsWith('endpoint-limit: endpoints: too many (1001)')), String(response.warnings));
    assert.match(response.auditAnnotations?.['would-deny'] ?? '', /endpoint-limit/);
  });
  test('enforce denies a 1001-endpoint slice with 403 Forbidden and says why', () => {
    const { response } = review(tooMany, config({ mode: 'enforce' }));
    assert.equal(response.allowed, false);
    assert.equal(response.status?.code, 403);
    assert.equal(response.status?.reason, 'Forbidden');
    assert.match(response.status?.message ?? '', /^endpoint-guard: 1 policy error: endpoint-limit: endpoints: too many \(1001\)/);
    assert.ok((response.warnings ?? []).length > 0, 'warnings are returned with a denial too');
  });
  test("enforce denies a person's slice claiming the EndpointSlice controller's managed-by", () => {
    const object = slice({ metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } });
    const { response } = review(requestWith(object), config({ mode: 'enforce' }));
    assert.equal(response.allowed, false);
    assert.match(response.status?.message ?? '', /managed-by-controller/);
  });
  test('the controller itself is exempt and may write its own value', () => {
    const fixture = readAdmissionFixture('create-endpointslice-as-controller.json');
    assert.deepEqual(review(fixture, config({ mode: 'enforce' })).response, { uid: (fixture.request as { uid: string }).uid, allowed: true });
  });
  test('off allows everything and returns no warnings', () => {
    const { response } = review(tooMany, config({ mode: 'off' }));
    assert.deepEqual(Object.keys(response).sort(), ['allowed', 'uid']);
  });
  for (const name of ['create-endpoints-v1.json', 'update-endpoints-v1.json']) {
    for (const mode of ['complain', 'enforce'] as const) {
      test(`${name} gets the exact Endpoints deprecation warning in ${mode} mode`, () => {
        assert.ok(review(readAdmissionFixture(name), config({ mode })).response.warnings?.includes(DEPRECATION));
      });
    }
  }
  test('a DELETE is always allowed, whatever the stored object holds', () => {
    const fixture = readAdmissionFixture('delete-endpointslice-v1.json');
    const request = fixture.request as Record<string, unknown>;
    const a = review({ ...fixture, request: { ...request, oldObject: slice({}, ipv4Endpoints(1001)) } }, config({ mode: 'enforce' }));
    assert.equal(a.response.allowed, true);
    assert.equal(a.response.warnings, undefined);
  });
  test('a dry run gets exactly the answer of the real request', () => {
    const dry = readAdmissionFixture('dryrun-create-endpointslice.json');
    const request = dry.request as Record<string, unknown>;
    const real = { ...dry, request: { ...request, dryRun: false } };
    assert.deepEqual(review(dry, config({ mode: 'enforce' })).response, review(real, config({ mode: 'enforce' })).response);
  });
  test('a v1beta1 request (converted to v1 by the apiserver) warns that v1beta1 is gone', () => {
    const { response } = review(readAdmissionFixture('create-endpointslice-v1beta1.json'), config({ mode: 'enforce' }));
    assert.equal(response.allowed, true);
    assert.ok(response.warnings?.some((w) => w.startsWith('api-version-deprecated: ')), String(response.warnings));
  });
  test('an AdmissionReview v1beta1 is answered in v1beta1', () => {
    const a = review({ ...readAdmissionFixture('create-endpointslice-v1.json'), apiVersion: 'admission.k8s.io/v1beta1' });
    assert.equal(a.apiVersion, 'admission.k8s.io/v1beta1');
  });
  test('an object of another kind is allowed without findings', () => {
    const { response } = review(requestWith({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, { kind: { group: '', version: 'v1', kind: 'ConfigMap' } }), config({ mode: 'enforce' }));
    assert.deepEqual(Object.keys(response).sort(), ['allowed', 'uid']);
  });
});

describe('settings', () => {
  const tooMany = requestWith(slice({}, ipv4Endpoints(1001)));
  test('a rule set to warning no longer denies', () => {
    assert.equal(review(tooMany, config({ mode: 'enforce', rules: { 'endpoint-limit': 'warning' } })).response.allowed, true);
  });
  test('a rule set to off is silent', () => {
    const { response } = review(tooMany, config({ mode: 'enforce', rules: { 'endpoint-limit': 'off' } }));
    assert.equal(response.allowed, true);
    assert.ok(!response.warnings?.some((w) => w.startsWith('endpoint-limit')));
  });
  test('a warning rule raised to error denies', () => {
    const object = slice({ metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } } });
    const { response } = review(requestWith(object), config({ mode: 'enforce', rules: { 'managed-by-missing': 'error' } }));
    assert.equal(response.allowed, false);
  });
  test('the exempt users are configurable', () => {
    const a = review(tooMany, config({ mode: 'enforce', exemptUsers: ['admin'] }));
    assert.deepEqual(Object.keys(a.response).sort(), ['allowed', 'uid']);
  });
  test('maxWarnings bounds the list, with a final count line', () => {
    const endpoints = Array.from({ length: 50 }, (_, i) => ({ addresses: [`239.1.1.${i}`] }));
    const { response } = review(requestWith(slice({}, endpoints)), config({ maxWarnings: 5 }));
    assert.equal(response.warnings?.length, 5);
    assert.match(response.warnings?.[4] ?? '', /^\.\.\. and \d+ more findings$/);
  });
  test('the log counts findings per rule, however many there are', () => {
    const endpoints = Array.from({ length: 50 }, (_, i) => ({ addresses: [`239.1.1.${i}`] }));
    const outcome = reviewAdmission(requestWith(slice({}, endpoints)), config({ maxWarnings: 5 }));
    assert.equal(outcome.log.findings['special-address'], 50);
    assert.deepEqual(Object.values(outcome.log.findings).every((n) => Number.isInteger(n) && n > 0), true);
  });
});

describe('a rule that throws', () => {
  const throwing: typeof checkObject = (input) => ({ ...checkObject(input), ruleErrors: [{ check: 'policy', message: 'boom' }] });
  const fixture = readAdmissionFixture('create-endpointslice-v1.json');
  test('is logged and the request allowed in complain mode', () => {
    const outcome = reviewAdmission(fixture, config({ mode: 'complain' }), { check: throwing });
    assert.equal((outcome.body as { response: AdmissionResponse }).response.allowed, true);
    assert.deepEqual(outcome.log.ruleErrors, [{ check: 'policy', message: 'boom' }]);
  });
  test('is allowed by default in enforce mode', () => {
    assert.equal(review(fixture, config({ mode: 'enforce' }), throwing).response.allowed, true);
  });
  test('denies in enforce mode when onRuleError is deny', () => {
    const { response } = review(fixture, config({ mode: 'enforce', onRuleError: 'deny' }), throwing);
    assert.equal(response.allowed, false);
    assert.match(response.status?.message ?? '', /could not check this object/);
  });
  test('an exception inside one check is caught and named; the other checks still run', () => {
    const errors: { check: string; message: string }[] = [];
    const checks: Check<string>[] = [
      ['exploding', () => { throw new TypeError('cannot read x'); }],
      ['fine', (o) => [policy({ rule: 'zone', path: [] }, o)]],
    ];
    const findings = runChecks(checks, 'still here', {} as RuleContext, errors);
    assert.deepEqual(errors, [{ check: 'exploding', message: 'cannot read x' }]);
    assert.deepEqual(findings.map((f) => f.detail), ['still here']);
  });
});

describe('bad input', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a JSON array', [], /body must be a JSON object/],
    ['a string', 'hello', /body must be a JSON object/],
    ['null', null, /body must be a JSON object/],
    ['the wrong kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod', request: {} }, /kind must be "AdmissionReview", got "Pod"/],
    ['the wrong apiVersion', { apiVersion: 'v1', kind: 'AdmissionReview', request: {} }, /apiVersion must be one of admission.k8s.io\/v1, admission.k8s.io\/v1beta1, got "v1"/],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /request is missing/],
    ['no uid', { ...readAdmissionFixture('create-endpointslice-v1.json'), request: { kind: { group: '', version: 'v1', kind: 'Endpoints' }, operation: 'CREATE' } }, /request\.uid/],
    ['an unknown operation', requestWith(slice(), { operation: 'PATCH' }), /request\.operation/],
  ];
  for (const [name, body, message] of cases) {
    test(`${name} gets 400 with a message saying what is wrong`, () => {
      const a = review(body);
      assert.equal(a.status, 400);
      assert.equal(a.response.allowed, false);
      assert.equal(a.response.status?.code, 400);
      assert.match(a.response.status?.message ?? '', message);
    });
  }
  test('a bad request with a uid echoes it', () => {
    assert.equal(review(requestWith(slice(), { operation: 'PATCH' })).response.uid, 'b50183a7-c57b-48e7-88cc-e8385c9e602e');
  });
  test('an object of a handled kind with wrong field types is answered, not a crash', () => {
    const { status, response } = review(requestWith({ kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', metadata: 'x', endpoints: 7 }), config({ mode: 'enforce' }));
    assert.equal(status, 200);
    assert.equal(response.allowed, false);
    assert.ok(response.warnings?.some((w) => w.startsWith('field-type: ')));
  });
});
