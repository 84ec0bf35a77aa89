// TLS as issue 8 asks: client certificates with --client-ca (good, missing, signed by another CA),
// TLS 1.2 with AEAD suites only, and both kept when a rotated serving certificate is loaded.
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { type ConnectionOptions, connect } from 'node:tls';
import { generate } from 'selfsigned';
import { configSchema } from '../src/config.ts';
import { createWebhookServer } from '../src/server/app.ts';
import { startServing } from '../src/server/serve.ts';
import { ensureDevCertificates, generateCertificates } from '../src/server/tls.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { httpsRequest, replyJson } from './helpers/https.ts';
import { captureLog } from './helpers/log.ts';
import { scrape, valueOf } from './helpers/prometheus.ts';
import { startTestServing } from './helpers/serving.ts';
import { tempDir } from './helpers/temp.ts';

const FIXTURE = readAdmissionFixture('create-endpointslice-v1.json');
const UID = (FIXTURE.request as { uid: string }).uid;
const SERVICE = 'endpoint-guard/endpoint-guard';

/** A CA that keeps its key, and a client certificate it signed, as for the apiserver's kubeconfig. */
async function clientPki(name: string) {
  const common = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const;
  const ca = await generate([{ name: 'commonName', value: `${name} CA` }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
    ],
  });
  const client = await generate([{ name: 'commonName', value: 'kube-apiserver' }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  });
  return { ca: ca.cert, client: { cert: client.cert, key: client.private } };
}

const post = (url: string, ca: string, clientCert?: { cert: string; key: string }) =>
  httpsRequest(`${url}/validate`, {
    ca, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(FIXTURE), ...(clientCert ? { clientCert } : {}),
  });

/** Resolves with the protocol and cipher of a completed handshake, or the error that ended it. */
function handshake(port: number, ca: string, options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string } | Error> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('handshake took over 5 s')));
    socket.on('error', resolve);
  });
}

describe('client certificates (clientCa)', { timeout: 60_000 }, () => {
  async function startWithClientCa(t: TestContext) {
    const pki = await clientPki('apiserver clients');
    const clientCa = join(await tempDir(t), 'client-ca.crt');
    await writeFile(clientCa, pki.ca);
    const s = await startTestServing(t, { clientCa });
    return { s, pki };
  }

  test('a client certificate signed by clientCa is answered', async (t) => {
    const { s, pki } = await startWithClientCa(t);
    const reply = await post(s.serving.url, s.ca, pki.client);
    assert.equal(reply.status, 200);
    assert.partialDeepStrictEqual(replyJson(reply), { response: { uid: UID, allowed: true } });
  });

  test('a client without a certificate is refused in the handshake', async (t) => {
    const { s } = await startWithClientCa(t);
    await assert.rejects(post(s.serving.url, s.ca), (err: Error) => !/got no answer/.test(err.message));
    const { samples } = await scrape(`${s.serving.metricsUrl}`);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'tls-error' }), 1);
    assert.equal(valueOf(samples, 'endpoint_guard_connections_dropped_total', { reason: 'bad-http' }), 0);
  });

  test('a client certificate signed by another CA is refused in the handshake', async (t) => {
    const { s } = await startWithClientCa(t);
    const stranger = await clientPki('someone else');
    await assert.rejects(post(s.serving.url, s.ca, stranger.client), (err: Error) => !/got no answer/.test(err.message));
  });

  test('without clientCa no client certificate is asked for', async (t) => {
    const s = await startTestServing(t);
    assert.equal((await post(s.serving.url, s.ca)).status, 200);
  });

  test('refuses to start when clientCa is missing or not a certificate, naming the file', async (t) => {
    const dir = await tempDir(t);
    const missing = join(dir, 'nope.crt');
    const base = { ...configSchema.parse({}), certDir: join(dir, 'certs'), port: 0, metrics: false };
    const absent = await startServing({ ...base, clientCa: missing }, captureLog().log);
    assert.deepEqual(absent, { ok: false, message: `clientCa: cannot read ${missing}: no such file` });
    const garbage = join(dir, 'garbage.crt');
    await writeFile(garbage, 'not a certificate');
    const bad = await startServing({ ...base, clientCa: garbage }, captureLog().log);
    assert.ok(!bad.ok);
    assert.match(bad.message, new RegExp(`^clientCa: ${garbage} is not a PEM certificate`));
  });
});

