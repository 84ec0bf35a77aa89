// The one place settings are defined and validated. Flags > environment > config file > defaults.
import { z } from 'zod';
import { DEFAULT_KUBERNETES_VERSION, parseKubeVersion } from './rules/version.ts';
import { type RuleId, ruleIds } from './rules/catalogue.ts';
import { labelValue } from './rules/names.ts';

export const MODES = ['complain', 'enforce', 'off'] as const;
export type Mode = (typeof MODES)[number];

/** The control-plane writers that rewrite these objects all day (spec 7.4). */
export const DEFAULT_EXEMPT_USERS = [
  'system:serviceaccount:kube-system:endpoint-controller',
  'system:serviceaccount:kube-system:endpointslice-controller',
  'system:serviceaccount:kube-system:endpointslicemirroring-controller',
  'system:kube-controller-manager',
  'system:apiserver',
];

// An AdmissionReview carries the object and, on UPDATE, the old one. The apiserver refuses request
// bodies over 3 MiB, so each object is at most about 3 MiB: two of them plus the envelope fit in
// 7 MiB (controller-runtime's figure). A 1000-endpoint slice is about 60 KB on the wire.
export const DEFAULT_MAX_BODY_BYTES = 7 * 1024 * 1024;

const ruleSetting = z.enum(['error', 'warning', 'off']);
/** true/false in a file; "true"/"false" (or 1/0, yes/no, on/off) from the environment. */
const flag = z.union([z.boolean(), z.stringbool()]);
const CONTROLLER_MANAGED_BY = ['endpointslice-controller.k8s.io', 'endpointslicemirroring-controller.k8s.io'];

export const configSchema = z.strictObject({
  mode: z.enum(MODES).default('complain'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8443), // 0: any free port (tests)
  certDir: z.string().min(1).default('certs'),
  /** namespace/name of the in-cluster Service; its DNS names go into the development certificate. */
  service: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE/NAME in lower case').default('endpoint-guard/endpoint-guard'),
  kubernetesVersion: z.string().refine((v) => parseKubeVersion(v) !== undefined, 'must be a Kubernetes version from 1.24 to 1.36, e.g. "1.36"').default(DEFAULT_KUBERNETES_VERSION),
  softEndpointLimit: z.coerce.number().int().min(1).max(1000).default(100),
  rules: z.partialRecord(z.enum(ruleIds as [RuleId, ...RuleId[]]), ruleSetting).default({}),
  exemptUsers: z.array(z.string().min(1)).default(DEFAULT_EXEMPT_USERS),
  maxWarnings: z.coerce.number().int().min(1).max(100).default(10),
  maxBodyBytes: z.coerce.number().int().min(1024).default(DEFAULT_MAX_BODY_BYTES),
  /**
   * In enforce mode, what a request gets when its review fails: a rule or the review throws, or
   * the review overran reviewBudgetMs. Allowed (fail open) or denied.
   */
  onRuleError: z.enum(['allow', 'deny']).default('allow'),
  /**
   * A review taking longer is answered per onRuleError instead of by its result. Reviews are
   * synchronous and cannot be interrupted: the body size and depth limits are what bound them.
   */
  reviewBudgetMs: z.coerce.number().int().min(1).max(30_000).default(1000),
  /** Bodies nesting arrays and objects deeper than this get 400; an AdmissionReview needs about 10. */
  maxJsonDepth: z.coerce.number().int().min(10).max(1000).default(100),
  /** TCP connections open at once; more are closed as they arrive. The apiservers open a few dozen. */
  maxConnections: z.coerce.number().int().min(1).max(100_000).default(1000),
  // The apiserver waits timeoutSeconds for a webhook (10 s by default, 30 s at most), and a review
  // takes milliseconds, so a request still arriving after 10 s is from a slow or hostile client:
  // dropping it frees the connection and costs the apiserver nothing it was still waiting for.
  // Headers get half of that. The keep-alive time is the other way round: Go's http.Transport (the
  // apiserver's client) drops idle connections after 90 s, and the apiserver does not retry a POST
  // whose connection we closed just as it was reused (kubernetes/kubernetes#127335), so we keep idle
  // connections longer than the client does and let the client close them. Node's 5 s default
  // would race with every quiet apiserver. Node counts in whole milliseconds: hence min(0.1).
  /** Time a client gets to finish the TLS handshake. */
  handshakeTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(5),
  /** Time a client gets to send a request's headers; at most requestTimeoutSeconds. */
  headersTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(5),
  /** Time a client gets to send a whole request; keep it above the webhooks' timeoutSeconds. */
  requestTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(10),
  /** How long an idle keep-alive connection stays open; longer than the apiserver's 90 s. */
  keepAliveTimeoutSeconds: z.coerce.number().min(0.1).max(3600).default(120),
  /** PEM CA(s); when set, clients must present a certificate it signed (the apiserver can, see README). */
  clientCa: z.string().min(1).optional(),
  /** /mutate: give slices without endpointslice.kubernetes.io/managed-by this value. */
  fixManagedBy: flag.default(true),
  managedByValue: z.string()
    .refine((v) => labelValue(v, true).length === 0, 'must be a valid label value (63 characters: letters, digits, "-", "_", ".")')
    .refine((v) => v !== '' && !CONTROLLER_MANAGED_BY.includes(v), "must name this webhook, not be empty or a controller's value")
    .default('endpoint-guard'),
  /** /mutate: rewrite IPv6 addresses to their canonical form (RFC 5952). */
  fixIPv6: flag.default(true),
  /** /mutate: remove an address repeated within one slice endpoint. */
  fixDuplicates: flag.default(true),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Serve Prometheus metrics over plain HTTP on metricsPort (same host as the webhook). */
  metrics: flag.default(true),
  metricsPort: z.coerce.number().int().min(0).max(65535).default(9090), // 0: any free port (tests)
  /**
   * v1 Endpoints writers get their own label value on endpoint_guard_endpoints_writes_total up
   * to this many users; later ones are counted as "other", so a noisy cluster cannot grow the
   * series without bound.
   */
  endpointsWritersTopN: z.coerce.number().int().min(0).max(1000).default(20),
  /** How often tls.crt and tls.key are read again for a rotated Secret; 0 turns reloading off. */
  certReloadSeconds: z.coerce.number().min(0).max(3600).default(10),
  /**
   * On SIGTERM, how long to keep serving (answering with Connection: close, /readyz 503) before
   * the listener closes: the time the Service's endpoints take to drop this Pod everywhere.
   */
  shutdownDelaySeconds: z.coerce.number().min(0).max(60).default(0),
  /** Server processes sharing the port (node:cluster), for Pods with more than one core; 1: no cluster. */
  workers: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * The cluster the Namespace and Service caches come from. Unset: the Pod's service account when
   * running in a cluster, and no cluster (the cluster-free rules only) otherwise.
   */
  kubeconfig: z.string().min(1).optional(),
});

/** configSchema with the checks that span settings; what loadConfig parses with. */
export const loadedConfigSchema = configSchema.refine((c) => c.headersTimeoutSeconds <= c.requestTimeoutSeconds, {
  path: ['headersTimeoutSeconds'],
  message: 'must not be longer than requestTimeoutSeconds: the headers are part of the request',
});

export type Config = z.infer<typeof configSchema>;
export type RuleSetting = z.infer<typeof ruleSetting>;
