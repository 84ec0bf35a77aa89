// The objects the admission policies are compared with the webhook on: the rule tables, every
// captured fixture, and objects generated around the covered rules (fast-check, seeded).
import fc from 'fast-check';
import { VERDICT_FILES, admissionFixtureNames, readAdmissionFixture, readVerdicts } from './fixtures.ts';
import { ruleCases } from './rule-cases.ts';
import type { Json } from './admission-policies.ts';

export interface CorpusItem {
  readonly source: string;
  readonly name: string;
  readonly object: Json;
  readonly oldObject?: Json | undefined;
  readonly operation: 'CREATE' | 'UPDATE';
  readonly username: string;
  readonly namespace: string;
}

const PERSON = 'alice@example.com';
const SLICE_CONTROLLER = 'system:serviceaccount:kube-system:endpointslice-controller';
const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function fromRuleTables(): CorpusItem[] {
  return ruleCases.map(([name, object, , , over]) => ({
    source: 'rule tables', name, object,
    ...(isRecord(over?.oldObject) ? { oldObject: over.oldObject } : {}),
    operation: over?.operation === 'UPDATE' ? 'UPDATE' : 'CREATE',
    username: over?.username ?? PERSON,
    namespace: 'default',
  }));
}

function fromVerdicts(): CorpusItem[] {
  return VERDICT_FILES.flatMap(({ file, version }) => readVerdicts(file).map((c): CorpusItem => ({
    source: `verdicts of ${version}`, name: c.id, object: c.manifest as Json, operation: 'CREATE', username: PERSON, namespace: 'default',
  })));
}

function fromAdmissionRequests(): CorpusItem[] {
  return admissionFixtureNames().flatMap((file): CorpusItem[] => {
    const request = readAdmissionFixture(file).request as Json;
    if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return []; // the policies match CREATE and UPDATE only
    return [{
      source: 'admission requests', name: file, object: request.object as Json,
      ...(isRecord(request.oldObject) ? { oldObject: request.oldObject } : {}),
      operation: request.operation,
      username: String((request.userInfo as Json).username),
      namespace: String(request.namespace),
    }];
  });
}

