// The process logger: JSON lines on stdout, one object per event, for the cluster's log collector.
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogLevel = pino.LevelWithSilent;

/**
 * Nothing here reads the environment: the level comes from config. A test passes its own
 * destination (anything with `write(line)`) to read the lines back.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  // Asynchronous, batched writes to stdout: a review does not wait for a write(2); lines are
  // written 4 KiB at a time, and at least every quarter of a second when fewer come. pino flushes
  // this destination synchronously when the process exits (process.exit() included), so the last
  // lines are not lost. maxWrite 8 KiB instead of 16: each line appended measures the UTF-8 length
  // of the text waiting to be written, and under load a third of a line's cost went to that.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, maxWrite: 8192, periodicFlush: 250 }));
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
