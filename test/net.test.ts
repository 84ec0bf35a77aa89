import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { canonicalIP, parseIP, specialRange, unicastProblem, type ParsedIP } from '../src/rules/net.ts';

const mustParse = (text: string): ParsedIP => {
  const ip = parseIP(text);
  assert.ok(ip, `${JSON.stringify(text)} should parse`);
  return ip;
};

describe('parseIP and canonicalIP', () => {
  const parses: { text: string; canonical: string; is4: boolean; mapped?: boolean; leadingZeros?: boolean }[] = [
    { text: '10.1.2.3', canonical: '10.1.2.3', is4: true },
    { text: '0.0.0.0', canonical: '0.0.0.0', is4: true },
    { text: '255.255.255.255', canonical: '255.255.255.255', is4: true },
    { text: '0.1.2.3', canonical: '0.1.2.3', is4: true },
    { text: '010.001.002.003', canonical: '10.1.2.3', is4: true, leadingZeros: true },
    { text: '00.1.2.3', canonical: '0.1.2.3', is4: true, leadingZeros: true },
    { text: '10.1.1.0255', canonical: '10.1.1.255', is4: true, leadingZeros: true },
    { text: '0000000010.1.2.3', canonical: '10.1.2.3', is4: true, leadingZeros: true },
    { text: '2001:db8::1', canonical: '2001:db8::1', is4: false },
    { text: '2001:DB8::1', canonical: '2001:db8::1', is4: false },
    { text: '2001:db8:0:0::1', canonical: '2001:db8::1', is4: false },
    { text: '2001:0db8::0001', canonical: '2001:db8::1', is4: false },
    { text: '2001:db8:0:1:0:0:0:1', canonical: '2001:db8:0:1::1', is4: false },
    { text: '1:0:0:1:0:0:0:1', canonical: '1:0:0:1::1', is4: false },
    { text: '1:0:0:2:0:0:3:4', canonical: '1::2:0:0:3:4', is4: false },
    { text: '2001:db8:0:1:1:1:1:1', canonical: '2001:db8:0:1:1:1:1:1', is4: false },
    { text: '1:2:3:4:5:6:7:8', canonical: '1:2:3:4:5:6:7:8', is4: false },
    { text: '0:0:0:0:0:0:0:0', canonical: '::', is4: false },
    { text: '::', canonical: '::', is4: false },
    { text: '::1', canonical: '::1', is4: false },
    { text: '1::', canonical: '1::', is4: false },
    { text: 'FFFF::', canonical: 'ffff::', is4: false },
    { text: '1:2:3:4:5:6:7::', canonical: '1:2:3:4:5:6:7:0', is4: false },
    { text: '::ffff:10.1.2.3', canonical: '10.1.2.3', is4: true, mapped: true },
    { text: '::ffff:a01:203', canonical: '10.1.2.3', is4: true, mapped: true },
    { text: '0:0:0:0:0:ffff:10.1.2.3', canonical: '10.1.2.3', is4: true, mapped: true },
    { text: '::ffff:010.1.2.3', canonical: '10.1.2.3', is4: true, mapped: true, leadingZeros: true },
    { text: '::ffff:0.0.0.0', canonical: '0.0.0.0', is4: true, mapped: true },
    { text: '64:ff9b::10.1.2.3', canonical: '64:ff9b::a01:203', is4: false },
    { text: '::1.2.3.4', canonical: '::102:304', is4: false },
    { text: '1:2:3:4:5:6:1.2.3.4', canonical: '1:2:3:4:5:6:102:304', is4: false },
    // Go <= 1.16 reads any number of hex digits while the value fits 16 bits; netip does not.
    { text: '00001::1', canonical: '1::1', is4: false, leadingZeros: true },
  ];
  for (const c of parses) {
    it(`parses ${JSON.stringify(c.text)} and prints it as ${c.canonical}`, () => {
      const ip = mustParse(c.text);
      assert.equal(ip.bytes.length, 16);
      assert.equal(canonicalIP(ip), c.canonical);
      assert.deepEqual(
        { is4: ip.is4, mapped: ip.mapped, leadingZeros: ip.leadingZeros },
        { is4: c.is4, mapped: c.mapped ?? false, leadingZeros: c.leadingZeros ?? false },
      );
    });
  }

  const rejects = [
    '', ' 10.1.1.1', '10.1.1.1 ', '10.1.1.1\n', '256.1.1.1', '10.1.1', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3',
    '0x0A.1.1.1', '10.1.1.-1', '10.1.1.1%eth0', '10.1.1.1/32', '10.1.1.1:80', 'bogus', 'localhost', '١٠.1.1.1',
    'fe80::1%eth0', '2001:db8::1/128', '[2001:db8::1]', '1::2::3', '12345::1', ':::1', ':1::', '1:', '1:2',
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '::1:2:3:4:5:6:7:8', '::ffff:1.2.3', '::ffff:1.2.3.256',
    '1:2:3:4:5:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3.4:5', '::ffff:0x1.2.3.4', 'g::1',
  ];
  for (const text of rejects) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIP(text), undefined));
  }

  it('stores IPv4 and its IPv4-mapped IPv6 form as the same 16 bytes', () => {
    assert.deepEqual(mustParse('::ffff:10.1.2.3').bytes, mustParse('10.1.2.3').bytes);
    assert.deepEqual([...mustParse('10.1.2.3').bytes], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
  });
});

