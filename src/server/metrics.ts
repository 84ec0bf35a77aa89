// Prometheus metrics. Everything is created by createMetrics(), in its own registry: nothing is
// registered on import, and two servers in one process (tests) never share a counter. The server
// feeds every answered request through observeReview() with the review's log object, so the
// metrics and the log line always tell the same story and the rules know nothing about either.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReviewLog } from '../admission.ts';
import type { CacheEvents } from '../cluster/cache.ts';
import { DROP_REASONS, type DropReason } from './limits.ts';
import { REVIEW_FAILURES, type ReviewFailure } from './review-guard.ts';
import { topWriters } from './top-writers.ts';

export type Route = 'validate' | 'mutate';

/** The certificates read from files and reloaded when they change: the serving pair and the client CA. */
export type CertificateRole = 'serving' | 'client-ca';
const CERTIFICATE_ROLES: readonly CertificateRole[] = ['serving', 'client-ca'];

// An admission review takes well under a millisecond to a few milliseconds; the apiserver gives
// up after timeoutSeconds (5 s in deploy/). The buckets resolve the fast path finely and still
// show when answers creep towards the timeout.
export const REVIEW_SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] as const;

/** The label value every Endpoints writer outside the top N shares. */
export const OTHER_WRITERS = 'other';

// Label values come from the request; only known values pass, so a client cannot create series.
const KINDS = new Set(['Endpoints', 'EndpointSlice']);
const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);
const WRITES = new Set(['CREATE', 'UPDATE']);
const NOT_REVIEWED = new Set<ReviewLog['decision']>(['exempt', 'bad-request']);

export interface WebhookMetrics {
  readonly registry: Registry;
  /** One answered request on /validate or /mutate, with the log object it was logged with. */
  observeReview(route: Route, log: ReviewLog, seconds: number): void;
  /** The serving certificate now in use (at start, or after a reload). */
  certificateInUse(notAfter: Date): void;
  /** Changed certificate files were seen: loaded, or rejected (what is in use stays). */
  certificateReloaded(certificate: CertificateRole, result: 'loaded' | 'rejected'): void;
  /** The cluster cache's state: synced or not, and each failed list or watch. */
  readonly cluster: CacheEvents;
  /** A connection closed by a limit (maxConnections, a timeout) or refused (bad HTTP, a failed TLS handshake). */
  connectionDropped(reason: DropReason): void;
  /** A review that threw or overran reviewBudgetMs, answered as onRuleError says. */
  reviewFailed(route: Route, failure: ReviewFailure): void;
}

export interface MetricsOptions {
  /** How many v1 Endpoints writers (those that write the most) get their own label value. */
  readonly endpointsWritersTopN: number;
  /** Node.js process metrics (memory, CPU, event loop lag); on unless a test turns them off. */
  readonly processMetrics?: boolean;
  /**
   * In a worker (see workers.ts): Endpoints writes go here, to the primary, which counts the top
   * writers of all workers in one place; this registry then has no writers metric of its own.
   */
  readonly forwardEndpointsWrite?: (user: string) => void;
}

