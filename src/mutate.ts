// The mutating half: fixes that are safe to make, as JSON Patch operations, each explained by a
// warning. Pure: the object in, operations and warning lines out. A mutating webhook runs before
// the apiserver's own validation, so every fix must leave a valid object valid.
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { policy, type Finding } from './rules/finding.ts';
import { canonicalIP, parseIP } from './rules/net.ts';
import type { DepthBudget } from './depth.ts';
import { type EndpointSlice, type Endpoints, type KubeObject, decodeObject } from './rules/objects.ts';
import { LABEL_MANAGED_BY } from './rules/endpointslice.ts';
import { semanticEqual } from './rules/equal.ts';
import type { Operation as AdmissionOperation } from './rules/context.ts';
import type { KubeVersion } from './rules/version.ts';
import type { FieldPath } from './rules/path.ts';

const { compare, escapePathComponent } = fastJsonPatch;

export interface FixSettings {
  readonly fixManagedBy: boolean;
  /** The managed-by value given to slices that name no manager. */
  readonly managedByValue: string;
  readonly fixIPv6: boolean;
  readonly fixDuplicates: boolean;
}

export interface Mutation {
  readonly patch: Operation[];
  /** One finding per fix, rendered by policy.warningLine; rule ids are those of the rules they fix. */
  readonly fixes: Finding[];
}

export interface MutateInput {
  readonly object: unknown;
  readonly oldObject?: unknown;
  readonly operation: AdmissionOperation;
  readonly version: KubeVersion;
  /** The request body's depth limit, held while decoding; see depth.ts. */
  readonly depth?: DepthBudget | undefined;
}

const NOTHING: Mutation = { patch: [], fixes: [] };
const pointer = (path: FieldPath): string => path.map((s) => `/${escapePathComponent(String(typeof s === 'object' ? s.key : s))}`).join('');

export function mutate(input: MutateInput, settings: FixSettings): Mutation {
  if (input.operation !== 'CREATE' && input.operation !== 'UPDATE') return NOTHING;
  const object = decodeObject(input.object, input.version, undefined, input.depth).object;
  if (!object) return NOTHING; // not decodable: the validating half explains why; no guessing here
  const old = input.operation === 'UPDATE' && input.oldObject ? decodeObject(input.oldObject, input.version, undefined, input.depth).object : undefined;
  const result: { patch: Operation[]; fixes: Finding[] } = { patch: [], fixes: [] };
  if (object.kind === 'EndpointSlice') {
    if (settings.fixManagedBy) addManagedBy(object, settings.managedByValue, result);
    // Rewriting endpoints the update leaves as they were would end the apiserver's ratcheting
    // for them, and an old object that only passed because of it could then be refused.
    if (!unchanged(object, old)) fixSliceAddresses(object, settings, result);
  } else if (settings.fixIPv6 && !unchanged(object, old)) {
    fixEndpointsIPs(object, result);
  }
  return result;
}

function unchanged(object: KubeObject, old: KubeObject | undefined): boolean {
  if (object.kind === 'EndpointSlice' && old?.kind === 'EndpointSlice') return semanticEqual(object.endpoints, old.endpoints);
  if (object.kind === 'Endpoints' && old?.kind === 'Endpoints') return semanticEqual(object.subsets, old.subsets);
  return false;
}

function addManagedBy(slice: EndpointSlice, value: string, out: Mutation): void {
  const labels = slice.metadata.labels;
  if (labels && LABEL_MANAGED_BY in labels) return;
  out.patch.push(labels
    ? { op: 'add', path: pointer(['metadata', 'labels', LABEL_MANAGED_BY]), value }
    : { op: 'add', path: '/metadata/labels', value: { [LABEL_MANAGED_BY]: value } });
  out.fixes.push(policy({ rule: 'managed-by-missing', path: ['metadata', 'labels'] }, `fixed: set ${LABEL_MANAGED_BY}=${value}`, value));
}

/** The canonical text of an IPv6 address, when rewriting it is unambiguous; undefined to leave it. */
function canonicalIPv6(text: string): string | undefined {
  const ip = parseIP(text);
  // IPv4 (leading zeros are ambiguous: octal or decimal?), IPv4-mapped IPv6 and text Go's strict
  // parser refuses are for the validating rules to report, not for us to reinterpret.
  if (!ip || ip.is4 || ip.mapped || ip.leadingZeros) return undefined;
  const canonical = canonicalIP(ip);
  return canonical === text ? undefined : canonical;
}

function fixSliceAddresses(slice: EndpointSlice, settings: FixSettings, out: Mutation): void {
  const rewrite = settings.fixIPv6 && slice.addressType === 'IPv6';
  slice.endpoints.forEach((ep, i) => {
    const addresses = ep.addresses ?? [];
    const fixed: string[] = [];
    addresses.forEach((address, j) => {
      const path = ['endpoints', i, 'addresses', j];
      const canonical = rewrite ? canonicalIPv6(address) : undefined;
      if (canonical !== undefined) {
        out.fixes.push(policy({ rule: 'ip-format', path }, `fixed: rewrote as "${canonical}" (RFC 5952)`, address));
      }
      const value = canonical ?? address;
      if (settings.fixDuplicates && fixed.includes(value)) {
        out.fixes.push(policy({ rule: 'duplicate-address', path }, `fixed: removed ${JSON.stringify(value)}, listed twice in this endpoint`, value));
        return;
      }
      fixed.push(value);
    });
    if (fixed.length !== addresses.length || fixed.some((a, j) => a !== addresses[j])) {
      const base = pointer(['endpoints', i, 'addresses']);
      out.patch.push(...compare(addresses, fixed).map((op) => ({ ...op, path: base + op.path })));
    }
  });
}

function fixEndpointsIPs(ep: Endpoints, out: Mutation): void {
  ep.subsets.forEach((subset, i) => {
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      subset[list].forEach((address, j) => {
        const canonical = canonicalIPv6(address.ip);
        if (canonical === undefined) return;
        const path = ['subsets', i, list, j, 'ip'];
        out.patch.push({ op: 'replace', path: pointer(path), value: canonical });
        out.fixes.push(policy({ rule: 'ip-format', path }, `fixed: rewrote as "${canonical}" (RFC 5952)`, address.ip));
      });
    }
  });
}
