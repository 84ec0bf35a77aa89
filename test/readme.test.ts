// The README and docs/ are part of the product: the rule table, the settings table and the example
// answers they show match the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { catalogue, ruleIds } from '../src/rules/catalogue.ts';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse as parseYaml } from 'yaml';
import { reviewAdmission, reviewMutation } from '../src/admission.ts';
import { CONFIG_FLAGS, envName } from '../src/config-load.ts';
import { type Config, configSchema } from '../src/config.ts';
import { createMetrics } from '../src/server/metrics.ts';

const { applyPatch } = fastJsonPatch;

const page = (name: string): string => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
const readme = page('README.md');
const rulesPage = page('docs/rules.md');
const configurationPage = page('docs/configuration.md');
const deployingPage = page('docs/deploying.md');

describe('the rules reference and the README', () => {
  test('docs/rules.md lists every rule with its kinds, severity, source and doc, and no other', () => {
    const rows = [...rulesPage.matchAll(/^\| `([a-z-]+)` \| ([^|]+) \| (error|warning) \| (apiserver|policy) \| (.+) \|$/gm)];
    assert.deepEqual(rows.map((r) => r[1]), ruleIds);
    for (const [, id, kinds, severity, source, doc] of rows) {
      const info = catalogue[id as keyof typeof catalogue];
      assert.deepEqual({ kinds: kinds?.trim(), severity, source, doc }, { kinds: info.kinds.join(', '), severity: info.severity, source: info.source, doc: info.doc });
    }
  });
  test("the README and getting started show the warnings the example request really gets", () => {
    const body = JSON.parse(readFileSync(new URL('../examples/review-bad-endpointslice.json', import.meta.url), 'utf8'));
    const outcome = reviewAdmission(body, configSchema.parse({}));
    const warnings = (outcome.body as { response: { warnings: string[] } }).response.warnings;
    for (const text of [readme, page('docs/getting-started.md')]) {
      for (const w of warnings) assert.ok(text.includes(JSON.stringify(w).slice(1, -1)), `a page lacks: ${w}`);
    }
  });
});

describe('the configuration reference and the deployment walk-through', () => {
  test('docs/configuration.md lists every setting with its environment variable, and its flag when there is one', () => {
    const rows = new Map([...configurationPage.matchAll(/^\| `([a-zA-Z0-9]+)` \| (?:`(--[a-z-]+)` )?\| (?:`(ENDPOINT_GUARD_[A-Z0-9_]+)`)?[^|]*\|/gm)].map((m) => [m[1], { flag: m[2], env: m[3] }]));
    const flags = new Map<string, string>(CONFIG_FLAGS.map(([flag, key]) => [key, `--${flag}`]));
    for (const key of Object.keys(configSchema.shape) as (keyof Config)[]) {
      const row = rows.get(key);
      assert.ok(row, `docs/configuration.md's settings table has ${key}`);
      assert.equal(row.flag, flags.get(key), `${key}'s flag`);
      if (key !== 'rules') assert.equal(row.env, envName(key), `${key}'s environment variable`);
    }
  });

  test('docs/deploying.md shows what the demo slice really gets, in complain and in enforce mode, and the README in complain mode', () => {
    const manifest = /kubectl apply --dry-run=server -f - <<'EOF'\n([^]*?)\nEOF/.exec(deployingPage)?.[1];
    assert.ok(manifest, 'docs/deploying.md has the demo manifest');
    assert.equal(/kubectl apply --dry-run=server -f - <<'EOF'\n([^]*?)\nEOF/.exec(readme)?.[1], manifest, 'the README shows the same demo slice');
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
        assert.ok(deployingPage.includes(`Warning: ${warning}\n`), `docs/deploying.md shows: Warning: ${warning}`);
        if (mode === 'complain') assert.ok(readme.includes(`Warning: ${warning}\n`), `the README shows: Warning: ${warning}`);
      }
      if (mode === 'enforce') {
        assert.ok(deployingPage.includes(`admission webhook "validate.endpoint-guard.io" denied the request: ${validated.response.status?.message}\n`));
      }
    }
  });
});

describe('the monitoring page', () => {
  const monitoringPage = page('docs/monitoring.md');
  test('its metrics table lists every metric the server declares, with each of its labels, and no other', () => {
    const rows = [...monitoringPage.matchAll(/^\| `(endpoint_guard_[a-z_]+)` \|([^|]*)\|/gm)];
    const declared = createMetrics({ endpointsWritersTopN: 1, processMetrics: false }).registry.getMetricsAsArray()
      .filter((m) => m.name.startsWith('endpoint_guard_'));
    assert.deepEqual(rows.map((r) => r[1]).sort(), declared.map((m) => m.name).sort());
    for (const metric of declared) {
      const labels = rows.find((r) => r[1] === metric.name)?.[2] ?? '';
      for (const label of Reflect.get(metric, 'labelNames') as string[]) assert.ok(labels.includes(`\`${label}\``), `${metric.name}'s label ${label}`);
    }
  });
  test('its dashboard table names every panel of deploy/monitoring/dashboard.json, in order', () => {
    const dashboard = JSON.parse(page('deploy/monitoring/dashboard.json')) as { panels: { title: string }[] };
    const section = monitoringPage.slice(monitoringPage.indexOf('### The dashboard'));
    const titles = [...section.matchAll(/^\| ([^|`]+?) \| [^|]+ \|$/gm)].map((m) => m[1]).filter((t) => t !== 'panel');
    assert.deepEqual(titles, dashboard.panels.map((p) => p.title));
  });
});
