import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  dns1035Label, dnsLabel, dnsSubdomain, fqdnProblems, generateNamePrefix, labelValue, qualifiedName, shortNameHint,
} from '../src/rules/names.ts';

// The upstream texts as spec 2.2 writes them (note the two spaces before "or").
const LABEL_PATTERN = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_PATTERN = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_PATTERN = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_PATTERN = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const SLASHES_TAIL = " must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const LABEL_VALUE_PATTERN = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const MAX_63 = 'must be no more than 63 characters';
const MAX_253 = 'must be no more than 253 characters';
const DOTS = 'must not contain dots';
const SEGMENTS = 'should be a domain with at least two segments separated by dots';

const a = (n: number) => 'a'.repeat(n);
const E_ACUTE = 'é'; // 1 UTF-16 unit, 2 UTF-8 bytes
const SUBDOMAIN_253 = `${a(63)}.${a(63)}.${a(63)}.${a(61)}`;

type Row = readonly [string, readonly string[]];
function table(name: string, check: (value: string) => readonly string[], rows: readonly Row[]): void {
  describe(name, () => {
    for (const [value, expected] of rows) {
      const shown = value.length > 40 ? `${JSON.stringify(value.slice(0, 12))}... (${Buffer.byteLength(value)} bytes)` : JSON.stringify(value);
      const outcome = expected.length === 0 ? 'accepts' : `reports ${expected.length} problem(s) for`;
      it(`${outcome} ${shown}`, () => assert.deepEqual(check(value), expected));
    }
  });
}

table('dnsLabel (1.27 and later)', (v) => dnsLabel(v, true), [
  ['a', []],
  ['0', []],
  ['my-name', []],
  ['123-abc', []],
  ['a--b', []],
  [a(63), []],
  [a(64), [MAX_63]],
  ['', [LABEL_PATTERN]],
  ['A', [LABEL_PATTERN]],
  ['-a', [LABEL_PATTERN]],
  ['a-', [LABEL_PATTERN]],
  ['a_b', [LABEL_PATTERN]],
  ['a.b', [DOTS]],
  ['a..b', [LABEL_PATTERN]],
  ['a.', [LABEL_PATTERN]],
  [`${a(64)}.b`, [MAX_63, DOTS]],
  ['-'.repeat(64), [MAX_63, LABEL_PATTERN]],
  [E_ACUTE, [LABEL_PATTERN]],
  [`${a(62)}${E_ACUTE}`, [MAX_63, LABEL_PATTERN]],
]);

// Before apimachinery v0.27 a label wrong only for its dots got the full label message.
table('dnsLabel (1.24 to 1.26)', (v) => dnsLabel(v, false), [
  ['a', []],
  ['a.b', [LABEL_PATTERN]],
  ['my.port.name', [LABEL_PATTERN]],
  [`${a(64)}.b`, [MAX_63, LABEL_PATTERN]],
  ['a..b', [LABEL_PATTERN]],
]);

table('dnsSubdomain', dnsSubdomain, [
  ['a', []],
  ['example.com', []],
  [`${a(64)}.com`, []], // labels inside a subdomain are not length-checked
  [a(253), []],
  [SUBDOMAIN_253, []],
  [a(254), [MAX_253]],
  [`${SUBDOMAIN_253}a`, [MAX_253]],
  ['', [SUBDOMAIN_PATTERN]],
  ['.a', [SUBDOMAIN_PATTERN]],
  ['a.', [SUBDOMAIN_PATTERN]],
  ['a..b', [SUBDOMAIN_PATTERN]],
  ['a.-b', [SUBDOMAIN_PATTERN]],
  ['Example.com', [SUBDOMAIN_PATTERN]],
  ['a_b.com', [SUBDOMAIN_PATTERN]],
  [`${a(252)}${E_ACUTE}`, [MAX_253, SUBDOMAIN_PATTERN]], // 253 UTF-16 units, 254 bytes
  [`${a(254)}-`, [MAX_253, SUBDOMAIN_PATTERN]],
]);

table('dns1035Label', dns1035Label, [
  ['my-name', []],
  ['abc-123', []],
  ['a', []],
  [a(63), []],
  [a(64), [MAX_63]],
  ['1abc', [DNS1035_PATTERN]],
  ['', [DNS1035_PATTERN]],
  ['a.b', [DNS1035_PATTERN]],
  ['a-', [DNS1035_PATTERN]],
  ['My-name', [DNS1035_PATTERN]],
  [`1${a(63)}`, [MAX_63, DNS1035_PATTERN]],
]);

