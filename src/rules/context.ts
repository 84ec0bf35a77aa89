import type { KubeVersion } from './version.ts';
import type { KubeObject } from './objects.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Everything a rule may know beyond the object: handed in, never looked up by the rule. */
export interface RuleContext {
  readonly version: KubeVersion;
  readonly operation: Operation;
  /** The stored object on UPDATE, already decoded. */
  readonly oldObject?: KubeObject | undefined;
  /** Who writes the object; undefined offline (a manifest is written by a person). */
  readonly username?: string | undefined;
  /** apiVersion the client used (requestKind in a webhook call, the manifest's in lint). */
  readonly requestApiVersion: string;
  /** Endpoints per slice above which endpoint-soft-limit warns. */
  readonly softEndpointLimit: number;
}
