// The heaviest keys of a stream in bounded memory, for writers, namespaces and objects of which a
// cluster can have very many (the report's tables, the metric of v1 Endpoints writers). Space-Saving (Metwally, Agrawal and El Abbadi, 2005): at most
// `capacity` keys are tracked; a key not tracked when the table is full takes the place of the
// least counted one and inherits its count, remembered as `error`. So every key seen more than
// total/capacity times is tracked, and a tracked key's true count lies in [count - error, count].
// Until the table first fills, every count is exact.

export interface Tracked<D> {
  readonly key: string;
  /** How many times the key was counted, plus `error`. */
  readonly count: number;
  /** How much of `count` may belong to keys this one replaced; 0 for an exact count. */
  readonly error: number;
  /** What the caller keeps about the key; started afresh when the key takes another's place. */
  readonly data: D;
}

export interface TopCounter<D> {
  /** Counts `key` `by` more times; returns its data to update. */
  add(key: string, by?: number): D;
  /** The tracked keys, most counted first (ties by key), at most `limit` of them. */
  top(limit?: number): Tracked<D>[];
  /** Everything counted, tracked or not. */
  readonly total: number;
  /** Whether every count is exact: no key has ever taken another's place. */
  readonly exact: boolean;
}

interface Slot<D> { key: string; count: number; error: number; data: D }

/** `evicted` hears of each key that loses its place to another, with the data it had. */
export function topCounter<D>(capacity: number, fresh: () => D, evicted?: (key: string, data: D) => void): TopCounter<D> {
  if (!(Number.isInteger(capacity) && capacity > 0)) throw new Error(`topCounter: capacity must be a positive integer, not ${capacity}`);
  // A min-heap on count: the root is the slot a new key replaces.
  const heap: Slot<D>[] = [];
  const where = new Map<string, number>();
  let total = 0;
  let exact = true;

  const swap = (i: number, j: number) => {
    const a = heap[i] as Slot<D>;
    const b = heap[j] as Slot<D>;
    heap[i] = b;
    heap[j] = a;
    where.set(b.key, i);
    where.set(a.key, j);
  };
  const siftUp = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Slot<D>).count <= (heap[i] as Slot<D>).count) return;
      swap(i, parent);
      i = parent;
    }
  };
  const siftDown = (i: number) => {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && (heap[left] as Slot<D>).count < (heap[least] as Slot<D>).count) least = left;
      if (right < heap.length && (heap[right] as Slot<D>).count < (heap[least] as Slot<D>).count) least = right;
      if (least === i) return;
      swap(i, least);
      i = least;
    }
  };

  return {
    add(key, by = 1) {
      total += by;
      const at = where.get(key);
      if (at !== undefined) {
        const slot = heap[at] as Slot<D>;
        slot.count += by;
        siftDown(at);
        return slot.data;
      }
      if (heap.length < capacity) {
        const slot = { key, count: by, error: 0, data: fresh() };
        heap.push(slot);
        where.set(key, heap.length - 1);
        siftUp(heap.length - 1);
        return slot.data;
      }
      exact = false;
      const least = heap[0] as Slot<D>;
      where.delete(least.key);
      evicted?.(least.key, least.data);
      const slot = { key, count: least.count + by, error: least.count, data: fresh() };
      heap[0] = slot;
      where.set(key, 0);
      siftDown(0);
      return slot.data;
    },
    top(limit = capacity) {
      return [...heap]
        .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, limit)
        .map(({ key, count, error, data }) => ({ key, count, error, data }));
    },
    get total() {
      return total;
    },
    get exact() {
      return exact;
    },
  };
}

/** A count of distinct keys that stops remembering them at `limit`: then the count is a lower bound. */
export interface DistinctCounter {
  add(key: string): void;
  readonly count: number;
  /** True once `limit` keys were seen: there may be more than `count`. */
  readonly atLeast: boolean;
}

export function distinctCounter(limit: number): DistinctCounter {
  const seen = new Set<string>();
  return {
    add(key) {
      if (seen.size < limit) seen.add(key);
    },
    get count() {
      return seen.size;
    },
    get atLeast() {
      return seen.size >= limit;
    },
  };
}
