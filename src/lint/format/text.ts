// The terminal form, like a compiler's: `file:line:col  severity  rule-id  message`, then one summary line.
import { styleText } from 'node:util';
import { type LintReport, lintCounts } from '../run.ts';

export interface TextOptions {
  /** Colour is for people at a terminal: the caller decides (a TTY, and NO_COLOR unset). */
  readonly color: boolean;
}

type Style = Parameters<typeof styleText>[0];

export function formatText(report: LintReport, { color }: TextOptions): string {
  const paint = (style: Style, text: string) => (color ? styleText(style, text, { validateStream: false }) : text);
  const severity = { error: paint('red', 'error  '), warning: paint('yellow', 'warning') };
  const lines: string[] = [];
  for (const o of report.objects) {
    // In source order, as a person reads the file; the checks report in the apiserver's order.
    const findings = [...o.findings].sort((a, b) => a.line - b.line || a.column - b.column);
    for (const f of findings) {
      lines.push(`${paint('bold', `${o.file}:${f.line}:${f.column}`)}  ${severity[f.severity]}  ${paint('dim', f.rule)}  ${f.message}`);
    }
    for (const e of o.ruleErrors) {
      lines.push(`${paint('bold', `${o.file}:${o.line}:${o.column}`)}  ${paint('magenta', 'internal')}  ${paint('dim', 'rule-error')}  ` +
        `the ${e.check} check failed: ${e.message}; this object was not fully checked: please report this endpoint-guard bug`);
    }
  }
  lines.push(summary(report));
  return lines.join('\n');
}

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

/** One line: what was found, in what, and what that means for the exit code. */
export function summary(report: LintReport): string {
  const c = lintCounts(report);
  const parts: string[] = [];
  const scope = `${plural(c.objects, 'object')} from ${plural(c.files, 'file')}`;
  parts.push(c.errors + c.warnings === 0
    ? `no findings in ${scope}`
    : `${plural(c.errors, 'error')} and ${plural(c.warnings, 'warning')} in ${scope}`);
  if (c.skipped > 0) {
    const kinds = new Map<string, number>();
    for (const s of report.skipped) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
    const listed = [...kinds].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${n} ${k}`).join(', ');
    parts.push(`${plural(c.skipped, 'other object')} skipped (${listed})`);
  }
  if (c.ruleErrors > 0) parts.push(`${plural(c.ruleErrors, 'rule')} failed (a bug: please report it)`);
  if (c.inputErrors > 0) parts.push(`${plural(c.inputErrors, 'input')} could not be read, so the check is incomplete (exit 2)`);
  else if (report.settings.mode === 'enforce') {
    parts.push(c.rejected === 0 ? 'enforce mode rejects nothing' : `enforce mode rejects ${plural(c.rejected, 'object')}: fix the errors (exit 1)`);
  } else {
    const would = report.objects.filter((o) => o.findings.some((f) => f.severity === 'error')).length;
    parts.push(`complain mode rejects nothing${would > 0 ? ` (enforce would reject ${plural(would, 'object')})` : ''}`);
  }
  return parts.join('; ');
}
