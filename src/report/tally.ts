// Review lines in, the trial's figures out, in bounded memory whatever the number of lines,
// writers, namespaces or objects: per-writer and per-namespace tables keep the heaviest
// TRACKED_KEYS keys (top.ts), distinct counts stop remembering at MAX_DISTINCT, and the time
// series widens its buckets when it would pass MAX_TIME_BUCKETS.
import type { Mode } from '../config.ts';
import { REVIEW_FAILURES } from '../server/review-guard.ts';
import type { LoggedReview } from './review-line.ts';
import { type DistinctCounter, type TopCounter, type Tracked, distinctCounter, topCounter } from '../heavy-hitters.ts';

/**
 * What one review line counts as. A write is a /validate review of a CREATE or UPDATE that the
 * rules checked (allowed or denied), not a dry run; enforce would have denied it when the rules
 * found an error (the line's `errors`), whatever mode it ran in. /mutate lines are the same writes
 * seen by the mutating webhook and are never counted as writes again.
 */
export type Verdict =
  | 'would-deny' | 'warned' | 'clean'
  | 'dry-run' | 'not-checked' | 'exempt' | 'ignored' | 'bad-request' | 'mutate';

const WRITE_OPERATIONS = new Set(['CREATE', 'UPDATE']);
/** The reasons review-guard.ts logs for a review that threw or overran reviewBudgetMs. */
const FAILED_REVIEW_REASONS = new Set(REVIEW_FAILURES.map((failure) => `review ${failure}`));

export function verdictOf(r: LoggedReview): Verdict {
  if (r.route === 'mutate') return 'mutate';
  if (r.decision === 'bad-request') return 'bad-request';
  if (r.decision === 'exempt') return 'exempt';
  if (r.decision === 'ignored' || !WRITE_OPERATIONS.has(r.operation ?? '')) return 'ignored';
  if (FAILED_REVIEW_REASONS.has(r.reason ?? '') || (r.ruleErrors > 0 && r.errors.length === 0)) return 'not-checked';
  if (r.dryRun) return 'dry-run';
  if (r.errors.length > 0) return 'would-deny';
  return Object.keys(r.findings).length > 0 ? 'warned' : 'clean';
}

/** How many keys each table tracks (the report shows the first few): see top.ts for the guarantee. */
export const TRACKED_KEYS = 1000;
/** Rules, namespaces or writers kept per row of a table. */
const TRACKED_PER_ROW = 8;
/** Distinct writers and namespaces counted exactly up to this many. */
export const MAX_DISTINCT = 100_000;
/** Longer user, namespace and object names are cut: a log line is not trusted to be small. */
export const MAX_KEY_CHARS = 256;
/** Bucket widths of the time series, each a multiple of the one before; UTC-aligned. */
const HOUR = 3_600_000;
export const BUCKET_WIDTHS = [HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 7 * 24 * HOUR, 28 * 24 * HOUR, 364 * 24 * HOUR] as const;
const MAX_TIME_BUCKETS = 2000;

export interface ObjectExample {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly user: string;
  readonly rules: readonly string[];
  readonly time: number;
}

interface RowData {
  example: ObjectExample | undefined;
  readonly rules: TopCounter<null>;
  readonly namespaces: TopCounter<null>;
  readonly writers: TopCounter<null>;
  /** The mode of the latest review in this namespace, and whether its label chose it. */
  mode: { mode: Mode; fromLabel: boolean; time: number } | undefined;
}
const rowData = (): RowData => ({
  example: undefined,
  rules: topCounter(TRACKED_PER_ROW, () => null),
  namespaces: topCounter(TRACKED_PER_ROW, () => null),
  writers: topCounter(TRACKED_PER_ROW, () => null),
  mode: undefined,
});

