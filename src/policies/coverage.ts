// Which rules the admission policies check, per kind and Kubernetes version, and why the others stay
// with the webhook. The one place for that decision: the policies, the CLI's notes and the
// coverage table in docs/rules.md (npm run docs) all read it.
import { type Kind, type RuleId, catalogue } from '../rules/catalogue.ts';
import type { KubeVersion } from '../rules/version.ts';

export type Coverage = { readonly policy: true } | { readonly policy: false; readonly reason: string };

/** The first minor release whose apiserver sends the Endpoints deprecation warning itself. */
const APISERVER_WARNS_ENDPOINTS_SINCE = 33;
/** The first minor release that refuses every non-standard slice address (StrictIPCIDRValidation on by default). */
const STRICT_SLICE_ADDRESSES_SINCE = 36;

export const REASONS = {
  apiserver: 'the apiserver enforces it itself before any admission policy runs',
  services: "needs the namespace's Services, which a policy cannot read",
  duplicates: 'comparing addresses pairwise is quadratic: 100,000 addresses are beyond the CEL cost budget',
  unboundedEndpoints: 'v1 Endpoints lists have no size limit: per-address or per-subset checks can exceed the CEL cost budget',
  sloppyAddresses: 'the apiserver accepts leading-zero and IPv4-mapped addresses, which the CEL IP library cannot parse',
  strictAddresses: 'the apiserver refuses every non-standard slice address itself',
  v1beta1: 'discovery.k8s.io/v1beta1 is not served from 1.25, and admission policies need 1.28',
  apiserverWarns: 'the apiserver sends the same warning itself',
} as const;

const webhookOnly = (reason: string): Coverage => ({ policy: false, reason });
const COVERED: Coverage = { policy: true };

type Decide = (kind: Kind, version: KubeVersion) => Coverage;
const always = (coverage: Coverage): Decide => () => coverage;
const apiserver = always(webhookOnly(REASONS.apiserver));
/** Slices from the release that refuses non-standard addresses; what Endpoints hold is unbounded. */
const sliceAddresses = (onSlices: (version: KubeVersion) => Coverage): Decide => (kind, version) =>
  (kind === 'Endpoints' ? webhookOnly(REASONS.unboundedEndpoints) : onSlices(version));

// Every rule has an entry, so a new rule cannot be left out of the decision.
const DECISIONS: Readonly<Record<RuleId, Decide>> = {
  'field-type': apiserver, 'unknown-field': apiserver, 'api-version': apiserver, 'object-name': apiserver,
  'object-metadata': apiserver, 'address-type': apiserver, address: apiserver, 'endpoint-limit': apiserver,
  'address-count': apiserver, 'endpoint-fields': apiserver, hints: apiserver, ports: apiserver, 'subset-addresses': apiserver,
  'endpoints-deprecated': (_kind, version) =>
    (version.minor >= APISERVER_WARNS_ENDPOINTS_SINCE ? webhookOnly(REASONS.apiserverWarns) : COVERED),
  'api-version-deprecated': always(webhookOnly(REASONS.v1beta1)),
  'fqdn-address-type': always(COVERED),
  'special-address': sliceAddresses((version) =>
    (version.minor >= STRICT_SLICE_ADDRESSES_SINCE ? COVERED : webhookOnly(REASONS.sloppyAddresses))),
  'ip-format': sliceAddresses((version) =>
    webhookOnly(version.minor >= STRICT_SLICE_ADDRESSES_SINCE ? REASONS.strictAddresses : REASONS.sloppyAddresses)),
  'mixed-families': always(webhookOnly(REASONS.unboundedEndpoints)),
  'slice-name-prefix': always(COVERED),
  'endpoints-name': always(COVERED),
  'endpoint-soft-limit': always(COVERED),
  'mirror-limit': always(webhookOnly(REASONS.unboundedEndpoints)),
  'managed-by-missing': always(COVERED),
  'managed-by-controller': always(COVERED),
  'service-name-missing': always(COVERED),
  'duplicate-address': (kind) => webhookOnly(kind === 'Endpoints' ? REASONS.unboundedEndpoints : REASONS.duplicates),
  'port-number': always(COVERED),
  zone: always(COVERED),
  'service-exists': always(webhookOnly(REASONS.services)),
  'service-ports': always(webhookOnly(REASONS.services)),
  'service-selector': always(webhookOnly(REASONS.services)),
};

/** Whether the admission policies for `version` check `rule` on objects of `kind`. */
export function coverage(rule: RuleId, kind: Kind, version: KubeVersion): Coverage {
  if (!catalogue[rule].kinds.includes(kind)) return webhookOnly(`the rule does not apply to ${kind}`);
  return DECISIONS[rule](kind, version);
}
