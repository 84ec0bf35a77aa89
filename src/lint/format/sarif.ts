// SARIF 2.1.0, the form code-scanning tools (GitHub, GitLab, Azure DevOps) read to show findings
// inline. Rules come from the catalogue; no timestamps or absolute paths, so the output is stable.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RuleId, catalogue, ruleIds } from '../../rules/catalogue.ts';
import { type LintReport, lintCounts, objectLabel } from '../run.ts';
import { formatKubeVersion } from '../../rules/version.ts';
import { STDIN_NAME } from '../read.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const TOOL = 'endpoint-guard';

/** A relative path stays relative (code scanning resolves it against the checkout); an absolute one becomes a file: URI. */
export function artifactUri(file: string): string {
  if (file === STDIN_NAME) return 'stdin';
  if (path.isAbsolute(file)) return pathToFileURL(file).href;
  return file.split(/[\\/]/).map(encodeURIComponent).join('/');
}

export function formatSarif(report: LintReport): string {
  const { settings } = report;
  const active = ruleIds.filter((id) =>
    (settings.ruleset === 'all' || catalogue[id].source === 'apiserver') && settings.rules[id] !== 'off');
  const index = new Map<RuleId, number>(active.map((id, i) => [id, i]));
  const location = (file: string, line?: number, column?: number) => ({
    physicalLocation: {
      artifactLocation: { uri: artifactUri(file) },
      ...(line === undefined ? {} : { region: { startLine: line, startColumn: column ?? 1 } }),
    },
  });

  const results = report.objects.flatMap((o) => o.findings.map((f) => ({
    ruleId: f.rule,
    ruleIndex: index.get(f.rule) ?? -1,
    level: f.severity,
    message: { text: f.message },
    locations: [location(o.file, f.line, f.column)],
    properties: { path: f.path, object: objectLabel(o.object) },
  })));
  const notifications = [
    ...report.inputErrors.map((e) => ({ level: 'error', message: { text: e.message }, locations: [location(e.file, e.line, e.column)] })),
    ...report.objects.flatMap((o) => o.ruleErrors.map((e) => ({
      level: 'error',
      message: { text: `the ${e.check} check failed on ${objectLabel(o.object)}: ${e.message}` },
      locations: [location(o.file, o.line, o.column)],
    }))),
  ];
  const counts = lintCounts(report);

  const log = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: {
        driver: {
          name: TOOL,
          rules: active.map((id) => ({
            id,
            shortDescription: { text: catalogue[id].doc },
            defaultConfiguration: { level: settings.rules[id] ?? catalogue[id].severity },
            properties: { source: catalogue[id].source, kinds: catalogue[id].kinds },
          })),
        },
      },
      invocations: [{
        executionSuccessful: counts.inputErrors === 0 && counts.ruleErrors === 0,
        toolExecutionNotifications: notifications,
      }],
      columnKind: 'utf16CodeUnits',
      results,
      properties: { kubernetesVersion: formatKubeVersion(settings.version), mode: settings.mode, ruleset: settings.ruleset },
    }],
  };
  return JSON.stringify(log, null, 2);
}
