// The benchmark's load generator: keep-alive TLS connections that verify the server's certificate
// against the CA, each sending one prepared POST, reading the answer, and sending the next, for a
// bounded time and count. It is this plain so that the client costs less CPU per request than the
// server it measures: Node's https client cost more than a bare server and could not saturate it,
// and autocannon turns certificate verification off (it connects with rejectUnauthorized: false).
import { connect } from 'node:tls';

export interface LoadOptions {
  readonly url: string;
  readonly ca: Buffer;
  readonly body: string;
  readonly connections: number;
  readonly seconds: number;
  readonly maxRequests: number;
}

export interface LoadResult {
  readonly requests: number;
  /** Answers other than 200, and connections that failed or were closed by the server. */
  readonly errors: number;
  /** What the first failed connection said (a certificate that does not verify, a reset). */
  readonly firstError?: string | undefined;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Reconnections after a failure, per connection: a server that keeps failing ends the round instead of spinning. */
const MAX_RECONNECTS = 100;
const ANSWER_TIMEOUT_MS = 10_000;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  const body = Buffer.from(options.body);
  const request = Buffer.concat([
    Buffer.from(`POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
  ]);
  const latencies = new Float64Array(options.maxRequests);
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const more = () => performance.now() < deadline && requests < options.maxRequests;

  /** One connection: request, answer, next request, until the deadline; resolves once closed, true if it failed. */
  const connection = () => new Promise<boolean>((resolve) => {
    const socket = connect({ host: target.hostname, port: Number(target.port), ca: options.ca });
    let received: Buffer = Buffer.alloc(0);
    let answerEnd = -1;
    let status = 0;
    let sentAt = 0;
    let done = false;
    const send = () => {
      sentAt = performance.now();
      socket.write(request);
    };
    socket.setTimeout(ANSWER_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    socket.once('secureConnect', send);
    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      for (;;) {
        if (answerEnd < 0) {
          const headEnd = received.indexOf(HEAD_END);
          if (headEnd < 0) return;
          const head = received.toString('latin1', 0, headEnd);
          const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
          if (length === undefined) {
            socket.destroy(new Error(`an answer without Content-Length: ${head.split('\r\n')[0]}`));
            return;
          }
          status = Number(head.slice(9, 12));
          answerEnd = headEnd + HEAD_END.length + Number(length);
        }
        if (received.length < answerEnd) return;
        if (requests < latencies.length) latencies[requests] = performance.now() - sentAt;
        requests += 1;
        if (status !== 200) errors += 1;
        received = received.subarray(answerEnd);
        answerEnd = -1;
        if (more()) send();
        else {
          done = true;
          socket.end();
        }
      }
    });
    socket.on('error', (err) => (firstError ??= err.message));
    socket.once('close', () => {
      if (!done) errors += 1;
      resolve(!done);
    });
  });

  await Promise.all(Array.from({ length: options.connections }, async () => {
    for (let reconnects = 0; reconnects <= MAX_RECONNECTS && more(); reconnects++) {
      const failed = await connection();
      if (!failed) return;
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.subarray(0, Math.min(requests, latencies.length)).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { requests, errors, firstError, seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}
