// endpoint-guard lint: reading manifests, positions, formats, exit codes and bad input, run in process.
// Outputs are compared with golden files under test/golden/lint (UPDATE_GOLDEN=1 npm test rewrites them).
import assert from 'node:assert/strict';
import { open, readFile, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parse, stringify } from 'yaml';
import { catalogue, ruleIds } from '../src/rules/catalogue.ts';
import { MAX_FILE_BYTES, listFiles, parseManifests } from '../src/lint/read.ts';
import { lintManifest } from '../src/lint/run.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { artifactUri } from '../src/lint/format/sarif.ts';
import { VALIDATING_WEBHOOK_NAME } from '../src/lint/format/apiserver.ts';
import { ipv4Endpoints, slice } from './helpers/objects.ts';
import { tempDir } from './helpers/temp.ts';
import { REPO, assertGolden, runCli, transcript } from './helpers/lint.ts';

// Inputs are named relative to the checkout, as a user in it names them; outputs show them so.
process.chdir(REPO);
const INPUTS = 'test/golden/lint/inputs';
const read = (text: string, file = 'm.yaml') => parseManifests({ file, text });

describe('reading manifests', () => {
  test('reads every document of a multi-document file and skips empty ones', () => {
    const parsed = read('---\nkind: EndpointSlice\n---\n---\nkind: Endpoints\n...\n');
    assert.equal(parsed.error, undefined);
    assert.deepEqual(parsed.manifests.map((m) => [m.document, m.position.line]), [[1, 2], [3, 5]]);
  });

  test('hands each object to the caller as its document is read, once even when the file must be read a second way, and keeps nothing from a broken file', () => {
    const seen: string[] = [];
    const use = (m: { document: number }) => {
      seen.push(`doc ${m.document}`);
      return m.document;
    };
    // Plain YAML first; the anchor in the third document sends the whole file to the yaml package.
    const text = 'kind: Endpoints\n---\nkind: EndpointSlice\n---\nkind: Endpoints\nmetadata: &m { name: x }\n';
    const parsed = parseManifests({ file: 'm.yaml', text }, use);
    assert.deepEqual(parsed.manifests, [1, 2, 3], 'one result per object, in order');
    assert.deepEqual(seen, ['doc 1', 'doc 2', 'doc 1', 'doc 2', 'doc 3'], 'the first two were read twice: plain YAML, then the yaml package');
    const broken = parseManifests({ file: 'm.yaml', text: 'kind: Endpoints\n---\nkind: [\n' }, use);
    assert.deepEqual([broken.manifests, typeof broken.error?.message], [[], 'string']);
  });

  test('unwraps List, EndpointsList and EndpointSliceList, giving typed-list items the list kind and apiVersion', () => {
    const text = stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'EndpointsList', items: [{ metadata: { name: 'a' } }] },
        { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSliceList', items: [{ metadata: { name: 'b' } }] },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } },
      ],
    });
    const parsed = read(text);
    assert.deepEqual(parsed.manifests.map((m) => m.object), [
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'a' } },
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'b' } },
    ]);
    assert.deepEqual(parsed.skipped.map((s) => s.kind), ['Service']);
  });

  test('counts documents of other kinds, without a kind, and that are not objects as skipped', () => {
    const parsed = read('kind: Deployment\n---\nmetadata: {}\n---\n[1, 2]\n---\njust text\n');
    assert.deepEqual(parsed.skipped.map((s) => [s.kind, s.line]), [['Deployment', 1], ['no kind', 3], ['a YAML sequence', 5], ['a string', 7]]);
  });

  test('reads YAML as kubectl does (YAML 1.1): yes is true, 0755 is octal, dates and colon numbers stay strings', () => {
    const [m] = read('kind: EndpointSlice\na: yes\nb: 0755\nc: 2024-01-02\nd: 1:2:3:4:5:6:7:8\ne: on\n').manifests;
    assert.deepEqual(m?.object, { kind: 'EndpointSlice', a: true, b: 493, c: '2024-01-02', d: '1:2:3:4:5:6:7:8', e: true });
  });

  test('reads JSON with the same parser', () => {
    const [m] = read('{"kind": "Endpoints", "metadata": {"name": "x"}}', 'x.json').manifests;
    assert.deepEqual(m?.object, { kind: 'Endpoints', metadata: { name: 'x' } });
  });

  test('walks directories in sorted order, only .yaml, .yml and .json files, not hidden ones, each file once', async () => {
    const listed = await listFiles([INPUTS, `${INPUTS}/slices.yaml`, `${INPUTS}/nested/notes.txt`]);
    assert.deepEqual(listed.errors, []);
    assert.deepEqual(listed.files, [
      `${INPUTS}/endpoints.json`, `${INPUTS}/list.yaml`, `${INPUTS}/nested/v1beta1.yml`, `${INPUTS}/slices.yaml`,
      `${INPUTS}/nested/notes.txt`, // named on the command line: read whatever its name
    ]);
  });
});

