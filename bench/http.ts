// Server CPU time per request of endpoint-guard against a bare Node.js HTTPS server, in the same
// run: both servers run in child processes of their own with the same certificate, get the same
// payloads over keep-alive connections from a load generator light enough to keep the bare
// server's main thread busy (load.ts; it verifies the certificate as the apiserver does), take
// turns (who goes first alternates), and every run is bounded in time and count.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/log.ts';
import { ensureDevCertificates } from '../src/server/tls.ts';
import { runLoad } from './load.ts';
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
  /** The share of the round its busiest main thread (event loop) was on a CPU: 1 is saturated. */
  readonly busy: number;
  /** Peak resident memory so far in MiB (VmHWM), summed over the process tree: the servers are new for each payload. */
  readonly rssMiB: number;
}
export interface HttpRow {
  readonly payload: string;
  readonly bytes: number;
  /** Medians over the rounds. */
  readonly bare: Run;
  readonly guard: Run;
  /** bare/guard CPU time per request of each round (both measured one after the other), sorted. */
  readonly cpuRatios: number[];
  /** guard/bare req/s of each round, sorted. */
  readonly ratios: number[];
}
export interface HttpResult {
  readonly rows: HttpRow[];
  /** The machine's 1-minute load average before and after: above 2 on two cores, other work shared them. */
  readonly loadAverage: { readonly before: number; readonly after: number };
  /** The highest of the payloads' peaks of each server; for workers, the sum of the processes' peaks. */
  readonly rssMiB: { readonly bare: number; readonly guard: number };
}

/** What the image (Dockerfile) sets: the benchmark runs both servers as the image runs endpoint-guard. */
export const IMAGE_NODE_OPTIONS = '--max-semi-space-size=8';
const MAX_REQUESTS = 2_000_000; // per round: the bound on the latencies kept as well as on time

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
  const cpuBefore = cpuMicros(pid);
  const mainBefore = mainThreadMicros(pid);
  const result = await runLoad({ url, ca, body, connections: options.connections, seconds: options.seconds, maxRequests: MAX_REQUESTS });
  if (result.requests === 0) throw new Error(`${url} answered no request: ${result.firstError ?? 'no error seen'}`);
  const mainAfter = mainThreadMicros(pid);
  const busy = Math.max(0, ...[...mainAfter].map(([p, us]) => (us - (mainBefore.get(p) ?? us)) / (result.seconds * 1e6)));
  const cpuUs = (cpuMicros(pid) - cpuBefore) / result.requests;
  return { rps: result.requests / result.seconds, p50: result.p50Ms, p99: result.p99Ms, errors: result.errors, cpuUs, busy, rssMiB: peakRssMiB(pid) };
}

const CLOCK_TICK_US = 10_000; // Linux reports CPU time in clock ticks of 10 ms (USER_HZ 100)
/** User + system time of /proc/PID[/task/TID]/stat, in microseconds. */
const statMicros = (file: string): number => {
  const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * CLOCK_TICK_US;
};

/** User + system CPU time of a server process tree so far, every thread, in microseconds. */
const cpuMicros = (pid: number | undefined): number =>
  (pid === undefined ? 0 : processTree(pid).reduce((sum, p) => sum + statMicros(`/proc/${p}/stat`), 0));
/** CPU time of the main thread (the event loop) of each process of the tree. */
const mainThreadMicros = (pid: number | undefined): Map<number, number> =>
  new Map(pid === undefined ? [] : processTree(pid).map((p) => [p, statMicros(`/proc/${p}/task/${p}/stat`)]));

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
  errors: runs.reduce((n, r) => n + r.errors, 0), cpuUs: medianOf(runs.map((r) => r.cpuUs)), busy: medianOf(runs.map((r) => r.busy)),
  rssMiB: Math.max(0, ...runs.map((r) => r.rssMiB)),
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

/** Unmeasured load each new server gets first, so the first round does not time start-up and compilation. */
const WARM_UP_SECONDS = 1;

