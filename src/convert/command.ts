// endpoint-guard convert: v1 Endpoints in manifests -> the EndpointSlices that replace them.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, commandArgs, kubectlYaml } from '../io.ts';
import { type InputError, displayName, readInputs } from '../lint/read.ts';
import { inputErrorLine } from '../lint/command.ts';
import { configSchema } from '../config.ts';
import { decodeObject, type Endpoints } from '../rules/objects.ts';
import { checkObject } from '../rules/index.ts';
import { catalogue } from '../rules/catalogue.ts';
import { apiserverLine } from '../rules/finding.ts';
import { parseKubeVersion, type KubeVersion } from '../rules/version.ts';
import { LABEL_SKIP_MIRROR, type ServiceInfo, type SliceManifest, mirrorSlices, notMirroredBecause, ownedSlices } from './mirror.ts';

export const CONVERT_MODES = ['owned', 'mirror'] as const;
type ConvertMode = (typeof CONVERT_MODES)[number];

export const convertUsage = 'endpoint-guard convert PATH... [-o DIR] [--as owned|mirror] [--managed-by VALUE] [--per-slice N] [--require-service] [--kubernetes-version V]';
export const convertHelp = [
  '  PATH                      a manifest file, a directory (.yaml, .yml, .json) or - for stdin',
  '  -o, --out DIR             one file per Endpoints in DIR (<namespace>.<name>.yaml) instead of stdout',
  '  --as owned|mirror         owned (default): slices to keep, with your managed-by, every address, stable names;',
  "                            mirror: exactly what the mirroring controller would create (for comparison)",
  '  --managed-by VALUE        the managed-by value of owned slices (default endpoint-guard)',
  '  --per-slice N             endpoints per owned slice, 1 to 1000 (default 100, the controller default)',
  '  --require-service         skip Endpoints whose Service is not in the input',
  '  --kubernetes-version V    the apiserver release the slices must pass, 1.24 to 1.36 (default 1.36)',
  'Exit status: 0 all converted, 1 some Endpoints skipped (each with its reason on stderr), 2 usage or unreadable input.',
].join('\n');
export const convertOptions = {
  out: { type: 'string', short: 'o' },
  as: { type: 'string' },
  'managed-by': { type: 'string' },
  'per-slice': { type: 'string' },
  'require-service': { type: 'boolean' },
  'kubernetes-version': { type: 'string' },
} as const;

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

interface Found { readonly endpoints: { file: string; line: number; raw: unknown }[]; readonly services: Map<string, ServiceInfo>; readonly errors: InputError[] }

const key = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The Endpoints in the inputs, and the Services by namespace/name (the lint reader skips them as kinds it does not check). */
async function findEndpoints(paths: readonly string[], stdin: Io['stdin']): Promise<Found> {
  const inputs = await readInputs(paths, stdin);
  const found: Found = { endpoints: [], services: new Map(), errors: inputs.errors };
  for (const m of inputs.manifests) {
    if (isRecord(m.object) && m.object.kind === 'Endpoints') found.endpoints.push({ file: displayName(m.file), line: m.position.line, raw: m.object });
  }
  for (const s of inputs.skipped) {
    if (s.kind !== 'Service' || !isRecord(s.object) || !isRecord(s.object.metadata)) continue;
    const { metadata, spec } = s.object;
    const name = typeof metadata.name === 'string' ? metadata.name : '';
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
    const selector = isRecord(spec) && isRecord(spec.selector) ? spec.selector : {};
    found.services.set(key(namespace, name), { name, hasSelector: Object.keys(selector).length > 0 });
  }
  return found;
}

function header(ep: Endpoints, mode: ConvertMode, notes: string[]): string {
  const name = ep.metadata.name ?? '';
  const ns = ep.metadata.namespace ? ` -n ${ep.metadata.namespace}` : '';
  const full = `${ep.metadata.namespace ? `${ep.metadata.namespace}/` : ''}${name}`;
  const next = mode === 'owned'
    ? [
      '# Next: kubectl apply -f this file; check `kubectl get endpointslices' + `${ns} -l kubernetes.io/service-name=${name}\`;`,
      `# then delete the Endpoints (kubectl delete endpoints ${name}${ns}) or label it ${LABEL_SKIP_MIRROR}: "true".`,
    ]
    : [
      '# What the mirroring controller creates from it, to compare with `kubectl get endpointslices' + `${ns} -l kubernetes.io/service-name=${name}\`.`,
      '# These slices belong to the Endpoints and go when it goes: to keep slices of your own, use --as owned.',
    ];
  return [`# EndpointSlices for v1 Endpoints ${full} (endpoint-guard convert --as ${mode}).`, ...next, ...notes.map((n) => `# Note: ${n}`)].join('\n');
}

const ownerUid = (raw: unknown): string | undefined =>
  isRecord(raw) && isRecord(raw.metadata) && typeof raw.metadata.uid === 'string' ? raw.metadata.uid : undefined;

