// Property-based tests over the real HTTPS server (fast-check): random bytes, random JSON and
// mutated real fixtures. Every request gets a well-formed AdmissionReview for its uid (200) or a
// 4xx JSON error; never a 5xx, a hang (each request has a deadline) or a changed answer for the
// valid review sent after it. Seeded and bounded in count: FUZZ_SEED=N repeats a run, FUZZ_RUNS=K
// scales every property's count (default 1), and a failure prints the seed and the case.
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { test } from 'node:test';
import fc from 'fast-check';
import { admissionFixtureNames, readAdmissionFixture } from './helpers/fixtures.ts';
import { type Reply, httpsRequest } from './helpers/https.ts';
import { startTestServing } from './helpers/serving.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
if (!Number.isSafeInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
if (!(SCALE > 0 && SCALE <= 100)) throw new Error(`FUZZ_RUNS must be a number over 0 and at most 100, got ${process.env.FUZZ_RUNS}`);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));

type Route = '/validate' | '/mutate';
const ROUTES: readonly Route[] = ['/validate', '/mutate'];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const FIXTURES = new Map(admissionFixtureNames().map((name) => [name, readAdmissionFixture(name) as Json]));
/** Every path into a fixture, to pick one to mutate. */
const PATHS = new Map([...FIXTURES].map(([name, value]) => [name, pathsOf(value)]));

function pathsOf(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (prefix.length > 0) out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

/** A mutation, kept small so a failing case prints readably; the body is built from it. */
type Mutation =
  | { kind: 'remove' }
  | { kind: 'replace'; value: Json } // a type swapped, a number where a string belongs...
  | { kind: 'raw'; text: 'proto' | 'constructor' }
  | { kind: 'huge-string'; length: number }
  | { kind: 'deep'; depth: number; open: '[' | '{"a":' | '{"__proto__":' }
  | { kind: 'big-array'; length: number; element: Json };

const PROTO_TEXT = {
  proto: '{"__proto__":{"polluted":"yes","allowed":false},"metadata":{"__proto__":{"name":"x"}}}',
  constructor: '{"constructor":{"prototype":{"polluted":"yes"}},"__proto__":[1]}',
};
const MARK = '\u0000endpoint-guard-fuzz-mark';

/** The fixture with `mutation` applied at the path picked by `pick` (an index into its paths). */
function mutatedBody(name: string, pick: number, mutation: Mutation): string {
  const review = structuredClone(FIXTURES.get(name)) as Json;
  const paths = PATHS.get(name) ?? [];
  const path = paths[pick % paths.length] ?? ['request'];
  const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k] as Json, review) as Record<string | number, Json>;
  const key = path.at(-1) as string | number;
  if (mutation.kind === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
    return JSON.stringify(review);
  }
  if (mutation.kind === 'replace') {
    parent[key] = mutation.value;
    return JSON.stringify(review);
  }
  parent[key] = MARK;
  return JSON.stringify(review).replace(JSON.stringify(MARK), rawValue(mutation));
}

function rawValue(mutation: Exclude<Mutation, { kind: 'remove' | 'replace' }>): string {
  switch (mutation.kind) {
    case 'raw': return PROTO_TEXT[mutation.text];
    case 'huge-string': return JSON.stringify('x'.repeat(mutation.length));
    case 'deep': return mutation.open.repeat(mutation.depth) + '1' + (mutation.open === '[' ? ']' : '}').repeat(mutation.depth);
    case 'big-array': return `[${Array.from({ length: mutation.length }, () => JSON.stringify(mutation.element)).join(',')}]`;
  }
}

const uidOf = (body: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(body);
    const request: unknown = typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'request') : undefined;
    return typeof request === 'object' && request !== null ? Reflect.get(request, 'uid') : undefined;
  } catch {
    return undefined;
  }
};

/** 200 with an AdmissionReview for the uid sent, or a 4xx AdmissionReview-shaped error. */
function assertWellFormed(reply: Reply, sentUid: unknown): void {
  assert.ok(reply.status >= 200 && reply.status < 500, `status ${reply.status}: ${reply.text.slice(0, 300)}`);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  const body = JSON.parse(reply.text) as { kind: string; response: { uid: string; allowed: boolean; status?: { code: number }; patch?: string } };
  assert.equal(body.kind, 'AdmissionReview');
  assert.equal(typeof body.response.allowed, 'boolean');
  if (reply.status === 200) {
    assert.equal(typeof sentUid, 'string', 'only a request with a string uid is reviewed');
    assert.equal(body.response.uid, sentUid);
    if (body.response.patch !== undefined) assert.ok(Array.isArray(JSON.parse(Buffer.from(body.response.patch, 'base64').toString('utf8'))));
  } else {
    assert.equal(body.response.allowed, false);
    assert.equal(body.response.status?.code, reply.status);
  }
}