describe('positions point at the offending field', () => {
  const yaml = [
    /*  1 */ 'apiVersion: discovery.k8s.io/v1',
    /*  2 */ 'kind: EndpointSlice',
    /*  3 */ 'metadata:',
    /*  4 */ '  name: api-1',
    /*  5 */ '  labels:',
    /*  6 */ '    kubernetes.io/service-name: web',
    /*  7 */ 'endpoints:',
    /*  8 */ '  - addresses:',
    /*  9 */ '      - 10.0.0.1',
    /* 10 */ '      - &dup 10.0.0.1',
    /* 11 */ '    hostname: Bad_Host',
    /* 12 */ '  - addresses: [10.0.0.2, 127.0.0.1]',
    /* 13 */ 'ports:',
    /* 14 */ '  - {name: http, protocol: HTTP, port: 80}',
    /* 15 */ 'addressType: IPv4',
  ].join('\n');
  const cases: [rule: string, path: string, line: number, column: number, why: string][] = [
    ['managed-by-missing', 'metadata.labels', 5, 3, 'a label finding: the labels map'],
    ['slice-name-prefix', 'metadata.name', 4, 3, 'a field: its key'],
    ['duplicate-address', 'endpoints[0].addresses[1]', 10, 14, 'a block sequence item: its value, after the anchor'],
    ['endpoint-fields', 'endpoints[0].hostname', 11, 5, 'a field of a sequence item'],
    ['address', 'endpoints[1].addresses[1]', 12, 27, 'a flow sequence item'],
    ['ports', 'ports[0].protocol', 14, 18, 'a key in a flow mapping'],
  ];
  for (const [rule, at, line, column, why] of cases) {
    test(`${rule} at ${at} is reported at ${line}:${column}: ${why}`, () => {
      const [m] = read(yaml).manifests;
      assert.ok(m);
      const report = lintManifest(m, { version: kubeVersion(36), mode: 'enforce', ruleset: 'all', rules: {}, softEndpointLimit: 100, onRuleError: 'allow' });
      const found = report.findings.filter((f) => f.rule === rule && f.path === at);
      assert.equal(found.length, 1, JSON.stringify(report.findings.map((f) => [f.rule, f.path])));
      assert.deepEqual([found[0]?.line, found[0]?.column], [line, column]);
    });
  }

  test('a missing field is reported at the deepest node that exists: here the object itself', () => {
    const [m] = read(yaml.replace('addressType: IPv4', '')).manifests;
    assert.ok(m);
    const report = lintManifest(m, { version: kubeVersion(36), mode: 'enforce', ruleset: 'all', rules: {}, softEndpointLimit: 100, onRuleError: 'allow' });
    const found = report.findings.find((f) => f.rule === 'address-type');
    assert.deepEqual([found?.path, found?.line, found?.column], ['addressType', 1, 1]);
  });

  test('JSON positions count the same way', () => {
    const [m] = read('{\n  "kind": "Endpoints",\n  "subsets": [\n    {"addresses": [{"ip": "x"}]}\n  ]\n}', 'e.json').manifests;
    assert.deepEqual(m?.locate(['subsets', 0, 'addresses', 0, 'ip']), { line: 4, column: 21 });
    assert.deepEqual(m?.locate(['subsets', 0, 'ports']), { line: 4, column: 5 }, 'missing: the deepest node that exists');
  });

  test('an item of a List is located inside the list', () => {
    const [m] = read('kind: List\nitems:\n  - kind: Endpoints\n    metadata:\n      name: a\n').manifests;
    assert.deepEqual(m?.position, { line: 3, column: 5 });
    assert.deepEqual(m?.locate(['metadata', 'name']), { line: 5, column: 7 });
  });
});

