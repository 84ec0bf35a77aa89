// Certificate rotation: the certificate files change as a Secret volume changes them (the kubelet
// swaps a `..data` symlink), under a bounded load of real HTTPS reviews on 127.0.0.1, verified
// against the CAs. No request may fail, new connections must get the new certificate, and a
// broken pair must leave the old certificate in use.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { connect } from 'node:tls';
import { watchCertificates } from '../src/server/cert-watcher.ts';
import { type CertificatePems, CERT_FILE, KEY_FILE, generateCertificates } from '../src/server/tls.ts';
import { FIXTURES } from './helpers/fixtures.ts';
import { type Attempt, attemptPost, runLoad } from './helpers/load.ts';
import { captureLog } from './helpers/log.ts';
import { scrape, valueOf } from './helpers/prometheus.ts';
import { startTestServing } from './helpers/serving.ts';
import { tempDir } from './helpers/temp.ts';

const SERVICE = 'endpoint-guard/endpoint-guard';
const RELOAD_SECONDS = 0.05;
const review = await readFile(join(FIXTURES, 'admission', 'create-endpointslice-v1.json'), 'utf8');

/**
 * A directory laid out like a Secret volume: tls.crt and tls.key are symlinks through `..data`,
 * which points at a timestamped directory. publish() writes a new timestamped directory and swaps
 * `..data` with one rename, as the kubelet's atomic writer does.
 */
async function secretVolume(dir: string, first: CertificatePems) {
  let generation = 0;
  const publish = async (files: { cert: string; key: string }) => {
    generation += 1;
    const version = `..2026_01_01_00_00_0${generation}`;
    await mkdir(join(dir, version));
    await writeFile(join(dir, version, CERT_FILE), files.cert);
    await writeFile(join(dir, version, KEY_FILE), files.key, { mode: 0o600 });
    await symlink(version, join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  await publish(first);
  await symlink(join('..data', CERT_FILE), join(dir, CERT_FILE));
  await symlink(join('..data', KEY_FILE), join(dir, KEY_FILE));
  return { publish };
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** The certificate a brand-new connection is given. */
function newConnectionFingerprint(port: number, ca: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [...ca], servername: 'localhost' }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('no TLS handshake within 5 s')));
    socket.once('error', reject);
  });
}

