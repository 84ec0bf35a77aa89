// `endpoint-guard lint --ruleset apiserver` against what real kube-apiservers did with the same
// manifests: it exits 1 exactly for the objects v1.24 and v1.36.2 rejected, and with
// `--format apiserver` it prints what kubectl 1.24 and 1.36 printed. Each manifest is written to a file (YAML
// and JSON in turn), so reading and positions are part of what is tested.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { VERDICT_FILES, type VerdictCase, readVerdicts } from './helpers/fixtures.ts';
import { REPO, runCli } from './helpers/lint.ts';

const LINT_PAGE = readFileSync(path.join(REPO, 'docs/lint.md'), 'utf8').replace(/\s+/g, ' ');

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'endpoint-guard-lint-verdicts-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Even cases as YAML (read with kubectl's YAML 1.1 rules, so it is written with them), odd ones as JSON. */
async function writeManifest(c: VerdictCase, index: number, version: string): Promise<string> {
  const file = path.join(dir, `${c.id}-${version}.${index % 2 === 0 ? 'yaml' : 'json'}`);
  await writeFile(file, index % 2 === 0 ? stringify(c.manifest, { version: '1.1' }) : JSON.stringify(c.manifest, null, 2));
  return file;
}

const lintArgs = (version: string, file: string, format = 'text') =>
  ['lint', '--ruleset', 'apiserver', '--kubernetes-version', version, '--mode', 'enforce', '--format', format, file];

for (const { file, version } of VERDICT_FILES) {
  describe(`lint agrees with a real ${version} kube-apiserver (${file})`, () => {
    const cases = readVerdicts(file);
    let agreed = 0;
    after(() => console.log(`# lint agreement with kube-apiserver ${version}: ${agreed}/${cases.length}`));
    cases.forEach((c, i) => {
      test(`${c.id} exits ${c.accepted ? 0 : 1}: ${c.description}`, async () => {
        const manifest = await writeManifest(c, i, version);
        const run = await runCli(lintArgs(version, manifest));
        assert.equal(run.stderr, '');
        assert.equal(run.code, c.accepted ? 0 : 1, run.stdout);
        agreed++;
      });
    });
  });
}

/**
 * kubectl's message with the parts that differ by run made comparable: the file name, and the 5
 * random characters the apiserver appends to a generateName (lint writes a stand-in).
 */
function comparable(message: string, c: VerdictCase, file: string): string {
  const meta = typeof c.manifest === 'object' && c.manifest !== null && 'metadata' in c.manifest ? c.manifest.metadata : undefined;
  const generateName = typeof meta === 'object' && meta !== null && 'generateName' in meta && typeof meta.generateName === 'string' && !('name' in meta)
    ? meta.generateName : undefined;
  let text = message.replaceAll('<case>', file);
  if (generateName !== undefined) {
    const prefix = Buffer.from(generateName).subarray(0, 58).toString().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    text = text.replace(new RegExp(`"(${prefix})[a-z0-9]{5}"`, 'g'), '"$1<random>"');
  }
  return text;
}

for (const { file: verdicts, version } of VERDICT_FILES) {
  describe(`lint --format apiserver prints what kubectl ${version} printed`, () => {
    const cases = readVerdicts(verdicts).filter((c) => !c.accepted);
    const count = () => ({ same: 0, total: 0 });
    const tally = { invalid: count(), unknownField: count(), noMatch: count(), decode: count() };
    after(() => {
      const show = ({ same, total }: { same: number; total: number }) => `${same}/${total}`;
      console.log(`# lint --format apiserver, kubectl ${version} messages: ${show(tally.invalid)} invalid (422), ` +
        `${show(tally.unknownField)} unknown field (400), ${show(tally.noMatch)} no matches for kind, ` +
        `${show(tally.decode)} JSON type errors (400)`);
    });
    cases.forEach((c, i) => {
      test(`${c.id}: ${c.description}`, async () => {
        const file = await writeManifest(c, i, `apiserver-${version}`);
        const run = await runCli(lintArgs(version, file, 'apiserver'));
        const real = comparable(c.message, c, file);
        const mine = comparable(run.stdout.replace(/\n$/, ''), c, file);
        const kind = c.message.startsWith('The ') ? 'invalid'
          : c.message.includes('strict decoding error') ? 'unknownField'
            : c.message.includes('no matches for kind') ? 'noMatch' : 'decode';
        tally[kind].total++;
        assert.equal(mine, real);
        tally[kind].same++;
      });
    });
    // Runs after the cases above (a suite's tests run in order), so the figures are this run's.
    test('docs/lint.md states these figures', () => {
      const same = Object.values(tally).reduce((n, x) => n + x.same, 0);
      assert.equal(same, cases.length, 'every refusal');
      const claim = `${same} of ${cases.length} refusals of ${version}`;
      assert.ok(LINT_PAGE.includes(claim), `docs/lint.md's apiserver format paragraph should say "${claim}"`);
    });
  });
}
