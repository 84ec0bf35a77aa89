// In-process benchmark of review handling alone: JSON.parse, rules, policy, response, JSON.stringify.
// Prints time per review for slices of 1, 10, 100 and 1000 endpoints and how it grows.
// Usage: npm run bench [-- --seconds S] [-- --json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { reviewAdmission } from '../src/admission.ts';
import { configSchema } from '../src/config.ts';
import { sliceReview } from './payloads.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' }, json: { type: 'string' } } });
const seconds = Number(values.seconds);
if (!(seconds > 0 && seconds <= 60)) throw new Error('--seconds must be a number from 0 to 60');

const config = configSchema.parse({ mode: 'complain' });

/** Microseconds per call of `run`, over `seconds` (bounded in count too). */
function timeIt(run: () => unknown): number {
  for (let i = 0; i < 50; i++) run(); // warm up the JIT
  const deadline = performance.now() + (seconds * 1000) / 2;
  let calls = 0;
  const start = performance.now();
  while (performance.now() < deadline && calls < 1_000_000) {
    run();
    calls++;
  }
  return ((performance.now() - start) * 1000) / calls;
}

function measure(body: string) {
  const usParse = timeIt(() => JSON.parse(body));
  const usReview = timeIt(() => JSON.stringify(reviewAdmission(JSON.parse(body), config).body));
  return { usParse, usReview, usHandling: usReview - usParse };
}

const rows = [1, 10, 100, 1000].map((n) => {
  const body = sliceReview(n);
  const { usParse, usReview, usHandling } = measure(body);
  return { endpoints: n, bytes: Buffer.byteLength(body), usParse, usReview, usHandling };
});
const base = rows[0]?.usHandling ?? 1;
console.log(`review handling in process, Node ${process.version}, ${seconds}s per size`);
console.log('handling = envelope, rules, policy and JSON.stringify of the answer; JSON.parse shown apart');
console.log('endpoints  body bytes  JSON.parse us  handling us  total us  reviews/s  handling x 1-endpoint  us/endpoint');
for (const r of rows) {
  console.log([
    String(r.endpoints).padStart(9), String(r.bytes).padStart(10), r.usParse.toFixed(1).padStart(13),
    r.usHandling.toFixed(1).padStart(11), r.usReview.toFixed(1).padStart(8), Math.round(1e6 / r.usReview).toString().padStart(9),
    (r.usHandling / base).toFixed(1).padStart(21), (r.usHandling / r.endpoints).toFixed(2).padStart(11),
  ].join('  '));
}
const rssMiB = process.memoryUsage().rss / 2 ** 20;
console.log(`peak RSS ${rssMiB.toFixed(0)} MiB`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ node: process.version, seconds, rows, rssMiB }, null, 2)}\n`);
