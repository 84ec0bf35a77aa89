import type { KubeVersion } from './version.ts';
import type { KubeObject } from './objects.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What the rules need to know of a Service: its port names and whether the control plane owns its endpoints. */
export interface ServiceInfo {
  readonly name: string;
  /** A selector means the EndpointSlice (and Endpoints) controllers write this Service's endpoints. */
  readonly hasSelector: boolean;
  readonly ports: readonly { readonly name: string; readonly protocol: string }[];
}

/** The Services of the object's namespace, by name, as the cluster has them now. */
export interface ServiceLookup {
  get(name: string): ServiceInfo | undefined;
}

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
  /**
   * The Services of the object's namespace; undefined when nothing is known of the cluster
   * (offline, or the cache is not in sync), and then the rules that need them say nothing.
   */
  readonly services?: ServiceLookup | undefined;
}
