// Bounded load on loopback: a few workers send requests one after another until a request
// budget, a time budget or a stop signal runs out, whichever comes first. Every request has its
// own deadline, and each result says whether the TLS handshake completed, so a test can tell a
// request the server accepted from a connection it refused.
import { type Agent, request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export type Attempt =
  | { readonly ok: true; readonly status: number; readonly text: string; readonly fingerprint: string; readonly startedAt: number; readonly endedAt: number }
  | {
    readonly ok: false; readonly error: string; readonly code: string | undefined; readonly secured: boolean;
    readonly startedAt: number; readonly endedAt: number;
  };

export interface PostOptions {
  readonly ca: string | readonly string[];
  readonly body: string;
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

/** One POST; never rejects. `secured` tells whether a TLS session was up when it failed. */
export function attemptPost(url: string, options: PostOptions): Promise<Attempt> {
  const { ca, body, agent, timeoutMs = 5_000 } = options;
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let secured = false;
    const req = request(url, {
      method: 'POST', ca: [ca].flat(), agent: agent ?? false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      const socket = res.socket as TLSSocket;
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ ok: true, status: res.statusCode ?? 0, text, fingerprint, startedAt, endedAt: performance.now() });
      });
      res.on('error', fail);
    });
    const fail = (err: Error) => {
      clearTimeout(timer);
      const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
      resolve({ ok: false, error: err.message, code, secured, startedAt, endedAt: performance.now() });
    };
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('socket', (socket: TLSSocket) => {
      // A reused keep-alive socket is already secured; a new one says so once its handshake is done.
      if (!socket.connecting && socket.authorized) secured = true;
      else socket.once('secureConnect', () => (secured = true));
    });
    req.on('error', fail);
    req.end(body);
  });
}

export interface LoadOptions {
  readonly workers: number;
  /** Requests in all, across workers. */
  readonly maxRequests: number;
  /** Wall-clock budget; no request starts after it. */
  readonly maxMs: number;
  /** Checked before each request; true ends the load early. */
  readonly stop?: () => boolean;
  /** One request; `n` counts from 0 across workers. */
  readonly send: (n: number, worker: number) => Promise<Attempt>;
  /** A worker stops after a result for which this is true (e.g. a refused connection). */
  readonly workerDone?: (attempt: Attempt) => boolean;
}

export async function runLoad(options: LoadOptions): Promise<Attempt[]> {
  const results: Attempt[] = [];
  const deadline = performance.now() + options.maxMs;
  let next = 0;
  const worker = async (id: number) => {
    while (next < options.maxRequests && performance.now() < deadline && !(options.stop?.() ?? false)) {
      const attempt = await options.send(next++, id);
      results.push(attempt);
      if (options.workerDone?.(attempt)) return;
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, id) => worker(id)));
  return results;
}
