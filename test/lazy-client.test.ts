// @kubernetes/client-node costs about 90 MiB and a third of a second to import: only commands
// and servers that reach a cluster may load it. Runs in its own process (node --test isolates
// files), so what it sees resolved is what these entry points load.
import assert from 'node:assert/strict';
import { registerHooks } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../src/config.ts';
import { captureLog } from './helpers/log.ts';
import { tempDir } from './helpers/temp.ts';

const resolved: string[] = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    resolved.push(specifier);
    return nextResolve(specifier, context);
  },
});
const loadedClient = () => resolved.filter((s) => s.startsWith('@kubernetes/client-node') || s === 'undici');

test('the CLI, lint and a webhook without cluster access never load client-node', async (t) => {
  const { main } = await import('../src/cli.ts');
  const io = { env: {}, stdout: () => {}, stderr: () => {} };
  assert.equal(await main(['lint', '--help'], io), 0);
  assert.equal(await main(['audit', '--help'], io), 0);
  const { startServing } = await import('../src/server/serve.ts');
  const dir = await tempDir(t);
  const config = { ...configSchema.parse({}), certDir: join(dir, 'certs'), port: 0, metricsPort: 0, certReloadSeconds: 0 };
  const started = await startServing(config, captureLog().log, { env: {} });
  assert.ok(started.ok);
  await started.serving.close();
  assert.ok(resolved.includes('../src/cli.ts') || resolved.some((s) => s.endsWith('cli.ts')), 'the hook sees imports');
  assert.deepEqual(loadedClient(), []);
});
