// Serving certificates. In a cluster they come from a Secret (cert-manager or the `certs`
// command) mounted into certDir; for development, when certDir is empty, we make a small CA and a
// serving certificate signed by it, so a client (or the apiserver's caBundle) can verify us
// properly instead of turning verification off.
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsOptions } from 'node:tls';
import type { Logger } from '../log.ts';
import { fsReason, messageOf } from '../errors.ts';

export const CA_FILE = 'ca.crt';
export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

/** Development certificates; long enough not to expire during a trial, short enough to be rotated. */
export const DEFAULT_VALIDITY_DAYS = 365;
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

export interface GenerateOptions {
  readonly now?: Date;
  /** Validity of the CA and the serving certificate alike. */
  readonly days?: number;
  /** The CA's common name; it shows in `openssl x509 -text` and in TLS errors. */
  readonly caName?: string;
}

/**
 * A CA and a serving certificate signed by it. Returns data and writes nothing.
 * ECDSA P-256: quick to generate, and accepted by the apiserver and every TLS client we care about.
 * The CA's private key is not returned: nothing needs it once the serving certificate is signed,
 * and a key that does not exist cannot leak. Rotating means a new CA too (docs/deploying.md).
 */
export async function generateCertificates(service: string, options: GenerateOptions = {}): Promise<CertificatePems> {
  const { now = new Date(), days = DEFAULT_VALIDITY_DAYS, caName = 'endpoint-guard development CA' } = options;
  const { commonName, dns, ips } = servingNames(service);
  const notBeforeDate = new Date(now.getTime() - CLOCK_SKEW_MS);
  const notAfterDate = new Date(now.getTime() + days * 24 * 60 * 60 * 1000);
  const common = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate } as const;
  // Loaded here, not on import: a server whose certificates exist (every Pod) never needs it,
  // and it holds about 15 MiB once loaded.
  const { generate } = await import('selfsigned');

  // Each CA gets a name of its own: while a Secret rotates, the caBundle holds the old and the new
  // CA, and OpenSSL-based clients pick an issuer by name (these certificates carry no key ids).
  const ca = await generate([{ name: 'commonName', value: `${caName} ${randomBytes(4).toString('hex')}` }], {
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

/** The three files a certificate directory holds, by role. */
export const certificatePaths = (dir: string) => ({ ca: join(dir, CA_FILE), cert: join(dir, CERT_FILE), key: join(dir, KEY_FILE) });

/**
 * Writes ca.crt, tls.crt and tls.key (the key 0600) into `dir`, creating it. With `overwrite`
 * false, an existing file is an error naming it, and nothing is written.
 */
export async function writeCertificates(dir: string, pems: CertificatePems, overwrite: boolean): Promise<{ ok: true } | { ok: false; message: string }> {
  const paths = certificatePaths(dir);
  try {
    await mkdir(dir, { recursive: true });
    const flag = overwrite ? 'w' : 'wx'; // wx: fail with EEXIST instead of replacing
    if (!overwrite) {
      for (const path of Object.values(paths)) {
        if (await readOptional(path) !== undefined) return { ok: false, message: `${path} already exists; remove it, or pass --force to replace it` };
      }
    }
    await writeFile(paths.ca, pems.ca, { flag });
    await writeFile(paths.cert, pems.cert, { flag });
    await writeFile(paths.key, pems.key, { flag, mode: 0o600 });
    if (overwrite) await chmod(paths.key, 0o600); // mode only applies to a file writeFile creates
  } catch (err) {
    return { ok: false, message: `cannot write certificates to ${dir}: ${messageOf(err)}` };
  }
  return { ok: true };
}

/**
 * Use certDir/tls.crt and tls.key (and ca.crt when present) if they exist; generate all three when
 * neither exists. Half a pair, or a pair that does not load, is an error naming the file: silently
 * replacing a certificate someone put there would break every client that trusts it.
 */
export async function ensureDevCertificates(certDir: string, service: string, log: Logger): Promise<TlsResult> {
  const paths = certificatePaths(certDir);
  let ca: string | undefined, cert: string | undefined, key: string | undefined;
  try {
    [ca, cert, key] = await Promise.all([readOptional(paths.ca), readOptional(paths.cert), readOptional(paths.key)]);
  } catch (err) {
    return { ok: false, message: messageOf(err) };
  }

  if (cert !== undefined && key !== undefined) {
    const problem = checkPair(cert, key, ca, paths) ?? await keyFileProblem(paths.key);
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
  const written = await writeCertificates(certDir, pems, true);
  if (!written.ok) return written;
  log.info({ certDir, service, ca: paths.ca }, 'generated development certificates');
  return { ok: true, ...pems, generated: true };
}

/**
 * TLS 1.3, and TLS 1.2 with forward-secret AEAD suites only: no CBC, no RSA key exchange. Go's
 * TLS client (the apiserver's) offers all of these; every client made since 2015 offers some.
 */
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface ServerTlsMaterial {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** PEM CA(s) client certificates must be signed by; none: no client certificate is asked for. */
  readonly clientCa?: string | undefined;
}

/**
 * The TLS settings of the webhook's server, for createServer and for setSecureContext alike: a
 * new secure context replaces the whole old one, so a reloaded certificate keeps these.
 */
export function tlsServerOptions(tls: ServerTlsMaterial): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    honorCipherOrder: true,
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}

/** The clientCa file, checked to hold a certificate, or a message naming the file. */
export async function readClientCa(path: string): Promise<{ ok: true; pem: string } | { ok: false; message: string }> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, message: `clientCa: cannot read ${path}: ${fsReason(err)}` };
  }
  const problem = clientCaProblem(pem, path);
  return problem === undefined ? { ok: true, pem } : { ok: false, message: problem };
}

