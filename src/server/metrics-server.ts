// GET /metrics over plain HTTP on its own port. Prometheus scrapes Pods over plain HTTP without a
// CA to trust, and a separate port keeps scrapes out of the webhook's listener, its logs and its
// shutdown: the metrics stay readable while the webhook drains.
import { createServer } from 'node:http';
import type { Logger } from '../log.ts';
import { listen } from './listen.ts';

export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A scrape is one small GET; anything slower than this is not Prometheus. */
const SCRAPE_TIMEOUT_MS = 10_000;
const CLOSE_GRACE_MS = 1_000;

/** A prom-client Registry, or the cluster primary's view of all its workers' registries. */
export interface MetricsSource { readonly contentType: string; metrics(): Promise<string> }

export async function startMetricsServer(options: { host: string; port: number; registry: MetricsSource; log: Logger }): Promise<MetricsServer> {
  const { registry, log } = options;
  const server = createServer({ requestTimeout: SCRAPE_TIMEOUT_MS, headersTimeout: SCRAPE_TIMEOUT_MS }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });

  const { port, urlHost: host } = await listen(server, options.port, options.host);
  server.on('error', (err) => log.error({ err }, 'metrics server error'));

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    // A scrape holds a connection for milliseconds: idle ones close at once (server.close()
    // does that), and a scrape still running after a second is cut off.
    closed ??= new Promise<void>((resolve) => {
      const cutoff = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(cutoff);
        resolve();
      });
    });
    return closed;
  };
  return { url: `http://${host}:${port}/metrics`, port, close };
}
