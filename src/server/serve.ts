// What `endpoint-guard serve` runs, put together in one place: certificates, the HTTPS webhook,
// the metrics port and the certificate watcher, started in that order and stopped in reverse. The
// CLI only loads the config, calls startServing and waits for a signal.
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { type ServerTimeouts, type WebhookServer, createWebhookServer } from './app.ts';
import { type CertificateWatcher, type ReloadResult, watchCertificates, watchClientCa } from './cert-watcher.ts';
import { type MetricsServer, startMetricsServer } from './metrics-server.ts';
import { type CertificateRole, type WebhookMetrics, createMetrics } from './metrics.ts';
import type { ClusterCache } from '../cluster/cache.ts';
import { loadKubeConfig } from '../cluster/kube.ts';
import { certificatePaths, ensureDevCertificates, readClientCa } from './tls.ts';
import { forwardEndpointsWrites, leaveWorkers, reportListening, shareMetrics } from './workers.ts';
import { messageOf } from '../errors.ts';

export interface Serving {
  readonly url: string;
  readonly port: number;
  /** http://host:port/metrics, or undefined with metrics turned off. */
  readonly metricsUrl: string | undefined;
  /** Drains the webhook (see WebhookServer.close), then stops the watcher and the metrics port. */
  close(): Promise<void>;
  /** After a second signal, just before the process exits: stops what would outlive it (cluster workers). */
  abort?(): void;
}

export type ServeResult = { ok: true; serving: Serving } | { ok: false; message: string };

export interface ServeOptions {
  /** Tests shorten the server's timeouts; the shutdown delay comes from config. */
  readonly timeouts?: Partial<ServerTimeouts>;
  /** Where the in-cluster service account is looked for (tests pass an empty environment). */
  readonly env?: NodeJS.ProcessEnv;
  /** The cluster cache's first retry delay after a failure (tests shorten it). */
  readonly clusterBackoffMs?: number;
  /** A node:cluster worker (see workers.ts): the primary serves the metrics and gets told when it listens. */
  readonly worker?: boolean;
}


export async function startServing(config: Config, log: Logger, options: ServeOptions = {}): Promise<ServeResult> {
  const tls = await ensureDevCertificates(config.certDir, config.service, log);
  if (!tls.ok) return { ok: false, message: tls.message };
  const clientCa = config.clientCa === undefined ? undefined : await readClientCa(config.clientCa);
  if (clientCa?.ok === false) return { ok: false, message: clientCa.message };

  const metrics: WebhookMetrics | undefined = config.metrics
    ? createMetrics({ endpointsWritersTopN: config.endpointsWritersTopN, ...(options.worker ? { forwardEndpointsWrite: forwardEndpointsWrites() } : {}) })
    : undefined;
  metrics?.certificateInUse(new X509Certificate(tls.cert).validToDate);

  const kube = await loadKubeConfig({ file: config.kubeconfig, fallback: 'in-cluster', env: options.env });
  if (!kube.ok) return { ok: false, message: kube.message };
  let cluster: ClusterCache | undefined;
  if (kube.kc === undefined) {
    log.info('no cluster access (no --kubeconfig, not in a Pod): namespace modes and the Service rules are off');
  } else {
    log.info({ kubeconfig: kube.source, server: kube.kc.getCurrentCluster()?.server }, 'watching Namespaces and Services');
    const { startClusterCache } = await import('../cluster/cache.ts'); // loads client-node: only with cluster access
    cluster = startClusterCache({
      kc: kube.kc, log, events: metrics?.cluster, ...(options.clusterBackoffMs ? { backoffMs: options.clusterBackoffMs } : {}),
    });
  }

  let server: WebhookServer;
  try {
    server = await createWebhookServer({
      config,
      log,
      tls: { cert: tls.cert, key: tls.key, clientCa: clientCa?.pem },
      timeouts: { ...options.timeouts, shutdownDelayMs: config.shutdownDelaySeconds * 1000 },
      ...(metrics ? { metrics } : {}),
      cluster,
      notReady: () => (cluster === undefined || cluster.synced ? undefined : 'waiting for the Namespace and Service caches to sync'),
    });
  } catch (err) {
    await cluster?.stop();
    return { ok: false, message: `cannot listen on ${config.host}:${config.port}: ${messageOf(err)}` };
  }

  let metricsServer: MetricsServer | undefined;
  if (metrics && options.worker) {
    shareMetrics(metrics.registry);
  } else if (metrics) {
    try {
      metricsServer = await startMetricsServer({ host: config.host, port: config.metricsPort, registry: metrics.registry, log });
    } catch (err) {
      await server.close();
      await cluster?.stop();
      return { ok: false, message: `cannot serve metrics on ${config.host}:${config.metricsPort}: ${messageOf(err)}` };
    }
  }

  const watchers: CertificateWatcher[] = [];
  if (config.certReloadSeconds > 0) {
    const paths = certificatePaths(config.certDir);
    const intervalMs = config.certReloadSeconds * 1000;
    const reported = (certificate: CertificateRole) =>
      (metrics ? { onReload: (result: ReloadResult) => metrics.certificateReloaded(certificate, result) } : {});
    watchers.push(watchCertificates({
      certFile: paths.cert,
      keyFile: paths.key,
      current: tls,
      intervalMs,
      log,
      apply: (pair, x509) => {
        server.setCertificate(pair);
        metrics?.certificateInUse(x509.validToDate);
      },
      ...reported('serving'),
    }));
    if (config.clientCa !== undefined && clientCa?.ok === true) {
      watchers.push(watchClientCa({
        file: config.clientCa, current: clientCa.pem, intervalMs, log, apply: (pem) => server.setClientCa(pem), ...reported('client-ca'),
      }));
    }
  }

  const close = async (): Promise<void> => {
    for (const watcher of watchers) watcher.close();
    // Metrics stay up while the webhook drains, so the last scrapes still see it.
    await server.close();
    await cluster?.stop();
    await metricsServer?.close();
    if (options.worker) leaveWorkers();
  };
  if (options.worker) reportListening(server.url, server.port);
  return { ok: true, serving: { url: server.url, port: server.port, metricsUrl: metricsServer?.url, close } };
}
