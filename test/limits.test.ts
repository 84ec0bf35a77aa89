// The limits of issue 8 over real HTTPS: nesting depth, the review budget, maxConnections and the
// timeouts as settings, each answered as documented and counted in the metrics.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import { type ReviewOutcome, reviewAdmission } from '../src/admission.ts';
import { type Config, configSchema } from '../src/config.ts';
import { createWebhookServer } from '../src/server/app.ts';
import { nestingProblem } from '../src/depth.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { ensureDevCertificates } from '../src/server/tls.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { type Reply, httpsRequest, rawTls, replyJson } from './helpers/https.ts';
import { captureLog } from './helpers/log.ts';
import { parseMetrics, scrape, valueOf } from './helpers/prometheus.ts';
import { startTestServing } from './helpers/serving.ts';
import { tempDir } from './helpers/temp.ts';

const FIXTURE = readAdmissionFixture('create-endpointslice-v1.json');
const UID = (FIXTURE.request as { uid: string }).uid;
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('nestingProblem', () => {
  const problem = (text: string, max: number) => nestingProblem(JSON.parse(text), max);
  test('accepts nesting up to the limit and refuses one level more, naming the setting', () => {
    assert.equal(problem(nested(10), 10), undefined);
    assert.equal(problem('{"a":[{"b":[1]}]}', 4), undefined);
    assert.equal(problem(nested(11), 10), 'request body nests arrays and objects more than 10 deep; the limit is maxJsonDepth');
    assert.match(problem('{"a":[{"b":[[1]]}]}', 4) ?? '', /more than 4 deep/);
    assert.equal(problem('"[[[[[[[[[["', 2), undefined);
    assert.equal(problem('7', 10), undefined);
  });

  test('looks inside a "__proto__" key, which JSON.parse makes an own property', () => {
    assert.match(problem(`{"__proto__":${nested(20)}}`, 10) ?? '', /more than 10 deep/);
  });

  test('walks 100k levels, recursing no deeper than the limit, up to the largest maxJsonDepth', () => {
    assert.match(problem(nested(100_000), 100) ?? '', /more than 100 deep/);
    assert.match(problem(nested(100_000), 1000) ?? '', /more than 1000 deep/);
    assert.equal(problem(nested(1000), 1000), undefined);
  });
});

/** The fixture review with `value` (JSON text) as the slice's annotations: a field every review reads. */
function reviewWithAnnotations(value: string): string {
  const review = structuredClone(FIXTURE) as { request: { object: { metadata: Record<string, unknown> } } };
  review.request.object.metadata.annotations = 'ANNOTATIONS';
  return JSON.stringify(review).replace('"ANNOTATIONS"', value);
}

describe('limits over HTTPS', { timeout: 60_000 }, () => {
  test('answers a body nested 100k deep with 400 naming maxJsonDepth, not a 500, and still reviews', async (t) => {
    const s = await startTestServing(t);
    for (const path of ['/validate', '/mutate'] as const) {
      const reply = await s.post(path, reviewWithAnnotations(nested(100_000)));
      assert.equal(reply.status, 400, reply.text.slice(0, 200));
      assert.match(reply.text, /nests arrays and objects more than 100 deep; the limit is maxJsonDepth/);
    }
    // Just under the limit is reviewed: the annotations are then a field of the wrong type.
    const within = await s.post('/validate', reviewWithAnnotations(nested(90)));
    assert.equal(within.status, 200);
    assert.partialDeepStrictEqual(replyJson(within), { response: { uid: UID, allowed: true } });
  });

  test('counts a client that stalls past headersTimeoutSeconds and answers it with a JSON 408', async (t) => {
    const s = await startTestServing(t, { headersTimeoutSeconds: 0.3, requestTimeoutSeconds: 0.6 }, { checkIntervalMs: 50 });
    const stalled = await rawTls(s.serving.port, s.ca);
    t.after(() => stalled.destroy());
    stalled.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Ty');
    const answer = await stalled.closed(5_000);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const body: unknown = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    assert.partialDeepStrictEqual(body, { kind: 'AdmissionReview', response: { allowed: false, status: { code: 408 } } });
    assert.match(JSON.stringify(body), /headers within 0\.3 s \(headersTimeoutSeconds\)/);
    const { samples } = await scrape(`${s.serving.metricsUrl}`);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'request-timeout' }), 1);
    assert.equal((await s.post('/validate', FIXTURE)).status, 200);
  });

  test('answers bytes that are not HTTP with a JSON 400 and counts them', async (t) => {
    const s = await startTestServing(t);
    const garbage = await rawTls(s.serving.port, s.ca);
    t.after(() => garbage.destroy());
    garbage.write('\u0000\u0001 HELLO\r\n\r\n');
    const answer = await garbage.closed(5_000);
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /"message":"malformed HTTP request \(HPE_[A-Z_]+\)"/);
    const { samples } = await scrape(`${s.serving.metricsUrl}`);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'bad-http' }), 1);
  });

  test('closes connections over maxConnections as they arrive, counts them, and serves again once below', async (t) => {
    const s = await startTestServing(t, { maxConnections: 2 });
    const held = await Promise.all([rawTls(s.serving.port, s.ca), rawTls(s.serving.port, s.ca)]);
    t.after(() => held.forEach((c) => c.destroy()));
    const refused = connectTcp(s.serving.port, '127.0.0.1');
    refused.on('error', () => {});
    await Promise.race([once(refused, 'close'), new Promise((_, fail) => setTimeout(() => fail(new Error('not closed within 5 s')), 5_000))]);
    const { samples } = await scrape(`${s.serving.metricsUrl}`);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'max-connections' }), 1);

    held.forEach((c) => c.destroy());
    // The server sees the two close a moment after the client does: a few bounded tries.
    let reply: Reply | undefined;
    for (let attempt = 0; attempt < 20 && reply === undefined; attempt++) {
      reply = await s.post('/validate', FIXTURE).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return undefined;
      });
    }
    assert.equal(reply?.status, 200);
  });
});

