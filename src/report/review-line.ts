// One line of what `kubectl logs -l app.kubernetes.io/name=endpoint-guard` prints: the review line
// `serve` writes once per admission request (src/server/app.ts), or something else to skip and
// count: lines of other programs, endpoint-guard's other messages, lines torn by a restart.
import { z } from 'zod';
import { MODES, type Mode } from '../config.ts';

export type Route = 'validate' | 'mutate';
export const DECISIONS = ['allowed', 'denied', 'exempt', 'ignored', 'bad-request'] as const;
export type Decision = (typeof DECISIONS)[number];

/** A review as the report reads it from its log line. */
export interface LoggedReview {
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly route: Route;
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly operation: string | undefined;
  readonly user: string | undefined;
  readonly dryRun: boolean;
  readonly mode: Mode;
  /** The namespace's endpoint-guard.io/mode label chose the mode, not the server's setting. */
  readonly modeFromNamespace: boolean;
  readonly decision: Decision;
  /** Findings per rule id; on /mutate, fixes. */
  readonly findings: Readonly<Record<string, number>>;
  /** The rule ids among the findings with error severity: what enforce rejects. */
  readonly errors: readonly string[];
  readonly reason: string | undefined;
  /** Checks that threw while reviewing (a bug in endpoint-guard). */
  readonly ruleErrors: number;
}

export type ParsedLine =
  | { readonly type: 'review'; readonly review: LoggedReview }
  | { readonly type: 'blank' }
  /** Not JSON: another program's text, or a line torn by a restart or a log rotation. */
  | { readonly type: 'unreadable' }
  /** JSON, but not a review line: endpoint-guard's start-up and error messages, other programs' JSON logs. */
  | { readonly type: 'other' };

// kubectl logs --prefix puts "[pod/NAME/CONTAINER] " before each line, --timestamps an RFC 3339 time.
const KUBECTL_PREFIX = /^(?:\[[^\]\n]{0,512}\] )?(?:\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:?\d\d) )?/;

/** Rule ids in one line: endpoint-guard has a few dozen rules, so a line with more is not its own. */
const MAX_RULES_PER_LINE = 64;

const optionalText = z.string().optional();
const reviewLineSchema = z.object({
  msg: z.literal('review'),
  // pino's isoTime (what serve writes), or epoch milliseconds (pino's default)
  time: z.union([z.string(), z.number()]),
  // Absent from lines written before /mutate existed, when /validate was the only route.
  path: z.string().optional(),
  kind: optionalText,
  namespace: optionalText,
  name: optionalText,
  operation: optionalText,
  user: optionalText,
  dryRun: z.boolean().optional(),
  mode: z.enum(MODES),
  modeFrom: optionalText,
  decision: z.enum(DECISIONS),
  findings: z.record(z.string(), z.number().int().nonnegative()).optional(),
  errors: z.array(z.string()).max(MAX_RULES_PER_LINE).optional(),
  reason: optionalText,
  ruleErrors: z.array(z.unknown()).optional(),
});

// express also routes /Validate and /validate/ to the handlers, and the log line has the path as sent.
const ROUTES: Readonly<Record<string, Route>> = { '/validate': 'validate', '/mutate': 'mutate' };
const routeOf = (path: string | undefined): Route | undefined =>
  (path === undefined ? 'validate' : ROUTES[path.toLowerCase().replace(/\/$/, '')]);

function timeOf(value: string | number): number {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isFinite(ms) ? ms : Number.NaN;
}

export function parseLine(line: string): ParsedLine {
  const text = line.replace(KUBECTL_PREFIX, '').trim();
  if (text === '') return { type: 'blank' };
  if (text.charCodeAt(0) !== 0x7b /* { */) return { type: 'unreadable' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: 'unreadable' };
  }
  const parsed = reviewLineSchema.safeParse(value);
  if (!parsed.success) return { type: 'other' };
  const fields = parsed.data;
  const route = routeOf(fields.path);
  const time = timeOf(fields.time);
  const findings = fields.findings ?? {};
  if (route === undefined || Number.isNaN(time) || Object.keys(findings).length > MAX_RULES_PER_LINE) return { type: 'other' };
  return {
    type: 'review',
    review: {
      time, route,
      kind: fields.kind, namespace: fields.namespace, name: fields.name, operation: fields.operation, user: fields.user,
      dryRun: fields.dryRun === true, mode: fields.mode, modeFromNamespace: fields.modeFrom === 'namespace',
      decision: fields.decision, findings, errors: fields.errors ?? [], reason: fields.reason, ruleErrors: fields.ruleErrors?.length ?? 0,
    },
  };
}
