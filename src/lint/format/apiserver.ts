// What `kubectl create --validate=false -R -f PATH...` prints on stderr for the inputs lint read:
// kubectl's own errors (an object it cannot map or decode) and the cluster's (the kube-apiserver's
// validation, then endpoint-guard's denial in enforce mode), gathered and worded as kubectl does.
//
// kubectl visits the files in order and each document, and a List document's items, in order.
//   - A document it cannot decode (a metadata field of the wrong type: kubectl checks metadata
//     itself) or map (no API for its kind and version) is an error of the visit; a List's items
//     that it cannot map are one error of the visit for the whole List.
//   - Every other object is sent; the cluster's refusal is an error of its own.
// At the end the errors are the cluster's, in order, then one aggregate of the visit's errors, and
// kubectl prints (cmd/util/helpers.go checkErr): a single 422 as "The Kind "name" is invalid: ...";
// any other single error as its message, with "error: " before kubectl's own; several errors one a
// line, the cluster's as "Error from server (Reason): ..." and an aggregate as Go's "[a, b]".
import { type Judged, denyMessage } from '../../policy.ts';
import { KUBECTL_METADATA, endsDecoding, goFieldsOf, goTypeError, reportedTypeError, sortedKeyOrder } from '../../rules/go-json.ts';
import { notServed } from '../../rules/finding.ts';
import { effectiveName } from '../../rules/metadata.ts';
import { DISCOVERY_V1BETA1 } from '../../rules/objects.ts';
import type { KubeVersion } from '../../rules/version.ts';
import type { LintFinding, LintMode, LintReport, ObjectReport } from '../run.ts';
import { type ListDocument, STDIN_NAME } from '../read.ts';

/** The validating webhook's name as deploy/ registers it; the apiserver quotes it in denials. */
export const VALIDATING_WEBHOOK_NAME = 'validate.endpoint-guard.io';

/** An error as kubectl holds it: the cluster's Status, one of its own, or an aggregate of errors. */
type KubectlError =
  | { readonly from: 'server'; readonly reason: string; readonly message: string; readonly invalid?: Invalid }
  | { readonly from: 'kubectl'; readonly message: string }
  | { readonly from: 'aggregate'; readonly errors: readonly KubectlError[] };

/** The Status details of a 422, which kubectl prints cause by cause when it is the only error. */
interface Invalid { readonly kind: string; readonly name: string; readonly causes: readonly string[] }

export function formatApiserver(report: LintReport): string {
  const { mode, version } = report.settings;
  const cluster: KubectlError[] = [];
  const visit: KubectlError[] = [];
  let list: { readonly document: ListDocument; readonly file: string; readonly errors: KubectlError[] } | undefined;
  const endList = () => {
    if (list !== undefined && list.errors.length > 0) visit.push({ from: 'aggregate', errors: list.errors });
    list = undefined;
  };
  for (const o of report.objects) {
    const sameList = o.list !== undefined && list?.document === o.list && list.file === o.file;
    if (!sameList) {
      endList();
      if (o.list !== undefined) {
        list = { document: o.list, file: o.file, errors: [] };
        // A typed list of a version the cluster does not serve is not mapped: its items are never looked at.
        if (!listServed(o.list, version)) visit.push(unmapped(o.list.kind, o.list.apiVersion ?? '', o.list.name, o.list.namespace, o.file));
      }
    }
    if (o.list !== undefined && !listServed(o.list, version)) continue;
    const own = kubectlError(o);
    if (own !== undefined) (list?.errors ?? visit).push(own);
    else {
      const refused = clusterError(o, mode);
      if (refused !== undefined) cluster.push(refused);
    }
  }
  endList();
  const errors: KubectlError[] = visit.length > 0 ? [...cluster, { from: 'aggregate', errors: visit }] : cluster;
  const [only] = errors;
  if (only === undefined) return '';
  return printed(errors.length === 1 ? only : { from: 'aggregate', errors });
}

const listServed = (list: ListDocument, version: KubeVersion): boolean =>
  version.v1beta1Served || !(list.kind === 'EndpointSliceList' && list.apiVersion === DISCOVERY_V1BETA1);

/** kubectl's own refusal of the object before it sends anything, if it has one. */
function kubectlError(o: ObjectReport): KubectlError | undefined {
  const file = kubectlSource(o.file);
  const errors = o.findings.filter((f) => f.severity === 'error' && f.source === 'apiserver');
  if (o.list === undefined) {
    // kubectl decodes a document's metadata itself (cli-runtime's metadataValidatingDecoder), with
    // the keys as the file has them when it is JSON, and as its YAML-to-JSON conversion sorts them.
    const metadata = errors.filter((f) => f.rule === 'field-type' && f.judged.path[0] === 'metadata');
    const first = reportedTypeError(metadata, (f) => endsDecoding(KUBECTL_METADATA, f.judged.path),
      o.syntax === 'json' ? (a, b) => a.line - b.line || a.column - b.column : byPath);
    if (first !== undefined) {
      const words = goTypeError(KUBECTL_METADATA, first.judged.path, first.judged.value) ?? first.judged.detail;
      return { from: 'kubectl', message: `unable to decode ${quote(file)}: ${words}` };
    }
  }
  const unserved = errors.find((f) => f.rule === 'api-version');
  if (unserved === undefined) return undefined;
  // A List's items are mapped apart, and their error names no file nor object.
  if (o.list !== undefined) return { from: 'kubectl', message: `unable to recognize ${unserved.judged.detail}` };
  return unmapped(o.object.kind, o.object.apiVersion ?? '', o.object.name, o.object.namespace, o.file);
}

