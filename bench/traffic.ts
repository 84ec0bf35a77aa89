// A week of a busy cluster's webhook logs, as `kubectl logs -l app.kubernetes.io/name=endpoint-guard
// --prefix` prints them from two replicas: for the report benchmark and the sample report. The
// findings, errors, modes and decisions come from the real review functions, run once per kind of
// object and namespace mode; each line then gets its own writer, namespace, name, uid and time, and
// is written by the same infoLine() serve uses. Lines of other kinds (start-up, bad requests,
// Node warnings, lines torn in half) are mixed in as kubectl shows them.
//
//   node bench/traffic.ts --lines 1500 --seed 7 --end 2025-06-08T00:00:00Z > examples/trial-logs.txt
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { type ReviewLog, reviewAdmission, reviewMutation } from '../src/admission.ts';
import type { ClusterView } from '../src/cluster/view.ts';
import { type Config, DEFAULT_EXEMPT_USERS, type Mode, configSchema } from '../src/config.ts';
import { infoLine } from '../src/log.ts';

export interface TrafficOptions {
  /** About this many review lines (both webhooks), plus the other lines. */
  readonly lines: number;
  readonly seed: number;
  /** The traffic ends here (ms since the epoch) and covers `days` before. */
  readonly end: number;
  readonly days?: number;
  readonly replicas?: number;
}

/** A small fast PRNG (mulberry32): the same seed gives the same log. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = Record<string, unknown>;
const sliceOf = (labels: Json, addresses: string[], port = 8080): Json => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: 'web-abcde', namespace: 'tmpl', labels: { 'kubernetes.io/service-name': 'web', ...labels } },
  addressType: 'IPv4',
  endpoints: addresses.map((a, i) => ({ addresses: [a], conditions: { ready: true }, nodeName: `node-${i}` })),
  ports: [{ name: 'http', protocol: 'TCP', port }],
});
const OWN = { 'endpointslice.kubernetes.io/managed-by': 'team.example.com' };
const CONTROLLER = { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
const endpointsOf = (ips: string[]): Json => ({
  apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'tmpl' },
  subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }],
});

/** The kinds of write in the log: the object, what the mutating webhook fixes first, and how often. */
const SHAPES = {
  clean: { object: sliceOf(OWN, ['10.1.0.1', '10.1.0.2', '10.1.0.3']) },
  unlabelled: { object: sliceOf({}, ['10.1.0.1']), fixed: sliceOf({ 'endpointslice.kubernetes.io/managed-by': 'endpoint-guard' }, ['10.1.0.1']) },
  warned: { object: sliceOf(OWN, ['10.1.0.1', '239.1.1.1']) },
  controllerLabel: { object: sliceOf(CONTROLLER, ['10.1.0.1']) },
  loopback: { object: sliceOf(OWN, ['127.0.0.1']) },
  badPort: { object: sliceOf(CONTROLLER, ['10.1.0.1'], 70000) },
  endpoints: { object: endpointsOf(['10.2.0.1', '10.2.0.2']) },
  endpointsLoopback: { object: endpointsOf(['127.0.0.1']) },
} satisfies Record<string, { object: Json; fixed?: Json }>;
type Shape = keyof typeof SHAPES;
const BAD_SHAPES: readonly Shape[] = ['controllerLabel', 'controllerLabel', 'controllerLabel', 'loopback', 'badPort', 'endpointsLoopback'];

const KINDS = {
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
  Endpoints: { group: '', version: 'v1', kind: 'Endpoints' },
} as const;

/** An UPDATE from an older version of the object (the same one would be let through: see ratcheting in the rules). */
const reviewOf = (object: Json, operation: string, user: string, dryRun: boolean, oldObject: Json) => {
  const kind = KINDS[object.kind as keyof typeof KINDS];
  return {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid: randomUUID(), kind, requestKind: kind, name: (object.metadata as Json).name, namespace: 'tmpl', operation,
      userInfo: { username: user }, object: operation === 'DELETE' ? null : object, oldObject: operation === 'CREATE' ? null : oldObject, dryRun,
    },
  };
};

/** The namespace modes a template is computed for: the global mode, or a namespace label. */
const MODE_VARIANTS = ['global', 'complain', 'enforce', 'off'] as const;
type ModeVariant = (typeof MODE_VARIANTS)[number];
const clusterWith = (mode: Mode): ClusterView => ({ namespaceMode: () => mode, services: () => undefined });

