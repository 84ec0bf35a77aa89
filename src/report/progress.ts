// One progress line on stderr, redrawn in place (cursor up, clear line) a few times a second: for a
// person at a terminal only, never in a pipe or a log.
import type { Io } from '../io.ts';

export interface Progress {
  /** Bytes read so far of `total` (unknown for standard input), and lines so far. */
  update(name: string, bytes: number, total: number | undefined, lines: number): void;
  /** Draws the last state, whatever the time since the last redraw. */
  done(): void;
}

const REDRAW_MS = 200;
const WIDTH = 24;

export function progressLine(io: Io, now: () => number = Date.now): Progress {
  let drawn = false;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let pending: string | undefined;
  const draw = (line: string) => {
    io.stderr(drawn ? `\u001b[1A\u001b[2K${line}` : line);
    drawn = true;
    lastDraw = now();
    pending = undefined;
  };
  return {
    update(name, bytes, total, lines) {
      const count = `${lines.toLocaleString('en-US')} lines`;
      const line = total === undefined || total === 0
        ? `reading ${name}: ${count}`
        : `reading ${name} [${'#'.repeat(Math.round((Math.min(bytes, total) / total) * WIDTH)).padEnd(WIDTH, '.')}] ${Math.floor((Math.min(bytes, total) / total) * 100)}% ${count}`;
      if (now() - lastDraw >= REDRAW_MS) draw(line);
      else pending = line;
    },
    done() {
      if (pending !== undefined) draw(pending);
    },
  };
}