/** Errors the target apiserver or endpoint-guard would raise on a generated slice: there should be none. */
function sliceErrors(slices: SliceManifest[], version: KubeVersion): string[] {
  return slices.flatMap((slice) => checkObject({ object: slice, operation: 'CREATE', version, softEndpointLimit: 1000, username: 'convert' })
    .findings.filter((f) => (f.severity ?? catalogue[f.rule].severity) === 'error' && f.rule !== 'managed-by-controller')
    .map((f) => `${slice.metadata.name ?? slice.metadata.generateName ?? ''}: ${f.rule}: ${apiserverLine(f)}`));
}

export async function runConvert(values: Values, paths: readonly string[], io: Io): Promise<number> {
  const { usage, str } = commandArgs('convert', values, io);
  const mode = str('as') ?? 'owned';
  if (!(CONVERT_MODES as readonly string[]).includes(mode)) return usage(`--as must be owned or mirror, not ${JSON.stringify(mode)}`);
  const settings = configSchema.pick({ managedByValue: true, kubernetesVersion: true }).safeParse({
    managedByValue: str('managed-by'), kubernetesVersion: str('kubernetes-version'),
  });
  if (!settings.success) {
    const issue = settings.error.issues[0];
    const flag = issue?.path[0] === 'managedByValue' ? '--managed-by' : '--kubernetes-version';
    return usage(`${flag}: ${issue?.message ?? 'invalid'}`);
  }
  const perSlice = Number(str('per-slice') ?? '100');
  if (!Number.isInteger(perSlice) || perSlice < 1 || perSlice > 1000) return usage('--per-slice must be a whole number from 1 to 1000');
  if (paths.length === 0) return usage('give at least one PATH: a manifest file, a directory, or - for stdin');
  const version = parseKubeVersion(settings.data.kubernetesVersion);
  if (!version) return usage('--kubernetes-version: unknown version');

  const found = await findEndpoints(paths, io.stdin);
  for (const e of found.errors) io.stderr(inputErrorLine(e));
  const out = str('out');
  const documents: string[] = [];
  let skippedAny = false;
  for (const { file, line, raw } of found.endpoints) {
    const where = `${file}:${line}`;
    const decoded = decodeObject(raw, version);
    const ep = decoded.object;
    if (ep?.kind !== 'Endpoints') {
      skippedAny = true;
      io.stderr(`${where}: skipped: the Endpoints cannot be read: ${decoded.findings.map(apiserverLine).join('; ')}`);
      continue;
    }
    const name = ep.metadata.name ?? '';
    const service = found.services.get(key(ep.metadata.namespace, name));
    // Without the Service in the input, assume the selector-less Service these Endpoints serve.
    const assumed = service ?? (values['require-service'] === true ? undefined : { name, hasSelector: false });
    const why = notMirroredBecause(ep, assumed);
    if (why) {
      skippedAny = true;
      io.stderr(`${where}: skipped Endpoints ${name}: ${why}${service === undefined && assumed === undefined ? ' (--require-service)' : ''}`);
      continue;
    }
    const notes: string[] = [];
    if (!service) notes.push(`no Service "${name}" was in the input; it must exist without a selector for these slices to be used.`);
    let slices: SliceManifest[];
    if (mode === 'mirror') {
      const uid = ownerUid(raw);
      const result = mirrorSlices(ep, uid);
      slices = uid ? result.slices : result.slices.map(({ apiVersion, kind, metadata: { ownerReferences: _o, ...metadata }, ...rest }) => ({ apiVersion, kind, metadata, ...rest }));
      if (!uid) notes.push('the input has no metadata.uid, so the owner reference to the Endpoints is left out.');
      if (result.translation.skipped > 0) notes.push(`${result.translation.skipped} addresses are over the controller's 1000 per subset and left out, as it does.`);
      notes.push("managed-by is the mirroring controller's value: endpoint-guard rejects that from anyone else (rule managed-by-controller).");
    } else {
      const result = ownedSlices(ep, { managedBy: settings.data.managedByValue, perSlice });
      slices = result.slices;
      const biggest = Math.max(0, ...result.translation.slices.map((d) => d.endpoints.length));
      if (biggest > perSlice) notes.push(`more than ${perSlice} endpoints share a port set: they are spread over several slices.`);
    }
    if (ep.subsets.length === 0) notes.push('the Endpoints has no subsets: there is nothing to convert.');
    const errors = sliceErrors(slices, version);
    if (errors.length > 0) {
      skippedAny = true;
      for (const e of errors) io.stderr(`${where}: not written: ${e}`);
      continue;
    }
    const text = `${header(ep, mode === 'mirror' ? 'mirror' : 'owned', notes)}\n${slices.map((s) => `---\n${kubectlYaml(s)}`).join('')}`;
    if (out === undefined) {
      documents.push(text);
    } else {
      await mkdir(out, { recursive: true });
      const target = path.join(out, `${ep.metadata.namespace ?? 'default'}.${name}.yaml`);
      await writeFile(target, text);
      io.stderr(`${where}: wrote ${slices.length} EndpointSlice${slices.length === 1 ? '' : 's'} to ${target}`);
    }
  }
  if (documents.length > 0) io.stdout(documents.join('').replace(/\n$/, ''));
  if (found.endpoints.length === 0 && found.errors.length === 0) io.stderr('endpoint-guard convert: no v1 Endpoints found in the input');
  if (found.errors.length > 0) return EXIT_USAGE;
  return skippedAny ? EXIT_FAILURE : EXIT_OK;
}

