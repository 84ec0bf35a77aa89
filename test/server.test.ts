// The real server over real HTTPS on 127.0.0.1, verified with the CA that tls.ts generated.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { request as httpsRawRequest } from 'node:https';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { type ReviewOutcome, reviewAdmission } from '../src/admission.ts';
import { type Config, DEFAULT_MAX_BODY_BYTES, configSchema } from '../src/config.ts';
import { type ServerTimeouts, type WebhookServer, createWebhookServer } from '../src/server/app.ts';
import { CA_FILE, CERT_FILE, KEY_FILE, ensureDevCertificates, generateCertificates } from '../src/server/tls.ts';
import { type Reply, httpsRequest, rawTls, replyJson } from './helpers/https.ts';
import { type CapturedLog, captureLog } from './helpers/log.ts';
import { tempDir } from './helpers/temp.ts';
import { FIXTURES, readAdmissionFixture } from './helpers/fixtures.ts';
import { ipv4Endpoints, slice } from './helpers/objects.ts';

const FIXTURE = join(FIXTURES, 'admission', 'create-endpointslice-v1.json');
const SMALL_LIMIT = 64 * 1024;
const ONE_MIB = 1024 * 1024;
const SERVICE = 'guard-system/endpoint-guard';
const JSON_HEADERS = { 'content-type': 'application/json' };

let certDir = '';
let tls = { cert: '', key: '', ca: '' };
let fixture = Buffer.alloc(0);

before(async () => {
  certDir = await mkdtemp(join(tmpdir(), 'endpoint-guard-certs-'));
  const result = await ensureDevCertificates(certDir, SERVICE, captureLog().log);
  if (!result.ok) throw new Error(result.message);
  tls = { cert: result.cert, key: result.key, ca: await readFile(join(certDir, CA_FILE), 'utf8') };
  fixture = await readFile(FIXTURE);
});
after(() => rm(certDir, { recursive: true, force: true }));

interface Started {
  readonly server: WebhookServer;
  readonly logs: CapturedLog;
  get(path: string): Promise<Reply>;
  post(body: string | Buffer | readonly Buffer[], headers?: Record<string, string | number>): Promise<Reply>;
}

interface StartOptions {
  readonly config?: Partial<Config>;
  readonly timeouts?: Partial<ServerTimeouts>;
  readonly review?: (input: unknown, config: Config) => ReviewOutcome;
  readonly logLevel?: 'info' | 'debug';
}

async function start(t: TestContext, options: StartOptions = {}): Promise<Started> {
  const config: Config = { ...configSchema.parse({ maxBodyBytes: SMALL_LIMIT }), ...options.config, host: '127.0.0.1', port: 0 };
  const logs = captureLog(options.logLevel ?? 'info');
  const server = await createWebhookServer({
    config,
    log: logs.log,
    tls,
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.review ? { review: options.review } : {}),
  });
  t.after(() => server.close());
  return {
    server,
    logs,
    get: (path) => httpsRequest(server.url + path, { ca: tls.ca }),
    post: (body, headers = JSON_HEADERS) => httpsRequest(`${server.url}/validate`, { ca: tls.ca, method: 'POST', headers, body }),
  };
}

async function assertHealthy(s: Started): Promise<void> {
  const reply = await s.get('/healthz');
  assert.equal(reply.status, 200);
  assert.equal(reply.text, 'ok');
}

/** The AdmissionReview-shaped error every non-review failure is answered with. */
function assertErrorReview(reply: Reply, code: number, message: RegExp): void {
  assert.equal(reply.status, code);
  const body = replyJson(reply);
  assert.partialDeepStrictEqual(body, {
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '', allowed: false, status: { code } },
  });
  const text = JSON.stringify(body);
  assert.match(text, message);
}

const fixtureUid = (): unknown => {
  const review: unknown = JSON.parse(fixture.toString('utf8'));
  assert.ok(typeof review === 'object' && review !== null && 'request' in review);
  const request = review.request;
  assert.ok(typeof request === 'object' && request !== null && 'uid' in request);
  return request.uid;
};

