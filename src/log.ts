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
  const options: pino.LoggerOptions = { level, base: { pid: process.pid }, timestamp: isoTime };
  return pino(options, destination ?? stdoutDestination());
}

let timeMs = 0;
let timeField = '';
/** pino's isoTime, formatted once per millisecond: under load several lines share one. */
function isoTime(): string {
  const now = Date.now();
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/** Lines are gathered into a buffer of this size and handed on once it is a quarter full... */
const BATCH_BYTES = 64 * 1024;
/** ...or at least this often when fewer come. */
const BATCH_MS = 250;
/** How long the lines still waiting at exit get to reach a reader that is slow or has stopped reading. */
const EXIT_FLUSH_MS = 1_000;

/**
 * Asynchronous, batched writes to stdout: a review does not wait for a write(2). Each line is
 * copied as UTF-8 into a buffer at once, and the buffer handed to sonic-boom once it holds 16 KiB,
 * or at least every quarter of a second: the line's text is then garbage the young generation
 * frees for nothing (a line kept until its batch is written got copied by every scavenge it
 * lived through), and sonic-boom, given bytes, no longer measures the UTF-8 length of all it
 * holds on each write.
 *
 * Whatever happens to the reader, the process goes on serving and can exit (pino's own
 * destination, on a closed pipe, kept the process alive after shutdown; on a full one, its flush
 * at exit waited forever). A write that fails (EPIPE: `serve | head -1`, a log shipper that died)
 * stops logging to stdout, said once on stderr. At exit the lines still waiting are written
 * synchronously (process.exit() included, so the last lines are not lost), for at most
 * EXIT_FLUSH_MS when the reader is not reading; after that they are dropped.
 */
function stdoutDestination(): pino.DestinationStream & { flush(done?: (err?: Error) => void): void } {
  let exitDeadline = Number.POSITIVE_INFINITY;
  const sonic = new sonicBoom.SonicBoom({
    fd: 1, sync: false, minLength: 0, maxWrite: BATCH_BYTES, contentMode: 'buffer',
    retryEAGAIN: () => performance.now() < exitDeadline, // a full pipe: wait for the reader, but not past the deadline at exit
  });
  // sonic-boom's types know only text; with contentMode 'buffer' it takes bytes.
  const writeBytes = sonic.write.bind(sonic) as unknown as (bytes: Buffer) => boolean;
  let broken = false;
  const batch = Buffer.allocUnsafeSlow(BATCH_BYTES);
  let used = 0;
  const handOn = () => {
    if (used === 0) return;
    if (!broken) writeBytes(Buffer.from(batch.subarray(0, used))); // a copy: sonic-boom keeps it until written
    used = 0;
  };
  const timer = setInterval(handOn, BATCH_MS);
  timer.unref();
  sonic.on('error', (err: NodeJS.ErrnoException) => {
    if (broken) return;
    broken = true;
    try {
      writeSync(2, `endpoint-guard: the log output (stdout) was closed or failed (${err.code ?? err.message}); log lines are dropped from now on\n`);
    } catch {
      // stderr is gone too: nobody is left to tell
    }
  });
  // At exit there is no event loop left: what sonic-boom holds is written synchronously, then the
  // lines gathered here (handing them to sonic-boom would start a write that the exit cuts short).
  process.once('exit', () => {
    clearInterval(timer);
    if (broken) return;
    exitDeadline = performance.now() + EXIT_FLUSH_MS;
    try {
      sonic.flushSync();
      writeAllSync(batch.subarray(0, used), exitDeadline);
    } catch {
      // the reader did not read in time, or went away: the last lines are lost, the exit is not delayed
    }
  });
  return {
    /** Hands on the lines gathered and calls back once all is written (pino's logger.flush()). */
    flush: (done?: (err?: Error) => void) => {
      handOn();
      if (broken) done?.();
      else sonic.flush((err?: Error) => done?.(err));
    },
    write: (line: string) => {
      if (broken) return;
      // A UTF-16 code unit takes at most 3 bytes in UTF-8.
      if (used + 3 * line.length > BATCH_BYTES) handOn();
      if (3 * line.length > BATCH_BYTES) writeBytes(Buffer.from(line)); // a line of a debug-logged object
      else used += batch.write(line, used);
      if (used >= BATCH_BYTES / 4) handOn();
    },
  };
}

/** Writes all of `bytes` to stdout now, waiting for a full pipe until `deadline`; throws past it or on any other error. */
function writeAllSync(bytes: Buffer, deadline: number): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' || performance.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10); // a full pipe: give the reader 10 ms
    }
  }
}

/**
 * Writes out the lines still waiting, for at most `ms`: before a deliberate exit, so the last
 * lines go out through the event loop rather than only the bounded flush at exit.
 */
export function flushLog(log: Logger, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    log.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

const { streamSym, chindingsSym, timeSym } = pino.symbols;
const INFO = pino.levels.values.info ?? 30;

/**
 * `log.info(fields, msg)` for the line written once per admission review: the line pino writes
 * (level, time, bindings, the fields, msg), serialised by JSON.stringify in one call. pino
 * serialises a field at a time: under load that took as long as all the rules of a small review
 * (about 20 us a line), this a fifth of it. The loggers made here have no serializers, redaction,
 * hooks or formatters that this would skip; a test holds the two lines equal.
 */
export function infoLine(log: Logger, fields: object, msg: string): void {
  if (log.levelVal > INFO) return;
  const internals = log as unknown as Record<symbol, unknown>;
  const stream = internals[streamSym] as { write(line: string): unknown };
  const time = internals[timeSym] as () => string;
  const bindings = internals[chindingsSym] as string;
  const json = JSON.stringify(fields);
  const merged = json.length > 2 ? `,${json.slice(1, -1)}` : '';
  stream.write(`{"level":${INFO}${time()}${bindings}${merged},"msg":${JSON.stringify(msg)}}\n`);
}
