// Running the CLI in process, and golden files: committed expected outputs that
// `UPDATE_GOLDEN=1 npm test` rewrites (review the diff before committing it).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.ts';

/** The repository root: lint tests name their inputs relative to it, as a user in a checkout would. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const GOLDEN = path.join(REPO, 'test/golden/lint');

export interface CliRun { readonly code: number; readonly stdout: string; readonly stderr: string }

export interface CliOptions {
  readonly stdin?: string | Uint8Array | readonly (string | Uint8Array)[];
  readonly env?: Record<string, string>;
  readonly tty?: boolean;
}

/** main(argv, io) with captured output; stdin absent unless given. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const chunks = options.stdin === undefined ? undefined
    : typeof options.stdin === 'string' || options.stdin instanceof Uint8Array ? [options.stdin] : options.stdin;
  const code = await main(args, {
    env: options.env ?? {},
    stdout: (text) => (stdout += `${text}\n`),
    stderr: (text) => (stderr += `${text}\n`),
    stdin: chunks === undefined ? undefined : Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))),
    stdoutIsTTY: options.tty ?? false,
  });
  return { code, stdout, stderr };
}

/** One run as a reviewable text: the command, its exit status, then stdout and stderr. */
export const transcript = (args: readonly string[], run: CliRun, stdinNote = ''): string =>
  `$ endpoint-guard ${args.join(' ')}${stdinNote}\nexit status ${run.code}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;

export function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  const shown = path.relative(REPO, file);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    assert.fail(`${shown} is missing; run UPDATE_GOLDEN=1 npm test to write it, then review it`);
  }
  assert.equal(actual, expected, `output differs from ${shown}; if the change is intended, run UPDATE_GOLDEN=1 npm test and review the diff`);
}
