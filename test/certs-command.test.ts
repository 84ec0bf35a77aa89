// `endpoint-guard certs`: the files it writes verify as a chain for the Service's DNS names, the
// key is private, existing files are kept unless --force, and the printed kubectl lines name the
// Secret and webhook registrations that deploy/ really uses.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { Io } from '../src/cli.ts';
import { WEBHOOK_CONFIGURATION_NAME, certsCommand, runCerts } from '../src/server/certs-command.ts';
import { createWebhookServer } from '../src/server/app.ts';
import { configSchema } from '../src/config.ts';
import { CA_FILE, CERT_FILE, KEY_FILE } from '../src/server/tls.ts';
import { httpsRequest } from './helpers/https.ts';
import { captureLog } from './helpers/log.ts';
import { tempDir } from './helpers/temp.ts';

function io(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { env: {}, stdout: (text) => out.push(text), stderr: (text) => err.push(text), out, err };
}

const DAY_MS = 24 * 60 * 60 * 1000;

describe('endpoint-guard certs', { timeout: 30_000 }, () => {
  test('writes a CA and a certificate it signed for the Service DNS names, and a private key with mode 0600', async (t) => {
    const dir = join(await tempDir(t), 'out');
    const console = io();
    assert.equal(await runCerts({ out: dir, service: 'guard-system/guard', days: '30' }, console), 0);
    assert.deepEqual(console.err, []);

    const ca = new X509Certificate(await readFile(join(dir, CA_FILE)));
    const cert = new X509Certificate(await readFile(join(dir, CERT_FILE)));
    assert.ok(ca.ca, 'ca.crt is a CA');
    assert.ok(!cert.ca, 'tls.crt is not a CA');
    assert.ok(cert.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
    assert.equal(cert.checkIssued(ca), true);
    for (const name of ['guard.guard-system.svc', 'guard.guard-system.svc.cluster.local', 'guard.guard-system', 'guard']) {
      assert.equal(cert.checkHost(name), name, `the certificate is valid for ${name}`);
    }
    assert.equal(cert.checkHost('guard.other.svc'), undefined);
    assert.match(ca.subject, /CN=endpoint-guard CA [0-9a-f]{8}/);
    const days = (cert.validToDate.getTime() - Date.now()) / DAY_MS;
    assert.ok(days > 29.9 && days <= 30, `valid for 30 days, got ${days}`);

    const key = join(dir, KEY_FILE);
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    assert.ok(cert.checkPrivateKey(createPrivateKey(await readFile(key))));
  });

  test('prints a kubectl line for the Secret the Deployment mounts and patches for both webhook registrations', async (t) => {
    const dir = await tempDir(t);
    const out = join(dir, 'certs');
    const console = io();
    assert.equal(await runCerts({ out }, console), 0);
    const text = console.out.join('\n');
    const lines = text.split('\n');

    const deployment = readDeployYaml('base/deployment.yaml').find((d) => d.kind === 'Deployment');
    const volume = (deployment?.spec.template.spec.volumes as { secret?: { secretName: string } }[])[0];
    const secretLine = lines.find((l) => l.startsWith('kubectl create secret tls'));
    assert.equal(secretLine,
      `kubectl create secret tls ${volume?.secret?.secretName} --namespace endpoint-guard --cert=${join(out, CERT_FILE)} --key=${join(out, KEY_FILE)} ` +
      '--dry-run=client -o yaml | kubectl apply -f -');

    const caBundle = Buffer.from(await readFile(join(out, CA_FILE))).toString('base64');
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const line = lines.find((l) => l.startsWith(`kubectl patch ${kind} `));
      assert.ok(line, `a patch line for the ${kind}`);
      const patch = /-p '(.*)'$/.exec(line)?.[1];
      assert.deepEqual(JSON.parse(patch ?? ''), [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }]);
    }
    const names = readDeployYaml('base/webhook-configurations.yaml').map((d) => d.metadata.name);
    assert.deepEqual(names, [WEBHOOK_CONFIGURATION_NAME, WEBHOOK_CONFIGURATION_NAME]);
  });

  test('quotes a directory with spaces in the printed lines', async (t) => {
    const out = join(await tempDir(t), 'my certs');
    const console = io();
    assert.equal(await runCerts({ out }, console), 0);
    assert.ok(console.out.join('\n').includes(`--cert='${join(out, CERT_FILE)}'`));
  });

  test('the certificate serves HTTPS that a client verifies with ca.crt alone', async (t) => {
    const dir = await tempDir(t);
    assert.equal(await runCerts({ out: dir, service: 'endpoint-guard/endpoint-guard' }, io()), 0);
    const [cert, key, ca] = await Promise.all([CERT_FILE, KEY_FILE, CA_FILE].map((f) => readFile(join(dir, f), 'utf8')));
    const config = { ...configSchema.parse({}), port: 0 };
    const server = await createWebhookServer({ config, log: captureLog().log, tls: { cert: cert ?? '', key: key ?? '' } });
    t.after(() => server.close());
    const reply = await httpsRequest(`https://localhost:${server.port}/healthz`, { ca: ca ?? '' });
    assert.equal(reply.status, 200);
  });

  test('refuses to replace existing files without --force, and replaces them with it', async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, CERT_FILE), 'precious');
    const console = io();
    assert.equal(await runCerts({ out: dir }, console), 1);
    assert.match(console.err.join('\n'), /tls\.crt already exists; remove it, or pass --force to replace it/);
    assert.equal(await readFile(join(dir, CERT_FILE), 'utf8'), 'precious');
    await assert.rejects(stat(join(dir, CA_FILE)), /ENOENT/, 'nothing else was written either');

    assert.equal(await runCerts({ out: dir, force: true }, io()), 0);
    assert.match(await readFile(join(dir, CERT_FILE), 'utf8'), /BEGIN CERTIFICATE/);
    assert.equal((await stat(join(dir, KEY_FILE))).mode & 0o777, 0o600);
  });

  const usage: [name: string, values: Record<string, string | boolean>, message: RegExp][] = [
    ['no --out', {}, /--out DIR is required/],
    ['a Service without a namespace', { out: 'x', service: 'guard' }, /--service: must be NAMESPACE\/NAME in lower case, got "guard"/],
    ['0 days', { out: 'x', days: '0' }, /--days must be a whole number from 1 to 3650, got "0"/],
    ['days that are not a number', { out: 'x', days: 'ten' }, /--days must be a whole number/],
    ['more than ten years', { out: 'x', days: '3651' }, /--days must be a whole number from 1 to 3650/],
  ];
  for (const [name, values, message] of usage) {
    test(`exits 2 with one line for ${name}`, async () => {
      const console = io();
      assert.equal(await runCerts(values, console), 2);
      assert.equal(console.err.length, 1);
      assert.match(console.err[0] ?? '', message);
      assert.deepEqual(console.out, []);
    });
  }

  test('has a usage line and help for every option', () => {
    for (const option of Object.keys(certsCommand.options)) {
      assert.ok(certsCommand.usage.includes(`--${option}`), `usage names --${option}`);
      assert.match(certsCommand.help, new RegExp(`^  --${option}\\b`, 'm'));
    }
  });
});

interface Doc { kind: string; metadata: { name: string }; spec: { template: { spec: { volumes: unknown } } } }
const readDeployYaml = (path: string): Doc[] =>
  parseAllDocuments(readFileSync(new URL(`../deploy/${path}`, import.meta.url), 'utf8')).map((d) => d.toJS() as Doc);
