// The two webhook registrations as code: the same objects as deploy/base/webhook-configurations.yaml
// (test/manifests.test.ts proves they agree), with the caBundle and the mode's failure policy
// filled in, and the create-or-update that `manifests --apply` does for them and for the policies.
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_EXEMPT_USERS } from '../config.ts';
import type { KubeVersion } from '../rules/version.ts';
import { celString } from '../policies/cel.ts';
import { WEBHOOK_CONFIGURATION_NAME } from '../server/certs-command.ts';
import { KubeError, kubeRequest } from './kube.ts';
import { record } from './objects.ts';
import { NAMESPACE_MODE_LABEL } from './view.ts';

export const MANIFEST_MODES = ['complain', 'enforce'] as const;
export type ManifestMode = (typeof MANIFEST_MODES)[number];

/**
 * Where the apiserver reaches the webhook: the in-cluster Service, or the base URL of a webhook
 * outside the cluster (no trailing slash; /validate and /mutate are appended).
 */
export type Target = { readonly service: { readonly namespace: string; readonly name: string } } | { readonly url: string };
export type Route = '/validate' | '/mutate';
export const ROUTES: readonly Route[] = ['/validate', '/mutate'];

type Json = Record<string, unknown>;

/** Longer than a review takes, shorter than the apiserver's 10 s default and the server's request timeout. */
export const WEBHOOK_TIMEOUT_SECONDS = 5;

/** The CEL condition that keeps the control plane's own writers away from the webhooks (exemptUsers' defaults). */
export const notControlPlane = (users: readonly string[] = DEFAULT_EXEMPT_USERS): Json => ({
  name: 'not-control-plane',
  expression: `!(request.userInfo.username in [ ${users.map(celString).join(', ')}])`,
});

const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['endpoints'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
  { apiGroups: ['discovery.k8s.io'], apiVersions: ['v1'], resources: ['endpointslices'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced' },
];

/**
 * The apiserver evaluates a webhook's matchConditions from 1.28 (beta, on by default). 1.27 has
 * the field behind the alpha gate AdmissionWebhookMatchConditions, off by default, and drops it;
 * before 1.27 it is an unknown field that kubectl and the apiserver refuse.
 */
export const MATCH_CONDITIONS_SINCE_MINOR = 28;
export const appliesMatchConditions = (version: KubeVersion): boolean => version.minor >= MATCH_CONDITIONS_SINCE_MINOR;

export interface WebhookOptions {
  readonly version: KubeVersion;
  /** The users the registrations exempt (the server's exemptUsers). */
  readonly exemptUsers?: readonly string[] | undefined;
}

/** What the apiserver calls for a route: a URL, or a Service's port and path. */
export const callee = (target: Target, route: Route): string =>
  'url' in target ? `${target.url}${route}` : `https://${target.service.name}.${target.service.namespace}.svc:443${route}`;

function clientConfig(target: Target, path: Route, caBundle: string): Json {
  const where = 'url' in target
    ? { url: callee(target, path) }
    : { service: { namespace: target.service.namespace, name: target.service.name, path, port: 443 } };
  return { ...where, caBundle };
}

function webhook(name: string, target: Target, path: Route, caBundle: string, failurePolicy: 'Ignore' | 'Fail', options: WebhookOptions, extra: Json = {}): Json {
  return {
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    ...extra,
    failurePolicy,
    timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
    matchPolicy: 'Equivalent',
    clientConfig: clientConfig(target, path, caBundle),
    // A namespace labelled mode=off would only get an empty answer: the apiserver need not call.
    namespaceSelector: { matchExpressions: [{ key: NAMESPACE_MODE_LABEL, operator: 'NotIn', values: ['off'] }] },
    rules: RULES,
    ...(appliesMatchConditions(options.version) ? { matchConditions: [notControlPlane(options.exemptUsers)] } : {}),
  };
}

/**
 * The MutatingWebhookConfiguration and the ValidatingWebhookConfiguration, in that order. The
 * mutating webhook never blocks a write (failurePolicy Ignore in both modes); the validating one
 * fails closed in enforce mode only.
 */
export function webhookConfigurations(target: Target, caPem: string, mode: ManifestMode, options: WebhookOptions): [Json, Json] {
  const caBundle = Buffer.from(caPem).toString('base64');
  const metadata = { name: WEBHOOK_CONFIGURATION_NAME, labels: { 'app.kubernetes.io/name': 'endpoint-guard' } };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata,
      webhooks: [webhook('mutate.endpoint-guard.io', target, '/mutate', caBundle, 'Ignore', options, { reinvocationPolicy: 'Never' })],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata,
      webhooks: [webhook('validate.endpoint-guard.io', target, '/validate', caBundle, mode === 'enforce' ? 'Fail' : 'Ignore', options)],
    },
  ];
}

