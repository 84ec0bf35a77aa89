// `endpoint-guard serve` as a process gets SIGTERM in the middle of a bounded load of real HTTPS
// reviews on 127.0.0.1: every request it accepted (its TLS handshake completed) must be answered
// with 200 and its own uid, readiness must turn false, the listener must close, and the process
// must exit 0. Also the `certs` command as the CLI runs it.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { connect as connectTcp, createServer as createTcpServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'node:https';
import { type TestContext, describe, test } from 'node:test';
import { CA_FILE } from '../src/server/tls.ts';
import { NODE, spawnCli, withDeadline } from './helpers/cli.ts';
import { readAdmissionFixture } from './helpers/fixtures.ts';
import { httpsRequest } from './helpers/https.ts';
import { type Attempt, attemptPost, runLoad } from './helpers/load.ts';
import { tempDir } from './helpers/temp.ts';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A captured review with its own uid, so each answer can be matched to its request. */
function reviewWithUid(fixture: string, uid: string): string {
  const captured = readAdmissionFixture(fixture);
  return JSON.stringify({ ...captured, request: { ...(captured.request as object), uid } });
}

const answeredUid = (text: string): unknown => {
  const body: unknown = JSON.parse(text);
  const response = typeof body === 'object' && body !== null && 'response' in body ? body.response : undefined;
  return typeof response === 'object' && response !== null && 'uid' in response ? response.uid : undefined;
};

describe('endpoint-guard serve and SIGTERM under load', { timeout: 90_000 }, () => {
  for (const delaySeconds of [0, 0.5]) {
    test(`answers every accepted request and exits 0 (shutdown delay ${delaySeconds} s)`, async (t) => {
      const dir = join(await tempDir(t), 'certs');
      const cli = spawnCli(t, ['serve', '--port', '0', '--metrics-port', '0', '--cert-dir', dir, '--log-level', 'info'], {
        ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS: String(delaySeconds),
      });
      const listening = await cli.waitForLine((l) => l.msg === 'listening', 15_000);
      const url = String(listening.url);
      const ca = await readFile(join(dir, CA_FILE), 'utf8');

      // Half the workers send a 1000-endpoint slice (a review of a few milliseconds), so there are
      // reviews in flight when the signal arrives. Each request opens its own connection: a
      // request counts as accepted once its TLS handshake completed.
      let answered = 0;
      let sigtermAt = Number.POSITIVE_INFINITY;
      const load = runLoad({
        workers: 6,
        maxRequests: 5_000,
        maxMs: 20_000,
        send: async (n, worker) => {
          const uid = `load-${n}`;
          const body = reviewWithUid(worker % 2 === 0 ? 'create-endpointslice-1000-endpoints.json' : 'create-endpointslice-v1.json', uid);
          const attempt = await attemptPost(`${url}/validate`, { ca, body });
          if (attempt.ok) answered += 1;
          return Object.assign(attempt, { uid });
        },
        // Once the listener is closed a worker's connection is refused (or reset before TLS): it stops.
        workerDone: (attempt) => !attempt.ok && !attempt.secured,
      });

      const deadline = performance.now() + 15_000;
      while (answered < 150 && performance.now() < deadline) await delay(10);
      assert.ok(answered >= 150, `only ${answered} requests answered before the signal`);
      sigtermAt = performance.now();
      cli.child.kill('SIGTERM');
      if (delaySeconds > 0) {
        const ready = await httpsRequest(`${url}/readyz`, { ca });
        assert.equal(ready.status, 503, 'readiness turns false at once');
      }

      const exit = await withDeadline(cli.exited, 20_000, 'exit after SIGTERM');
      const results = (await load) as (Attempt & { uid: string })[];
      assert.deepEqual(exit, { code: 0, signal: null }, cli.stderr());

      const accepted = results.filter((r) => r.ok || r.secured);
      const failed = accepted.filter((r) => !r.ok || r.status !== 200 || answeredUid(r.text) !== r.uid);
      assert.deepEqual(failed, [], `${failed.length} of ${accepted.length} accepted requests failed`);
      const refused = results.filter((r) => !r.ok && !r.secured);
      assert.ok(refused.length > 0, 'after the shutdown the listener refuses connections');
      for (const r of refused) assert.ok(r.endedAt > sigtermAt, 'nothing was refused before SIGTERM');
      const inFlight = accepted.filter((r) => r.startedAt < sigtermAt && r.endedAt > sigtermAt);
      assert.ok(inFlight.length > 0, 'some reviews were in flight when the signal came, and were answered');
      const afterSignal = accepted.filter((r) => r.startedAt > sigtermAt);
      if (delaySeconds > 0) assert.ok(afterSignal.length > 0, 'requests sent during the shutdown delay are answered');

      // The log tells the same story: a review line for every accepted request, then the stop.
      const logged = new Set(cli.lines.filter((l) => l.msg === 'review').map((l) => l.uid));
      for (const r of accepted) assert.ok(logged.has(r.uid), `review ${r.uid} is in the log`);
      const messages = cli.lines.map((l) => l.msg);
      assert.ok(messages.indexOf('shutting down') < messages.indexOf('stopped'));
      t.diagnostic(`${accepted.length} accepted (${inFlight.length} in flight at SIGTERM, ${afterSignal.length} sent after it), ` +
        `${refused.length} refused, exit ${exit.code}`);
    });
  }

  test('a second signal while draining exits at once with status 1', async (t) => {
    const dir = join(await tempDir(t), 'certs');
    const cli = spawnCli(t, ['serve', '--port', '0', '--metrics-port', '0', '--cert-dir', dir], {
      ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS: '30',
    });
    await cli.waitForLine((l) => l.msg === 'listening', 15_000);
    cli.child.kill('SIGTERM');
    await cli.waitForLine((l) => l.msg === 'shutting down', 5_000);
    cli.child.kill('SIGTERM');
    assert.deepEqual(await withDeadline(cli.exited, 5_000, 'exit after the second SIGTERM'), { code: 1, signal: null });
    // Logging is asynchronous: the line written just before process.exit() must still come out.
    assert.equal(cli.lines.at(-1)?.msg, 'second signal: exiting without waiting for requests in flight');
  });
});

