// Throughput of endpoint-guard against the bare Node.js HTTPS ceiling, in the same run: both
// servers run in child processes of their own with the same certificate, get the same payloads
// over keep-alive connections, take turns (who goes first alternates), and every run is bounded
// in time and count. The client verifies the certificate as the apiserver does.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/log.ts';
import { ensureDevCertificates } from '../src/server/tls.ts';
import { endpointsReview, sliceReview } from './payloads.ts';

export interface HttpOptions {
  readonly seconds: number;
  readonly rounds: number;
  readonly connections: number;
  /** endpoint-guard's `workers` setting. */
  readonly workers: number;
  /** Write a CPU profile of each server (node --cpu-prof) into DIR/bare and DIR/endpoint-guard. */
  readonly profileDir?: string | undefined;
  /** Only this payload (a key of PAYLOADS: 1, 100, 1000, endpoints); all when undefined. */
  readonly payload?: string | undefined;
}

interface Run {
  readonly rps: number; readonly p50: number; readonly p99: number; readonly errors: number;
  /** CPU time (user + system, all threads and workers) the server spent per request, in microseconds. */
  readonly cpuUs: number;
}
export interface HttpRow {
  readonly payload: string;
  readonly bytes: number;
  /** Medians over the rounds. */
  readonly bare: Run;
  readonly guard: Run;
  /** guard/bare req/s of each round (both measured one after the other), sorted. */
  readonly ratios: number[];
}
export interface HttpResult {
  readonly rows: HttpRow[];
  /** Peak resident memory (VmHWM) of each server process tree in MiB; for workers, the sum of the processes' peaks. */
  readonly rssMiB: { readonly bare: number; readonly guard: number };
}

/** What the image (Dockerfile) sets: the benchmark runs both servers as the image runs endpoint-guard. */
export const IMAGE_NODE_OPTIONS = '--max-semi-space-size=8';
const MAX_SAMPLES = 2_000_000; // latencies kept per run: the bound on memory as well as on time

export const PAYLOADS = [
  { key: '1', name: '1-endpoint slice', body: sliceReview(1) },
  { key: '100', name: '100-endpoint slice', body: sliceReview(100) },
  { key: '1000', name: '1000-endpoint slice', body: sliceReview(1000) },
  { key: 'endpoints', name: 'Endpoints, 10 addresses', body: endpointsReview(10) },
];

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const address = s.address();
    s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
  });
});

