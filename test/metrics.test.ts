// Prometheus metrics: the counters move as the real server answers reviews over HTTPS, every label
// stays bounded whatever clients send, and the metrics port answers only GET /metrics.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OTHER_WRITERS, REVIEW_SECONDS_BUCKETS, createMetrics } from '../src/server/metrics.ts';
import { CERT_FILE } from '../src/server/tls.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { parseMetrics, scrape, valueOf } from './helpers/prometheus.ts';
import { startTestServing } from './helpers/serving.ts';

type Json = Record<string, unknown>;
const badSlice = JSON.parse(await readFile(new URL('../examples/review-bad-endpointslice.json', import.meta.url), 'utf8')) as Json;

/** A captured review with another uid and user: what the apiserver sends for another client. */
function reviewAs(fixture: string, username: string, uid: string): Json {
  const review = readAdmissionFixture(fixture);
  const request = review.request as Json;
  return { ...review, request: { ...request, uid, userInfo: { ...(request.userInfo as Json), username } } };
}

const metricsUrl = (url: string | undefined): string => {
  assert.ok(url, 'metrics are served');
  return url;
};

describe('metrics over the metrics port', { timeout: 60_000 }, () => {
  test('counts reviews by route, kind, operation, mode and decision as the server answers them', async (t) => {
    const s = await startTestServing(t);
    const url = metricsUrl(s.serving.metricsUrl);
    const before = (await scrape(url)).samples;
    assert.equal(valueOf(before, 'endpoint_guard_reviews_total', { route: 'validate' }), 0);

    for (let i = 0; i < 3; i++) assert.equal((await s.post('/validate', badSlice)).status, 200);
    assert.equal((await s.post('/mutate', badSlice)).status, 200);
    assert.equal((await s.post('/validate', '{"not json')).status, 400);

    const { status, contentType, samples } = await scrape(url);
    assert.equal(status, 200);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const labels = { kind: 'EndpointSlice', operation: 'CREATE', mode: 'complain', decision: 'allowed' };
    assert.equal(valueOf(samples, 'endpoint_guard_reviews_total', { route: 'validate', ...labels }), 3);
    assert.equal(valueOf(samples, 'endpoint_guard_reviews_total', { route: 'mutate', ...labels }), 1);
    assert.equal(valueOf(samples, 'endpoint_guard_reviews_total', {
      route: 'validate', kind: 'unknown', operation: 'unknown', decision: 'bad-request',
    }), 1);
  });

  test('counts findings by rule and severity, fixes by rule, and observes every answer in the latency histogram', async (t) => {
    const s = await startTestServing(t);
    await s.post('/validate', badSlice);
    await s.post('/validate', badSlice);
    await s.post('/mutate', badSlice);
    const { samples } = await scrape(metricsUrl(s.serving.metricsUrl));

    // The example slice claims a controller's managed-by value (an error) and repeats an address (a warning).
    assert.equal(valueOf(samples, 'endpoint_guard_findings_total', { rule: 'managed-by-controller', severity: 'error' }), 2);
    assert.equal(valueOf(samples, 'endpoint_guard_findings_total', { rule: 'duplicate-address', severity: 'warning' }), 2);
    assert.equal(valueOf(samples, 'endpoint_guard_findings_total', { rule: 'managed-by-controller', severity: 'warning' }), 0);
    assert.equal(valueOf(samples, 'endpoint_guard_fixes_total', { rule: 'duplicate-address' }), 1);

    assert.equal(valueOf(samples, 'endpoint_guard_review_duration_seconds_count', { route: 'validate' }), 2);
    assert.equal(valueOf(samples, 'endpoint_guard_review_duration_seconds_count', { route: 'mutate' }), 1);
    const buckets = samples.filter((x) => x.name === 'endpoint_guard_review_duration_seconds_bucket' && x.labels.route === 'validate');
    assert.deepEqual(buckets.map((b) => b.labels.le), [...REVIEW_SECONDS_BUCKETS.map(String), '+Inf']);
    assert.equal(valueOf(samples, 'endpoint_guard_review_duration_seconds_bucket', { route: 'validate', le: '5' }), 2);
  });

  test('reports denials in enforce mode under their own decision', async (t) => {
    const s = await startTestServing(t, { mode: 'enforce' });
    await s.post('/validate', badSlice);
    const { samples } = await scrape(metricsUrl(s.serving.metricsUrl));
    assert.equal(valueOf(samples, 'endpoint_guard_reviews_total', { route: 'validate', mode: 'enforce', decision: 'denied' }), 1);
  });

  test('shows the serving certificate expiry as a Unix time, and no reloads yet', async (t) => {
    const s = await startTestServing(t);
    const cert = new X509Certificate(await readFile(join(s.certDir, CERT_FILE)));
    const { samples } = await scrape(metricsUrl(s.serving.metricsUrl));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_expiry_timestamp_seconds'), Math.floor(cert.validToDate.getTime() / 1000));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'loaded' }), 0);
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'rejected' }), 0);
  });

  test('names the users that write the most on the Endpoints writers metric, not the first ones, in at most N+1 label values', async (t) => {
    const topN = 3;
    const s = await startTestServing(t, { endpointsWritersTopN: topN });
    let uid = 0;
    const write = async (user: string) => {
      uid += 1;
      const reply = await s.post('/validate', reviewAs('create-endpoints-v1.json', user, `00000000-0000-0000-0000-${String(uid).padStart(12, '0')}`));
      assert.equal(reply.status, 200);
    };
    for (let i = 0; i < 20; i++) await write(`light-${i}`); // bounded: 20 users that write once, first
    for (let round = 0; round < 4; round++) for (const user of ['heavy-a', 'heavy-b', 'heavy-c']) await write(user);
    // Writes that must not count: the control plane (exempt) and the mutating call of the same write.
    await s.post('/validate', readAdmissionFixture('create-endpoints-as-controller.json'));
    await s.post('/mutate', reviewAs('create-endpoints-v1.json', 'heavy-a', 'mutate-uid'));

    const writers = async () => (await scrape(metricsUrl(s.serving.metricsUrl))).samples.filter((x) => x.name === 'endpoint_guard_endpoints_writes_total');
    const first = await writers();
    assert.deepEqual(first.map((w) => w.labels.user).sort(), ['heavy-a', 'heavy-b', 'heavy-c', OTHER_WRITERS]);
    // A series counts the writes made while its user holds the name: the heavy writers' first
    // writes were counted as other, as were those of light-3 to light-19.
    const value = (samples: typeof first, user: string) => samples.find((w) => w.labels.user === user)?.value;
    assert.equal(value(first, OTHER_WRITERS), 17 + 12);
    assert.equal(value(first, 'heavy-a'), 0);

    await write('heavy-a');
    await write('light-0');
    const second = await writers();
    assert.equal(value(second, 'heavy-a'), 1);
    assert.equal(value(second, OTHER_WRITERS), 17 + 12 + 1);
    assert.ok(second.length <= topN + 1);
  });

  test('answers 404 outside /metrics and 405 for a POST', async (t) => {
    const s = await startTestServing(t);
    const url = metricsUrl(s.serving.metricsUrl);
    assert.equal((await scrape(url.replace(/\/metrics$/, '/'))).status, 404);
    const post = await fetch(url, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });

  test('serves no metrics port when metrics are off', async (t) => {
    const s = await startTestServing(t, { metrics: false });
    assert.equal(s.serving.metricsUrl, undefined);
    assert.equal((await s.post('/validate', badSlice)).status, 200);
  });
});

