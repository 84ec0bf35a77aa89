// Every rule's warning fits in 120 characters, even for the longest inputs the API allows,
// and the list of warnings is bounded.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RuleId } from '../src/rules/catalogue.ts';
import { ruleIds } from '../src/rules/catalogue.ts';
import type { CheckInput } from '../src/rules/index.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { serviceLookup } from '../src/cluster/objects.ts';
import { MAX_WARNING_CHARS, decide, judge, warningLine, warningLines } from '../src/policy.ts';
import { policy } from '../src/rules/finding.ts';
import { check, endpointsObject, ipv4Addresses, ipv4Endpoints, type Json, slice } from './helpers/objects.ts';

const a = (n: number) => 'a'.repeat(n);
const longName = `${a(63)}.${a(63)}.${a(63)}.${a(61)}`; // 253 characters, the longest valid name
const tooLongName = `${longName}xx`;
const longKey = `${a(60)}.example.com/${a(63)}`;
const labels = (extra: Record<string, string>) => ({ 'kubernetes.io/service-name': a(63), 'endpointslice.kubernetes.io/managed-by': a(63), ...extra });
const longSlice = (over: Json = {}, endpoints?: Json[]) =>
  slice({ metadata: { name: `${a(63)}-${a(60)}.${a(63)}.${a(63)}`, namespace: a(63), labels: labels({}) }, ...over }, endpoints);
const longIPv6 = '2001:0DB8:0000:0000:0000:0000:0000:0001';
const longServices = serviceLookup([{
  name: a(63), hasSelector: true, ports: [{ name: a(63), protocol: 'TCP' }, { name: `c${a(62)}`, protocol: 'TCP' }, { name: `d${a(62)}`, protocol: 'TCP' }],
}]);

