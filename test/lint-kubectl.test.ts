// `lint --format apiserver` prints what kubectl prints, in the words of the release given by
// --kubernetes-version: checked against the rules' own tables, and against kubectl itself talking to
// a stand-in apiserver (API discovery, and the 1.24 apiserver's captured Status for each refusal).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { VERDICT_FILES, readVerdicts } from './helpers/fixtures.ts';
import { type CreateAnswer, type StandInOptions, startStandIn } from './helpers/kubectl.ts';
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

// ---------------------------------------------------------------------------------------------
// Compared with kubectl itself, run against a stand-in apiserver (test/helpers/kubectl.ts)

/** lint --format apiserver over these paths, and kubectl create over the same, as each prints. */
async function bothSay(t: TestContext, options: StandInOptions & { version: string; dir: string; paths: readonly string[]; stdin?: string }) {
  const kubectl = await startStandIn(t, options.dir, options);
  const files = options.paths.flatMap((p) => ['-f', p]);
  const real = await kubectl(['create', '--validate=false', ...files], options.stdin);
  const lint = await runCli(['lint', '--ruleset', 'apiserver', '--kubernetes-version', options.version, '--format', 'apiserver', ...options.paths],
    options.stdin === undefined ? {} : { stdin: options.stdin });
  return { kubectl: real.stderr.replace(/\n$/, ''), lint: lint.stdout.replace(/\n$/, '') };
}

const v1beta1 = (metadata: Json): Json => ({ apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice', metadata, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.2.3'] }] });
const v1 = (name: string): Json => slice({ metadata: { name, namespace: 'default' } });
const yaml = (...documents: Json[]): string => documents.map((d) => stringify(d, { version: '1.1' })).join('---\n');

