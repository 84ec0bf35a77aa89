// AdmissionReview in, AdmissionReview out: pure, no I/O. The server hands in the parsed body.
import { z } from 'zod';
import type { Config, Mode } from './config.ts';
import { type Judged, decide, judge, warningLines } from './policy.ts';
import { mutate } from './mutate.ts';
import type { Operation } from 'fast-json-patch';
import { type CheckResult, type RuleError, checkObject } from './rules/index.ts';
import type { ServiceLookup } from './rules/context.ts';
import type { RuleId } from './rules/catalogue.ts';
import { isHandledKind } from './rules/objects.ts';
import { type KubeVersion, parseKubeVersion, kubeVersion, MAX_MINOR } from './rules/version.ts';
import type { ClusterView } from './cluster/view.ts';
import { type DepthBudget, TooDeep, nestingProblem, nestsPast, tooDeepMessage } from './depth.ts';

export const ADMISSION_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;

const groupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });
const requestSchema = z.object({
  uid: z.string().min(1, 'must not be empty'),
  kind: groupVersionKind,
  requestKind: groupVersionKind.nullish(),
  name: z.string().nullish(),
  namespace: z.string().nullish(),
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  userInfo: z.object({ username: z.string().nullish() }).nullish(),
  object: z.unknown(),
  oldObject: z.unknown(),
  dryRun: z.boolean().nullish(),
});
const reviewSchema = z.object({
  apiVersion: z.enum(ADMISSION_VERSIONS),
  kind: z.literal('AdmissionReview'),
  request: requestSchema,
});
type AdmissionRequest = z.infer<typeof requestSchema>;

export interface ReviewLog {
  uid?: string | undefined;
  kind?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  operation?: string | undefined;
  user?: string | undefined;
  dryRun?: boolean | undefined;
  mode: Mode;
  /** Set when the namespace's endpoint-guard.io/mode label chose the mode instead of the config. */
  modeFrom?: 'namespace' | undefined;
  decision: 'allowed' | 'denied' | 'exempt' | 'ignored' | 'bad-request';
  /** How many findings of each rule (fixes on /mutate): bounded by the number of rules, however large the object. */
  findings: Partial<Record<RuleId, number>>;
  /** Rule ids with error severity among them: what enforce rejects. */
  errors?: string[] | undefined;
  reason?: string | undefined;
  /** Checks that threw (a bug): logged with the uid and counted, never a failed request. */
  ruleErrors?: RuleError[] | undefined;
}

export interface ReviewOutcome {
  /** 200 for every review answered; 400 for a body that is not a usable AdmissionReview. */
  readonly httpStatus: number;
  readonly body: unknown;
  readonly log: ReviewLog;
}

interface Status { code: number; reason?: string; message: string }
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: Status;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
  patchType?: 'JSONPatch';
  /** base64 of a JSON Patch (RFC 6902); mutating answers only. */
  patch?: string;
}

// Responses are plain data built by four constructors (as controller-runtime's Allowed/Patched/Denied/Errored).
const withWarnings = (warnings: string[]) => (warnings.length > 0 ? { warnings } : {});
const withAnnotations = (a: Record<string, string>) => (Object.keys(a).length > 0 ? { auditAnnotations: a } : {});
export const allow = (uid: string, warnings: string[] = [], annotations: Record<string, string> = {}): AdmissionResponse =>
  ({ uid, allowed: true, ...withWarnings(warnings), ...withAnnotations(annotations) });
/** patchType and patch only when there is something to change: an empty patch is no patch. */
export const patched = (uid: string, ops: readonly Operation[], warnings: string[] = []): AdmissionResponse =>
  (ops.length === 0 ? allow(uid, warnings)
    : { ...allow(uid, warnings), patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
// 403 Forbidden rather than 422: some kubectl versions print only "The request is invalid" for a 422.
export const deny = (uid: string, message: string, warnings: string[] = []): AdmissionResponse =>
  ({ uid, allowed: false, status: { code: 403, reason: 'Forbidden', message }, ...withWarnings(warnings) });
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest', 404: 'NotFound', 405: 'MethodNotAllowed', 408: 'Timeout', 413: 'RequestEntityTooLarge',
  431: 'BadRequest', 500: 'InternalError',
};
export const errored = (uid: string, code: number, message: string): AdmissionResponse =>
  ({ uid, allowed: false, status: { code, reason: REASONS[code] ?? 'InternalError', message } });

export const envelope = (apiVersion: string, response: AdmissionResponse) => ({ apiVersion, kind: 'AdmissionReview', response });
/** The JSON body for a request that never became a review (bad HTTP, too large, no such route). */
export const errorReview = (code: number, message: string) => envelope(ADMISSION_VERSIONS[0], errored('', code, message));

/** What the server needs from Config, computed once per Config object. */
interface Settings { version: KubeVersion; exempt: ReadonlySet<string> }
const settingsCache = new WeakMap<Config, Settings>();
function settingsOf(config: Config): Settings {
  let s = settingsCache.get(config);
  if (!s) {
    s = { version: parseKubeVersion(config.kubernetesVersion) ?? kubeVersion(MAX_MINOR), exempt: new Set(config.exemptUsers) };
    settingsCache.set(config, s);
  }
  return s;
}

export const field = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? Reflect.get(o, key) : undefined);

