// The README is part of the product: its rule table, settings table and example answers match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { catalogue, ruleIds } from '../src/rules/catalogue.ts';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import { reviewAdmission, reviewMutation } from '../src/admission.ts';
import { CONFIG_FLAGS, envName } from '../src/config-load.ts';
import { type Config, configSchema } from '../src/config.ts';

const { applyPatch } = fastJsonPatch;

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  test('lists every rule with its kinds, severity, source and doc, and no other', () => {
    const rows = [...readme.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \| (error|warning) \| (apiserver|policy) \| (.+) \|$/gm)];
    assert.deepEqual(rows.map((r) => r[1]), ruleIds);
    for (const [, id, kinds, severity, source, doc] of rows) {
      const info = catalogue[id as keyof typeof catalogue];
      assert.deepEqual({ kinds: kinds?.trim(), severity, source, doc }, { kinds: info.kinds.join(', '), severity: info.severity, source: info.source, doc: info.doc });
    }
  });
  test("shows the warnings the example request really gets", () => {
    const body = JSON.parse(readFileSync(new URL('../examples/review-bad-endpointslice.json', import.meta.url), 'utf8'));
    const outcome = reviewAdmission(body, configSchema.parse({}));
    const warnings = (outcome.body as { response: { warnings: string[] } }).response.warnings;
    for (const w of warnings) assert.ok(readme.includes(JSON.stringify(w).slice(1, -1)), `README lacks: ${w}`);
  });
});

describe('README deployment sections', () => {
  test('the settings table lists every setting with its environment variable, and its flag when there is one', () => {
    const rows = new Map([...readme.matchAll(/^\| `([a-zA-Z0-9]+)` \| (?:`(--[a-z-]+)` )?\| (?:`(ENDPOINT_GUARD_[A-Z0-9_]+)`)?[^|]*\|/gm)].map((m) => [m[1], { flag: m[2], env: m[3] }]));
    const flags = new Map<string, string>(CONFIG_FLAGS.map(([flag, key]) => [key, `--${flag}`]));
    for (const key of Object.keys(configSchema.shape) as (keyof Config)[]) {
      const row = rows.get(key);
      assert.ok(row, `README's settings table has ${key}`);
      assert.equal(row.flag, flags.get(key), `${key}'s flag`);
      if (key !== 'rules') assert.equal(row.env, envName(key), `${key}'s environment variable`);
    }
  });

  test('the walk-through shows what the demo slice really gets, in complain and in enforce mode', () => {
    const manifest = /kubectl apply --dry-run=server -f - <<'EOF'\n([^]*?)\nEOF/.exec(readme)?.[1];
    assert.ok(manifest, 'the README has the demo manifest');
    const object: unknown = parseYaml(manifest);
    const review = (obj: unknown) => ({
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: {
        uid: 'demo', kind: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' }, operation: 'CREATE',
        userInfo: { username: 'admin' }, namespace: 'default', name: 'demo-1', object: obj, oldObject: null,
      },
    });
    for (const mode of ['complain', 'enforce'] as const) {
      const config = configSchema.parse({ mode });
      // As the apiserver does: the mutating webhook first, its patch applied, then the validating one.
      const mutated = reviewMutation(review(object), config).body as { response: { warnings: string[]; patch: string } };
      const patch = JSON.parse(Buffer.from(mutated.response.patch, 'base64').toString('utf8')) as Operation[];
      const fixed = applyPatch(structuredClone(object), patch).newDocument;
      const validated = reviewAdmission(review(fixed), config).body as { response: { warnings: string[]; status?: { message: string } } };
      for (const warning of [...mutated.response.warnings, ...validated.response.warnings]) {
        assert.ok(readme.includes(`Warning: ${warning}\n`), `README shows: Warning: ${warning}`);
      }
      if (mode === 'enforce') {
        assert.ok(readme.includes(`admission webhook "validate.endpoint-guard.io" denied the request: ${validated.response.status?.message}\n`));
      }
    }
  });
});
