// Slowloris: many TLS connections that send part of their headers and stall. Normal reviews are
// still answered meanwhile, and the stalled connections are cut off once headersTimeoutSeconds
// has passed, each with a 408 and each counted.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { type RawConnection, rawTls } from './helpers/https.ts';
import { scrape, valueOf } from './helpers/prometheus.ts';
import { type StartedServing, startTestServing } from './helpers/serving.ts';

const STALLED = 200;
const REVIEWS = 20;
const FIXTURE = readAdmissionFixture('create-endpointslice-v1.json');

/** STALLED connections, each sending the start of a request and nothing more, opened 50 at a time. */
async function stall(t: TestContext, s: StartedServing): Promise<RawConnection[]> {
  const stalled: RawConnection[] = [];
  t.after(() => stalled.forEach((c) => c.destroy()));
  while (stalled.length < STALLED) {
    const batch = await Promise.all(Array.from({ length: 50 }, () => rawTls(s.serving.port, s.ca)));
    for (const c of batch) c.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: applica');
    stalled.push(...batch);
  }
  return stalled;
}

/** REVIEWS valid reviews, each on a connection of its own, all answered 200 with the same answer. */
async function assertReviewsAnswered(s: StartedServing): Promise<void> {
  const replies = await Promise.all(Array.from({ length: REVIEWS }, () => s.post('/validate', FIXTURE)));
  for (const reply of replies) {
    assert.equal(reply.status, 200);
    assert.equal(reply.text, replies[0]?.text);
  }
}

describe('slowloris', { timeout: 60_000 }, () => {
  test(`${STALLED} stalled connections do not keep ${REVIEWS} normal reviews from being answered`, async (t) => {
    // Headers timeout of a minute: every stalled connection is certainly still open during the reviews.
    const s = await startTestServing(t, { headersTimeoutSeconds: 60, requestTimeoutSeconds: 60 });
    const stalled = await stall(t, s);
    let closed = 0;
    for (const c of stalled) void c.closed(60_000).then(() => (closed += 1), () => {});
    await assertReviewsAnswered(s);
    assert.equal(closed, 0, 'the stalled connections were all still open');
    stalled.forEach((c) => c.destroy()); // before the server's close, which would wait for them
  });

  test(`${STALLED} stalled connections are cut off after headersTimeoutSeconds with a 408, and counted`, async (t) => {
    const s = await startTestServing(t, { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2 }, { checkIntervalMs: 100 });
    const stalled = await stall(t, s);
    await assertReviewsAnswered(s);
    const answers = await Promise.all(stalled.map((c) => c.closed(10_000)));
    for (const answer of answers) assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    const { samples } = await scrape(`${s.serving.metricsUrl}`);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'request-timeout' }), STALLED);
    await assertReviewsAnswered(s);
  });
});