export async function runHttp(options: HttpOptions): Promise<HttpResult> {
  const loadBefore = loadavg()[0] ?? 0;
  const node = process.execPath;
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-bench-'));
  const children = new Set<ChildProcess>();
  const cleanUp = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  try {
    const certs = await ensureDevCertificates(dir, 'endpoint-guard/endpoint-guard', createLogger('silent'));
    if (!certs.ok) throw new Error(certs.message);
    const ca = readFileSync(path.join(dir, 'ca.crt'));
    const log = openSync(path.join(dir, 'server.log'), 'w'); // info-level logs, as in production, to a file
    const env = { ...process.env, NODE_OPTIONS: IMAGE_NODE_OPTIONS, ENDPOINT_GUARD_METRICS_PORT: '0' };
    const profile = (name: string) => (options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(options.profileDir, name)}`] : []);

    /** Both servers, new for each payload: a payload's peak memory is its own, not what an earlier one left. */
    const startServers = async () => {
      const [barePort, guardPort] = [await freePort(), await freePort()];
      const bare = spawn(node, [...profile('bare'), 'bench/bare-server.ts', String(barePort), dir], { stdio: 'ignore', env });
      // dist/ is what the image runs (`npm run bench` builds it first): no type stripping at start-up.
      const guard = spawn(node, [...profile('endpoint-guard'), 'dist/cli.js', 'serve', '--port', String(guardPort), '--cert-dir', dir, '--mode', 'complain', '--workers', String(options.workers)], {
        stdio: ['ignore', log, log], env,
      });
      children.add(bare).add(guard);
      const targets = [
        { name: 'bare', url: `https://127.0.0.1:${barePort}/validate`, pid: bare.pid },
        { name: 'endpoint-guard', url: `https://127.0.0.1:${guardPort}/validate`, pid: guard.pid },
      ] as const;
      for (const t of targets) await ready(t.url, ca);
      // A profile is written when the process exits on its own: SIGTERM, then up to 10 s.
      const stop = async () => {
        await Promise.all([bare, guard].map((c) => stopGracefully(c, 10_000)));
        children.delete(bare);
        children.delete(guard);
      };
      return { targets, stop };
    };

    const payloads = PAYLOADS.filter((p) => options.payload === undefined || p.key === options.payload);
    const rows: HttpRow[] = [];
    for (const p of payloads) {
      const { targets, stop } = await startServers();
      for (const t of targets) await runLoad({ url: t.url, ca, body: p.body, connections: options.connections, seconds: WARM_UP_SECONDS, maxRequests: MAX_REQUESTS });
      const runs = { bare: [] as Run[], 'endpoint-guard': [] as Run[] };
      for (let round = 0; round < options.rounds; round++) {
        // Alternate who goes first, so machine noise falls on both.
        for (const t of round % 2 === 0 ? targets : [...targets].reverse()) runs[t.name].push(await load(t.url, t.pid, p.body, ca, options));
      }
      await stop();
      const { bare: bareRuns, 'endpoint-guard': guardRuns } = runs;
      const ratios = guardRuns.map((g, i) => g.rps / (bareRuns[i]?.rps ?? Number.NaN)).sort((a, b) => a - b);
      const cpuRatios = guardRuns.map((g, i) => (bareRuns[i]?.cpuUs ?? Number.NaN) / g.cpuUs).sort((a, b) => a - b);
      rows.push({ payload: p.name, bytes: Buffer.byteLength(p.body), bare: medianRun(bareRuns), guard: medianRun(guardRuns), cpuRatios, ratios });
    }
    const highest = (server: 'bare' | 'guard') => Math.max(...rows.map((r) => r[server].rssMiB));
    return { rows, rssMiB: { bare: highest('bare'), guard: highest('guard') }, loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 } };
  } finally {
    process.off('exit', cleanUp);
    cleanUp();
  }
}

export function printHttp(result: HttpResult, options: HttpOptions): void {
  const { seconds, rounds, connections, workers } = options;
  const range = (xs: readonly number[]) => `${medianOf(xs).toFixed(2)} (${(xs[0] ?? 0).toFixed(2)}-${(xs.at(-1) ?? 0).toFixed(2)})`;
  const percent = (x: number) => `${Math.round(x * 100)}%`;
  console.log(`HTTPS, ${connections} keep-alive connections, ${rounds} rounds of ${seconds}s per server and payload, endpoint-guard workers: ${workers}`);
  console.log(`machine load average (1 min) ${result.loadAverage.before.toFixed(1)} before, ${result.loadAverage.after.toFixed(1)} after, on ${availableParallelism()} CPUs ` +
    '(the benchmark itself adds about 2: above that, other work shared the CPUs)');
  console.log('CPU us/req: server CPU time per request (user + system, every thread, from /proc), the primary figure;');
  console.log('bare/guard: that time of the bare server over endpoint-guard\'s, each round (median, lowest-highest); 1 is no overhead.');
  console.log('busy: share of each round the server\'s main thread was on a CPU (bare/guard); near 100% the server, not the client, is the limit.');
  console.log('peak RSS: the highest resident memory of each server (new for each payload) through that payload\'s load, bare/guard.');
  console.log('payload                   bytes  CPU us/req bare/guard  bare/guard CPU     busy      req/s bare/guard  p99 ms bare/guard  peak RSS MiB  errors');
  for (const r of result.rows) {
    const cpu = `${Math.round(r.bare.cpuUs)}/${Math.round(r.guard.cpuUs)}`;
    const busy = `${percent(r.bare.busy)}/${percent(r.guard.busy)}`;
    const rps = `${Math.round(r.bare.rps)}/${Math.round(r.guard.rps)}`;
    const p99 = `${r.bare.p99.toFixed(1)}/${r.guard.p99.toFixed(1)}`;
    const rss = `${Math.round(r.bare.rssMiB)}/${Math.round(r.guard.rssMiB)}`;
    console.log(`${r.payload.padEnd(24)}${String(r.bytes).padStart(7)}  ${cpu.padStart(20)}  ${range(r.cpuRatios).padStart(16)}  ${busy.padStart(7)}  ${rps.padStart(16)}  ${p99.padStart(17)}  ${rss.padStart(12)}  ${String(r.bare.errors + r.guard.errors).padStart(6)}`);
  }
  console.log(`peak RSS over the whole run: bare ${result.rssMiB.bare.toFixed(0)} MiB, endpoint-guard ${result.rssMiB.guard.toFixed(0)} MiB` +
    `${workers > 1 ? ` (${workers + 1} processes, sum of their peaks)` : ''}`);
}
