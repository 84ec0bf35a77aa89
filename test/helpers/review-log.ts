// Review log lines as `serve` writes them, made by the real review functions: the review's log
// object, framed as src/server/app.ts frames it (path first, then status and durationMs), written
// by the same infoLine(). For the report's tests.
import { randomUUID } from 'node:crypto';
import { type ReviewContext, type ReviewOutcome, reviewAdmission, reviewMutation } from '../../src/admission.ts';
import type { ClusterView } from '../../src/cluster/view.ts';
import { type Config, type Mode, configSchema } from '../../src/config.ts';
import { infoLine } from '../../src/log.ts';
import { captureLog } from './log.ts';
import { type Json, endpointsObject, slice } from './objects.ts';

export interface WriteRequest {
  readonly object: Json;
  readonly user: string;
  readonly namespace: string;
  readonly name?: string;
  readonly operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  readonly dryRun?: boolean;
}

const KINDS: Readonly<Record<string, { group: string; version: string; kind: string }>> = {
  EndpointSlice: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
  Endpoints: { group: '', version: 'v1', kind: 'Endpoints' },
};

/** The AdmissionReview the apiserver sends for a write. */
export function admissionReview(w: WriteRequest): Json {
  const kind = KINDS[String(w.object.kind)] ?? { group: 'example.com', version: 'v1', kind: String(w.object.kind) };
  const name = w.name ?? 'obj';
  const object = { ...w.object, metadata: { ...(w.object.metadata as Json), name, namespace: w.namespace } };
  const operation = w.operation ?? 'CREATE';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(), kind, requestKind: kind, name, namespace: w.namespace, operation,
      userInfo: { username: w.user },
      object: operation === 'DELETE' ? null : object,
      oldObject: operation === 'CREATE' ? null : object,
      dryRun: w.dryRun ?? false,
    },
  };
}

/** A slice enforce rejects: it claims the EndpointSlice controller's managed-by value (managed-by-controller). */
export const controllerClaimingSlice = (): Json =>
  slice({ metadata: { name: 'x', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } } });
/** A slice without findings. */
export const cleanSlice = (): Json =>
  slice({ metadata: { name: 'x', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'team.example.com' } } });
/** A v1 Endpoints object with nothing wrong but its kind (endpoints-deprecated, a warning). */
export const cleanEndpoints = (): Json => endpointsObject();

export const clusterWithModes = (modes: Readonly<Record<string, Mode>>): ClusterView => ({
  namespaceMode: (namespace) => modes[namespace],
  services: () => undefined,
});

export interface LineOptions {
  readonly config?: Config;
  readonly context?: ReviewContext;
  /** An RFC 3339 time for the line instead of now. */
  readonly time?: string;
  /** Both webhooks, as the apiserver calls them (default), or one. */
  readonly paths?: readonly ('/validate' | '/mutate')[];
  /** The review function instead of the route's own (reviewAdmission, reviewMutation). */
  readonly review?: (input: unknown, config: Config, context?: ReviewContext) => ReviewOutcome;
}

/** The lines serve writes for one request, one per webhook called. */
export function reviewLines(body: unknown, options: LineOptions = {}): string[] {
  const config = options.config ?? configSchema.parse({});
  const { log, raw } = captureLog();
  for (const path of options.paths ?? ['/mutate', '/validate']) {
    const outcome = (options.review ?? (path === '/mutate' ? reviewMutation : reviewAdmission))(body, config, options.context);
    infoLine(log, { path, ...outcome.log, status: outcome.httpStatus, durationMs: 0.4 }, 'review');
  }
  return raw.map((line) => (options.time === undefined ? line : line.replace(/"time":"[^"]*"/, `"time":"${options.time}"`)).trimEnd());
}

/** The lines of a write through both webhooks. */
export const writeLines = (w: WriteRequest, options: LineOptions = {}): string[] => reviewLines(admissionReview(w), options);
