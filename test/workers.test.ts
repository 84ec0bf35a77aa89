// `endpoint-guard serve --workers 2` as a real process: two workers answer reviews on one port over
// verified HTTPS, the primary serves the metrics of both, and SIGTERM stops all three with status 0.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CA_FILE } from '../src/server/tls.ts';
import { spawnCli, withDeadline } from './helpers/cli.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { httpsRequest } from './helpers/https.ts';
import { scrape, valueOf } from './helpers/prometheus.ts';
import { tempDir } from './helpers/temp.ts';

const REQUESTS = 8;

describe('endpoint-guard serve with two workers', { timeout: 60_000 }, () => {
  test('answers reviews from both workers on one port, counts them all in one scrape, ranks Endpoints writers across them, and exits 0 on SIGTERM', async (t) => {
    const dir = join(await tempDir(t), 'certs');
    const cli = spawnCli(t, ['serve', '--port', '0', '--metrics-port', '0', '--cert-dir', dir, '--workers', '2'], { ENDPOINT_GUARD_ENDPOINTS_WRITERS_TOP_N: '2' });
    const listening = await cli.waitForLine((l) => l.msg === 'listening' && l.workers === 2, 20_000);
    // Each process writes its own lines: the workers' may come out after the primary's.
    const workerLines = () => cli.lines.filter((l) => l.msg === 'listening' && l.worker !== undefined);
    await cli.waitForLine(() => workerLines().length === 2, 5_000);
    const workerPids = workerLines().map((l) => l.pid);
    assert.equal(new Set(workerPids).size, 2, 'two workers said they were listening');
    const ca = await readFile(join(dir, CA_FILE), 'utf8');

    const review = readAdmissionFixture('create-endpointslice-v1.json');
    for (let i = 0; i < REQUESTS; i++) {
      const body = JSON.stringify({ ...review, request: { ...(review.request as object), uid: `cluster-${i}` } });
      // A new connection each time: the primary hands connections to the workers in turn.
      const reply = await httpsRequest(`${String(listening.url)}/validate`, { ca, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(reply.status, 200);
      assert.equal((JSON.parse(reply.text) as { response: { uid: string } }).response.uid, `cluster-${i}`);
    }
    await cli.waitForLine(() => cli.lines.filter((l) => l.msg === 'review').length === REQUESTS, 5_000);
    const servedBy = new Set(cli.lines.filter((l) => l.msg === 'review').map((l) => l.pid));
    assert.deepEqual([...servedBy].sort(), [...new Set(workerPids)].sort(), 'both workers answered reviews');

    const { samples } = await scrape(String(listening.metricsUrl));
    const reviewed = samples.filter((s) => s.name === 'endpoint_guard_reviews_total' && s.labels.route === 'validate');
    assert.equal(reviewed.reduce((n, s) => n + s.value, 0), REQUESTS);
    // A gauge every worker sets to the same value: the scrape shows that value, not the sum.
    const notAfter = new X509Certificate(await readFile(join(dir, 'tls.crt'))).validToDate.getTime() / 1000;
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_expiry_timestamp_seconds'), Math.floor(notAfter));

    // Endpoints writers: whichever worker answers, the primary ranks all writes together. The
    // light writers come first (each worker would have named them), the heavy ones after.
    const write = async (user: string, n: number) => {
      const endpoints = readAdmissionFixture('create-endpoints-v1.json');
      const request = endpoints.request as Record<string, unknown>;
      const body = JSON.stringify({ ...endpoints, request: { ...request, uid: `${user}-${n}`, userInfo: { username: user } } });
      const reply = await httpsRequest(`${String(listening.url)}/validate`, { ca, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(reply.status, 200);
    };
    for (let i = 0; i < 6; i++) await write(`light-${i}`, 0);
    for (let n = 0; n < 4; n++) for (const user of ['heavy-a', 'heavy-b']) await write(user, n);
    const writers = (await scrape(String(listening.metricsUrl))).samples.filter((s) => s.name === 'endpoint_guard_endpoints_writes_total');
    assert.deepEqual(writers.map((w) => w.labels.user).sort(), ['heavy-a', 'heavy-b', 'other'], 'the top 2 of both workers, and other');

    cli.child.kill('SIGTERM');
    assert.deepEqual(await withDeadline(cli.exited, 15_000, 'exit after SIGTERM'), { code: 0, signal: null });
    const stopped = new Set(cli.lines.filter((l) => l.msg === 'stopped').map((l) => l.pid));
    assert.deepEqual([...stopped].sort(), [...new Set([...workerPids, listening.pid])].sort(), 'the workers and the primary stopped');
    for (const pid of workerPids) assert.throws(() => process.kill(Number(pid), 0), /ESRCH/, `worker ${String(pid)} is gone`);
  });
});
