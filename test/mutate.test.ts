// The mutating half: each fix is a JSON Patch that applies cleanly, changes only what it fixes,
// is explained by a warning, and leaves nothing for the validating rules to report.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { type AdmissionResponse, reviewMutation } from '../src/admission.ts';
import { type Config, configSchema } from '../src/config.ts';
import { mutate } from '../src/mutate.ts';
import { MAX_WARNING_CHARS, warningLine } from '../src/policy.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { formatPath } from '../src/rules/path.ts';
import { admissionFixtureNames, readAdmissionFixture } from './helpers/fixtures.ts';
import { check, endpointsObject, type Json, slice } from './helpers/objects.ts';

const { applyPatch } = fastJsonPatch;
const config = (over: Partial<Config> = {}): Config => configSchema.parse(over);
const MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';

/** Runs the fixes and applies their patch to a copy, validating every operation as it goes. */
function fix(object: Json, over: Partial<Config> = {}, extra: { operation?: 'CREATE' | 'UPDATE' | 'DELETE'; oldObject?: Json } = {}) {
  const m = mutate({ object, oldObject: extra.oldObject, operation: extra.operation ?? 'CREATE', version: kubeVersion(36) }, config(over));
  const result = applyPatch(structuredClone(object), structuredClone(m.patch), true, false).newDocument as Json;
  return { ...m, result, warnings: m.fixes.map(warningLine) };
}

const withoutManagedBy = (labels?: Record<string, string>) =>
  slice({ metadata: { name: 'web-1', namespace: 'default', ...(labels ? { labels } : {}) } });

describe('managed-by', () => {
  test('adds the labels map with managed-by when the slice has no labels', () => {
    const object = withoutManagedBy();
    const { patch, result, warnings } = fix(object);
    assert.deepEqual(patch, [{ op: 'add', path: '/metadata/labels', value: { [MANAGED_BY]: 'endpoint-guard' } }]);
    assert.deepEqual(result, { ...object, metadata: { name: 'web-1', namespace: 'default', labels: { [MANAGED_BY]: 'endpoint-guard' } } });
    assert.deepEqual(warnings, [`managed-by-missing: metadata.labels: fixed: set ${MANAGED_BY}=endpoint-guard`]);
  });
  test('adds one label, its "/" escaped as ~1, when other labels exist, and keeps odd keys untouched', () => {
    const labels = { 'kubernetes.io/service-name': 'web', 'example.com/a~b': 'x', 'a.b/c': '' };
    const object = withoutManagedBy(labels);
    const { patch, result } = fix(object);
    assert.deepEqual(patch, [{ op: 'add', path: '/metadata/labels/endpointslice.kubernetes.io~1managed-by', value: 'endpoint-guard' }]);
    assert.deepEqual((result.metadata as Json).labels, { ...labels, [MANAGED_BY]: 'endpoint-guard' });
  });
  test('uses the configured value', () => {
    assert.deepEqual(fix(withoutManagedBy({}), { managedByValue: 'team-a.example.com' }).result.metadata, { name: 'web-1', namespace: 'default', labels: { [MANAGED_BY]: 'team-a.example.com' } });
  });
  test('leaves a slice that names its manager alone', () => {
    assert.deepEqual(fix(slice()).patch, []);
  });
  test('can be switched off', () => {
    assert.deepEqual(fix(withoutManagedBy(), { fixManagedBy: false }).patch, []);
  });
  test("refuses a controller's value or an invalid label value in config", () => {
    for (const managedByValue of ['endpointslice-controller.k8s.io', 'has space', '', 'a'.repeat(64)]) {
      const r = configSchema.safeParse({ managedByValue });
      assert.equal(r.success, false, managedByValue);
      assert.deepEqual(r.error?.issues[0]?.path, ['managedByValue']);
    }
  });
  test('the fixed slice no longer gets managed-by-missing', () => {
    assert.ok(check(withoutManagedBy()).some((f) => f.rule === 'managed-by-missing'));
    assert.ok(!check(fix(withoutManagedBy()).result).some((f) => f.rule === 'managed-by-missing'));
  });
});