/** For each rule, an object with the longest inputs that triggers it: a new rule without one does not compile. */
const triggers: Record<RuleId, { object: Json; over?: Partial<CheckInput> }> = {
  'field-type': { object: longSlice({ ports: [{ name: a(63), port: 1e300 }] }) },
  'unknown-field': { object: longSlice({}, [{ addresses: ['10.0.0.1'], conditions: { [a(200)]: true } }]) },
  'api-version': { object: longSlice({ apiVersion: 'discovery.k8s.io/v1beta1' }) },
  'object-name': { object: slice({ metadata: { name: tooLongName.toUpperCase(), labels: labels({}) } }) },
  'object-metadata': { object: longSlice({ metadata: { name: 'x', labels: labels({ [`${a(300)}/${a(100)}`]: a(300) }) } }) },
  'address-type': { object: longSlice({ addressType: a(500) }) },
  address: { object: longSlice({ addressType: 'FQDN' }, [{ addresses: [`${a(64)}.${a(300)}`] }]) },
  'endpoint-limit': { object: longSlice({}, ipv4Endpoints(1001)) },
  'address-count': { object: longSlice({}, [{ addresses: ipv4Endpoints(101).map((e) => (e.addresses as string[])[0]) }]) },
  'endpoint-fields': { object: longSlice({}, [{ addresses: ['10.0.0.1'], nodeName: `${tooLongName}_`, hostname: a(300) }]) },
  hints: { object: longSlice({}, [{ addresses: ['10.0.0.1'], hints: { forZones: [{ name: a(300) }, { name: a(300) }] } }]) },
  ports: { object: longSlice({ ports: [{ name: a(300), protocol: a(300), port: 1, appProtocol: `${a(300)}/${a(300)}` }] }) },
  'subset-addresses': { object: endpointsObject({ metadata: { name: a(63) } }, [{ ports: [{ port: 80 }] }]) },
  'endpoints-deprecated': { object: endpointsObject() },
  'api-version-deprecated': { object: longSlice({ apiVersion: 'discovery.k8s.io/v1beta1' }), over: { version: kubeVersion(24) } },
  'fqdn-address-type': { object: longSlice({ addressType: 'FQDN' }, [{ addresses: [longName] }]) },
  'special-address': { object: endpointsObject({ metadata: { name: a(63) } }, [{ addresses: [{ ip: 'ff05:0000:0000:0000:0000:0000:0000:0001' }], ports: [{ port: 1 }] }]) },
  'ip-format': { object: endpointsObject({ metadata: { name: a(63) } }, [{ addresses: [{ ip: longIPv6 }], ports: [{ port: 1 }] }]) },
  'mixed-families': { object: endpointsObject({}, [{ addresses: [{ ip: '10.0.0.1' }, { ip: '2001:db8::1' }], ports: [{ port: 1 }] }]) },
  'slice-name-prefix': { object: slice({ metadata: { name: longName, labels: labels({ 'kubernetes.io/service-name': `z${a(62)}` }) } }) },
  'endpoints-name': { object: endpointsObject({ metadata: { name: longName } }) },
  'endpoint-soft-limit': { object: longSlice({}, ipv4Endpoints(1000)) },
  'mirror-limit': { object: endpointsObject({}, [{ addresses: ipv4Addresses(5000), ports: [{ port: 1 }] }]) },
  'managed-by-missing': { object: slice({ metadata: { name: longName, labels: { 'kubernetes.io/service-name': a(63) } } }) },
  'managed-by-controller': { object: longSlice({ metadata: { name: 'x', labels: labels({ 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' }) } }) },
  'service-name-missing': { object: slice({ metadata: { name: longName, labels: { 'endpointslice.kubernetes.io/managed-by': a(63) } } }) },
  'duplicate-address': { object: endpointsObject({}, [{ addresses: [{ ip: longIPv6 }], notReadyAddresses: [{ ip: longIPv6 }], ports: [{ port: 1 }] }]) },
  'port-number': { object: longSlice({ ports: [{ name: a(63), port: -2147483648 }] }) },
  zone: { object: longSlice({}, [{ addresses: ['10.0.0.1'], zone: `${a(300)}\n${a(300)}` }]) },
  'service-exists': { object: longSlice(), over: { services: serviceLookup([]) } },
  'service-ports': { object: longSlice({ ports: [{ name: a(63), protocol: 'SCTP', port: 1 }, { name: `b${a(62)}`, protocol: 'TCP', port: 1 }] }), over: { services: longServices } },
  'service-selector': { object: endpointsObject({ metadata: { name: a(63) } }), over: { services: longServices } },
};

describe('warning lines', () => {
  for (const rule of ruleIds) {
    test(`${rule}: every warning is at most ${MAX_WARNING_CHARS} characters with the longest inputs`, () => {
      const { object, over } = triggers[rule];
      const findings = check(object, { username: 'alice', ...over });
      assert.ok(findings.some((f) => f.rule === rule), `the trigger for ${rule} did not trigger it`);
      for (const f of findings) {
        const line = warningLine(f);
        assert.ok([...line].length <= MAX_WARNING_CHARS, `${[...line].length} characters: ${line}`);
        assert.doesNotMatch(line, /[\u0000-\u001f\u007f]/, 'control characters make the apiserver drop a warning');
        if (!f.rule.startsWith('endpoints-deprecated')) assert.ok(line.startsWith(`${f.rule}: `), line);
      }
    });
  }

  test('the Endpoints deprecation warning is the exact upstream text', () => {
    const [f] = check(endpointsObject()).filter((x) => x.rule === 'endpoints-deprecated');
    assert.ok(f);
    assert.equal(warningLine(f), 'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice');
  });

  test('a warning names the rule, the field path and the problem', () => {
    const [f] = check(slice({}, [{ addresses: ['127.0.0.1'] }])).filter((x) => x.rule === 'address');
    assert.ok(f);
    assert.equal(warningLine(f), 'address: endpoints[0].addresses[0]: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)');
  });

  test('warningLines keeps the first lines and counts the findings not shown', () => {
    const findings = Array.from({ length: 25 }, (_, i) => policy({ rule: 'zone', path: ['endpoints', i, 'zone'] }, 'bad zone'));
    const lines = findings.map(warningLine);
    assert.deepEqual(warningLines(findings, 10), [...lines.slice(0, 9), '... and 16 more findings']);
    assert.deepEqual(warningLines(findings.slice(0, 10), 10), lines.slice(0, 10));
  });

  test('warningLines shows a repeated line once; the count line counts findings, repeats included', () => {
    const at = (i: number) => policy({ rule: 'zone', path: ['endpoints', i, 'zone'] }, 'bad zone');
    const [l0, l1, l2] = [at(0), at(1), at(2)].map(warningLine);
    assert.deepEqual(warningLines([at(0), at(0), at(1), at(1), at(2)], 3), [l0, l1, l2]);
    assert.deepEqual(warningLines([at(0), at(0), at(1), at(2), at(0), at(3)], 3), [l0, l1, '... and 3 more findings']);
  });

  test('a 1000-endpoint slice full of problems yields at most maxWarnings lines', () => {
    const endpoints = Array.from({ length: 1000 }, () => ({ addresses: ['239.1.1.1', '239.1.1.1'] }));
    const decision = decide(judge(check(slice({}, endpoints)), {}), 'complain', 10);
    assert.equal(decision.warnings.length, 10);
    assert.match(decision.warnings[9] ?? '', /^\.\.\. and \d+ more findings$/);
  });
});
