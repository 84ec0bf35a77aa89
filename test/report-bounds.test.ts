// The report's memory bounds: the heavy-key tables keep their guarantee, distinct counts stop
// growing, the time series widens instead of growing, and a line too long to keep is skipped.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { forEachLine } from '../src/report/read.ts';
import type { LoggedReview } from '../src/report/review-line.ts';
import { BUCKET_WIDTHS, MAX_KEY_CHARS, TRACKED_KEYS, createTally } from '../src/report/tally.ts';
import { distinctCounter, topCounter } from '../src/heavy-hitters.ts';

const review = (over: Partial<LoggedReview>): LoggedReview => ({
  time: Date.parse('2025-06-01T00:00:00Z'), route: 'validate', kind: 'EndpointSlice', namespace: 'ns', name: 'obj', operation: 'CREATE',
  user: 'user', dryRun: false, mode: 'complain', modeFromNamespace: false, decision: 'allowed',
  findings: { 'managed-by-controller': 1 }, errors: ['managed-by-controller'], reason: undefined, ruleErrors: 0, ...over,
});

describe('topCounter', () => {
  test('counts exactly while it has room', () => {
    const top = topCounter(3, () => null);
    for (const key of ['a', 'b', 'a', 'c', 'a', 'b']) top.add(key);
    assert.deepEqual(top.top().map((t) => [t.key, t.count, t.error]), [['a', 3, 0], ['b', 2, 0], ['c', 1, 0]]);
    assert.equal(top.exact, true);
    assert.equal(top.total, 6);
  });

  test('once full, a tracked count bounds the true one, and every key above total/capacity is tracked', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 400 }),
      (capacity, stream) => {
        const top = topCounter(capacity, () => null);
        const truth = new Map<string, number>();
        for (const n of stream) {
          top.add(`k${n}`);
          truth.set(`k${n}`, (truth.get(`k${n}`) ?? 0) + 1);
        }
        const tracked = top.top();
        assert.ok(tracked.length <= capacity);
        for (const t of tracked) {
          const actual = truth.get(t.key) ?? 0;
          assert.ok(t.count - t.error <= actual && actual <= t.count, `${t.key}: ${actual} not in [${t.count - t.error}, ${t.count}]`);
        }
        for (const [key, count] of truth) {
          if (count > stream.length / capacity) assert.ok(tracked.some((t) => t.key === key), `${key} (${count} of ${stream.length}) is tracked`);
        }
        assert.equal(top.total, stream.length);
      },
    ), { numRuns: 300 });
  });

  test('gives a key that takes another\'s place fresh data', () => {
    const top = topCounter(1, () => ({ seen: 0 }));
    top.add('a').seen += 1;
    assert.deepEqual(top.add('b'), { seen: 0 });
    assert.equal(top.exact, false);
    assert.deepEqual(top.top().map((t) => [t.key, t.count, t.error]), [['b', 2, 1]]);
  });
});

test('a distinct count stops remembering at its limit and says it is a lower bound', () => {
  const d = distinctCounter(3);
  for (const key of ['a', 'b', 'a']) d.add(key);
  assert.deepEqual([d.count, d.atLeast], [2, false]);
  for (const key of ['c', 'd', 'e']) d.add(key);
  assert.deepEqual([d.count, d.atLeast], [3, true]);
});

describe('the tally', () => {
  test('tracks at most TRACKED_KEYS writers however many there are, and keeps the heaviest', () => {
    const tally = createTally();
    for (let i = 0; i < 20_000; i++) tally.add(review({ user: `writer-${i}`, namespace: `ns-${i % 5000}` }));
    for (let i = 0; i < 500; i++) tally.add(review({ user: 'heavy', namespace: 'busy' }));
    const s = tally.summary();
    assert.equal(s.byWriter.rows.length, TRACKED_KEYS);
    assert.equal(s.byWriter.exact, false);
    assert.equal(s.byWriter.rows[0]?.key, 'heavy');
    const heavy = s.byWriter.rows[0];
    assert.ok(heavy && heavy.count - heavy.error <= 500 && heavy.count >= 500);
    assert.equal(s.byWriter.total, 20_500);
    assert.equal(s.distinct.writers.count, 20_001);
    assert.equal(s.distinct.namespaces.count, 5001);
  });

  test('cuts names longer than MAX_KEY_CHARS', () => {
    const tally = createTally();
    tally.add(review({ user: 'u'.repeat(100_000) }));
    const key = tally.summary().byWriter.rows[0]?.key ?? '';
    assert.equal([...key].length, MAX_KEY_CHARS);
    assert.ok(key.endsWith('…'));
  });

  test('widens its time buckets instead of keeping more than it should', () => {
    const tally = createTally();
    const start = Date.parse('2020-01-01T00:00:00Z');
    // Five years, a write every 5 hours: 8766 hourly buckets would be too many.
    for (let t = start; t < start + 5 * 365 * 86_400_000; t += 5 * 3_600_000) tally.add(review({ time: t }));
    const s = tally.summary();
    assert.ok(s.bucketWidth > 3_600_000 && BUCKET_WIDTHS.includes(s.bucketWidth as (typeof BUCKET_WIDTHS)[number]));
    assert.ok(s.buckets.length <= 2000, `${s.buckets.length} buckets`);
    assert.equal(s.buckets.reduce((sum, b) => sum + b.wouldDeny, 0), s.verdicts['would-deny']);
    assert.ok(s.buckets.every((b) => b.start % s.bucketWidth === 0));
  });

  test('keeps hourly buckets for a two-week trial', () => {
    const tally = createTally();
    const start = Date.parse('2025-06-01T00:00:00Z');
    for (let h = 0; h < 14 * 24; h++) tally.add(review({ time: start + h * 3_600_000 + 1 }));
    const s = tally.summary();
    assert.equal(s.bucketWidth, 3_600_000);
    assert.equal(s.buckets.length, 14 * 24);
  });
});

describe('reading lines', () => {
  const lines = async (chunks: readonly string[], maxLineBytes?: number) => {
    const seen: string[] = [];
    const tooLong = await forEachLine(Readable.from(chunks.map((c) => Buffer.from(c))), { line: (l) => seen.push(l) }, maxLineBytes);
    return { seen, tooLong };
  };

  test('joins lines split across chunks, multi-byte characters included, and reads a last line without a newline', async () => {
    const text = 'one\ntwo ünï\n\nthree';
    const bytes = Buffer.from(text);
    const chunks = [bytes.subarray(0, 6), bytes.subarray(6, 9), bytes.subarray(9)].map((b) => b.toString('latin1'));
    const seen: string[] = [];
    await forEachLine(Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))), { line: (l) => seen.push(l) });
    assert.deepEqual(seen, ['one', 'two ünï', '', 'three']);
    assert.deepEqual((await lines(['a\nb', 'c\n'])).seen, ['a', 'bc']);
  });

  test('skips a line longer than the limit without keeping it, and reads on', async () => {
    const { seen, tooLong } = await lines(['short\n', 'x'.repeat(600), 'y'.repeat(600), 'z'.repeat(600), '\nafter\n'], 1000);
    assert.deepEqual(seen, ['short', 'after']);
    assert.equal(tooLong, 1);
  });
});
