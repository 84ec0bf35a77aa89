// The commands the documentation shows are run, each page in a scratch copy of the repository, and
// what they print is compared with what the page shows. How a block is written says what happens to
// it (docs/architecture.md, "The documentation"):
//   ```sh        each command runs and exits 0, or N when its line ends with a comment saying "exits N"
//   ```console   each "$ " line runs; the lines below it are its output (stdout and stderr), exactly
//   ```json      right after a ```sh block: the value its last command printed
//   a first line "# needs ..." (a cluster, Docker...): shown, not run
// npm start and endpoint-guard serve run in the background until the next server or the page's end.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { type CodeBlock, codeBlocks, docPages, readPage } from './helpers/docs.ts';
import { REPO } from './helpers/lint.ts';

const COMMAND_TIMEOUT_MS = 60_000;
const SERVER_READY_MS = 30_000;
const NEEDS = /^# needs /;
/** How the suite itself is installed and run: not run again from inside it. */
const SUITE_COMMANDS = /^npm (install|ci|test)\b/;
const SERVER_COMMANDS = /^(npm start\b|npx endpoint-guard serve\b)(?!.*\s--help\b)/;
/** The ports the pages use, each replaced by a free one. */
const PAGE_PORTS = [8443, 9443, 9090] as const;
/** Read by every page; the rest of the checkout is linked into the scratch copy. */
const COPIED = ['deploy', 'examples'];
const LINKED = ['node_modules', 'src', 'scripts', 'bench', 'test', 'docs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'Dockerfile', 'README.md', '.pre-commit-hooks.yaml'];

type Step =
  | { kind: 'run'; command: string; exit: number; json?: string }
  | { kind: 'server'; command: string }
  | { kind: 'console'; command: string; exit: number; output: string };

/** The commands of a ```sh block: continued lines joined, here-documents kept with their command. */
function shellCommands(text: string): string[] {
  const lines = text.split('\n');
  const commands: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? '';
    if (first.trim() === '' || first.trimStart().startsWith('#')) continue;
    const command = [first];
    while ((command.at(-1) ?? '').endsWith('\\') && i + 1 < lines.length) command.push(lines[++i] ?? '');
    const heredoc = /<<-?\s*['"]?(\w+)['"]?/.exec(command.join('\n'));
    if (heredoc) while (i + 1 < lines.length && command.at(-1)?.trim() !== heredoc[1]) command.push(lines[++i] ?? '');
    commands.push(command.join('\n'));
  }
  return commands;
}

/** The exit status a command's own comment promises ("# ... exits 1"), else 0. */
const expectedExit = (command: string): number =>
  Number(/\s#[^'"\n]*\bexits (\d+)\b[^'"\n]*$/.exec(command)?.[1] ?? 0);

/** `$ command` lines, each with the lines it prints below it. */
function consoleSteps(text: string): { command: string; output: string }[] {
  const steps: { command: string; output: string[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('$ ')) {
      const command = [line.slice(2)];
      while ((command.at(-1) ?? '').endsWith('\\') && i + 1 < lines.length) command.push(lines[++i] ?? '');
      steps.push({ command: command.join('\n'), output: [] });
    } else if (steps.length > 0) steps.at(-1)?.output.push(line);
  }
  return steps.map((s) => ({ command: s.command, output: s.output.join('\n') }));
}

/** What the page asks to run, in order; blocks marked "# needs ..." are left out. */
function stepsOf(blocks: readonly CodeBlock[]): Step[] {
  const steps: Step[] = [];
  for (const block of blocks) {
    if (NEEDS.test(block.text)) continue;
    if (block.lang === 'sh') {
      for (const command of shellCommands(block.text)) {
        if (SUITE_COMMANDS.test(command)) continue;
        steps.push(SERVER_COMMANDS.test(command) ? { kind: 'server', command } : { kind: 'run', command, exit: expectedExit(command) });
      }
    } else if (block.lang === 'console') {
      for (const { command, output } of consoleSteps(block.text)) steps.push({ kind: 'console', command, exit: expectedExit(command), output });
    } else if (block.lang === 'json' && block.after?.lang === 'sh' && !NEEDS.test(block.after.text)) {
      const last = steps.at(-1);
      if (last?.kind === 'run') last.json = block.text;
    }
  }
  return steps;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A scratch copy of the checkout: what pages write lands here; what they only read is linked. */
async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'endpoint-guard-docs-'));
  for (const name of COPIED) await cp(path.join(REPO, name), path.join(dir, name), { recursive: true });
  for (const name of LINKED) await symlink(path.join(REPO, name), path.join(dir, name));
  return dir;
}