/** Why the text of the clientCa file cannot be used, or undefined: at start and on every reload. */
export function clientCaProblem(pem: string, path: string): string | undefined {
  try {
    new X509Certificate(pem);
  } catch (err) {
    return `clientCa: ${path} is not a PEM certificate: ${messageOf(err)}`;
  }
  return undefined;
}

/**
 * Why the private key file is unsafe, or undefined. A key other users can read or write is
 * refused; the group may read it, as a Secret volume with defaultMode 0440 and fsGroup has it.
 */
export async function keyFileProblem(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (err) {
    return `cannot check the permissions of ${path}: ${messageOf(err)}`;
  }
  if ((mode & 0o007) === 0) return undefined;
  return `${path} is a private key that any user can read or write (mode ${mode.toString(8).padStart(4, '0')}): ` +
    `run chmod 600 ${path}, or for a Kubernetes Secret volume set defaultMode: 0440 with the Pod's securityContext.fsGroup (as deploy/ does)`;
}

/** The file's text, or undefined when it does not exist; any other failure names the file. */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
    if (code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${messageOf(err)}`);
  }
}

/** A certificate and key that belong together, as the TLS server will load them. */
export type PairResult = { ok: true; x509: X509Certificate } | { ok: false; message: string };

/** Loads each PEM the way the TLS server will, so a bad file is reported by name before it is used. */
export function checkServingPair(cert: string | Buffer, key: string | Buffer, names: { cert: string; key: string }): PairResult {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { ok: false, message: `${names.cert} is not a PEM certificate: ${messageOf(err)}` };
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    return { ok: false, message: `${names.key} is not a PEM private key: ${messageOf(err)}` };
  }
  if (!x509.checkPrivateKey(privateKey)) return { ok: false, message: `${names.key} does not belong to the certificate in ${names.cert}` };
  return { ok: true, x509 };
}

function checkPair(cert: string, key: string, ca: string | undefined, paths: { ca: string; cert: string; key: string }): string | undefined {
  const pair = checkServingPair(cert, key, paths);
  if (!pair.ok) return pair.message;
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      return `${paths.ca} is not a PEM certificate: ${messageOf(err)}`;
    }
  }
  return undefined;
}

