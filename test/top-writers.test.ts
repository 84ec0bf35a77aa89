// The top writers of v1 Endpoints: the sketch finds the users that write the most however many
// users there are, names at most N of them, and what it exports behaves as Prometheus counters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { COUNTERS_PER_NAME, type TopWritersSnapshot, topWriters } from '../src/server/top-writers.ts';

/** A deterministic stream: `users` users, user i writing about 1/(i+1) as often as user 0 (Zipf). */
function zipfStream(users: number, writes: number): string[] {
  const weights = Array.from({ length: users }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const stream: string[] = [];
  for (let i = 0; i < users; i++) {
    const n = Math.round((weights[i] as number / total) * writes);
    for (let k = 0; k < n; k++) stream.push(`user-${i}`);
  }
  // Interleave deterministically so the heavy users do not all come first.
  return stream.map((u, i) => [u, (i * 2654435761) % 4294967296] as const).sort((a, b) => a[1] - b[1]).map(([u]) => u);
}

describe('topWriters', () => {
  test('names the five users that write the most among 5000, who write in no particular order', () => {
    const writers = topWriters(5);
    const stream = zipfStream(5000, 200_000);
    for (const user of stream) writers.record(user);
    const { named, other } = writers.snapshot();
    assert.deepEqual([...named.keys()].sort(), ['user-0', 'user-1', 'user-2', 'user-3', 'user-4']);
    assert.ok(other > 0);
  });

  test('gives the first N users a name as they come, and a heavier writer the name of the weakest at the next snapshot', () => {
    const writers = topWriters(2);
    writers.record('a');
    writers.record('b');
    for (let i = 0; i < 5; i++) writers.record('c');
    // a and b were named with one write each; c's five writes were counted as other. c is known
    // to have written more than a (the weakest, first in line): c takes a's name, from 0.
    assert.deepEqual(writers.snapshot(), { named: new Map([['b', 1], ['c', 0]]), other: 5 });
    writers.record('c');
    writers.record('a'); // a, unnamed, is counted as other; with 2 writes it now outranks b's 1
    assert.deepEqual(writers.snapshot(), { named: new Map([['a', 1], ['c', 1]]), other: 6 }, 'a resumes its series at 1');
  });

  test('lets no user take a name it is not known to deserve: equal writers do not trade names', () => {
    const writers = topWriters(1);
    for (let i = 0; i < 10; i++) {
      writers.record('a');
      writers.record('b');
      assert.deepEqual([...writers.snapshot().named.keys()], ['a']);
    }
  });

  test('with no names to give, counts every write as other', () => {
    const writers = topWriters(0);
    for (const user of ['a', 'b', 'a']) writers.record(user);
    writers.record('c', 4);
    assert.deepEqual(writers.snapshot(), { named: new Map(), other: 7 });
  });

  const writes = fc.array(fc.oneof(
    fc.record({ user: fc.integer({ min: 0, max: 40 }).map((i) => `user-${i}`), count: fc.integer({ min: 1, max: 5 }) }),
    fc.constant('snapshot' as const),
  ), { maxLength: 300 });

  test('never exports more than N+1 series, and no series ever goes down', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 5 }), writes, (names, events) => {
      const writers = topWriters(names);
      let total = 0;
      let previous: TopWritersSnapshot = { named: new Map(), other: 0 };
      const last = new Map<string, number>(); // each user's series when it was last exported
      for (const event of [...events, 'snapshot' as const]) {
        if (event !== 'snapshot') {
          writers.record(event.user, event.count);
          total += event.count;
          continue;
        }
        const now = writers.snapshot();
        assert.ok(now.named.size <= names);
        assert.ok(now.other >= previous.other, 'other never goes down');
        // Fewer users (41) than counters (10 per name) for names above 4: no user loses its
        // counter, so a user named again resumes its series where it stopped.
        for (const [user, value] of now.named) {
          if (names * COUNTERS_PER_NAME > 41) assert.ok(value >= (last.get(user) ?? 0), `${user} went from ${last.get(user)} to ${value}`);
          last.set(user, value);
        }
        const exported = [...now.named.values()].reduce((a, b) => a + b, now.other);
        assert.ok(exported <= total, 'no write is counted twice');
        previous = now;
      }
    }), { numRuns: 300 });
  });
});