interface Template { readonly validate: ReviewLog; readonly mutate: ReviewLog }

function templates(config: Config): (shape: Shape | 'delete' | 'exempt' | 'dryRun', variant: ModeVariant) => Template {
  const cache = new Map<string, Template>();
  return (shape, variant) => {
    const key = `${shape}/${variant}`;
    let t = cache.get(key);
    if (t === undefined) {
      const context = variant === 'global' ? {} : { cluster: clusterWith(variant) };
      const base: { object: Json; fixed?: Json } = shape === 'delete' || shape === 'exempt' ? SHAPES.clean : shape === 'dryRun' ? SHAPES.controllerLabel : SHAPES[shape];
      const user = shape === 'exempt' ? DEFAULT_EXEMPT_USERS[1] ?? 'system:apiserver' : 'someone';
      const operation = shape === 'delete' ? 'DELETE' : 'UPDATE';
      const fixed = base.fixed ?? base.object;
      const old = base.object.kind === 'Endpoints' ? SHAPES.endpoints.object : sliceOf(OWN, ['10.1.0.9']);
      t = {
        mutate: reviewMutation(reviewOf(base.object, operation, user, shape === 'dryRun', old), config, context).log,
        validate: reviewAdmission(reviewOf(fixed, operation, user, shape === 'dryRun', old), config, context).log,
      };
      cache.set(key, t);
    }
    return t;
  };
}

interface Writer { readonly user: string; readonly namespaces: readonly number[]; readonly badRate: number; readonly endpointsRate: number }

/** A cluster: namespaces (a few labelled), writers with their namespaces and habits, heavy writers first. */
function population(next: () => number, namespaces: number, writers: number) {
  const teams = ['payments', 'checkout', 'search', 'ledger', 'media', 'auth', 'billing', 'catalog', 'edge', 'data'];
  const nsNames = Array.from({ length: namespaces }, (_, i) => (i < teams.length ? teams[i] ?? '' : `${teams[i % teams.length]}-${i}`));
  const nsMode: ModeVariant[] = nsNames.map((_, i) => (i === 3 ? 'complain' : i === 7 ? 'enforce' : i === 9 ? 'off' : next() < 0.03 ? 'complain' : 'global'));
  const tools = ['deployer', 'lb-sync', 'external-dns', 'mesh-agent', 'backup-operator', 'legacy-proxy', 'db-operator'];
  const people = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
  const list: Writer[] = Array.from({ length: writers }, (_, i) => {
    const home = i % namespaces;
    const human = i % 11 === 5;
    const user = human ? `${people[i % people.length]}${i < people.length * 11 ? '' : i}@example.com`
      : `system:serviceaccount:${nsNames[home]}:${tools[i % tools.length]}${i < tools.length ? '' : `-${i}`}`;
    const spread = human ? [home, (home + 1) % namespaces, (home + 5) % namespaces] : [home];
    // A few writers cause most of what enforce would deny; a few still write v1 Endpoints.
    const badRate = i === 2 ? 0.35 : i === 5 ? 0.5 : i % 13 === 4 ? 0.2 : 0.001;
    const endpointsRate = i % 7 === 5 ? 0.6 : i % 17 === 3 ? 0.2 : 0;
    return { user, namespaces: spread, badRate, endpointsRate };
  });
  return { nsNames, nsMode, writers: list };
}

