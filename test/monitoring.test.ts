// deploy/monitoring: renders with kubectl kustomize into objects that pass their schemas; every
// PromQL expression of the dashboard and the alerts parses with the Prometheus project's parser and
// names only metrics and labels a running server exports; the alert thresholds follow the webhook
// registrations; the dashboard is well formed and reaches Grafana's sidecar.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parser } from '@prometheus-io/lezer-promql';
import { WEBHOOK_TIMEOUT_SECONDS } from '../src/cluster/manifests.ts';
import { REVIEW_SECONDS_BUCKETS, createMetrics } from '../src/server/metrics.ts';
import { type Manifest, kustomizeBuild, schemaProblems } from './helpers/manifests.ts';
import { admissionReview, cleanEndpoints, controllerClaimingSlice } from './helpers/review-log.ts';
import { startTestServing } from './helpers/serving.ts';

interface Rule { alert: string; expr: string; for?: string; labels: { severity: string }; annotations: { summary: string; description: string } }
interface Target { expr: string; refId: string; datasource: { uid: string } }
interface Panel { id: number; title: string; type: string; datasource: { uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets: Target[] }
interface Dashboard { uid: string; templating: { list: { name: string; type: string; query: string }[] }; panels: Panel[] }

const objects = kustomizeBuild('deploy/monitoring');
const one = (kind: string): Manifest => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0] ?? assert.fail();
};
const rules = (one('PrometheusRule').spec as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboardFile = readFileSync('deploy/monitoring/dashboard.json', 'utf8');
const dashboard = JSON.parse(dashboardFile) as Dashboard;

/** Grafana's variables in a query, replaced by what Grafana puts there, so Prometheus's parser reads the query Prometheus gets. */
const GRAFANA_VARIABLES: Readonly<Record<string, string>> = { $__rate_interval: '2m', $__range: '7d', $__interval: '1m' };
const asPrometheusGetsIt = (expr: string): string => expr.replace(/\$__[a-z_]+/g, (v) => GRAFANA_VARIABLES[v] ?? v);

/** Every expression, named by where it is. */
const expressions: [string, string][] = [
  ...rules.map((r): [string, string] => [`alert ${r.alert}`, r.expr]),
  ...dashboard.panels.flatMap((p) => p.targets.map((t): [string, string] => [`panel "${p.title}" ${t.refId}`, asPrometheusGetsIt(t.expr)])),
];

/** A node of the parser's syntax tree. */
type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

interface Named { readonly metrics: Set<string>; readonly matcherLabels: Map<string, Set<string>>; readonly groupingLabels: Set<string> }

/** The metric names and label names an expression uses, read from its syntax tree. */
function namesIn(expr: string): Named {
  const named: Named = { metrics: new Set(), matcherLabels: new Map(), groupingLabels: new Set() };
  const text = (n: SyntaxNode) => expr.slice(n.from, n.to);
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.name === 'VectorSelector') {
        const metric = ref.node.getChild('Identifier');
        const labels = [...(ref.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [])]
          .map((m) => m.getChild('LabelName')).filter((n): n is SyntaxNode => n !== null).map(text);
        if (metric) {
          named.metrics.add(text(metric));
          named.matcherLabels.set(text(metric), new Set(labels));
        }
      }
      if (ref.name === 'GroupingLabels') for (const label of ref.node.getChildren('LabelName')) named.groupingLabels.add(text(label));
    },
  });
  return named;
}

/** Labels Prometheus adds to every series a PodMonitor scrapes. */
const TARGET_LABELS = ['namespace', 'pod', 'container', 'endpoint', 'job', 'instance'];

