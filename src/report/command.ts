// `endpoint-guard report`: the review lines `serve` logged during a trial (and optionally an audit)
// as one self-contained HTML page: what enforce would have denied, when, by which rule, where and
// by whom, the v1 Endpoints writers to migrate, and the commands to run before switching.
import { writeFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { fsReason, messageOf } from '../errors.ts';
import { EXIT_OK, EXIT_USAGE, type Io, commandArgs } from '../io.ts';
import { type AuditJson, readAuditJson } from './audit-input.ts';
import { DEFAULT_TITLE, type LineCounts, renderReport } from './page.ts';
import { progressLine } from './progress.ts';
import { type LogSource, forEachLine, openLogSources } from './read.ts';
import { parseLine } from './review-line.ts';
import { type Tally, type TrialSummary, type Window, createTally } from './tally.ts';
import { parseWhen } from './when.ts';

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export const DEFAULT_REPORT_FILE = 'endpoint-guard-report.html';
const MAX_TITLE_CHARS = 200;

export const reportCommand = {
  summary: 'turn the webhook\'s review logs (and an audit) into one HTML report of what enforce would have denied',
  usage: 'endpoint-guard report --log FILE... [--audit FILE] [--since T] [--until T] [--out FILE] [--title TEXT]',
  help: [
    '  --log FILE                review lines as `kubectl logs` prints them (- for standard input); repeatable:',
    '                            kubectl logs -n endpoint-guard -l app.kubernetes.io/name=endpoint-guard --since=336h --prefix --tail=-1',
    '  --audit FILE              what `endpoint-guard audit --format json` printed: adds the stored objects enforce would reject',
    '  --since T, --until T      only reviews from T (inclusive) until T (exclusive): an RFC 3339 time',
    '                            (2025-06-01T00:00:00Z, or a date: 2025-06-01) or a time before now (90m, 24h, 7d, 2w)',
    `  --out FILE                the HTML file to write (default ${DEFAULT_REPORT_FILE}; - for standard output)`,
    `  --title TEXT              the report's title (default "${DEFAULT_TITLE}")`,
    'Lines that are not review lines (other programs, torn lines) are skipped and counted in the report.',
    'Exit status: 0 report written, 2 usage error or an input that cannot be read.',
  ].join('\n'),
  options: {
    log: { type: 'string', multiple: true },
    audit: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    out: { type: 'string', short: 'o' },
    title: { type: 'string' },
  } as const satisfies ParseArgsOptionsConfig,
  run: (values: Values, _positionals: readonly string[], io: Io): Promise<number> => runReport(values, io),
};

export async function runReport(values: Values, io: Io, now: number = Date.now()): Promise<number> {
  const { usage, str } = commandArgs('report', values, io);
  const logs = Array.isArray(values.log) ? values.log.map(String) : [];
  const auditFile = str('audit');
  if (logs.length === 0 && auditFile === undefined) {
    return usage('give the review log lines with --log FILE (- for standard input), an audit with --audit FILE, or both');
  }
  const window: { since?: number; until?: number } = {};
  for (const flag of ['since', 'until'] as const) {
    const text = str(flag);
    if (text === undefined) continue;
    const when = parseWhen(text, now);
    if (!when.ok) return usage(`--${flag} ${JSON.stringify(text)}: ${when.message}`);
    window[flag] = when.time;
  }
  if (window.since !== undefined && window.until !== undefined && window.since >= window.until) {
    return usage(`--since ${str('since')} is not before --until ${str('until')}: the window would be empty`);
  }
  const title = str('title') ?? DEFAULT_TITLE;
  if (title.trim() === '' || [...title].length > MAX_TITLE_CHARS) return usage(`--title must have 1 to ${MAX_TITLE_CHARS} characters`);
  const out = str('out') ?? DEFAULT_REPORT_FILE;

  // Every input is opened (and the audit read) before the logs are: a typo fails at once.
  let audit: { file: string; json: AuditJson } | undefined;
  if (auditFile !== undefined) {
    const read = await readAuditJson(auditFile);
    if (!read.ok) {
      io.stderr(`endpoint-guard report: ${read.message}`);
      return EXIT_USAGE;
    }
    audit = { file: auditFile, json: read.audit };
  }
  const opened = await openLogSources(logs, io.stdin);
  if (!opened.ok) {
    io.stderr(`endpoint-guard report: ${opened.message}`);
    return EXIT_USAGE;
  }

  let summary: TrialSummary | undefined;
  let lineCounts: LineCounts | undefined;
  if (opened.sources.length > 0) {
    const tally = createTally(window);
    const read = await readLogs(opened.sources, tally, io);
    if (!read.ok) {
      io.stderr(`endpoint-guard report: ${read.message}`);
      return EXIT_USAGE;
    }
    summary = tally.summary();
    lineCounts = read.counts;
  }

  const page = await renderReport({ title, generatedAt: now, logs: opened.sources.map((s) => s.name), summary, lineCounts, audit });
  if (out === '-') {
    io.stdout(page);
  } else {
    try {
      await writeFile(out, page);
    } catch (err) {
      io.stderr(`endpoint-guard report: cannot write --out ${out}: ${fsReason(err)}`);
      return EXIT_USAGE;
    }
  }
  const tell = out === '-' ? io.stderr : io.stdout;
  tell(resultLine(out, summary, lineCounts, audit?.json));
  return EXIT_OK;
}

type ReadResult = { readonly ok: true; readonly counts: LineCounts } | { readonly ok: false; readonly message: string };

async function readLogs(sources: readonly LogSource[], tally: Tally, io: Io): Promise<ReadResult> {
  const counts = { lines: 0, reviews: 0, blank: 0, unreadable: 0, other: 0, tooLong: 0, outsideWindow: 0 };
  const bar = io.stderrIsTTY === true ? progressLine(io) : undefined;
  try {
    for (const source of sources) {
      let bytes = 0;
      counts.tooLong += await forEachLine(source.chunks(), {
        line(text) {
          counts.lines += 1;
          const parsed = parseLine(text);
          if (parsed.type === 'review') {
            if (tally.add(parsed.review)) counts.reviews += 1;
            else counts.outsideWindow += 1;
          } else {
            counts[parsed.type] += 1;
          }
        },
        progress: bar && ((n) => {
          bytes += n;
          bar.update(source.name, bytes, source.size, counts.lines);
        }),
      });
    }
  } catch (err) {
    return { ok: false, message: `reading the logs failed: ${messageOf(err)}` };
  } finally {
    bar?.done();
    await Promise.all(sources.map((s) => s.close()));
  }
  return { ok: true, counts };
}

function resultLine(out: string, s: TrialSummary | undefined, c: LineCounts | undefined, audit: AuditJson | undefined): string {
  const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
  const parts: string[] = [];
  if (s !== undefined && c !== undefined) {
    const v = s.verdicts;
    const reviews = Object.values(v).reduce((sum, n) => sum + n, 0) - v.mutate;
    const skipped = c.unreadable + c.other + c.tooLong;
    parts.push(`${count(reviews, 'review')}, ${count(v['would-deny'] + v.warned + v.clean, 'write')} checked, ` +
      `${v['would-deny'].toLocaleString('en-US')} enforce would have denied, ${count(s.endpointsWrites, 'v1 Endpoints write')}` +
      (skipped > 0 ? `; skipped ${count(skipped, 'line')} that ${skipped === 1 ? 'is not a review line' : 'are not review lines'}` : ''));
  }
  if (audit !== undefined) parts.push(`${count(audit.summary.rejected, 'stored object')} enforce would reject`);
  return `endpoint-guard report: ${out === '-' ? 'wrote the report' : `wrote ${out}`}: ${parts.join('; ')}`;
}
