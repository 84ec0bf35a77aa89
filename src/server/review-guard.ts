// A review that throws, or takes longer than reviewBudgetMs, is answered the way the admin chose
// (onRuleError) at once, counted and logged, instead of a 500 the apiserver would treat as a
// webhook failure. A review is synchronous JavaScript and cannot be interrupted: the budget is
// checked when it returns, so it bounds nothing by itself; the body size and depth limits bound
// how long a review can take, and the budget makes an overrun visible and its answer the chosen one.
import { performance } from 'node:perf_hooks';
import { ADMISSION_VERSIONS, type ReviewContext, type ReviewLog, type ReviewOutcome, allow, deny, envelope, field, namespaceModeOf } from '../admission.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Route, WebhookMetrics } from './metrics.ts';

export type Review = (input: unknown, config: Config, context?: ReviewContext) => ReviewOutcome;
export type ReviewFailure = 'error' | 'over-budget';
export const REVIEW_FAILURES: readonly ReviewFailure[] = ['error', 'over-budget'];

export function guardReview(route: Route, review: Review, log: Logger, metrics: WebhookMetrics | undefined): Review {
  return (input, config, context) => {
    const started = performance.now();
    let outcome: ReviewOutcome;
    try {
      outcome = review(input, config, context);
    } catch (err) {
      metrics?.reviewFailed(route, 'error');
      log.error({ err, route, uid: uidOf(input) }, 'review threw; answered as onRuleError says');
      return failedReview(route, input, config, context, 'error', 'internal error');
    }
    const durationMs = performance.now() - started;
    // A 400 is the client's mistake, however long it took to find.
    if (durationMs <= config.reviewBudgetMs || outcome.httpStatus !== 200) return outcome;
    metrics?.reviewFailed(route, 'over-budget');
    log.warn({ route, uid: uidOf(input), durationMs: Math.round(durationMs), reviewBudgetMs: config.reviewBudgetMs },
      'review took longer than reviewBudgetMs; answered as onRuleError says');
    return failedReview(route, input, config, context, 'over-budget', `review took ${Math.round(durationMs)} ms, over reviewBudgetMs`);
  };
}

const uidOf = (input: unknown): string => {
  const uid = field(field(input, 'request'), 'uid');
  return typeof uid === 'string' ? uid : '';
};

/**
 * The answer for a review that failed: denied in enforce mode with onRuleError deny (never on
 * /mutate, which never denies), otherwise allowed without findings or patch.
 */
function failedReview(route: Route, input: unknown, config: Config, context: ReviewContext | undefined, failure: ReviewFailure, what: string): ReviewOutcome {
  const uid = uidOf(input);
  const request = field(input, 'request');
  const mode = namespaceModeOf(field(request, 'namespace'), context?.cluster) ?? config.mode;
  const kind = field(field(request, 'kind'), 'kind');
  const operation = field(request, 'operation');
  const apiVersion = ADMISSION_VERSIONS.find((v) => v === field(input, 'apiVersion')) ?? ADMISSION_VERSIONS[0];
  const denied = route === 'validate' && mode === 'enforce' && config.onRuleError === 'deny';
  const response = denied
    ? deny(uid, `endpoint-guard could not check this object (${what}; see its logs) and is set to deny then`)
    : allow(uid);
  const reviewLog: ReviewLog = {
    uid, mode, decision: denied ? 'denied' : 'allowed', findings: {}, reason: `review ${failure}`,
    kind: typeof kind === 'string' ? kind : undefined, operation: typeof operation === 'string' ? operation : undefined,
  };
  return { httpStatus: 200, body: envelope(apiVersion, response), log: reviewLog };
}