/** cli-runtime's mapper: the name and namespace as the document has them, nothing defaulted. */
const unmapped = (kind: string, apiVersion: string, name: string | null, namespace: string | null, file: string): KubectlError => ({
  from: 'kubectl',
  message: `resource mapping not found for name: ${quote(name ?? '')} namespace: ${quote(namespace ?? '')} from ${quote(kubectlSource(file))}: ` +
    `${notServed(kind, apiVersion, '').detail}\nensure CRDs are installed first`,
});

/** The cluster's refusal of the object kubectl sends, if it refuses it. */
function clusterError(o: ObjectReport, mode: LintMode): KubectlError | undefined {
  const errors = o.findings.filter((f) => f.severity === 'error');
  const apiserver = errors.filter((f) => f.source === 'apiserver');
  const creating = `error when creating ${quote(kubectlSource(o.file))}`;
  const { kind } = o.object;
  // For a generateName the apiserver names the object: its prefix and 5 random characters (a stand-in here).
  const name = effectiveName({ name: o.object.name ?? undefined, generateName: o.object.generateName ?? undefined }) ?? '';

  // The apiserver cannot decode the object. kubectl sends JSON with sorted keys; Go's decoder
  // reports its first type error (or a metav1.Time's, which stops it), else the unknown fields.
  const fields = goFieldsOf(kind === 'Endpoints' ? 'Endpoints' : 'EndpointSlice', o.object.apiVersion ?? '');
  const typeError = reportedTypeError(apiserver.filter((f) => f.rule === 'field-type'), (f) => endsDecoding(fields, f.judged.path), byPath);
  const unknown = apiserver.filter((f) => f.rule === 'unknown-field');
  if (typeError || unknown.length > 0) {
    const reason = typeError ? typeError.judged.detail : `strict decoding error: ${unknown.map((f) => f.judged.detail).join(', ')}`;
    const version = (o.object.apiVersion ?? '').split('/').pop() ?? '';
    return { from: 'server', reason: 'BadRequest', message: `${creating}: ${kind} in version ${quote(version)} cannot be handled as a ${kind}: ${reason}` };
  }
  if (apiserver.length > 0) {
    // field.ErrorList.ToAggregate and kubectl both leave out a repeated error.
    const causes = [...new Set(apiserver.map((f) => f.apiserverMessage ?? f.message))];
    const group = (o.object.apiVersion ?? '').includes('/') ? `.${(o.object.apiVersion ?? '').split('/')[0]}` : '';
    return {
      from: 'server', reason: 'Invalid', invalid: { kind, name, causes },
      message: `${creating}: ${kind}${group} ${quote(name)} is invalid: ${goAggregate(causes)}`,
    };
  }
  if (mode === 'enforce' && errors.length > 0) {
    const judged: Judged[] = errors.map((f) => f.judged);
    return { from: 'server', reason: 'Forbidden', message: `${creating}: admission webhook ${quote(VALIDATING_WEBHOOK_NAME)} denied the request: ${denyMessage(judged)}` };
  }
  return undefined;
}

const byPath = (a: LintFinding, b: LintFinding): number => sortedKeyOrder(a.judged.path, b.judged.path);

/** kubectl's name for the source: the path as given, STDIN for -f -. */
const kubectlSource = (file: string): string => (file === STDIN_NAME ? 'STDIN' : file);

/** checkErr: how kubectl prints the error a command ends with. */
function printed(err: KubectlError): string {
  const e = err.from === 'aggregate' && err.errors.length === 1 ? err.errors[0] ?? err : err; // "unwrap aggregates of 1"
  if (e.from === 'server' && e.invalid !== undefined) {
    const head = `The ${e.invalid.kind} ${quote(e.invalid.name)} is invalid: `;
    return e.invalid.causes.length === 1 ? head + e.invalid.causes[0] : `${head}\n${e.invalid.causes.map((c) => `* ${c}`).join('\n')}`;
  }
  if (e.from === 'aggregate') return e.errors.map(messageFor).join('\n');
  if (e.from === 'server') return messageFor(e);
  return e.message.startsWith('error: ') ? e.message : `error: ${e.message}`;
}

/** StandardErrorMessage for the cluster's errors, else the error's own text. */
const messageFor = (e: KubectlError): string => (e.from === 'server' ? `Error from server (${e.reason}): ${e.message}` : text(e));

/** Error(): an aggregate's is its distinct messages, all its levels flattened, as "[a, b]" when more than one. */
function text(e: KubectlError): string {
  if (e.from !== 'aggregate') return e.message;
  const flat = (x: KubectlError): string[] => (x.from === 'aggregate' ? x.errors.flatMap(flat) : [x.message]);
  return goAggregate([...new Set(flat(e))]);
}

const goAggregate = (messages: readonly string[]): string => (messages.length === 1 ? messages[0] ?? '' : `[${messages.join(', ')}]`);

/** Go's %q for the plain names and paths kubectl quotes. */
const quote = (s: string): string => JSON.stringify(s);

