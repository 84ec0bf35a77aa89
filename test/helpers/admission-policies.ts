// Admission policies evaluated offline the way a kube-apiserver evaluates them, and the webhook's
// verdict on the same request, so the two can be compared rule by rule.
//
// Both see the object as the apiserver hands it to admission: decoded into its Go type, defaulted,
// with a generated name, and converted back, so that empty optional fields are gone and the lists
// an EndpointSlice always serializes (endpoints, ports, addresses) are null when absent.
import type { Mode } from '../../src/config.ts';
import { DEFAULT_EXEMPT_USERS } from '../../src/config.ts';
import { NAMESPACE_MODE_LABEL } from '../../src/cluster/view.ts';
import { judge, warningLine } from '../../src/policy.ts';
import { type Kind, type RuleId, catalogue, isRuleId } from '../../src/rules/catalogue.ts';
import type { Finding } from '../../src/rules/finding.ts';
import { checkObject } from '../../src/rules/index.ts';
import type { KubeVersion } from '../../src/rules/version.ts';
import { celMap } from '@bufbuild/cel';
import { type CelOutcome, evaluate, toCel } from './kubernetes-cel.ts';

export type Json = Record<string, unknown>;
export type Verdict = 'deny' | 'warn' | undefined;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const withoutNulls = (value: Json): Json => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
/** A generated name: generateName cut to 58 bytes and five characters of the apiserver's alphabet. */
const generated = (prefix: string): string => `${Buffer.from(prefix).subarray(0, 58).toString()}7kq4z`;

function admittedMetadata(raw: unknown, namespace: string): Json {
  const meta = isRecord(raw) ? withoutNulls(raw) : {};
  if (meta.namespace === undefined || meta.namespace === '') meta.namespace = namespace;
  if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
    meta.name = generated(meta.generateName);
  }
  for (const key of ['name', 'generateName'] as const) if (meta[key] === '') delete meta[key];
  for (const key of ['labels', 'annotations'] as const) {
    if (isRecord(meta[key]) && Object.keys(meta[key]).length === 0) delete meta[key];
  }
  return meta;
}

/** A list the Go type always serializes: null when absent. Anything else is left for validation to refuse. */
const alwaysList = (value: unknown, each: (item: unknown) => unknown): unknown =>
  (Array.isArray(value) ? value.map(each) : value === undefined ? null : value);
/** An omitempty list: gone when empty or absent. */
const omitEmptyList = (object: Json, key: string, each: (item: unknown) => unknown): void => {
  const value = object[key];
  if (Array.isArray(value) && value.length > 0) object[key] = value.map(each);
  else if (Array.isArray(value) || value === undefined || value === null) delete object[key];
};

function admittedSliceEndpoint(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  const endpoint = withoutNulls(raw);
  endpoint.addresses = alwaysList(endpoint.addresses, (a) => a);
  endpoint.conditions ??= {};
  delete endpoint.deprecatedTopology; // v1 writes wipe it
  return endpoint;
}

const admittedSlicePort = (raw: unknown): unknown =>
  (isRecord(raw) ? { name: '', protocol: 'TCP', ...withoutNulls(raw) } : raw);

function admittedSubset(raw: unknown): unknown {
  if (!isRecord(raw)) return raw;
  const subset = withoutNulls(raw);
  const address = (a: unknown): unknown => {
    if (!isRecord(a)) return a;
    const out = withoutNulls(a);
    if (out.hostname === '') delete out.hostname;
    return out;
  };
  omitEmptyList(subset, 'addresses', address);
  omitEmptyList(subset, 'notReadyAddresses', address);
  omitEmptyList(subset, 'ports', (p) => {
    if (!isRecord(p)) return p;
    const port: Json = { protocol: 'TCP', ...withoutNulls(p) };
    if (port.name === '') delete port.name;
    return port;
  });
  return subset;
}

/** The object as admission sees it after the apiserver decoded, defaulted and named it. */
export function asAdmitted(manifest: Json, namespace = 'default'): Json {
  const object = withoutNulls(structuredClone(manifest));
  object.metadata = admittedMetadata(object.metadata, namespace);
  if (object.kind === 'EndpointSlice') {
    object.endpoints = alwaysList(object.endpoints, admittedSliceEndpoint);
    object.ports = alwaysList(object.ports, admittedSlicePort);
  } else if (object.kind === 'Endpoints') {
    omitEmptyList(object, 'subsets', admittedSubset);
  }
  return object;
}

const SOFT_LIMIT = 100;

