// AdmissionReview in, AdmissionReview out: pure, no I/O. (Skeleton: filled in by the rules work.)
import type { Config, Mode } from './config.ts';

export interface ReviewLog {
  uid?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  operation?: string;
  user?: string;
  mode: Mode;
  decision: 'allowed' | 'denied' | 'exempt' | 'ignored' | 'bad-request' | 'rule-error';
  findings: string[];
  reason?: string;
}

export interface ReviewOutcome {
  /** 200 for every review answered; 400 for a body that is not a usable AdmissionReview. */
  readonly httpStatus: number;
  readonly body: unknown;
  readonly log: ReviewLog;
}

export function reviewAdmission(_input: unknown, config: Config): ReviewOutcome {
  return { httpStatus: 200, body: {}, log: { mode: config.mode, decision: 'allowed', findings: [] } };
}
