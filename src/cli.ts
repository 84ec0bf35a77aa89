#!/usr/bin/env node
// The endpoint-guard command line. Each subcommand is one entry in `commands`: its options, its
// help, and a run function that returns an exit code. Nothing runs on import; the entry guard at
// the bottom is the only place that touches process.argv and the exit code.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { CONFIG_FLAGS, type ConfigFlags, loadConfig } from './config-load.ts';
import { MODES } from './config.ts';
import { lintHelp, lintOptions, lintUsage, runLint } from './lint/command.ts';
import { convertHelp, convertOptions, convertUsage, runConvert } from './convert/command.ts';
import { type Logger, createLogger, flushLog } from './log.ts';
import { certsCommand } from './server/certs-command.ts';
import { auditCommand } from './cluster/audit-command.ts';
import { manifestsCommand } from './cluster/manifests-command.ts';
import { reportCommand } from './report/command.ts';
import { type Serving, startServing } from './server/serve.ts';
import { startWorkers } from './server/workers.ts';

import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io } from './io.ts';
import { messageOf } from './errors.ts';

const PROGRAM = 'endpoint-guard';
/** How long a stopped server waits for its last log lines to be written before it exits. */
const LOG_FLUSH_MS = 1_000;

export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io } from './io.ts';

type Values = ReturnType<typeof parseArgs>['values'];

interface Command {
  readonly summary: string;
  /** Help text after the usage line: one line per option. */
  readonly help: string;
  readonly usage: string;
  readonly options: ParseArgsOptionsConfig;
  /** Whether the command takes operands (lint's paths). */
  readonly positionals?: boolean;
  readonly run: (values: Values, positionals: string[], io: Io) => Promise<number>;
}

const serve: Command = {
  summary: 'run the admission webhook over HTTPS',
  usage: `${PROGRAM} serve [--port N] [--host H] [--mode ${MODES.join('|')}] [--cert-dir DIR] [--config FILE] [--kubernetes-version V] [--log-level L] [--metrics-port N] [--kubeconfig FILE] [--client-ca FILE] [--workers N]`,
  help: [
    '  --port N                  port to listen on (default 8443)',
    '  --host H                  address to bind (default 127.0.0.1; 0.0.0.0 in a Pod)',
    `  --mode M                  ${MODES.join(', ')} (default complain)`,
    '  --cert-dir DIR            tls.crt and tls.key, generated for development if absent (default certs)',
    '  --config FILE             YAML or JSON settings (also ENDPOINT_GUARD_CONFIG)',
    '  --kubernetes-version V    the apiserver release whose rules apply, 1.24 to 1.36 (default 1.36)',
    '  --log-level L             fatal, error, warn, info, debug, trace or silent (default info)',
    '  --metrics-port N          plain-HTTP port of GET /metrics, on the same host (default 9090)',
    '  --kubeconfig FILE         watch this cluster\'s Namespaces and Services (default: the Pod\'s service account in a',
    '                            cluster, no cluster outside one)',
    '  --client-ca FILE          require client certificates signed by this CA (the apiserver\'s; default: none)',
    '  --workers N               server processes sharing the port, for more than one core (default 1)',
    'Every setting can also come from ENDPOINT_GUARD_<SETTING> (e.g. ENDPOINT_GUARD_MODE); flags win over the',
    'environment, which wins over the config file.',
  ].join('\n'),
  options: {
    config: { type: 'string' },
    ...Object.fromEntries(CONFIG_FLAGS.map(([flag]) => [flag, { type: 'string' } as const])),
  },
  run: runServe,
};

/** Later subcommands (lint, audit, certs, manifests) are added here. */
const lint: Command = {
  summary: 'check Endpoints and EndpointSlice manifests offline (files, directories, stdin), for CI',
  usage: lintUsage,
  help: lintHelp,
  options: lintOptions,
  positionals: true,
  run: runLint,
};

const convert: Command = {
  summary: 'write the EndpointSlices that replace hand-written v1 Endpoints (migration off Endpoints)',
  usage: convertUsage,
  help: convertHelp,
  options: convertOptions,
  positionals: true,
  run: runConvert,
};