/** Picks index i with probability proportional to 1/(i+1)^s: a few heavy writers, a long tail. */
function zipf(next: () => number, n: number, s = 1.1): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const cumulative: number[] = [];
  let sum = 0;
  for (const w of weights) cumulative.push((sum += w));
  return () => {
    const target = next() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] ?? 0) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export function* trafficLines(options: TrafficOptions): Generator<string> {
  const next = random(options.seed);
  const replicas = options.replicas ?? 2;
  const spanMs = (options.days ?? 7) * 86_400_000;
  const config = configSchema.parse({ mode: 'complain' });
  const templateOf = templates(config);
  const cluster = population(next, Math.max(10, Math.min(400, Math.round(options.lines / 2000))), Math.max(12, Math.min(3000, Math.round(options.lines / 300))));
  const pickWriter = zipf(next, cluster.writers.length);

  // One pino logger per replica, as serve's (createLogger) but with the time of the generated line.
  let time = '';
  const out: string[] = [];
  const logger = pino({ level: 'info', base: { pid: 1 }, timestamp: () => `,"time":"${time}"` }, { write: (line: string) => out.push(line) });
  const reviewsPerReplica = Math.ceil(options.lines / replicas);

  for (let r = 0; r < replicas; r++) {
    const pod = `[pod/endpoint-guard-7d9c6b5f4-${['x2k8q', 'p7m4z', 'r9t2w', 'k3h8n'][r % 4]}/endpoint-guard] `;
    const start = options.end - spanMs;
    time = new Date(start - 60_000).toISOString();
    logger.info({ url: 'https://0.0.0.0:8443', port: 8443, metricsUrl: 'http://0.0.0.0:9090/metrics', mode: 'complain', kubernetesVersion: '1.36', workers: 1 }, 'listening');
    yield* out.splice(0).map((l) => pod + l.trimEnd());
    // Each replica's lines are in time order; the replicas follow each other, as kubectl prints them.
    for (let i = 0; i < reviewsPerReplica; i += 2) {
      time = new Date(start + Math.floor(((i + next()) / reviewsPerReplica) * spanMs)).toISOString();
      const writer = cluster.writers[pickWriter()] ?? cluster.writers[0];
      if (writer === undefined) break;
      const nsIndex = writer.namespaces[Math.floor(next() * writer.namespaces.length)] ?? 0;
      const namespace = cluster.nsNames[nsIndex] ?? 'default';
      const roll = next();
      const shape = roll < 0.01 ? 'delete' : roll < 0.02 ? 'exempt' : roll < 0.03 ? 'dryRun'
        : next() < writer.endpointsRate ? (next() < writer.badRate ? 'endpointsLoopback' : 'endpoints')
          : next() < writer.badRate ? BAD_SHAPES[Math.floor(next() * BAD_SHAPES.length)] ?? 'controllerLabel'
            : roll < 0.1 ? 'warned' : roll < 0.2 ? 'unlabelled' : 'clean';
      const template = templateOf(shape, cluster.nsMode[nsIndex] ?? 'global');
      const isEndpoints = shape === 'endpoints' || shape === 'endpointsLoopback';
      const name = isEndpoints ? `db-${nsIndex % 7}` : `web-${(i >> 4) % 50}-${Math.floor(next() * 1e5).toString(36)}`;
      const user = shape === 'exempt' ? template.validate.user : writer.user;
      const hex = () => Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
      const uid = `${hex()}-${hex().slice(0, 4)}-4${hex().slice(0, 3)}-a${hex().slice(0, 3)}-${hex()}${hex().slice(0, 4)}`;
      for (const [path, log] of [['/mutate', template.mutate], ['/validate', template.validate]] as const) {
        const durationMs = Math.round((0.3 + next() * next() * 4) * 100) / 100;
        infoLine(logger, { path, ...log, uid, namespace, name, user, status: 200, durationMs }, 'review');
      }
      // Now and then a line of something else, as a real log has.
      const noise = next();
      if (noise < 0.0005) logger.warn({ path: '/validate', status: 400, reason: 'request body is empty, expected an AdmissionReview', durationMs: 0.1 }, 'bad request');
      const lines = out.splice(0).map((l) => pod + l.trimEnd());
      if (noise > 0.9995 && lines[0] !== undefined) lines[0] = lines[0].slice(0, Math.floor(lines[0].length / 2)); // torn by a restart
      if (noise > 0.4 && noise < 0.4003) lines.push(`${pod}(node:1) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0' is insecure`);
      yield* lines;
    }
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { lines: { type: 'string', default: '1500' }, seed: { type: 'string', default: '7' }, end: { type: 'string' }, days: { type: 'string', default: '7' } } });
  const end = values.end === undefined ? Date.now() : Date.parse(values.end);
  if (!Number.isFinite(end)) throw new Error('--end is an RFC 3339 time');
  for (const line of trafficLines({ lines: Number(values.lines), seed: Number(values.seed), end, days: Number(values.days) })) process.stdout.write(`${line}\n`);
}