describe('endpoint-guard serve when nothing reads its log', { timeout: 60_000 }, () => {
  const accepts = (port: number) => new Promise<boolean>((resolve) => {
    const socket = connectTcp(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  const freePort = () => new Promise<number>((resolve, reject) => {
    const probe = createTcpServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

  /**
   * Starts serve on a known port with its stdout a real pipe (a FIFO, as `serve | reader` and a
   * container runtime give it), whose reader the test chooses.
   */
  async function serve(t: TestContext, reader: 'head -1' | 'never reads') {
    const tmp = await tempDir(t);
    const dir = join(tmp, 'certs');
    const fifo = join(tmp, 'log');
    execFileSync('mkfifo', [fifo]);
    let stopReader: () => void;
    if (reader === 'head -1') {
      const head = spawn('head', ['-1', fifo], { stdio: 'ignore' });
      stopReader = () => head.kill('SIGKILL');
    } else {
      const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      stopReader = () => closeSync(fd);
    }
    t.after(() => stopReader());
    const stdout = openSync(fifo, 'w'); // returns once the reader has the FIFO open
    const port = await freePort();
    const child = spawn(NODE, ['src/cli.ts', 'serve', '--port', String(port), '--metrics-port', '0', '--cert-dir', dir], {
      env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', stdout, 'pipe'],
    });
    closeSync(stdout);
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const url = `https://127.0.0.1:${port}/validate`;
    const review = async (n: number, agent?: Agent) => httpsRequest(url, {
      ca: await readFile(join(dir, CA_FILE), 'utf8'), method: 'POST', headers: { 'content-type': 'application/json' },
      body: reviewWithUid('create-endpointslice-v1.json', `log-${n}`), ...(agent ? { agent } : {}),
    });
    /** Resolves once the port accepts connections; a TCP connection alone writes no log line. */
    const listening = async () => {
      const deadline = performance.now() + 15_000;
      while (!(await accepts(port))) {
        assert.ok(performance.now() < deadline, `nothing listens on ${port} after 15 s; stderr: ${stderr}`);
        await delay(100);
      }
    };
    return { child, exited, review, listening, dir, stderr: () => stderr };
  }

  test('exits 0 on SIGTERM after its log reader went away (serve | head -1)', async (t) => {
    const s = await serve(t, 'head -1'); // head exits after the first line: every later line meets a closed pipe (EPIPE)
    await s.listening();
    await delay(500); // the start-up lines have gone out, head has read one and exited
    s.child.kill('SIGTERM'); // the lines of the shutdown are the first to meet the closed pipe
    assert.deepEqual(await withDeadline(s.exited, 10_000, 'exit after SIGTERM with a closed log pipe'), { code: 0, signal: null }, s.stderr());
  });

  test('answers reviews after its log reader went away, and exits 0 on SIGTERM', async (t) => {
    const s = await serve(t, 'head -1');
    await s.listening();
    await delay(500); // the start-up lines have gone out, head has read one and exited
    for (let n = 0; n < 20; n++) assert.equal((await s.review(n)).status, 200, 'the server answers with its log gone');
    await delay(500); // a periodic flush has met the closed pipe
    s.child.kill('SIGTERM');
    assert.deepEqual(await withDeadline(s.exited, 10_000, 'exit after SIGTERM with a closed log pipe'), { code: 0, signal: null }, s.stderr());
    assert.match(s.stderr(), /the log output \(stdout\) was closed or failed \(EPIPE\)/);
  });

  test('exits 0 within its budget on SIGTERM while its log reader has stopped reading', async (t) => {
    const s = await serve(t, 'never reads'); // a stalled log shipper: the pipe fills and stays full
    await s.listening();
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: await readFile(join(s.dir, CA_FILE), 'utf8') });
    t.after(() => agent.destroy());
    // About 400 bytes a line: 1200 reviews write several times what a pipe holds (64 KiB).
    for (let n = 0; n < 1200; n += 4) {
      const answers = await Promise.all([0, 1, 2, 3].map((i) => s.review(n + i, agent)));
      for (const a of answers) assert.equal(a.status, 200);
    }
    agent.destroy();
    const signalled = performance.now();
    s.child.kill('SIGTERM');
    assert.deepEqual(await withDeadline(s.exited, 15_000, 'exit after SIGTERM with a full log pipe'), { code: 0, signal: null }, s.stderr());
    assert.ok(performance.now() - signalled < 5_000, 'the last lines are given a bounded time, not forever');
  });
});

describe('endpoint-guard certs, as a command', { timeout: 30_000 }, () => {
  const run = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(NODE, ['src/cli.ts', ...args], { timeout: 10_000, env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });

  test('is listed in --help, has its own help, and writes the files', async (t) => {
    assert.match((await run(['--help'])).stdout, /^ {2}certs +write a CA and a serving certificate/m);
    const help = await run(['certs', '--help']);
    assert.match(help.stdout, /^usage: endpoint-guard certs --out DIR/);
    const dir = join(await tempDir(t), 'certs');
    const certs = await run(['certs', '--out', dir, '--days', '10']);
    assert.equal(certs.code, 0, certs.stderr);
    assert.match(certs.stdout, /^kubectl create secret tls endpoint-guard-tls /m);
    assert.match(await readFile(join(dir, CA_FILE), 'utf8'), /BEGIN CERTIFICATE/);
    const usage = await run(['certs']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--out DIR is required/);
  });
});
