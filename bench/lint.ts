// lint at scale: 2,000 EndpointSlices as the controller writes them (100 endpoints each) in 10
// files, once as JSON (a List per file) and once as multi-document YAML, each linted by the real
// `dist/cli.js lint` in a child process of its own. It reports wall time, the child's CPU time (the
// steadier figure on a shared machine) and its peak resident memory (getrusage's, written by the
// child itself as it exits).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { controllerSlice } from './payloads.ts';

export interface LintOptions {
  readonly slices: number;
  readonly files: number;
  readonly endpoints: number;
  /** Write a CPU profile of each lint run (node --cpu-prof) into DIR/lint-json and DIR/lint-yaml. */
  readonly profileDir?: string | undefined;
}

export interface LintRow {
  readonly format: 'json' | 'yaml';
  readonly files: number;
  readonly slices: number;
  readonly bytes: number;
  readonly seconds: number;
  /** User and system CPU time of the lint process, in seconds. */
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  readonly exitCode: number | null;
  /** lint's summary line, so a run that read nothing cannot pass for a fast one. */
  readonly summary: string;
}

export const LINT_DEFAULTS = { slices: 2000, files: 10, endpoints: 100 } as const;
/** Far above what the runs take today; a run past it is killed and reported as failed. */
const RUN_LIMIT_MS = 180_000;
const NAME_MARK = 'web-00000';
const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
// Loaded into the child with --import: its own resource usage, on fd 3, as it exits.
const USAGE_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => { try { writeSync(3, JSON.stringify(process.resourceUsage())); } catch {} });',
)}`;

/** Writes both sets into `dir`/json and `dir`/yaml: the same slices, each named web-NNNNN. */
function writeSets(dir: string, o: LintOptions): { json: string; yaml: string; bytes: { json: number; yaml: number } } {
  // Serialising once and renaming keeps generation to a second: the YAML serialiser takes ~10 ms a slice.
  const template = controllerSlice(o.endpoints, NAME_MARK);
  const jsonItem = JSON.stringify(template);
  const yamlDoc = stringify(template, { version: '1.1' });
  const bytes = { json: 0, yaml: 0 };
  const json = path.join(dir, 'json');
  const yaml = path.join(dir, 'yaml');
  mkdirSync(json);
  mkdirSync(yaml);
  const perFile = Math.ceil(o.slices / o.files);
  for (let f = 0; f < o.files; f++) {
    const names = Array.from({ length: Math.min(perFile, o.slices - f * perFile) }, (_, i) => `web-${String(f * perFile + i).padStart(5, '0')}`);
    const file = `slices-${String(f).padStart(2, '0')}`;
    const jsonText = `{"apiVersion":"v1","kind":"List","items":[${names.map((n) => jsonItem.replace(NAME_MARK, n)).join(',')}]}\n`;
    const yamlText = names.map((n) => yamlDoc.replace(NAME_MARK, n)).join('---\n');
    writeFileSync(path.join(json, `${file}.json`), jsonText);
    writeFileSync(path.join(yaml, `${file}.yaml`), yamlText);
    bytes.json += Buffer.byteLength(jsonText);
    bytes.yaml += Buffer.byteLength(yamlText);
  }
  return { json, yaml, bytes };
}

function lintOnce(dir: string, profileDir: string | undefined): Promise<{ seconds: number; cpuSeconds: number; peakRssMiB: number; exitCode: number | null; summary: string }> {
  const profile = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir];
  const child = spawn(process.execPath, ['--import', USAGE_HOOK, ...profile, CLI, 'lint', dir], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const start = performance.now();
  const text = (stream: NodeJS.ReadableStream | null) => {
    let out = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => (out = (out + chunk).slice(-4096))); // the tail is enough: the summary is last
    return () => out;
  };
  const [stdout, stderr, usage] = [text(child.stdout), text(child.stderr), text(child.stdio[3] as NodeJS.ReadableStream)];
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - start) / 1000;
      const summary = stdout().trim().split('\n').at(-1) ?? '';
      const used: { maxRSS?: number; userCPUTime?: number; systemCPUTime?: number } = usage() === '' ? {} : JSON.parse(usage());
      resolve({
        seconds, cpuSeconds: ((used.userCPUTime ?? 0) + (used.systemCPUTime ?? 0)) / 1e6, peakRssMiB: (used.maxRSS ?? 0) / 1024,
        exitCode: code, summary: stderr().trim() === '' ? summary : `${summary} (stderr: ${stderr().trim().slice(0, 200)})`,
      });
    });
  });
}

export async function runLintBench(o: LintOptions): Promise<LintRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'endpoint-guard-bench-lint-'));
  try {
    const sets = writeSets(dir, o);
    const rows: LintRow[] = [];
    for (const format of ['json', 'yaml'] as const) {
      const profileDir = o.profileDir === undefined ? undefined : path.join(o.profileDir, `lint-${format}`);
      const run = await lintOnce(sets[format], profileDir);
      rows.push({ format, files: o.files, slices: o.slices, bytes: sets.bytes[format], ...run });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printLint(rows: readonly LintRow[], o: LintOptions): void {
  console.log(`\nlint at scale: ${o.slices} EndpointSlices of ${o.endpoints} endpoints in ${o.files} files, dist/cli.js lint DIR in a child process`);
  console.log('set    files   MB    wall s   CPU s  peak RSS MiB  exit  summary');
  for (const r of rows) {
    console.log(`${r.format.padEnd(5)}  ${String(r.files).padStart(5)}  ${(r.bytes / 1e6).toFixed(1).padStart(4)}  ${r.seconds.toFixed(2).padStart(7)}  ${r.cpuSeconds.toFixed(2).padStart(6)}  ${r.peakRssMiB.toFixed(0).padStart(12)}  ${String(r.exitCode).padStart(4)}  ${r.summary}`);
  }
}
