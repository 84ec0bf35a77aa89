// IP addresses as kube-apiserver sees them (spec 2.3). The apiserver parses with a fork of
// Go 1.16's net.ParseIP ("sloppy"), so this is a port of that algorithm, not a general parser:
// its quirks (decimal leading zeros, over-long IPv6 groups) decide what the apiserver accepts.

export interface ParsedIP {
  /** Always 16 bytes; IPv4 is stored as ::ffff:a.b.c.d, as Go does. */
  readonly bytes: Uint8Array;
  /** Go's ip.To4() != nil: dotted IPv4 text, or any address in ::ffff:0:0/96. */
  readonly is4: boolean;
  /**
   * The sloppy parser accepted text that Go's strict netip.ParseAddr refuses for having leading
   * zeros: an IPv4 octet such as "010" or "00" ("0" alone is fine), including the dotted part of
   * an IPv6 address, or an IPv6 group of more than 4 hex digits ("00001::1"), which can only
   * parse when it starts with 0. The apiserver reports all of these as "must not have leading 0s".
   */
  readonly leadingZeros: boolean;
  /** IPv6 text for an IPv4-mapped address (::ffff:0:0/96), e.g. "::ffff:10.1.2.3" or "::ffff:a01:203". */
  readonly mapped: boolean;
  /** Go's net.IP.String() of it: see canonicalIP. */
  readonly canonical: string;
}

const IPV4_LEN = 4;
const IPV6_LEN = 16;
const MAX_OCTET = 0xff;
const MAX_GROUP = 0xffff;
const MAX_GROUP_DIGITS = 4;
// Go's dtoi/xtoi give up once a number reaches this, whatever the digit count.
const GO_BIG = 0xffffff;
const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

interface Num { readonly value: number; readonly digits: number }

