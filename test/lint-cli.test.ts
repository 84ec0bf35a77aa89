// A handful of runs of the real command (`node src/cli.ts lint`), for what only a process shows:
// stdin through a pipe, exit statuses, no colour without a terminal, no stack traces.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { REPO } from './helpers/lint.ts';

const NODE = 'node_modules/.bin/node';
const INPUTS = 'test/golden/lint/inputs';

async function lint(args: string[], stdin?: string | Buffer): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(NODE, ['src/cli.ts', 'lint', ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '' }, // no NO_COLOR, no ENDPOINT_GUARD_*: the defaults
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (stdin !== undefined) child.stdin?.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  return { code: typeof code === 'number' ? code : null, stdout, stderr };
}

describe('endpoint-guard lint as a process', { timeout: 60_000 }, () => {
  test('reads a pipe on stdin (kustomize build . | endpoint-guard lint -) and exits 1 for rejected objects', async () => {
    const run = await lint(['-'], await readFile(`${REPO}/${INPUTS}/slices.yaml`));
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^<stdin>:20:3 {2}error {4}object-name {2}metadata\.name: /m);
    assert.doesNotMatch(run.stdout, /\u001b\[/, 'no colour in a pipe');
    assert.equal(run.stderr, '');
  });

  test('exits 0 for clean manifests', async () => {
    const run = await lint(['test/golden/lint/clean']);
    assert.deepEqual([run.code, run.stdout, run.stderr], [0, 'no findings in 1 object from 1 file; enforce mode rejects nothing\n', '']);
  });

  test('exits 0 in complain mode, findings still printed', async () => {
    const run = await lint(['--mode', 'complain', INPUTS]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /complain mode rejects nothing \(enforce would reject 5 objects\)$/m);
  });

  test('exits 2 with the file and the reason for unreadable input, without a stack trace', async () => {
    const run = await lint(['-'], Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x00, 0xff, 0x00]));
    assert.equal(run.code, 2);
    assert.equal(run.stderr, '<stdin>: is a binary file (NUL byte at offset 4), not YAML or JSON; give manifest files only\n');
  });

  test('exits 2 for a usage error', async () => {
    const run = await lint(['--format', 'yaml', INPUTS]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^endpoint-guard lint: --format must be one of text, json, sarif, apiserver, not "yaml"/);
  });

  test('--help lists the options and the exit statuses', async () => {
    const run = await lint(['--help']);
    assert.equal(run.code, 0);
    for (const option of ['--format', '--ruleset', '--mode', '--kubernetes-version', '--config', 'Exit status']) {
      assert.ok(run.stdout.includes(option), option);
    }
  });
});