function post(agent: Agent, url: string, body: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function ready(url: string, ca: Buffer): Promise<void> {
  const agent = new Agent({ ca });
  for (let i = 0; i < 150; i++) {
    try {
      if ((await post(agent, url, sliceReview(1), ca)) === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 15 s`);
}

async function load(url: string, pid: number | undefined, body: string, ca: Buffer, options: HttpOptions): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, ca });
  const cpuBefore = cpuMicros(pid);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline && latencies.length < MAX_SAMPLES) {
      const start = performance.now();
      try {
        if ((await post(agent, url, body, ca)) !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const cpuUs = (cpuMicros(pid) - cpuBefore) / Math.max(1, latencies.length);
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), errors, cpuUs };
}

/** User + system CPU time of a server process tree so far, in microseconds (Linux clock ticks of 10 ms). */
const cpuMicros = (pid: number | undefined): number => (pid === undefined ? 0 : processTree(pid).reduce((sum, p) => {
  const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return sum + (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10_000;
}, 0));

/** The process and, for a cluster, its workers. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}
const peakRssMiB = (pid: number | undefined): number => (pid === undefined ? 0 : processTree(pid).reduce((sum, p) => {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
  return sum + kb / 1024;
}, 0));

const medianOf = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const medianRun = (runs: readonly Run[]): Run => ({
  rps: medianOf(runs.map((r) => r.rps)), p50: medianOf(runs.map((r) => r.p50)), p99: medianOf(runs.map((r) => r.p99)),
  errors: runs.reduce((n, r) => n + r.errors, 0), cpuUs: medianOf(runs.map((r) => r.cpuUs)),
});

function stopGracefully(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function runHttp(options: HttpOptions): Promise<HttpResult> {
  const node = process.execPath;
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-bench-'));
  const children: ChildProcess[] = [];
  const cleanUp = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  try {
    const certs = await ensureDevCertificates(dir, 'endpoint-guard/endpoint-guard', createLogger('silent'));
    if (!certs.ok) throw new Error(certs.message);
    const ca = readFileSync(path.join(dir, 'ca.crt'));

    const [barePort, guardPort] = [await freePort(), await freePort()];
    const log = openSync(path.join(dir, 'server.log'), 'w'); // info-level logs, as in production, to a file
    const env = { ...process.env, NODE_OPTIONS: IMAGE_NODE_OPTIONS, ENDPOINT_GUARD_METRICS_PORT: '0' };
    const profile = (name: string) => (options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, name)}`] : []);
    const bare = spawn(node, [...profile('bare'), 'bench/bare-server.ts', String(barePort), dir], { stdio: 'ignore', env });
    // dist/ is what the image runs (`npm run bench` builds it first): no type stripping at start-up.
    const guard = spawn(node, [...profile('endpoint-guard'), 'dist/cli.js', 'serve', '--port', String(guardPort), '--cert-dir', dir, '--mode', 'complain', '--workers', String(options.workers)], {
      stdio: ['ignore', log, log], env,
    });
    children.push(bare, guard);
    const targets = [
      { name: 'bare', url: `https://127.0.0.1:${barePort}/validate`, pid: bare.pid },
      { name: 'endpoint-guard', url: `https://127.0.0.1:${guardPort}/validate`, pid: guard.pid },
    ] as const;
    for (const t of targets) await ready(t.url, ca);

    const payloads = PAYLOADS.filter((p) => options.payload === undefined || p.key === options.payload);
    const runs = new Map<string, Run[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const p of payloads) {
        // Alternate who goes first, so warm-up and machine noise fall on both.
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
          const key = `${p.name}|${t.name}`;
          runs.set(key, [...(runs.get(key) ?? []), await load(t.url, t.pid, p.body, ca, options)]);
        }
      }
    }
    const rows = payloads.map((p): HttpRow => {
      const bareRuns = runs.get(`${p.name}|bare`) ?? [];
      const guardRuns = runs.get(`${p.name}|endpoint-guard`) ?? [];
      const ratios = guardRuns.map((g, i) => g.rps / (bareRuns[i]?.rps ?? Number.NaN)).sort((a, b) => a - b);
      return { payload: p.name, bytes: Buffer.byteLength(p.body), bare: medianRun(bareRuns), guard: medianRun(guardRuns), ratios };
    });
    const result = { rows, rssMiB: { bare: peakRssMiB(bare.pid), guard: peakRssMiB(guard.pid) } };
    // A profile is written when the process exits on its own: SIGTERM, then up to 10 s.
    if (options.profileDir) await Promise.all([bare, guard].map((c) => stopGracefully(c, 10_000)));
    return result;
  } finally {
    process.off('exit', cleanUp);
    cleanUp();
  }
}

export function printHttp(result: HttpResult, options: HttpOptions): void {
  const { seconds, rounds, connections, workers } = options;
  console.log(`HTTPS, ${connections} keep-alive connections, ${rounds} rounds of ${seconds}s per server and payload, endpoint-guard workers: ${workers}`);
  console.log('medians over the rounds; guard/bare: median of the rounds (lowest-highest)');
  console.log('CPU us/req: server CPU time per request (all threads), bare/guard; it moves less with the machine than req/s');
  console.log('payload                   bytes   bare req/s  p50/p99 ms     guard req/s  p50/p99 ms     guard/bare        CPU us/req  errors');
  for (const r of result.rows) {
    const lat = (x: Run) => `${x.p50.toFixed(2)}/${x.p99.toFixed(2)}`.padStart(13);
    const ratio = `${medianOf(r.ratios).toFixed(2)} (${(r.ratios[0] ?? 0).toFixed(2)}-${(r.ratios.at(-1) ?? 0).toFixed(2)})`;
    const cpu = `${Math.round(r.bare.cpuUs)}/${Math.round(r.guard.cpuUs)}`;
    console.log(`${r.payload.padEnd(24)}${String(r.bytes).padStart(7)}  ${Math.round(r.bare.rps).toString().padStart(11)}  ${lat(r.bare)}  ${Math.round(r.guard.rps).toString().padStart(11)}  ${lat(r.guard)}  ${ratio.padStart(16)}  ${cpu.padStart(10)}  ${String(r.bare.errors + r.guard.errors).padStart(6)}`);
  }
  console.log(`peak RSS: bare ${result.rssMiB.bare.toFixed(0)} MiB, endpoint-guard ${result.rssMiB.guard.toFixed(0)} MiB${workers > 1 ? ` (${workers + 1} processes, sum of their peaks)` : ''}`);
}
