// The fast readers of manifest files (JSON.parse for JSON, js-yaml's events for plain YAML) against
// the yaml package, which read every file before and still reads what they decline: the same
// documents, values (key order included), positions, lines and columns, on the test inputs, the
// captured verdict manifests, hand-written edge cases and seeded random documents.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { type DocumentOptions, LineCounter, Parser, type SchemaOptions, type ToStringOptions, stringify } from 'yaml';
import { readJson } from '../src/lint/json-text.ts';
import { MAY_RESOLVE_FIRST, implicitTags, readPlainYaml } from '../src/lint/plain-yaml.ts';
import { decodeText, parseManifests } from '../src/lint/read.ts';
import { type SourceDocument, positionsIn } from '../src/lint/source.ts';
import { readYaml } from '../src/lint/yaml11.ts';
import type { FieldPath } from '../src/rules/path.ts';
import { VERDICT_FILES, readVerdicts } from './helpers/fixtures.ts';
import { REPO } from './helpers/lint.ts';

type Reader = 'json' | 'plain' | 'declined';

/** What the fast readers make of the text; `fallback` is what plain YAML asks the yaml package. */
function readFast(text: string, fallback: (document: number, path: FieldPath) => number): { reader: Reader; docs: SourceDocument[] } {
  const json = readJson(text);
  if (json !== undefined) return { reader: 'json', docs: [json] };
  const docs: SourceDocument[] = [];
  return readPlainYaml(text, (d) => docs.push(d), fallback) ? { reader: 'plain', docs } : { reader: 'declined', docs: [] };
}

/** Every path in a value, and one past each leaf and container (a field that is missing). */
function pathsOf(value: unknown, prefix: FieldPath = [], out: FieldPath[] = []): FieldPath[] {
  out.push(prefix, [...prefix, 'missing'], [...prefix, 7]);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

const nonEmpty = (docs: readonly SourceDocument[]) => docs.filter((d) => d.value !== null && d.value !== undefined);

/**
 * Asserts the fast reader agrees with the yaml package on the text; says which reader read it, and
 * whether the yaml package reads it at all.
 */
function agree(text: string, name: string): { reader: Reader; yamlReads: boolean } {
  const reference = readYaml(text);
  const { reader, docs } = readFast(text, (document, p) => (reference.ok ? reference.documents[document - 1]?.offsetOf(p) ?? 0 : 0));
  if (reader === 'declined') return { reader, yamlReads: reference.ok };
  assert.ok(reference.ok, `${name}: read by ${reader}, but the yaml package refuses it: ${reference.ok ? '' : reference.message}`);
  const expected = nonEmpty(reference.documents);
  assert.deepEqual(nonEmpty(docs).map((d) => d.index), expected.map((d) => d.index), `${name}: document numbers`);
  const lines = new LineCounter(); // the yaml package's own line count, from its parser
  for (const _token of new Parser(lines.addNewLine).parse(text));
  const at = positionsIn(text);
  for (const doc of nonEmpty(docs)) {
    const ref: SourceDocument | undefined = reference.documents[doc.index - 1];
    assert.ok(isDeepStrictEqual(doc.value, ref?.value), `${name}: document ${doc.index} reads ${JSON.stringify(doc.value)}, not ${JSON.stringify(ref?.value)}`);
    assert.equal(JSON.stringify(doc.value), JSON.stringify(ref?.value), `${name}: key order of document ${doc.index}`);
    for (const p of pathsOf(doc.value)) {
      const offset = doc.offsetOf(p);
      assert.equal(offset, ref?.offsetOf(p), `${name}: offset of ${JSON.stringify(p)} in document ${doc.index}`);
      const { line, col } = lines.linePos(offset);
      assert.deepEqual(at(offset), { line, column: col }, `${name}: line and column of offset ${offset}`);
    }
  }
  return { reader, yamlReads: true };
}

// ---------------------------------------------------------------------------------------------
// Corpora

const inputFiles = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name)).map((e) => path.join(e.parentPath, e.name)).sort();

