// The webhook's view of the cluster: client-node informers (list, then watch) on Namespaces and
// Services, read by reviews without ever waiting on the apiserver. A failed list or watch is
// logged, counted and retried with backoff; meanwhile the Service rules are skipped (a stale cache
// would warn about Services created since), and namespace modes keep their last known values.
import { CoreV1Api, type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { ServiceLookup } from '../rules/context.ts';
import { namespaceInfo, serviceInfo } from './objects.ts';
import { NAMESPACE_MODE_LABEL, type ClusterView } from './view.ts';

export type CachedResource = 'namespaces' | 'services';

/** What the cache reports as it goes; metrics implement it. */
export interface CacheEvents {
  synced(resource: CachedResource, ok: boolean): void;
  failed(resource: CachedResource): void;
}

export interface ClusterCache extends ClusterView {
  /** True once both resources have been listed: /readyz waits for it. */
  readonly synced: boolean;
  stop(): Promise<void>;
}

export interface ClusterCacheOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly events?: CacheEvents | undefined;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface Watched {
  readonly resource: CachedResource;
  /** Listed at least once. */
  listed: boolean;
  /** Listed, and no failure since the last successful list or watch event. */
  healthy: boolean;
}

/** The HTTP status of a failed list (client-node's ApiException) or watch (statusCode), if any. */
const statusOf = (err: unknown): unknown =>
  (typeof err === 'object' && err !== null ? Reflect.get(err, 'code') ?? Reflect.get(err, 'statusCode') : undefined);

/** The apiserver's own words when it sent a Status (client-node's ApiException keeps it in `body`). */
function statusMessage(err: unknown): string | undefined {
  const body = typeof err === 'object' && err !== null ? Reflect.get(err, 'body') : undefined;
  try {
    const status: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    const message = typeof status === 'object' && status !== null ? Reflect.get(status, 'message') : undefined;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

const messageOf = (err: unknown): string => {
  const fromStatus = statusMessage(err);
  if (fromStatus !== undefined) return fromStatus;
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
};

/**
 * client-node's ListWatch.stop() aborts the watch it has, but not one still being set up (after
 * a list, or a reconnect): that watch would stay open after stop. This Watch aborts it on arrival.
 */
class StoppableWatch extends Watch {
  stopped = false;
  override async watch(...args: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    const controller = await super.watch(...args);
    if (this.stopped) controller.abort();
    return controller;
  }
}

export function startClusterCache(options: ClusterCacheOptions): ClusterCache {
  const { kc, log, events, backoffMs = 1000, maxBackoffMs = 30_000 } = options;
  const core = kc.makeApiClient(CoreV1Api);
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const watchers: StoppableWatch[] = [];

  const watch = <T extends KubernetesObject>(resource: CachedResource, path: string, list: () => ReturnType<typeof core.listNamespace>) => {
    const state: Watched = { resource, listed: false, healthy: false };
    const watcher = new StoppableWatch(kc);
    watchers.push(watcher);
    const informer = new ListWatch<T>(path, watcher, async () => {
      const result = await list();
      const first = !state.listed;
      state.listed = true;
      state.healthy = true;
      delay = backoffMs;
      events?.synced(resource, true);
      log.info({ resource, count: result.items.length }, first ? 'cluster cache synced' : 'cluster cache listed again');
      return result as never;
    }, false);
    let delay = backoffMs;
    let failures = 0;
    // start() resolves once the list (when one is needed) and the watch request are done; an
    // error on the way has called the error handler below by then.
    const start = async () => {
      const before = failures;
      await informer.start();
      if (failures === before && state.listed && !state.healthy && !stopped) {
        state.healthy = true;
        delay = backoffMs;
        events?.synced(resource, true);
        log.info({ resource }, 'cluster watch is back');
      }
    };
    // client-node stops an informer on any error but 410 Gone; it is ours to restart it.
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      failures += 1;
      state.healthy = false;
      events?.failed(resource);
      events?.synced(resource, false);
      const status = statusOf(err);
      const hint = status === 401 || status === 403
        ? { fix: `give this service account get, list and watch on ${resource} (deploy/base has the ClusterRole)` } : {};
      log.warn({ resource, err: messageOf(err), ...(typeof status === 'number' ? { status } : {}), ...hint, retryInMs: delay },
        `cannot ${state.listed ? 'watch' : 'list'} ${resource}: answering with the cluster-free rules until it is back`);
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopped) void start();
      }, delay);
      timers.add(timer);
      delay = Math.min(delay * 2, maxBackoffMs);
    });
    void start();
    return { state, informer };
  };

  const namespaces = watch('namespaces', '/api/v1/namespaces', () => core.listNamespace());
  const services = watch('services', '/api/v1/services', () => core.listServiceForAllNamespaces() as never);

  // A label that names no mode is a mistake worth one log line each time it is seen.
  const reportBadMode = (raw: KubernetesObject) => {
    const ns = namespaceInfo(raw);
    if (ns.badMode !== undefined) {
      log.warn({ namespace: ns.name, label: NAMESPACE_MODE_LABEL, value: ns.badMode },
        'namespace mode label is not enforce, complain or off; the global mode applies there');
    }
  };
  namespaces.informer.on('add', reportBadMode);
  namespaces.informer.on('update', reportBadMode);

  return {
    get synced() {
      return namespaces.state.listed && services.state.listed;
    },
    namespaceMode(namespace) {
      const raw = namespaces.informer.get(namespace);
      return raw === undefined ? undefined : namespaceInfo(raw).mode;
    },
    services(namespace): ServiceLookup | undefined {
      if (!services.state.healthy) return undefined;
      return {
        get: (name) => {
          const raw = services.informer.get(name, namespace);
          return raw === undefined ? undefined : serviceInfo(raw);
        },
      };
    },
    async stop() {
      stopped = true;
      for (const watcher of watchers) watcher.stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([namespaces.informer.stop(), services.informer.stop()]);
    },
  };
}
