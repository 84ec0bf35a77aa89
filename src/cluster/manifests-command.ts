// `endpoint-guard manifests`: the two webhook registrations with the caBundle from a certificate
// directory and the mode's failure policy, or with --as policies the admission policies that check
// the same rules in the apiserver itself; printed as YAML, or created/updated with --apply.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { loadCommandConfig } from '../config-load.ts';
import { configSchema } from '../config.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io, commandArgs, kubectlYaml } from '../io.ts';
import { formatKubeVersion } from '../rules/version.ts';
import { certificatePaths } from '../server/tls.ts';
import { admissionPolicies } from '../policies/policies.ts';
import { KubeError, loadKubeConfig } from './kube.ts';
import {
  MANIFEST_MODES, MATCH_CONDITIONS_SINCE_MINOR, type ManifestMode, ROUTES, type Target,
  appliesMatchConditions, applyObject, callee, explainWrite, objectRef, webhookConfigurations,
} from './manifests.ts';

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
type Json = Record<string, unknown>;

const DEFAULT_CERT_DIR = configSchema.shape.certDir.parse(undefined);
const APPLY_TIMEOUT_MS = 10_000;
const AS = ['webhook', 'policies'] as const;

export const manifestsCommand = {
  summary: 'print (or --apply) the webhook registrations, or with --as policies the admission policies',
  usage: 'endpoint-guard manifests (--service NAMESPACE/NAME | --url URL) [--mode complain|enforce] [--kubernetes-version V] ' +
    '[--cert-dir DIR] [--config FILE] [--apply] [--kubeconfig FILE]\n' +
    '       endpoint-guard manifests --as policies [--mode complain|enforce] [--kubernetes-version V] [--config FILE] [--apply] [--kubeconfig FILE]',
  help: [
    '  --as W                    webhook (default: the two webhook registrations) or policies (ValidatingAdmissionPolicies',
    '                            and bindings, and on 1.36 a MutatingAdmissionPolicy: no webhook needed, fewer rules)',
    '  --service NS/NAME         the webhook\'s Service in the cluster (port 443)',
    '  --url URL                 or an https:// URL the apiserver calls instead (a webhook outside the cluster): a base URL,',
    '                            or one ending in /validate or /mutate; the apiserver calls BASE/validate and BASE/mutate',
    '  --mode M                  complain (default: the validating webhook fails open; policies only warn) or enforce',
    '                            (it fails closed; error rules deny); the mutating webhook always fails open',
    '  --kubernetes-version V    the cluster\'s release, 1.24 to 1.36 (default 1.36): below 1.28 the registrations leave out',
    '                            matchConditions; policies need 1.28 or later',
    `  --cert-dir DIR            the caBundle is DIR/ca.crt, else DIR/tls.crt for a self-signed one (default ${DEFAULT_CERT_DIR})`,
    '  --config FILE             the server\'s settings: exemptUsers, and for policies rules, softEndpointLimit, onRuleError,',
    '                            fixManagedBy, managedByValue',
    '  --apply                   create or update them in the cluster instead of printing them',
    '  --kubeconfig FILE         the cluster for --apply (default: $KUBECONFIG, ~/.kube/config, or in-cluster)',
    'Notes for the person (what the apiserver calls, what is left out and why) go to stderr.',
    '--apply needs get, create and update on the objects: the ClusterRole endpoint-guard-manifests-apply in',
    'deploy/base/rbac-apply.yaml, bound to whoever runs it.',
    'Exit status: 0 printed or applied, 1 the cluster refused a write, 2 usage error, unreadable certificate or',
    'unreachable cluster.',
  ].join('\n'),
  options: {
    as: { type: 'string' },
    service: { type: 'string' },
    url: { type: 'string' },
    mode: { type: 'string' },
    'kubernetes-version': { type: 'string' },
    'cert-dir': { type: 'string' },
    config: { type: 'string' },
    apply: { type: 'boolean' },
    kubeconfig: { type: 'string' },
  } as const satisfies ParseArgsOptionsConfig,
  run: (values: Values, _positionals: readonly string[], io: Io): Promise<number> => runManifests(values, io),
};

/** A route the URL may end in: the base is what comes before it. */
const ROUTE_SUFFIX = new RegExp(`(${ROUTES.map((r) => r.replace('/', '\\/')).join('|')})$`);

/**
 * --service or --url, checked: the apiserver only calls https URLs without user info, query or
 * fragment. A URL is a base, or the URL of one route (what the apiserver calls for it).
 */
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
  const base = parsed.pathname.replace(/\/+$/, '').replace(ROUTE_SUFFIX, '');
  return { url: `${parsed.origin}${base}` };
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
  const note = (text: string): void => io.stderr(`endpoint-guard manifests: ${text}`);
  const as = str('as') ?? 'webhook';
  if (!(AS as readonly string[]).includes(as)) return usage(`--as must be ${AS.join(' or ')}, not ${JSON.stringify(as)}`);
  const mode = str('mode') ?? 'complain';
  if (!(MANIFEST_MODES as readonly string[]).includes(mode)) return usage(`--mode must be ${MANIFEST_MODES.join(' or ')}, not ${JSON.stringify(mode)}`);
  const settings = loadCommandConfig(str, io.env);
  if (!settings.ok) return usage(settings.message);
  const { config, version } = settings;

  let objects: Json[];
  if (as === 'policies') {
    const webhookFlags = ['service', 'url', 'cert-dir'].filter((flag) => str(flag) !== undefined);
    if (webhookFlags.length > 0) {
      return usage(`--${webhookFlags[0]} is for the webhook registrations; admission policies run in the apiserver and need no address or certificate`);
    }
    const policies = admissionPolicies({ ...config, version, mode: mode as ManifestMode });
    if (!policies.ok) return usage(policies.message);
    for (const text of policies.notes) note(text);
    objects = policies.objects;
  } else {
    const target = targetOf(str('service'), str('url'));
    if (typeof target === 'string') return usage(target);
    const certDir = str('cert-dir') ?? DEFAULT_CERT_DIR;
    const ca = await readCaBundle(certDir, io);
    if (!ca.ok) {
      io.stderr(`endpoint-guard manifests: ${ca.message}`);
      return EXIT_USAGE;
    }
    note(`the apiserver will call ${callee(target, '/validate')} (validating) and ${callee(target, '/mutate')} (mutating)`);
    if (!appliesMatchConditions(version)) {
      note(`Kubernetes ${formatKubeVersion(version)} does not apply matchConditions (1.${MATCH_CONDITIONS_SINCE_MINOR} and later do): ` +
        "the registrations leave them out, so the apiserver also calls the webhook for the control plane's writers, " +
        'and the server exempts them itself (exemptUsers)');
    }
    objects = webhookConfigurations(target, ca.pem, mode as ManifestMode, { version, exemptUsers: config.exemptUsers });
  }
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
    const ref = objectRef(object);
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
