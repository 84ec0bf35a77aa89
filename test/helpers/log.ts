// A logger whose lines the test can read back, parsed.
import { type LogLevel, type Logger, createLogger } from '../../src/log.ts';

export interface CapturedLog {
  readonly log: Logger;
  /** Every line written so far, parsed from JSON. */
  readonly lines: Record<string, unknown>[];
  /** The same lines as written, newline included. */
  readonly raw: string[];
}

export function captureLog(level: LogLevel = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const log = createLogger(level, {
    write: (line: string) => {
      raw.push(line);
      lines.push(JSON.parse(line));
    },
  });
  return { log, lines, raw };
}
