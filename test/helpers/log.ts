// A logger whose lines the test can read back, parsed.
import { type LogLevel, type Logger, createLogger } from '../../src/log.ts';

export interface CapturedLog {
  readonly log: Logger;
  /** Every line written so far, parsed from JSON. */
  readonly lines: Record<string, unknown>[];
}

export function captureLog(level: LogLevel = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}
