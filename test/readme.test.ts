// The README is part of the product: its rule table and its example answer match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { catalogue, ruleIds } from '../src/rules/catalogue.ts';
import { reviewAdmission } from '../src/admission.ts';
import { configSchema } from '../src/config.ts';

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