describe('canonical IPv6', () => {
  const ipv6 = (addresses: string[]) => slice({ addressType: 'IPv6' }, [{ addresses }]);
  const cases: [string, string][] = [
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['fd00:0:0:1:0:0:0:1', 'fd00:0:0:1::1'],
    ['64:ff9b::10.1.2.3', '64:ff9b::a01:203'],
  ];
  for (const [from, to] of cases) {
    test(`rewrites ${from} to ${to}, and the apiserver rule is then satisfied`, () => {
      assert.ok(check(ipv6([from])).some((f) => f.rule === 'address'), 'the 1.36 apiserver refuses the original');
      const { result, warnings } = fix(ipv6([from]));
      assert.deepEqual(result, ipv6([to]));
      assert.deepEqual(warnings, [`ip-format: endpoints[0].addresses[0]: fixed: rewrote as "${to}" (RFC 5952)`]);
      assert.deepEqual(check(result).filter((f) => f.rule === 'address' || f.rule === 'ip-format'), []);
    });
  }
  for (const [name, object] of [
    ['IPv4 with leading zeros (ambiguous)', slice({}, [{ addresses: ['010.1.2.3'] }])],
    ['an IPv4-mapped IPv6 address', ipv6(['::ffff:10.1.2.3'])],
    ['an IPv6 address in an IPv4 slice', slice({}, [{ addresses: ['2001:DB8::1'] }])],
    ['text that is no IP', ipv6(['not-an-ip'])],
    ['canonical IPv6', ipv6(['2001:db8::1'])],
  ] as const) {
    test(`leaves ${name} as it is`, () => assert.deepEqual(fix(object).patch, []));
  }
  test('rewrites Endpoints ips, ready and not ready', () => {
    const object = endpointsObject({}, [{ addresses: [{ ip: '2001:DB8::1' }], notReadyAddresses: [{ ip: '10.0.0.1' }, { ip: '2001:db8:0:0::2' }], ports: [{ port: 80 }] }]);
    const { patch, result } = fix(object);
    assert.deepEqual(patch.map((op) => op.path), ['/subsets/0/addresses/0/ip', '/subsets/0/notReadyAddresses/1/ip']);
    assert.deepEqual(result, endpointsObject({}, [{ addresses: [{ ip: '2001:db8::1' }], notReadyAddresses: [{ ip: '10.0.0.1' }, { ip: '2001:db8::2' }], ports: [{ port: 80 }] }]));
    assert.deepEqual(check(result).filter((f) => f.rule === 'ip-format'), []);
  });
  test('can be switched off', () => assert.deepEqual(fix(ipv6(['2001:DB8::1']), { fixIPv6: false }).patch, []));
});

describe('duplicate addresses', () => {
  test('removes an address repeated within one endpoint', () => {
    const object = slice({}, [{ addresses: ['10.1.1.1', '10.1.1.1', '10.1.1.2'] }, { addresses: ['10.1.1.3'] }]);
    const { result, warnings } = fix(object);
    assert.deepEqual(result, slice({}, [{ addresses: ['10.1.1.1', '10.1.1.2'] }, { addresses: ['10.1.1.3'] }]));
    assert.deepEqual(warnings, ['duplicate-address: endpoints[0].addresses[1]: fixed: removed "10.1.1.1", listed twice in this endpoint']);
    assert.deepEqual(check(result).filter((f) => f.rule === 'duplicate-address'), []);
  });
  test('removes the duplicate that canonical rewriting reveals', () => {
    const { result } = fix(slice({ addressType: 'IPv6' }, [{ addresses: ['2001:DB8::1', '2001:db8::1'] }]));
    assert.deepEqual(result, slice({ addressType: 'IPv6' }, [{ addresses: ['2001:db8::1'] }]));
  });
  test('leaves the same address in two endpoints (two pods may share an IP briefly)', () => {
    assert.deepEqual(fix(slice({}, [{ addresses: ['10.1.1.1'] }, { addresses: ['10.1.1.1'] }])).patch, []);
  });
  test('can be switched off', () => assert.deepEqual(fix(slice({}, [{ addresses: ['10.1.1.1', '10.1.1.1'] }]), { fixDuplicates: false }).patch, []));
});

describe('what is never patched', () => {
  const messy = slice({ metadata: { name: 'web-1' }, addressType: 'IPv6' }, [{ addresses: ['2001:DB8::1', '2001:DB8::1'] }]);
  test('an update that leaves the endpoints as they were keeps them (apiserver ratcheting)', () => {
    const { patch } = fix(messy, {}, { operation: 'UPDATE', oldObject: messy });
    assert.deepEqual(patch.map((op) => op.path), ['/metadata/labels']);
  });
  test('a DELETE', () => assert.deepEqual(fix(messy, {}, { operation: 'DELETE' }).patch, []));
  test('an object the apiserver could not decode', () => {
    assert.deepEqual(fix({ ...messy, endpoints: 'x' }).patch, []);
  });
  test('fields no fix is about', () => {
    const { patch } = fix(messy);
    assert.ok(patch.every((op) => op.path === '/metadata/labels' || op.path.startsWith('/endpoints/0/addresses/')), JSON.stringify(patch));
  });
});

