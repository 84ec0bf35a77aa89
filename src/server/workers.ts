// `serve` with workers > 1: this process (the primary) forks that many server processes, which
// share the HTTPS port through node:cluster, and serves the metrics of all of them. Each worker
// runs startServing as a single process would, except that its metrics go to the primary.
// SIGTERM reaches the primary (PID 1 in a Pod) and is passed on to every worker, which drains as
// a single process does; the primary exits once they all have.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { type MetricsServer, startMetricsServer } from './metrics-server.ts';
import { endpointsWritersMetric } from './metrics.ts';
import type { ServeResult } from './serve.ts';
import { ensureDevCertificates } from './tls.ts';
import { messageOf } from '../errors.ts';

/** What a worker tells the primary once it is listening. */
interface Listening { readonly type: 'endpoint-guard:listening'; readonly url: string; readonly port: number }
const isListening = (m: unknown): m is Listening =>
  typeof m === 'object' && m !== null && 'type' in m && m.type === 'endpoint-guard:listening';

/**
 * Endpoints writes a worker passes on, so the primary ranks the writers of all workers together:
 * each worker ranking its own would name different users, up to N per worker.
 */
interface EndpointsWrites { readonly type: 'endpoint-guard:endpoints-writes'; readonly writes: readonly (readonly [user: string, count: number])[] }
const isEndpointsWrites = (m: unknown): m is EndpointsWrites =>
  typeof m === 'object' && m !== null && 'type' in m && m.type === 'endpoint-guard:endpoints-writes' && 'writes' in m && Array.isArray(m.writes);

/**
 * In a worker: what counts an Endpoints write, by sending it to the primary. Writes are sent in
 * one message per turn of the event loop, and before anything the primary asks is answered: a
 * scrape (prom-client answers it asynchronously) sees every write answered before it.
 */
export function forwardEndpointsWrites(): (user: string) => void {
  let pending = new Map<string, number>();
  const flush = () => {
    if (pending.size === 0) return;
    const message: EndpointsWrites = { type: 'endpoint-guard:endpoints-writes', writes: [...pending] };
    pending = new Map();
    if (process.connected) process.send?.(message); // after leaveWorkers the primary counts no more
  };
  process.on('message', flush);
  return (user) => {
    if (pending.size === 0) setImmediate(flush);
    pending.set(user, (pending.get(user) ?? 0) + 1);
  };
}

/** In a worker: answer the primary's metrics requests from this registry. */
export function shareMetrics(registry: Registry): void {
  new AggregatorRegistry(); // registers prom-client's worker-side message listener
  AggregatorRegistry.setRegistries([registry]);
}

/** In a worker, once listening. */
export function reportListening(url: string, port: number): void {
  const message: Listening = { type: 'endpoint-guard:listening', url, port };
  process.send?.(message);
}

/** In a worker, once drained: closing the channel to the primary lets the process end. */
export function leaveWorkers(): void {
  cluster.worker?.disconnect();
}


export async function startWorkers(config: Config, log: Logger): Promise<ServeResult> {
  // Once, before the workers start: several processes generating certificates at once would race.
  const tls = await ensureDevCertificates(config.certDir, config.service, log);
  if (!tls.ok) return { ok: false, message: tls.message };

  let metricsServer: MetricsServer | undefined;
  // The workers' metrics summed, and the Endpoints writers, counted here from all workers.
  const own = new Registry();
  const recordWrites = endpointsWritersMetric(own, config.endpointsWritersTopN);
  if (config.metrics) {
    const aggregator = new AggregatorRegistry();
    const source = { contentType: aggregator.contentType, metrics: async () => `${await aggregator.clusterMetrics()}\n${await own.metrics()}` };
    try {
      metricsServer = await startMetricsServer({ host: config.host, port: config.metricsPort, registry: source, log });
    } catch (err) {
      return { ok: false, message: `cannot serve metrics on ${config.host}:${config.metricsPort}: ${messageOf(err)}` };
    }
  }

  let stopping = false;
  const fork = (): Promise<Listening> => new Promise((resolve, reject) => {
    const worker: Worker = cluster.fork();
    worker.on('message', (m: unknown) => {
      if (isEndpointsWrites(m)) for (const [user, count] of m.writes) recordWrites(user, count);
    });
    const onMessage = (m: unknown) => {
      if (!isListening(m)) return;
      worker.off('message', onMessage);
      worker.off('exit', onEarlyExit);
      worker.on('exit', (code, signal) => {
        if (stopping) return;
        // A worker that served and died (a crash, the OOM killer): the others carry on and it is replaced.
        log.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting another');
        fork().catch((err: unknown) => log.error({ err: messageOf(err) }, 'replacing a worker failed'));
      });
      resolve(m);
    };
    const onEarlyExit = (code: number | null, signal: string | null) =>
      reject(new Error(`a worker exited before listening (code ${code}, signal ${signal}); its message is above`));
    worker.on('message', onMessage);
    worker.once('exit', onEarlyExit);
  });

  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const allExited = () => Promise.all(workers().map((w) => new Promise<void>((resolve) => {
    if (w.isDead()) resolve();
    else w.once('exit', () => resolve());
  })));
  const stopWorkers = async () => {
    stopping = true;
    const running = allExited();
    for (const w of workers()) w.process.kill('SIGTERM');
    await running;
  };

  let first: Listening;
  try {
    [first] = await Promise.all(Array.from({ length: config.workers }, fork)) as [Listening, ...Listening[]];
  } catch (err) {
    await stopWorkers();
    await metricsServer?.close();
    return { ok: false, message: messageOf(err) };
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      await stopWorkers();
      await metricsServer?.close();
    })();
    return closed;
  };
  // A second signal: the workers get theirs too, and exit at once as a single process would.
  const abort = () => {
    for (const w of workers()) w.process.kill('SIGTERM');
  };
  return { ok: true, serving: { url: first.url, port: first.port, metricsUrl: metricsServer?.url, close, abort } };
}
