// `manifests --as policies`: the rules the apiserver can check in process, as
// ValidatingAdmissionPolicies and their bindings, and on 1.36 the managed-by fix as a
// MutatingAdmissionPolicy. Pure: settings in, objects and notes for the person out.
import type { Mode, RuleSetting } from '../config.ts';
import { type Kind, type RuleId, type Severity, catalogue, ruleIds } from '../rules/catalogue.ts';
import { LABEL_MANAGED_BY } from '../rules/endpointslice.ts';
import { type KubeVersion, formatKubeVersion } from '../rules/version.ts';
import { NAMESPACE_MODE_LABEL } from '../cluster/view.ts';
import { notControlPlane } from '../cluster/manifests.ts';
import { celString } from './cel.ts';
import { type CelCheck, VARIABLES, celChecks, variablesOf } from './checks.ts';
import { coverage } from './coverage.ts';

type Json = Record<string, unknown>;
export type PolicyMode = Exclude<Mode, 'off'>;

/** ValidatingAdmissionPolicy is beta (off by default) in 1.28 and 1.29 and GA from 1.30. */
export const POLICIES_SINCE_MINOR = 28;
const VAP_V1_SINCE_MINOR = 30;
/** MutatingAdmissionPolicy is served as admissionregistration.k8s.io/v1 from 1.36. */
export const MUTATING_POLICY_SINCE_MINOR = 36;

export const POLICY_NAMES = {
  errors: 'endpoint-guard-errors',
  warnings: 'endpoint-guard-warnings',
  /** The errors policy's second binding, for namespaces whose effective mode is complain. */
  errorsComplain: 'endpoint-guard-errors-complain',
  managedBy: 'endpoint-guard-managed-by',
} as const;

export interface PolicySettings {
  readonly version: KubeVersion;
  readonly mode: PolicyMode;
  readonly rules: Partial<Record<RuleId, RuleSetting>>;
  readonly softEndpointLimit: number;
  /** The control plane's writers, exempt as in the webhook registrations. */
  readonly exemptUsers: readonly string[];
  /** The errors policy's failurePolicy in enforce mode: allow is Ignore, deny is Fail. */
  readonly onRuleError: 'allow' | 'deny';
  readonly fixManagedBy: boolean;
  readonly managedByValue: string;
  readonly fixIPv6: boolean;
  readonly fixDuplicates: boolean;
}

export type PolicyManifests =
  | { readonly ok: true; readonly objects: Json[]; readonly notes: string[] }
  | { readonly ok: false; readonly message: string };

