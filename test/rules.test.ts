// Table tests for every rule: the valid shape, each invalid shape, and the boundaries.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kubeVersion } from '../src/rules/version.ts';
import { apiserverLine } from '../src/rules/finding.ts';
import { formatPath } from '../src/rules/path.ts';
import { check, endpointsObject, slice } from './helpers/objects.ts';
import { ruleCases } from './helpers/rule-cases.ts';

describe('rule tables', () => {
  for (const [name, object, rule, count, over] of ruleCases) {
    test(`${name} (${rule}: ${count})`, () => {
      const findings = check(object, over);
      const mine = findings.filter((f) => f.rule === rule);
      assert.equal(mine.length, count, mine.map((f) => `${formatPath(f.path)} ${apiserverLine(f)}`).join('\n') || `no ${rule} finding`);
    });
  }
});

describe('ratcheting (1.33+)', () => {
  const bad = slice({}, [{ addresses: ['127.0.0.1'] }]);
  test('an update that leaves invalid endpoints as they were keeps passing', () => {
    assert.deepEqual(check(bad, { operation: 'UPDATE', oldObject: bad }).filter((f) => f.rule === 'address'), []);
  });
  test('an update that changes the endpoints is judged in full', () => {
    const old = slice({}, [{ addresses: ['10.0.0.1'] }]);
    assert.equal(check(bad, { operation: 'UPDATE', oldObject: old }).filter((f) => f.rule === 'address').length, 1);
  });
  test('the 1.24 apiserver did not ratchet', () => {
    assert.equal(check(bad, { operation: 'UPDATE', oldObject: bad, version: kubeVersion(24) }).filter((f) => f.rule === 'address').length, 1);
  });
  test('unchanged Endpoints subsets ratchet too', () => {
    const ep = endpointsObject({}, [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }]);
    assert.deepEqual(check(ep, { operation: 'UPDATE', oldObject: ep }).filter((f) => f.rule === 'address'), []);
  });
});

describe('field paths', () => {
  test('an address finding points at the endpoint and address index', () => {
    const findings = check(slice({}, [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4', '127.0.0.1'] }]));
    assert.deepEqual(findings.filter((f) => f.rule === 'address').map((f) => formatPath(f.path)), ['endpoints[3].addresses[1]']);
  });
  test('an unknown field is named with its full path', () => {
    const [f] = check(slice({}, [{ addresses: ['10.0.0.1'], conditions: { healthy: true } }])).filter((x) => x.rule === 'unknown-field');
    assert.equal(f && formatPath(f.path), 'endpoints[0].conditions.healthy');
  });
});