function decimalPrefix(s: string): Num | undefined {
  let value = 0;
  let digits = 0;
  for (; digits < s.length; digits++) {
    const c = s.charCodeAt(digits);
    if (c < 0x30 || c > 0x39) break;
    value = value * 10 + (c - 0x30);
    if (value >= GO_BIG) return undefined;
  }
  return digits === 0 ? undefined : { value, digits };
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function hexPrefix(s: string): Num | undefined {
  let value = 0;
  let digits = 0;
  for (; digits < s.length; digits++) {
    const d = hexDigit(s.charCodeAt(digits));
    if (d < 0) break;
    value = value * 16 + d;
    if (value >= GO_BIG) return undefined;
  }
  return digits === 0 ? undefined : { value, digits };
}

interface Raw { readonly bytes: Uint8Array; readonly leadingZeros: boolean }

function parseIPv4(text: string): { octets: number[]; leadingZeros: boolean } | undefined {
  const octets: number[] = [];
  let leadingZeros = false;
  let s = text;
  for (let i = 0; i < IPV4_LEN; i++) {
    if (s.length === 0) return undefined;
    if (i > 0) {
      if (s[0] !== '.') return undefined;
      s = s.slice(1);
    }
    const n = decimalPrefix(s);
    if (n === undefined || n.value > MAX_OCTET) return undefined;
    if (n.digits > 1 && s[0] === '0') leadingZeros = true;
    octets.push(n.value);
    s = s.slice(n.digits);
  }
  return s.length === 0 ? { octets, leadingZeros } : undefined;
}

function parseIPv6(text: string): Raw | undefined {
  const ip = new Uint8Array(IPV6_LEN);
  let leadingZeros = false;
  let ellipsis = -1;
  let s = text;
  if (s.startsWith('::')) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return { bytes: ip, leadingZeros };
  }
  let i = 0;
  while (i < IPV6_LEN) {
    const n = hexPrefix(s);
    if (n === undefined || n.value > MAX_GROUP) return undefined;
    if (s[n.digits] === '.') {
      // A trailing dotted IPv4 fills the last 4 bytes, or sits anywhere after a "::".
      if (ellipsis < 0 && i !== IPV6_LEN - IPV4_LEN) return undefined;
      if (i + IPV4_LEN > IPV6_LEN) return undefined;
      const v4 = parseIPv4(s);
      if (v4 === undefined) return undefined;
      ip.set(v4.octets, i);
      leadingZeros ||= v4.leadingZeros;
      s = '';
      i += IPV4_LEN;
      break;
    }
    if (n.digits > MAX_GROUP_DIGITS) leadingZeros = true;
    ip[i] = n.value >> 8;
    ip[i + 1] = n.value & 0xff;
    i += 2;
    s = s.slice(n.digits);
    if (s.length === 0) break;
    if (s[0] !== ':' || s.length === 1) return undefined;
    s = s.slice(1);
    if (s[0] === ':') {
      if (ellipsis >= 0) return undefined;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return undefined;
  if (i < IPV6_LEN) {
    if (ellipsis < 0) return undefined;
    const gap = IPV6_LEN - i;
    ip.copyWithin(ellipsis + gap, ellipsis, i);
    ip.fill(0, ellipsis, ellipsis + gap);
  } else if (ellipsis >= 0) {
    return undefined; // "::" must stand for at least one zero group
  }
  return { bytes: ip, leadingZeros };
}

const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const V4 = MAPPED_PREFIX.length; // where the IPv4 octets sit in the 16 bytes

/**
 * The form nearly every address has, dotted decimal without leading zeros, read in one pass with
 * no intermediate strings (this runs for every address of every admission request). Anything
 * else, including leading zeros, returns undefined and goes through the full parser.
 */
function plainIPv4(text: string): ParsedIP | undefined {
  if (text.length < 7 || text.length > 15) return undefined;
  const bytes = new Uint8Array(IPV6_LEN);
  bytes.set(MAPPED_PREFIX);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || part === IPV4_LEN - 1) return undefined;
      bytes[V4 + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      if (digits > 0 && value === 0) return undefined; // a leading zero: the full parser decides
      value = value * 10 + (c - DIGIT_0);
      digits++;
      if (value > MAX_OCTET) return undefined;
    } else {
      return undefined;
    }
  }
  if (part !== IPV4_LEN - 1 || digits === 0) return undefined;
  bytes[V4 + part] = value;
  // Plain dotted decimal without leading zeros is already the canonical text.
  return { bytes, is4: true, leadingZeros: false, mapped: false, canonical: text };
}

const inMappedPrefix = (b: Uint8Array): boolean => MAPPED_PREFIX.every((v, k) => b[k] === v);

/**
 * Go netutils.ParseIPSloppy (Go <= 1.16 net.ParseIP): leading zeros in IPv4 are decimal
 * ("010.001.0.1" = 10.1.0.1, any number of digits while the value is <= 255); IPv6 incl. "::"
 * forms and a trailing dotted IPv4. Rejects zones, brackets, CIDR suffixes, whitespace, hex
 * IPv4, 3- or 5-part IPv4 and "". Returns undefined when the text does not parse.
 */
export function parseIP(text: string): ParsedIP | undefined {
  let parsed = recent.get(text);
  if (parsed === undefined) {
    parsed = parseUncached(text) ?? null;
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(text, parsed);
  }
  return parsed ?? undefined;
}

// The validating rules and the policy both look at every address of an object, and controllers
// resend the same addresses all day: remembering recent answers halves the parsing. ParsedIP is
// never modified after parsing, so sharing one is safe. Bounded: cleared when full.
const RECENT_MAX = 8192;
const recent = new Map<string, ParsedIP | null>();

function parseUncached(text: string): ParsedIP | undefined {
  const plain = plainIPv4(text);
  if (plain) return plain;
  // Like Go, the first '.' or ':' decides the family.
  const first = /[.:]/.exec(text)?.[0];
  if (first === '.') {
    const v4 = parseIPv4(text);
    if (v4 === undefined) return undefined;
    const bytes = new Uint8Array(IPV6_LEN);
    bytes.set(MAPPED_PREFIX);
    bytes.set(v4.octets, MAPPED_PREFIX.length);
    return { bytes, is4: true, leadingZeros: v4.leadingZeros, mapped: false, canonical: formatIP(bytes, true) };
  }
  if (first === ':') {
    const v6 = parseIPv6(text);
    if (v6 === undefined) return undefined;
    const is4 = inMappedPrefix(v6.bytes);
    return { bytes: v6.bytes, is4, leadingZeros: v6.leadingZeros, mapped: is4, canonical: formatIP(v6.bytes, is4) };
  }
  return undefined;
}

