// `endpoint-guard report` over a week of a busy cluster's logs: a generated log of N review lines
// (bench/traffic.ts: two replicas, both webhooks, other programs' and torn lines mixed in) in a
// temporary directory, then the command in a child process of its own, whose peak RSS is its own.
// Targets: 1,000,000 lines in under 30 s and under 300 MB.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { trafficLines } from './traffic.ts';

export interface ReportResult {
  readonly lines: number;
  readonly bytes: number;
  /** Wall time of the command, process start included. */
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly linesPerSecond: number;
}

export const REPORT_TARGETS = { seconds: 30, peakRssMb: 300 } as const;
/** The child gives up after this long: a bound on the benchmark, well past the target. */
const CHILD_TIMEOUT_MS = 300_000;

async function writeLog(file: string, lines: number): Promise<number> {
  const out = createWriteStream(file);
  let written = 0;
  for (const line of trafficLines({ lines, seed: 1, end: Date.now(), days: 7 })) {
    written += 1;
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return written;
}

export async function runReportBench(lines: number): Promise<ReportResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-report-bench-'));
  try {
    const log = path.join(dir, 'endpoint-guard.log');
    const written = await writeLog(log, lines);
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'report-child.ts'), '--log', log, '--out', path.join(dir, 'report.html')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: CHILD_TIMEOUT_MS,
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const started = performance.now();
    const [code] = await once(child, 'close') as [number | null];
    const seconds = (performance.now() - started) / 1000;
    const rss = /^peak-rss-kb (\d+)$/m.exec(stdout);
    if (code !== 0 || rss === null) throw new Error(`endpoint-guard report failed (exit ${code}): ${stdout}`);
    return {
      lines: written, bytes: statSync(log).size, seconds, peakRssMb: Number(rss[1]) / 1024, linesPerSecond: written / seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printReport(r: ReportResult): void {
  console.log(`\nendpoint-guard report over a generated log (two replicas, both webhooks, other lines mixed in)`);
  console.log(`lines: ${r.lines.toLocaleString('en-US')} (${(r.bytes / 1e6).toFixed(0)} MB)`);
  console.log(`wall time: ${r.seconds.toFixed(1)} s (target under ${REPORT_TARGETS.seconds} s; ${(r.seconds / REPORT_TARGETS.seconds).toFixed(2)} of it)`);
  console.log(`peak RSS: ${r.peakRssMb.toFixed(0)} MB (target under ${REPORT_TARGETS.peakRssMb} MB; ${(r.peakRssMb / REPORT_TARGETS.peakRssMb).toFixed(2)} of it)`);
  console.log(`lines/s: ${Math.round(r.linesPerSecond).toLocaleString('en-US')}`);
}
