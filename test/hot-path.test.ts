// The review's per-endpoint work avoids allocating: a clean endpoint decodes to itself, and one
// map of seen addresses serves every slice under a stamp of its own. These tests hold the
// behaviour at the edges of those shortcuts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeObject, type EndpointSlice } from '../src/rules/objects.ts';
import { formatPath } from '../src/rules/path.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { check, type Json, slice } from './helpers/objects.ts';

const v36 = kubeVersion(36);
const endpointsOf = (object: Json, requestApiVersion?: string): unknown[] => {
  const decoded = decodeObject(object, v36, requestApiVersion).object as EndpointSlice | undefined;
  assert.ok(decoded, 'decodes');
  return decoded.endpoints;
};
const duplicates = (object: Json): string[] =>
  check(object).filter((f) => f.rule === 'duplicate-address').map((f) => `${formatPath(f.path)}: ${f.detail}`);

describe('a clean v1 endpoint decodes to itself', () => {
  const clean = {
    addresses: ['10.1.2.3'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'a', nodeName: 'node-1',
    zone: 'zone-a', targetRef: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u' },
  };

  test('every field of its type, none null, no unknown field: the same object', () => {
    const endpoint = structuredClone(clean);
    assert.equal(endpointsOf(slice({}, [endpoint]))[0], endpoint);
  });

  const copied: [string, Json, Json][] = [
    ['a null nodeName is "not set"', { nodeName: null }, { nodeName: undefined }],
    ['a null hostname is "not set"', { hostname: null }, { hostname: undefined }],
    ['a null zone is "not set"', { zone: null }, { zone: undefined }],
    ['null addresses are "not set"', { addresses: null }, { addresses: undefined }],
    ['a null address is ""', { addresses: ['10.1.2.3', null] }, { addresses: ['10.1.2.3', ''] }],
    ['an unknown field is left out', { color: 'blue' }, {}],
    ['deprecatedTopology is wiped on a v1 write', { deprecatedTopology: { rack: 'r1' } }, { deprecatedTopology: undefined }],
    ['hints are decoded', { hints: { forZones: [{ name: 'zone-a' }] } }, { hints: { forZones: [{ name: 'zone-a' }], forNodes: undefined } }],
  ];
  for (const [name, change, expected] of copied) {
    test(`${name}: decoded into a new object`, () => {
      const endpoint = { ...structuredClone(clean), ...change };
      const [decoded] = endpointsOf(slice({}, [endpoint]));
      assert.notEqual(decoded, endpoint);
      const want = { ...structuredClone(clean), deprecatedTopology: undefined, hints: undefined, ...expected };
      assert.deepEqual(decoded, want);
    });
  }

  test('deprecatedTopology written through v1beta1 is kept (the apiserver wipes it only on v1 writes)', () => {
    const endpoint = { ...structuredClone(clean), deprecatedTopology: { rack: 'r1' } };
    const [decoded] = endpointsOf(slice({}, [endpoint]), 'discovery.k8s.io/v1beta1');
    assert.deepEqual((decoded as Json).deprecatedTopology, { rack: 'r1' });
  });

  test('the findings of a clean endpoint and of a copy with a null field are the same', () => {
    const endpoints = [structuredClone(clean), { ...structuredClone(clean), addresses: ['10.1.2.4'], hostname: null }];
    const findings = check(slice({}, endpoints)).map((f) => `${f.rule} ${formatPath(f.path)}`);
    assert.deepEqual(findings, check(slice({}, [structuredClone(clean), { ...endpoints[1], hostname: undefined }])).map((f) => `${f.rule} ${formatPath(f.path)}`));
  });
});

describe('duplicate addresses, with one map of seen addresses for every slice', () => {
  test('each slice starts afresh: an address seen in an earlier slice is no duplicate', () => {
    assert.deepEqual(duplicates(slice({}, [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }])), []);
    assert.deepEqual(duplicates(slice({}, [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }])), []);
  });

  test('the endpoint named is the first in this slice, not where an earlier slice had it', () => {
    assert.deepEqual(duplicates(slice({}, [{ addresses: ['10.0.0.9'] }, { addresses: ['10.0.0.1'] }])), []);
    assert.deepEqual(duplicates(slice({}, [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'] }])), [
      'endpoints[2].addresses[0]: "10.0.0.1" is also in endpoints[0]; keep one',
    ]);
  });

  test('a repeat within one endpoint says so, even when an earlier endpoint has the address too', () => {
    assert.deepEqual(duplicates(slice({}, [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.1', '10.0.0.1'] }])), [
      'endpoints[1].addresses[0]: "10.0.0.1" is also in endpoints[0]; keep one',
      'endpoints[1].addresses[1]: "10.0.0.1" repeats in this endpoint; remove the duplicate',
    ]);
  });

  test('found across a 1000-endpoint slice, and after slices with more distinct addresses than the map keeps', () => {
    const many = (offset: number) => Array.from({ length: 1000 }, (_, i) => {
      const n = offset + i;
      return { addresses: Array.from({ length: 10 }, (_, k) => `10.${k}.${(n >> 8) & 255}.${n & 255}`) };
    });
    for (let offset = 0; offset < 4000; offset += 1000) assert.deepEqual(duplicates(slice({}, many(offset))), []);
    const endpoints = many(0);
    endpoints[999] = { addresses: ['10.0.0.0'] };
    assert.deepEqual(duplicates(slice({}, endpoints)), ['endpoints[999].addresses[0]: "10.0.0.0" is also in endpoints[0]; keep one']);
  });
});

describe('name checks share one empty answer for values they passed', () => {
  test('the shared answer is empty and frozen, and a second check of the same finalizer still reports it', async () => {
    const { dnsSubdomain, qualifiedName, labelValue } = await import('../src/rules/names.ts');
    for (const again of [dnsSubdomain('node-1'), qualifiedName('example.com/key', true), labelValue('zone-a', true)]) {
      assert.deepEqual(again, []);
    }
    const shared = dnsSubdomain('node-1');
    assert.equal(dnsSubdomain('node-1'), shared);
    assert.ok(Object.isFrozen(shared));
    // "custom" passes as a qualified name (so the second check gets the shared answer) but is no standard finalizer.
    const finalizerFindings = () => check(slice({ metadata: { name: 'web-abc12', finalizers: ['custom'] } }))
      .filter((f) => f.rule === 'object-metadata').map((f) => f.detail);
    const expected = ['name is neither a standard finalizer name nor is it fully qualified'];
    assert.deepEqual(finalizerFindings(), expected);
    assert.deepEqual(finalizerFindings(), expected);
  });
});