interface Sent {
  /** The answer, once all of it arrived (undefined if it never did). */
  readonly reply: Reply | undefined;
  /** What the client's request reported, if anything failed: a reset, a broken pipe. */
  readonly error: string | undefined;
  readonly closedAfterMs: number;
}

/**
 * POSTs a body the way a client that does not wait does: a Buffer in one write with its
 * Content-Length, or chunks in as many writes, without Content-Length. Resolves once the
 * connection has closed (at most 10 s), with the answer and any error the client saw.
 */
function sendOnce(url: string, body: Buffer | readonly Buffer[], contentType = 'application/json', headers: Record<string, string> = {}): Promise<Sent> {
  return new Promise((resolve) => {
    const started = performance.now();
    let reply: Reply | undefined;
    let error: string | undefined;
    const req = httpsRawRequest(`${url}/validate`, { method: 'POST', ca: tls.ca, agent: false, headers: { 'content-type': contentType, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => (reply = { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => undefined); // the request's error says it
    });
    req.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    req.setTimeout(10_000, () => req.destroy(new Error('no close within 10 s')));
    req.on('close', () => resolve({ reply, error, closedAfterMs: performance.now() - started }));
    if (Buffer.isBuffer(body)) req.end(body);
    else {
      for (const chunk of body) req.write(chunk);
      req.end();
    }
  });
}

/**
 * A client that writes a request with a body of `size` bytes in one write and reads nothing until
 * that write is done: then it reads whatever the server sent, until the connection closes (10 s at most).
 */
function writeThenRead(port: number, size: number, options: { chunked: boolean }): Promise<{ writeError: string | undefined; received: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' }, () => {
      socket.off('error', reject);
      socket.pause();
      const framing = options.chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${size}`;
      const head = `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`;
      const body = Buffer.alloc(size, ' ');
      const request = options.chunked
        ? Buffer.concat([Buffer.from(`${head}${size.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')])
        : Buffer.concat([Buffer.from(head), body]);
      let writeError: string | undefined;
      let received = '';
      const timer = setTimeout(() => socket.destroy(), 10_000);
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      socket.on('error', (err: NodeJS.ErrnoException) => (writeError ??= err.code ?? err.message));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ writeError, received });
      });
      socket.write(request, (err) => {
        if (err) writeError ??= (err as NodeJS.ErrnoException).code ?? err.message;
        socket.resume();
      });
    });
    socket.once('error', reject);
  });
}