describe('POST /mutate reviews', () => {
  const answer = (body: unknown, over: Partial<Config> = {}) => {
    const outcome = reviewMutation(body, config(over));
    return (outcome.body as { response: AdmissionResponse }).response;
  };
  const decode = (r: AdmissionResponse): Operation[] => JSON.parse(Buffer.from(r.patch ?? '', 'base64').toString('utf8')) as Operation[];
  const requestWith = (object: Json, over: Json = {}) => {
    const captured = readAdmissionFixture('create-endpointslice-v1.json');
    return { ...captured, request: { ...(captured.request as Json), object, ...over } };
  };

  for (const name of admissionFixtureNames()) {
    test(`${name}: allowed, uid echoed, and any patch applies cleanly and leaves nothing it fixed`, () => {
      const captured = readAdmissionFixture(name);
      const request = captured.request as { uid: string; object: Json | null };
      const r = answer(captured);
      assert.equal(r.uid, request.uid);
      assert.equal(r.allowed, true);
      assert.equal('patch' in r, 'patchType' in r, 'patch and patchType come together');
      for (const w of r.warnings ?? []) assert.ok([...w].length <= MAX_WARNING_CHARS, w);
      if (!r.patch) return;
      assert.equal(r.patchType, 'JSONPatch');
      assert.ok(request.object);
      const fixed = applyPatch(structuredClone(request.object), decode(r), true, false).newDocument;
      const fixedRules = new Set((r.warnings ?? []).map((w) => w.split(':')[0]));
      const left = check(fixed).filter((f) => fixedRules.has(f.rule) && f.rule !== 'duplicate-address');
      assert.deepEqual(left.map((f) => `${f.rule} ${formatPath(f.path)}`), []);
    });
  }
  test('the captured slice without managed-by (v1beta1 request) gets it', () => {
    const r = answer(readAdmissionFixture('create-endpointslice-v1beta1.json'));
    assert.deepEqual(decode(r), [{ op: 'add', path: '/metadata/labels/endpointslice.kubernetes.io~1managed-by', value: 'endpoint-guard' }]);
  });
  test('a request with nothing to fix gets no patch and no patchType', () => {
    const r = answer(readAdmissionFixture('create-endpointslice-v1.json'));
    assert.deepEqual(Object.keys(r).sort(), ['allowed', 'uid']);
  });
  test('off mode never patches', () => {
    assert.deepEqual(Object.keys(answer(requestWith(withoutManagedBy()), { mode: 'off' })).sort(), ['allowed', 'uid']);
  });
  test('enforce mode patches and allows: rejecting is the validating half', () => {
    const r = answer(requestWith(withoutManagedBy()), { mode: 'enforce' });
    assert.equal(r.allowed, true);
    assert.equal(r.patchType, 'JSONPatch');
  });
  test('exempt writers are not patched', () => {
    const captured = readAdmissionFixture('create-endpointslice-as-controller.json');
    const request = captured.request as Json;
    const r = answer({ ...captured, request: { ...request, object: withoutManagedBy() } });
    assert.equal(r.patch, undefined);
  });
  test('a DELETE is not patched', () => {
    const r = answer(requestWith(withoutManagedBy(), { operation: 'DELETE', oldObject: withoutManagedBy(), object: null }));
    assert.equal(r.patch, undefined);
  });
  test('bad input gets 400 as on /validate', () => {
    assert.equal(reviewMutation({ kind: 'AdmissionReview' }, config()).httpStatus, 400);
  });
});

describe('fix warnings', () => {
  test(`stay within ${MAX_WARNING_CHARS} characters at the largest indexes and longest addresses`, () => {
    const long = '2001:0DB8:0000:0000:0000:0000:0000:0001';
    const last = { addresses: [...Array.from({ length: 98 }, (_, i) => `2001:db8::${(i + 2).toString(16)}`), long, long] };
    const object = slice({ metadata: { name: 'web-1' }, addressType: 'IPv6' }, [...Array.from({ length: 999 }, (_, i) => ({ addresses: [`2001:db8::1:${i.toString(16)}`] })), last]);
    const { fixes, warnings, result } = fix(object, { managedByValue: 'a'.repeat(63) });
    assert.deepEqual(fixes.map((f) => f.rule).sort(), ['duplicate-address', 'ip-format', 'ip-format', 'managed-by-missing']);
    for (const w of warnings) assert.ok([...w].length <= MAX_WARNING_CHARS, `${[...w].length}: ${w}`);
    assert.ok(warnings.includes('ip-format: endpoints[999].addresses[99]: fixed: rewrote as "2001:db8::1" (RFC 5952)'), warnings.join('\n'));
    assert.equal(((result.endpoints as Json[])[999]?.addresses as string[]).length, 99);
  });
});