test('fuzz: whatever reaches the webhook is answered well, and the next valid review the same', { timeout: 120_000 }, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED} FUZZ_RUNS=${SCALE}`);
  const s = await startTestServing(t, { mode: 'enforce', logLevel: 'silent' });
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: s.ca });
  t.after(() => agent.destroy());
  const send = (route: Route, body: string | Buffer) => httpsRequest(s.serving.url + route, {
    ca: s.ca, agent, method: 'POST', headers: { 'content-type': 'application/json' }, body, timeoutMs: 10_000,
  });

  const valid = JSON.stringify(FIXTURES.get('create-endpointslice-v1.json'));
  const expected = new Map<Route, string>();
  for (const route of ROUTES) expected.set(route, (await send(route, valid)).text);
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  let checks = 0;
  /** The valid review, on each route in turn, gets exactly its first answer; nothing was polluted. */
  const stillSane = async () => {
    const route = ROUTES[checks++ % ROUTES.length] ?? '/validate';
    const reply = await send(route, valid);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, expected.get(route), `the valid review on ${route} got another answer`);
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeys);
  };

  const check = async (name: string, property: fc.IAsyncProperty<[Route, ...unknown[]]> | fc.IAsyncPropertyWithHooks<never>, numRuns: number) => {
    const started = performance.now();
    const details = await fc.check(property as fc.IAsyncProperty<unknown[]>, { seed: SEED, numRuns, endOnFailure: true });
    t.diagnostic(`${name}: ${details.numRuns} runs in ${Math.round(performance.now() - started)} ms`);
    if (details.failed) assert.fail(`${name} failed; repeat with FUZZ_SEED=${SEED}\n${fc.defaultReportMessage(details)}`);
  };
  const route = fc.constantFrom(...ROUTES);

  await t.test('random bytes', () => check('random bytes', fc.asyncProperty(route, fc.uint8Array({ maxLength: 4096 }), async (r, bytes) => {
    assertWellFormed(await send(r, Buffer.from(bytes)), undefined);
    await stillSane();
  }), runs(400)));

  const envelope = fc.record({
    apiVersion: fc.oneof(fc.constantFrom('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'), fc.jsonValue({ maxDepth: 1 })),
    kind: fc.oneof(fc.constant('AdmissionReview'), fc.jsonValue({ maxDepth: 1 })),
    request: fc.record({
      uid: fc.oneof(fc.uuid(), fc.string(), fc.jsonValue({ maxDepth: 1 })),
      kind: fc.oneof(fc.constantFrom({ group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' }, { group: '', version: 'v1', kind: 'Endpoints' }), fc.jsonValue({ maxDepth: 2 })),
      operation: fc.oneof(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'), fc.jsonValue({ maxDepth: 1 })),
      object: fc.jsonValue({ maxDepth: 5 }),
      oldObject: fc.jsonValue({ maxDepth: 3 }),
      userInfo: fc.jsonValue({ maxDepth: 2 }),
    }, { requiredKeys: [] }),
  }, { requiredKeys: [] });
  await t.test('random JSON', () => check('random JSON', fc.asyncProperty(route, fc.oneof(fc.jsonValue(), envelope), async (r, value) => {
    const body = JSON.stringify(value) ?? 'null';
    assertWellFormed(await send(r, body), uidOf(body));
    await stillSane();
  }), runs(600)));

  const fixture = fc.constantFrom(...FIXTURES.keys());
  const small: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constant({ kind: 'remove' } as const),
    fc.record({ kind: fc.constant('replace' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => v as Json), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -1, 2 ** 53, 1e308, '', ' ', '\u0000', '10.0.0.1')) }),
    fc.record({ kind: fc.constant('raw' as const), text: fc.constantFrom('proto' as const, 'constructor' as const) }),
  );
  await t.test('mutated fixtures', () => check('mutated fixtures', fc.asyncProperty(route, fixture, fc.nat(), small, async (r, name, pick, mutation) => {
    const body = mutatedBody(name, pick, mutation);
    assertWellFormed(await send(r, body), uidOf(body));
    await stillSane();
  }), runs(1200)));

  const heavy: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('huge-string' as const), length: fc.integer({ min: 100_000, max: 8_000_000 }) }),
    fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 50, max: 200_000 }), open: fc.constantFrom('[' as const, '{"a":' as const, '{"__proto__":' as const) }),
    fc.record({ kind: fc.constant('big-array' as const), length: fc.constantFrom(1_000, 100_000), element: fc.constantFrom<Json>(0, '', null, {}, '10.0.0.1', { addresses: ['10.0.0.1'] }) }),
  );
  await t.test('huge, deep and long mutations', () => check('huge, deep and long', fc.asyncProperty(route, fixture, fc.nat(), heavy, async (r, name, pick, mutation) => {
    const body = mutatedBody(name, pick, mutation);
    assertWellFormed(await send(r, body), uidOf(body));
    await stillSane();
  }), runs(100)));
});
