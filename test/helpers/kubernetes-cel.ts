// The Kubernetes CEL environment of admission policies, as far as endpoint-guard's policies use it,
// on @bufbuild/cel: the standard library and the strings extension come with it; the few Kubernetes
// library functions are written here from the Kubernetes documentation and source
// (staging/src/k8s.io/apiserver/pkg/cel/library: ip.go, lists.go), independently of src/rules/net.ts
// so that the agreement tests do not compare the webhook's IP parser with itself.
import {
  type CelMap, type CelValue, CelScalar, celEnv, celFunc, celMap, celMethod, isCelError, isCelList, isCelMap, listType, mapType, parse, plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

// An IP value: a CEL map holding the parsed bytes, so that member functions can dispatch on it.
const IP_TYPE = mapType(CelScalar.STRING, CelScalar.DYN);
const IP_KEY = 'kubernetes.net.ip';

/**
 * Go's netip.ParseAddr, as library.IP uses it: dotted IPv4 with no leading zeros, IPv6 with one
 * optional "::" and an optional trailing dotted IPv4; and then, as parseIPAddr adds, no zone and no
 * IPv4-mapped IPv6. Returns the 4 or 16 bytes, or undefined.
 */
export function kubernetesParseIP(text: string): Uint8Array | undefined {
  if (text.includes('%')) return undefined; // a zone: refused by the library
  const v4 = parseIPv4(text);
  if (v4) return v4;
  const v6 = parseIPv6(text);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? undefined : v6;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function parseIPv6(text: string): Uint8Array | undefined {
  let tail: Uint8Array | undefined;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${text.slice(0, lastColon + 1)}0:0`; // the IPv4 part stands for two groups
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups = half.split(':');
    if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = groupsOf(halves[0] ?? '');
  const rest = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** netip.Addr.IsGlobalUnicast: not unspecified, broadcast, loopback, multicast or link-local unicast. */
function isGlobalUnicast(bytes: Uint8Array): boolean {
  const [a = 0, b = 0] = bytes;
  if (bytes.length === 4) {
    if (bytes.every((x) => x === 0) || bytes.every((x) => x === 255)) return false;
    return a !== 127 && (a & 0xf0) !== 0xe0 && !(a === 169 && b === 254);
  }
  if (bytes.every((x) => x === 0)) return false;
  if (bytes.every((x, i) => x === (i === 15 ? 1 : 0))) return false;
  return a !== 0xff && !(a === 0xfe && (b & 0xc0) === 0x80);
}

const ipBytes = (value: CelMap): Uint8Array => {
  const bytes = value.get(IP_KEY);
  if (!(bytes instanceof Uint8Array)) throw new Error('not an IP value');
  return bytes;
};

/** The Kubernetes library functions the policies call; ip() of a non-IP is an error, as in Go. */
const KUBERNETES_FUNCS = [
  celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (text) => kubernetesParseIP(text) !== undefined),
  celFunc('ip', [CelScalar.STRING], IP_TYPE, (text) => {
    const bytes = kubernetesParseIP(text);
    if (!bytes) throw new Error(`IP Address "${text}" parse error during conversion from string`);
    return celMap(new Map<string, Uint8Array>([[IP_KEY, bytes]]));
  }),
  celMethod('family', IP_TYPE, [], CelScalar.INT, function () { return ipBytes(this).length === 4 ? 4n : 6n; }),
  celMethod('isGlobalUnicast', IP_TYPE, [], CelScalar.BOOL, function () { return isGlobalUnicast(ipBytes(this)); }),
  // library.Lists: the index of the first element equal to the value, or -1.
  celMethod('indexOf', listType(CelScalar.DYN), [CelScalar.DYN], CelScalar.INT, function (value) {
    let i = 0n;
    for (const item of this) {
      if (celEquals(item, value)) return i;
      i++;
    }
    return -1n;
  }),
];

/** CEL equality for the values an object holds: numbers across int and double, lists and maps by content. */
function celEquals(a: CelValue, b: CelValue): boolean {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) return Number(a) === Number(b);
  if (isCelList(a) && isCelList(b)) {
    const [x, y] = [[...a], [...b]];
    return x.length === y.length && x.every((item, i) => celEquals(item, y[i] as CelValue));
  }
  if (isCelMap(a) && isCelMap(b)) {
    return a.size === b.size && [...a.entries()].every(([k, v]) => b.has(k) && celEquals(v, b.get(k) as CelValue));
  }
  return a === b;
}

const env = celEnv({ funcs: [...strings, ...KUBERNETES_FUNCS] });
const plans = new Map<string, ReturnType<typeof plan>>();

/** JSON as Kubernetes hands it to CEL: integers are int64, other numbers double. */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  return value;
}

/** CEL values back to plain JSON-like JS: lists to arrays, maps to objects, ints to numbers. */
export function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (isCelList(value)) return [...value].map(fromCel);
  if (isCelMap(value)) return Object.fromEntries([...value.entries()].map(([k, v]) => [String(k), fromCel(v)]));
  return value;
}

export type CelOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };

/** Evaluates one expression with these bindings (already in CEL form: see toCel). */
export function evaluate(expression: string, bindings: Record<string, unknown>): CelOutcome {
  let run = plans.get(expression);
  if (run === undefined) {
    run = plan(env, parse(expression));
    plans.set(expression, run);
  }
  try {
    const result = run(bindings as never);
    return isCelError(result) ? { ok: false, error: result.message } : { ok: true, value: result };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