describe('specialRange and unicastProblem', () => {
  const table: { text: string; special?: ReturnType<typeof specialRange>; problem?: ReturnType<typeof unicastProblem> }[] = [
    { text: '10.1.2.3' },
    { text: '0.1.2.3' },
    { text: '0.0.0.1' },
    { text: '0.0.0.0', special: 'unspecified' },
    { text: '::', special: 'unspecified' },
    { text: '::ffff:0.0.0.0', special: 'unspecified' },
    { text: '126.255.255.255' },
    { text: '127.0.0.0', special: 'loopback' },
    { text: '127.1.2.3', special: 'loopback' },
    { text: '127.255.255.255', special: 'loopback' },
    { text: '128.0.0.0' },
    { text: '::1', special: 'loopback' },
    { text: '::2' },
    { text: '::ffff:127.0.0.1', special: 'loopback' },
    { text: '::127.0.0.1' }, // IPv4-compatible, not mapped: an IPv6 address other than ::1
    { text: '169.253.255.255' },
    { text: '169.254.0.0', special: 'link-local' },
    { text: '169.254.169.254', special: 'link-local' },
    { text: '169.254.255.255', special: 'link-local' },
    { text: '169.255.0.0' },
    { text: '::ffff:169.254.1.1', special: 'link-local' },
    { text: 'fe7f::1' },
    { text: 'fe80::1', special: 'link-local' },
    { text: 'febf:ffff::1', special: 'link-local' },
    { text: 'fec0::1' },
    { text: '223.255.255.255' },
    { text: '224.0.0.0', special: 'link-local-multicast' },
    { text: '224.0.0.255', special: 'link-local-multicast' },
    { text: '::ffff:224.0.0.251', special: 'link-local-multicast' },
    { text: '224.0.1.0', problem: 'multicast' },
    { text: '224.0.1.1', problem: 'multicast' },
    { text: '239.255.255.250', problem: 'multicast' },
    { text: '239.255.255.255', problem: 'multicast' },
    { text: '::ffff:239.1.1.1', problem: 'multicast' },
    { text: '240.0.0.1' },
    { text: '255.255.255.254' },
    { text: '255.255.255.255', problem: 'broadcast' },
    { text: '::ffff:255.255.255.255', problem: 'broadcast' },
    { text: 'ff02::1', special: 'link-local-multicast' },
    { text: 'ff12::1', special: 'link-local-multicast' },
    { text: 'ff32::1', special: 'link-local-multicast' },
    { text: 'ff01::1', problem: 'multicast' },
    { text: 'ff03::1', problem: 'multicast' },
    { text: 'ff05::1', problem: 'multicast' },
    { text: 'ff22::1', special: 'link-local-multicast' },
    { text: 'ffff::1', problem: 'multicast' },
    { text: 'feff::1' },
  ];
  for (const c of table) {
    it(`classifies ${c.text} as ${c.special ?? c.problem ?? 'an ordinary address'}`, () => {
      const ip = mustParse(c.text);
      assert.equal(specialRange(ip), c.special);
      assert.equal(unicastProblem(ip), c.problem);
    });
  }
});

