// Where settings come from: flags > environment > config file > schema defaults. The merged
// result goes through configSchema once, and every problem is reported with the key and the place
// it came from, so a user can fix it without reading a stack trace.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema, loadedConfigSchema } from './config.ts';
import { ruleIds } from './rules/catalogue.ts';
import { type KubeVersion, parseKubeVersion } from './rules/version.ts';
import { fsReason, messageOf } from './errors.ts';

type ConfigKey = keyof Config;

/** The command-line flags that set a config key, by flag name (as parseArgs returns them). */
export const CONFIG_FLAGS = [
  ['mode', 'mode'],
  ['host', 'host'],
  ['port', 'port'],
  ['cert-dir', 'certDir'],
  ['kubernetes-version', 'kubernetesVersion'],
  ['log-level', 'logLevel'],
  ['metrics-port', 'metricsPort'],
  ['kubeconfig', 'kubeconfig'],
  ['client-ca', 'clientCa'],
  ['workers', 'workers'],
] as const satisfies readonly (readonly [string, ConfigKey])[];
export type ConfigFlag = (typeof CONFIG_FLAGS)[number][0];

/** Flags as parseArgs returns them; `config` names the config file. */
export type ConfigFlags = Partial<Record<ConfigFlag | 'config', string>>;

const ENV_PREFIX = 'ENDPOINT_GUARD_';
export const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG`;

/** Environment variables: ENDPOINT_GUARD_ + the key in upper snake case. `rules` is file-only. */
export const ENV_KEYS = [
  'mode', 'host', 'port', 'certDir', 'service', 'kubernetesVersion', 'softEndpointLimit',
  'maxWarnings', 'maxBodyBytes', 'onRuleError', 'logLevel', 'exemptUsers',
  'fixManagedBy', 'managedByValue', 'fixIPv6', 'fixDuplicates',
  'metrics', 'metricsPort', 'endpointsWritersTopN', 'certReloadSeconds', 'shutdownDelaySeconds', 'workers',
  'kubeconfig',
  'reviewBudgetMs', 'maxJsonDepth', 'maxConnections', 'handshakeTimeoutSeconds', 'headersTimeoutSeconds',
  'requestTimeoutSeconds', 'keepAliveTimeoutSeconds', 'clientCa',
] as const satisfies readonly ConfigKey[];

// A word starts at an upper-case letter after a lower-case one or a digit, so an acronym stays one
// word: fixIPv6 is FIX_IPV6, endpointsWritersTopN is ENDPOINTS_WRITERS_TOP_N.
export const envName = (key: ConfigKey): string =>
  ENV_PREFIX + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

export interface LoadConfigInput {
  readonly flags: ConfigFlags;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file as text; throws (ENOENT, EACCES...) when it cannot. */
  readonly readFile?: (path: string) => string;
}

export type LoadConfigResult = { ok: true; config: Config } | { ok: false; message: string };

const readUtf8 = (path: string): string => readFileSync(path, 'utf8');
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function loadConfig({ flags, env, readFile = readUtf8 }: LoadConfigInput): LoadConfigResult {
  /** Where each top-level key's value came from, for messages. */
  const source = new Map<string, string>();
  let merged: Record<string, unknown> = {};

  const fileFromFlag = flags.config;
  const filePath = fileFromFlag ?? nonEmpty(env[CONFIG_FILE_ENV]);
  if (filePath !== undefined) {
    const file = readConfigFile(filePath, readFile);
    if (!file.ok) {
      const via = fileFromFlag !== undefined ? '--config' : CONFIG_FILE_ENV;
      return { ok: false, message: `config: cannot use config file ${filePath} (from ${via}): ${file.message}` };
    }
    merged = { ...file.values };
    for (const key of Object.keys(file.values)) source.set(key, filePath);
  }

  for (const key of ENV_KEYS) {
    const name = envName(key);
    const value = nonEmpty(env[name]);
    if (value === undefined) continue;
    merged[key] = key === 'exemptUsers' ? splitList(value) : value;
    source.set(key, name);
  }

  for (const [flag, key] of CONFIG_FLAGS) {
    const value = flags[flag];
    if (value === undefined) continue;
    merged[key] = value;
    source.set(key, `--${flag}`);
  }

  const parsed = loadedConfigSchema.safeParse(merged);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, message: parsed.error.issues.map((issue) => describeIssue(issue, source)).join('; ') };
}

type FileResult = { ok: true; values: Record<string, unknown> } | { ok: false; message: string };

/** YAML is a superset of JSON, so one parser reads both. An empty file is an empty config. */
function readConfigFile(path: string, readFile: (path: string) => string): FileResult {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return { ok: false, message: fsReason(err) };
  }
  let values: unknown;
  try {
    values = parseYaml(text);
  } catch (err) {
    return { ok: false, message: `not valid YAML or JSON: ${firstLine(messageOf(err))}` };
  }
  if (values === null || values === undefined) return { ok: true, values: {} };
  if (!isRecord(values)) return { ok: false, message: `expected a mapping of settings, got ${describeValue(values)}` };
  return { ok: true, values };
}

function describeIssue(issue: z.core.$ZodIssue, source: ReadonlyMap<string, string>): string {
  const [top] = issue.path;
  const topKey = top === undefined ? undefined : String(top);
  const from = topKey === undefined ? undefined : (source.get(topKey) ?? 'default');
  const where = from === undefined ? '' : ` (from ${from})`;

  if (issue.code === 'unrecognized_keys') {
    if (topKey === undefined) {
      // Only a config file can carry keys of its own choosing; flags and env are mapped by us.
      const files = [...new Set(issue.keys.map((k) => source.get(k) ?? 'config file'))].join(', ');
      return `config: unknown ${plural(issue.keys.length, 'key')} ${quoteList(issue.keys)} (from ${files}); ` +
        `known keys: ${Object.keys(configSchema.shape).join(', ')}`;
    }
    if (topKey === 'rules') {
      return `config: rules${where}: unknown rule ${plural(issue.keys.length, 'id')} ${quoteList(issue.keys)}; ` +
        `known rule ids: ${ruleIds.join(', ')}`;
    }
  }
  return `config: ${formatIssuePath(issue.path)}${where}: ${issue.message}`;
}

const formatIssuePath = (path: readonly PropertyKey[]): string =>
  path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join('');

const quoteList = (items: readonly string[]): string => items.map((s) => JSON.stringify(s)).join(', ');
const plural = (n: number, word: string): string => (n === 1 ? word : `${word}s`);

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** An empty environment variable counts as unset, as with most tools (`FOO= cmd`). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

const splitList = (value: string): string[] => value.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** The yaml package ends its first line with ':' and puts a code frame below; keep the sentence. */
const firstLine = (text: string): string => (text.split('\n')[0] ?? text).replace(/:\s*$/, '');

/**
 * The settings of a one-shot command (lint, audit, manifests): the flags it was given among
 * `flagNames` (read with `str`) over the environment and the config file, and the Kubernetes
 * version they select.
 */
export function loadCommandConfig(
  str: (flag: string) => string | undefined, env: LoadConfigInput['env'],
  flagNames: readonly (keyof ConfigFlags)[] = ['config', 'kubernetes-version'],
): { ok: true; config: Config; version: KubeVersion } | { ok: false; message: string } {
  const flags: ConfigFlags = {};
  for (const flag of flagNames) {
    const value = str(flag);
    if (value !== undefined) flags[flag] = value;
  }
  const loaded = loadConfig({ flags, env });
  if (!loaded.ok) return loaded;
  const version = parseKubeVersion(loaded.config.kubernetesVersion);
  if (version === undefined) return { ok: false, message: `unknown Kubernetes version ${loaded.config.kubernetesVersion}` }; // the schema refuses it first
  return { ok: true, config: loaded.config, version };
}