const LABELS = { 'app.kubernetes.io/name': 'endpoint-guard' };
const RESOURCE_RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['endpoints'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
  { apiGroups: ['discovery.k8s.io'], apiVersions: ['v1'], resources: ['endpointslices'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
];
const SLICES_ONLY = [RESOURCE_RULES[1]];

const modeSelector = (operator: 'In' | 'NotIn', values: readonly string[]): Json =>
  ({ matchExpressions: [{ key: NAMESPACE_MODE_LABEL, operator, values: [...values] }] });

/** A rule's severity under the config: undefined when it is turned off. */
function severityOf(rule: RuleId, settings: PolicySettings): Severity | undefined {
  const setting = settings.rules[rule];
  if (setting === 'off') return undefined;
  return setting ?? catalogue[rule].severity;
}

/** The checks the policies for these settings run, with the severity each has. */
export function activeChecks(settings: PolicySettings): { check: CelCheck; severity: Severity }[] {
  return celChecks(settings).flatMap((check) => {
    const severity = severityOf(check.rule, settings);
    if (severity === undefined || !coverage(check.rule, check.kind, settings.version).policy) return [];
    return [{ check, severity }];
  });
}

const kindGuard = (kind: Kind, expression: string): string => `request.kind.kind != ${celString(kind)} || (${expression})`;

function validation(check: CelCheck, severity: Severity): Json {
  return {
    expression: kindGuard(check.kind, check.expression),
    message: check.message,
    ...(check.messageExpression === undefined ? {} : { messageExpression: check.messageExpression }),
    // A denial answers 403 Forbidden, as the webhook's does.
    ...(severity === 'error' ? { reason: 'Forbidden' } : {}),
  };
}

function validatingPolicy(apiVersion: string, name: string, checks: readonly CelCheck[], severity: Severity, failurePolicy: 'Ignore' | 'Fail', settings: PolicySettings): Json {
  const validations = checks.map((c) => validation(c, severity));
  const variables = variablesOf(validations.flatMap((v) => [String(v.expression), String(v.messageExpression ?? '')]));
  return {
    apiVersion, kind: 'ValidatingAdmissionPolicy', metadata: { name, labels: LABELS },
    spec: {
      failurePolicy,
      matchConstraints: { resourceRules: RESOURCE_RULES },
      matchConditions: [notControlPlane(settings.exemptUsers)],
      ...(variables.length > 0 ? { variables: variables.map((v) => ({ name: v, expression: VARIABLES[v] })) } : {}),
      validations,
    },
  };
}

function binding(apiVersion: string, name: string, policyName: string, actions: readonly string[], namespaceSelector: Json): Json {
  return {
    apiVersion, kind: 'ValidatingAdmissionPolicyBinding', metadata: { name, labels: LABELS },
    spec: { policyName, validationActions: [...actions], matchResources: { namespaceSelector } },
  };
}

/**
 * The errors policy is bound twice, by each namespace's effective mode (its endpoint-guard.io/mode
 * label, else the global one): Deny where it is enforce, Warn where it is complain; a namespace
 * labelled off is bound to nothing.
 */
function errorBindings(apiVersion: string, mode: PolicyMode): Json[] {
  const other: PolicyMode = mode === 'enforce' ? 'complain' : 'enforce';
  const where = (bound: PolicyMode): Json => (bound === mode ? modeSelector('NotIn', ['off', other]) : modeSelector('In', [bound]));
  return [
    binding(apiVersion, POLICY_NAMES.errors, POLICY_NAMES.errors, ['Deny', 'Audit'], where('enforce')),
    binding(apiVersion, POLICY_NAMES.errorsComplain, POLICY_NAMES.errors, ['Warn', 'Audit'], where('complain')),
  ];
}

function managedByPolicy(settings: PolicySettings): Json[] {
  const apiVersion = 'admissionregistration.k8s.io/v1';
  const key = celString(LABEL_MANAGED_BY);
  return [
    {
      apiVersion, kind: 'MutatingAdmissionPolicy', metadata: { name: POLICY_NAMES.managedBy, labels: LABELS },
      spec: {
        // A fix is a convenience: never block a write because it could not be made.
        failurePolicy: 'Ignore',
        reinvocationPolicy: 'Never',
        matchConstraints: { resourceRules: SLICES_ONLY },
        matchConditions: [
          notControlPlane(settings.exemptUsers),
          { name: 'names-no-manager', expression: `!has(object.metadata.labels) || !(${key} in object.metadata.labels)` },
        ],
        mutations: [{
          patchType: 'ApplyConfiguration',
          applyConfiguration: { expression: `Object{metadata: Object.metadata{labels: {${key}: ${celString(settings.managedByValue)}}}}` },
        }],
      },
    },
    {
      apiVersion, kind: 'MutatingAdmissionPolicyBinding', metadata: { name: POLICY_NAMES.managedBy, labels: LABELS },
      spec: { policyName: POLICY_NAMES.managedBy, matchResources: { namespaceSelector: modeSelector('NotIn', ['off']) } },
    },
  ];
}

/** The rules each kind's policies check and the ones left to the webhook, for the notes. */
export function coverageSummary(settings: PolicySettings): { covered: string[]; webhookOnly: string[] } {
  const covered: string[] = [];
  const webhookOnly: string[] = [];
  for (const rule of ruleIds) {
    const info = catalogue[rule];
    if (info.source === 'apiserver' || severityOf(rule, settings) === undefined) continue;
    const kinds = info.kinds.filter((kind) => coverage(rule, kind, settings.version).policy);
    if (kinds.length === info.kinds.length) covered.push(rule);
    else if (kinds.length === 0) webhookOnly.push(rule);
    else {
      covered.push(`${rule} (${kinds.join(', ')})`);
      webhookOnly.push(`${rule} (${info.kinds.filter((k) => !kinds.includes(k)).join(', ')})`);
    }
  }
  return { covered, webhookOnly };
}

export function admissionPolicies(settings: PolicySettings): PolicyManifests {
  const { version, mode } = settings;
  const release = formatKubeVersion(version);
  if (version.minor < POLICIES_SINCE_MINOR) {
    return {
      ok: false,
      message: `--as policies needs Kubernetes 1.28 or later (ValidatingAdmissionPolicy is beta from 1.28, GA from 1.30), not ${release}; ` +
        'register the webhook instead (manifests without --as policies)',
    };
  }
  const apiVersion = `admissionregistration.k8s.io/${version.minor >= VAP_V1_SINCE_MINOR ? 'v1' : 'v1beta1'}`;
  const active = activeChecks(settings);
  const errors = active.filter((a) => a.severity === 'error').map((a) => a.check);
  const warnings = active.filter((a) => a.severity === 'warning').map((a) => a.check);
  const objects: Json[] = [];
  if (errors.length > 0) {
    const failurePolicy = mode === 'enforce' && settings.onRuleError === 'deny' ? 'Fail' : 'Ignore';
    objects.push(validatingPolicy(apiVersion, POLICY_NAMES.errors, errors, 'error', failurePolicy, settings), ...errorBindings(apiVersion, mode));
  }
  if (warnings.length > 0) {
    objects.push(
      validatingPolicy(apiVersion, POLICY_NAMES.warnings, warnings, 'warning', 'Ignore', settings),
      binding(apiVersion, POLICY_NAMES.warnings, POLICY_NAMES.warnings, mode === 'complain' ? ['Warn', 'Audit'] : ['Warn'], modeSelector('NotIn', ['off'])),
    );
  }

  const notes: string[] = [];
  if (version.minor < VAP_V1_SINCE_MINOR) {
    notes.push(`ValidatingAdmissionPolicy is beta and off by default in ${release}: the apiserver needs ` +
      '--feature-gates=ValidatingAdmissionPolicy=true and --runtime-config=admissionregistration.k8s.io/v1beta1=true');
  }
  const { covered, webhookOnly } = coverageSummary(settings);
  notes.push(`the policies check ${covered.join(', ') || 'no rule'}`);
  if (webhookOnly.length > 0) notes.push(`only the webhook checks ${webhookOnly.join(', ')} (the coverage table in docs/rules.md says why)`);
  if (settings.fixManagedBy) {
    if (version.minor >= MUTATING_POLICY_SINCE_MINOR) objects.push(...managedByPolicy(settings));
    else notes.push(`MutatingAdmissionPolicy is served from Kubernetes 1.36: on ${release} the ${LABEL_MANAGED_BY} fix stays with the webhook's /mutate`);
  }
  const webhookFixes = [settings.fixIPv6 ? 'IPv6 rewriting' : '', settings.fixDuplicates ? 'duplicate removal' : ''].filter(Boolean);
  if (webhookFixes.length > 0) notes.push(`the ${webhookFixes.join(' and ')} fixes stay with the webhook's /mutate`);
  return { ok: true, objects, notes };
}
