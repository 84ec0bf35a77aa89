// `endpoint-guard manifests`: the two webhook registrations with the caBundle from a certificate
// directory and the mode's failure policy, printed as YAML, or created/updated with --apply.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { configSchema } from '../config.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, commandArgs, kubectlYaml } from '../io.ts';
import { certificatePaths } from '../server/tls.ts';
import { KubeError, loadKubeConfig } from './kube.ts';
import { MANIFEST_MODES, type ManifestMode, type Target, applyObject, explainWrite, webhookConfigurations } from './manifests.ts';

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

const DEFAULT_CERT_DIR = configSchema.shape.certDir.parse(undefined);
const APPLY_TIMEOUT_MS = 10_000;

export const manifestsCommand = {
  summary: 'print (or --apply) the webhook registrations, with the caBundle from a certificate directory',
  usage: 'endpoint-guard manifests (--service NAMESPACE/NAME | --url URL) [--mode complain|enforce] [--cert-dir DIR] [--apply] [--kubeconfig FILE]',
  help: [
    '  --service NS/NAME         the webhook\'s Service in the cluster (port 443)',
    '  --url URL                 or an https:// URL the apiserver calls instead (a webhook outside the cluster);',
    '                            /validate and /mutate are appended',
    '  --mode M                  complain (default: failurePolicy Ignore) or enforce (Fail) for the validating webhook;',
    '                            the mutating webhook always has Ignore',
    `  --cert-dir DIR            the caBundle is DIR/ca.crt, else DIR/tls.crt for a self-signed one (default ${DEFAULT_CERT_DIR})`,
    '  --apply                   create or update both in the cluster instead of printing them',
    '  --kubeconfig FILE         the cluster for --apply (default: $KUBECONFIG, ~/.kube/config, or in-cluster)',
    '--apply needs get, create and update on the two objects: the ClusterRole endpoint-guard-manifests-apply in',
    'deploy/base/rbac-apply.yaml, bound to whoever runs it.',
    'Exit status: 0 printed or applied, 1 the cluster refused a write, 2 usage error, unreadable certificate or',
    'unreachable cluster.',
  ].join('\n'),
  options: {
    service: { type: 'string' },
    url: { type: 'string' },
    mode: { type: 'string' },
    'cert-dir': { type: 'string' },
    apply: { type: 'boolean' },
    kubeconfig: { type: 'string' },
  } as const satisfies ParseArgsOptionsConfig,
  run: (values: Values, _positionals: readonly string[], io: Io): Promise<number> => runManifests(values, io),
};

/** --service or --url, checked: the apiserver only calls https URLs without user info, query or fragment. */
function targetOf(service: string | undefined, url: string | undefined): Target | string {
  if ((service === undefined) === (url === undefined)) return 'give exactly one of --service NAMESPACE/NAME and --url URL';
  if (service !== undefined) {
    const parsed = configSchema.shape.service.safeParse(service);
    if (!parsed.success) return `--service ${JSON.stringify(service)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
    const [namespace = '', name = ''] = parsed.data.split('/');
    return { service: { namespace, name } };
  }
  let parsed: URL;
  try {
    parsed = new URL(url ?? '');
  } catch {
    return `--url ${JSON.stringify(url)} is not a URL; give https://HOST[:PORT][/PATH]`;
  }
  if (parsed.protocol !== 'https:' || parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    return `--url ${JSON.stringify(url)}: the apiserver only calls https:// URLs without user, query or fragment`;
  }
  return { url: parsed.href };
}

/** ca.crt, else tls.crt (a self-signed serving certificate is its own CA), with a note saying so. */
async function readCaBundle(dir: string, io: Io): Promise<{ ok: true; pem: string } | { ok: false; message: string }> {
  const paths = certificatePaths(dir);
  for (const path of [paths.ca, paths.cert]) {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return { ok: false, message: `cannot read ${path}: ${(err as Error).message}` };
    }
    try {
      new X509Certificate(pem);
    } catch (err) {
      return { ok: false, message: `${path} is not a PEM certificate: ${(err as Error).message}` };
    }
    if (path === paths.cert) {
      io.stderr(`endpoint-guard manifests: no ${paths.ca}: using ${paths.cert} as the caBundle, which only works while that ` +
        'certificate is self-signed and not renewed; keep the CA in ca.crt (endpoint-guard certs writes it)');
    }
    return { ok: true, pem };
  }
  return { ok: false, message: `neither ${paths.ca} nor ${paths.cert} exists: run 'endpoint-guard certs --out ${dir}', or point --cert-dir at your certificates` };
}

export async function runManifests(values: Values, io: Io): Promise<number> {
  const { usage, str } = commandArgs('manifests', values, io);
  const mode = str('mode') ?? 'complain';
  if (!(MANIFEST_MODES as readonly string[]).includes(mode)) return usage(`--mode must be ${MANIFEST_MODES.join(' or ')}, not ${JSON.stringify(mode)}`);
  const target = targetOf(str('service'), str('url'));
  if (typeof target === 'string') return usage(target);
  const certDir = str('cert-dir') ?? DEFAULT_CERT_DIR;
  const ca = await readCaBundle(certDir, io);
  if (!ca.ok) {
    io.stderr(`endpoint-guard manifests: ${ca.message}`);
    return EXIT_USAGE;
  }
  const objects = webhookConfigurations(target, ca.pem, mode as ManifestMode);
  if (values.apply !== true) {
    io.stdout(objects.map((o) => kubectlYaml(o).trimEnd()).join('\n---\n'));
    return EXIT_OK;
  }

  const kube = await loadKubeConfig({ file: str('kubeconfig'), fallback: 'default', env: io.env });
  if (!kube.ok || kube.kc === undefined) {
    io.stderr(`endpoint-guard manifests: ${kube.ok ? 'no kubeconfig found; pass --kubeconfig FILE' : kube.message}`);
    return EXIT_USAGE;
  }
  for (const object of objects) {
    const ref = `${String(object.kind).toLowerCase()}/${String((object.metadata as { name: string }).name)}`;
    try {
      io.stdout(`${ref} ${await applyObject(kube.kc, object, APPLY_TIMEOUT_MS)}`);
    } catch (err) {
      if (!(err instanceof KubeError)) throw err;
      io.stderr(`endpoint-guard manifests: ${explainWrite(err, ref)}`);
      return err.status === 0 ? EXIT_USAGE : EXIT_FAILURE;
    }
  }
  return EXIT_OK;
}