for (const lengthInBytes of [false, true]) {
  const unit = lengthInBytes ? 'bytes' : 'characters';
  const tooManySlashes = `${lengthInBytes ? 'a valid label key' : 'a qualified name'}${SLASHES_TAIL}`;
  table(`qualifiedName (lengthInBytes: ${lengthInBytes})`, (v) => qualifiedName(v, lengthInBytes), [
    ['MyName', []],
    ['my.name', []],
    ['123-abc', []],
    ['grpc_web', []],
    ['kubernetes.io/h2c', []],
    ['example.com/MyName', []],
    [a(63), []],
    [`${SUBDOMAIN_253}/${a(63)}`, []],
    [a(64), [`name part must be no more than 63 ${unit}`]],
    [`p/${a(64)}`, [`name part must be no more than 63 ${unit}`]],
    [`${a(62)}${E_ACUTE}`, [`name part must be no more than 63 ${unit}`, NAME_PART_PATTERN]],
    ['', ['name part must be non-empty', NAME_PART_PATTERN]],
    ['kubernetes.io/', ['name part must be non-empty', NAME_PART_PATTERN]],
    ['/name', ['prefix part must be non-empty']],
    ['/', ['prefix part must be non-empty', 'name part must be non-empty', NAME_PART_PATTERN]],
    ['HTTP/2', [`prefix part ${SUBDOMAIN_PATTERN}`]],
    [`${a(254)}/b`, [`prefix part must be no more than 253 ${unit}`]],
    [`${a(254)}_/b`, [`prefix part must be no more than 253 ${unit}`, `prefix part ${SUBDOMAIN_PATTERN}`]],
    ['my app', [NAME_PART_PATTERN]],
    ['-a', [NAME_PART_PATTERN]],
    ['a.', [NAME_PART_PATTERN]],
    ['a/b/c', [tooManySlashes]],
    ['//', [tooManySlashes]],
  ]);

  table(`labelValue (lengthInBytes: ${lengthInBytes})`, (v) => labelValue(v, lengthInBytes), [
    ['', []],
    ['MyValue', []],
    ['my_value', []],
    ['12345', []],
    ['a.b-c_d', []],
    [a(63), []],
    [a(64), [`must be no more than 63 ${unit}`]],
    ['my controller', [LABEL_VALUE_PATTERN]],
    ['controller-', [LABEL_VALUE_PATTERN]],
    ['_a', [LABEL_VALUE_PATTERN]],
    ['a/b', [LABEL_VALUE_PATTERN]],
    [E_ACUTE.repeat(32), [`must be no more than 63 ${unit}`, LABEL_VALUE_PATTERN]], // 32 units, 64 bytes
    [`${a(62)}${E_ACUTE}`, [`must be no more than 63 ${unit}`, LABEL_VALUE_PATTERN]], // 63 units, 64 bytes
  ]);
}

describe('fqdnProblems', () => {
  const rows: readonly (readonly [string, { value: string; details: string[] }[]])[] = [
    ['a.b', []],
    ['a.b.', []],
    ['backend.example.com', []],
    ['127.0.0.1', []],
    [`${SUBDOMAIN_253}.`, []],
    ['', [{ value: '', details: ['Required'] }]],
    ['localhost', [{ value: 'localhost', details: [SEGMENTS] }]],
    ['localhost.', [{ value: 'localhost', details: [SEGMENTS] }]],
    ['.', [{ value: '', details: [SUBDOMAIN_PATTERN] }]],
    ['a.b..', [{ value: 'a.b.', details: [SUBDOMAIN_PATTERN] }]],
    ['foo_bar.example.com', [{ value: 'foo_bar.example.com', details: [SUBDOMAIN_PATTERN] }]],
    ['-foo.example.com', [{ value: '-foo.example.com', details: [SUBDOMAIN_PATTERN] }]],
    ['2001:db8::1', [{ value: '2001:db8::1', details: [SUBDOMAIN_PATTERN] }]],
    [`${SUBDOMAIN_253}a`, [{ value: `${SUBDOMAIN_253}a`, details: [MAX_253] }]],
    [`${SUBDOMAIN_253}A`, [{ value: `${SUBDOMAIN_253}A`, details: [MAX_253, SUBDOMAIN_PATTERN] }]],
    [`${a(64)}.com`, [{ value: a(64), details: [MAX_63] }]],
    [`ok.${'b'.repeat(64)}.${'c'.repeat(64)}`, [{ value: 'b'.repeat(64), details: [MAX_63] }]],
  ];
  for (const [value, expected] of rows) {
    const shown = value.length > 40 ? `${JSON.stringify(value.slice(0, 12))}... (${value.length} chars)` : JSON.stringify(value);
    it(`${expected.length === 0 ? 'accepts' : 'reports'} ${shown}`, () => assert.deepEqual(fqdnProblems(value), expected));
  }
});

