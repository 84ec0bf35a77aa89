// Graceful shutdown, in process: the phases of close() one by one, against the real server over
// verified HTTPS on 127.0.0.1. test/sigterm.test.ts does the same to the process under load.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FIXTURES } from './helpers/fixtures.ts';
import { httpsRequest, rawTls } from './helpers/https.ts';
import { startTestServing } from './helpers/serving.ts';

const review = await readFile(join(FIXTURES, 'admission', 'create-endpointslice-v1.json'), 'utf8');
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('graceful shutdown, in process', { timeout: 30_000 }, () => {
  test('keeps answering through the shutdown delay with /readyz 503 and Connection: close, then refuses connections', async (t) => {
    const s = await startTestServing(t, { shutdownDelaySeconds: 0.5 });
    const closing = s.serving.close();
    const ready = await httpsRequest(`${s.serving.url}/readyz`, { ca: s.ca });
    assert.equal(ready.status, 503);
    const answer = await s.post('/validate', review);
    assert.equal(answer.status, 200, 'new requests are still answered during the delay');
    assert.equal(answer.headers.connection, 'close');
    const health = await httpsRequest(`${s.serving.url}/healthz`, { ca: s.ca });
    assert.equal(health.status, 200, 'the process is alive: liveness stays 200');
    await closing;
    await assert.rejects(httpsRequest(`${s.serving.url}/healthz`, { ca: s.ca, timeoutMs: 2_000 }), /ECONNREFUSED/);
  });

  test('answers a connection that was accepted before the listener closed but had not sent its request yet', async (t) => {
    const s = await startTestServing(t);
    const early = await rawTls(s.serving.port, s.ca);
    t.after(() => early.destroy());
    const closing = s.serving.close();
    await delay(100);
    const body = review;
    early.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const answer = await early.closed(5_000);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /\r\nConnection: close\r\n/i);
    await closing;
  });

  test('closes a kept-alive connection that is idle after its answer, and one that never sends a request', async (t) => {
    const s = await startTestServing(t, {}, { headersMs: 300 });
    const kept = await rawTls(s.serving.port, s.ca);
    const silent = await rawTls(s.serving.port, s.ca);
    t.after(() => {
      kept.destroy();
      silent.destroy();
    });
    kept.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await delay(100);
    const started = performance.now();
    await s.serving.close();
    assert.match(await kept.closed(1_000), /^HTTP\/1\.1 200 /);
    await silent.closed(1_000);
    assert.ok(performance.now() - started < 3_000, 'close() did not wait for the 10 s grace');
  });
});
