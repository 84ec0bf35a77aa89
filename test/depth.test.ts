// maxJsonDepth is held while the review reads the body (depth.ts): the envelope and any object
// not decoded are walked, and the decoder walks only what it does not read field by field. This
// holds that to the plain definition, a walk over the whole body, on captured requests with
// nesting put where a client could put it: unknown fields, managedFields, values of the wrong
// type, "__proto__" keys, the envelope, an oldObject nobody decodes, a skipped request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { reviewAdmission, reviewMutation } from '../src/admission.ts';
import { configSchema } from '../src/config.ts';
import { nestingProblem, tooDeepMessage } from '../src/depth.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';

type Json = Record<string, unknown>;
const HOLE = '@@nested@@';

const FIXTURES = [
  'create-endpointslice-v1.json', 'update-endpointslice-v1.json', 'create-endpoints-v1.json', 'update-endpoints-v1.json',
  'create-endpointslice-as-controller.json', 'delete-endpointslice-v1.json', 'create-endpointslice-v1beta1.json',
].map((name) => ({ name, review: readAdmissionFixture(name) }));

const request = (r: Json) => r.request as Json;
/** The object, or for a DELETE the oldObject: where the apiserver puts the object. */
const object = (r: Json) => (request(r).object ?? request(r).oldObject) as Json;
const firstEndpoint = (r: Json): Json => {
  const o = object(r);
  if (Array.isArray(o.endpoints)) return o.endpoints[0] as Json;
  const subsets = o.subsets as Json[];
  return (subsets[0]?.addresses as Json[])[0] as Json;
};

/** Where a client could nest: each puts HOLE (later the nested JSON) somewhere in a copy of the review. */
const PLACES: readonly [string, (r: Json) => void][] = [
  ['an unknown envelope field', (r) => { r.extra = HOLE; }],
  ['request.options', (r) => { request(r).options = HOLE; }],
  ['userInfo.extra', (r) => { request(r).userInfo = { username: 'alice', extra: { scopes: HOLE } }; }],
  ['an unknown object field', (r) => { object(r).extra = HOLE; }],
  ['an unknown metadata field', (r) => { (object(r).metadata as Json).extra = HOLE; }],
  ['an annotation value (wrong type)', (r) => { (object(r).metadata as Json).annotations = { a: 'b', c: HOLE, d: HOLE }; }],
  ['the labels (wrong type)', (r) => { (object(r).metadata as Json).labels = HOLE; }],
  ['a managedFields entry', (r) => { (object(r).metadata as Json).managedFields = [{ manager: 'kubectl', fieldsV1: HOLE }]; }],
  ['an unknown endpoint field', (r) => { firstEndpoint(r).extra = HOLE; }],
  ['an unknown field in conditions', (r) => { firstEndpoint(r).conditions = { ready: true, extra: HOLE }; }],
  ['an unknown field in targetRef', (r) => { firstEndpoint(r).targetRef = { kind: 'Pod', name: 'p', extra: HOLE }; }],
  ['nodeName (wrong type)', (r) => { firstEndpoint(r).nodeName = HOLE; }],
  ['an address (wrong type)', (r) => { firstEndpoint(r).addresses = ['10.0.0.1', HOLE]; }],
  ['a zone hint field', (r) => { firstEndpoint(r).hints = { forZones: [{ name: 'a', extra: HOLE }] }; }],
  ['deprecatedTopology values', (r) => { firstEndpoint(r).deprecatedTopology = { a: 'b', c: HOLE }; }],
  ['a port (wrong type)', (r) => { object(r).ports = [{ name: 'http', port: HOLE }]; }],
  ['the object itself', (r) => { request(r).object = HOLE; }],
  ['an oldObject field', (r) => { request(r).oldObject = { ...object(r), extra: HOLE }; }],
];

/** JSON text nesting `depth` arrays and objects, in the shapes a client may choose. */
function nestedJson(depth: number, shapes: readonly number[]): string {
  let text = (shapes[0] ?? 0) % 2 === 0 ? '[]' : '{}';
  for (let level = 1; level < depth; level++) {
    switch ((shapes[level] ?? 0) % 4) {
      case 0: text = `[${text}]`; break;
      case 1: text = `{"k":${text}}`; break;
      case 2: text = `{"__proto__":${text}}`; break;
      default: text = `[1,"x",{},${text}]`;
    }
  }
  return text;
}

const deepVerdict = (outcome: { httpStatus: number; log: { reason?: string | undefined } }, max: number) =>
  outcome.httpStatus === 400 && outcome.log.reason === tooDeepMessage(max);

describe('maxJsonDepth, held while reading', () => {
  test('answers 400 exactly when a walk over the whole body finds it too deep, on /validate and /mutate', () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).join();
    fc.assert(fc.property(
      fc.integer({ min: 0, max: FIXTURES.length - 1 }),
      fc.integer({ min: 0, max: PLACES.length - 1 }),
      fc.integer({ min: 10, max: 30 }),
      fc.integer({ min: 1, max: 34 }),
      fc.array(fc.nat(3), { minLength: 34, maxLength: 34 }),
      fc.constantFrom('complain', 'enforce', 'off'),
      (fixture, place, max, depth, shapes, mode) => {
        const review = structuredClone(FIXTURES[fixture]?.review) as Json;
        PLACES[place]?.[1](review);
        const body: unknown = JSON.parse(JSON.stringify(review).replace(`"${HOLE}"`, nestedJson(depth, shapes)).replaceAll(`"${HOLE}"`, '"x"'));
        const config = configSchema.parse({ mode, maxJsonDepth: max });
        const expected = nestingProblem(body, max) !== undefined;
        for (const run of [reviewAdmission, reviewMutation]) {
          const outcome = run(body, config);
          assert.equal(deepVerdict(outcome, max), expected,
            `${FIXTURES[fixture]?.name}, ${PLACES[place]?.[0]}, depth ${depth}, max ${max}: ${outcome.httpStatus} ${outcome.log.reason ?? ''}`);
        }
      },
    ), { numRuns: 1500, seed: 20261123 });
    assert.equal(Object.getOwnPropertyNames(Object.prototype).join(), prototypeKeys);
  });

  test('every place is reachable: a value one level past the limit there is refused', () => {
    for (const { name, review: fixture } of FIXTURES) {
      for (const [where, put] of PLACES) {
        const review = structuredClone(fixture) as Json;
        put(review);
        const body: unknown = JSON.parse(JSON.stringify(review).replace(`"${HOLE}"`, nestedJson(40, [])).replaceAll(`"${HOLE}"`, '"x"'));
        const config = configSchema.parse({ maxJsonDepth: 20 });
        assert.ok(deepVerdict(reviewAdmission(body, config), 20), `${name}, ${where}`);
      }
    }
  });

  test('a value of the wrong type nesting deeply is shown briefly in lint, where no limit applies', async () => {
    const { checkObject } = await import('../src/rules/index.ts');
    const { kubeVersion } = await import('../src/rules/version.ts');
    const slice = structuredClone(object(FIXTURES[0]?.review as Json));
    (slice.metadata as Json).labels = JSON.parse(nestedJson(100_000, []));
    const result = checkObject({ object: slice, operation: 'CREATE', version: kubeVersion(36), softEndpointLimit: 100 });
    assert.deepEqual(result.findings.map((f) => [f.hint, f.detail]), [['cannot decode [...]: expected an object of strings',
      'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string']]);
  });
});
