// Runs `node src/cli.ts ...` as a child process and reads its JSON log lines as they come.
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';

export const NODE = 'node_modules/.bin/node';

export interface RunningCli {
  readonly child: ChildProcess;
  /** Every JSON line written to stdout so far. */
  readonly lines: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the first line (past or future) that matches; rejects after `ms` or on exit. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(t: TestContext, args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(NODE, ['src/cli.ts', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const text of complete) {
      const line: unknown = JSON.parse(text);
      if (typeof line === 'object' && line !== null) lines.push(Object.fromEntries(Object.entries(line)));
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal })); // 'close': stdout is read to the end
  });

  const waitForLine = (match: (line: Record<string, unknown>) => boolean, ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found === undefined) return false;
        done();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching log line in ${ms} ms; stderr: ${stderr}`));
      }, ms);
      const onExit = () => {
        if (check()) return;
        done();
        reject(new Error(`exited before the line; stderr: ${stderr}`));
      };
      const done = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        child.off('close', onExit);
      };
      const wake = () => void check();
      waiters.add(wake);
      child.once('close', onExit);
      check();
    });

  return { child, lines, stderr: () => stderr, waitForLine, exited };
}

export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
