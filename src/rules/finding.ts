// A finding is data: what a rule saw, where, and the apiserver error type it corresponds to.
// Wording is rendered in one place (errorBody / apiserverLine here, warningLine in policy.ts).
import type { RuleId, Severity } from './catalogue.ts';
import { type FieldPath, formatPath } from './path.ts';

export type ErrorType =
  | 'Required' | 'Invalid' | 'NotSupported' | 'Duplicate' | 'TooMany' | 'TooLong' | 'Forbidden' | 'Internal'
  | 'BadRequest' // the apiserver could not decode the object at all
  | 'Policy'; // not an apiserver error: detail is the whole message

export interface Finding {
  readonly rule: RuleId;
  readonly path: FieldPath;
  readonly type: ErrorType;
  readonly value?: unknown;
  /** For apiserver types, the exact upstream detail text. */
  readonly detail: string;
  /** A shorter wording for the 120-character warning when detail is long. */
  readonly hint?: string;
  /** Overrides the catalogue's default when the target version only warns about the same thing. */
  readonly severity?: Severity;
}

type Base = { rule: RuleId; path: FieldPath };
const make = (type: ErrorType) => (b: Base, value: unknown, detail = '', hint?: string): Finding =>
  hint === undefined ? { ...b, type, value, detail } : { ...b, type, value, detail, hint };

export const invalid = make('Invalid');
export const notSupported = (b: Base, value: unknown, supported: readonly string[]): Finding =>
  ({ ...b, type: 'NotSupported', value, detail: `supported values: ${[...supported].sort().map((s) => `"${s}"`).join(', ')}` });
export const duplicate = (b: Base, value: unknown): Finding => ({ ...b, type: 'Duplicate', value, detail: '' });
export const required = (b: Base, detail = ''): Finding => ({ ...b, type: 'Required', detail });
export const tooMany = (b: Base, count: number, max: number): Finding =>
  ({ ...b, type: 'TooMany', value: count, detail: `must have at most ${max} ${max === 1 ? 'item' : 'items'}` });
export const tooLong = (b: Base, detail: string): Finding => ({ ...b, type: 'TooLong', detail });
export const forbidden = (b: Base, detail: string): Finding => ({ ...b, type: 'Forbidden', detail });
export const internal = (b: Base, detail: string): Finding => ({ ...b, type: 'Internal', detail });
export const badRequest = (b: Base, detail: string): Finding => ({ ...b, type: 'BadRequest', detail });
/** kubectl's words when the apiserver has no such kind in that version. */
export const notServed = (kind: string, apiVersion: string, hint: string): Finding => ({
  rule: 'api-version', path: ['apiVersion'], type: 'BadRequest', value: apiVersion,
  detail: `no matches for kind "${kind}" in version "${apiVersion}"`, hint,
});
export const policy = (b: Base, detail: string, value?: unknown): Finding =>
  value === undefined ? { ...b, type: 'Policy', detail } : { ...b, type: 'Policy', value, detail };

/** Go's %q for strings, bare numbers and booleans, JSON for anything else (field/errors.go). */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/\\u00([0-9a-f]{2})/g, '\\x$1');
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}

const withDetail = (head: string, detail: string) => (detail ? `${head}: ${detail}` : head);

/** The body of one apiserver error, as kubectl prints it after the path. */
export function errorBody(f: Finding, detail = f.detail, value = renderValue(f.value)): string {
  switch (f.type) {
    case 'Required': return withDetail('Required value', detail);
    case 'Invalid': return withDetail(`Invalid value: ${value}`, detail);
    case 'NotSupported': return withDetail(`Unsupported value: ${value}`, detail);
    case 'Duplicate': return `Duplicate value: ${value}`;
    case 'TooMany': return withDetail(`Too many: ${value}`, detail);
    case 'TooLong': return withDetail('Too long', detail);
    case 'Forbidden': return withDetail('Forbidden', detail);
    case 'Internal': return withDetail('Internal error', detail);
    case 'BadRequest':
    case 'Policy': return detail;
  }
}

/** `path: body`, the form of one line in the apiserver's 422 message. */
export const apiserverLine = (f: Finding): string =>
  f.path.length === 0 ? errorBody(f) : `${formatPath(f.path)}: ${errorBody(f)}`;
