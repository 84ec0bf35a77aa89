// Every rule has exactly one entry here: what it applies to, how severe it is by default,
// whether it restates the apiserver's own validation or adds policy, and a one-line doc.
export type Kind = 'Endpoints' | 'EndpointSlice';
export type Severity = 'error' | 'warning';
/** apiserver: the target kube-apiserver itself rejects (or, for warnings, drops or warns about) this. */
export type Source = 'apiserver' | 'policy';

export interface RuleInfo {
  readonly kinds: readonly Kind[];
  readonly severity: Severity;
  readonly source: Source;
  readonly doc: string;
  /** The message is an upstream text that must reach the client unchanged (no rule id, no path). */
  readonly verbatim?: boolean;
}

const both: readonly Kind[] = ['Endpoints', 'EndpointSlice'];
const slice: readonly Kind[] = ['EndpointSlice'];
const endpoints: readonly Kind[] = ['Endpoints'];

const entries = {
  // What the apiserver validates (spec sections 2-5).
  'field-type': { kinds: both, severity: 'error', source: 'apiserver', doc: 'fields have the JSON types of the API (the apiserver cannot decode others)' },
  'unknown-field': { kinds: both, severity: 'error', source: 'apiserver', doc: 'no fields the API does not define (rejected by strict field validation, 1.25+)' },
  'api-version': { kinds: both, severity: 'error', source: 'apiserver', doc: 'apiVersion is one the target apiserver serves (discovery.k8s.io/v1beta1 only up to 1.24)' },
  'object-name': { kinds: both, severity: 'error', source: 'apiserver', doc: 'metadata.name or generateName is a DNS-1123 subdomain' },
  'object-metadata': { kinds: both, severity: 'error', source: 'apiserver', doc: 'namespace, labels, annotations, finalizers and owner references are well formed' },
  'address-type': { kinds: slice, severity: 'error', source: 'apiserver', doc: 'addressType is FQDN, IPv4 or IPv6, and never changes' },
  address: { kinds: both, severity: 'error', source: 'apiserver', doc: 'every address parses as its type and is not unspecified, loopback or link-local' },
  'endpoint-limit': { kinds: slice, severity: 'error', source: 'apiserver', doc: 'an EndpointSlice holds at most 1000 endpoints' },
  'address-count': { kinds: slice, severity: 'error', source: 'apiserver', doc: 'each slice endpoint has 1 to 100 addresses' },
  'endpoint-fields': { kinds: both, severity: 'error', source: 'apiserver', doc: 'hostname is a DNS label, nodeName a DNS subdomain, topology well formed' },
  hints: { kinds: slice, severity: 'error', source: 'apiserver', doc: 'hints name at most 8 distinct valid zones and nodes' },
  ports: { kinds: both, severity: 'error', source: 'apiserver', doc: 'port names, protocols, numbers, appProtocols and counts are valid' },
  'subset-addresses': { kinds: endpoints, severity: 'error', source: 'apiserver', doc: 'each Endpoints subset has addresses or notReadyAddresses' },
  // Policy on top: what the apiserver accepts but an operator wants to hear about.
  'endpoints-deprecated': { kinds: endpoints, severity: 'warning', source: 'policy', doc: 'v1 Endpoints is deprecated since Kubernetes 1.33; write EndpointSlices', verbatim: true },
  'api-version-deprecated': { kinds: slice, severity: 'warning', source: 'policy', doc: 'discovery.k8s.io/v1beta1 is gone since 1.25; use discovery.k8s.io/v1' },
  'fqdn-address-type': { kinds: slice, severity: 'warning', source: 'policy', doc: 'FQDN slices are deprecated and ignored by kube-proxy' },
  'special-address': { kinds: both, severity: 'warning', source: 'policy', doc: 'multicast and broadcast addresses pass the apiserver but carry no unicast traffic' },
  'ip-format': { kinds: both, severity: 'warning', source: 'policy', doc: 'IPs in standard form: no leading zeros, no IPv4-mapped IPv6, canonical IPv6' },
  'mixed-families': { kinds: endpoints, severity: 'warning', source: 'policy', doc: 'a subset mixing IPv4 and IPv6 is split into two slices by mirroring' },
  'slice-name-prefix': { kinds: slice, severity: 'warning', source: 'policy', doc: 'a slice name starts with its kubernetes.io/service-name value' },
  'endpoints-name': { kinds: endpoints, severity: 'warning', source: 'policy', doc: 'an Endpoints name is a valid Service name (DNS-1035 label), or no Service uses it' },
  'endpoint-soft-limit': { kinds: slice, severity: 'warning', source: 'policy', doc: 'a slice holds at most the configured soft limit of endpoints (default 100)' },
  'mirror-limit': { kinds: endpoints, severity: 'warning', source: 'policy', doc: 'only 1000 addresses of an Endpoints subset are mirrored to EndpointSlices' },
  'managed-by-missing': { kinds: slice, severity: 'warning', source: 'policy', doc: 'a slice names its manager in endpointslice.kubernetes.io/managed-by' },
  'managed-by-controller': { kinds: slice, severity: 'error', source: 'policy', doc: "only the controllers themselves write slices with a controller's managed-by value" },
  'service-name-missing': { kinds: slice, severity: 'warning', source: 'policy', doc: 'a slice names its Service in kubernetes.io/service-name, or no Service uses it' },
  'duplicate-address': { kinds: both, severity: 'warning', source: 'policy', doc: 'an address appears once per endpoint and once per subset' },
  'port-number': { kinds: slice, severity: 'warning', source: 'policy', doc: 'slice ports have a number from 1 to 65535 (the apiserver does not check)' },
  zone: { kinds: slice, severity: 'warning', source: 'policy', doc: 'endpoint zone is a valid label value (the apiserver does not check)' },
  // Policy that needs the cluster's Services (serve with cluster access, and audit); silent offline.
  'service-exists': { kinds: both, severity: 'warning', source: 'policy', doc: 'the Service a slice (kubernetes.io/service-name) or an Endpoints object (its name) is for exists' },
  'service-ports': { kinds: both, severity: 'warning', source: 'policy', doc: "port names and protocols match the Service's ports, as kube-proxy matches them" },
  'service-selector': { kinds: both, severity: 'warning', source: 'policy', doc: 'a Service with a selector has its endpoints written by the control plane: hand edits are overwritten or added' },
} as const satisfies Record<string, RuleInfo>;

export type RuleId = keyof typeof entries;
export const catalogue: Readonly<Record<RuleId, RuleInfo>> = entries;
export const ruleIds = Object.keys(catalogue) as RuleId[];
export const isRuleId = (id: string): id is RuleId => Object.hasOwn(catalogue, id);
