// The admission policies stay within the apiserver's CEL budget for the largest objects it lets
// through. The apiserver estimates no cost when a policy is created (object is dynamically typed);
// it meters every evaluation: an expression over 1,000,000 is stopped, and so is a policy whose
// expressions, variables and messages add up to more than 10,000,000 for one request, and then the
// policy's failurePolicy decides. So the bound here is computed for the largest valid slice: 1000
// endpoints of 100 addresses each (the apiserver's limits), 20000 ports, zones of any length up to
// the 3 MiB request limit, and for each addressType, whose addresses differ in length.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { configSchema } from '../src/config.ts';
import { admissionPolicies } from '../src/policies/policies.ts';
import { kubeVersion } from '../src/rules/version.ts';
import {
  BOOL, INT, PER_CALL_LIMIT, RUNTIME_COST_BUDGET, type Shape, constant, estimate, list, object, str, stringMap,
} from './helpers/cel-cost.ts';

const MAX_REQUEST_BYTES = 3 * 1024 * 1024; // the apiserver's request body limit (apis/cel/config.go MaxRequestSizeBytes)
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

const metadata = object({ name: str(253), generateName: str(253), namespace: str(63), labels: stringMap(1000, 63) });
const request = (kind: string): Shape => object({
  kind: object({ group: str(253), version: str(63), kind: constant(kind) }),
  operation: str(6), namespace: str(63), name: str(253),
  userInfo: object({ username: str(MAX_REQUEST_BYTES), groups: list(1000, str(253)) }),
});

/** The largest slice the apiserver accepts, whose addresses are at most `addressLength` characters. */
function largestSlice(addressType: string, addressLength: number): Shape {
  const endpoint = object({
    addresses: list(MAX_ADDRESSES, str(addressLength)),
    zone: str(MAX_REQUEST_BYTES), hostname: str(63), nodeName: str(253),
    conditions: object({ ready: BOOL, serving: BOOL, terminating: BOOL }),
  });
  const port = object({ name: str(63), protocol: str(4), port: INT, appProtocol: str(317) });
  return object({
    apiVersion: str(20), kind: constant('EndpointSlice'), metadata, addressType: constant(addressType),
    endpoints: list(MAX_ENDPOINTS, endpoint), ports: list(MAX_PORTS, port),
  });
}

