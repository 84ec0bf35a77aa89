// --since and --until: an RFC 3339 time, a date (midnight UTC), or a duration back from now, as
// kubectl logs --since takes it (90m, 24h) plus days and weeks.

export type When = { readonly ok: true; readonly time: number } | { readonly ok: false; readonly message: string };

const RFC3339 = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[Zz]|[+-]\d\d:\d\d)$/;
const DATE = /^\d{4}-\d\d-\d\d$/;
const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const EXPECTED = 'expected an RFC 3339 time (2025-06-01T12:00:00Z), a date (2025-06-01, midnight UTC) or a duration before now (90m, 24h, 7d, 2w)';

export function parseWhen(text: string, now: number): When {
  const trimmed = text.trim();
  const duration = DURATION.exec(trimmed);
  if (duration) {
    const ms = Number(duration[1]) * (UNIT_MS[duration[2] ?? ''] ?? Number.NaN);
    return Number.isFinite(ms) ? { ok: true, time: now - ms } : { ok: false, message: EXPECTED };
  }
  if (RFC3339.test(trimmed) || DATE.test(trimmed)) {
    const time = Date.parse(DATE.test(trimmed) ? `${trimmed}T00:00:00Z` : trimmed);
    // Date.parse rolls 2025-02-30 over into March; a time that does not print back as its date is not one.
    if (Number.isFinite(time) && new Date(time + offsetMs(trimmed)).toISOString().slice(0, 10) === trimmed.slice(0, 10)) return { ok: true, time };
    return { ok: false, message: `not a valid date or time; ${EXPECTED}` };
  }
  return { ok: false, message: EXPECTED };
}

/** The offset written in the time, so the date part can be checked as written. */
function offsetMs(text: string): number {
  const offset = /([+-])(\d\d):(\d\d)$/.exec(text);
  if (!offset) return 0;
  const ms = (Number(offset[2]) * 60 + Number(offset[3])) * 60_000;
  return offset[1] === '-' ? -ms : ms;
}
