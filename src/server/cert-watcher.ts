// Serving-certificate rotation without a restart. A Secret volume is updated by the kubelet
// swapping a `..data` symlink, which file watchers often miss (the watched inode never changes),
// so, like controller-runtime's certwatcher, we poll: read both files on a ticker, compare their
// digest with the pair in use, check a changed pair, and only then hand it to the server. A pair
// that does not load (half written, mismatched, not PEM) is logged once and the old one kept.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import type { Logger } from '../log.ts';
import { checkServingPair, keyFileProblem } from './tls.ts';
import { messageOf } from '../errors.ts';

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

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
  readonly onReload?: (result: 'loaded' | 'rejected') => void;
}

export interface CertificateWatcher {
  /** Reads the files now (the ticker calls this); resolves once they were compared and handled. */
  check(): Promise<void>;
  close(): void;
}

const digestOf = (cert: string | Buffer, key: string | Buffer): string =>
  createHash('sha256').update(cert).update('\0').update(key).digest('hex');

export function watchCertificates(options: WatchOptions): CertificateWatcher {
  const { certFile, keyFile, log, apply, onReload } = options;
  let inUse = digestOf(options.current.cert, options.current.key);
  /** The last pair rejected, so a broken Secret is logged once, not on every tick. */
  let rejected: string | undefined;
  let running: Promise<void> | undefined;

  const reject = (digest: string, reason: string) => {
    if (digest === rejected) return;
    rejected = digest;
    onReload?.('rejected');
    log.warn({ certFile, keyFile, reason }, 'certificate files changed but cannot be used; keeping the certificate in use');
  };

  const compare = async (): Promise<void> => {
    let cert: string, key: string;
    try {
      [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    } catch (err) {
      // A missing file mid-swap is rejected like a broken one; the next tick reads it again.
      const reason = messageOf(err);
      reject(`unreadable:${reason}`, reason);
      return;
    }
    const digest = digestOf(cert, key);
    if (digest === inUse || digest === rejected) return;
    const pair = checkServingPair(cert, key, { cert: certFile, key: keyFile });
    if (!pair.ok) return reject(digest, pair.message);
    const keyProblem = await keyFileProblem(keyFile);
    if (keyProblem !== undefined) return reject(digest, keyProblem);
    // The certificate in use can only be as good or better than an expired one.
    if (pair.x509.validToDate.getTime() <= Date.now()) {
      return reject(digest, `${certFile} expired at ${pair.x509.validToDate.toISOString()}`);
    }
    try {
      apply({ cert, key }, pair.x509);
    } catch (err) {
      return reject(digest, messageOf(err));
    }
    inUse = digest;
    rejected = undefined;
    onReload?.('loaded');
    log.info({ certFile, serialNumber: pair.x509.serialNumber, validTo: pair.x509.validToDate.toISOString() }, 'loaded new serving certificate');
  };

  const check = (): Promise<void> => {
    // One read at a time: a slow disk must not stack up ticks.
    running ??= compare()
      .catch((err: unknown) => log.error({ err, certFile }, 'checking certificate files failed'))
      .finally(() => (running = undefined));
    return running;
  };

  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref(); // the server keeps the process alive, not the watcher
  return { check, close: () => clearInterval(timer) };
}