describe('kubectl\'s words for a discovery.k8s.io/v1beta1 EndpointSlice on 1.25 and later, as kubectl prints them', () => {
  const shapes: Record<string, string[]> = {
    'with a name and namespace': [yaml(v1beta1({ name: 'old', namespace: 'shop' }))],
    'without a namespace (kubectl names none: it maps before it defaults one)': [yaml(v1beta1({ name: 'old' }))],
    'with a generateName (kubectl names none: the apiserver would make the name)': [yaml(v1beta1({ generateName: 'old-' }))],
    'without a name': [yaml(v1beta1({ labels: { app: 'web' } }))],
    'as a List item, beside a v1 item that is created': [yaml({ apiVersion: 'v1', kind: 'List', items: [v1beta1({ name: 'a', namespace: 'n' }), v1('fine'), v1beta1({ name: 'b' })] })],
    'as the only List item': [yaml({ apiVersion: 'v1', kind: 'List', items: [v1beta1({ name: 'a' })] })],
    'in a v1beta1 EndpointSliceList, which kubectl cannot map at all': [yaml({ apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSliceList', metadata: {}, items: [{ metadata: { name: 'x' }, addressType: 'IPv4', endpoints: [] }] })],
    'twice in one file': [yaml(v1beta1({ name: 'a' }), v1beta1({ name: 'b', namespace: 'n2' }))],
    'beside a v1 EndpointSlice that is created': [yaml(v1beta1({ name: 'a' }), v1('fine'))],
    'in two files': [yaml(v1beta1({ name: 'a' })), yaml(v1beta1({ generateName: 'b-' }))],
    'in a file, and as List items of another': [yaml(v1beta1({ name: 'a' })), yaml({ apiVersion: 'v1', kind: 'List', items: [v1beta1({ name: 'b' }), v1beta1({ name: 'c' })] })],
    'in a JSON file': [JSON.stringify(v1beta1({ name: 'j', namespace: 'n' }), null, 2)],
  };
  for (const [shape, texts] of Object.entries(shapes)) {
    test(shape, async (t) => {
      const dir = await tempDir(t, 'endpoint-guard-kubectl-');
      const paths = await Promise.all(texts.map(async (text, i) => {
        const file = path.join(dir, `m${i}.${text.startsWith('{') ? 'json' : 'yaml'}`);
        await writeFile(file, text);
        return file;
      }));
      const said = await bothSay(t, { version: '1.36', v1beta1: false, dir, paths });
      assert.equal(said.lint, said.kubectl);
      assert.match(said.lint, /no matches for kind/);
    });
  }

  test('on standard input, named STDIN', async (t) => {
    const dir = await tempDir(t, 'endpoint-guard-kubectl-');
    const said = await bothSay(t, { version: '1.36', v1beta1: false, dir, paths: ['-'], stdin: yaml(v1beta1({ name: 'a', namespace: 'n' })) });
    assert.equal(said.lint, said.kubectl);
    assert.match(said.lint, /from "STDIN"/);
  });
});

describe('a metadata field of the wrong JSON type, which kubectl refuses before it sends the object', () => {
  const cases: Record<string, { file: string; text: string; says: RegExp }> = {
    'the first wrong label value in YAML is the first in key order (YAML is converted to JSON with sorted keys)':
      { file: 'm.yaml', text: yaml(slice({ metadata: { name: 'm', labels: { b: 1, a: true } } })), says: /cannot unmarshal bool into Go struct field ObjectMeta\.metadata\.labels of type string/ },
    'the first wrong label value in JSON is the first as written':
      { file: 'm.json', text: JSON.stringify(slice({ metadata: { name: 'm', labels: { z: 1, a: true } } })), says: /cannot unmarshal number into/ },
    'a creationTimestamp of the wrong type is named even after another error (metav1.Time decodes itself and stops)':
      { file: 'm.yaml', text: yaml(slice({ metadata: { name: 'm', annotations: { a: true }, generation: 1.5, creationTimestamp: 5 } })), says: /ObjectMeta\.metadata\.creationTimestamp of type string/ },
    'a metadata that is not an object is named in kubectl\'s own struct':
      { file: 'm.yaml', text: yaml(slice({ metadata: 'web' })), says: /metadataOnlyObject\.metadata of type v1\.ObjectMeta/ },
    'an owner reference field, and an integer with its number':
      { file: 'm.yaml', text: yaml(slice({ metadata: { name: 'm', generation: 2.5, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 's', uid: 'u', controller: 'yes' }] } })), says: /number 2\.5 into Go struct field ObjectMeta\.metadata\.generation of type int64/ },
    'a v1beta1 EndpointSlice is refused for its metadata first: kubectl decodes before it maps':
      { file: 'm.yaml', text: yaml(v1beta1({ name: 'old', finalizers: [7] })), says: /ObjectMeta\.metadata\.finalizers of type string/ },
  };
  for (const [name, c] of Object.entries(cases)) {
    test(name, async (t) => {
      const dir = await tempDir(t, 'endpoint-guard-kubectl-');
      const file = path.join(dir, c.file);
      await writeFile(file, c.text);
      const said = await bothSay(t, { version: '1.36', v1beta1: false, dir, paths: [file] });
      assert.equal(said.lint, said.kubectl);
      assert.match(said.lint, c.says);
    });
  }
});

describe('the cluster\'s refusals of several objects in one run, as kubectl gathers them', () => {
  // The 1.24 apiserver's own Status for each case it refused, answered by the stand-in.
  const cases = readVerdicts(VERDICT_FILES[0].file);
  const statusOf = new Map(cases.flatMap((c) => {
    const meta: unknown = typeof c.manifest === 'object' && c.manifest !== null && 'metadata' in c.manifest ? c.manifest.metadata : undefined;
    const name = typeof meta === 'object' && meta !== null && 'name' in meta ? meta.name : undefined;
    return c.status !== null && typeof name === 'string' ? [[name, c.status]] : [];
  }));
  const answer = (object: Record<string, unknown>): CreateAnswer | undefined => {
    const meta = object.metadata;
    const status = typeof meta === 'object' && meta !== null && 'name' in meta && typeof meta.name === 'string' ? statusOf.get(meta.name) : undefined;
    const code = typeof status === 'object' && 'code' in status && typeof status.code === 'number' ? status.code : 422;
    return status === undefined ? undefined : { code, body: status };
  };
  // Every case with a name of its own (a generateName gets a random one), refused or not.
  const named = cases.filter((c) => typeof c.manifest === 'object' && c.manifest !== null && 'metadata' in c.manifest
    && typeof c.manifest.metadata === 'object' && c.manifest.metadata !== null && 'name' in c.manifest.metadata);

  test(`all ${named.length} named 1.24 cases in one file, and the same split over two files with a v1beta1 List`, async (t) => {
    const dir = await tempDir(t, 'endpoint-guard-kubectl-');
    const all = path.join(dir, 'all.yaml');
    await writeFile(all, named.map((c) => stringify(c.manifest, { version: '1.1' })).join('---\n'));
    const said = await bothSay(t, { version: '1.24', v1beta1: true, answer, dir, paths: [all] });
    assert.equal(said.lint, said.kubectl);
    const refusals = said.lint.split('\n').filter((l) => l.startsWith('Error from server ('));
    assert.equal(refusals.length, named.filter((c) => !c.accepted).length, 'a line for each refused case');

    const [first, second] = [path.join(dir, 'a.yaml'), path.join(dir, 'b.json')];
    const half = Math.floor(named.length / 2);
    await writeFile(first, named.slice(0, half).map((c) => stringify(c.manifest, { version: '1.1' })).join('---\n'));
    await writeFile(second, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: named.slice(half).map((c) => c.manifest) }, null, 2));
    const split = await bothSay(t, { version: '1.24', v1beta1: true, answer, dir, paths: [first, second] });
    assert.equal(split.lint, split.kubectl);
  });

  test('refusals of the cluster and of kubectl in one run: the cluster\'s first, then kubectl\'s in one aggregate', async (t) => {
    const dir = await tempDir(t, 'endpoint-guard-kubectl-');
    const refused = named.filter((c) => !c.accepted && c.apiVersion === 'discovery.k8s.io/v1').slice(0, 2).map((c) => c.manifest);
    const file = path.join(dir, 'mixed.yaml');
    const list = { apiVersion: 'v1', kind: 'List', items: [v1beta1({ name: 'b' })] };
    await writeFile(file, [...refused.map((m) => stringify(m, { version: '1.1' })), yaml(v1beta1({ name: 'a' }), list)].join('---\n'));
    const said = await bothSay(t, { version: '1.36', v1beta1: false, answer, dir, paths: [file] });
    assert.equal(said.lint, said.kubectl);
    assert.match(said.lint, /^\[resource mapping not found/m);
  });
});