describe('webhook server', { timeout: 60_000 }, () => {
  test('answers /healthz and /readyz with 200 over HTTPS verified by the generated CA', async (t) => {
    const s = await start(t);
    await assertHealthy(s);
    const ready = await s.get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.text, 'ok');
    assert.match(s.server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(s.server.port, 0);
    assert.equal(s.logs.lines.length, 0, 'health checks are not logged');
  });

  test('answers a captured AdmissionReview with 200 and a JSON AdmissionReview for the same uid', async (t) => {
    const s = await start(t);
    const reply = await s.post(fixture);
    assert.equal(reply.status, 200);
    assert.partialDeepStrictEqual(replyJson(reply), {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: fixtureUid() },
    });
  });

  test('answers reviews on the URL the apiserver calls, with its ?timeout= query, on both routes', async (t) => {
    const s = await start(t);
    for (const route of ['/validate', '/mutate']) {
      const reply = await httpsRequest(`${s.server.url}${route}?timeout=10s`, { ca: tls.ca, method: 'POST', headers: JSON_HEADERS, body: fixture });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      assert.partialDeepStrictEqual(replyJson(reply), { kind: 'AdmissionReview', response: { uid: fixtureUid() } });
    }
    assert.deepEqual(s.logs.lines.filter((l) => l.msg === 'review').map((l) => l.path), ['/validate', '/mutate']);
  });

  test('logs one line per review with its fields and the duration, and not the body', async (t) => {
    const s = await start(t);
    await s.post(fixture);
    const reviews = s.logs.lines.filter((l) => l.msg === 'review');
    assert.equal(reviews.length, 1);
    const [line] = reviews;
    assert.partialDeepStrictEqual(line, {
      uid: fixtureUid(), kind: 'EndpointSlice', operation: 'CREATE', mode: 'complain', status: 200,
    });
    for (const key of ['namespace', 'name', 'user', 'decision', 'findings', 'durationMs']) assert.ok(line && key in line, `log line has ${key}`);
    assert.equal(typeof line?.durationMs, 'number');
    assert.ok(line && !('request' in line), 'the body is not logged at info level');
  });

  test('logs the request body only at debug level', async (t) => {
    const s = await start(t, { logLevel: 'debug' });
    await s.post(fixture);
    const line = s.logs.lines.find((l) => l.msg === 'review');
    assert.partialDeepStrictEqual(line, { request: { kind: 'AdmissionReview' } });
  });

  test('answers a body that is not JSON with 400 and a JSON AdmissionReview saying so', async (t) => {
    const s = await start(t);
    assertErrorReview(await s.post('{"apiVersion": "admission.k8s.io/v1",'), 400, /request body is not JSON/);
    await assertHealthy(s);
  });

  test('answers an empty body with 400', async (t) => {
    const s = await start(t);
    assertErrorReview(await s.post(''), 400, /request body is empty/);
    await assertHealthy(s);
  });

  test('answers a wrong content type with 400 naming the type it received', async (t) => {
    const s = await start(t);
    assertErrorReview(await s.post(fixture, { 'content-type': 'text/plain' }), 400, /contentType=text\/plain, expected application\/json/);
    assertErrorReview(await s.post(fixture, {}), 400, /contentType=\(none\)/);
    await assertHealthy(s);
  });

  test('accepts application/json with a charset', async (t) => {
    const s = await start(t);
    assert.equal((await s.post(fixture, { 'content-type': 'application/json; charset=utf-8' })).status, 200);
  });

  test('passes what the review function says is not an AdmissionReview through as 400', async (t) => {
    const s = await start(t);
    const reply = await s.post('{"kind":"Pod"}');
    assert.equal(reply.status, 400);
    assert.partialDeepStrictEqual(replyJson(reply), { kind: 'AdmissionReview', response: { allowed: false } });
    assert.equal(s.logs.lines.filter((l) => l.msg === 'review').length, 1, 'a bad review is logged once too');
  });

  test('answers a declared 1 MiB body over a 64 KiB limit with 413 stating the limit, and keeps serving', async (t) => {
    const s = await start(t);
    const reply = await s.post(Buffer.alloc(ONE_MIB, ' '));
    assertErrorReview(reply, 413, new RegExp(`limit of ${SMALL_LIMIT} bytes`));
    assert.equal(reply.headers.connection, 'close', 'the rest of a huge body is not read on a kept-alive connection');
    await assertHealthy(s);
    assert.equal((await s.post(fixture)).status, 200);
  });

  test('answers a chunked body with 413 once it streams past the limit, and keeps serving', async (t) => {
    const s = await start(t);
    const chunks = Array.from({ length: 16 }, () => Buffer.alloc(ONE_MIB / 16, ' '));
    assertErrorReview(await s.post(chunks), 413, new RegExp(`larger than the limit of ${SMALL_LIMIT} bytes`));
    await assertHealthy(s);
  });

  test('accepts a body of exactly maxBodyBytes and refuses one byte more', async (t) => {
    const s = await start(t);
    const padded = (size: number) => Buffer.concat([fixture, Buffer.alloc(size - fixture.length, ' ')]);
    assert.ok(fixture.length < SMALL_LIMIT);
    assert.equal((await s.post(padded(SMALL_LIMIT))).status, 200);
    assert.equal((await s.post(padded(SMALL_LIMIT + 1))).status, 413);
    const chunked = padded(SMALL_LIMIT);
    assert.equal((await s.post([chunked.subarray(0, 1000), chunked.subarray(1000)])).status, 200);
  });

  // A client that sends a large body in one write is still writing when the answer comes. One
  // that reads only once its write is done (as many do) must still find the whole answer.
  for (const chunked of [false, true]) {
    test(`answers a ${chunked ? 'chunked' : 'declared'} 16 MiB body written in one go with its 413 and JSON, to a client that reads after writing`, async (t) => {
      const s = await start(t, { config: { maxBodyBytes: DEFAULT_MAX_BODY_BYTES } });
      const sent = await writeThenRead(s.server.port, 16 * ONE_MIB, { chunked });
      assert.equal(sent.writeError, undefined, 'the server read the rest of the body instead of resetting the connection');
      assert.match(sent.received, /^HTTP\/1\.1 413 /);
      assert.match(sent.received, /\r\nconnection: close\r\n/i);
      const json = sent.received.slice(sent.received.indexOf('\r\n\r\n') + 4);
      assertErrorReview({ status: 413, headers: { 'content-type': 'application/json' }, text: json }, 413, /limit of 7340032 bytes/);
      await assertHealthy(s);
    });
  }

  test('stops reading what follows a refused body past four times maxBodyBytes, and the client still has its answer', async (t) => {
    const s = await start(t);
    const sent = await sendOnce(s.server.url, Buffer.alloc(16 * ONE_MIB, ' '));
    assert.ok(sent.reply, `no answer, the client saw ${sent.error ?? 'nothing'}`);
    assertErrorReview(sent.reply, 413, new RegExp(`limit of ${SMALL_LIMIT} bytes`));
    assert.ok(sent.error !== undefined, 'the connection was closed before the client had sent everything');
  });

  test('closes at once after a refused body that has all arrived, without waiting for the linger', async (t) => {
    const s = await start(t, { timeouts: { earlyAnswerLingerMs: 5_000 } });
    for (const body of [Buffer.alloc(SMALL_LIMIT + 1000, ' '), [Buffer.alloc(SMALL_LIMIT + 1000, ' ')]]) {
      const sent = await sendOnce(s.server.url, body);
      assert.equal(sent.error, undefined, 'a client that finished its request sees no reset');
      assert.ok(sent.reply);
      assertErrorReview(sent.reply, 413, /limit/);
      assert.ok(sent.closedAfterMs < 2_000, `closed after ${Math.round(sent.closedAfterMs)} ms`);
    }
  });

  test('closes the connection of a client that trickles its body after the answer, after earlyAnswerLingerMs', async (t) => {
    const s = await start(t, { timeouts: { earlyAnswerLingerMs: 300 } });
    const conn = await rawTls(s.server.port, tls.ca);
    conn.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${16 * ONE_MIB}\r\n\r\n`);
    const trickle = setInterval(() => conn.write(' '.repeat(1000)), 20);
    t.after(() => clearInterval(trickle));
    const started = performance.now();
    const received = await conn.closed(3_000);
    clearInterval(trickle);
    assert.ok(performance.now() - started >= 250, 'the server waited for the client to read the answer');
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.match(received, /"code":413/);
  });

  test('answers a declared body over the limit that expects 100-continue without inviting it', async (t) => {
    const s = await start(t);
    const conn = await rawTls(s.server.port, tls.ca);
    conn.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${ONE_MIB}\r\nExpect: 100-continue\r\n\r\n`);
    const received = await conn.closed(3_000);
    assert.match(received, /^HTTP\/1\.1 413 /, 'a final answer, not 100 Continue');
    const invited = await sendOnce(s.server.url, fixture, 'application/json', { expect: '100-continue' });
    assert.equal(invited.reply?.status, 200, 'a body within the limit is invited and reviewed');
  });

  test('answers a wrong content type on a 16 MiB body without reading it, and closes instead of reading it all', async (t) => {
    const s = await start(t);
    const sent = await sendOnce(s.server.url, Buffer.alloc(16 * ONE_MIB, ' '), 'text/plain');
    assert.ok(sent.reply, `no answer, the client saw ${sent.error ?? 'nothing'}`);
    assertErrorReview(sent.reply, 400, /contentType=text\/plain/);
    assert.equal(sent.reply.headers.connection, 'close');
  });

  test('answers a review function that throws as onRuleError says, for the same uid, with a log line', async (t) => {
    const explode = () => {
      throw new Error('rule exploded');
    };
    const allowing = await start(t, { review: explode });
    const allowed = await allowing.post(fixture);
    assert.equal(allowed.status, 200);
    assert.partialDeepStrictEqual(replyJson(allowed), { response: { uid: fixtureUid(), allowed: true } });
    const errors = allowing.logs.lines.filter((l) => l.msg === 'review threw; answered as onRuleError says');
    assert.equal(errors.length, 1);
    assert.match(JSON.stringify(errors[0]), /rule exploded/);

    const denying = await start(t, { review: explode, config: { mode: 'enforce', onRuleError: 'deny' } });
    const denied = await denying.post(fixture);
    assert.equal(denied.status, 200);
    assert.partialDeepStrictEqual(replyJson(denied), {
      response: { uid: fixtureUid(), allowed: false, status: { code: 403, message: 'endpoint-guard could not check this object (internal error; see its logs) and is set to deny then' } },
    });
    await assertHealthy(denying);
  });

  test('answers an unknown route with 404 JSON and a GET on /validate with 405', async (t) => {
    const s = await start(t);
    assertErrorReview(await s.get('/mutate-everything'), 404, /no route for GET \/mutate-everything/);
    const wrongMethod = await s.get('/validate');
    assertErrorReview(wrongMethod, 405, /use POST/);
    assert.equal(wrongMethod.headers.allow, 'POST');
  });

  test('drops a client that sends headers and then stalls, while answering others', async (t) => {
    const s = await start(t, { timeouts: { headersMs: 300, requestMs: 600, checkIntervalMs: 100 } });
    const stalled = await rawTls(s.server.port, tls.ca);
    t.after(() => stalled.destroy());
    stalled.write('POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"api');
    await assertHealthy(s);
    const answer = await stalled.closed(5_000);
    assert.match(answer, /^HTTP\/1\.1 408 /);
    await assertHealthy(s);
  });

  test('drops a client that never finishes its headers', async (t) => {
    const s = await start(t, { timeouts: { headersMs: 300, requestMs: 600, checkIntervalMs: 100 } });
    const stalled = await rawTls(s.server.port, tls.ca);
    t.after(() => stalled.destroy());
    stalled.write('GET /healthz HTTP/1.1\r\nHost: loc');
    await stalled.closed(5_000);
    await assertHealthy(s);
  });

  test('drops a client that opens TCP and never starts the TLS handshake', async (t) => {
    const s = await start(t, { timeouts: { handshakeMs: 300 } });
    const socket = connectTcp(s.server.port, '127.0.0.1');
    t.after(() => socket.destroy());
    socket.on('error', () => {});
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    const deadline = AbortSignal.timeout(5_000);
    await Promise.race([closed, once(deadline, 'abort').then(() => assert.fail('handshake never timed out'))]);
  });

  test('close() lets an in-flight review finish, then resolves', async (t) => {
    const s = await start(t);
    const inFlight = await rawTls(s.server.port, tls.ca);
    t.after(() => inFlight.destroy());
    const [head, rest] = [fixture.subarray(0, 100), fixture.subarray(100)];
    inFlight.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${fixture.length}\r\n\r\n${head.toString('utf8')}`);
    await delay(100); // the request is now being read
    let closed = false;
    const closing = s.server.close().then(() => (closed = true));
    await delay(100);
    assert.equal(closed, false, 'close() waits for the request in flight');
    inFlight.write(rest.toString('utf8'));
    const answer = await inFlight.closed(5_000);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /\r\nConnection: close\r\n/i);
    await closing;
    await assert.rejects(httpsRequest(`${s.server.url}/healthz`, { ca: tls.ca, timeoutMs: 2_000 }), /ECONNREFUSED/);
  });

  test('answers /readyz with 503 once shutting down', async (t) => {
    const s = await start(t);
    const conn = await rawTls(s.server.port, tls.ca);
    t.after(() => conn.destroy());
    conn.write('GET /readyz HTTP/1.1\r\nHost: localhost\r\n'); // a request under way is not an idle connection
    await delay(100);
    const closing = s.server.close();
    conn.write('\r\n');
    assert.match(await conn.closed(5_000), /^HTTP\/1\.1 503 [^]*shutting down$/);
    await closing;
  });

  test('close() resolves, and a second call resolves too', async (t) => {
    const s = await start(t);
    await assertHealthy(s);
    await s.server.close();
    await s.server.close();
  });

  test('rejects when the port is taken', async (t) => {
    const s = await start(t);
    const config: Config = { ...configSchema.parse({}), host: '127.0.0.1', port: s.server.port };
    await assert.rejects(createWebhookServer({ config, log: captureLog().log, tls }), /EADDRINUSE/);
  });
});

describe('development certificates', { timeout: 60_000 }, () => {
  test('generates a CA and a serving certificate for loopback and the Service DNS names', async () => {
    const pems = await generateCertificates('guard-system/endpoint-guard');
    const ca = new X509Certificate(pems.ca);
    const cert = new X509Certificate(pems.cert);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'signed by the CA');
    for (const host of ['localhost', 'endpoint-guard', 'endpoint-guard.guard-system', 'endpoint-guard.guard-system.svc', 'endpoint-guard.guard-system.svc.cluster.local']) {
      assert.equal(cert.checkHost(host, { wildcards: false, subject: 'never' }), host, `names ${host}`);
    }
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(cert.checkIP('::1'), '::1');
    assert.equal(cert.checkHost('other.guard-system.svc'), undefined);
    assert.ok(cert.checkPrivateKey(createPrivateKey(pems.key)), 'the key belongs to the certificate');
  });

  test('writes ca.crt, tls.crt and tls.key (mode 0600) into a new directory, then reuses them', async (t) => {
    const dir = join(await tempDir(t), 'nested', 'certs');
    const first = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(first.ok && first.generated);
    assert.equal((await stat(join(dir, KEY_FILE))).mode & 0o777, 0o600);
    const second = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(second.ok && !second.generated);
    assert.equal(second.cert, await readFile(join(dir, CERT_FILE), 'utf8'));
    assert.equal(second.cert, first.cert);
    assert.equal(second.ca, await readFile(join(dir, CA_FILE), 'utf8'));
  });

  test('refuses a certificate without its key, naming the missing file', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, CERT_FILE), tls.cert);
    const result = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(!result.ok);
    assert.match(result.message, new RegExp(`${join(dir, KEY_FILE).replace(/[.]/g, '\\.')} is missing`));
  });

  test('refuses a key without its certificate, naming the missing file', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, KEY_FILE), tls.key);
    const result = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(!result.ok);
    assert.match(result.message, /tls\.crt is missing/);
  });

  test('refuses a certificate file that is not PEM, naming it', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, CERT_FILE), 'not a certificate');
    await writeFile(join(dir, KEY_FILE), tls.key);
    const result = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(!result.ok);
    assert.match(result.message, /tls\.crt is not a PEM certificate/);
  });

  test('refuses a key file any user can read, naming it and what to run, and accepts one its group can read', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, CERT_FILE), tls.cert);
    await writeFile(join(dir, KEY_FILE), tls.key);
    const key = join(dir, KEY_FILE);
    await chmod(key, 0o644); // a Secret volume's default mode
    const refused = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(!refused.ok);
    assert.equal(refused.message, `${key} is a private key that any user can read or write (mode 0644): run chmod 600 ${key}, ` +
      "or for a Kubernetes Secret volume set defaultMode: 0440 with the Pod's securityContext.fsGroup (as deploy/ does)");
    await chmod(key, 0o440); // deploy/'s Secret volume: defaultMode 0440, group fsGroup
    assert.ok((await ensureDevCertificates(dir, SERVICE, captureLog().log)).ok);
  });

  test('refuses a key that does not belong to the certificate', async (t) => {
    const dir = await tempDir(t);
    const other = await generateCertificates(SERVICE);
    await writeFile(join(dir, CERT_FILE), tls.cert);
    await writeFile(join(dir, KEY_FILE), other.key);
    const result = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    assert.ok(!result.ok);
    assert.match(result.message, /tls\.key does not belong to the certificate in .*tls\.crt/);
  });
});

describe('endpoint-guard serve', { timeout: 60_000 }, () => {
  const NODE = 'node_modules/.bin/node';

  test('creates certificates, answers /healthz over verified HTTPS, and exits 0 on SIGTERM', async (t) => {
    const dir = join(await tempDir(t), 'certs');
    const port = await freePort();
    const child = spawn(NODE, ['src/cli.ts', 'serve', '--port', String(port), '--cert-dir', dir, '--log-level', 'info'], {
      env: { PATH: process.env.PATH ?? '', ENDPOINT_GUARD_METRICS_PORT: '0' }, // the default 9090 may be taken
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    const exited = exitOf(child);
    const listening = await waitForLine(child, (l) => l.msg === 'listening', 15_000);
    assert.equal(listening.port, port);
    const ca = await readFile(join(dir, CA_FILE), 'utf8');
    const reply = await httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca });
    assert.equal(reply.status, 200);
    const viaName = await httpsRequest(`https://localhost:${port}/readyz`, { ca });
    assert.equal(viaName.status, 200);
    child.kill('SIGTERM');
    assert.deepEqual(await withDeadline(exited, 10_000), { code: 0, signal: null });
  });

  test('exits 2 with a one-line message naming mode when --mode is not a mode', async () => {
    const { code, stderr } = await run(NODE, ['src/cli.ts', 'serve', '--mode', 'loud']);
    assert.equal(code, 2);
    assert.equal(stderr, 'endpoint-guard: config: mode (from --mode): Invalid option: expected one of "complain"|"enforce"|"off"\n');
  });

  test('exits 2 on an unknown flag', async () => {
    const { code, stderr } = await run(NODE, ['src/cli.ts', 'serve', '--listen', '0.0.0.0']);
    assert.equal(code, 2);
    assert.match(stderr, /^endpoint-guard serve: unknown option '--listen'; run 'endpoint-guard serve --help'\n$/);
  });

  test('exits 2 on an unknown command and 0 for --help and --version', async () => {
    assert.equal((await run(NODE, ['src/cli.ts', 'launch'])).code, 2);
    const help = await run(NODE, ['src/cli.ts', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /serve/);
    const version = await run(NODE, ['src/cli.ts', '--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });
});

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The config schema wants a port from 1 up, so the CLI test asks the kernel for a free one and
 * hands it over; another process could take it in between, which is unlikely enough on loopback.
 */
async function freePort(): Promise<number> {
  const probe = createTcpServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Reads the child's JSON log lines until one matches; fails with what it saw after `ms`. */
function waitForLine(child: ChildProcess, match: (line: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no matching log line in ${ms} ms; stdout: ${buffered} stderr: ${stderr}`)), ms);
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const text of buffered.split('\n').slice(0, -1)) {
        const line: unknown = JSON.parse(text);
        if (typeof line === 'object' && line !== null && match(Object.fromEntries(Object.entries(line)))) {
          clearTimeout(timer);
          resolve(Object.fromEntries(Object.entries(line)));
          return;
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before the line; stderr: ${stderr}`)));
  });
}

