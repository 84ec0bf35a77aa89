// Findings + mode + severity settings -> a decision: allowed or not, warnings, audit annotations.
import type { Mode, RuleSetting } from './config.ts';
import { type RuleId, type Severity, catalogue } from './rules/catalogue.ts';
import { type Finding, renderValue } from './rules/finding.ts';
import { formatPath } from './rules/path.ts';

export const MAX_WARNING_CHARS = 120;
/** How many errors a denial message lists before "and N more". */
const DENY_MESSAGE_ERRORS = 3;
/** Audit annotation key (a valid name part, no "/": the apiserver prefixes the webhook name). */
export const AUDIT_WOULD_DENY = 'would-deny';
const MAX_AUDIT_VALUE_CHARS = 1024;

export type Judged = Finding & { readonly severity: Severity };

/** Applies config: a rule set to off disappears, others get the configured or their own severity. */
export function judge(findings: readonly Finding[], settings: Partial<Record<RuleId, RuleSetting>>): Judged[] {
  const judged: Judged[] = [];
  for (const f of findings) {
    const setting = settings[f.rule];
    if (setting === 'off') continue;
    judged.push({ ...f, severity: setting ?? f.severity ?? catalogue[f.rule].severity });
  }
  return judged;
}

const chars = (s: string): number => [...s].length;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g; // the apiserver silently drops warnings holding these

/** Shortens a text in the middle so its start and end stay readable. */
export function ellipsize(text: string, max: number): string {
  const cps = [...text];
  if (cps.length <= max) return text;
  const keep = Math.max(max - 3, 2);
  const head = Math.ceil(keep * 0.6);
  return `${cps.slice(0, head).join('')}...${cps.slice(cps.length - (keep - head)).join('')}`;
}

/** The lint form of a finding: shorter than the apiserver's, the bad value first. */
function warningBody(f: Finding, value: string): string {
  const detail = f.hint ?? f.detail;
  const then = (head: string) => (detail ? `${head}: ${detail}` : head);
  switch (f.type) {
    case 'Required': return then('required value');
    case 'Invalid': return then(value);
    case 'NotSupported': return `${value} is not supported; ${detail}`;
    case 'Duplicate': return `duplicate value ${value}`;
    case 'TooMany': return `too many (${value}): ${detail}`;
    case 'TooLong': return then('too long');
    default: return detail;
  }
}

function render(f: Finding, valueMax: number, pathMax: number): string {
  if (catalogue[f.rule].verbatim) return f.detail;
  const path = f.path.length > 0 ? `${ellipsize(formatPath(f.path), pathMax)}: ` : '';
  return `${f.rule}: ${path}${warningBody(f, ellipsize(renderValue(f.value), valueMax))}`.replace(CONTROL, ' ');
}

/** One warning: `rule-id: path: message`, at most 120 characters, values shortened first. */
export function warningLine(f: Finding): string {
  for (const [valueMax, pathMax] of [[Infinity, Infinity], [40, Infinity], [24, 48], [16, 32]] as const) {
    const line = render(f, valueMax, pathMax);
    if (chars(line) <= MAX_WARNING_CHARS) return line;
  }
  return `${[...render(f, 16, 32)].slice(0, MAX_WARNING_CHARS - 3).join('')}...`;
}

/**
 * At most `max` warning lines, errors first as given, repeated lines once. When there are more,
 * the last line counts the findings not shown (repeats of a shown line included). Lines are
 * rendered only until the cap is known to be reached: a 1000-endpoint slice full of problems
 * costs `max` renderings, not 1000.
 */
export function warningLines(findings: readonly Finding[], max: number): string[] {
  const lines = new Set<string>();
  let shown = findings.length; // findings behind the first max-1 lines
  for (let i = 0; i < findings.length; i++) {
    const f = findings[i];
    if (f === undefined) continue;
    const before = lines.size;
    lines.add(warningLine(f));
    if (lines.size === before) continue;
    if (lines.size === max) shown = i;
    if (lines.size > max) return [...[...lines].slice(0, max - 1), `... and ${findings.length - shown} more findings`];
  }
  return [...lines];
}

export interface Decision {
  readonly allowed: boolean;
  readonly warnings: string[];
  /** Set when denied: the status message, listing the first few errors. */
  readonly message?: string;
  readonly auditAnnotations: Record<string, string>;
  /** Error findings: what enforce rejects. */
  readonly errors: Judged[];
}

export function denyMessage(errors: readonly Judged[]): string {
  const listed = errors.slice(0, DENY_MESSAGE_ERRORS).map(warningLine);
  const more = errors.length > DENY_MESSAGE_ERRORS ? `; and ${errors.length - DENY_MESSAGE_ERRORS} more` : '';
  return `endpoint-guard: ${errors.length} policy ${errors.length === 1 ? 'error' : 'errors'}: ${listed.join('; ')}${more}`;
}

export function decide(findings: readonly Judged[], mode: Mode, maxWarnings: number): Decision {
  const errors = findings.filter((f) => f.severity === 'error');
  if (mode === 'off') return { allowed: true, warnings: [], auditAnnotations: {}, errors };
  // Errors first: when the list is capped, what enforce rejects is what a person must see.
  const warnings = warningLines([...errors, ...findings.filter((f) => f.severity !== 'error')], maxWarnings);
  if (errors.length === 0) return { allowed: true, warnings, auditAnnotations: {}, errors };
  if (mode === 'enforce') return { allowed: false, warnings, message: denyMessage(errors), auditAnnotations: {}, errors };
  return {
    allowed: true,
    warnings,
    auditAnnotations: { [AUDIT_WOULD_DENY]: ellipsize(denyMessage(errors), MAX_AUDIT_VALUE_CHARS) },
    errors,
  };
}
