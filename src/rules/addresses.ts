// Address checks of kube-apiserver (spec 2.3, 4.4, 5.3), per Kubernetes version, plus the policy
// warnings about addresses the apiserver lets through.
import { type Finding, invalid, policy, required } from './finding.ts';
import { fqdnProblems, shortNameHint } from './names.ts';
import { type ParsedIP, canonicalIP, parseIP, specialRange, unicastProblem } from './net.ts';
import type { FieldPath } from './path.ts';
import type { KubeVersion } from './version.ts';

const INVALID_IP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
const INVALID_IP_HINT = 'must be a valid IP address (e.g. 10.9.8.7 or 2001:db8::ffff)';
const SPECIAL_DETAIL = {
  'loopback': 'may not be in the loopback range (127.0.0.0/8, ::1/128)',
  'link-local': 'may not be in the link-local range (169.254.0.0/16, fe80::/10)',
  'link-local-multicast': 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)',
} as const;

const at = (path: FieldPath) => ({ rule: 'address', path } as const);

/** The "legacy" IP check (Endpoints ip, IPv4 slice addresses): strict sub-checks only with StrictIPCIDRValidation. */
function legacyIP(value: string, ip: ParsedIP | undefined, version: KubeVersion, path: FieldPath): Finding[] {
  if (!ip) return [invalid(at(path), value, INVALID_IP, INVALID_IP_HINT)];
  if (!version.strictIP) return [];
  return strictProblems(value, ip, path);
}

function strictProblems(value: string, ip: ParsedIP, path: FieldPath): Finding[] {
  if (ip.leadingZeros) return [invalid(at(path), value, 'must not have leading 0s')];
  if (ip.mapped) return [invalid(at(path), value, 'must not be an IPv4-mapped IPv6 address')];
  return [];
}

/** The "strict" check of new fields (IPv6 slice addresses), canonical form included, in every 1.33+ version. */
function strictIP(value: string, ip: ParsedIP | undefined, path: FieldPath): Finding[] {
  if (!ip) return [invalid(at(path), value, INVALID_IP, INVALID_IP_HINT)];
  const problems = strictProblems(value, ip, path);
  if (problems.length > 0) return problems;
  const canonical = canonicalIP(ip);
  return canonical === value ? [] : [invalid(at(path), value, `must be in canonical form ("${canonical}")`)];
}

/** ValidateEndpointIP (formerly ValidateNonSpecialIP): the ranges no endpoint may point at. */
export function specialIP(value: string, ip: ParsedIP | undefined, path: FieldPath): Finding[] {
  if (!ip) return [invalid(at(path), value, 'must be a valid IP address')];
  const range = specialRange(ip);
  if (range === undefined) return [];
  return [invalid(at(path), value, range === 'unspecified' ? `may not be unspecified (${value})` : SPECIAL_DETAIL[range])];
}

/**
 * One EndpointSlice address, `endpoints[endpoint].addresses[index]`, judged by its addressType (spec 4.4; 1.24-1.32 used
 * older IP checks); findings go to `out`.
 */
export function checkSliceAddress(
  addressType: string, value: string, version: KubeVersion, endpoint: number, index: number, out: Finding[],
): void {
  const list = (): FieldPath => ['endpoints', endpoint, 'addresses'];
  if (addressType === 'FQDN') {
    for (const p of fqdnProblems(value)) {
      out.push(p.details.length === 1 && p.details[0] === 'Required'
        ? required(at([...list(), index]))
        : invalid(at([...list(), index]), p.value, p.details.join(','), shortNameHint(p.details[0] ?? '')));
    }
    return;
  }
  if (addressType !== 'IPv4' && addressType !== 'IPv6') return;
  const ip = parseIP(value);
  const wantV4 = addressType === 'IPv4';
  // Nearly every address: parsed, of the slice's family, in strict canonical form, not special.
  // Nothing below reports anything for it, in any version; the path is only built for a finding.
  if (ip && ip.is4 === wantV4 && !ip.leadingZeros && !ip.mapped && ip.canonical === value && specialRange(ip) === undefined) return;
  const path = [...list(), index];
  if (!version.modernIPChecks) {
    if (!ip || ip.is4 !== wantV4) out.push(invalid(at(path), value, `must be a valid ${addressType} address`));
    out.push(...specialIP(value, ip, path));
    return;
  }
  const first = wantV4 ? legacyIP(value, ip, version, path) : strictIP(value, ip, path);
  if (first.length > 0 || !ip) {
    out.push(...first);
    return;
  }
  if (ip.is4 !== wantV4) out.push(invalid(at(list()), value, `must be an ${addressType} address`));
  out.push(...specialIP(value, ip, path));
}

/** The IP of one Endpoints address: the legacy check, then the special-range check, which always runs. */
export function checkEndpointsIP(value: string, version: KubeVersion, path: FieldPath): { findings: Finding[]; special: Finding[] } {
  const ip = parseIP(value);
  return { findings: legacyIP(value, ip, version, path), special: specialIP(value, ip, path) };
}

/** The words of a special-address finding, shared with the admission policies; the address comes rendered. */
export const specialAddressWords = (quoted: string, what: string): string => `${quoted} is a ${what} address; endpoints should be unicast`;

/** Policy on one IP the apiserver lets through: its text form, and whether it is unicast at all. */
export function addressPolicy(value: string, pathOf: () => FieldPath, out: Finding[]): void {
  const ip = parseIP(value);
  if (!ip) return;
  const special = specialRange(ip) === undefined ? unicastProblem(ip) : undefined;
  if (ip.canonical === value && special === undefined) return;
  const path = pathOf(); // built only for a finding
  if (ip.canonical !== value) {
    const why = ip.leadingZeros ? 'has leading zeros (ambiguous: octal or decimal?)'
      : ip.mapped ? 'is an IPv4-mapped IPv6 address' : 'is not in canonical form (RFC 5952)';
    out.push(policy({ rule: 'ip-format', path }, `${JSON.stringify(value)} ${why}; write "${ip.canonical}"`, value));
  }
  if (special) {
    out.push(policy({ rule: 'special-address', path }, specialAddressWords(JSON.stringify(value), special), value));
  }
}

export const ipFamily = (value: string): 4 | 6 | undefined => {
  const ip = parseIP(value);
  return ip ? (ip.is4 ? 4 : 6) : undefined;
};
