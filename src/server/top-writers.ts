// The top writers of v1 Endpoints, for a metric labelled by user that must stay bounded: the N
// users that write the most keep their name, everyone else is counted as one `other`.
//
// Counting every user exactly would take memory without bound (a client can invent user names
// as fast as it can write), so the counts come from a space-saving sketch (Metwally, Agrawal and
// El Abbadi, "Efficient computation of frequent and top-k elements in data streams", 2005): it
// keeps `capacity` counters; an unseen user takes over the smallest, inheriting its count as an
// error bound. Any user with more than total/capacity writes is guaranteed a counter, and a
// counted user's estimate is high by at most its error. With ten counters per name the N largest
// are found well, however many users there are; each write costs O(log capacity).
//
// How the exported counters behave (they are Prometheus counters and must never go down):
// - a user's series counts the writes made while the user held a name; `other` counts every write
//   made while its user held none. No write is counted twice; `other` only grows.
// - the first N users get a name as they come. At each scrape, a user whose writes are known to
//   exceed (count minus error) those of the weakest named user takes that user's name; the weakest
//   loses it and its series disappears (its later writes go to `other`).
// - a user named again resumes its series where it stopped, as long as the sketch still counts it;
//   one the sketch had dropped starts again at 0, which Prometheus reads as a counter reset.
// So rate() of a named series is that user's write rate while named, and sum(rate()) over all
// series is the rate of all writes.

/** One user the sketch counts. */
interface Counted {
  readonly user: string;
  /** Writes seen, an estimate high by at most `error`. */
  count: number;
  /** The count inherited when the user took over another's counter. */
  error: number;
  /** Position in the heap. */
  index: number;
  /** Whether the user holds a name in the metric. */
  named: boolean;
  /** Writes counted under the user's own name (kept while the user is not named, to resume). */
  labelled: number;
}

export interface TopWritersSnapshot {
  /** Named users and the value of their series. */
  readonly named: ReadonlyMap<string, number>;
  readonly other: number;
}

export interface TopWriters {
  record(user: string, writes?: number): void;
  /** Hands names to the users that write the most, then returns what the metric exports. */
  snapshot(): TopWritersSnapshot;
}

/** Counters kept per name: enough for the sketch to rank the N largest of a long tail. */
export const COUNTERS_PER_NAME = 10;

export function topWriters(names: number): TopWriters {
  const capacity = names * COUNTERS_PER_NAME;
  const byUser = new Map<string, Counted>();
  /** A min-heap on count: the root is the counter an unseen user takes over. */
  const heap: Counted[] = [];
  let namedCount = 0;
  let other = 0;

  const swap = (i: number, j: number) => {
    const a = heap[i] as Counted;
    const b = heap[j] as Counted;
    heap[i] = b;
    heap[j] = a;
    a.index = j;
    b.index = i;
  };
  const siftUp = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Counted).count <= (heap[i] as Counted).count) return;
      swap(i, parent);
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && (heap[left] as Counted).count < (heap[smallest] as Counted).count) smallest = left;
      if (right < heap.length && (heap[right] as Counted).count < (heap[smallest] as Counted).count) smallest = right;
      if (smallest === i) return;
      swap(i, smallest);
      i = smallest;
    }
  };

  /** The user's counter, taking over the smallest one when the sketch is full. */
  const counterOf = (user: string, writes: number): Counted | undefined => {
    const seen = byUser.get(user);
    if (seen !== undefined) {
      seen.count += writes;
      siftDown(seen.index);
      return seen;
    }
    if (capacity === 0) return undefined;
    if (heap.length < capacity) {
      const counted: Counted = { user, count: writes, error: 0, index: heap.length, named: false, labelled: 0 };
      heap.push(counted);
      byUser.set(user, counted);
      siftUp(counted.index);
      return counted;
    }
    const smallest = heap[0] as Counted;
    byUser.delete(smallest.user);
    if (smallest.named) namedCount -= 1; // its series goes; a resumed name would start at 0
    const counted: Counted = { user, count: smallest.count + writes, error: smallest.count, index: 0, named: false, labelled: 0 };
    heap[0] = counted;
    byUser.set(user, counted);
    siftDown(0);
    return counted;
  };

  const name = (counted: Counted) => {
    counted.named = true;
    namedCount += 1;
  };

  return {
    record(user, writes = 1) {
      const counted = counterOf(user, writes);
      if (counted !== undefined && !counted.named && namedCount < names) name(counted);
      if (counted?.named === true) counted.labelled += writes;
      else other += writes;
    },
    snapshot() {
      const named = heap.filter((c) => c.named).sort((a, b) => a.count - b.count); // weakest first
      const candidates = heap.filter((c) => !c.named).sort((a, b) => (b.count - b.error) - (a.count - a.error));
      for (const candidate of candidates) {
        if (namedCount < names) {
          name(candidate);
          continue;
        }
        const weakest = named.shift();
        // Only a user known to have written more takes a name: no churn between near-equals.
        if (weakest === undefined || candidate.count - candidate.error <= weakest.count) break;
        weakest.named = false;
        namedCount -= 1;
        name(candidate);
      }
      return { named: new Map(heap.filter((c) => c.named).map((c) => [c.user, c.labelled])), other };
    },
  };
}