describe('golden outputs', () => {
  const cases: [golden: string, args: string[]][] = [
    ['text.txt', ['lint', INPUTS]],
    ['json.txt', ['lint', '--format', 'json', INPUTS]],
    ['sarif.txt', ['lint', '--format', 'sarif', INPUTS]],
    ['apiserver.txt', ['lint', '--format', 'apiserver', INPUTS]],
    ['ruleset-apiserver.txt', ['lint', '--ruleset', 'apiserver', INPUTS]],
    ['complain.txt', ['lint', '--mode', 'complain', INPUTS]],
    ['kubernetes-1.24.txt', ['lint', '--kubernetes-version', '1.24', '--format', 'apiserver', INPUTS]],
    ['config.txt', ['lint', '--config', 'test/golden/lint/config.yaml', `${INPUTS}/slices.yaml`]],
    ['clean.txt', ['lint', 'test/golden/lint/clean']],
    ['bad-inputs.txt', ['lint', 'test/golden/lint/bad', 'test/golden/lint/missing.yaml']],
  ];
  for (const [golden, args] of cases) {
    test(`endpoint-guard ${args.join(' ')} prints ${golden}`, async () => {
      assertGolden(golden, transcript(args, await runCli(args)));
    });
  }

  test('stdin (-) is read like a file and reported as <stdin>', async () => {
    const text = await readFile(`${INPUTS}/slices.yaml`, 'utf8');
    const args = ['lint', '-', `${INPUTS}/endpoints.json`];
    assertGolden('stdin.txt', transcript(args, await runCli(args, { stdin: text }), ` < ${INPUTS}/slices.yaml`));
  });

  test('usage errors exit 2 and say what to do', async () => {
    const runs = [
      ['lint'],
      ['lint', '--format', 'xml', INPUTS],
      ['lint', '--mode', 'off', INPUTS],
      ['lint', '--ruleset', 'policy', INPUTS],
      ['lint', '--kubernetes-version', '1.20', INPUTS],
      ['lint', '--strict', INPUTS],
      ['lint', '--config', 'test/golden/lint/no-such-config.yaml', INPUTS],
    ];
    const out: string[] = [];
    for (const args of runs) {
      const run = await runCli(args);
      assert.equal(run.code, 2);
      out.push(transcript(args, run));
    }
    assertGolden('usage.txt', out.join('\n'));
  });
});

describe('exit codes', () => {
  const lint = async (t: TestContext, object: unknown, ...flags: string[]) => {
    const file = path.join(await tempDir(t), 'm.yaml');
    await writeFile(file, stringify(object));
    return (await runCli(['lint', ...flags, file])).code;
  };
  const controllerSlice = slice({ metadata: { name: 'web-abc12', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } });
  test('0 for a clean object', async (t) => assert.equal(await lint(t, slice()), 0));
  test('0 when there are only warnings', async (t) => assert.equal(await lint(t, slice({}, [{ addresses: ['239.1.1.1'] }])), 0));
  test('1 when enforce rejects a policy error', async (t) => assert.equal(await lint(t, controllerSlice), 1));
  test('0 for the same policy error with --ruleset apiserver', async (t) => assert.equal(await lint(t, controllerSlice, '--ruleset', 'apiserver'), 0));
  test('0 for an apiserver error in complain mode', async (t) => assert.equal(await lint(t, slice({ addressType: 'IPv5' }), '--mode', 'complain'), 0));
  test('1 for an apiserver error in enforce mode', async (t) => assert.equal(await lint(t, slice({ addressType: 'IPv5' })), 1));
  test('2 when an input cannot be read, even with rejected objects beside it', async () => {
    assert.equal((await runCli(['lint', INPUTS, 'test/golden/lint/missing.yaml'])).code, 2);
  });
});

