// `endpoint-guard certs`: a CA and a serving certificate for the in-cluster Service, written as
// the files the Deployment mounts from a Secret, plus the kubectl lines that install them. For
// clusters without cert-manager. The shape matches a command entry in cli.ts's table.
import type { ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Io } from '../io.ts';
import { configSchema } from '../config.ts';
import { DEFAULT_VALIDITY_DAYS, certificatePaths, generateCertificates, servingNames, writeCertificates } from './tls.ts';

type Values = ReturnType<typeof parseArgs>['values'];

// The same codes as cli.ts (importing them would make a cycle between the two modules).

/** What deploy/ calls the two webhook registrations; the caBundle goes into both. */
export const WEBHOOK_CONFIGURATION_NAME = 'endpoint-guard';
/** The Secret the Deployment mounts is named after the Service: SERVICE-tls. */
export const secretName = (serviceName: string): string => `${serviceName}-tls`;
/** A CA is a commitment; ten years is the most we offer to write without a second thought. */
const MAX_DAYS = 3650;
const DEFAULT_SERVICE = configSchema.shape.service.parse(undefined);

export const certsOptions = {
  out: { type: 'string' },
  service: { type: 'string' },
  days: { type: 'string' },
  force: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

export const certsCommand = {
  summary: 'write a CA and a serving certificate for the Service, and the kubectl lines to install them',
  usage: 'endpoint-guard certs --out DIR [--service NAMESPACE/NAME] [--days N] [--force]',
  help: [
    '  --out DIR                 where to write ca.crt, tls.crt and tls.key (the key with mode 0600)',
    `  --service NS/NAME         the webhook's Service; its DNS names go into the certificate (default ${DEFAULT_SERVICE})`,
    `  --days N                  validity of the CA and the certificate, 1 to ${MAX_DAYS} (default ${DEFAULT_VALIDITY_DAYS})`,
    '  --force                   replace files that already exist in DIR',
    'The CA key is not kept: to rotate, run it again and follow docs/deploying.md (the caBundle holds both CAs',
    'while the new Secret reaches the Pods).',
  ].join('\n'),
  options: certsOptions,
  run: (values: Values, _positionals: readonly string[], io: Io): Promise<number> => runCerts(values, io),
};

const daysSchema = z.coerce.number().int().min(1).max(MAX_DAYS);

export async function runCerts(values: Values, io: Io): Promise<number> {
  const fail = (code: number, message: string) => {
    io.stderr(`endpoint-guard certs: ${message}`);
    return code;
  };
  const out = values.out;
  if (typeof out !== 'string' || out === '') return fail(EXIT_USAGE, "--out DIR is required; run 'endpoint-guard certs --help'");
  const service = configSchema.shape.service.safeParse(typeof values.service === 'string' ? values.service : undefined);
  if (!service.success) return fail(EXIT_USAGE, `--service: ${service.error.issues[0]?.message ?? 'invalid'}, got ${JSON.stringify(values.service)}`);
  const days = daysSchema.safeParse(typeof values.days === 'string' ? values.days : DEFAULT_VALIDITY_DAYS);
  if (!days.success) return fail(EXIT_USAGE, `--days must be a whole number from 1 to ${MAX_DAYS}, got ${JSON.stringify(values.days)}`);

  const pems = await generateCertificates(service.data, { days: days.data, caName: 'endpoint-guard CA' });
  const written = await writeCertificates(out, pems, values.force === true);
  if (!written.ok) return fail(EXIT_FAILURE, written.message);

  io.stdout(installText(service.data, out, pems.ca, new X509Certificate(pems.cert)));
  return EXIT_OK;
}

/** What was written, and the kubectl lines that put it in the cluster, ready to paste. */
export function installText(service: string, dir: string, caPem: string, cert: X509Certificate): string {
  const [namespace = '', name = ''] = service.split('/');
  const paths = certificatePaths(dir);
  const caBundle = Buffer.from(caPem).toString('base64');
  const patch = (kind: string) =>
    `kubectl patch ${kind} ${WEBHOOK_CONFIGURATION_NAME} --type=json -p ` +
    shellQuote(JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }]));
  return [
    `wrote ${paths.ca}, ${paths.cert} and ${paths.key} (mode 0600): a CA and a certificate for ` +
      `${servingNames(service).commonName}, valid until ${cert.validToDate.toISOString()}`,
    '',
    '# The Secret the Deployment mounts (the same line updates it when you rotate):',
    `kubectl create secret tls ${secretName(name)} --namespace ${namespace} --cert=${shellQuote(paths.cert)} --key=${shellQuote(paths.key)} ` +
      '--dry-run=client -o yaml | kubectl apply -f -',
    '',
    '# The CA the apiserver verifies the webhook with, in both registrations:',
    patch('validatingwebhookconfiguration'),
    patch('mutatingwebhookconfiguration'),
  ].join('\n');
}

/** Leaves plain paths alone and single-quotes anything else for a POSIX shell. */
const shellQuote = (text: string): string =>
  /^[\w./:=@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
