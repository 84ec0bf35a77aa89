// Agreement with the real EndpointSlice mirroring controller (kube-controller-manager v1.36.2):
// for every recorded case, the slices it made from an Endpoints object and its Service.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { mirrorSlices, notMirroredBecause, ownedSliceName, ownedSlices, type ServiceInfo } from '../src/convert/mirror.ts';
import { checkObject } from '../src/rules/index.ts';
import { catalogue } from '../src/rules/catalogue.ts';
import { apiserverLine } from '../src/rules/finding.ts';
import { canonicalIP, parseIP } from '../src/rules/net.ts';
import { decodeObject, type Endpoints } from '../src/rules/objects.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { type MirrorCase, readMirrorCases } from './helpers/fixtures.ts';

const version = kubeVersion(36);

function serviceInfo(service: unknown): ServiceInfo | undefined {
  if (typeof service !== 'object' || service === null) return undefined;
  const { metadata, spec } = service as { metadata?: { name?: string }; spec?: { selector?: Record<string, string> | null } };
  return { name: metadata?.name ?? '', hasSelector: Object.keys(spec?.selector ?? {}).length > 0 };
}

/** The Service and Endpoints after every step of a sequence case. */
function finalState(c: MirrorCase): { service: unknown; endpoints: unknown; slices: Record<string, unknown>[] } {
  let { service, endpoints } = c;
  let slices = c.slices;
  for (const step of c.steps ?? []) {
    if (step.action === 'replaceEndpoints') endpoints = step.endpoints;
    if (step.action === 'deleteEndpoints') endpoints = null;
    if (step.action === 'deleteService') service = null;
    if (step.action === 'createService') service = step.service;
    if (step.action === 'patchService') {
      const s = service as { spec?: object };
      service = { ...s, spec: { ...s.spec, ...(step.patch as { spec?: object }).spec } };
    }
    slices = step.slices;
  }
  return { service, endpoints, slices };
}

/** As the fixtures' README says: ports and endpoints as sets, names by generateName, server fields and namespace ignored. */
function comparable(slice: Record<string, unknown>, keepGenerateName: boolean): string {
  const { metadata, endpoints, ports, ...rest } = slice as { metadata: Record<string, unknown>; endpoints?: unknown[]; ports?: unknown[] };
  const { name: _name, namespace: _namespace, generateName, ownerReferences, ...meta } = metadata;
  const owners = (ownerReferences as Record<string, unknown>[] | undefined)?.map(({ uid: _uid, ...o }) => o);
  const sortedJson = (list: unknown[] | undefined) => list?.map((x) => JSON.stringify(x, sortKeys)).sort();
  return JSON.stringify({
    ...rest,
    metadata: { ...meta, ownerReferences: owners, ...(keepGenerateName ? { generateName } : {}) },
    endpoints: sortedJson(endpoints),
    ports: sortedJson(ports),
  }, sortKeys);
}

/** A JSON.stringify replacer that writes object keys in sorted order, at every depth. */
const sortKeys = (_key: string, v: unknown): unknown =>
  (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v);

describe('mirroring like kube-controller-manager v1.36.2', () => {
  const cases = readMirrorCases();
  let agreed = 0;
  after(() => console.log(`# agreement with the mirroring controller: ${agreed}/${cases.length}`));
  for (const c of cases) {
    test(`${c.id}: ${c.description}`, () => {
      const state = finalState(c);
      // A slice the controller rewrote in place lost its generateName: compare it only where kept.
      const keepGenerateName = state.slices.every((sl) => (sl.metadata as { generateName?: string }).generateName);
      let mine: Record<string, unknown>[] = [];
      if (state.endpoints) {
        const decoded = decodeObject(state.endpoints, version);
        assert.equal(decoded.object?.kind, 'Endpoints', JSON.stringify(decoded.findings));
        const ep = decoded.object as Endpoints;
        if (notMirroredBecause(ep, serviceInfo(state.service)) === undefined) {
          mine = mirrorSlices(ep).slices as unknown as Record<string, unknown>[];
        }
      }
      const expected = state.slices.map((s) => comparable(s, keepGenerateName)).sort();
      const actual = mine.map((s) => comparable(s, keepGenerateName)).sort();
      assert.deepEqual(actual, expected);
      agreed++;
    });
  }
});

describe('owned slices (convert --as owned)', () => {
  const options = { managedBy: 'migration.example.com', perSlice: 100 };
  const mirrored = readMirrorCases().filter((c) => !c.steps?.length && c.slices.length > 0);
  for (const c of mirrored) {
    test(`${c.id}: keeps every address, passes every rule without an error, and names its slices the same each time`, () => {
      const decoded = decodeObject(c.endpoints, version).object;
      assert.ok(decoded?.kind === 'Endpoints');
      const { slices } = ownedSlices(decoded, options);
      assert.deepEqual(ownedSlices(decoded, options).slices, slices, 'a second run gives the same slices');
      const wanted = new Set(decoded.subsets.flatMap((s) => [...s.addresses, ...s.notReadyAddresses]).map((a) => `${canonicalIP(parseIP(a.ip)!)}|${a.targetRef?.uid ?? ''}`));
      const got = slices.flatMap((s) => s.endpoints.map((e) => `${e.addresses[0]}|${e.targetRef?.uid ?? ''}`));
      assert.deepEqual(new Set(got), wanted, 'every address, none dropped');
      assert.equal(got.length, wanted.size, 'and each once');
      for (const slice of slices) {
        assert.match(slice.metadata.name ?? '', /^[a-z0-9.-]+-ipv[46]-\d+$/);
        assert.ok(slice.endpoints.length <= options.perSlice);
        assert.equal(slice.metadata.ownerReferences, undefined, 'deleting the Endpoints must not delete its replacement');
        const errors = checkObject({ object: slice, operation: 'CREATE', version, softEndpointLimit: 100, username: 'alice' }).findings
          .filter((f) => (f.severity ?? catalogue[f.rule].severity) === 'error');
        assert.deepEqual(errors.map(apiserverLine), []);
      }
    });
  }
  test('spreads 2500 addresses over slices of at most perSlice, in address order, with numbered names', () => {
    const ips = Array.from({ length: 2500 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}` }));
    const ep = decodeObject({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'data' }, subsets: [{ addresses: ips, ports: [{ port: 5432 }] }] }, version).object;
    assert.ok(ep?.kind === 'Endpoints');
    const { slices } = ownedSlices(ep, { ...options, perSlice: 1000 });
    assert.deepEqual(slices.map((s) => [s.metadata.name, s.endpoints.length]), [['db-ipv4-1', 1000], ['db-ipv4-2', 1000], ['db-ipv4-3', 500]]);
  });
  test('cuts a long name to 253 characters and keeps it a DNS subdomain', () => {
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    const name = ownedSliceName(long, 'IPv6', 12);
    assert.equal(name.length <= 253, true);
    assert.match(name, /[a-z0-9]-ipv6-12$/);
    assert.equal(ownedSliceName('web', 'IPv4', 1), 'web-ipv4-1');
  });
});
