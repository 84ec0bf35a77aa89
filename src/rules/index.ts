// The one entry point to the rules: decode the object, run every check on it, return data.
// Pure: no I/O, no clock, no config reads. The webhook, lint and audit all call checkObject.
import type { Kind } from './catalogue.ts';
import type { Operation, RuleContext, ServiceLookup } from './context.ts';
import { endpointsPolicy, validateEndpoints } from './endpoints.ts';
import { slicePolicy, validateEndpointSlice } from './endpointslice.ts';
import { serviceChecks } from './service.ts';
import type { Finding } from './finding.ts';
import { type KubeObject, decodeObject } from './objects.ts';
import { formatPath } from './path.ts';
import type { KubeVersion } from './version.ts';
import { messageOf } from '../errors.ts';
import type { DepthBudget } from '../depth.ts';

export interface CheckInput {
  readonly object: unknown;
  readonly oldObject?: unknown;
  readonly operation: Operation;
  readonly version: KubeVersion;
  readonly softEndpointLimit: number;
  readonly username?: string | undefined;
  /** The apiVersion the client wrote with; defaults to the object's own. */
  readonly requestApiVersion?: string | undefined;
  /** The Services of the object's namespace, when the cluster is known (the webhook's cache, audit). */
  readonly services?: ServiceLookup | undefined;
  /** The request body's depth limit, held while decoding (the webhook); see depth.ts. */
  readonly depth?: DepthBudget | undefined;
}

export interface RuleError { readonly check: string; readonly message: string }
export interface CheckResult {
  readonly kind?: Kind | undefined;
  readonly findings: Finding[];
  /** Checks that threw: a bug, reported and counted, never a failed request. */
  readonly ruleErrors: RuleError[];
}

export type Check<T> = readonly [name: string, run: (object: T, ctx: RuleContext) => Finding[]];
const sliceChecks: readonly Check<Extract<KubeObject, { kind: 'EndpointSlice' }>>[] = [
  ['apiserver validation', validateEndpointSlice],
  ['policy', slicePolicy],
  ['services', serviceChecks],
];
const endpointsChecks: readonly Check<Extract<KubeObject, { kind: 'Endpoints' }>>[] = [
  ['apiserver validation', validateEndpoints],
  ['policy', endpointsPolicy],
  ['services', serviceChecks],
];

export function runChecks<T>(checks: readonly Check<T>[], object: T, ctx: RuleContext, ruleErrors: RuleError[]): Finding[] {
  return checks.flatMap(([name, run]) => {
    try {
      return run(object, ctx);
    } catch (err) {
      ruleErrors.push({ check: name, message: messageOf(err) });
      return [];
    }
  });
}

const objectApiVersion = (raw: unknown): string | undefined =>
  typeof raw === 'object' && raw !== null && 'apiVersion' in raw && typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined;

export function checkObject(input: CheckInput): CheckResult {
  const requestApiVersion = input.requestApiVersion ?? objectApiVersion(input.object) ?? '';
  const decoded = decodeObject(input.object, input.version, requestApiVersion, input.depth);
  const object = decoded.object;
  if (!object) return { findings: decoded.findings, ruleErrors: [] };
  const old = input.oldObject === undefined || input.oldObject === null
    ? undefined
    : decodeObject(input.oldObject, input.version, requestApiVersion, input.depth).object;
  const ctx: RuleContext = {
    version: input.version,
    operation: input.operation,
    oldObject: old,
    username: input.username,
    requestApiVersion,
    softEndpointLimit: input.softEndpointLimit,
    services: input.services,
  };
  const ruleErrors: RuleError[] = [];
  const findings = object.kind === 'EndpointSlice'
    ? runChecks(sliceChecks, object, ctx, ruleErrors)
    : runChecks(endpointsChecks, object, ctx, ruleErrors);
  return { kind: object.kind, findings: [...decoded.findings, ...withoutRepeats(findings)], ruleErrors };
}

/** An address the apiserver already rejects needs no second, softer word about its format. */
function withoutRepeats(findings: Finding[]): Finding[] {
  const rejected = new Set(findings.filter((f) => f.rule === 'address').map((f) => formatPath(f.path)));
  if (rejected.size === 0) return findings;
  return findings.filter((f) => !((f.rule === 'ip-format' || f.rule === 'special-address') && rejected.has(formatPath(f.path))));
}