const commands: Readonly<Record<string, Command>> = { serve, certs: certsCommand, lint, convert, audit: auditCommand, manifests: manifestsCommand, report: reportCommand };

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(`${PROGRAM}: missing command; run '${PROGRAM} --help'`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(programHelp());
    return EXIT_OK;
  }
  if (name === '--version') {
    io.stdout(programVersion());
    return EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) {
    io.stderr(`${PROGRAM}: unknown command '${name}'; commands: ${Object.keys(commands).join(', ')}`);
    return EXIT_USAGE;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: command.positionals === true,
    });
  } catch (err) {
    io.stderr(`${PROGRAM} ${name}: ${usageMessage(err)}; run '${PROGRAM} ${name} --help'`);
    return EXIT_USAGE;
  }
  if (parsed.values.help === true) {
    io.stdout(`usage: ${command.usage}\n${command.summary}\n\n${command.help}`);
    return EXIT_OK;
  }
  return command.run(parsed.values, parsed.positionals, io);
}

async function runServe(values: Values, _positionals: string[], io: Io): Promise<number> {
  const loaded = loadConfig({ flags: stringFlags(values), env: io.env });
  if (!loaded.ok) {
    io.stderr(`${PROGRAM}: ${loaded.message}`);
    return EXIT_USAGE;
  }
  const { config } = loaded;
  const log = createLogger(config.logLevel);

  // Handlers first: a SIGTERM that arrives while we start (or right after 'listening') still drains.
  // A cluster worker waits for the SIGTERM its primary passes on; a terminal's Ctrl-C reaches
  // every process of the group, and the primary's SIGTERM would then be a second signal.
  const stopSignal = shutdownSignal(log, cluster.isWorker ? ['SIGTERM'] : ['SIGTERM', 'SIGINT'], () => serving?.abort?.());
  if (cluster.isWorker) process.on('SIGINT', () => undefined);
  let serving: Serving | undefined;
  const started = config.workers > 1 && cluster.isPrimary
    ? await startWorkers(config, log)
    : await startServing(config, log, { worker: cluster.isWorker });
  if (!started.ok) {
    io.stderr(`${PROGRAM}: ${started.message}`);
    return EXIT_FAILURE;
  }
  const server = started.serving;
  serving = server;
  log.info({
    url: server.url, port: server.port, metricsUrl: server.metricsUrl, mode: config.mode, kubernetesVersion: config.kubernetesVersion,
    ...(cluster.isWorker ? { worker: cluster.worker?.id } : { workers: config.workers }),
  }, 'listening');

  const signal = await stopSignal;
  log.info({ signal }, 'shutting down');
  await server.close();
  log.info('stopped');
  // Drained and stopped: nothing may keep the process alive now, such as log lines waiting for a
  // reader that has stopped reading: they get a bounded time (see log.ts).
  await flushLog(log, LOG_FLUSH_MS);
  process.exit(EXIT_OK);
}

/**
 * Resolves on the first SIGTERM (Kubernetes stopping the Pod) or SIGINT (Ctrl-C). A second signal
 * while we drain means the caller has stopped waiting, so we exit at once.
 */
function shutdownSignal(log: Logger, signals: NodeJS.Signals[], abort: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals) => {
      for (const s of signals) {
        process.off(s, first);
        process.once(s, (again: NodeJS.Signals) => {
          log.warn({ signal: again }, 'second signal: exiting without waiting for requests in flight');
          abort();
          process.exit(EXIT_FAILURE);
        });
      }
      resolve(signal);
    };
    for (const s of signals) process.on(s, first);
  });
}

function stringFlags(values: Values): ConfigFlags {
  const flags: ConfigFlags = {};
  if (typeof values.config === 'string') flags.config = values.config;
  for (const [flag] of CONFIG_FLAGS) {
    const value = values[flag];
    if (typeof value === 'string') flags[flag] = value;
  }
  return flags;
}

/** parseArgs explains how to pass a positional that starts with '-'; the first sentence is enough. */
function usageMessage(err: unknown): string {
  const message = messageOf(err);
  const first = message.split(/\.\s/)[0] ?? message;
  return first.charAt(0).toLowerCase() + first.slice(1).replace(/\.$/, '');
}

function programHelp(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  return [
    `usage: ${PROGRAM} <command> [options]`,
    '',
    'commands:',
    ...Object.entries(commands).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`),
    '',
    `'${PROGRAM} <command> --help' shows a command's options; '${PROGRAM} --version' prints the version.`,
  ].join('\n');
}

function programVersion(): string {
  // package.json sits one level above both src/cli.ts and dist/cli.js.
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

if (import.meta.main) {
  const io: Io = {
    env: process.env,
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
    stdin: { [Symbol.asyncIterator]: () => process.stdin[Symbol.asyncIterator]() }, // opened only when read
    stdoutIsTTY: process.stdout.isTTY,
    stderrIsTTY: process.stderr.isTTY,
  };
  // `endpoint-guard lint ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2), io);
}
