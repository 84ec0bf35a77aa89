import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type LoadConfigInput, envName, loadConfig } from '../src/config-load.ts';
import { configSchema } from '../src/config.ts';
import { tempDir } from './helpers/temp.ts';

const load = (input: Partial<LoadConfigInput>) => loadConfig({ flags: {}, env: {}, ...input });

function expectConfig(input: Partial<LoadConfigInput>) {
  const result = load(input);
  if (!result.ok) assert.fail(`expected a config, got: ${result.message}`);
  return result.config;
}

function expectProblem(input: Partial<LoadConfigInput>): string {
  const result = load(input);
  if (result.ok) assert.fail(`expected a problem, got ${JSON.stringify(result.config)}`);
  assert.doesNotMatch(result.message, /\n/, 'the message fits on one line');
  assert.doesNotMatch(result.message, /\bat .*\(.*:\d+:\d+\)/, 'the message carries no stack trace');
  return result.message;
}

describe('loadConfig', () => {
  test('gives the schema defaults when there are no flags, environment or file', () => {
    assert.deepEqual(expectConfig({}), configSchema.parse({}));
  });

  test('takes flags over the environment over the config file', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'mode: enforce\nport: 9000\nhost: 0.0.0.0\nmaxWarnings: 7\n');
    const config = expectConfig({
      flags: { config: file, mode: 'off' },
      env: { ENDPOINT_GUARD_MODE: 'complain', ENDPOINT_GUARD_PORT: '9001' },
    });
    assert.equal(config.mode, 'off', 'flag beats env and file');
    assert.equal(config.port, 9001, 'env beats file');
    assert.equal(config.host, '0.0.0.0', 'file beats default');
    assert.equal(config.maxWarnings, 7);
    assert.equal(config.certDir, 'certs', 'default when nobody sets it');
  });

  test('reads the config file named by ENDPOINT_GUARD_CONFIG, and --config wins over it', async (t) => {
    const dir = await tempDir(t);
    const fromEnv = join(dir, 'env.yaml');
    const fromFlag = join(dir, 'flag.yaml');
    await writeFile(fromEnv, 'mode: enforce\n');
    await writeFile(fromFlag, 'mode: off\n');
    assert.equal(expectConfig({ env: { ENDPOINT_GUARD_CONFIG: fromEnv } }).mode, 'enforce');
    assert.equal(expectConfig({ env: { ENDPOINT_GUARD_CONFIG: fromEnv }, flags: { config: fromFlag } }).mode, 'off');
  });

  test('maps every flag to its setting', () => {
    const config = expectConfig({
      flags: { port: '9443', host: '::', mode: 'enforce', 'cert-dir': '/tls', 'kubernetes-version': '1.30', 'log-level': 'debug' },
    });
    assert.partialDeepStrictEqual(config, {
      port: 9443, host: '::', mode: 'enforce', certDir: '/tls', kubernetesVersion: '1.30', logLevel: 'debug',
    });
  });

  test('reads every environment variable, with exempt users separated by commas', () => {
    const config = expectConfig({
      env: {
        ENDPOINT_GUARD_MODE: 'enforce',
        ENDPOINT_GUARD_HOST: '0.0.0.0',
        ENDPOINT_GUARD_PORT: '10443',
        ENDPOINT_GUARD_CERT_DIR: '/run/tls',
        ENDPOINT_GUARD_SERVICE: 'guard-system/guard',
        ENDPOINT_GUARD_KUBERNETES_VERSION: '1.33',
        ENDPOINT_GUARD_SOFT_ENDPOINT_LIMIT: '500',
        ENDPOINT_GUARD_MAX_WARNINGS: '5',
        ENDPOINT_GUARD_MAX_BODY_BYTES: '65536',
        ENDPOINT_GUARD_ON_RULE_ERROR: 'deny',
        ENDPOINT_GUARD_LOG_LEVEL: 'warn',
        ENDPOINT_GUARD_EXEMPT_USERS: 'system:admin, ci-bot ,,',
      },
    });
    assert.deepEqual(config, {
      ...configSchema.parse({}),
      mode: 'enforce', host: '0.0.0.0', port: 10443, certDir: '/run/tls', service: 'guard-system/guard',
      kubernetesVersion: '1.33', softEndpointLimit: 500, maxWarnings: 5, maxBodyBytes: 65536,
      onRuleError: 'deny', logLevel: 'warn', exemptUsers: ['system:admin', 'ci-bot'],
    });
  });

  test('reads the deployment settings: metrics, writers, certificate reloads and the shutdown delay', () => {
    assert.partialDeepStrictEqual(expectConfig({}), {
      metrics: true, metricsPort: 9090, endpointsWritersTopN: 20, certReloadSeconds: 10, shutdownDelaySeconds: 0,
    });
    const config = expectConfig({
      flags: { 'metrics-port': '9100' },
      env: {
        ENDPOINT_GUARD_METRICS: 'false',
        ENDPOINT_GUARD_METRICS_PORT: '9999',
        ENDPOINT_GUARD_ENDPOINTS_WRITERS_TOP_N: '50',
        ENDPOINT_GUARD_CERT_RELOAD_SECONDS: '0.5',
        ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS: '5',
      },
    });
    assert.partialDeepStrictEqual(config, {
      metrics: false, metricsPort: 9100, endpointsWritersTopN: 50, certReloadSeconds: 0.5, shutdownDelaySeconds: 5,
    });
  });

  test('reads the limits and --client-ca, with their defaults', () => {
    const limits = [
      ['reviewBudgetMs', 1000, '250', 250], ['maxJsonDepth', 100, '40', 40], ['maxConnections', 1000, '64', 64],
      ['handshakeTimeoutSeconds', 5, '2', 2], ['headersTimeoutSeconds', 5, '1.5', 1.5], ['requestTimeoutSeconds', 10, '30', 30],
      ['keepAliveTimeoutSeconds', 120, '100', 100],
    ] as const;
    for (const [key, byDefault, text, value] of limits) {
      assert.equal(expectConfig({})[key], byDefault, `${key} by default`);
      assert.equal(expectConfig({ env: { [envName(key)]: text } })[key], value, `${key} from ${envName(key)}`);
    }
    assert.equal(expectConfig({}).clientCa, undefined);
    assert.equal(expectConfig({ flags: { 'client-ca': '/etc/apiserver-ca.crt' } }).clientCa, '/etc/apiserver-ca.crt');
  });

  test('refuses a headers timeout longer than the request timeout, naming both', () => {
    assert.equal(
      expectProblem({ env: { ENDPOINT_GUARD_HEADERS_TIMEOUT_SECONDS: '20' } }),
      'config: headersTimeoutSeconds (from ENDPOINT_GUARD_HEADERS_TIMEOUT_SECONDS): must not be longer than requestTimeoutSeconds: the headers are part of the request',
    );
    assert.match(expectProblem({ env: { ENDPOINT_GUARD_MAX_JSON_DEPTH: '5' } }), /^config: maxJsonDepth \(from ENDPOINT_GUARD_MAX_JSON_DEPTH\): /);
  });

  test('names a metrics port out of range and a negative reload interval with where they came from', () => {
    assert.match(expectProblem({ flags: { 'metrics-port': '70000' } }), /^config: metricsPort \(from --metrics-port\): /);
    assert.match(expectProblem({ env: { ENDPOINT_GUARD_CERT_RELOAD_SECONDS: '-1' } }), /^config: certReloadSeconds \(from ENDPOINT_GUARD_CERT_RELOAD_SECONDS\): /);
    assert.match(expectProblem({ env: { ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS: '120' } }), /^config: shutdownDelaySeconds \(from ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS\): /);
  });

  test('names environment variables after the setting in upper snake case', () => {
    assert.equal(envName('kubernetesVersion'), 'ENDPOINT_GUARD_KUBERNETES_VERSION');
    assert.equal(envName('maxBodyBytes'), 'ENDPOINT_GUARD_MAX_BODY_BYTES');
    assert.equal(envName('fixIPv6'), 'ENDPOINT_GUARD_FIX_IPV6', 'an acronym is one word');
    assert.equal(envName('endpointsWritersTopN'), 'ENDPOINT_GUARD_ENDPOINTS_WRITERS_TOP_N');
    assert.equal(expectConfig({ env: { ENDPOINT_GUARD_FIX_IPV6: 'false' } }).fixIPv6, false);
  });

  test('treats an empty environment variable as unset', () => {
    assert.equal(expectConfig({ env: { ENDPOINT_GUARD_MODE: '', ENDPOINT_GUARD_PORT: ' ' } }).port, 8443);
  });

  test('reads a YAML config file with rule settings', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'endpoint-guard.yaml');
    await writeFile(file, [
      '# trial in one cluster',
      'mode: enforce',
      'port: 9443',
      'rules:',
      '  endpoint-limit: warning',
      'exemptUsers:',
      '  - system:admin',
      '',
    ].join('\n'));
    const config = expectConfig({ flags: { config: file } });
    assert.equal(config.mode, 'enforce');
    assert.equal(config.port, 9443);
    assert.deepEqual(config.rules, { 'endpoint-limit': 'warning' });
    assert.deepEqual(config.exemptUsers, ['system:admin']);
  });

  test('reads a JSON config file', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'endpoint-guard.json');
    await writeFile(file, JSON.stringify({ mode: 'off', softEndpointLimit: 250, rules: { 'endpoint-limit': 'off' } }, null, 2));
    assert.partialDeepStrictEqual(expectConfig({ flags: { config: file } }), {
      mode: 'off', softEndpointLimit: 250, rules: { 'endpoint-limit': 'off' },
    });
  });

  test('treats an empty config file as no settings', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'empty.yaml');
    await writeFile(file, '# nothing yet\n');
    assert.deepEqual(expectConfig({ flags: { config: file } }), configSchema.parse({}));
  });
});

