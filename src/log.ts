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
  // lines are not lost.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }));
}