table('generateNamePrefix', generateNamePrefix, [
  ['web', []],
  ['web-', []],
  ['my-', []], // checked as "ma"
  ['x.-', []], // checked as "xa", although "x.-abcde" is not a valid name
  ['a-', []], // checked as "a"
  ['-', [SUBDOMAIN_PATTERN]],
  ['Web-', [SUBDOMAIN_PATTERN]],
  ['Oracle_018-', [SUBDOMAIN_PATTERN]],
  ['web.', [SUBDOMAIN_PATTERN]],
  [`${a(253)}-`, []], // 254 characters, checked as 253
  [`${a(254)}-`, [MAX_253]],
  [a(254), [MAX_253]],
  // Upstream cuts bytes: 252 + 2 + 1 bytes become 252 + 1 (half of the é) + 1 = 254 bytes.
  [`${a(252)}${E_ACUTE}-`, [MAX_253, SUBDOMAIN_PATTERN]],
]);

describe('shortNameHint', () => {
  const long = [
    LABEL_PATTERN, SUBDOMAIN_PATTERN, DNS1035_PATTERN, NAME_PART_PATTERN, LABEL_VALUE_PATTERN,
    `prefix part ${SUBDOMAIN_PATTERN}`, `a valid label key${SLASHES_TAIL}`, `a qualified name${SLASHES_TAIL}`,
    `${MAX_253},${SUBDOMAIN_PATTERN}`,
  ];
  for (const detail of long) {
    it(`shortens "${detail.slice(0, 40)}..." to at most 70 characters`, () => {
      const hint = shortNameHint(detail);
      assert.ok(hint !== undefined && hint.length <= 70, `got ${JSON.stringify(hint)}`);
    });
  }
  for (const detail of [MAX_63, MAX_253, DOTS, SEGMENTS, 'name part must be non-empty', 'prefix part must be no more than 253 bytes']) {
    it(`leaves the short detail "${detail}" alone`, () => assert.equal(shortNameHint(detail), undefined));
  }
  it('has a hint for every long detail the validators produce', () => {
    const samples = [
      ...dnsLabel('A', true), ...dnsSubdomain('A'), ...dns1035Label('1'), ...labelValue('-', true),
      ...qualifiedName('A_/-', true), ...qualifiedName('a/b/c', true), ...qualifiedName('a/b/c', false),
      ...fqdnProblems(`${a(254)}_`).map((p) => p.details.join(',')),
    ];
    for (const detail of samples) assert.notEqual(shortNameHint(detail), undefined, detail);
  });
});

