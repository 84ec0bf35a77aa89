// The process logger: JSON lines on stdout, one object per event, for the cluster's log collector.
import { writeSync } from 'node:fs';
import { pino } from 'pino';
// A CommonJS module: its class is `default.SonicBoom` once imported, in the types and at run time alike.
import sonicBoom from 'sonic-boom';

export type Logger = pino.Logger;
export type LogLevel = pino.LevelWithSilent;

/**
 * Nothing here reads the environment: the level comes from config. A test passes its own
 * destination (anything with `write(line)`) to read the lines back.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, destination ?? stdoutDestination());
}

/** How long the lines still waiting at exit get to reach a reader that is slow or has stopped reading. */
const EXIT_FLUSH_MS = 1_000;

/**
 * Asynchronous, batched writes to stdout: a review does not wait for a write(2); lines are written
 * 4 KiB at a time, and at least every quarter of a second when fewer come. maxWrite 8 KiB instead
 * of 16: each line appended measures the UTF-8 length of the text waiting to be written, and under
 * load a third of a line's cost went to that.
 *
 * Whatever happens to the reader, the process goes on serving and can exit (pino's own
 * destination, on a closed pipe, kept the process alive after shutdown; on a full one, its flush
 * at exit waited forever). A write that fails (EPIPE: `serve | head -1`, a log shipper that died)
 * stops logging to stdout, said once on stderr. At exit the lines still waiting are written
 * synchronously (process.exit() included, so the last lines are not lost), for at most
 * EXIT_FLUSH_MS when the reader is not reading; after that they are dropped.
 */
function stdoutDestination(): pino.DestinationStream {
  let exitDeadline = Number.POSITIVE_INFINITY;
  const sonic = new sonicBoom.SonicBoom({
    fd: 1, sync: false, minLength: 4096, maxWrite: 8192, periodicFlush: 250,
    retryEAGAIN: () => performance.now() < exitDeadline, // a full pipe: wait for the reader, but not past the deadline at exit
  });
  let broken = false;
  sonic.on('error', (err: NodeJS.ErrnoException) => {
    if (broken) return;
    broken = true;
    try {
      writeSync(2, `endpoint-guard: the log output (stdout) was closed or failed (${err.code ?? err.message}); log lines are dropped from now on\n`);
    } catch {
      // stderr is gone too: nobody is left to tell
    }
  });
  process.once('exit', () => {
    if (broken) return;
    exitDeadline = performance.now() + EXIT_FLUSH_MS;
    try {
      sonic.flushSync();
    } catch {
      // the reader did not read in time, or went away: the last lines are lost, the exit is not delayed
    }
  });
  return { write: (line: string) => (broken ? undefined : sonic.write(line)) };
}

const { streamSym, chindingsSym, timeSym } = pino.symbols;

/**
 * `log.info(fields, msg)` for the line written once per admission review: the line pino writes
 * (level, time, bindings, the fields, msg), serialised by JSON.stringify in one call. pino
 * serialises a field at a time: under load that took as long as all the rules of a small review
 * (about 20 us a line), this a fifth of it. The loggers made here have no serializers, redaction,
 * hooks or formatters that this would skip; a test holds the two lines equal.
 */
export function infoLine(log: Logger, fields: object, msg: string): void {
  if (!log.isLevelEnabled('info')) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[streamSym] as { write(line: string): unknown };
  const time = internals[timeSym] as () => string;
  const bindings = internals[chindingsSym] as string;
  const json = JSON.stringify(fields);
  const merged = json.length > 2 ? `,${json.slice(1, -1)}` : '';
  stream.write(`{"level":${log.levels.values.info}${time()}${bindings}${merged},"msg":${JSON.stringify(msg)}}\n`);
}
