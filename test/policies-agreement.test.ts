// The admission policies agree with the webhook: for every rule the policies of a Kubernetes
// version check, on every object that version's apiserver accepts (admission policies only ever
// see those), the policies deny, warn or say nothing exactly when the webhook does, in every
// combination of global mode and namespace label, and their message is the webhook's line for its
// first finding of the rule. Objects the apiserver refuses or cannot decode (wrong JSON types,
// unknown fields, a version it does not serve) never reach a policy and are not compared.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { configSchema } from '../src/config.ts';
import { admissionPolicies, type PolicyMode } from '../src/policies/policies.ts';
import { coverage } from '../src/policies/coverage.ts';
import { type Kind, ruleIds } from '../src/rules/catalogue.ts';
import { kubeVersion } from '../src/rules/version.ts';
import {
  type Json, acceptedByApiserver, asAdmitted, evaluatePolicies, policyVerdict, webhookFindings, webhookLine, webhookVerdict,
} from './helpers/admission-policies.ts';
import { type CorpusItem, corpus } from './helpers/policy-corpus.ts';

const VERSIONS = [28, 29, 30, 31, 32, 33, 34, 35, 36];
const MODES: readonly PolicyMode[] = ['complain', 'enforce'];
// No label, each mode, and a value that names no mode (the global mode applies, as in the webhook).
const LABELS = [undefined, 'complain', 'enforce', 'off', 'strict'];
const ITEMS = corpus(400, 150);

const policiesFor = (minor: number, mode: PolicyMode): Json[] => {
  const built = admissionPolicies({ ...configSchema.parse({}), version: kubeVersion(minor), mode });
  assert.ok(built.ok, built.ok ? '' : built.message);
  return built.objects;
};

interface Tally { compared: number; refused: number; findings: number; messages: number }
/** Per version, how often each covered rule found something: every one must be exercised. */
const hits = new Map<number, Map<string, number>>();

describe('the admission policies decide as the webhook does, rule by rule', () => {
  const tallies = new Map<string, Tally>();
  after(() => {
    for (const [key, t] of tallies) {
      console.log(`# ${key}: ${t.compared} objects compared (${t.refused} refused by the apiserver, not compared), ` +
        `${t.findings} findings of covered rules agreed, ${t.messages} messages equal to the webhook's`);
    }
  });

  for (const minor of VERSIONS) {
    const version = kubeVersion(minor);
    const policies = new Map(MODES.map((mode) => [mode, policiesFor(minor, mode)]));
    test(`Kubernetes 1.${minor}: ${ITEMS.length} requests from the rule tables, the fixtures and generated objects`, () => {
      const mismatches: string[] = [];
      for (const item of ITEMS) {
        const tallyKey = `1.${minor}, ${item.source}`;
        const tally = tallies.get(tallyKey) ?? { compared: 0, refused: 0, findings: 0, messages: 0 };
        tallies.set(tallyKey, tally);
        const request = admitted(item, minor);
        if (request === undefined) {
          tally.refused++;
          continue;
        }
        tally.compared++;
        const kind: Kind = request.object.kind === 'Endpoints' ? 'Endpoints' : 'EndpointSlice';
        const findings = webhookFindings(request, { version });
        const results = evaluatePolicies(policies.get('complain') ?? [], request);
        for (const failed of results.filter((r) => r.passed === undefined || r.error !== undefined)) {
          mismatches.push(`${item.source} ${item.name}: ${failed.rule} could not be evaluated: ${failed.error}`);
        }
        for (const rule of ruleIds.filter((r) => coverage(r, kind, version).policy)) {
          const webhook = findings.some((f) => f.rule === rule);
          const policy = results.some((r) => r.rule === rule && r.passed === false);
          if (webhook !== policy) {
            mismatches.push(`${item.source} ${item.name}: ${rule}: webhook ${webhook ? 'finds' : 'is silent'}, policies ${policy ? 'fail' : 'pass'}`);
            continue;
          }
          if (!webhook) continue;
          tally.findings++;
          const perRule = hits.get(minor) ?? new Map<string, number>();
          hits.set(minor, perRule.set(`${rule} (${kind})`, (perRule.get(`${rule} (${kind})`) ?? 0) + 1));
          for (const mode of MODES) {
            const modeResults = mode === 'complain' ? results : evaluatePolicies(policies.get(mode) ?? [], request);
            for (const label of LABELS) {
              const expected = webhookVerdict(findings, rule, mode, label);
              const actual = policyVerdict(policies.get(mode) ?? [], modeResults, rule, label);
              if (expected !== actual) mismatches.push(`${item.source} ${item.name}: ${rule}, mode ${mode}, label ${label}: webhook ${expected}, policies ${actual}`);
            }
          }
          const expectedLine = webhookLine(findings, rule);
          const message = results.find((r) => r.rule === rule && r.passed === false)?.message;
          const wanted = rule === 'endpoints-deprecated' ? `${rule}: ${expectedLine}` : expectedLine;
          if (message === wanted) tally.messages++;
          else mismatches.push(`${item.source} ${item.name}: ${rule} message:\n  webhook  ${wanted}\n  policies ${message}`);
        }
      }
      assert.deepEqual(mismatches.slice(0, 20), []);
    });
  }
});

describe('the agreement corpus', () => {
  test('exercises every rule the policies of each version check, on each kind it is checked on', () => {
    for (const minor of VERSIONS) {
      const version = kubeVersion(minor);
      const covered = ruleIds.flatMap((rule) => (['Endpoints', 'EndpointSlice'] as const)
        .filter((kind) => coverage(rule, kind, version).policy).map((kind) => `${rule} (${kind})`));
      const seen = hits.get(minor) ?? new Map();
      assert.deepEqual(covered.filter((key) => (seen.get(key) ?? 0) < 3), [], `1.${minor}: rules found fewer than 3 times`);
    }
  });
});

/** The request as the apiserver would hand it to admission, or undefined when it refuses the object. */
function admitted(item: CorpusItem, minor: number) {
  const object = asAdmitted(item.object, item.namespace);
  if (!acceptedByApiserver(object, kubeVersion(minor))) return undefined;
  const oldObject = item.oldObject === undefined ? undefined : asAdmitted(item.oldObject, item.namespace);
  return { object, oldObject, operation: item.operation, username: item.username, namespace: item.namespace };
}