// Every name-like error a real apiserver reported in the fixture corpus, reproduced exactly:
// v1.24 from status.details.causes, v1.36.2 from kubectl's message.
describe('agreement with the apiserver fixtures', () => {
  interface Cause { reason: string; message: string; field: string }
  interface Verdict {
    id: string; kind: string; apiVersion: string; accepted: boolean; message: string;
    status: { details?: { causes?: Cause[] } } | null;
    manifest: { metadata?: { labels?: Record<string, string> }; addressType?: string };
  }
  const load = (file: string): Verdict[] =>
    readFileSync(new URL(`../../shared/fixtures/${file}`, import.meta.url), 'utf8')
      .trim().split('\n').map((line) => JSON.parse(line) as Verdict);

  const invalidRe = /^Invalid value: "((?:[^"\\]|\\.)*)": (.*)$/s;
  const kubectlRe = /([\w.[\]]+): Invalid value: "((?:[^"\\]|\\.)*)": ([^\n]*)/g;
  interface Reported { id: string; field: string; value: string; details: string[] }

  /** Invalid errors grouped by (field, value), details in apiserver order. */
  function reported(v: Verdict, fromStatus: boolean): Reported[] {
    const flat = fromStatus
      ? (v.status?.details?.causes ?? []).flatMap((c) => {
        const m = invalidRe.exec(c.message);
        return m ? [{ field: c.field, raw: m[1] ?? '', detail: m[2] ?? '' }] : [];
      })
      : [...v.message.matchAll(kubectlRe)].map((m) => ({ field: m[1] ?? '', raw: m[2] ?? '', detail: m[3] ?? '' }));
    const groups = new Map<string, Reported>();
    for (const e of flat) {
      const value = JSON.parse(`"${e.raw}"`) as string;
      const key = `${e.field}\u0000${value}`;
      const group = groups.get(key) ?? { id: v.id, field: e.field, value, details: [] };
      group.details.push(e.detail);
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  /** Our validator for an error at this field, or undefined when the field is not a name. */
  function validatorFor(v: Verdict, r: Reported, lengthInBytes: boolean, labelDots: boolean): ((value: string) => readonly string[]) | undefined {
    const f = r.field;
    if (f === 'metadata.name' || /nodeName$/.test(f)) return dnsSubdomain;
    if (f === 'metadata.generateName') return generateNamePrefix;
    if (/(hostname|ports\[\d+\]\.name)$/.test(f)) return (x) => dnsLabel(x, labelDots);
    if (/(appProtocol|deprecatedTopology)$/.test(f)) return (x) => qualifiedName(x, lengthInBytes);
    if (/forZones\[\d+\]\.name$/.test(f)) return (x) => labelValue(x, lengthInBytes);
    if (f === 'metadata.labels') {
      const isKey = Object.hasOwn(v.manifest.metadata?.labels ?? {}, r.value);
      return isKey ? (x) => qualifiedName(x, lengthInBytes) : (x) => labelValue(x, lengthInBytes);
    }
    if (v.manifest.addressType === 'FQDN' && /addresses\[\d+\]$/.test(f)) {
      // FQDN joins its messages with "," into one error whose value may be a single label.
      return () => fqdnProblems(r.value).flatMap((p) => p.details.join(','));
    }
    return undefined;
  }

  const corpora = [
    { file: 'apiserver-verdicts.jsonl', version: 'v1.24', fromStatus: true, lengthInBytes: false, labelDots: false },
    { file: 'apiserver-verdicts-1.36.jsonl', version: 'v1.36', fromStatus: false, lengthInBytes: true, labelDots: true },
  ] as const;
  const named = ['006', '008', '010', '036', '040', '108', '110', '112', '146', '148', '150', '156', '158', '164', '190', '198', '220', '222'];

  for (const corpus of corpora) {
    it(`reproduces every name, label and FQDN message of the ${corpus.version} apiserver exactly`, () => {
      const compared = new Set<string>();
      for (const v of load(corpus.file)) {
        for (const r of reported(v, corpus.fromStatus)) {
          const validate = validatorFor(v, r, corpus.lengthInBytes, corpus.labelDots);
          if (!validate) continue;
          assert.deepEqual(validate(r.value), r.details, `${r.id} ${r.field} ${JSON.stringify(r.value)}`);
          compared.add(r.id);
        }
      }
      const expectedIds = named.map((n) => `oracle-${n}`).filter((id) => corpus.version === 'v1.36' || id !== 'oracle-164');
      assert.deepEqual(expectedIds.filter((id) => !compared.has(id)), [], 'cases not compared');
    });
  }
});

describe('checks that remember the values they passed', () => {
  it('give every value the same answer the second time, past the point where the memory is cleared', () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? `Node_${i}` : i % 3 === 1 ? `node-${i}` : `${'z'.repeat(60)}${i}`));
    const first = values.map((v) => [dnsSubdomain(v), labelValue(v, true), labelValue(v, false)]);
    assert.deepEqual(values.map((v) => [dnsSubdomain(v), labelValue(v, true), labelValue(v, false)]), first);
    assert.deepEqual(labelValue('z'.repeat(64), false), ['must be no more than 63 characters']);
    assert.deepEqual(labelValue('z'.repeat(64), true), ['must be no more than 63 bytes']);
  });
});