/** `desired` holds nothing `actual` lacks: the apiserver adds defaults (objectSelector, scope...) that are no change of ours. */
export function contains(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => contains(actual[i], d));
  }
  if (typeof desired === 'object' && desired !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    const a = actual as Json;
    return Object.entries(desired).every(([k, v]) => contains(a[k], v));
  }
  return actual === desired;
}

export type ApplyOutcome = 'created' | 'updated' | 'unchanged';

/** The resource of each kind `manifests --apply` writes, all in admissionregistration.k8s.io. */
const RESOURCES: Readonly<Record<string, string>> = {
  MutatingWebhookConfiguration: 'mutatingwebhookconfigurations',
  ValidatingWebhookConfiguration: 'validatingwebhookconfigurations',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
  MutatingAdmissionPolicy: 'mutatingadmissionpolicies',
  MutatingAdmissionPolicyBinding: 'mutatingadmissionpolicybindings',
};

/** The collection path of an object's kind, in the API version it is written in. */
function collection(object: Json): string {
  const resource = RESOURCES[String(object.kind)];
  if (resource === undefined) throw new Error(`manifests: no resource known for kind ${String(object.kind)}`);
  return `/apis/${String(object.apiVersion)}/${resource}`;
}

/** kind/name, as kubectl names an object in what it prints. */
export const objectRef = (object: Json): string => `${String(object.kind).toLowerCase()}/${String(record(object.metadata).name)}`;

/** What an object says beyond its identity: webhooks for a registration, spec for a policy or binding. */
const content = (object: Json): Json =>
  Object.fromEntries(Object.entries(object).filter(([key]) => !['apiVersion', 'kind', 'metadata', 'status'].includes(key)));

/**
 * Creates the object, or updates it when it differs (keeping its other labels and annotations,
 * such as cert-manager's), with the resourceVersion just read so a concurrent write is a 409.
 */
export async function applyObject(kc: KubeConfig, object: Json, timeoutMs: number): Promise<ApplyOutcome> {
  const metadata = record(object.metadata);
  const name = String(metadata.name);
  const path = `${collection(object)}/${encodeURIComponent(name)}`;
  let existing: Json | undefined;
  try {
    existing = record(await kubeRequest(kc, 'GET', path, undefined, AbortSignal.timeout(timeoutMs)));
  } catch (err) {
    if (!(err instanceof KubeError) || err.status !== 404) throw err;
  }
  if (existing === undefined) {
    await kubeRequest(kc, 'POST', collection(object), object, AbortSignal.timeout(timeoutMs));
    return 'created';
  }
  const current = record(existing.metadata);
  const wanted = { metadata: { labels: metadata.labels }, ...content(object) };
  if (contains(existing, wanted)) return 'unchanged';
  const update = {
    ...object,
    metadata: { ...current, labels: { ...record(current.labels), ...record(metadata.labels) }, resourceVersion: current.resourceVersion },
  };
  await kubeRequest(kc, 'PUT', path, update, AbortSignal.timeout(timeoutMs));
  return 'updated';
}

/** A failed read or write of a webhook configuration, as a sentence that says what to do. */
export function explainWrite(err: KubeError, ref: string): string {
  switch (err.status) {
    case 0: return `cannot reach the apiserver for ${ref}: ${err.message}; check the kubeconfig's server and that the cluster is up`;
    case 401: return `the apiserver refused the kubeconfig's credentials (401) for ${ref}; log in again or pass another --kubeconfig`;
    case 403: return `not allowed to write ${ref} (403): ${err.message}; bind the ClusterRole endpoint-guard-manifests-apply ` +
      '(deploy/base/rbac-apply.yaml) to the user running --apply';
    case 404: return `the apiserver does not serve ${ref}'s kind (404: ${err.message}); check --kubernetes-version against the cluster's version`;
    case 409: return `${ref} changed while we updated it (409 Conflict: someone else wrote it between our read and our write); ` +
      'nothing was overwritten: run the command again';
    default: return `writing ${ref} failed: ${err.message}`;
  }
}
