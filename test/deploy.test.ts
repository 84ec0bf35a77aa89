// The webhook registrations in deploy/ agree with the server: routes, exemptions, safety settings.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_EXEMPT_USERS } from '../src/config.ts';

interface Webhook {
  name: string; sideEffects: string; reinvocationPolicy?: string; admissionReviewVersions: string[];
  clientConfig: { service: { path: string } };
  rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  matchConditions: { name: string; expression: string }[];
}
const docs = parseAllDocuments(readFileSync(new URL('../deploy/webhook-configurations.yaml', import.meta.url), 'utf8'))
  .map((d) => d.toJS() as { kind: string; webhooks: Webhook[] });
const byKind = (kind: string): Webhook => {
  const hook = docs.find((d) => d.kind === kind)?.webhooks[0];
  assert.ok(hook, `${kind} is in deploy/webhook-configurations.yaml`);
  return hook;
};
/** The user names a CEL `username in [...]` list holds. */
const exempted = (hook: Webhook): string[] =>
  [...(hook.matchConditions[0]?.expression ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');

describe('deploy/webhook-configurations.yaml', () => {
  const mutating = byKind('MutatingWebhookConfiguration');
  const validating = byKind('ValidatingWebhookConfiguration');
  test('the mutating webhook calls /mutate, has no side effects and is never reinvoked', () => {
    assert.equal(mutating.clientConfig.service.path, '/mutate');
    assert.equal(mutating.sideEffects, 'None');
    assert.equal(mutating.reinvocationPolicy, 'Never');
    assert.deepEqual(mutating.admissionReviewVersions, ['v1']);
  });
  test('the validating webhook calls /validate and has no side effects', () => {
    assert.equal(validating.clientConfig.service.path, '/validate');
    assert.equal(validating.sideEffects, 'None');
  });
  test('both exempt exactly the server\'s default exempt users, and match the same objects', () => {
    assert.deepEqual(exempted(mutating), DEFAULT_EXEMPT_USERS);
    assert.deepEqual(exempted(validating), DEFAULT_EXEMPT_USERS);
    assert.equal(mutating.matchConditions[0]?.expression, validating.matchConditions[0]?.expression);
    assert.deepEqual(mutating.rules, validating.rules);
    assert.deepEqual(mutating.rules.map((r) => r.resources[0]), ['endpoints', 'endpointslices']);
  });
});