describe('client CA reload', { timeout: 60_000 }, () => {
  const RELOAD_SECONDS = 0.05;
  /** Replaces the file in one rename, as a ConfigMap volume's swap does: never half written. */
  const replace = async (file: string, text: string) => {
    await writeFile(`${file}.next`, text);
    await rename(`${file}.next`, file);
  };
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + 10_000;
    while (!(await check())) {
      assert.ok(performance.now() < deadline, `${what} did not happen within 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const answered = (url: string, ca: string, client: { cert: string; key: string }) =>
    post(url, ca, client).then((r) => r.status === 200, () => false);

  test('takes a changed clientCa file for new connections, logs it and counts it', async (t) => {
    const [first, second] = await Promise.all([clientPki('first clients'), clientPki('second clients')]);
    const clientCa = join(await tempDir(t), 'client-ca.crt');
    await writeFile(clientCa, first.ca);
    const s = await startTestServing(t, { clientCa, certReloadSeconds: RELOAD_SECONDS });
    assert.equal((await post(s.serving.url, s.ca, first.client)).status, 200);
    assert.equal(await answered(s.serving.url, s.ca, second.client), false, 'a client of the second CA is refused at first');

    await replace(clientCa, second.ca);
    await until('the second CA taking over', () => answered(s.serving.url, s.ca, second.client));
    assert.equal(await answered(s.serving.url, s.ca, first.client), false, 'the first CA is no longer trusted');
    assert.ok(s.logs.lines.some((l) => l.msg === 'loaded new client CA' && l.clientCaFile === clientCa));
    const { samples } = await scrape(String(s.serving.metricsUrl));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'client-ca', result: 'loaded' }), 1);
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'loaded' }), 0);
  });

  test('keeps the client CA in use when the file turns into something else, and says so once', async (t) => {
    const pki = await clientPki('apiserver clients');
    const clientCa = join(await tempDir(t), 'client-ca.crt');
    await writeFile(clientCa, pki.ca);
    const s = await startTestServing(t, { clientCa, certReloadSeconds: RELOAD_SECONDS });
    await replace(clientCa, 'not a certificate');
    const kept = () => s.logs.lines.filter((l) => l.msg === 'client CA file changed but cannot be used; keeping the client CA in use');
    await until('the broken file being logged', async () => kept().length > 0);
    await new Promise((resolve) => setTimeout(resolve, 10 * RELOAD_SECONDS * 1000)); // ten more ticks
    assert.equal(kept().length, 1, 'logged once, not on every tick');
    assert.match(String(kept()[0]?.reason), new RegExp(`^clientCa: ${clientCa} is not a PEM certificate`));
    assert.equal((await post(s.serving.url, s.ca, pki.client)).status, 200, 'the CA in use still verifies its clients');
    const { samples } = await scrape(String(s.serving.metricsUrl));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'client-ca', result: 'rejected' }), 1);
  });
});

describe('protocol and cipher suites', { timeout: 60_000 }, () => {
  test('TLS 1.3 and TLS 1.2 with an AEAD suite are accepted; a CBC suite is refused', async (t) => {
    const s = await startTestServing(t);
    assert.partialDeepStrictEqual(await handshake(s.serving.port, s.ca, {}), { protocol: 'TLSv1.3' });
    assert.deepEqual(await handshake(s.serving.port, s.ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }),
      { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    const cbc = await handshake(s.serving.port, s.ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256' });
    assert.ok(cbc instanceof Error, 'a CBC suite is refused');
  });

  test('a reloaded serving certificate keeps the suites and the client CA', async (t) => {
    const dir = await tempDir(t);
    const first = await ensureDevCertificates(dir, SERVICE, captureLog().log);
    if (!first.ok) throw new Error(first.message);
    const pki = await clientPki('apiserver clients');
    const config = { ...configSchema.parse({}), host: '127.0.0.1', port: 0 };
    const server = await createWebhookServer({ config, log: captureLog().log, tls: { cert: first.cert, key: first.key, clientCa: pki.ca } });
    t.after(() => server.close());
    const next = await generateCertificates(SERVICE);
    server.setCertificate(next);

    assert.equal((await post(server.url, next.ca, pki.client)).status, 200);
    await assert.rejects(post(server.url, next.ca), (err: Error) => !/got no answer/.test(err.message));
    const cbc = await handshake(server.port, next.ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256', ...pki.client });
    assert.ok(cbc instanceof Error, 'a CBC suite is still refused');
  });
});
