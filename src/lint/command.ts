// `endpoint-guard lint PATH...`: the command-line half. It checks the options, reads the inputs,
// runs the rules through run.ts, picks a formatter and returns the exit code. Output goes through
// the io it is given, so tests run it in process.
import { loadCommandConfig } from '../config-load.ts';
import { formatApiserver } from './format/apiserver.ts';
import { formatJson } from './format/json.ts';
import { formatSarif } from './format/sarif.ts';
import { formatText } from './format/text.ts';
import { type Io, commandArgs } from '../io.ts';
import { type InputError, type Skipped, readFiles } from './read.ts';
import { LINT_MODES, type LintMode, type LintReport, type LintSettings, type ObjectReport, RULESETS, type Ruleset, lintExitCode, lintManifest, objectLabel } from './run.ts';

export const LINT_FORMATS = ['text', 'json', 'sarif', 'apiserver'] as const;
export type LintFormat = (typeof LINT_FORMATS)[number];


type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

export const lintUsage = `endpoint-guard lint [--format ${LINT_FORMATS.join('|')}] [--ruleset ${RULESETS.join('|')}] ` +
  `[--mode ${LINT_MODES.join('|')}] [--kubernetes-version V] [--config FILE] PATH...`;

export const lintHelp = [
  'PATH is a manifest file, a directory (its .yaml, .yml and .json files, recursively) or - for stdin.',
  'Multi-document YAML, kind List, EndpointsList and EndpointSliceList are read; other kinds are skipped and counted.',
  '',
  '  --format F                text (default: file:line:col  severity  rule  message), json, sarif (SARIF 2.1.0),',
  '                            or apiserver (what kubectl create -f would print for the objects kubectl or the cluster refuses)',
  '  --ruleset R               all (default) or apiserver: only what the kube-apiserver itself rejects',
  '  --mode M                  enforce (default: exit 1 when an object has an error) or complain (report, exit 0)',
  '  --kubernetes-version V    the apiserver release whose rules apply, 1.24 to 1.36 (default 1.36)',
  '  --config FILE             the server\'s YAML or JSON settings: rules, softEndpointLimit, kubernetesVersion',
  'Exit status: 0 nothing rejected, 1 enforce would reject an object, 2 usage error or an input could not be read.',
].join('\n');

export const lintOptions = {
  format: { type: 'string' },
  ruleset: { type: 'string' },
  mode: { type: 'string' },
  'kubernetes-version': { type: 'string' },
  config: { type: 'string' },
} as const;

const oneOf = <T extends string>(allowed: readonly T[], value: string): value is T => (allowed as readonly string[]).includes(value);

export async function runLint(values: Values, paths: readonly string[], io: Io): Promise<number> {
  const { usage, str } = commandArgs('lint', values, io);

  const format = str('format') ?? 'text';
  if (!oneOf(LINT_FORMATS, format)) return usage(`--format must be one of ${LINT_FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
  const ruleset = str('ruleset') ?? 'all';
  if (!oneOf(RULESETS, ruleset)) return usage(`--ruleset must be ${RULESETS.join(' or ')}, not ${JSON.stringify(ruleset)}`);
  // The lint mode decides the exit code, so it comes from --mode alone: a server config written for
  // a complain-mode trial must not quietly turn a CI check off.
  const mode = str('mode') ?? 'enforce';
  if (!oneOf(LINT_MODES, mode)) return usage(`--mode must be ${LINT_MODES.join(' or ')}, not ${JSON.stringify(mode)}`);
  if (paths.length === 0) return usage('give at least one PATH: a manifest file, a directory, or - for stdin');

  const loaded = loadCommandConfig(str, io.env);
  if (!loaded.ok) return usage(loaded.message);
  const { version } = loaded;

  const settings: LintSettings = {
    version,
    mode: mode satisfies LintMode,
    ruleset: ruleset satisfies Ruleset,
    rules: loaded.config.rules,
    softEndpointLimit: loaded.config.softEndpointLimit,
    onRuleError: loaded.config.onRuleError,
  };
  const report = await lintPaths(paths, settings, io.stdin);

  for (const e of report.inputErrors) io.stderr(inputErrorLine(e));
  if (format === 'apiserver') {
    for (const o of report.objects) for (const line of ruleErrorLines(o)) io.stderr(line);
  }
  const output = render(report, format, io);
  if (output !== '') io.stdout(output);
  return lintExitCode(report);
}

/**
 * Reads every path and lints what it holds, a file at a time, so only one file's documents are in
 * memory; unreadable inputs become inputErrors, the rest is still checked.
 */
export async function lintPaths(paths: readonly string[], settings: LintSettings, stdin?: AsyncIterable<Uint8Array | string>): Promise<LintReport> {
  const files: string[] = [];
  const objects: ObjectReport[] = [];
  const skipped: Skipped[] = [];
  const inputErrors: InputError[] = [];
  // Each object is linted as soon as its document is read and only its report is kept: the parsed
  // objects of a large file die young instead of all living until the file's end.
  for await (const read of readFiles(paths, stdin, (m) => lintManifest(m, settings))) {
    if (!read.ok) {
      inputErrors.push(read.error);
      continue;
    }
    const { parsed } = read;
    if (parsed.error) inputErrors.push(parsed.error);
    else files.push(read.file);
    // Lint reports what the other documents are, not what they hold: their contents are let go with the file.
    for (const { object: unreported, ...other } of parsed.skipped) skipped.push(other);
    for (const report of parsed.manifests) objects.push(report);
  }
  return { settings, files, objects, skipped, inputErrors };
}

function render(report: LintReport, format: LintFormat, io: Io): string {
  switch (format) {
    case 'text': return formatText(report, { color: io.stdoutIsTTY === true && !io.env.NO_COLOR });
    case 'json': return formatJson(report);
    case 'sarif': return formatSarif(report);
    case 'apiserver': return formatApiserver(report);
  }
}

export const inputErrorLine = (e: InputError): string =>
  `${e.file}${e.line === undefined ? '' : `:${e.line}:${e.column ?? 1}`}: ${e.message}`;

const ruleErrorLines = (o: ObjectReport): string[] =>
  o.ruleErrors.map((e) => `${o.file}:${o.line}:${o.column}: the ${e.check} check failed on ${objectLabel(o.object)}: ${e.message}; please report this endpoint-guard bug`);