interface PageShell {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly ports: ReadonlyMap<number, number>;
}

/** The page's port numbers, in URLs on 127.0.0.1 and in --port flags, replaced by free ones. */
function withPorts(text: string, ports: ReadonlyMap<number, number>): string {
  let out = text;
  for (const [from, to] of ports) {
    out = out.replaceAll(`127.0.0.1:${from}`, `127.0.0.1:${to}`)
      .replace(new RegExp(`(--(?:metrics-)?port[ =])${from}\\b`, 'g'), `$1${to}`);
  }
  return out;
}

// `npx endpoint-guard` is this checkout's source, as the rest of the suite tests it, not a build
// that may be older; the one test below checks that npx finds the package's command.
const PREAMBLE = `set -o pipefail
exec 2>&1
npx() { if [ "$1" = endpoint-guard ]; then shift; node ${JSON.stringify(path.join(REPO, 'src/cli.ts'))} "$@"; else command npx "$@"; fi; }
`;

function bash(shell: PageShell, command: string, detached = false): ChildProcess {
  return spawn('bash', ['-c', `${PREAMBLE}${withPorts(command, shell.ports)}`], { cwd: shell.cwd, env: shell.env, detached, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function run(shell: PageShell, command: string): Promise<{ code: number | null; output: string }> {
  const child = bash(shell, command);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}

interface Background { readonly child: ChildProcess; output: string; exited: boolean }

async function startServer(shell: PageShell, command: string): Promise<Background> {
  const child = bash(shell, command, true);
  const server: Background = { child, output: '', exited: false };
  child.stdout?.on('data', (chunk: Buffer) => (server.output += chunk.toString('utf8')));
  child.on('exit', () => (server.exited = true));
  const port = /--port[ =](\d+)/.exec(withPorts(command, shell.ports))?.[1] ?? shell.env.ENDPOINT_GUARD_PORT;
  const deadline = Date.now() + SERVER_READY_MS;
  while (Date.now() < deadline && !server.exited) {
    if (/"msg":"listening"/.test(server.output)) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopServer(server);
  assert.fail(`${command} did not start listening on port ${port}:\n${server.output}`);
}

async function stopServer(server: Background | undefined): Promise<void> {
  if (!server || server.exited || server.child.pid === undefined) return;
  const exited = new Promise((resolve) => server.child.on('exit', resolve));
  process.kill(-server.child.pid, 'SIGTERM');
  const timer = setTimeout(() => server.child.pid !== undefined && !server.exited && process.kill(-server.child.pid, 'SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function runPage(page: string, steps: readonly Step[]): Promise<void> {
  const cwd = await scratchCopy();
  const ports = new Map<number, number>();
  for (const port of PAGE_PORTS) ports.set(port, await freePort());
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ENDPOINT_GUARD_')));
  Object.assign(env, {
    PATH: [path.dirname(process.execPath), path.join(REPO, 'node_modules/.bin'), process.env.PATH].join(path.delimiter),
    ENDPOINT_GUARD_PORT: String(ports.get(8443)),
    ENDPOINT_GUARD_METRICS_PORT: String(ports.get(9090)),
    KUBECONFIG: path.join(cwd, 'no-cluster.kubeconfig'), // nothing reaches a cluster
    NO_COLOR: '1',
  });
  const shell: PageShell = { cwd, env, ports };
  let server: Background | undefined;
  try {
    for (const step of steps) {
      if (step.kind === 'server') {
        await stopServer(server);
        server = await startServer(shell, step.command);
        continue;
      }
      const { code, output } = await run(shell, step.command);
      const where = `${page}: ${step.command}`;
      assert.equal(code, step.exit, `${where}\nexited ${code}, expected ${step.exit}:\n${output}`);
      if (step.kind === 'console') {
        const trimmed = (text: string) => text.replace(/\n+$/, '');
        assert.equal(trimmed(output), trimmed(withPorts(step.output, ports)), `${where}\nprints other lines than the page shows`);
      } else if (step.json !== undefined) {
        assert.deepEqual(JSON.parse(output), JSON.parse(step.json), `${where}\nprints another value than the page shows`);
      }
    }
  } finally {
    await stopServer(server);
    await rm(cwd, { recursive: true, force: true });
  }
}

describe('the commands the documentation shows', () => {
  for (const page of docPages()) {
    const blocks = codeBlocks(readPage(page));
    const steps = stepsOf(blocks);
    if (steps.length === 0) continue;
    test(`${page}: every command runs as shown`, { timeout: 300_000 }, () => runPage(page, steps));
  }

  test('shell commands are in ```sh or ```console blocks, so none escapes being run or marked', () => {
    const elsewhere = docPages().flatMap((page) => codeBlocks(readPage(page))
      .filter((block) => ['bash', 'shell', 'zsh', 'shell-session', ''].includes(block.lang))
      .map((block) => `${page}: ${block.lang || 'a block without a language'}: ${block.text.split('\n')[0]}`));
    assert.deepEqual(elsewhere, []);
  });

  test('npx endpoint-guard in the checkout is the package\'s own command', async () => {
    const env = { ...process.env, PATH: [path.dirname(process.execPath), process.env.PATH].join(path.delimiter) };
    const child = spawn('npx', ['--no-install', 'endpoint-guard', '--version'], { cwd: REPO, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.on('close', resolve));
    const { version } = JSON.parse(readPage('package.json')) as { version: string };
    assert.equal(code, 0, `npx endpoint-guard --version failed (npm install builds dist/ and the command):\n${output}`);
    assert.equal(output.trim(), version);
  });

  test('the block reader: continued lines, here-documents, promised exit statuses, console output and marks', () => {
    assert.deepEqual(shellCommands("# a comment\nnpm start   # runs\ncurl -s \\\n  https://127.0.0.1:8443/healthz\n\ncat <<'EOF'\na # b\nEOF\n"),
      ['npm start   # runs', 'curl -s \\\n  https://127.0.0.1:8443/healthz', "cat <<'EOF'\na # b\nEOF"]);
    assert.equal(expectedExit('npx endpoint-guard lint x.yaml    # exits 1'), 1);
    assert.equal(expectedExit('npx endpoint-guard lint x.yaml    # would it fail? It would: exits 1'), 1);
    assert.equal(expectedExit("echo '# exits 3'"), 0);
    assert.deepEqual(consoleSteps('$ a\none\ntwo\n$ b \\\n  c\nthree'), [{ command: 'a', output: 'one\ntwo' }, { command: 'b \\\n  c', output: 'three' }]);
    const steps = stepsOf([
      { lang: 'sh', text: '# needs a cluster\nkubectl apply -k deploy/overlays/complain' },
      { lang: 'sh', text: 'npm install\nnpm start\ncurl -s https://127.0.0.1:8443/x' },
      { lang: 'json', text: '{"a": 1}', after: { lang: 'sh', text: 'curl -s https://127.0.0.1:8443/x' } },
      { lang: 'console', text: '# needs Docker\n$ docker ps' },
      { lang: 'sh', text: 'npx endpoint-guard serve --help' },
    ]);
    assert.deepEqual(steps, [{ kind: 'server', command: 'npm start' }, { kind: 'run', command: 'curl -s https://127.0.0.1:8443/x', exit: 0, json: '{"a": 1}' },
      { kind: 'run', command: 'npx endpoint-guard serve --help', exit: 0 }]);
    assert.equal(withPorts('curl https://127.0.0.1:8443/x; serve --port 9443 --metrics-port 9090; https://hooks.example.com:9443/',
      new Map([[8443, 1], [9443, 2], [9090, 3]])), 'curl https://127.0.0.1:1/x; serve --port 2 --metrics-port 3; https://hooks.example.com:9443/');
  });
});