export interface Window {
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

export type VerdictCounts = Record<Verdict, number>;

export interface Tally {
  /** Counts the review when it falls in the window; returns whether it did. */
  add(review: LoggedReview): boolean;
  summary(): TrialSummary;
}

export interface CountRow {
  readonly key: string;
  readonly count: number;
  /** The count may be this much too high (see top.ts); 0 when exact. */
  readonly error: number;
}

export interface TableRow extends CountRow {
  readonly example: ObjectExample | undefined;
  readonly rules: readonly CountRow[];
  readonly namespaces: readonly CountRow[];
  readonly writers: readonly CountRow[];
  readonly mode: { readonly mode: Mode; readonly fromLabel: boolean } | undefined;
}

export interface Table {
  readonly rows: readonly TableRow[];
  /** Everything counted in this table, shown or not. */
  readonly total: number;
  /** Whether every count in it is exact (fewer keys than TRACKED_KEYS were ever seen). */
  readonly exact: boolean;
}

export interface Distinct { readonly count: number; readonly atLeast: boolean }

export interface TimeBucket { readonly start: number; readonly writes: number; readonly wouldDeny: number }

export interface TrialSummary {
  readonly window: Window;
  /** The first and last review time counted. */
  readonly first: number | undefined;
  readonly last: number | undefined;
  readonly verdicts: VerdictCounts;
  /** Would-deny writes by the mode they ran in: enforce already denied them; complain and off allowed them. */
  readonly wouldDenyByMode: Readonly<Record<Mode, number>>;
  /** Would-deny writes in namespaces whose label set complain or off: the global mode does not change them. */
  readonly wouldDenyKeptByLabel: number;
  /** Would-deny dry runs: people trying a write, nothing stored. */
  readonly dryRunWouldDeny: number;
  /** v1 Endpoints writes (would-deny, warned or clean). */
  readonly endpointsWrites: number;
  /** /mutate reviews that sent a fix, and fixes by rule. */
  readonly fixedWrites: number;
  readonly fixes: Table;
  readonly byRule: Table;
  readonly byNamespace: Table;
  readonly byWriter: Table;
  readonly endpointsWriters: Table;
  readonly distinct: { readonly writers: Distinct; readonly namespaces: Distinct; readonly endpointsWriters: Distinct };
  readonly bucketWidth: number;
  readonly buckets: readonly TimeBucket[];
}

const cut = (text: string): string => (text.length > MAX_KEY_CHARS ? `${text.slice(0, MAX_KEY_CHARS - 1)}…` : text);
export const UNKNOWN_USER = '(unknown user)';
export const NO_NAMESPACE = '(no namespace)';

const emptyVerdicts = (): VerdictCounts => ({
  'would-deny': 0, warned: 0, clean: 0, 'dry-run': 0, 'not-checked': 0, exempt: 0, ignored: 0, 'bad-request': 0, mutate: 0,
});

export function createTally(window: Window = {}): Tally {
  const verdicts = emptyVerdicts();
  const wouldDenyByMode: Record<Mode, number> = { complain: 0, enforce: 0, off: 0 };
  let wouldDenyKeptByLabel = 0;
  let dryRunWouldDeny = 0;
  let endpointsWrites = 0;
  let fixedWrites = 0;
  let first: number | undefined;
  let last: number | undefined;
  const fixes = topCounter(TRACKED_KEYS, () => null);
  const byRule = topCounter(TRACKED_KEYS, rowData);
  const byNamespace = topCounter(TRACKED_KEYS, rowData);
  const byWriter = topCounter(TRACKED_KEYS, rowData);
  const endpointsWriters = topCounter(TRACKED_KEYS, rowData);
  const distinct = { writers: distinctCounter(MAX_DISTINCT), namespaces: distinctCounter(MAX_DISTINCT), endpointsWriters: distinctCounter(MAX_DISTINCT) };
  let widthIndex = 0;
  let buckets = new Map<number, { writes: number; wouldDeny: number }>();

  const bucketStart = (time: number) => {
    const width = BUCKET_WIDTHS[widthIndex] ?? HOUR;
    return Math.floor(time / width) * width;
  };
  /** Merges the buckets into the next wider ones. */
  const widen = () => {
    widthIndex += 1;
    const wider = new Map<number, { writes: number; wouldDeny: number }>();
    for (const [start, b] of buckets) {
      const merged = wider.get(bucketStart(start)) ?? { writes: 0, wouldDeny: 0 };
      merged.writes += b.writes;
      merged.wouldDeny += b.wouldDeny;
      wider.set(bucketStart(start), merged);
    }
    buckets = wider;
  };
  const countInTime = (time: number, wouldDeny: boolean) => {
    let bucket = buckets.get(bucketStart(time));
    while (bucket === undefined && buckets.size >= MAX_TIME_BUCKETS && widthIndex < BUCKET_WIDTHS.length - 1) {
      widen();
      bucket = buckets.get(bucketStart(time));
    }
    if (bucket === undefined) {
      // Times spread over thousands of years are not a trial's: such a line is left out of the chart.
      if (buckets.size >= MAX_TIME_BUCKETS) return;
      bucket = { writes: 0, wouldDeny: 0 };
      buckets.set(bucketStart(time), bucket);
    }
    bucket.writes += 1;
    if (wouldDeny) bucket.wouldDeny += 1;
  };

  const example = (r: LoggedReview, user: string, namespace: string): ObjectExample => ({
    kind: cut(r.kind ?? '?'), namespace, name: cut(r.name ?? '(no name)'), user, rules: r.errors.slice(0, TRACKED_PER_ROW).map(cut), time: r.time,
  });
  /** The latest would-deny write is the example: the same whatever order the replicas' lines come in. */
  const keepLatest = (row: RowData, candidate: () => ObjectExample, time: number) => {
    if (row.example === undefined || time > row.example.time) row.example = candidate();
  };

  const add = (r: LoggedReview): boolean => {
    if ((window.since !== undefined && r.time < window.since) || (window.until !== undefined && r.time >= window.until)) return false;
    first = first === undefined || r.time < first ? r.time : first;
    last = last === undefined || r.time > last ? r.time : last;
    const verdict = verdictOf(r);
    verdicts[verdict] += 1;
    if (verdict === 'mutate') {
      const rules = Object.entries(r.findings).filter(([, n]) => n > 0);
      if (rules.length > 0) fixedWrites += 1;
      for (const [rule, n] of rules) fixes.add(cut(rule), n);
      return true;
    }
    if (verdict === 'dry-run' && r.errors.length > 0) dryRunWouldDeny += 1;
    if (verdict !== 'would-deny' && verdict !== 'warned' && verdict !== 'clean') return true;

    const user = cut(r.user ?? UNKNOWN_USER);
    const namespace = cut(r.namespace ?? NO_NAMESPACE);
    countInTime(r.time, verdict === 'would-deny');
    if (r.kind === 'Endpoints') {
      endpointsWrites += 1;
      distinct.endpointsWriters.add(user);
      const row = endpointsWriters.add(user);
      row.namespaces.add(namespace);
      keepLatest(row, () => example(r, user, namespace), r.time);
    }
    if (verdict !== 'would-deny') return true;

    wouldDenyByMode[r.mode] += 1;
    if (r.modeFromNamespace && r.mode !== 'enforce') wouldDenyKeptByLabel += 1;
    distinct.writers.add(user);
    distinct.namespaces.add(namespace);
    const rules = r.errors.map(cut);
    const writer = byWriter.add(user);
    const ns = byNamespace.add(namespace);
    for (const row of [writer, ns]) {
      for (const rule of rules) row.rules.add(rule);
      keepLatest(row, () => example(r, user, namespace), r.time);
    }
    writer.namespaces.add(namespace);
    ns.writers.add(user);
    if (ns.mode === undefined || r.time > ns.mode.time) ns.mode = { mode: r.mode, fromLabel: r.modeFromNamespace, time: r.time };
    for (const rule of new Set(rules)) {
      const row = byRule.add(rule);
      row.writers.add(user);
      row.namespaces.add(namespace);
      keepLatest(row, () => example(r, user, namespace), r.time);
    }
    return true;
  };

  const counts = (c: TopCounter<null>): CountRow[] => c.top().map(({ key, count, error }) => ({ key, count, error }));
  const table = (c: TopCounter<RowData> | TopCounter<null>): Table => ({
    rows: c.top().map((t: Tracked<RowData | null>) => ({
      key: t.key, count: t.count, error: t.error, example: t.data?.example,
      rules: t.data ? counts(t.data.rules) : [], namespaces: t.data ? counts(t.data.namespaces) : [],
      writers: t.data ? counts(t.data.writers) : [],
      mode: t.data?.mode && { mode: t.data.mode.mode, fromLabel: t.data.mode.fromLabel },
    })),
    total: c.total,
    exact: c.exact,
  });

  return {
    add,
    summary() {
      const distinctOf = (d: DistinctCounter): Distinct => ({ count: d.count, atLeast: d.atLeast });
      return {
        window, first, last, verdicts: { ...verdicts }, wouldDenyByMode: { ...wouldDenyByMode }, wouldDenyKeptByLabel, dryRunWouldDeny,
        endpointsWrites, fixedWrites,
        fixes: table(fixes), byRule: table(byRule), byNamespace: table(byNamespace), byWriter: table(byWriter),
        endpointsWriters: table(endpointsWriters),
        distinct: { writers: distinctOf(distinct.writers), namespaces: distinctOf(distinct.namespaces), endpointsWriters: distinctOf(distinct.endpointsWriters) },
        bucketWidth: BUCKET_WIDTHS[widthIndex] ?? HOUR,
        buckets: [...buckets].map(([start, b]) => ({ start, ...b })).sort((a, b) => a.start - b.start),
      };
    },
  };
}
