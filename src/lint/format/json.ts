// The machine form. Its schema is documented in docs/lint.md and versioned by schemaVersion: fields
// are only ever added within a version; every field is always present (null when there is no value).
import { type LintReport, lintCounts, lintExitCode } from '../run.ts';
import { formatKubeVersion } from '../../rules/version.ts';

export const JSON_SCHEMA_VERSION = 1;

export function formatJson(report: LintReport): string {
  const counts = lintCounts(report);
  const document = {
    schemaVersion: JSON_SCHEMA_VERSION,
    settings: {
      kubernetesVersion: formatKubeVersion(report.settings.version),
      mode: report.settings.mode,
      ruleset: report.settings.ruleset,
    },
    summary: { ...counts, exitCode: lintExitCode(report) },
    findings: report.objects.flatMap((o) => o.findings.map((f) => ({
      file: o.file,
      line: f.line,
      column: f.column,
      rule: f.rule,
      severity: f.severity,
      source: f.source,
      path: f.path,
      message: f.message,
      apiserverMessage: f.apiserverMessage,
      object: o.object,
    }))),
    objects: report.objects.map((o) => ({
      file: o.file,
      line: o.line,
      column: o.column,
      document: o.document,
      ...o.object,
      errors: o.findings.filter((f) => f.severity === 'error').length,
      warnings: o.findings.filter((f) => f.severity === 'warning').length,
      rejected: o.rejected,
    })),
    skipped: report.skipped.map((s) => ({ file: s.file, line: s.line, column: s.column, kind: s.kind, apiVersion: s.apiVersion ?? null })),
    ruleErrors: report.objects.flatMap((o) => o.ruleErrors.map((e) => ({ file: o.file, line: o.line, column: o.column, check: e.check, message: e.message }))),
    inputErrors: report.inputErrors.map((e) => ({ file: e.file, line: e.line ?? null, column: e.column ?? null, message: e.message })),
  };
  return JSON.stringify(document, null, 2);
}
