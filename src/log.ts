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
  // Synchronous writes to stdout, so the last lines before process.exit() are not lost.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
