// What `kubectl create -f FILE` (or `kubectl apply` of a new object) would print for each object the
// cluster refuses: the kube-apiserver's own error when its validation fails, else endpoint-guard's
// denial when the webhook runs in enforce mode. The forms are kubectl's, as captured from kubectl
// 1.36 in the verdict fixtures:
//
//   The EndpointSlice "x" is invalid: <error>             (422; several errors: a line each, `* <error>`)
//   Error from server (BadRequest): error when creating "FILE": EndpointSlice in version "v1" cannot be handled as a EndpointSlice: <reason>
//   error: resource mapping not found for name: "x" namespace: "" from "FILE": no matches for kind ...
//   Error from server (Forbidden): error when creating "FILE": admission webhook "..." denied the request: <message>
import { type Judged, denyMessage } from '../../policy.ts';
import type { LintMode, LintReport, ObjectReport } from '../run.ts';
import { STDIN_NAME } from '../read.ts';
import { effectiveName } from '../../rules/metadata.ts';

/** The validating webhook's name as deploy/ registers it; the apiserver quotes it in denials. */
export const VALIDATING_WEBHOOK_NAME = 'validate.endpoint-guard.io';

export function formatApiserver(report: LintReport): string {
  return report.objects.flatMap((o) => kubectlMessage(o, report.settings.mode) ?? []).join('\n');
}

/** kubectl's message for this object, or undefined when the cluster would take it. */
export function kubectlMessage(o: ObjectReport, mode: LintMode): string | undefined {
  const errors = o.findings.filter((f) => f.severity === 'error');
  const apiserver = errors.filter((f) => f.source === 'apiserver');
  const file = o.file === STDIN_NAME ? 'STDIN' : o.file; // kubectl's name for -f -
  const { kind } = o.object;
  // For a generateName the apiserver names the object: its prefix and 5 random characters (a stand-in here).
  const name = effectiveName({ name: o.object.name ?? undefined, generateName: o.object.generateName ?? undefined }) ?? '';

  // kubectl finds no API for the kind before it sends anything.
  const unserved = apiserver.find((f) => f.rule === 'api-version');
  if (unserved) {
    return `error: resource mapping not found for name: ${quote(name)} namespace: ${quote(o.object.namespace ?? '')} from ${quote(file)}: ` +
      `${unserved.judged.detail}\nensure CRDs are installed first`;
  }
  // The apiserver cannot decode the object: a JSON type error stops decoding; unknown fields are listed together.
  const typeError = apiserver.find((f) => f.rule === 'field-type');
  const unknown = apiserver.filter((f) => f.rule === 'unknown-field');
  if (typeError || unknown.length > 0) {
    const reason = typeError ? typeError.judged.detail : `strict decoding error: ${unknown.map((f) => f.judged.detail).join(', ')}`;
    const version = (o.object.apiVersion ?? '').split('/').pop() ?? '';
    return `Error from server (BadRequest): error when creating ${quote(file)}: ${kind} in version ${quote(version)} cannot be handled as a ${kind}: ${reason}`;
  }
  if (apiserver.length > 0) {
    // kubectl prints the causes of the 422 Status; the apiserver reports a repeated error once.
    const lines = [...new Set(apiserver.map((f) => f.apiserverMessage ?? f.message))];
    const head = `The ${kind} ${quote(name)} is invalid: `;
    return lines.length === 1 ? head + lines[0] : `${head}\n${lines.map((l) => `* ${l}`).join('\n')}`;
  }
  if (mode === 'enforce' && errors.length > 0) {
    const judged: Judged[] = errors.map((f) => f.judged);
    return `Error from server (Forbidden): error when creating ${quote(file)}: admission webhook ${quote(VALIDATING_WEBHOOK_NAME)} denied the request: ${denyMessage(judged)}`;
  }
  return undefined;
}

/** Go's %q for the plain names and paths kubectl quotes. */
const quote = (s: string): string => JSON.stringify(s);