describe('bad input gets a message with the file name and exit 2, never a stack trace', () => {
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at /);

  test(`a file over ${MAX_FILE_BYTES / 1024 / 1024} MiB (50 MB here) is refused before it is read`, async (t) => {
    const file = path.join(await tempDir(t), 'huge.yaml');
    const handle = await open(file, 'w');
    await handle.truncate(50 * 1000 * 1000); // sparse: no 50 MB written
    await handle.close();
    const run = await runCli(['lint', file]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `${file}: is 47.7 MiB, over the 10 MiB limit for one manifest file; split it or give the manifests themselves\n`);
  });

  test('more than the limit on stdin is refused', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const run = await runCli(['lint', '-'], { stdin: Array.from({ length: 11 }, () => chunk) });
    assert.equal(run.code, 2);
    assert.equal(run.stderr, '<stdin>: is over the 10 MiB limit for one manifest file; split it or give the manifests themselves\n');
    noStack(run.stderr);
  });

  test('text that is not UTF-8 is named as such', async (t) => {
    const file = path.join(await tempDir(t), 'latin1.yaml');
    await writeFile(file, Buffer.from('kind: Endpoints\nmetadata: {name: caf\xe9}\n', 'latin1'));
    const run = await runCli(['lint', file]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `${file}: is not UTF-8 text; save it as UTF-8\n`);
  });

  test('- without a standard input says to give file names', async () => {
    const run = await runCli(['lint', '-']);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, '<stdin>: standard input is not available here; give file names instead of -\n');
  });

  test('a directory without manifests is an input error', async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'README.md'), '# nothing\n');
    const run = await runCli(['lint', dir]);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `${dir}: directory holds no .yaml, .yml, .json files; give the directory with the manifests\n`);
  });

  test('an alias bomb is refused, not expanded', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const run = await runCli(['lint', '-'], { stdin: `kind: Endpoints\n${lines.join('\n')}\n` });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^<stdin>:1:1: cannot read document 1: /);
    noStack(run.stderr);
  });
});

describe('colour', () => {
  const args = ['lint', `${INPUTS}/slices.yaml`];
  const ESC = '\u001b[';
  test('is used on a terminal', async () => assert.ok((await runCli(args, { tty: true })).stdout.includes(ESC)));
  test('is not used when NO_COLOR is set', async () => assert.ok(!(await runCli(args, { tty: true, env: { NO_COLOR: '1' } })).stdout.includes(ESC)));
  test('is not used in a pipe or file', async () => assert.ok(!(await runCli(args)).stdout.includes(ESC)));
  test('is never used by the machine formats', async () => {
    for (const format of ['json', 'sarif', 'apiserver']) {
      assert.ok(!(await runCli(['lint', '--format', format, ...args.slice(1)], { tty: true })).stdout.includes(ESC), format);
    }
  });
});

describe('SARIF', () => {
  // @microsoft/jest-sarif ships the SARIF 2.1.0 schema (its final rtm.5 revision); it is a draft-04 schema.
  const require = createRequire(import.meta.url);
  const schemaFile = path.join(path.dirname(require.resolve('@microsoft/jest-sarif/package.json')), 'lib/schemas/sarif-2.1.0-rtm.5.json');

  test('validates against the SARIF 2.1.0 JSON schema', async () => {
    const schema: unknown = JSON.parse(await readFile(schemaFile, 'utf8'));
    assert.ok(typeof schema === 'object' && schema !== null);
    const ajv = new AjvDraft04.default({ allErrors: true, strict: false, unicodeRegExp: false }) // the schema's language pattern is not a valid /u regex;
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    for (const args of [['lint', '--format', 'sarif', INPUTS], ['lint', '--format', 'sarif', 'test/golden/lint/bad']]) {
      const log: unknown = JSON.parse((await runCli(args)).stdout);
      assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
    }
  });

  test('lists the catalogue rules with their docs and gives each result a rule, level and location', async () => {
    const log = JSON.parse((await runCli(['lint', '--format', 'sarif', INPUTS])).stdout);
    const run = log.runs[0];
    assert.deepEqual(run.tool.driver.rules.map((r: { id: string }) => r.id), ruleIds);
    for (const r of run.tool.driver.rules) assert.equal(r.shortDescription.text, catalogue[r.id as keyof typeof catalogue].doc);
    assert.ok(run.results.length > 0);
    for (const r of run.results) {
      assert.equal(run.tool.driver.rules[r.ruleIndex].id, r.ruleId);
      assert.ok(r.level === 'error' || r.level === 'warning');
      const { artifactLocation, region } = r.locations[0].physicalLocation;
      assert.ok(artifactLocation.uri.startsWith('test/golden/lint/inputs/'));
      assert.ok(region.startLine >= 1 && region.startColumn >= 1);
    }
  });

  test('with --ruleset apiserver lists only the apiserver rules', async () => {
    const log = JSON.parse((await runCli(['lint', '--format', 'sarif', '--ruleset', 'apiserver', INPUTS])).stdout);
    assert.deepEqual(log.runs[0].tool.driver.rules.map((r: { id: string }) => r.id), ruleIds.filter((id) => catalogue[id].source === 'apiserver'));
  });

  test('artifact URIs are relative and percent-encoded, absolute paths become file URIs', () => {
    assert.equal(artifactUri('deploy/my slices/a#1.yaml'), 'deploy/my%20slices/a%231.yaml');
    assert.equal(artifactUri('/srv/k8s/a.yaml'), 'file:///srv/k8s/a.yaml');
    assert.equal(artifactUri('<stdin>'), 'stdin');
  });
});