const octet = (ip: ParsedIP, k: number): number => ip.bytes[V4 + k] ?? 0;
const byteAt = (ip: ParsedIP, k: number): number => ip.bytes[k] ?? 0;

/**
 * Go net.IP.String(): IPv4 (incl. mapped) dotted decimal; IPv6 lower-case without leading zeros
 * per group, the longest run of >= 2 zero groups as "::" (leftmost on a tie); "::1.2.3.4"
 * prints as "::102:304". Computed once when the address is parsed.
 */
export const canonicalIP = (ip: ParsedIP): string => ip.canonical;

function formatIP(bytes: Uint8Array, is4: boolean): string {
  const at = (k: number): number => bytes[k] ?? 0;
  if (is4) return `${at(V4)}.${at(V4 + 1)}.${at(V4 + 2)}.${at(V4 + 3)}`;
  const groups = Array.from({ length: IPV6_LEN / 2 }, (_, g) => (at(2 * g) << 8) | at(2 * g + 1));
  let bestStart = -1;
  let bestLen = 0;
  for (let g = 0; g < groups.length; g++) {
    let end = g;
    while (end < groups.length && groups[end] === 0) end++;
    if (end - g > bestLen) {
      bestStart = g;
      bestLen = end - g;
    }
    g = Math.max(g, end);
  }
  const hex = (gs: number[]) => gs.map((v) => v.toString(16)).join(':');
  if (bestLen < 2) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

export type SpecialRange = 'unspecified' | 'loopback' | 'link-local' | 'link-local-multicast';

/**
 * The ranges ValidateEndpointIP refuses (spec 2.3), with Go semantics: IPv4 checks also apply
 * to mapped addresses, IPv6 loopback is exactly ::1, IPv6 link-local multicast is ffX2::/16.
 */
export function specialRange(ip: ParsedIP): SpecialRange | undefined {
  if (ip.is4) {
    const a = octet(ip, 0);
    const b = octet(ip, 1);
    const c = octet(ip, 2);
    const d = octet(ip, 3);
    if (a === 0 && b === 0 && c === 0 && d === 0) return 'unspecified';
    if (a === 127) return 'loopback';
    if (a === 169 && b === 254) return 'link-local';
    if (a === 224 && b === 0 && c === 0) return 'link-local-multicast';
    return undefined;
  }
  const first = byteAt(ip, 0);
  const second = byteAt(ip, 1);
  if (ip.bytes.every((v) => v === 0)) return 'unspecified';
  if (ip.bytes.every((v, k) => v === (k === IPV6_LEN - 1 ? 1 : 0))) return 'loopback';
  if (first === 0xfe && (second & 0xc0) === 0x80) return 'link-local';
  if (first === 0xff && (second & 0x0f) === 0x02) return 'link-local-multicast';
  return undefined;
}

/**
 * Addresses the apiserver accepts although they carry no unicast traffic: multicast
 * (224.0.0.0/4, ff00::/8) other than link-local multicast, and IPv4 broadcast.
 */
export function unicastProblem(ip: ParsedIP): 'multicast' | 'broadcast' | undefined {
  if (specialRange(ip) === 'link-local-multicast') return undefined;
  if (ip.is4) {
    if (octet(ip, 0) === MAX_OCTET && octet(ip, 1) === MAX_OCTET && octet(ip, 2) === MAX_OCTET && octet(ip, 3) === MAX_OCTET) return 'broadcast';
    return (octet(ip, 0) & 0xf0) === 0xe0 ? 'multicast' : undefined;
  }
  return byteAt(ip, 0) === 0xff ? 'multicast' : undefined;
}