// The longest text of an address the 1.36 apiserver accepts for each type: a dotted IPv4 address,
// a canonical IPv6 address (no dotted tail once IPv4-mapped addresses are refused), a DNS subdomain.
const SCENARIOS: readonly { name: string; object: Shape; request: Shape }[] = [
  { name: 'IPv4 slice', object: largestSlice('IPv4', '255.255.255.255'.length), request: request('EndpointSlice') },
  { name: 'IPv6 slice', object: largestSlice('IPv6', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'.length), request: request('EndpointSlice') },
  { name: 'FQDN slice', object: largestSlice('FQDN', 253), request: request('EndpointSlice') },
  { name: 'Endpoints', object: object({ apiVersion: str(2), kind: constant('Endpoints'), metadata, subsets: list(MAX_REQUEST_BYTES, object({})) }), request: request('Endpoints') },
];

type Json = Record<string, unknown>;
interface Spec { matchConditions?: { expression: string }[]; variables?: { name: string; expression: string }[]; validations?: { expression: string; messageExpression?: string }[] }

/** Every expression of a policy priced in a scenario, and the policy's total for one request. */
function price(policy: Json, scenario: (typeof SCENARIOS)[number]) {
  const spec = policy.spec as Spec;
  const vars = new Map<string, Shape>([['object', scenario.object], ['oldObject', scenario.object], ['request', scenario.request]]);
  const priced: { expression: string; cost: number }[] = [];
  for (const condition of spec.matchConditions ?? []) priced.push({ expression: condition.expression, cost: estimate(condition.expression, vars).cost });
  const variables: Record<string, Shape> = {};
  for (const variable of spec.variables ?? []) {
    const { cost, shape } = estimate(variable.expression, new Map([...vars, ['variables', object(variables)]]));
    variables[variable.name] = shape;
    priced.push({ expression: `variables.${variable.name}`, cost });
  }
  const withVariables = new Map([...vars, ['variables', object(variables)]]);
  for (const v of spec.validations ?? []) {
    for (const expression of [v.expression, v.messageExpression].filter((e): e is string => e !== undefined)) {
      priced.push({ expression, cost: estimate(expression, withVariables).cost });
    }
  }
  return { priced, total: priced.reduce((sum, p) => sum + p.cost, 0) };
}

describe('the cost of the admission policies, for the largest objects the apiserver accepts', () => {
  const figures: string[] = [];
  after(() => { for (const line of figures) console.log(`# ${line}`); });

  for (const minor of [28, 30, 33, 36]) {
    for (const mode of ['complain', 'enforce'] as const) {
      const built = admissionPolicies({ ...configSchema.parse({}), version: kubeVersion(minor), mode });
      assert.ok(built.ok);
      const policies = built.objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy' || o.kind === 'MutatingAdmissionPolicy');
      test(`1.${minor}, ${mode}: no expression can cost more than ${PER_CALL_LIMIT} and no policy more than ${RUNTIME_COST_BUDGET} per request`, () => {
        for (const policy of policies) {
          const name = String((policy.metadata as Json).name);
          for (const scenario of SCENARIOS) {
            const { priced, total } = price(policy, scenario);
            const over = priced.filter((p) => p.cost > PER_CALL_LIMIT).map((p) => `${p.cost}: ${p.expression.slice(0, 100)}`);
            assert.deepEqual(over, [], `${name}, ${scenario.name}: expressions over the per-call limit`);
            assert.ok(total <= RUNTIME_COST_BUDGET, `${name}, ${scenario.name}: ${total} over the policy budget`);
            const top = priced.reduce((a, b) => (b.cost > a.cost ? b : a), { expression: '', cost: 0 });
            if (mode === 'complain') figures.push(`1.${minor} ${name}, ${scenario.name}: at most ${total} per request; the dearest expression ${top.cost} (${top.expression.slice(0, 60)})`);
          }
        }
      });
    }
  }
});

describe('the cost bound itself', () => {
  const numbers = new Map<string, Shape>([['xs', list(3, INT)], ['s', str(100)], ['m', stringMap(10, 63)]]);
  test('prices small expressions as the apiserver\'s cost tracker does', () => {
    // Identifiers 1, constants 0; all() per element: its condition (a call and the accumulator, 2),
    // its step (the accumulator 1, then x 1 and the comparison 1), plus the result 1.
    assert.equal(estimate('xs.all(x, x > 0)', numbers).cost, 1 + 3 * (2 + 3) + 1);
    assert.equal(estimate('[1, 2]', numbers).cost, 10);
    assert.equal(estimate('s.matches(\'^a+$\')', numbers).cost, 1 + Math.ceil(101 * 0.1) * Math.ceil(4 * 0.25));
    assert.equal(estimate('s.size() <= 10 && s.matches(\'^a+$\')', numbers).cost, (1 + 1 + 1) + 1 + Math.ceil(11 * 0.1) * 1, 'the size guard narrows the string');
    assert.equal(estimate('\'k\' in m ? m[\'k\'] : \'\'', numbers).cost, (1 + 1) + (1 + 1));
  });

  test('grows with the bounds: twice the endpoints, twice the cost of a per-address check', () => {
    const slice = (endpoints: number): Map<string, Shape> =>
      new Map([['object', object({ endpoints: list(endpoints, object({ addresses: list(100, str(15)) })) })]]);
    const perAddress = 'object.endpoints.all(e, e.addresses.all(a, ip(a).isGlobalUnicast()))';
    const once = estimate(perAddress, slice(500)).cost;
    const twice = estimate(perAddress, slice(1000)).cost;
    assert.ok(twice > 1.99 * once && twice < 2.01 * once, `${once} then ${twice}`);
  });

  test('rules out what the policies leave to the webhook: duplicate addresses compared pairwise cost far beyond the limit', () => {
    const slice = new Map<string, Shape>([['object', largestSlice('IPv4', 15)]]);
    const pairwise = 'object.endpoints.all(e, e.addresses.all(a, e.addresses.filter(b, b == a).size() == 1))';
    const cost = estimate(pairwise, slice).cost;
    assert.ok(cost > 10 * PER_CALL_LIMIT, `${cost}`);
  });
});
