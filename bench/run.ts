// npm run bench: endpoint-guard over HTTPS against a bare Node.js server, review handling in
// process, the report command over a generated log, lint over large manifest sets, and `audit` of a
// large cluster. Every run is bounded in time and count.
// Usage: npm run bench -- [--only http|review|report|lint|audit] [--seconds S] [--rounds R] [--connections C]
//                         [--workers N] [--review-seconds S] [--report-lines N] [--json FILE]
//                         [--payload 1|100|1000|endpoints] [--profile DIR] [--audit-slices N,N]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type AuditRow, DEFAULT_AUDIT_SLICES, printAudit, runAudit } from './audit.ts';
import { type HttpResult, PAYLOADS, printHttp, runHttp } from './http.ts';
import { type ReportResult, printReport, runReportBench } from './report.ts';
import { LINT_DEFAULTS, type LintRow, printLint, runLintBench } from './lint.ts';
import { type ReviewRow, printReview, runReview } from './review.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '20' },
    workers: { type: 'string', default: '1' },
    'review-seconds': { type: 'string', default: '2' },
    'report-lines': { type: 'string', default: '1000000' },
    json: { type: 'string' },
    profile: { type: 'string' },
    payload: { type: 'string' },
    'audit-slices': { type: 'string', default: DEFAULT_AUDIT_SLICES.join(',') },
  },
});
const options = {
  seconds: Number(values.seconds),
  rounds: Number(values.rounds),
  connections: Number(values.connections),
  workers: Number(values.workers),
  profileDir: values.profile,
  payload: values.payload,
};
const reviewSeconds = Number(values['review-seconds']);
const reportLines = Number(values['report-lines']);
const { only } = values;
const PARTS = ['http', 'review', 'report', 'lint', 'audit'];
if (only !== undefined && !PARTS.includes(only)) throw new Error(`--only is one of ${PARTS.join(', ')}`);
const runs = (part: string) => only === undefined || only === part;
const auditSlices = (values['audit-slices'] ?? '').split(',').map(Number);
if (!auditSlices.every((n) => Number.isInteger(n) && n >= 1 && n <= 100_000)) throw new Error('--audit-slices is a comma-separated list of 1-100000');
if (!(options.seconds > 0 && options.seconds <= 60 && options.rounds >= 1 && options.rounds <= 10)) {
  throw new Error('--seconds is 0-60 and --rounds 1-10');
}
if (!(options.connections >= 1 && options.connections <= 200 && Number.isInteger(options.workers) && options.workers >= 1 && options.workers <= 16)) {
  throw new Error('--connections is 1-200 and --workers 1-16');
}
if (!(reviewSeconds > 0 && reviewSeconds <= 60)) throw new Error('--review-seconds is 0-60');
if (!(Number.isInteger(reportLines) && reportLines >= 1000 && reportLines <= 10_000_000)) throw new Error('--report-lines is 1000-10000000');
if (options.payload !== undefined && !PAYLOADS.some((p) => p.key === options.payload)) {
  throw new Error(`--payload is one of ${PAYLOADS.map((p) => p.key).join(', ')}`);
}

console.log(`endpoint-guard benchmark, Node ${process.version}`);
let http: HttpResult | undefined;
let review: ReviewRow[] | undefined;
let report: ReportResult | undefined;
let lint: LintRow[] | undefined;
let audit: AuditRow[] | undefined;
if (runs('http')) {
  http = await runHttp(options);
  printHttp(http, options);
}
if (runs('review')) {
  review = runReview(reviewSeconds);
  printReview(review, reviewSeconds);
}
if (runs('report')) {
  report = await runReportBench(reportLines);
  printReport(report);
}
if (runs('lint')) {
  const lintOptions = { ...LINT_DEFAULTS, profileDir: options.profileDir };
  lint = await runLintBench(lintOptions);
  printLint(lint, lintOptions);
}
if (runs('audit')) {
  audit = await runAudit(auditSlices);
  printAudit(audit);
}
if (values.json) {
  const figures = { node: process.version, http: http && { ...options, ...http }, review: review && { seconds: reviewSeconds, rows: review }, report,
    lint: lint && { ...LINT_DEFAULTS, rows: lint }, audit: audit && { rows: audit } };
  writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
}