describe('deploy/monitoring', { timeout: 60_000 }, () => {
  test('renders with kubectl kustomize into a PodMonitor, a PrometheusRule and the dashboard ConfigMap, each valid against its schema', () => {
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
      ['ConfigMap/endpoint-guard-dashboard', 'PodMonitor/endpoint-guard', 'PrometheusRule/endpoint-guard']);
    assert.deepEqual(objects.flatMap(schemaProblems), []);
    assert.ok(objects.every((o) => o.metadata.namespace === 'endpoint-guard'));
  });

  test('ships the dashboard in a ConfigMap labelled for the Grafana sidecar, the same JSON as dashboard.json', () => {
    const configMap = one('ConfigMap') as Manifest & { metadata: { labels: Record<string, string> }; data: Record<string, string> };
    assert.equal(configMap.metadata.labels.grafana_dashboard, '1');
    assert.deepEqual(Object.keys(configMap.data), ['endpoint-guard.json']);
    assert.equal(configMap.data['endpoint-guard.json'], dashboardFile);
  });

  test('scrapes the metrics port of the Pods deploy/ runs', () => {
    const podMonitor = one('PodMonitor').spec as { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] };
    const deployment = kustomizeBuild('deploy/overlays/complain').find((o) => o.kind === 'Deployment') as Manifest & {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } };
    };
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(podMonitor.selector.matchLabels)) assert.equal(podLabels[key], value, `the Pods carry ${key}=${value}`);
    const ports = deployment.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.name));
    assert.deepEqual(podMonitor.podMetricsEndpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
    assert.ok(ports.includes('metrics'));
  });

  test('every PromQL expression parses with the Prometheus parser, without error nodes', () => {
    assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
    for (const [where, expr] of expressions) {
      assert.doesNotMatch(expr, /\$/, `${where}: a Grafana variable the test does not know`);
      const errors: number[] = [];
      parser.parse(expr).iterate({ enter: (n) => void (n.type.isError && errors.push(n.from)) });
      assert.deepEqual(errors, [], `${where}: ${expr} does not parse at ${errors.map((at) => `"${expr.slice(at, at + 20)}"`).join(', ')}`);
    }
  });

  test('a broken expression would be caught: the parser marks it with error nodes', () => {
    for (const broken of ['sum(rate(endpoint_guard_reviews_total[5m])', 'rate(endpoint_guard_reviews_total[$__rate_interval])', 'sum by (le (x)']) {
      let errors = 0;
      parser.parse(broken).iterate({ enter: (n) => void (n.type.isError && (errors += 1)) });
      assert.ok(errors > 0, broken);
    }
  });

  test('every metric and label named exists in a running server\'s /metrics', async (t) => {
    const server = await startTestServing(t);
    for (const object of [controllerClaimingSlice(), cleanEndpoints()]) {
      const body = admissionReview({ object, user: 'alice', namespace: 'team-a' });
      await server.post('/mutate', body);
      await server.post('/validate', body);
    }
    const url = server.serving.metricsUrl ?? assert.fail('metrics are served');
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    // The label names each metric is declared with, from the same createMetrics() the server uses.
    const declared = new Map(createMetrics({ endpointsWritersTopN: 1, processMetrics: false }).registry.getMetricsAsArray()
      .map((m) => [m.name, Reflect.get(m, 'labelNames') as unknown]));
    const labelsOf = (sample: string): Set<string> | undefined => {
      const histogram = /^(.+)_(bucket|sum|count)$/.exec(sample);
      const base = types.has(sample) ? sample : histogram && types.get(histogram[1] ?? '') === 'histogram' ? histogram[1] ?? '' : undefined;
      if (base === undefined) return undefined;
      const labels = declared.get(base);
      return new Set([...(Array.isArray(labels) ? labels.map(String) : []), ...(histogram?.[2] === 'bucket' ? ['le'] : []), ...TARGET_LABELS]);
    };
    for (const [where, expr] of expressions) {
      const named = namesIn(expr);
      assert.ok(named.metrics.size > 0, `${where} names a metric`);
      const allLabels = new Set<string>();
      for (const metric of named.metrics) {
        const labels = labelsOf(metric);
        assert.ok(labels, `${where}: ${metric} is not in the server's /metrics`);
        for (const label of named.matcherLabels.get(metric) ?? []) assert.ok(labels.has(label), `${where}: ${metric} has no label ${label}`);
        for (const label of labels) allLabels.add(label);
      }
      for (const label of named.groupingLabels) assert.ok(allLabels.has(label), `${where}: no metric of it has the label ${label}`);
    }
  });

  test('alerts on review failures, rule errors, latency near the webhook timeout and a certificate expiring within 14 days', () => {
    const byName = new Map(rules.map((r) => [r.alert, r]));
    const metricsOf = (name: string) => namesIn(byName.get(name)?.expr ?? assert.fail(`no alert ${name}`)).metrics;
    assert.ok(metricsOf('EndpointGuardReviewFailures').has('endpoint_guard_review_failures_total'));
    assert.ok(metricsOf('EndpointGuardRuleErrors').has('endpoint_guard_rule_errors_total'));

    // p99 latency: warned at half the timeout, critical well before it; both are histogram bucket bounds' range.
    const threshold = (name: string) => Number(/> ([\d.]+)$/.exec(byName.get(name)?.expr ?? '')?.[1]);
    assert.ok(metricsOf('EndpointGuardReviewLatencyHigh').has('endpoint_guard_review_duration_seconds_bucket'));
    assert.equal(threshold('EndpointGuardReviewLatencyHigh'), WEBHOOK_TIMEOUT_SECONDS / 2);
    assert.ok(threshold('EndpointGuardReviewLatencyNearTimeout') < WEBHOOK_TIMEOUT_SECONDS);
    assert.ok(threshold('EndpointGuardReviewLatencyNearTimeout') > threshold('EndpointGuardReviewLatencyHigh'));
    assert.equal(Math.max(...REVIEW_SECONDS_BUCKETS), WEBHOOK_TIMEOUT_SECONDS, 'the histogram resolves latency up to the timeout');

    assert.match(byName.get('EndpointGuardCertificateExpiresSoon')?.expr ?? '', /endpoint_guard_certificate_expiry_timestamp_seconds\) - time\(\) < 14 \* 86400$/);
    for (const rule of rules) {
      assert.ok(['warning', 'critical'].includes(rule.labels.severity), `${rule.alert}: severity`);
      assert.ok(rule.annotations.summary && rule.annotations.description, `${rule.alert}: says what happened and what to do`);
    }
  });

  test('the dashboard shows reviews, what enforce rejects by rule, latency quantiles, v1 Endpoints writers, dropped connections and certificate expiry', () => {
    const metricsOfPanels = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...namesIn(asPrometheusGetsIt(t.expr)).metrics])));
    for (const metric of [
      'endpoint_guard_reviews_total', 'endpoint_guard_findings_total', 'endpoint_guard_review_duration_seconds_bucket',
      'endpoint_guard_endpoints_writes_total', 'endpoint_guard_connections_dropped_total', 'endpoint_guard_certificate_expiry_timestamp_seconds',
    ]) assert.ok(metricsOfPanels.has(metric), `a panel shows ${metric}`);
    const latency = dashboard.panels.find((p) => p.title === 'Review latency');
    assert.deepEqual(latency?.targets.map((t) => /histogram_quantile\(([\d.]+),/.exec(t.expr)?.[1]), ['0.5', '0.9', '0.99']);
  });

  test('the dashboard is well formed: unique panel ids, panels that do not overlap, every query on the datasource variable', () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
    assert.deepEqual(variable && [variable.type, variable.query], ['datasource', 'prometheus']);
    for (const p of dashboard.panels) {
      assert.equal(p.datasource.uid, '${datasource}', p.title);
      assert.ok(p.targets.length > 0 && p.targets.every((t) => t.datasource.uid === '${datasource}' && t.expr.length > 0), p.title);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the 24-column grid`);
    }
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const other = cells.get(`${x},${y}`);
          assert.equal(other, undefined, `"${p.title}" overlaps "${other}"`);
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
  });
});