describe('loadConfig problems', () => {
  test('names mode and the flag it came from', () => {
    assert.equal(
      expectProblem({ flags: { mode: 'loud' } }),
      'config: mode (from --mode): Invalid option: expected one of "complain"|"enforce"|"off"',
    );
  });

  test('names a port out of range and the environment variable it came from', () => {
    assert.equal(
      expectProblem({ env: { ENDPOINT_GUARD_PORT: '70000' } }),
      'config: port (from ENDPOINT_GUARD_PORT): Too big: expected number to be <=65535',
    );
  });

  test('names a port that is not a number', () => {
    assert.match(expectProblem({ flags: { port: 'https' } }), /^config: port \(from --port\): .*expected number/);
  });

  test('names an unknown rule id in rules and lists the known ones', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'rules:\n  endpoint-limits: off\n');
    const message = expectProblem({ flags: { config: file } });
    assert.match(message, new RegExp(`^config: rules \\(from ${escape(file)}\\): unknown rule id "endpoint-limits"; known rule ids: `));
    assert.match(message, /endpoint-limit\b/);
  });

  test('names a bad severity for a known rule by its path', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'rules:\n  endpoint-limit: loud\n');
    assert.match(expectProblem({ flags: { config: file } }), /^config: rules\.endpoint-limit \(from .*config\.yaml\): Invalid option: expected one of "error"\|"warning"\|"off"$/);
  });

  test('names unknown keys in the config file and lists the known ones', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'config.yaml');
    await writeFile(file, 'mode: enforce\nlisten: 0.0.0.0\ntimeout: 3\n');
    const message = expectProblem({ flags: { config: file } });
    assert.match(message, new RegExp(`^config: unknown keys "listen", "timeout" \\(from ${escape(file)}\\); known keys: mode, host, port,`));
  });

  test('names a bad kubernetesVersion and says which versions are supported', () => {
    assert.equal(
      expectProblem({ flags: { 'kubernetes-version': '1.12' } }),
      'config: kubernetesVersion (from --kubernetes-version): must be a Kubernetes version from 1.24 to 1.36, e.g. "1.36"',
    );
  });

  test('reports every problem on one line', () => {
    const message = expectProblem({ flags: { mode: 'loud' }, env: { ENDPOINT_GUARD_LOG_LEVEL: 'chatty' } });
    assert.match(message, /mode \(from --mode\)/);
    assert.match(message, /; config: logLevel \(from ENDPOINT_GUARD_LOG_LEVEL\)/);
  });

  test('names a missing config file and where its name came from', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'missing.yaml');
    assert.equal(expectProblem({ flags: { config: file } }), `config: cannot use config file ${file} (from --config): no such file`);
    assert.equal(
      expectProblem({ env: { ENDPOINT_GUARD_CONFIG: file } }),
      `config: cannot use config file ${file} (from ENDPOINT_GUARD_CONFIG): no such file`,
    );
  });

  test('names a config file that is a directory', async (t) => {
    const dir = await tempDir(t);
    const sub = join(dir, 'conf.d');
    await mkdir(sub);
    assert.match(expectProblem({ flags: { config: sub } }), /cannot use config file .*conf\.d \(from --config\): is a directory/);
  });

  test('names a config file that cannot be parsed', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'mode: enforce\n  port: [9443\n');
    assert.match(expectProblem({ flags: { config: file } }), new RegExp(`^config: cannot use config file ${escape(file)} \\(from --config\\): not valid YAML or JSON: `));
  });

  test('names a config file that holds a list instead of settings', async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, 'list.json');
    await writeFile(file, '["enforce"]');
    assert.match(expectProblem({ flags: { config: file } }), /list\.json \(from --config\): expected a mapping of settings, got a list$/);
  });

  test('reports a reader failure with its message', () => {
    const readFile = (): string => {
      throw new Error('disk on fire');
    };
    assert.equal(expectProblem({ flags: { config: 'x.yaml' }, readFile }), 'config: cannot use config file x.yaml (from --config): disk on fire');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