describe('performance', () => {
  test('lints a slice with 1000 endpoints quickly', async (t) => {
    const file = path.join(await tempDir(t), 'big.yaml');
    const endpoints = ipv4Endpoints(1000).map((e, i) => ({ ...e, conditions: { ready: true }, nodeName: `node-${i % 50}`, zone: `zone-${i % 3}` }));
    await writeFile(file, stringify(slice({}, endpoints)));
    let run = await runCli(['lint', file]); // warm up: module loading and JIT are not what we measure
    // The best of three: a sanity bound on the work, not on how busy the machine is.
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      run = await runCli(['lint', file]);
      times.push(performance.now() - start);
    }
    const ms = Math.min(...times);
    console.log(`# lint of a 1000-endpoint EndpointSlice manifest (${Math.round(stringify(slice({}, endpoints)).length / 1024)} KiB): ${ms.toFixed(0)} ms`);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /endpoint-soft-limit/);
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});


describe('documentation and packaging of lint', () => {
  const lintPage = () => readFile(path.join(REPO, 'docs/lint.md'), 'utf8');

  test("docs/lint.md's example is what lint prints", async () => {
    const run = await runCli(['lint', `${INPUTS}/slices.yaml`]);
    const example = `$ endpoint-guard lint slices.yaml\n${run.stdout.replaceAll(`${INPUTS}/`, '')}\`\`\``;
    assert.ok((await lintPage()).includes(example), example);
  });

  test('docs/lint.md documents every field of --format json', async () => {
    const text = await lintPage();
    const doc = JSON.parse((await runCli(['lint', '--format', 'json', INPUTS, 'test/golden/lint/missing.yaml'])).stdout);
    for (const key of Object.keys(doc)) assert.ok(text.includes(`| \`${key}${Array.isArray(doc[key]) ? '[]' : ''}\` |`), key);
    for (const list of ['findings', 'objects', 'skipped', 'inputErrors']) {
      const row = text.split('\n').find((l) => l.includes(`| \`${list}[]\` |`)) ?? '';
      for (const field of Object.keys(doc[list][0])) assert.ok(row.includes(field), `${list}[].${field}`);
    }
    for (const field of Object.keys(doc.summary)) assert.ok(text.includes(field), `summary.${field}`);
  });

  test('the webhook name in --format apiserver is the one deploy/ registers', async () => {
    const files = (await readdir(path.join(REPO, 'deploy'), { recursive: true })).filter((f) => f.endsWith('.yaml'));
    const texts = await Promise.all(files.map((f) => readFile(path.join(REPO, 'deploy', f), 'utf8')));
    assert.ok(texts.some((t) => t.includes(`name: ${VALIDATING_WEBHOOK_NAME}`)));
  });

  test('the pre-commit hook runs the command package.json installs', async () => {
    const hooks = parse(await readFile(path.join(REPO, '.pre-commit-hooks.yaml'), 'utf8'));
    const pkg = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8'));
    assert.equal(hooks[0].id, 'endpoint-guard-lint');
    assert.equal(hooks[0].entry, `${Object.keys(pkg.bin)[0]} lint`);
    assert.equal(hooks[0].language, 'node');
    assert.match(hooks[0].language_version, /^24\./);
  });
});