export function createMetrics(options: MetricsOptions): WebhookMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  // Every metric lives in this registry only; label names are kept as literal types.
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });

  const reviews = counter(
    'endpoint_guard_reviews_total',
    'Admission requests answered, by route, object kind, operation, mode and decision.',
    ['route', 'kind', 'operation', 'mode', 'decision'],
  );
  const findings = counter(
    'endpoint_guard_findings_total',
    'Findings reported by /validate, by rule and severity (an error is what enforce mode rejects).',
    ['rule', 'severity'],
  );
  const fixes = counter(
    'endpoint_guard_fixes_total',
    'Fixes /mutate sent as JSON Patch operations, by the rule each satisfies.',
    ['rule'],
  );
  const duration = new Histogram({
    name: 'endpoint_guard_review_duration_seconds',
    help: 'Time from receiving an admission request to sending its answer, body reading included.',
    labelNames: ['route'] as const,
    buckets: [...REVIEW_SECONDS_BUCKETS],
    registers,
  });
  const ruleErrors = counter(
    'endpoint_guard_rule_errors_total',
    'Checks that threw while reviewing an object (a bug: see the log line with the request uid).',
    ['check'],
  );
  const certificateExpiry = new Gauge({
    name: 'endpoint_guard_certificate_expiry_timestamp_seconds',
    help: 'notAfter of the serving certificate in use, as a Unix time.',
    aggregator: 'min', // with several workers: the one that expires first
    registers,
  });
  const certificateReloads = counter(
    'endpoint_guard_certificate_reloads_total',
    'Changed certificate files seen, by certificate (serving, client-ca): loaded, or rejected (what was in use stays in use).',
    ['certificate', 'result'],
  );
  // Every series exists from the start, so an alert on rejected can use increase() from zero.
  for (const certificate of CERTIFICATE_ROLES) {
    for (const result of ['loaded', 'rejected'] as const) certificateReloads.inc({ certificate, result }, 0);
  }

  const clusterSynced = gauge(
    'endpoint_guard_cluster_cache_synced',
    'Whether the Namespace and Service caches are in sync with the apiserver (1) or not (0): at 0 the Service rules are skipped.',
    ['resource'],
  );
  const clusterFailures = counter(
    'endpoint_guard_cluster_cache_failures_total',
    'Failed lists and watches of Namespaces and Services (each is retried with backoff; see the log).',
    ['resource'],
  );
  const dropped = counter(
    'endpoint_guard_connections_dropped_total',
    'Connections closed before they were served, by reason: max-connections, handshake-timeout, tls-error, request-timeout (a slow client), bad-http.',
    ['reason'],
  );
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  const reviewFailures = counter(
    'endpoint_guard_review_failures_total',
    'Reviews that threw (error) or took longer than reviewBudgetMs (over-budget), answered as onRuleError says.',
    ['route', 'reason'],
  );
  for (const route of ['validate', 'mutate'] as const) for (const reason of REVIEW_FAILURES) reviewFailures.inc({ route, reason }, 0);

  const endpointsWrite = options.forwardEndpointsWrite ?? endpointsWritersMetric(registry, options.endpointsWritersTopN);

  return {
    registry,
    observeReview(route, log, seconds) {
      const kind = log.kind === undefined ? 'unknown' : KINDS.has(log.kind) ? log.kind : 'other';
      const operation = log.operation !== undefined && OPERATIONS.has(log.operation) ? log.operation : 'unknown';
      reviews.inc({ route, kind, operation, mode: log.mode, decision: log.decision });
      duration.observe({ route }, seconds);
      if (route === 'mutate') {
        for (const [rule, count] of Object.entries(log.findings)) fixes.inc({ rule }, count);
      } else {
        // The errors list names the rules whose findings had error severity in this review.
        const errors = new Set(log.errors ?? []);
        for (const [rule, count] of Object.entries(log.findings)) findings.inc({ rule, severity: errors.has(rule) ? 'error' : 'warning' }, count);
        // Each write reaches both webhooks; counting on /validate only counts it once. Exempt
        // writers are the control plane, which is not going to migrate.
        if (log.kind === 'Endpoints' && WRITES.has(log.operation ?? '') && !NOT_REVIEWED.has(log.decision)) {
          endpointsWrite(log.user ?? 'unknown');
        }
      }
      for (const error of log.ruleErrors ?? []) ruleErrors.inc({ check: error.check });
    },
    certificateInUse(notAfter) {
      certificateExpiry.set(Math.floor(notAfter.getTime() / 1000));
    },
    certificateReloaded(certificate, result) {
      certificateReloads.inc({ certificate, result });
    },
    cluster: {
      synced: (resource, ok) => clusterSynced.set({ resource }, ok ? 1 : 0),
      failed: (resource) => clusterFailures.inc({ resource }),
    },
    connectionDropped(reason) {
      dropped.inc({ reason });
    },
    reviewFailed(route, failure) {
      reviewFailures.inc({ route, reason: failure });
    },
  };
}

/**
 * endpoint_guard_endpoints_writes_total in `registry`, labelled with the `topN` users that write
 * the most (see top-writers.ts for how the names move and why the counters never go down);
 * returns what counts a write (or several, from a worker).
 */
export function endpointsWritersMetric(registry: Registry, topN: number): (user: string, writes?: number) => void {
  const writers = topWriters(topN);
  new Counter({
    name: 'endpoint_guard_endpoints_writes_total',
    help: `Creates and updates of v1 Endpoints reviewed on /validate, by user: the clients to migrate to EndpointSlices. ` +
      `The ${topN} users that write the most keep their name (a user's series counts its writes while named); ` +
      `all other writes count as "${OTHER_WRITERS}".`,
    labelNames: ['user'] as const,
    registers: [registry],
    collect() {
      const { named, other } = writers.snapshot();
      this.reset();
      for (const [user, writes] of named) this.inc({ user }, writes);
      this.inc({ user: OTHER_WRITERS }, other);
    },
  });
  return (user, writes) => writers.record(user, writes);
}