describe('review budget', { timeout: 60_000 }, () => {
  /** A review that is correct but slow: the real one after a busy wait of `ms`. */
  const slowReview = (ms: number) => (input: unknown, config: Config): ReviewOutcome => {
    const until = performance.now() + ms;
    while (performance.now() < until) { /* a rule stuck in a loop */ }
    return reviewAdmission(input, config);
  };

  async function start(t: TestContext, settings: Partial<Config>) {
    const certDir = await tempDir(t);
    const tls = await ensureDevCertificates(certDir, 'endpoint-guard/endpoint-guard', captureLog().log);
    if (!tls.ok) throw new Error(tls.message);
    const config: Config = { ...configSchema.parse({}), ...settings, host: '127.0.0.1', port: 0 };
    const metrics = createMetrics({ endpointsWritersTopN: 5, processMetrics: false });
    const logs = captureLog();
    const server = await createWebhookServer({ config, log: logs.log, tls, metrics, review: slowReview(30) });
    t.after(() => server.close());
    const post = () => httpsRequest(`${server.url}/validate`, {
      ca: tls.ca ?? '', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(FIXTURE),
    });
    const failures = async () => valueOf(parseMetrics(await metrics.registry.metrics()), 'endpoint_guard_review_failures_total', { route: 'validate', reason: 'over-budget' });
    return { post, failures, logs };
  }

  test('a review over reviewBudgetMs is allowed by default, logged and counted', async (t) => {
    const s = await start(t, { mode: 'enforce', reviewBudgetMs: 5 });
    const reply = await s.post();
    assert.equal(reply.status, 200);
    assert.deepEqual(replyJson(reply), { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: UID, allowed: true } });
    assert.equal(await s.failures(), 1);
    const line = s.logs.lines.find((l) => l.msg === 'review took longer than reviewBudgetMs; answered as onRuleError says');
    assert.partialDeepStrictEqual(line, { uid: UID, reviewBudgetMs: 5 });
  });

  test('a review over reviewBudgetMs is denied in enforce mode with onRuleError deny', async (t) => {
    const s = await start(t, { mode: 'enforce', onRuleError: 'deny', reviewBudgetMs: 5 });
    const body = replyJson(await s.post());
    assert.partialDeepStrictEqual(body, { response: { uid: UID, allowed: false, status: { code: 403 } } });
    assert.match(JSON.stringify(body), /could not check this object \(review took \d+ ms, over reviewBudgetMs; see its logs\)/);
    assert.equal(await s.failures(), 1);
  });

  test('a review within its budget keeps its own answer', async (t) => {
    const s = await start(t, { mode: 'enforce', onRuleError: 'deny', reviewBudgetMs: 10_000 });
    const reply = replyJson(await s.post());
    assert.deepEqual(reply, reviewAdmission(FIXTURE, { ...configSchema.parse({}), mode: 'enforce', onRuleError: 'deny' }).body);
    assert.equal(await s.failures(), 0);
  });
});
