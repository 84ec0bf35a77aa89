// Certificate rotation without a restart: the serving pair and the client CA. A Secret or
// ConfigMap volume is updated by the kubelet swapping a `..data` symlink, which file watchers
// often miss (the watched inode never changes), so, like controller-runtime's certwatcher, we
// poll: read the files on a ticker, compare their digest with what is in use, check changed
// contents as they were checked at start, and only then hand them to the server. Contents that do
// not load (half written, mismatched, not PEM) are logged once and what is in use is kept.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../log.ts';
import { checkServingPair, clientCaProblem, keyFileProblem } from './tls.ts';
import { messageOf } from '../errors.ts';

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export type ReloadResult = 'loaded' | 'rejected';

export interface WatchOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** The pair the server was started with; files holding the same bytes are not reloaded. */
  readonly current: CertificatePair;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Puts a checked pair in use for new connections; may throw, which counts as rejected. */
  readonly apply: (pair: CertificatePair, x509: X509Certificate) => void;
  /** Told of every changed pair seen: loaded, or rejected with the reason. */
  readonly onReload?: (result: ReloadResult) => void;
}

export interface CertificateWatcher {
  /** Reads the files now (the ticker calls this); resolves once they were compared and handled. */
  check(): Promise<void>;
  close(): void;
}

export function watchCertificates(options: WatchOptions): CertificateWatcher {
  const { certFile, keyFile } = options;
  return watchFiles<{ pair: CertificatePair; x509: X509Certificate }>({
    files: [certFile, keyFile],
    current: [options.current.cert, options.current.key],
    intervalMs: options.intervalMs,
    log: options.log,
    fields: { certFile, keyFile },
    rejected: 'certificate files changed but cannot be used; keeping the certificate in use',
    check: async ([cert = '', key = '']) => {
      const pair = checkServingPair(cert, key, { cert: certFile, key: keyFile });
      if (!pair.ok) return { problem: pair.message };
      const keyProblem = await keyFileProblem(keyFile);
      if (keyProblem !== undefined) return { problem: keyProblem };
      // The certificate in use can only be as good or better than an expired one.
      if (pair.x509.validToDate.getTime() <= Date.now()) return { problem: `${certFile} expired at ${pair.x509.validToDate.toISOString()}` };
      return { value: { pair: { cert, key }, x509: pair.x509 } };
    },
    apply: ({ pair, x509 }) => {
      options.apply(pair, x509);
      return [{ certFile, serialNumber: x509.serialNumber, validTo: x509.validToDate.toISOString() }, 'loaded new serving certificate'];
    },
    ...(options.onReload ? { onReload: options.onReload } : {}),
  });
}

export interface ClientCaWatchOptions {
  readonly file: string;
  /** The PEM the server was started with. */
  readonly current: string;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Puts a checked CA in use for new connections; may throw, which counts as rejected. */
  readonly apply: (pem: string) => void;
  readonly onReload?: (result: ReloadResult) => void;
}

/** The client CA (`clientCa`), reloaded as the serving pair is, with the checks made at start. */
export function watchClientCa(options: ClientCaWatchOptions): CertificateWatcher {
  const { file } = options;
  return watchFiles<string>({
    files: [file],
    current: [options.current],
    intervalMs: options.intervalMs,
    log: options.log,
    fields: { clientCaFile: file },
    rejected: 'client CA file changed but cannot be used; keeping the client CA in use',
    check: async ([pem = '']) => {
      const problem = clientCaProblem(pem, file);
      return problem === undefined ? { value: pem } : { problem };
    },
    apply: (pem) => {
      options.apply(pem);
      return [{ clientCaFile: file }, 'loaded new client CA'];
    },
    ...(options.onReload ? { onReload: options.onReload } : {}),
  });
}

interface FileWatch<T> {
  readonly files: readonly string[];
  /** What the files held at start. */
  readonly current: readonly string[];
  readonly intervalMs: number;
  readonly log: Logger;
  /** Names the files in every log line. */
  readonly fields: Record<string, string>;
  /** The warning logged once for contents that cannot be used. */
  readonly rejected: string;
  /** What changed contents amount to, or why they cannot be used. */
  readonly check: (contents: readonly string[]) => Promise<{ value: T } | { problem: string }>;
  /** Puts a checked value in use (may throw: rejected); returns the info line saying so. */
  readonly apply: (value: T) => [fields: object, msg: string];
  readonly onReload?: (result: ReloadResult) => void;
}

const digestOf = (contents: readonly string[]): string => {
  const hash = createHash('sha256');
  for (const text of contents) hash.update(text).update('\0');
  return hash.digest('hex');
};

function watchFiles<T>(options: FileWatch<T>): CertificateWatcher {
  const { files, log, fields, onReload } = options;
  let inUse = digestOf(options.current);
  /** The last contents rejected, so a broken Secret is logged once, not on every tick. */
  let rejected: string | undefined;
  let running: Promise<void> | undefined;

  const reject = (digest: string, reason: string) => {
    if (digest === rejected) return;
    rejected = digest;
    onReload?.('rejected');
    log.warn({ ...fields, reason }, options.rejected);
  };

  const compare = async (): Promise<void> => {
    let contents: string[];
    try {
      contents = await Promise.all(files.map((file) => readFile(file, 'utf8')));
    } catch (err) {
      // A missing file mid-swap is rejected like a broken one; the next tick reads it again.
      const reason = messageOf(err);
      reject(`unreadable:${reason}`, reason);
      return;
    }
    const digest = digestOf(contents);
    if (digest === inUse || digest === rejected) return;
    const checked = await options.check(contents);
    if ('problem' in checked) return reject(digest, checked.problem);
    let loaded: [fields: object, msg: string];
    try {
      loaded = options.apply(checked.value);
    } catch (err) {
      return reject(digest, messageOf(err));
    }
    inUse = digest;
    rejected = undefined;
    onReload?.('loaded');
    log.info(...loaded);
  };

  const check = (): Promise<void> => {
    // One read at a time: a slow disk must not stack up ticks.
    running ??= compare()
      .catch((err: unknown) => log.error({ err, ...fields }, 'checking certificate files failed'))
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref(); // the server keeps the process alive, not the watcher
  return { check, close: () => clearInterval(timer) };
}