// The 1.24 manifests (the 1.36 file holds the same ones); the large ones (1000 endpoints) only add time.
const manifests = readVerdicts(VERDICT_FILES[0].file).map((c) => c.manifest).filter((m) => JSON.stringify(m).length < 20_000);

/** Scalars and keys that YAML 1.1 reads in more than one way, or that need quoting. */
const SCALARS: readonly unknown[] = [
  'a', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', 'null', '~', '', ' ', '0755', '0o17', '0x1F', '0b101', '1_000',
  '1e5', '1.50', '.inf', '-.Inf', '.nan', '12:30', '1:2:3', '2001-12-14', '2001-12-14t21:59:43.10-05:00', 'a: b', '- x',
  '# c', 'a #b', "it's", 'say "hi"', 'multi\nline', 'trailing\n', '  lead', 'tab\there', 'é😀', 'back\\slash', '@at', '`tick',
  '%pct', '!bang', '&amp', '*star', '|', '>', '[', '{x}', ',', '?q', '<<', '10.1.2.3', '::1', 'fe80::1%eth0',
  0, 1, -1, 2147483648, 1.5, 1e21, 0.1, 123456789012345680000, true, false, null,
];
const KEYS = ['name', 'kind', 'yes', 'on', '1', '0x1F', 'a b', 'x:y', 'constructor', 'toString', 'é', 'k8s.io/name', 'null', 'true', '-d', 'x'.repeat(200)];