async function until(what: string, ms: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what} did not happen within ${ms} ms`);
}

function assertAllAnswered(results: readonly Attempt[]): void {
  const failed = results.filter((r) => !r.ok || r.status !== 200);
  assert.deepEqual(failed, [], `${failed.length} of ${results.length} requests failed`);
  for (const r of results) if (r.ok) assert.match(r.text, /"kind":"AdmissionReview"/);
}

describe('certificate rotation', { timeout: 60_000 }, () => {
  test('serves a replaced Secret to new connections under load, with no failed request', async (t) => {
    const dir = await tempDir(t);
    const [first, second] = await Promise.all([generateCertificates(SERVICE), generateCertificates(SERVICE)]);
    const volume = await secretVolume(dir, first);
    const s = await startTestServing(t, { certDir: dir, certReloadSeconds: RELOAD_SECONDS });
    const cas = [first.ca, second.ca]; // the caBundle holds both CAs while the Secret changes
    assert.equal(await newConnectionFingerprint(s.serving.port, cas), fingerprintOf(first.cert));

    // Two kinds of clients: a new connection per request, and one kept-alive connection per worker.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
    t.after(() => keepAlive.destroy());
    let published = false;
    let rotatedSeen = 0;
    const load = runLoad({
      workers: 4,
      maxRequests: 3_000,
      maxMs: 10_000,
      // Keep going until 30 requests have been answered with the new certificate.
      stop: () => rotatedSeen >= 30,
      send: async (n, worker) => {
        const attempt = await attemptPost(`${s.serving.url}/validate`, { ca: cas, body: review, ...(worker % 2 === 0 ? { agent: keepAlive } : {}) });
        if (attempt.ok && attempt.fingerprint === fingerprintOf(second.cert)) rotatedSeen += 1;
        if (n === 100 && !published) {
          published = true;
          await volume.publish(second);
        }
        return attempt;
      },
    });
    const results = await load;
    assert.ok(published, 'the Secret was replaced during the load');
    assertAllAnswered(results);
    const fingerprints = new Set(results.map((r) => (r.ok ? r.fingerprint : '')));
    assert.deepEqual(fingerprints, new Set([fingerprintOf(first.cert), fingerprintOf(second.cert)]), 'answers came with the old certificate, then the new one');
    assert.ok(rotatedSeen >= 30, `only ${rotatedSeen} answers with the new certificate in ${results.length} requests`);

    assert.equal(await newConnectionFingerprint(s.serving.port, cas), fingerprintOf(second.cert));
    assert.equal(await newConnectionFingerprint(s.serving.port, [second.ca]), fingerprintOf(second.cert), 'the new CA alone is enough now');
    assert.equal(s.logs.lines.filter((l) => l.msg === 'loaded new serving certificate').length, 1);
    const { samples } = await scrape(s.serving.metricsUrl ?? assert.fail('no metrics'));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'loaded' }), 1);
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_expiry_timestamp_seconds'),
      Math.floor(new X509Certificate(second.cert).validToDate.getTime() / 1000));
  });

  test('keeps the certificate in use when the new pair is broken, logs it once, and takes the next good pair', async (t) => {
    const dir = await tempDir(t);
    const [first, second, third] = await Promise.all([generateCertificates(SERVICE), generateCertificates(SERVICE), generateCertificates(SERVICE)]);
    const volume = await secretVolume(dir, first);
    const s = await startTestServing(t, { certDir: dir, certReloadSeconds: RELOAD_SECONDS });
    const cas = [first.ca, second.ca, third.ca];
    const rejectedLines = () => s.logs.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('certificate files changed but cannot be used'));

    await volume.publish({ cert: second.cert, key: third.key }); // a key that belongs to another certificate
    await until('the broken pair is logged', 5_000, () => rejectedLines().length > 0);
    const results = await runLoad({
      workers: 2, maxRequests: 40, maxMs: 5_000,
      send: () => attemptPost(`${s.serving.url}/validate`, { ca: cas, body: review }),
    });
    assertAllAnswered(results);
    assert.ok(results.every((r) => r.ok && r.fingerprint === fingerprintOf(first.cert)), 'the old certificate is still served');
    assert.equal(rejectedLines().length, 1, 'logged once, not on every tick');
    assert.match(String(rejectedLines()[0]?.reason), /tls\.key does not belong to the certificate in .*tls\.crt/);

    await volume.publish({ cert: 'not a certificate', key: third.key });
    await until('the second broken pair is logged', 5_000, () => rejectedLines().length > 1);
    assert.match(String(rejectedLines()[1]?.reason), /tls\.crt is not a PEM certificate/);

    await volume.publish(third);
    await until('the good pair is served', 5_000, async () => (await newConnectionFingerprint(s.serving.port, cas)) === fingerprintOf(third.cert));
    const { samples } = await scrape(s.serving.metricsUrl ?? assert.fail('no metrics'));
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'rejected' }), 2);
    assert.equal(valueOf(samples, 'endpoint_guard_certificate_reloads_total', { certificate: 'serving', result: 'loaded' }), 1);
  });
});

describe('watchCertificates', () => {
  test('does nothing while the files hold the pair in use', async (t) => {
    const dir = await tempDir(t);
    const pems = await generateCertificates(SERVICE);
    await writeFile(join(dir, CERT_FILE), pems.cert);
    await writeFile(join(dir, KEY_FILE), pems.key, { mode: 0o600 });
    const applied: string[] = [];
    const watcher = watchCertificates({
      certFile: join(dir, CERT_FILE), keyFile: join(dir, KEY_FILE), current: pems, intervalMs: 60_000, log: captureLog().log,
      apply: (pair) => applied.push(pair.cert),
    });
    t.after(() => watcher.close());
    await watcher.check();
    await watcher.check();
    assert.deepEqual(applied, []);
  });

  test('rejects a missing key file and a pair the server refuses, keeping the pair in use', async (t) => {
    const dir = await tempDir(t);
    const [first, second] = await Promise.all([generateCertificates(SERVICE), generateCertificates(SERVICE)]);
    await writeFile(join(dir, CERT_FILE), second.cert);
    const results: string[] = [];
    const logs = captureLog();
    let refuse = true;
    const watcher = watchCertificates({
      certFile: join(dir, CERT_FILE), keyFile: join(dir, KEY_FILE), current: first, intervalMs: 60_000, log: logs.log,
      apply: () => {
        if (refuse) throw new Error('unsupported key');
      },
      onReload: (result) => results.push(result),
    });
    t.after(() => watcher.close());
    await watcher.check(); // the key is not there yet: half a Secret
    assert.deepEqual(results, ['rejected']);
    await writeFile(join(dir, KEY_FILE), second.key, { mode: 0o600 });
    await watcher.check(); // the server throws on it
    assert.deepEqual(results, ['rejected', 'rejected']);
    assert.match(String(logs.lines.at(-1)?.reason), /unsupported key/);
    refuse = false;
    await writeFile(join(dir, KEY_FILE), `${second.key}\n`); // the same pair, other bytes: read again
    await watcher.check();
    assert.deepEqual(results, ['rejected', 'rejected', 'loaded']);
  });

  test('rejects a new key file that any user can read, naming it and what to run', async (t) => {
    const dir = await tempDir(t);
    const [first, second] = await Promise.all([generateCertificates(SERVICE), generateCertificates(SERVICE)]);
    await writeFile(join(dir, CERT_FILE), second.cert);
    await writeFile(join(dir, KEY_FILE), second.key, { mode: 0o644 });
    await chmod(join(dir, KEY_FILE), 0o644); // whatever the umask
    const logs = captureLog();
    const results: string[] = [];
    const watcher = watchCertificates({
      certFile: join(dir, CERT_FILE), keyFile: join(dir, KEY_FILE), current: first, intervalMs: 60_000, log: logs.log,
      apply: () => assert.fail('a key readable by anyone must not be applied'),
      onReload: (result) => results.push(result),
    });
    t.after(() => watcher.close());
    await watcher.check();
    assert.deepEqual(results, ['rejected']);
    assert.match(String(logs.lines.at(-1)?.reason), new RegExp(`${join(dir, KEY_FILE)} is a private key that any user can read or write \\(mode 0644\\): run chmod 600`));
  });

  test('rejects a new certificate that has already expired', async (t) => {
    const dir = await tempDir(t);
    const [first, expired] = await Promise.all([
      generateCertificates(SERVICE),
      generateCertificates(SERVICE, { now: new Date(Date.now() - 10 * 24 * 3600 * 1000), days: 1 }),
    ]);
    await writeFile(join(dir, CERT_FILE), expired.cert);
    await writeFile(join(dir, KEY_FILE), expired.key, { mode: 0o600 });
    const logs = captureLog();
    const watcher = watchCertificates({
      certFile: join(dir, CERT_FILE), keyFile: join(dir, KEY_FILE), current: first, intervalMs: 60_000, log: logs.log,
      apply: () => assert.fail('an expired certificate must not be applied'),
    });
    t.after(() => watcher.close());
    await watcher.check();
    assert.match(String(logs.lines.at(-1)?.reason), /expired at /);
  });
});
