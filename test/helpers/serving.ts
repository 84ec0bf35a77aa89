// The whole `serve` stack in-process (certificates, HTTPS webhook, metrics port, certificate
// watcher) on 127.0.0.1 with free ports, stopped when the test ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Config, configSchema } from '../../src/config.ts';
import type { ServerTimeouts } from '../../src/server/app.ts';
import { type ServeOptions, type Serving, startServing } from '../../src/server/serve.ts';
import { CA_FILE } from '../../src/server/tls.ts';
import { type Reply, httpsRequest } from './https.ts';
import { type CapturedLog, captureLog } from './log.ts';
import { tempDir } from './temp.ts';

export interface StartedServing {
  readonly serving: Serving;
  readonly config: Config;
  readonly logs: CapturedLog;
  readonly certDir: string;
  /** The development CA that signed the first certificate, when the server generated it. */
  readonly ca: string;
  post(path: '/validate' | '/mutate', body: unknown): Promise<Reply>;
}

export async function startTestServing(
  t: TestContext,
  settings: Partial<Config> = {},
  timeouts: Partial<ServerTimeouts> = {},
  options: Omit<ServeOptions, 'timeouts'> = {},
): Promise<StartedServing> {
  const certDir = settings.certDir ?? join(await tempDir(t), 'certs');
  const config: Config = {
    ...configSchema.parse({}),
    certReloadSeconds: 0,
    ...settings,
    certDir,
    host: '127.0.0.1',
    port: 0,
    metricsPort: 0,
  };
  const logs = captureLog();
  // An empty environment: a test run inside a Pod must not watch that Pod's cluster.
  const started = await startServing(config, logs.log, { timeouts, env: {}, ...options });
  if (!started.ok) throw new Error(started.message);
  t.after(() => started.serving.close());
  // A Secret of type kubernetes.io/tls has no ca.crt; the test then knows its CAs itself.
  const ca = await readFile(join(certDir, CA_FILE), 'utf8').catch(() => '');
  const { serving } = started;
  return {
    serving, config, logs, certDir, ca,
    post: (path, body) => httpsRequest(serving.url + path, {
      ca, method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  };
}