/** A seeded pseudo-random source (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(next: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
  const roll = next();
  if (depth >= 4 || roll < 0.45) return pick(SCALARS);
  if (roll < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 5); i > 0; i--) object[pick(KEYS)] = randomValue(next, depth + 1);
  return object;
}

const STYLES: readonly (DocumentOptions & SchemaOptions & ToStringOptions)[] = [
  { version: '1.1' },
  {},
  { version: '1.1', defaultStringType: 'QUOTE_DOUBLE' },
  { version: '1.1', defaultStringType: 'QUOTE_SINGLE', defaultKeyType: 'PLAIN' },
  { version: '1.1', collectionStyle: 'flow' },
  { version: '1.1', indentSeq: false, indent: 4 },
  { version: '1.1', lineWidth: 20, minContentWidth: 0 },
  { version: '1.1', defaultStringType: 'BLOCK_LITERAL' },
  { version: '1.1', defaultStringType: 'BLOCK_FOLDED', lineWidth: 30 },
];

function randomText(next: () => number): string {
  const docs = Array.from({ length: 1 + Math.floor(next() * 3) }, () => randomValue(next, 0));
  if (next() < 0.25) return JSON.stringify(docs[0], null, next() < 0.5 ? 2 : undefined) ?? 'null';
  const style = STYLES[Math.floor(next() * STYLES.length)];
  const text = docs.map((d) => stringify(d, style)).join(next() < 0.5 ? '---\n' : '\n# between\n---\n');
  return next() < 0.2 ? text.replaceAll('\n', '\r\n') : text;
}

const EDGE_CASES: readonly string[] = [
  'a: 1\nb:\n  - x\n  - "q"\n  - {c: d}\n  - e: f\n    g: h\n  -\n---\n[1, "two"]\n',
  'a: yes\nb: on\nc: 0755\nd: 0x1F\ne: 1_000\nf: .inf\ng: ~\nh: 1:30\ni: 2001-12-14\nj: y\nk: NO\nl: "yes"\nm: 1e5\nn: 1.50\n',
  '~: 1\n1: 2\ntrue: 3\n"x": 4\n__proto__: 5\n',
  '# c\n---\na: 1\n',
  'a: |\n  x\n  y\nb: >-\n  z\n\n  w\nc: "multi\n  line"\nd: plain\n  folded\n',
  'items:\n- |\n  block\n- \n- ""\n-\n  - nested\n',
  'a: 1\r\nb:\r\n  - 2\r\n',
  'k: "é 😀 \\t \\u263A \\U0001F600 \\x41 \\N \\_ \\/"\nl: v\n',
  "'s': 'it''s'\n\"t\": 'u'\n",
  'a: 1\n---\n---\nb: 2\n',
  '--- {a: 1, b: [x, y], "c": {d: e}}\n--- |\n  text\n---\n- 1\n',
  'a:\n- 1\n- 2\nb: c # comment\nkey: value with # not comment\n',
  'a: [1,\n  2,\n  3]\n',
  '"a"\n',
  '42\n',
  '{"a": {"b": [1, 2.5, "x", null, true, {}]}, "c\\u0041": -0, "e": 1E400, "f": 12345678901234567890}',
  '  \n\t{"kind": "List", "items": [{"kind": "Endpoints"}, [], "x", {"kind": "EndpointSlice", "metadata": {"name": "a\\"b"}}]}\n',
  '[]',
];

describe('fast readers agree with the yaml package', () => {
  test('on every test input, read as it is; each that the yaml package reads is read fast', () => {
    const files = [...inputFiles(path.join(REPO, 'test/golden/lint')), ...inputFiles(path.join(REPO, 'examples'))];
    for (const file of files) {
      const decoded = decodeText(file, readFileSync(file)); // as lint reads it: binary and UTF-16 go no further
      if (!decoded.ok) continue;
      const { reader, yamlReads } = agree(decoded.source.text, path.relative(REPO, file));
      assert.equal(reader === 'declined', !yamlReads, `${path.relative(REPO, file)}: read by ${reader}`);
    }
  });

  test('on every captured verdict manifest, as YAML, as JSON and all in one file', () => {
    const yamlDocs = manifests.map((m) => stringify(m, { version: '1.1' }));
    const texts = [
      ...yamlDocs, ...manifests.map((m) => JSON.stringify(m, null, 2)),
      yamlDocs.join('---\n'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: manifests }),
      stringify({ apiVersion: 'v1', kind: 'List', items: manifests }, { version: '1.1' }),
    ];
    const readers = texts.map((t, i) => agree(t, `verdict text ${i}`).reader);
    assert.deepEqual(readers.filter((r) => r === 'declined'), [], 'every manifest is plain YAML or JSON');
    assert.equal(readers.filter((r) => r === 'json').length, manifests.length + 1);
  });

  test('on hand-written edge cases', () => {
    const readers = EDGE_CASES.map((t, i) => agree(t, `edge case ${i}: ${JSON.stringify(t).slice(0, 60)}`).reader);
    assert.deepEqual(readers.filter((r) => r === 'declined'), []);
  });

  test('on 400 seeded random documents in every serialising style', () => {
    const next = random(20260415);
    const readers = Array.from({ length: 400 }, (_, i) => {
      const text = randomText(next);
      return agree(text, `random document ${i}: ${JSON.stringify(text).slice(0, 200)}`).reader;
    });
    const fast = readers.filter((r) => r !== 'declined').length;
    assert.ok(fast >= 300, `only ${fast} of 400 read fast`);
  });

  test('on 1500 seeded random documents with a few characters changed: malformed YAML and JSON included', () => {
    const next = random(7);
    const TOKENS = [':', '-', ' ', '  ', '\n', '#', '"', "'", '{', '}', '[', ']', ',', '\t', '?', '|', '>', '!', '&', '*', '---\n', '\\', 'x', '0', '.', '%', '\r\n'];
    let fast = 0;
    for (let i = 0; i < 1500; i++) {
      let text = randomText(next);
      for (let edits = 1 + Math.floor(next() * 3); edits > 0; edits--) {
        const at = Math.floor(next() * (text.length + 1));
        const token = TOKENS[Math.floor(next() * TOKENS.length)] ?? '';
        const roll = next();
        text = roll < 0.5 ? text.slice(0, at) + token + text.slice(at)
          : roll < 0.8 ? text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 3)) : text.slice(0, at) + token + text.slice(at + 1);
      }
      if (agree(text, `changed document ${i}: ${JSON.stringify(text).slice(0, 300)}`).reader !== 'declined') fast++;
    }
    assert.ok(fast >= 500, `only ${fast} of 1500 read fast`);
  });
});

describe('plain scalars', () => {
  test(`only a text that is empty or starts with one of ${MAY_RESOLVE_FIRST} can be other than a string in YAML 1.1`, () => {
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    const tails = ['', ...printable, 'es', 'rue', 'ull', 'ff', 'x1F', 'b101', '755', '.5', 'e5', '_0', ':30', 'inf', 'nan', 'NaN', '.inf', '1e3'];
    const matched = printable.filter((c) => !MAY_RESOLVE_FIRST.includes(c))
      .flatMap((first) => tails.map((tail) => first + tail))
      .filter((text) => implicitTags.some((tag) => tag.test?.test(text) === true));
    assert.deepEqual(matched, []);
    assert.ok(implicitTags.length >= 8, 'the yaml package\'s YAML 1.1 tags are there to check');
  });
});

describe('what the fast readers leave to the yaml package', () => {
  const LEFT: Record<string, string> = {
    'an anchor and an alias': 'a: &x 1\nb: *x\n',
    'a tag': 'a: !!str 1\n',
    'a directive': '%YAML 1.1\n---\na: 1\n',
    'a merge key': 'base: {a: 1}\nm:\n  <<: {b: 2}\n',
    'a document end marker': 'a: 1\n...\n',
    'a key that repeats': 'a: 1\na: 2\n',
    'keys that repeat once made strings': '1: a\n"1": b\n',
    'a mapping as a key': '? {a: 1}\n: b\n',
    'a line break that is a lone carriage return': 'a: 1\rb: 2\n',
    'an explicit key': '? a\n: b\n',
    'a tab in leading white space': 'a:\n\t- 1\n',
    'a block scalar indentation indicator': '|1-\n  lead\n',
    'a document marker after spaces': '  ---\n{}\n',
    'JSON with a lone carriage return': '{}\r',
    'a syntax error': 'a: b: c\n',
    'JSON with a repeated key': '{"a": 1, "a": 2}',
  };
  for (const [what, text] of Object.entries(LEFT)) {
    test(`${what}`, () => assert.equal(readFast(text, () => 0).reader, 'declined'));
  }

  test('a repeated key in JSON is still refused with the yaml package\'s words, as before', () => {
    const parsed = parseManifests({ file: 'x.json', text: '{"kind": "Endpoints",\n "kind": "EndpointSlice"}' });
    assert.deepEqual(parsed.error, { file: 'x.json', line: 2, column: 2, message: 'YAML syntax error: Map keys must be unique; nothing in this file was checked' });
  });

  test('JSON that JSON.parse refuses but YAML reads (a trailing comma) is still read', () => {
    const parsed = parseManifests({ file: 'x.json', text: '{"kind": "Endpoints", "metadata": {"name": "x"},}' });
    assert.deepEqual(parsed.manifests.map((m) => m.object), [{ kind: 'Endpoints', metadata: { name: 'x' } }]);
  });

  test('a position the events cannot give (an empty item, a block scalar) is the yaml package\'s', () => {
    const text = 'kind: EndpointSlice\nendpoints:\n-\n- addresses:\n  - |\n    10.0.0.1\n';
    const [m] = parseManifests({ file: 'x.yaml', text }).manifests;
    assert.deepEqual(m?.locate(['endpoints', 0]), { line: 3, column: 2 });
    assert.deepEqual(m?.locate(['endpoints', 1, 'addresses', 0]), { line: 5, column: 5 });
  });
});