// Every IP verdict a real v1.36.2 apiserver gave in the fixture corpus, checked against the parser.
describe('agreement with the v1.36 apiserver fixtures', () => {
  const FIXTURES = new URL('../../shared/fixtures/apiserver-verdicts-1.36.jsonl', import.meta.url);
  interface Verdict { id: string; accepted: boolean; kind: string; message: string; manifest: Manifest }
  interface Manifest {
    addressType?: string;
    endpoints?: { addresses?: string[] }[];
    subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[];
  }
  const verdicts: Verdict[] = readFileSync(FIXTURES, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Verdict);
  // kubectl prints one "<path>: Invalid value: <%q value>: <detail>" per line.
  const invalidRe = /([\w.[\]]+): Invalid value: "((?:[^"\\]|\\.)*)": ([^\n]*)/g;
  const errors = verdicts.flatMap((v) =>
    [...v.message.matchAll(invalidRe)].map((m) => ({ id: v.id, value: JSON.parse(`"${m[2]}"`) as string, detail: m[3] ?? '' })));

  const expectations: { detail: RegExp; check: (text: string, found: RegExpMatchArray) => void }[] = [
    { detail: /^must be a valid IP address/, check: (t) => assert.equal(parseIP(t), undefined) },
    { detail: /^must not have leading 0s$/, check: (t) => assert.equal(mustParse(t).leadingZeros, true) },
    { detail: /^must not be an IPv4-mapped IPv6 address$/, check: (t) => assert.equal(mustParse(t).mapped, true) },
    { detail: /^must be in canonical form \("(.*)"\)$/, check: (t, m) => assert.equal(canonicalIP(mustParse(t)), m[1]) },
    { detail: /^may not be unspecified/, check: (t) => assert.equal(specialRange(mustParse(t)), 'unspecified') },
    { detail: /^may not be in the loopback range/, check: (t) => assert.equal(specialRange(mustParse(t)), 'loopback') },
    { detail: /^may not be in the link-local range/, check: (t) => assert.equal(specialRange(mustParse(t)), 'link-local') },
    { detail: /^may not be in the link-local multicast range/, check: (t) => assert.equal(specialRange(mustParse(t)), 'link-local-multicast') },
  ];

  it('agrees with every IP error message the apiserver gave', () => {
    let checked = 0;
    for (const e of errors) {
      for (const x of expectations) {
        const found = x.detail.exec(e.detail);
        if (!found) continue;
        checked++;
        assert.doesNotThrow(() => x.check(e.value, found), `${e.id}: ${JSON.stringify(e.value)}: ${e.detail}`);
      }
    }
    assert.ok(checked >= 30, `only ${checked} IP errors found in the fixtures`);
  });

  it('finds every IP address the apiserver accepted well formed and not special', () => {
    const accepted = verdicts.filter((v) => v.accepted).flatMap((v) => [
      ...(v.manifest.addressType === 'IPv4' || v.manifest.addressType === 'IPv6'
        ? (v.manifest.endpoints ?? []).flatMap((ep) => ep.addresses ?? []).map((a) => ({ a, v6: v.manifest.addressType === 'IPv6' }))
        : []),
      ...(v.manifest.subsets ?? []).flatMap((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])]).map((x) => ({ a: x.ip, v6: false })),
    ]);
    assert.ok(accepted.length > 100);
    for (const { a, v6 } of accepted) {
      const ip = mustParse(a);
      assert.deepEqual({ a, leadingZeros: ip.leadingZeros, mapped: ip.mapped, special: specialRange(ip) },
        { a, leadingZeros: false, mapped: false, special: undefined });
      if (v6) assert.equal(canonicalIP(ip), a); // slices require canonical IPv6
    }
  });
});
