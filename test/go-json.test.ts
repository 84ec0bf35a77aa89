// A field of the wrong JSON type, worded as the apiserver's Go decoder words it (src/rules/go-json.ts),
// and which of several the apiserver names.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { stringify } from 'yaml';
import { kubeVersion } from '../src/rules/version.ts';
import { type Json, check, endpointsObject, slice } from './helpers/objects.ts';
import { runCli } from './helpers/lint.ts';
import { tempDir } from './helpers/temp.ts';

const typeErrors = (object: unknown, minor = 36) => check(object, { version: kubeVersion(minor) }).filter((f) => f.rule === 'field-type');
const ep = (over: Json): Json[] => [{ addresses: ['10.1.2.3'], ...over }];
const v1beta1 = (over: Json, endpoints: Json[]): Json => ({ ...slice(over, endpoints), apiVersion: 'discovery.k8s.io/v1beta1' });

const CASES: readonly (readonly [string, Json, string, number?])[] = [
  ['a port as text', slice({ ports: [{ name: 'h', port: '80' }] }), 'string into Go struct field EndpointPort.ports.port of type int32'],
  ['a port as a boolean', slice({ ports: [{ name: 'h', port: true }] }), 'bool into Go struct field EndpointPort.ports.port of type int32'],
  ['a port with a fraction, shown', slice({ ports: [{ name: 'h', port: 80.5 }] }), 'number 80.5 into Go struct field EndpointPort.ports.port of type int32'],
  ['a port below int32', slice({ ports: [{ name: 'h', port: -2147483649 }] }), 'number -2147483649 into Go struct field EndpointPort.ports.port of type int32'],
  ['a huge port, in Go\'s JSON form', slice({ ports: [{ name: 'h', port: 1e21 }] }), 'number 1e+21 into Go struct field EndpointPort.ports.port of type int32'],
  ['a port name as a number, not shown for a string field', slice({ ports: [{ name: 80 }] }), 'number into Go struct field EndpointPort.ports.name of type string'],
  ['a protocol, of a named string type', slice({ ports: [{ name: 'h', protocol: 6 }] }), 'number into Go struct field EndpointPort.ports.protocol of type v1.Protocol'],
  ['ports as an object', slice({ ports: { name: 'h' } }), 'object into Go struct field EndpointSlice.ports of type []v1.EndpointPort'],
  ['a port as text, where a port object goes', slice({ ports: ['http'] }), 'string into Go struct field EndpointSlice.ports of type v1.EndpointPort'],
  ['addressType', slice({ addressType: 4 }), 'number into Go struct field EndpointSlice.addressType of type v1.AddressType'],
  ['addresses as text', slice({}, ep({ addresses: '10.1.2.3' })), 'string into Go struct field Endpoint.endpoints.addresses of type []string'],
  ['an address as a number', slice({}, ep({ addresses: [5] })), 'number into Go struct field Endpoint.endpoints.addresses of type string'],
  ['a condition as text', slice({}, ep({ conditions: { ready: 'true' } })), 'string into Go struct field EndpointConditions.endpoints.conditions.ready of type bool'],
  ['conditions as a list', slice({}, ep({ conditions: [] })), 'array into Go struct field Endpoint.endpoints.conditions of type v1.EndpointConditions'],
  ['a targetRef uid', slice({}, ep({ targetRef: { kind: 'Pod', uid: 7 } })), 'number into Go struct field ObjectReference.endpoints.targetRef.uid of type types.UID'],
  ['a zone hint as text', slice({}, ep({ hints: { forZones: ['a'] } })), 'string into Go struct field EndpointHints.endpoints.hints.forZones of type v1.ForZone'],
  ['a deprecatedTopology value', slice({}, ep({ deprecatedTopology: { a: 1 } })), 'number into Go struct field Endpoint.endpoints.deprecatedTopology of type string'],
  ['a zone as an object', slice({}, ep({ zone: {} })), 'object into Go struct field Endpoint.endpoints.zone of type string'],
  ['a v1beta1 topology value, in v1beta1\'s types', v1beta1({}, ep({ topology: { k: 1 } })), 'number into Go struct field Endpoint.endpoints.topology of type string', 24],
  ['v1beta1 endpoints as an object', v1beta1({ endpoints: {} }, []), 'object into Go struct field EndpointSlice.endpoints of type []v1beta1.Endpoint', 24],
  ['an Endpoints port as text', endpointsObject({}, [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ port: 'x' }] }]), 'string into Go struct field EndpointPort.subsets.ports.port of type int32'],
  ['an Endpoints address ip as a number', endpointsObject({}, [{ addresses: [{ ip: 1 }] }]), 'number into Go struct field EndpointAddress.subsets.addresses.ip of type string'],
  ['subsets as an object', endpointsObject({ subsets: {} }, []), 'object into Go struct field Endpoints.subsets of type []v1.EndpointSubset'],
  ['a generation as text', slice({ metadata: { name: 'w', generation: '1' } }), 'string into Go struct field ObjectMeta.metadata.generation of type int64'],
  ['metadata as text', slice({ metadata: 'w' }), 'string into Go struct field EndpointSlice.metadata of type v1.ObjectMeta'],
];