/** The clearest single sentence about why a body is not a usable AdmissionReview. */
function badReviewMessage(input: unknown, error: z.ZodError): string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body must be a JSON object (an AdmissionReview)';
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  if (issue && where === 'kind') return `kind must be "AdmissionReview", got ${JSON.stringify(field(input, 'kind')) ?? 'nothing'}`;
  if (issue && where === 'apiVersion') {
    return `apiVersion must be one of ${ADMISSION_VERSIONS.join(', ')}, got ${JSON.stringify(field(input, 'apiVersion')) ?? 'nothing'}`;
  }
  if (issue && where === 'request' && field(input, 'request') === undefined) return 'request is missing: not an AdmissionReview request';
  return `${where}: ${issue?.message ?? 'invalid'}`;
}

type Answer = { response: AdmissionResponse; log: ReviewLog };

/** What a review may know beyond the request and the config. */
export interface ReviewContext {
  /** The cluster's Namespaces and Services, from the cache; absent without cluster access. */
  readonly cluster?: ClusterView | undefined;
  /** The rules entry point; tests hand in another to exercise failures. */
  readonly check?: typeof checkObject;
}

/** The mode a namespace's endpoint-guard.io/mode label sets, when the cluster is known; else undefined. */
export const namespaceModeOf = (namespace: unknown, cluster: ClusterView | undefined): Mode | undefined =>
  (typeof namespace === 'string' && namespace !== '' ? cluster?.namespaceMode(namespace) : undefined);

/** A 400: the body is not an AdmissionReview endpoint-guard can use. */
function badRequestOutcome(input: unknown, config: Config, message: string): ReviewOutcome {
  const uid = field(field(input, 'request'), 'uid');
  const apiVersion = ADMISSION_VERSIONS.find((v) => v === field(input, 'apiVersion')) ?? ADMISSION_VERSIONS[0];
  return {
    httpStatus: 400,
    body: envelope(apiVersion, errored(typeof uid === 'string' ? uid : '', 400, message)),
    log: { mode: config.mode, decision: 'bad-request', findings: {}, reason: message, uid: typeof uid === 'string' ? uid : undefined },
  };
}

/** request.object and request.oldObject sit this deep in the body. */
const OBJECT_LEVEL = 3;

/**
 * Envelope checks shared by /validate and /mutate; `answer` handles a well-formed request. The
 * body's depth limit is held here for the envelope and for any object `answer` did not decode,
 * and by the decoder for what it decodes (see depth.ts).
 */
function review(input: unknown, config: Config, cluster: ClusterView | undefined, answer: (req: AdmissionRequest, log: ReviewLog, depth: DepthBudget) => Answer): ReviewOutcome {
  const parsed = reviewSchema.safeParse(input);
  if (!parsed.success) {
    const tooDeep = nestingProblem(input, config.maxJsonDepth); // before anything renders a part of it
    return badRequestOutcome(input, config, tooDeep ?? `invalid AdmissionReview: ${badReviewMessage(input, parsed.error)}`);
  }
  const { apiVersion, request: req } = parsed.data;
  const depth: DepthBudget = { max: config.maxJsonDepth, level: OBJECT_LEVEL, decoded: new Set() };
  const envelopeProblem = nestingProblem({ ...(input as object), request: { ...(field(input, 'request') as object), object: null, oldObject: null } }, depth.max);
  if (envelopeProblem !== undefined) return badRequestOutcome(input, config, envelopeProblem);
  try {
    const outcome = reviewed(apiVersion, req, config, cluster, (request, log) => answer(request, log, depth));
    for (const object of [req.object, req.oldObject]) {
      if (!depth.decoded.has(object) && nestsPast(object, OBJECT_LEVEL, depth.max)) {
        return badRequestOutcome(input, config, tooDeepMessage(depth.max));
      }
    }
    return outcome;
  } catch (err) {
    if (err instanceof TooDeep) return badRequestOutcome(input, config, err.message);
    throw err;
  }
}

