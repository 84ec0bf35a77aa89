// `endpoint-guard audit` at scale: the fake apiserver serves N EndpointSlices of 100 endpoints
// (shaped as the controller writes them, made page by page so the server stays small), and the
// built CLI (dist/cli.js) audits them in a child process of its own, as an admin runs it. Wall
// time and the child's peak resident memory, for each N.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeApiserver } from '../test/helpers/fake-apiserver.ts';
import { IMAGE_NODE_OPTIONS } from './http.ts';
import { controllerSlice } from './payloads.ts';

export interface AuditRow {
  readonly slices: number;
  readonly namespaces: number;
  /** Findings the audit reported (one slice in SLICES_PER_NAMESPACE has a loopback address). */
  readonly errors: number;
  /**
   * Wall time, CPU time (user + system: steadier than wall time on a shared machine) and peak RSS
   * with node's default flags, as `npx endpoint-guard audit` runs.
   */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** The same as the image (and the policy-reports CronJob) runs it: with its NODE_OPTIONS. */
  readonly imageSeconds: number;
  readonly imageCpuSeconds: number;
  readonly imagePeakRssMiB: number;
}

export const DEFAULT_AUDIT_SLICES = [5_000, 20_000];
const ENDPOINTS = 100;
const SLICES_PER_NAMESPACE = 100;
const RUN_TIMEOUT_MS = 300_000;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Loaded into the measured process with --import: at exit it writes the process's resource usage
 * (getrusage: maxRSS in KiB, CPU times in microseconds) into USAGE_FILE. JavaScript in a data:
 * URL, because a .ts file would load Node's type stripper into the process and count it.
 */
const USAGE_HOOK = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.USAGE_FILE, JSON.stringify(process.resourceUsage())));",
)}`;

const namespaceName = (n: number) => `bench-${String(n).padStart(5, '0')}`;

/** Slice i, in namespace i / SLICES_PER_NAMESPACE; keys grow with i, as the fake apiserver's generator needs. */
function slice(i: number) {
  const s = controllerSlice(ENDPOINTS, `web-${String(i % SLICES_PER_NAMESPACE).padStart(3, '0')}`, namespaceName(Math.floor(i / SLICES_PER_NAMESPACE)));
  if (i % SLICES_PER_NAMESPACE === 0) s.endpoints[0]?.addresses.splice(0, 1, '127.0.0.1');
  return s;
}

interface Run { readonly seconds: number; readonly cpuSeconds: number; readonly peakRssMiB: number; readonly errors: number }

/** One run of the CLI against the server behind `kubeconfig`, with this NODE_OPTIONS. */
async function runCli(kubeconfig: string, dir: string, slices: number, nodeOptions: string): Promise<Run> {
  const usageFile = path.join(dir, 'usage.json');
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', USAGE_HOOK, path.join(ROOT, 'dist/cli.js'), 'audit', '--kubeconfig', kubeconfig, '--format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, USAGE_FILE: usageFile, NODE_OPTIONS: nodeOptions },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 1) throw new Error(`audit of ${slices} slices exited ${code} (expected 1: the loopback addresses): ${stderr.slice(0, 500)}`);
  const report = JSON.parse(stdout) as { summary: { endpointSlices: number; errors: number } };
  if (report.summary.endpointSlices !== slices) throw new Error(`audit checked ${report.summary.endpointSlices} of ${slices} slices`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as NodeJS.ResourceUsage;
  return { seconds, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, peakRssMiB: usage.maxRSS / 1024, errors: report.summary.errors };
}

async function auditOnce(slices: number): Promise<AuditRow> {
  const cleanups: (() => unknown)[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-bench-'));
  try {
    const api = await startFakeApiserver({ after: (fn) => void cleanups.push(fn as () => unknown) });
    const namespaces = Math.ceil(slices / SLICES_PER_NAMESPACE);
    for (let n = 0; n < namespaces; n++) {
      api.add('namespaces', { metadata: { name: namespaceName(n) } });
      api.add('services', { metadata: { name: 'web', namespace: namespaceName(n) }, spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } });
    }
    api.generate('endpointslices', { count: slices, make: slice });
    const kubeconfig = await api.writeKubeconfig(dir);
    const defaults = await runCli(kubeconfig, dir, slices, '');
    const image = await runCli(kubeconfig, dir, slices, IMAGE_NODE_OPTIONS);
    return {
      slices, namespaces, errors: defaults.errors,
      seconds: defaults.seconds, cpuSeconds: defaults.cpuSeconds, peakRssMiB: defaults.peakRssMiB,
      imageSeconds: image.seconds, imageCpuSeconds: image.cpuSeconds, imagePeakRssMiB: image.peakRssMiB,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAudit(sizes: readonly number[]): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for (const slices of sizes) rows.push(await auditOnce(slices));
  return rows;
}

export function printAudit(rows: readonly AuditRow[]): void {
  console.log(`\naudit against the fake apiserver: EndpointSlices of ${ENDPOINTS} endpoints, ${SLICES_PER_NAMESPACE} per namespace, the CLI in a process of its own`);
  console.log(`with node's defaults (npx endpoint-guard audit), and as the image runs it (NODE_OPTIONS=${IMAGE_NODE_OPTIONS})`);
  console.log('  slices  namespaces  errors  wall s  CPU s  peak RSS MiB  | image: wall s  CPU s  peak RSS MiB');
  for (const r of rows) {
    console.log(`  ${String(r.slices).padStart(6)}  ${String(r.namespaces).padStart(10)}  ${String(r.errors).padStart(6)}  ${r.seconds.toFixed(1).padStart(6)}  ` +
      `${r.cpuSeconds.toFixed(1).padStart(5)}  ${r.peakRssMiB.toFixed(0).padStart(12)}  | ${r.imageSeconds.toFixed(1).padStart(13)}  ` +
      `${r.imageCpuSeconds.toFixed(1).padStart(5)}  ${r.imagePeakRssMiB.toFixed(0).padStart(12)}`);
  }
}