describe('a field of the wrong JSON type is worded as the apiserver\'s decoder words it', () => {
  for (const [name, object, words, minor] of CASES) {
    test(name, () => {
      assert.deepEqual(typeErrors(object, minor).map((f) => f.detail), [`json: cannot unmarshal ${words}`]);
    });
  }

  test('every field the decoder reads, given each wrong type, has the decoder\'s words', () => {
    const wrong: unknown[] = ['x', 7, 7.5, true, [], {}];
    const fields: Json = {
      'metadata.name': 1, 'metadata.namespace': 1, 'metadata.generateName': 1, 'metadata.uid': 1, 'metadata.selfLink': 1,
      'metadata.resourceVersion': 1, 'metadata.generation': 1, 'metadata.deletionGracePeriodSeconds': 1, 'metadata.creationTimestamp': 1,
      'metadata.deletionTimestamp': 1, 'metadata.labels': 1, 'metadata.annotations': 1, 'metadata.finalizers': 1, 'metadata.managedFields': 1,
      'metadata.ownerReferences': 1, addressType: 1, endpoints: 1, ports: 1,
    };
    const put = (target: Json, dotted: string, value: unknown) => {
      const keys = dotted.split('.');
      let at: Json = target;
      for (const k of keys.slice(0, -1)) at = at[k] as Json;
      at[keys.at(-1) ?? ''] = value;
    };
    const endpointFields = ['addresses', 'conditions', 'hostname', 'nodeName', 'zone', 'targetRef', 'hints', 'deprecatedTopology'];
    const unworded: string[] = [];
    for (const value of wrong) {
      const objects: Json[] = [
        ...Object.keys(fields).map((f) => { const o = slice({ metadata: { name: 'w', labels: {} } }); put(o, f, value); return o; }),
        ...endpointFields.map((f) => slice({}, ep({ [f]: value }))),
        ...['name', 'protocol', 'port', 'appProtocol'].map((f) => slice({ ports: [{ [f]: value }] })),
        slice({}, ep({ conditions: { ready: value, serving: value, terminating: value }, targetRef: { kind: value, name: value, uid: value } })),
        slice({}, ep({ hints: { forZones: [{ name: value }], forNodes: [value] } })),
        slice({ metadata: { name: 'w', labels: { a: value }, finalizers: [value], ownerReferences: [{ name: value, controller: value }] } }),
        endpointsObject({}, [{ addresses: [{ ip: value, hostname: value, nodeName: value, targetRef: value }], notReadyAddresses: [value], ports: [{ name: value, port: value, protocol: value }] }]),
      ];
      for (const o of objects) {
        for (const f of typeErrors(o)) if (!f.detail.startsWith('json: cannot unmarshal ')) unworded.push(`${JSON.stringify(f.path)}: ${f.detail}`);
      }
    }
    assert.deepEqual(unworded, []);
  });

  test('lint\'s own shorter words stay the hint, for text output and the webhook\'s warnings', () => {
    const [f] = typeErrors(slice({ ports: [{ name: 'h', port: 80.5 }] }));
    assert.equal(f?.hint, 'cannot decode 80.5: expected an integer (int32)');
  });
});

describe('of several type errors, the apiserver names the first of the JSON kubectl sends, its keys sorted', () => {
  const say = async (t: import('node:test').TestContext, documents: Json[]) => {
    const file = path.join(await tempDir(t, 'endpoint-guard-go-json-'), 'm.yaml');
    await writeFile(file, documents.map((d) => stringify(d, { version: '1.1' })).join('---\n'));
    const run = await runCli(['lint', '--ruleset', 'apiserver', '--format', 'apiserver', file]);
    return run.stdout.replaceAll(file, 'FILE').replace(/\n$/, '');
  };
  const head = 'Error from server (BadRequest): error when creating "FILE": EndpointSlice in version "v1" cannot be handled as a EndpointSlice: json: cannot unmarshal ';

  test('addressType comes before ports, whatever the file\'s order', async (t) => {
    const object = { ...slice({ ports: [{ name: 'h', port: 'x' }] }), addressType: 4 };
    assert.equal(await say(t, [object]), `${head}number into Go struct field EndpointSlice.addressType of type v1.AddressType`);
  });

  test('a type error is named before unknown fields, which are named only without one', async (t) => {
    assert.equal(await say(t, [slice({ color: 'red', ports: [{ name: 'h', port: 'x' }] })]),
      `${head}string into Go struct field EndpointPort.ports.port of type int32`);
  });

  test('a List item\'s metadata is checked by the apiserver, not kubectl: sorted keys, and a timestamp stops decoding', async (t) => {
    const item = slice({ addressType: 4, metadata: { name: 'w', labels: { b: 1, a: true } } });
    const list = (i: Json) => ({ apiVersion: 'v1', kind: 'List', items: [i] });
    assert.equal(await say(t, [list(item)]), `${head}number into Go struct field EndpointSlice.addressType of type v1.AddressType`);
    const stamped = { ...item, metadata: { ...(item.metadata as Json), creationTimestamp: true } };
    assert.equal(await say(t, [list(stamped)]), `${head}bool into Go struct field ObjectMeta.metadata.creationTimestamp of type string`);
    const labelsOnly = slice({ metadata: { name: 'w', labels: { b: 1, a: true } } });
    assert.equal(await say(t, [list(labelsOnly)]), `${head}bool into Go struct field ObjectMeta.metadata.labels of type string`);
  });
});
