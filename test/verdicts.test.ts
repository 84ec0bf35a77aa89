// Agreement with real kube-apiservers: for every case the real v1.24 and v1.36.2 apiservers judged,
// the apiserver rules report an error exactly when that apiserver rejected the object.
import assert from 'node:assert/strict';
import { describe, test, after } from 'node:test';
import { checkObject } from '../src/rules/index.ts';
import { catalogue } from '../src/rules/catalogue.ts';
import { apiserverLine } from '../src/rules/finding.ts';
import { parseKubeVersion } from '../src/rules/version.ts';
import { VERDICT_FILES, readVerdicts } from './helpers/fixtures.ts';

const apiserverErrors = (manifest: unknown, version: string) => {
  const v = parseKubeVersion(version);
  assert.ok(v);
  const result = checkObject({ object: manifest, operation: 'CREATE', version: v, softEndpointLimit: 100 });
  assert.deepEqual(result.ruleErrors, []);
  return result.findings.filter((f) => catalogue[f.rule].source === 'apiserver' && (f.severity ?? catalogue[f.rule].severity) === 'error');
};

for (const { file, version } of VERDICT_FILES) {
  describe(`verdicts of a real ${version} kube-apiserver (${file})`, () => {
    const cases = readVerdicts(file);
    let agreed = 0;
    after(() => console.log(`# agreement with kube-apiserver ${version}: ${agreed}/${cases.length}`));
    for (const c of cases) {
      test(`${c.id} is ${c.accepted ? 'accepted' : 'rejected'}: ${c.description}`, () => {
        const errors = apiserverErrors(c.manifest, version);
        assert.equal(errors.length > 0, !c.accepted, errors.map(apiserverLine).join('\n') || 'no apiserver error reported');
        agreed++;
      });
    }
  });
}

describe('apiserver message texts', () => {
  test('every rejection cause of the v1.24 apiserver is reproduced word for word, but for random name suffixes', () => {
    let same = 0;
    let total = 0;
    for (const c of readVerdicts('apiserver-verdicts.jsonl')) {
      const causes = c.status?.details?.causes;
      if (!causes) continue;
      total++;
      const real = new Set(causes.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)));
      const mine = new Set(apiserverErrors(c.manifest, '1.24').map(apiserverLine));
      // generateName cases: the apiserver appended 5 random characters; compare without them.
      const unsuffixed = (s: Set<string>) => [...s].map((t) => t.replace(/(metadata\.name: Invalid value: ".*-)[a-z0-9]{5}"/, '$1"')).sort();
      if (JSON.stringify(unsuffixed(mine)) === JSON.stringify(unsuffixed(real))) same++;
    }
    console.log(`# exact cause texts, v1.24: ${same}/${total}`);
    assert.equal(same, total);
  });
});

describe('apiserver message texts, v1.36', () => {
  test('every 422 message kubectl 1.36 printed is reproduced line for line and in order', () => {
    let same = 0;
    let total = 0;
    for (const c of readVerdicts('apiserver-verdicts-1.36.jsonl')) {
      // kubectl: `The Kind "name" is invalid: <one error>` or the same head then `\n* <error>` lines.
      const m = /^The \S+ ".*?" is invalid: ([\s\S]*)$/.exec(c.message);
      if (!m?.[1]) continue;
      total++;
      const body = m[1];
      const real = body.trim().includes('\n* ') || body.startsWith(' \n') || body.startsWith('\n')
        ? body.trim().split('\n').map((x) => x.replace(/^\* /, ''))
        : [body.trim()];
      const mine = [...new Set(apiserverErrors(c.manifest, '1.36').map(apiserverLine))];
      const unsuffixed = (lines: string[]) => lines.map((t) => t.replace(/(metadata\.name: Invalid value: ".*-)[a-z0-9]{5}"/, '$1"'));
      if (JSON.stringify(unsuffixed(mine)) === JSON.stringify(unsuffixed(real))) same++;
    }
    console.log(`# exact messages, v1.36: ${same}/${total}`);
    assert.equal(same, total);
  });
});
