// `lint --format apiserver` prints kubectl's own words, as the release given by
// --kubernetes-version prints them, for what the captured verdicts do not cover.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { type Json, endpointsObject, slice } from './helpers/objects.ts';
import { runCli } from './helpers/lint.ts';
import { tempDir } from './helpers/temp.ts';

/** What lint --format apiserver prints for these documents, written as one YAML file. */
async function kubectlSays(t: TestContext, version: string, ...documents: Json[]): Promise<string> {
  const file = path.join(await tempDir(t, 'endpoint-guard-lint-kubectl-'), 'm.yaml');
  await writeFile(file, documents.map((d) => stringify(d, { version: '1.1' })).join('---\n'));
  const run = await runCli(['lint', '--ruleset', 'apiserver', '--kubernetes-version', version, '--format', 'apiserver', file]);
  return run.stdout.replaceAll(file, 'FILE').replace(/\n$/, '');
}

const LABEL_PATTERN = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

describe('a DNS label with dots', () => {
  const dotted = slice({ ports: [{ name: 'http.alt', protocol: 'TCP', port: 80 }] }, [{ addresses: ['10.1.2.3'], hostname: 'web.1' }]);
  for (const version of ['1.24', '1.26']) {
    test(`gets the full RFC 1123 label message from ${version}, which has no shorter one`, async (t) => {
      const said = await kubectlSays(t, version, dotted);
      assert.ok(said.includes(`endpoints[0].hostname: Invalid value: "web.1": ${LABEL_PATTERN}`), said);
      assert.ok(said.includes(`ports[0].name: Invalid value: "http.alt": ${LABEL_PATTERN}`), said);
      assert.ok(!said.includes('dots'), said);
    });
  }
  for (const version of ['1.27', '1.36']) {
    test(`gets "must not contain dots" from ${version}`, async (t) => {
      const said = await kubectlSays(t, version, dotted);
      assert.ok(said.includes('endpoints[0].hostname: Invalid value: "web.1": must not contain dots'), said);
      assert.ok(said.includes('ports[0].name: Invalid value: "http.alt": must not contain dots'), said);
    });
  }
  test('in an Endpoints address hostname and port name too, by release', async (t) => {
    const endpoints = endpointsObject({}, [{ addresses: [{ ip: '10.1.2.3', hostname: 'db.0' }], ports: [{ name: 'pg.main', port: 5432 }] }]);
    assert.equal(await kubectlSays(t, '1.24', endpoints), 'The Endpoints "web" is invalid: \n' +
      `* subsets[0].addresses[0].hostname: Invalid value: "db.0": ${LABEL_PATTERN}\n` +
      `* subsets[0].ports[0].name: Invalid value: "pg.main": ${LABEL_PATTERN}`);
    assert.equal(await kubectlSays(t, '1.33', endpoints), 'The Endpoints "web" is invalid: \n' +
      '* subsets[0].addresses[0].hostname: Invalid value: "db.0": must not contain dots\n' +
      '* subsets[0].ports[0].name: Invalid value: "pg.main": must not contain dots');
  });
});