/**
 * Whether the target apiserver accepts the object as written (no finding of an apiserver rule,
 * judged as a create so that an update's ratcheting does not let through what the version
 * refuses). Admission policies run after the apiserver's validation: only such objects reach them.
 */
export function acceptedByApiserver(object: Json, version: KubeVersion): boolean {
  const result = checkObject({ object, operation: 'CREATE', version, softEndpointLimit: SOFT_LIMIT });
  return result.kind !== undefined && result.findings.every((f) => catalogue[f.rule].source !== 'apiserver');
}

export interface AdmissionRequest {
  readonly object: Json;
  readonly oldObject?: Json | undefined;
  readonly operation: 'CREATE' | 'UPDATE';
  readonly username: string;
  readonly namespace: string;
}

export interface WebhookSettings {
  readonly version: KubeVersion;
  readonly softEndpointLimit?: number;
  readonly rules?: Partial<Record<RuleId, 'error' | 'warning' | 'off'>>;
  readonly exemptUsers?: readonly string[];
}

const kindOf = (object: Json): Kind => (object.kind === 'Endpoints' ? 'Endpoints' : 'EndpointSlice');

/** The webhook's findings on a request, judged with the config's severities (the exempt users get none). */
export function webhookFindings(request: AdmissionRequest, settings: WebhookSettings): (Finding & { severity: 'error' | 'warning' })[] {
  if ((settings.exemptUsers ?? DEFAULT_EXEMPT_USERS).includes(request.username)) return [];
  const result = checkObject({
    object: request.object, oldObject: request.oldObject, operation: request.operation, version: settings.version,
    softEndpointLimit: settings.softEndpointLimit ?? SOFT_LIMIT, username: request.username,
  });
  if (result.ruleErrors.length > 0) throw new Error(`rule error: ${JSON.stringify(result.ruleErrors)}`);
  return judge(result.findings, settings.rules ?? {});
}

/** What the webhook does about one rule in a namespace with this mode label: deny, warn, or nothing. */
export function webhookVerdict(findings: readonly (Finding & { severity: string })[], rule: RuleId, globalMode: Mode, label: string | undefined): Verdict {
  const mode = label === 'complain' || label === 'enforce' || label === 'off' ? label : globalMode;
  const mine = findings.filter((f) => f.rule === rule);
  if (mode === 'off' || mine.length === 0) return undefined;
  return mode === 'enforce' && mine.some((f) => f.severity === 'error') ? 'deny' : 'warn';
}

/** The webhook's warning line for its first finding of a rule. */
export const webhookLine = (findings: readonly Finding[], rule: RuleId): string | undefined => {
  const first = findings.find((f) => f.rule === rule);
  return first && warningLine(first);
};

// The admission policy side.

interface Validation { expression: string; message?: string; messageExpression?: string }
interface PolicySpec { matchConditions?: { expression: string }[]; variables?: { name: string; expression: string }[]; validations: Validation[] }
interface Selector { matchExpressions?: { key: string; operator: string; values?: string[] }[]; matchLabels?: Record<string, string> }

export interface RuleResult {
  readonly rule: RuleId;
  readonly policy: string;
  /** True: passes; false: fails; undefined: the expression could not be evaluated. */
  readonly passed: boolean | undefined;
  readonly message?: string | undefined;
  readonly error?: string | undefined;
}

/** The rule a validation checks: its messages start with the rule id. */
function ruleOf(validation: Validation): RuleId {
  const id = /^([a-z0-9-]+): /.exec(validation.message ?? '')?.[1] ?? '';
  if (!isRuleId(id)) throw new Error(`a validation whose message names no rule: ${validation.message}`);
  return id;
}

/** The request variable as the apiserver builds it for CEL. */
function requestOf(request: AdmissionRequest): Json {
  const kind = kindOf(request.object);
  const group = kind === 'EndpointSlice' ? 'discovery.k8s.io' : '';
  const gvk = { group, version: 'v1', kind };
  const resource = { group, version: 'v1', resource: kind === 'EndpointSlice' ? 'endpointslices' : 'endpoints' };
  return {
    kind: gvk, requestKind: gvk, resource, requestResource: resource, name: String((request.object.metadata as Json | undefined)?.name ?? ''),
    namespace: request.namespace, operation: request.operation, userInfo: { username: request.username, groups: [] }, dryRun: false,
  };
}

/**
 * Variables as the apiserver has them: each evaluated when an expression first reads it (so a
 * branch not taken never evaluates one), at most once per request; an error fails the expression.
 */
