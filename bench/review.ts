// In-process benchmark of review handling alone: JSON.parse, then the envelope, the depth limit,
// rules, policy and JSON.stringify of the answer, for slices of 1, 10, 100 and 1000 endpoints.
import { reviewAdmission } from '../src/admission.ts';
import { configSchema } from '../src/config.ts';
import { sliceReview } from './payloads.ts';

export interface ReviewRow {
  readonly endpoints: number;
  readonly bytes: number;
  /** Microseconds per JSON.parse of the body. */
  readonly usParse: number;
  /** Microseconds per review without JSON.parse: median and fastest of the timed windows. */
  readonly usHandling: number;
  readonly usHandlingMin: number;
}

const SIZES = [1, 10, 100, 1000];
const WINDOWS = 10;
const MAX_CALLS_PER_WINDOW = 100_000;
const BATCH = 8;

/**
 * Microseconds per call of `run` in each of WINDOWS windows that together last `seconds`. Each
 * call gets an input of its own, made by `make` outside the timed part.
 */
function windows<T>(seconds: number, make: () => T, run: (input: T) => unknown): number[] {
  for (let i = 0; i < 50; i++) run(make()); // warm up the JIT
  const times: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const deadline = performance.now() + (seconds * 1000) / WINDOWS;
    let timed = 0;
    let calls = 0;
    while (performance.now() < deadline && calls < MAX_CALLS_PER_WINDOW) {
      const inputs = Array.from({ length: BATCH }, make);
      const start = performance.now();
      for (const input of inputs) run(input);
      timed += performance.now() - start;
      calls += BATCH;
    }
    times.push((timed * 1000) / calls);
  }
  return times.sort((a, b) => a - b);
}
const median = (sorted: readonly number[]): number => sorted[Math.floor(sorted.length / 2)] ?? 0;

/** Complain mode with every rule on, as the HTTP benchmark runs the server. */
export function runReview(seconds: number): ReviewRow[] {
  const config = configSchema.parse({ mode: 'complain' });
  return SIZES.map((endpoints) => {
    const body = sliceReview(endpoints);
    // Each review gets a body parsed for it alone, as in the server (new strings, nothing cached
    // in them), parsed outside the timed part.
    const parse = windows(seconds / 2, () => body, (text) => JSON.parse(text));
    const parsed = () => JSON.parse(body) as unknown;
    const handling = windows(seconds / 2, parsed, (input) => JSON.stringify(reviewAdmission(input, config).body));
    return {
      endpoints, bytes: Buffer.byteLength(body), usParse: median(parse),
      usHandling: median(handling), usHandlingMin: handling[0] ?? 0,
    };
  });
}

export function printReview(rows: readonly ReviewRow[], seconds: number): void {
  const base = rows[0]?.usHandling ?? 1;
  console.log(`\nReview handling in process (envelope, depth limit, rules, policy, JSON.stringify of the answer), ${seconds}s per size`);
  console.log(`handling: median of ${WINDOWS} windows, in brackets the fastest; each review on a body parsed for it (not timed)`);
  console.log('endpoints  body bytes  JSON.parse us  handling us (fastest)  x 1-endpoint  us/endpoint');
  for (const r of rows) {
    console.log([
      String(r.endpoints).padStart(9), String(r.bytes).padStart(10), r.usParse.toFixed(1).padStart(13),
      `${r.usHandling.toFixed(1)} (${r.usHandlingMin.toFixed(1)})`.padStart(21),
      (r.usHandling / base).toFixed(1).padStart(12), (r.usHandling / r.endpoints).toFixed(2).padStart(11),
    ].join('  '));
  }
}
