// The top writers of v1 Endpoints, for a metric labelled by user that must stay bounded: the N
// users that write the most keep their name, everyone else is counted as one `other`.
//
// Counting every user exactly would take memory without bound (a client can invent user names
// as fast as it can write), so the counts come from the space-saving sketch of heavy-hitters.ts,
// with ten counters per name: any user with more than total/capacity writes is guaranteed a
// counter, so the N largest are found well however many users there are.
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

import { topCounter } from '../heavy-hitters.ts';

/** What is kept about each user the sketch counts. */
interface Naming {
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
  let other = 0;
  if (names === 0) {
    return { record: (_user, writes = 1) => void (other += writes), snapshot: () => ({ named: new Map(), other }) };
  }
  let namedCount = 0;
  // A user that loses its counter loses its name too: its series goes, and a resumed name starts at 0.
  const sketch = topCounter<Naming>(names * COUNTERS_PER_NAME, () => ({ named: false, labelled: 0 }), (_user, naming) => {
    if (naming.named) namedCount -= 1;
  });
  const name = (naming: Naming) => {
    naming.named = true;
    namedCount += 1;
  };

  return {
    record(user, writes = 1) {
      const naming = sketch.add(user, writes);
      if (!naming.named && namedCount < names) name(naming);
      if (naming.named) naming.labelled += writes;
      else other += writes;
    },
    snapshot() {
      const counted = sketch.top();
      const named = counted.filter((c) => c.data.named).sort((a, b) => a.count - b.count); // weakest first
      const candidates = counted.filter((c) => !c.data.named).sort((a, b) => (b.count - b.error) - (a.count - a.error));
      for (const candidate of candidates) {
        if (namedCount < names) {
          name(candidate.data);
          continue;
        }
        const weakest = named.shift();
        // Only a user known to have written more takes a name: no churn between near-equals.
        if (weakest === undefined || candidate.count - candidate.error <= weakest.count) break;
        weakest.data.named = false;
        namedCount -= 1;
        name(candidate.data);
      }
      return { named: new Map(counted.filter((c) => c.data.named).map((c) => [c.key, c.data.labelled])), other };
    },
  };
}
