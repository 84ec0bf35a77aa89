// Serving certificates. In a cluster they come from a Secret (cert-manager or the `certs`
// command) mounted into certDir; for development, when certDir is empty, we make a small CA and a
// serving certificate signed by it, so a client (or the apiserver's caBundle) can verify us
// properly instead of turning verification off.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { Logger } from '../log.ts';

export const CA_FILE = 'ca.crt';
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** Development certificates; long enough not to expire during a trial, short enough to be rotated. */
const VALIDITY_DAYS = 365;
/** Issued a little in the past so a client whose clock is slightly behind still accepts them. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface CertificatePems {
  /** The development CA; give it to clients (or the webhook's caBundle). */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface ServingTls {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string | undefined;
  /** True when this call generated new files. */
  readonly generated: boolean;
}

export type TlsResult = ({ ok: true } & ServingTls) | { ok: false; message: string };

/** The names a client may use to reach us: loopback for development, the Service's DNS names in a cluster. */
export function servingNames(service: string): { commonName: string; dns: string[]; ips: string[] } {
  const [namespace, name, ...rest] = service.split('/');
  if (!namespace || !name || rest.length > 0) throw new Error(`service must be NAMESPACE/NAME, got ${JSON.stringify(service)}`);
  return {
    commonName: `${name}.${namespace}.svc`,
    dns: ['localhost', name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`],
    ips: ['127.0.0.1', '::1'],
  };
}

/**
 * A development CA and a serving certificate signed by it. Returns data and writes nothing.
 * ECDSA P-256: quick to generate, and accepted by the apiserver and every TLS client we care about.
 * The CA's private key is not returned: nothing needs it once the serving certificate is signed.
 */
export async function generateCertificates(service: string, now: Date = new Date()): Promise<CertificatePems> {
  const { commonName, dns, ips } = servingNames(service);
  const notBeforeDate = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfterDate = new Date(now.getTime() + VALIDITY_DAYS * 24 * 60 * 60 * 1000);
  const common = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate } as const;

  const ca = await generate([{ name: 'commonName', value: 'endpoint-guard development CA' }], {
    ...common,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const serving = await generate([{ name: 'commonName', value: commonName }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...dns.map((value) => ({ type: 2 as const, value })), ...ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { ca: ca.cert, cert: serving.cert, key: serving.private };
}

/**
 * Use certDir/tls.crt and tls.key (and ca.crt when present) if they exist; generate all three when
 * neither exists. Half a pair, or a pair that does not load, is an error naming the file: silently
 * replacing a certificate someone put there would break every client that trusts it.
 */
export async function ensureDevCertificates(certDir: string, service: string, log: Logger): Promise<TlsResult> {
  const paths = { ca: join(certDir, CA_FILE), cert: join(certDir, CERT_FILE), key: join(certDir, KEY_FILE) };
  let ca: string | undefined, cert: string | undefined, key: string | undefined;
  try {
    [ca, cert, key] = await Promise.all([readOptional(paths.ca), readOptional(paths.cert), readOptional(paths.key)]);
  } catch (err) {
    return { ok: false, message: errorText(err) };
  }

  if (cert !== undefined && key !== undefined) {
    const problem = checkPair(cert, key, ca, paths);
    if (problem !== undefined) return { ok: false, message: problem };
    const validTo = new X509Certificate(cert).validToDate;
    if (validTo.getTime() < Date.now()) log.warn({ file: paths.cert, validTo: validTo.toISOString() }, 'serving certificate has expired');
    log.info({ certDir }, 'using existing certificates');
    return { ok: true, cert, key, ca, generated: false };
  }
  if (cert !== undefined) {
    return { ok: false, message: `${paths.key} is missing but ${paths.cert} exists: provide both, or remove ${paths.cert} to generate new ones` };
  }
  if (key !== undefined) {
    return { ok: false, message: `${paths.cert} is missing but ${paths.key} exists: provide both, or remove ${paths.key} to generate new ones` };
  }

  const pems = await generateCertificates(service);
  try {
    await mkdir(certDir, { recursive: true });
    await writeFile(paths.ca, pems.ca);
    await writeFile(paths.cert, pems.cert);
    await writeFile(paths.key, pems.key, { mode: 0o600 });
  } catch (err) {
    return { ok: false, message: `cannot write certificates to ${certDir}: ${errorText(err)}` };
  }
  log.info({ certDir, service, ca: paths.ca }, 'generated development certificates');
  return { ok: true, ...pems, generated: true };
}

/** The file's text, or undefined when it does not exist; any other failure names the file. */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${errorText(err)}`);
  }
}

/** Loads each PEM the way the TLS server will, so a bad file is reported by name before we listen. */
function checkPair(cert: string, key: string, ca: string | undefined, paths: { ca: string; cert: string; key: string }): string | undefined {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return `${paths.cert} is not a PEM certificate: ${errorText(err)}`;
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return `${paths.key} is not a PEM private key: ${errorText(err)}`;
  }
  if (!x509.checkPrivateKey(privateKey)) return `${paths.key} does not belong to the certificate in ${paths.cert}`;
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      return `${paths.ca} is not a PEM certificate: ${errorText(err)}`;
    }
  }
  return undefined;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