describe('createMetrics', () => {
  const render = async (metrics: ReturnType<typeof createMetrics>) => parseMetrics(await metrics.registry.metrics());

  test('registers nothing globally: two registries count apart', async () => {
    const a = createMetrics({ endpointsWritersTopN: 1, processMetrics: false });
    const b = createMetrics({ endpointsWritersTopN: 1, processMetrics: false });
    a.observeReview('validate', { mode: 'complain', decision: 'allowed', findings: {}, kind: 'Endpoints', operation: 'CREATE' }, 0.001);
    assert.equal(valueOf(await render(a), 'endpoint_guard_reviews_total', { kind: 'Endpoints' }), 1);
    assert.equal(valueOf(await render(b), 'endpoint_guard_reviews_total', { kind: 'Endpoints' }), 0);
  });

  test('counts rule errors by the check that threw', async () => {
    const m = createMetrics({ endpointsWritersTopN: 1, processMetrics: false });
    m.observeReview('validate', { mode: 'enforce', decision: 'allowed', findings: {}, ruleErrors: [{ check: 'policy', message: 'boom' }, { check: 'policy', message: 'again' }, { check: 'apiserver validation', message: 'x: y' }] }, 0.001);
    const samples = await render(m);
    assert.equal(valueOf(samples, 'endpoint_guard_rule_errors_total', { check: 'policy' }), 2);
    assert.equal(valueOf(samples, 'endpoint_guard_rule_errors_total', { check: 'apiserver validation' }), 1);
  });

  test('labels a kind or operation it does not know as other or unknown, so a client cannot add series', async () => {
    const m = createMetrics({ endpointsWritersTopN: 1, processMetrics: false });
    m.observeReview('validate', { mode: 'complain', decision: 'ignored', findings: {}, kind: 'Pod', operation: 'CREATE' }, 0.001);
    m.observeReview('validate', { mode: 'complain', decision: 'ignored', findings: {}, kind: 'Secret', operation: 'PATCH' }, 0.001);
    const reviews = (await render(m)).filter((x) => x.name === 'endpoint_guard_reviews_total');
    assert.deepEqual(reviews.map((r) => [r.labels.kind, r.labels.operation, r.value]), [['other', 'CREATE', 1], ['other', 'unknown', 1]]);
  });

  test('exports process metrics only when asked', async () => {
    const withProcess = await render(createMetrics({ endpointsWritersTopN: 1 }));
    assert.ok(withProcess.some((x) => x.name === 'process_cpu_seconds_total'));
    const without = await render(createMetrics({ endpointsWritersTopN: 1, processMetrics: false }));
    assert.ok(!without.some((x) => x.name.startsWith('process_')));
  });
});
