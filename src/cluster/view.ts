// What the webhook knows of the cluster at the moment of a review, read from caches only: a
// review never waits on a call to the apiserver.
import type { Mode } from '../config.ts';
import type { ServiceLookup } from '../rules/context.ts';

/** The namespace label that overrides the global mode, as Pod Security Admission's labels do. */
export const NAMESPACE_MODE_LABEL = 'endpoint-guard.io/mode';

export interface ClusterView {
  /** The mode a namespace's endpoint-guard.io/mode label sets; undefined: the global mode applies. */
  namespaceMode(namespace: string): Mode | undefined;
  /** The namespace's Services; undefined when they cannot be trusted now (not synced, watch down). */
  services(namespace: string): ServiceLookup | undefined;
}