class LazyVariables extends Map<string, unknown> {
  readonly #definitions: ReadonlyMap<string, string>;
  readonly #bindings: Json;
  readonly #values = new Map<string, CelOutcome>();
  constructor(spec: PolicySpec, bindings: Json) {
    super();
    this.#definitions = new Map((spec.variables ?? []).map((v) => [v.name, v.expression]));
    this.#bindings = bindings;
  }
  override has(name: string): boolean {
    return this.#definitions.has(name);
  }
  override get(name: string): unknown {
    let outcome = this.#values.get(name);
    if (outcome === undefined) {
      outcome = evaluate(this.#definitions.get(name) ?? 'null', { ...this.#bindings, variables: celMap(this as never) });
      this.#values.set(name, outcome);
    }
    if (!outcome.ok) throw new Error(`variables.${name}: ${outcome.error}`);
    return outcome.value;
  }
}

/** Evaluates every ValidatingAdmissionPolicy among `objects` on one request: one result per validation. */
export function evaluatePolicies(objects: readonly Json[], request: AdmissionRequest): RuleResult[] {
  const bindings: Json = { object: toCel(request.object), oldObject: request.oldObject ? toCel(request.oldObject) : null, request: toCel(requestOf(request)) };
  const results: RuleResult[] = [];
  for (const policy of objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy')) {
    const spec = policy.spec as PolicySpec;
    const name = String((policy.metadata as Json).name);
    const matches = (spec.matchConditions ?? []).every((c) => {
      const outcome = evaluate(c.expression, bindings);
      if (!outcome.ok) throw new Error(`matchCondition ${c.expression}: ${outcome.error}`);
      return outcome.value === true;
    });
    if (!matches) continue;
    const variables = celMap(new LazyVariables(spec, bindings) as never);
    const run = (expression: string): CelOutcome => evaluate(expression, { ...bindings, variables });
    for (const validation of spec.validations) {
      const rule = ruleOf(validation);
      const outcome = run(validation.expression);
      if (!outcome.ok || typeof outcome.value !== 'boolean') {
        results.push({ rule, policy: name, passed: undefined, error: outcome.ok ? `not a bool: ${String(outcome.value)}` : outcome.error });
        continue;
      }
      if (outcome.value) {
        results.push({ rule, policy: name, passed: true });
        continue;
      }
      const message = validation.messageExpression === undefined ? undefined : run(validation.messageExpression);
      results.push({
        rule, policy: name, passed: false,
        message: message?.ok && typeof message.value === 'string' ? message.value : validation.message,
        ...(message && !message.ok ? { error: `messageExpression: ${message.error}` } : {}),
      });
    }
  }
  return results;
}

/** A label selector's verdict on a namespace's labels (In, NotIn, Exists, DoesNotExist, matchLabels). */
export function selects(selector: Selector | undefined, labels: Readonly<Record<string, string>>): boolean {
  const expressions = selector?.matchExpressions ?? [];
  const byLabel = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return byLabel && expressions.every(({ key, operator, values = [] }) => {
    const value = labels[key];
    switch (operator) {
      case 'In': return value !== undefined && values.includes(value);
      case 'NotIn': return value === undefined || !values.includes(value);
      case 'Exists': return value !== undefined;
      case 'DoesNotExist': return value === undefined;
      default: throw new Error(`unknown selector operator ${operator}`);
    }
  });
}

/** The actions the bindings give a policy in a namespace with this mode label. */
export function actionsFor(objects: readonly Json[], policy: string, label: string | undefined): Set<string> {
  const labels: Record<string, string> = label === undefined ? {} : { [NAMESPACE_MODE_LABEL]: label };
  const actions = new Set<string>();
  for (const binding of objects.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')) {
    const spec = binding.spec as { policyName: string; validationActions: string[]; matchResources?: { namespaceSelector?: Selector } };
    if (spec.policyName === policy && selects(spec.matchResources?.namespaceSelector, labels)) {
      for (const action of spec.validationActions) actions.add(action);
    }
  }
  return actions;
}

/** What the policies do about one rule in a namespace with this mode label: deny, warn, or nothing. */
export function policyVerdict(objects: readonly Json[], results: readonly RuleResult[], rule: RuleId, label: string | undefined): Verdict {
  let verdict: Verdict;
  for (const result of results.filter((r) => r.rule === rule && r.passed === false)) {
    const actions = actionsFor(objects, result.policy, label);
    if (actions.has('Deny')) return 'deny';
    if (actions.has('Warn')) verdict = 'warn';
  }
  return verdict;
}
