// Manifests in, a report out: the same rules, settings and decision as the webhook, with each
// finding placed at its line and column. Pure: reading files and printing happen elsewhere.
import type { RuleSetting } from '../config.ts';
import { type Judged, decide, judge } from '../policy.ts';
import { type RuleId, type Source as RuleSource, catalogue } from '../rules/catalogue.ts';
import { type Finding, apiserverLine, errorBody } from '../rules/finding.ts';
import { type RuleError, checkObject } from '../rules/index.ts';
import { formatPath } from '../rules/path.ts';
import type { KubeVersion } from '../rules/version.ts';
import type { Position } from './source.ts';
import type { InputError, ListDocument, Manifest, Skipped, Syntax } from './read.ts';

export const LINT_MODES = ['enforce', 'complain'] as const;
export type LintMode = (typeof LINT_MODES)[number];
/** all: every rule; apiserver: only what the target kube-apiserver itself checks (does `kubectl apply` fail?). */
export const RULESETS = ['all', 'apiserver'] as const;
export type Ruleset = (typeof RULESETS)[number];

export interface LintSettings {
  readonly version: KubeVersion;
  readonly mode: LintMode;
  readonly ruleset: Ruleset;
  readonly rules: Partial<Record<RuleId, RuleSetting>>;
  readonly softEndpointLimit: number;
  /** As on the server: with deny, enforce mode rejects an object a rule failed on. */
  readonly onRuleError: 'allow' | 'deny';
}

/** What identifies an object to a person: kind, namespace and name (or generateName). */
export interface ObjectRef {
  readonly kind: string;
  readonly apiVersion: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly generateName: string | null;
}

export interface LintFinding extends Position {
  readonly rule: RuleId;
  readonly source: RuleSource;
  readonly severity: Judged['severity'];
  readonly path: string;
  /** `path: message` in lint's wording: the apiserver's form, with the rule's shorter detail where it has one. */
  readonly message: string;
  /** For apiserver rules, the line exactly as the kube-apiserver words it (`path: Invalid value: "x": ...`). */
  readonly apiserverMessage: string | null;
  readonly judged: Judged;
}

export interface ObjectReport extends Position {
  readonly file: string;
  readonly document: number;
  readonly object: ObjectRef;
  readonly syntax: Syntax;
  /** The List document the object is an item of. */
  readonly list: ListDocument | undefined;
  readonly findings: LintFinding[];
  readonly ruleErrors: RuleError[];
  /** Whether the webhook in this mode would reject it (or the apiserver would, for ruleset apiserver). */
  readonly rejected: boolean;
}

export interface LintReport {
  readonly settings: LintSettings;
  /** Files read, as named on the command line or found in a directory. */
  readonly files: readonly string[];
  readonly objects: readonly ObjectReport[];
  readonly skipped: readonly Skipped[];
  readonly inputErrors: readonly InputError[];
}

export function lintManifest(m: Manifest, s: LintSettings): ObjectReport {
  const result = checkObject({ object: m.object, operation: 'CREATE', version: s.version, softEndpointLimit: s.softEndpointLimit });
  const inRuleset = result.findings.filter((f) => s.ruleset === 'all' || catalogue[f.rule].source === 'apiserver');
  const judged = judge(inRuleset, s.rules);
  const findings = judged.map((f): LintFinding => ({
    ...m.locate(f.path),
    rule: f.rule,
    source: catalogue[f.rule].source,
    severity: f.severity,
    path: formatPath(f.path),
    message: lintMessage(f),
    apiserverMessage: catalogue[f.rule].source === 'apiserver' ? apiserverLine(f) : null,
    judged: f,
  }));
  const decision = decide(judged, s.mode, Number.MAX_SAFE_INTEGER);
  const ruleErrorRejects = result.ruleErrors.length > 0 && s.mode === 'enforce' && s.onRuleError === 'deny';
  return {
    file: m.file,
    document: m.document,
    ...m.position,
    object: objectRef(m.object),
    syntax: m.syntax,
    list: m.list,
    findings,
    ruleErrors: result.ruleErrors,
    rejected: !decision.allowed || ruleErrorRejects,
  };
}

/** The apiserver's form with the rule's hint as the detail: the exact upstream text is often a paragraph. */
/** A finding as lint and audit print it: the path, then the apiserver-style body. */
export function lintMessage(f: Finding): string {
  const body = errorBody(f, f.hint ?? f.detail);
  return f.path.length === 0 ? body : `${formatPath(f.path)}: ${body}`;
}

/** 0: nothing rejected; 1: enforce would reject an object; 2: an input could not be read (it wins: the check is incomplete). */
export function lintExitCode(report: LintReport): 0 | 1 | 2 {
  if (report.inputErrors.length > 0) return 2;
  return report.objects.some((o) => o.rejected) ? 1 : 0;
}

export interface LintCounts {
  readonly files: number;
  readonly objects: number;
  readonly skipped: number;
  readonly errors: number;
  readonly warnings: number;
  readonly rejected: number;
  readonly ruleErrors: number;
  readonly inputErrors: number;
}

export function lintCounts(report: LintReport): LintCounts {
  const findings = report.objects.flatMap((o) => o.findings);
  return {
    files: report.files.length,
    objects: report.objects.length,
    skipped: report.skipped.length,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    rejected: report.objects.filter((o) => o.rejected).length,
    ruleErrors: report.objects.reduce((n, o) => n + o.ruleErrors.length, 0),
    inputErrors: report.inputErrors.length,
  };
}

/** `EndpointSlice default/web-abc12`; `web-*` for a generateName. */
export const objectLabel = (o: ObjectRef): string =>
  `${o.kind} ${o.namespace === null ? '' : `${o.namespace}/`}${o.name ?? (o.generateName === null ? '(no name)' : `${o.generateName}*`)}`;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringField = (o: unknown, key: string): string | null => {
  const value = isRecord(o) ? o[key] : undefined;
  return typeof value === 'string' ? value : null;
};

function objectRef(object: unknown): ObjectRef {
  const meta = isRecord(object) ? object.metadata : undefined;
  return {
    kind: stringField(object, 'kind') ?? '',
    apiVersion: stringField(object, 'apiVersion'),
    namespace: stringField(meta, 'namespace'),
    name: stringField(meta, 'name'),
    generateName: stringField(meta, 'generateName'),
  };
}
