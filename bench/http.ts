// Throughput of endpoint-guard against the bare Node.js HTTPS ceiling, in the same run: both
// servers get the same certificate and payloads over keep-alive connections, alternating, each
// run bounded in time. The client verifies the certificate like the apiserver does.
// Usage: npm run bench:http [-- --seconds S] [--rounds R] [--connections C] [--json FILE]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/log.ts';
import { ensureDevCertificates } from '../src/server/tls.ts';
import { endpointsReview, sliceReview } from './payloads.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' }, connections: { type: 'string', default: '20' }, json: { type: 'string' } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
if (!(seconds > 0 && seconds <= 60 && rounds >= 1 && rounds <= 10 && connections >= 1 && connections <= 200)) {
  throw new Error('--seconds 0-60, --rounds 1-10 and --connections 1-200');
}
const MAX_SAMPLES = 5_000_000; // latencies kept per run: the bound on memory as well as on time

const payloads = [
  { name: '1-endpoint slice', body: sliceReview(1) },
  { name: '100-endpoint slice', body: sliceReview(100) },
  { name: '1000-endpoint slice', body: sliceReview(1000) },
  { name: 'Endpoints, 10 addresses', body: endpointsReview(10) },
];

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const address = s.address();
    s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
  });
});

const node = process.execPath;
const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const certs = await ensureDevCertificates(dir, 'endpoint-guard/endpoint-guard', createLogger('silent'));
if (!certs.ok) throw new Error(certs.message);
const ca = readFileSync(path.join(dir, 'ca.crt'));

const [barePort, guardPort] = [await freePort(), await freePort()];
const log = openSync(path.join(dir, 'server.log'), 'w'); // info-level logs, as in production, to a file
children.push(spawn(node, ['bench/bare-server.ts', String(barePort), dir], { stdio: 'ignore' }));
children.push(spawn(node, ['src/cli.ts', 'serve', '--port', String(guardPort), '--cert-dir', dir, '--mode', 'complain'], {
  stdio: ['ignore', log, log], env: { ...process.env, ENDPOINT_GUARD_METRICS_PORT: '0' },
}));
const targets = [
  { name: 'bare', url: `https://127.0.0.1:${barePort}/validate`, pid: children[0]?.pid },
  { name: 'endpoint-guard', url: `https://127.0.0.1:${guardPort}/validate`, pid: children[1]?.pid },
];

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, ca, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function ready(url: string): Promise<void> {
  const agent = new Agent({ ca });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await post(agent, url, sliceReview(1))) === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 10 s`);
}

async function load(url: string, body: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, ca });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && latencies.length < MAX_SAMPLES) {
      const start = performance.now();
      try {
        if ((await post(agent, url, body)) !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

const peakRssMiB = (pid: number | undefined): number => {
  const status = pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
};

for (const t of targets) await ready(t.url);
type Run = Awaited<ReturnType<typeof load>>;
const results = new Map<string, Run[]>();
for (let round = 0; round < rounds; round++) {
  for (const p of payloads) {
    // Alternate who goes first, so warm-up and machine noise fall on both.
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const key = `${p.name}|${t.name}`;
      results.set(key, [...(results.get(key) ?? []), await load(t.url, p.body)]);
    }
  }
}

const best = (runs: Run[] = []): Run => runs.reduce((a, b) => (b.rps > a.rps ? b : a), { rps: 0, p50: 0, p99: 0, errors: 0 });
const rows = payloads.map((p) => {
  const bare = best(results.get(`${p.name}|bare`));
  const guard = best(results.get(`${p.name}|endpoint-guard`));
  const errors = [...(results.get(`${p.name}|bare`) ?? []), ...(results.get(`${p.name}|endpoint-guard`) ?? [])].reduce((n, r) => n + r.errors, 0);
  return { payload: p.name, bytes: Buffer.byteLength(p.body), bare, guard, ratio: guard.rps / bare.rps, errors };
});
const rss = { bare: peakRssMiB(targets[0]?.pid), guard: peakRssMiB(targets[1]?.pid) };

console.log(`HTTPS, ${connections} keep-alive connections, best of ${rounds} runs of ${seconds}s each, Node ${process.version}`);
console.log('payload                   bytes   bare req/s  p50/p99 ms     guard req/s  p50/p99 ms     guard/bare  errors');
for (const r of rows) {
  const lat = (x: Run) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`.padStart(13);
  console.log(`${r.payload.padEnd(24)}${String(r.bytes).padStart(7)}  ${Math.round(r.bare.rps).toString().padStart(11)}  ${lat(r.bare)}  ${Math.round(r.guard.rps).toString().padStart(11)}  ${lat(r.guard)}  ${r.ratio.toFixed(2).padStart(10)}  ${String(r.errors).padStart(6)}`);
}
console.log(`peak RSS: bare ${rss.bare.toFixed(0)} MiB, endpoint-guard ${rss.guard.toFixed(0)} MiB`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ node: process.version, seconds, rounds, connections, rows, rss }, null, 2)}\n`);
for (const c of children) c.kill('SIGTERM');
process.exit(0);