async function run(command: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  return { code: typeof code === 'number' ? code : null, stdout, stderr };
}

describe('policy over HTTPS, end to end', { timeout: 60_000 }, () => {
  /** A captured request carrying another object: what the apiserver would send for it. */
  const reviewOf = (object: unknown): string => {
    const captured = readAdmissionFixture('create-endpointslice-v1.json');
    return JSON.stringify({ ...captured, request: { ...(captured.request as object), object } });
  };
  const response = (reply: Reply) => {
    assert.equal(reply.status, 200);
    const body = replyJson(reply);
    assert.ok(typeof body === 'object' && body !== null && 'response' in body);
    return body.response as { allowed: boolean; warnings?: string[]; status?: { code: number; reason: string; message: string } };
  };
  const tooMany = reviewOf(slice({}, ipv4Endpoints(1001)));
  const controllerClaim = reviewOf(slice({ metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } }));
  const endpoints = JSON.stringify(readAdmissionFixture('create-endpoints-v1.json'));
  const DEPRECATION = 'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice';
  const config = { maxBodyBytes: 7 * ONE_MIB };

  test('complain mode allows a 1001-endpoint slice and a controller-claiming slice, with warnings', async (t) => {
    const s = await start(t, { config: { ...config, mode: 'complain' } });
    for (const body of [tooMany, controllerClaim]) {
      const r = response(await s.post(body));
      assert.equal(r.allowed, true);
      assert.ok((r.warnings ?? []).length > 0);
    }
    assert.ok(response(await s.post(endpoints)).warnings?.includes(DEPRECATION));
  });

  test('enforce mode rejects both with 403 Forbidden and still warns about Endpoints', async (t) => {
    const s = await start(t, { config: { ...config, mode: 'enforce' } });
    const limit = response(await s.post(tooMany));
    assert.equal(limit.allowed, false);
    assert.equal(limit.status?.code, 403);
    assert.equal(limit.status?.reason, 'Forbidden');
    assert.match(limit.status?.message ?? '', /endpoint-limit/);
    const claim = response(await s.post(controllerClaim));
    assert.equal(claim.allowed, false);
    assert.match(claim.status?.message ?? '', /managed-by-controller/);
    const deprecated = response(await s.post(endpoints));
    assert.equal(deprecated.allowed, true);
    assert.ok(deprecated.warnings?.includes(DEPRECATION));
  });

  test('bad bodies get 400 and 413, and the server answers reviews afterwards', async (t) => {
    const s = await start(t, { config: { mode: 'enforce', maxBodyBytes: SMALL_LIMIT } });
    assertErrorReview(await s.post('{"kind":'), 400, /not JSON/);
    assert.equal((await s.post(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }))).status, 400);
    assertErrorReview(await s.post(Buffer.alloc(2 * SMALL_LIMIT, 0x20)), 413, /limit/);
    assert.equal(response(await s.post(fixture)).allowed, true);
    await assertHealthy(s);
  });

  test('/mutate answers with a base64 JSON Patch that decodes, and no patch when nothing needs fixing', async (t) => {
    const s = await start(t, { config: { ...config, mode: 'complain' } });
    const mutate = (body: string) => httpsRequest(`${s.server.url}/mutate`, { ca: tls.ca, method: 'POST', headers: JSON_HEADERS, body });
    const unlabelled = reviewOf(slice({ metadata: { name: 'web-1' } }));
    const fixed = response(await mutate(unlabelled)) as { patchType?: string; patch?: string; warnings?: string[] };
    assert.equal(fixed.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(fixed.patch ?? '', 'base64').toString('utf8')), [
      { op: 'add', path: '/metadata/labels', value: { 'endpointslice.kubernetes.io/managed-by': 'endpoint-guard' } },
    ]);
    assert.match(fixed.warnings?.[0] ?? '', /^managed-by-missing: /);
    const untouched = response(await mutate(fixture.toString('utf8')));
    assert.deepEqual(Object.keys(untouched).sort(), ['allowed', 'uid']);
  });
});
