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
  service: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be NAMESPACE/NAME in lower case').default('endpoint-guard/endpoint-guard'),
  kubernetesVersion: z.string().refine((v) => parseKubeVersion(v) !== undefined, 'must be a Kubernetes version from 1.24 to 1.36, e.g. "1.36"').default(DEFAULT_KUBERNETES_VERSION),
  softEndpointLimit: z.coerce.number().int().min(1).max(1000).default(100),
  rules: z.partialRecord(z.enum(ruleIds as [RuleId, ...RuleId[]]), ruleSetting).default({}),
  exemptUsers: z.array(z.string().min(1)).default(DEFAULT_EXEMPT_USERS),
  maxWarnings: z.coerce.number().int().min(1).max(100).default(10),
  maxBodyBytes: z.coerce.number().int().min(1024).default(DEFAULT_MAX_BODY_BYTES),
  onRuleError: z.enum(['allow', 'deny']).default('allow'),
  reviewBudgetMs: z.coerce.number().int().min(1).max(30_000).default(1000),
  maxJsonDepth: z.coerce.number().int().min(10).max(1000).default(100),
  maxConnections: z.coerce.number().int().min(1).max(100_000).default(1000),
  // The apiserver waits timeoutSeconds for a webhook (10 s by default, 30 s at most), and a review
  // takes milliseconds, so a request still arriving after 10 s is from a slow or hostile client:
  // dropping it frees the connection and costs the apiserver nothing it was still waiting for.
  // Headers get half of that. The keep-alive time is the other way round: Go's http.Transport (the
  // apiserver's client) drops idle connections after 90 s, and the apiserver does not retry a POST
  // whose connection we closed just as it was reused (kubernetes/kubernetes#127335), so we keep idle
  // connections longer than the client does and let the client close them. Node's 5 s default
  // would race with every quiet apiserver. Node counts in whole milliseconds: hence min(0.1).
  handshakeTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(5),
  headersTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(5),
  requestTimeoutSeconds: z.coerce.number().min(0.1).max(300).default(10),
  keepAliveTimeoutSeconds: z.coerce.number().min(0.1).max(3600).default(120),
  clientCa: z.string().min(1).optional(),
  fixManagedBy: flag.default(true),
  managedByValue: z.string()
    .refine((v) => labelValue(v, true).length === 0, 'must be a valid label value (63 characters: letters, digits, "-", "_", ".")')
    .refine((v) => v !== '' && !CONTROLLER_MANAGED_BY.includes(v), "must name this webhook, not be empty or a controller's value")
    .default('endpoint-guard'),
  fixIPv6: flag.default(true),
  fixDuplicates: flag.default(true),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  metrics: flag.default(true),
  metricsPort: z.coerce.number().int().min(0).max(65535).default(9090), // 0: any free port (tests)
  endpointsWritersTopN: z.coerce.number().int().min(0).max(1000).default(20),
  certReloadSeconds: z.coerce.number().min(0).max(3600).default(10),
  shutdownDelaySeconds: z.coerce.number().min(0).max(60).default(0),
  workers: z.coerce.number().int().min(1).max(64).default(1),
  kubeconfig: z.string().min(1).optional(),
});

/**
 * What each setting means, for people: `npm run docs` puts it in docs/configuration.md, whose links
 * it may use (relative to docs/). Markdown; the type makes a setting without a meaning a build error.
 */
export const settingDocs = {
  mode: '`complain` (warn, never reject), `enforce` (reject error findings) or `off` (count only); a Namespace label can override it ([namespace modes](webhook.md#cluster-awareness))',
  host: 'address to listen on (`0.0.0.0` in a Pod)',
  port: 'HTTPS port of `/validate` and `/mutate`',
  certDir: '`tls.crt`, `tls.key` (and `ca.crt`); a development CA and certificate are generated there when both files are absent',
  service: '`NAMESPACE/NAME` of the Service; its DNS names go into a generated certificate',
  kubernetesVersion: 'the apiserver version whose rules apply (1.24 to 1.36; see [Kubernetes versions](kubernetes-versions.md))',
  softEndpointLimit: '`endpoint-soft-limit` threshold (the controller\'s `--max-endpoints-per-slice` default)',
  rules: 'per-rule `error`, `warning` or `off`, e.g. `{ "slice-name-prefix": "off" }` (config file only; rule ids in [the rules reference](rules.md))',
  exemptUsers: 'users whose writes are not checked; comma-separated in the environment',
  maxWarnings: 'warnings per response; the last says `... and N more findings`, counting the findings not shown',
  maxBodyBytes: 'larger request bodies get 413',
  onRuleError: 'in enforce mode, `allow` or `deny` a request whose review failed: a rule or the review threw, or it overran `reviewBudgetMs`',
  reviewBudgetMs: 'a review taking longer is answered as `onRuleError` says; reviews cannot be interrupted, so the body size and depth limits are what bound them (see [Limits](security.md#limits))',
  maxJsonDepth: 'bodies nesting arrays and objects deeper get 400 (an AdmissionReview needs about 10)',
  maxConnections: 'connections open at once; more are closed as they arrive (the apiservers open a few dozen)',
  handshakeTimeoutSeconds: 'time to finish the TLS handshake',
  headersTimeoutSeconds: 'time to send a request\'s headers (at most `requestTimeoutSeconds`)',
  requestTimeoutSeconds: 'time to send a whole request; above the webhooks\' `timeoutSeconds`',
  keepAliveTimeoutSeconds: 'how long an idle connection is kept; above the apiserver\'s 90 s',
  clientCa: 'PEM CA file: clients must present a certificate it signed (see [Client certificates](security.md#client-certificates-mtls))',
  fixManagedBy: '`/mutate` labels slices that name no manager',
  managedByValue: 'the managed-by value `/mutate` sets (never a controller\'s value)',
  fixIPv6: '`/mutate` rewrites IPv6 addresses to canonical form (RFC 5952)',
  fixDuplicates: '`/mutate` removes an address repeated within one slice endpoint',
  logLevel: 'pino level; `debug` also logs request bodies',
  metrics: 'serve Prometheus metrics on `metricsPort`',
  metricsPort: 'plain-HTTP port of `GET /metrics`, on `host`; `0` takes any free port',
  endpointsWritersTopN: 'v1 Endpoints writers named in `endpoint_guard_endpoints_writes_total`: those that write the most; all other writes count as `other`, so the series stay bounded',
  certReloadSeconds: 'how often `tls.crt` and `tls.key` (and the `clientCa` file) are read again for a rotated Secret; `0` turns it off',
  shutdownDelaySeconds: 'after SIGTERM, keep serving this long with `/readyz` at 503 before the listener closes (`deploy/` sets 5)',
  workers: 'server processes sharing the port, for a Pod with more than one core; `1` runs no extra processes (see [Performance](performance.md))',
  kubeconfig: 'the cluster whose Namespaces and Services are watched (see [Cluster awareness](webhook.md#cluster-awareness)); unset: the Pod\'s service account in a cluster, none outside',
} as const satisfies Record<keyof Config, string>;

/** configSchema with the checks that span settings; what loadConfig parses with. */
export const loadedConfigSchema = configSchema.refine((c) => c.headersTimeoutSeconds <= c.requestTimeoutSeconds, {
  path: ['headersTimeoutSeconds'],
  message: 'must not be longer than requestTimeoutSeconds: the headers are part of the request',
});

export type Config = z.infer<typeof configSchema>;
export type RuleSetting = z.infer<typeof ruleSetting>;