// Addresses around what the rules and the apiserver versions tell apart: mostly ones every version
// accepts (unicast, multicast, broadcast), some only older versions accept, some none does.
const IPV4 = ['10.0.0.1', '192.168.7.9', '8.8.8.8', '239.1.1.1', '224.0.1.1', '255.255.255.255', '223.255.255.255', '240.0.0.1'];
const IPV4_REFUSED_SOMEWHERE = ['224.0.0.5', '127.0.0.1', '169.254.1.1', '0.0.0.0', '010.1.1.1', '::ffff:10.1.1.1', '2001:db8::1'];
const IPV6 = ['2001:db8::1', 'fd00::1', 'ff05::1', 'ff0e::1:2', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ff::1', 'fe7f::1', 'ff15::3'];
const IPV6_REFUSED_SOMEWHERE = ['ff02::1', '::1', 'fe80::1', '2001:DB8::1', '2001:db8:0:0:0:0:0:1', '::', '10.0.0.1', '::ffff:10.1.1.1'];
const FQDN = ['backend.example.com', 'a.b', 'svc.ns.svc.cluster.local'];
const ZONES = [undefined, 'zone-a', '', 'us-east-1a', 'Bad Zone!', 'a'.repeat(63), 'a'.repeat(64), 'x"y', 'tab\there', 'z'.repeat(300)];
const SERVICE_NAMES = [undefined, 'web', 'api', 'w'.repeat(63)];
const MANAGERS = [undefined, 'team.example.com', 'endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io'];

const addressArb = (addressType: string): fc.Arbitrary<string> => {
  if (addressType === 'FQDN') return fc.constantFrom(...FQDN);
  const [usual, rare] = addressType === 'IPv4' ? [IPV4, IPV4_REFUSED_SOMEWHERE] : [IPV6, IPV6_REFUSED_SOMEWHERE];
  return fc.oneof({ arbitrary: fc.constantFrom(...usual), weight: 12 }, { arbitrary: fc.constantFrom(...rare), weight: 1 });
};
const endpointArb = (addressType: string) => fc.record({
  addresses: fc.array(addressArb(addressType), { minLength: 1, maxLength: 3 }),
  zone: fc.constantFrom(...ZONES),
}).map(({ addresses, zone }) => (zone === undefined ? { addresses } : { addresses, zone }));
const portArb = fc.constantFrom<Json>(
  { name: 'http', protocol: 'TCP', port: 80 }, { name: 'h', port: 0 }, { name: 'h' }, { name: 'h', port: 65536 }, { name: 'h', port: 65535 },
  { name: 'dns', protocol: 'UDP', port: 53 }, { name: 'neg', port: -1 },
);

const sliceArb: fc.Arbitrary<CorpusItem> = fc.record({
  addressType: fc.constantFrom('IPv4', 'IPv4', 'IPv6', 'IPv6', 'FQDN'),
  service: fc.constantFrom(...SERVICE_NAMES),
  manager: fc.constantFrom(...MANAGERS),
  name: fc.constantFrom<Json>({ name: 'web-abc12' }, { name: 'api-1' }, { generateName: 'web-' }, { generateName: 'x-' }, { name: `w${'w'.repeat(62)}-1` }),
  count: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 99, max: 101 })),
  ports: fc.oneof(fc.constant(undefined), fc.uniqueArray(portArb, { maxLength: 2, selector: (p) => String(p.name) })),
  username: fc.constantFrom(PERSON, PERSON, PERSON, SLICE_CONTROLLER, 'system:serviceaccount:kube-system:endpointslicemirroring-controller'),
  seed: fc.integer(),
}).chain((s) => fc.array(endpointArb(s.addressType), { minLength: s.count, maxLength: s.count }).map((endpoints) => {
  const labels = Object.fromEntries([
    ...(s.service === undefined ? [] : [['kubernetes.io/service-name', s.service]]),
    ...(s.manager === undefined ? [] : [['endpointslice.kubernetes.io/managed-by', s.manager]]),
  ]);
  const object: Json = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { ...s.name, labels }, addressType: s.addressType,
    ...(endpoints.length > 0 || s.seed % 2 === 0 ? { endpoints } : {}),
    ...(s.ports === undefined ? {} : { ports: s.ports }),
  };
  return { source: 'generated', name: `slice ${s.seed}`, object, operation: 'CREATE' as const, username: s.username, namespace: 'default' };
}));

const endpointsArb: fc.Arbitrary<CorpusItem> = fc.record({
  name: fc.constantFrom('web', 'web.example', '1web', 'web-1', 'a'.repeat(64), 'Web'),
  ips: fc.array(fc.constantFrom(...IPV4, ...IPV6, ...IPV4_REFUSED_SOMEWHERE), { minLength: 1, maxLength: 3 }),
  operation: fc.constantFrom<'CREATE' | 'UPDATE'>('CREATE', 'UPDATE'),
  seed: fc.integer(),
}).map((e) => {
  const object: Json = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: e.name },
    subsets: [{ addresses: e.ips.map((ip) => ({ ip })), ports: [{ port: 8080 }] }],
  };
  return {
    source: 'generated', name: `endpoints ${e.seed}`, object, operation: e.operation, username: PERSON, namespace: 'default',
    ...(e.operation === 'UPDATE' ? { oldObject: { ...object, subsets: [{ addresses: [{ ip: '10.9.9.9' }], ports: [{ port: 8080 }] }] } } : {}),
  };
});

/** Slices and Endpoints around the covered rules, the same on every run (a fixed seed). */
export function generated(slices: number, endpoints: number): CorpusItem[] {
  return [...fc.sample(sliceArb, { numRuns: slices, seed: 20261204 }), ...fc.sample(endpointsArb, { numRuns: endpoints, seed: 20261205 })];
}

export const corpus = (slices: number, endpoints: number): CorpusItem[] =>
  [...fromRuleTables(), ...fromVerdicts(), ...fromAdmissionRequests(), ...generated(slices, endpoints)];