function reviewed(apiVersion: string, req: AdmissionRequest, config: Config, cluster: ClusterView | undefined, answer: (req: AdmissionRequest, log: ReviewLog) => Answer): ReviewOutcome {
  const user = req.userInfo?.username ?? undefined;
  const namespaceMode = namespaceModeOf(req.namespace, cluster);
  const log: ReviewLog = {
    uid: req.uid, kind: req.kind.kind, namespace: req.namespace ?? undefined, name: objectName(req),
    operation: req.operation, user, dryRun: req.dryRun ?? undefined, mode: namespaceMode ?? config.mode,
    ...(namespaceMode !== undefined ? { modeFrom: 'namespace' as const } : {}), decision: 'allowed', findings: {},
  };
  const reason = skipReason(req, settingsOf(config));
  const { response, log: logged } = reason
    ? { response: allow(req.uid), log: { ...log, ...reason } }
    : answer(req, log);
  return { httpStatus: 200, body: envelope(apiVersion, response), log: logged };
}

/** Requests answered with a plain allow, before any rule runs; the reason goes to the log. */
function skipReason(req: AdmissionRequest, settings: Settings): Pick<ReviewLog, 'decision' | 'reason'> | undefined {
  const user = req.userInfo?.username ?? undefined;
  if (user !== undefined && settings.exempt.has(user)) return { decision: 'exempt', reason: `user ${user}` };
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return { decision: 'ignored', reason: `operation ${req.operation}` };
  if (!isHandledKind(req.object)) return { decision: 'ignored', reason: `kind ${req.kind.kind}` };
  return undefined;
}

/** POST /validate. The mode is the namespace's label's, else the config's. */
export function reviewAdmission(input: unknown, config: Config, context: ReviewContext = {}): ReviewOutcome {
  const { cluster, check = checkObject } = context;
  return review(input, config, cluster, (req, log, depth) =>
    validate(req, log, config, check, req.namespace ? cluster?.services(req.namespace) : undefined, depth));
}

/** POST /mutate: safe fixes as a JSON Patch; always allowed (rejecting is the validating half's job). */
export function reviewMutation(input: unknown, config: Config, context: ReviewContext = {}): ReviewOutcome {
  return review(input, config, context.cluster, (req, log, depth) => {
    if (log.mode === 'off') return { response: allow(req.uid), log: { ...log, decision: 'ignored', reason: 'mode off' } };
    const mutation = mutate({
      object: req.object, oldObject: req.oldObject, operation: req.operation, version: settingsOf(config).version, depth,
    }, config);
    const warnings = warningLines(mutation.fixes, config.maxWarnings);
    return { response: patched(req.uid, mutation.patch, warnings), log: { ...log, findings: countByRule(mutation.fixes) } };
  });
}

function countByRule(findings: readonly { readonly rule: RuleId }[]): Partial<Record<RuleId, number>> {
  const counts: Partial<Record<RuleId, number>> = {};
  for (const { rule } of findings) counts[rule] = (counts[rule] ?? 0) + 1;
  return counts;
}

function objectName(req: AdmissionRequest): string | undefined {
  if (req.name) return req.name; // DELETECOLLECTION and generateName calls may leave it empty
  const meta = field(req.object ?? req.oldObject, 'metadata');
  const name = field(meta, 'name') ?? field(meta, 'generateName');
  return typeof name === 'string' ? name : undefined;
}

function validate(
  req: AdmissionRequest, log: ReviewLog, config: Config, check: typeof checkObject, services: ServiceLookup | undefined, depth: DepthBudget,
): Answer {
  const requestKind = req.requestKind ?? req.kind;
  const result: CheckResult = check({
    object: req.object,
    oldObject: req.operation === 'UPDATE' ? req.oldObject : undefined,
    operation: req.operation,
    version: settingsOf(config).version,
    softEndpointLimit: config.softEndpointLimit,
    username: log.user,
    requestApiVersion: requestKind.group ? `${requestKind.group}/${requestKind.version}` : requestKind.version,
    services,
    depth,
  });
  const judged: Judged[] = judge(result.findings, config.rules);
  const decision = decide(judged, log.mode, config.maxWarnings);
  const { ruleErrors } = result;
  const logged: ReviewLog = {
    ...log,
    findings: countByRule(judged),
    ...(decision.errors.length > 0 ? { errors: [...new Set(decision.errors.map((f) => f.rule))] } : {}),
    ...(ruleErrors.length > 0 ? { ruleErrors } : {}),
  };
  if (ruleErrors.length > 0 && log.mode === 'enforce' && config.onRuleError === 'deny') {
    const message = 'endpoint-guard could not check this object (internal rule error; see its logs) and is set to deny then';
    return { response: deny(req.uid, message, decision.warnings), log: { ...logged, decision: 'denied', reason: 'rule error' } };
  }
  if (!decision.allowed) {
    return { response: deny(req.uid, decision.message ?? 'denied', decision.warnings), log: { ...logged, decision: 'denied' } };
  }
  return { response: allow(req.uid, decision.warnings, decision.auditAnnotations), log: logged };
}
