// A small HTTPS client for tests: verifies the server with the CA it is given, and every request
// has a deadline, so a server that hangs fails the test instead of stalling the run.
import { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { type Agent, request } from 'node:https';
import { connect } from 'node:tls';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface RequestOptions {
  readonly ca: string;
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  /** A Buffer or string is sent with Content-Length; an array of chunks is sent chunked. */
  readonly body?: string | Buffer | readonly Buffer[];
  readonly agent?: Agent;
  readonly timeoutMs?: number;
  /** A client certificate and its key, for a server that asks for one. */
  readonly clientCert?: { readonly cert: string; readonly key: string };
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

export function httpsRequest(url: string, options: RequestOptions): Promise<Reply> {
  const { ca, method = 'GET', headers = {}, body, agent, timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, clientCert } = options;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca, headers, agent: agent ?? false, ...clientCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${url} got no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
    } else {
      for (const chunk of body) req.write(chunk); // no Content-Length: Node sends it chunked
      req.end();
    }
  });
}

/** JSON from a reply, checking the content type first; the value stays `unknown` for asserts. */
export function replyJson(reply: Reply): unknown {
  if (!reply.headers['content-type']?.startsWith('application/json')) {
    throw new Error(`expected a JSON answer, got content-type ${reply.headers['content-type']}: ${reply.text.slice(0, 200)}`);
  }
  return JSON.parse(reply.text);
}

export interface RawConnection {
  write(text: string): void;
  /** Resolves with everything the server sent once it closes the connection; rejects after timeoutMs. */
  closed(timeoutMs: number): Promise<string>;
  destroy(): void;
}

/** A verified TLS connection on which the test writes raw HTTP, to play a slow or broken client. */
export function rawTls(port: number, ca: string): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.off('error', reject);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      socket.on('error', () => {}); // a reset is one way for the server to hang up; closed() sees the close
      const closedPromise = new Promise<void>((done) => socket.once('close', () => done()));
      resolve({
        write: (text) => socket.write(text),
        closed: async (timeoutMs) => {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, fail) => {
            timer = setTimeout(() => fail(new Error(`server kept the connection open for ${timeoutMs} ms`)), timeoutMs);
          });
          try {
            await Promise.race([closedPromise, timeout]);
          } finally {
            clearTimeout(timer);
          }
          return received;
        },
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}
