// What a client can make the server spend, each bound set in Config: how many connections are
// open and how long a client may take (how deep a body may nest: see depth.ts). A client over a
// limit gets a 4xx JSON answer or a closed connection, and every connection closed this way is counted.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { errorReview } from '../admission.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { WebhookMetrics } from './metrics.ts';

/** The server's timeouts in milliseconds, from the *TimeoutSeconds settings. */
export const timeoutsFromConfig = (config: Config) => ({
  handshakeMs: Math.round(config.handshakeTimeoutSeconds * 1000),
  headersMs: Math.round(config.headersTimeoutSeconds * 1000),
  requestMs: Math.round(config.requestTimeoutSeconds * 1000),
  keepAliveMs: Math.round(config.keepAliveTimeoutSeconds * 1000),
});

/** Why a connection was closed before it was served. */
export type DropReason = 'max-connections' | 'handshake-timeout' | 'tls-error' | 'request-timeout' | 'bad-http';
export const DROP_REASONS: readonly DropReason[] = ['max-connections', 'handshake-timeout', 'tls-error', 'request-timeout', 'bad-http'];

/**
 * Applies maxConnections and counts every connection closed by a limit. Node answers a request
 * that missed headersTimeout or requestTimeout (and malformed HTTP) through 'clientError'; with a
 * listener the answer is ours to write, so it is the same JSON error every other refusal gets.
 */
export function guardConnections(server: Server, config: Config, log: Logger, metrics: WebhookMetrics | undefined): void {
  server.maxConnections = config.maxConnections;
  const dropped = (reason: DropReason, detail: Record<string, unknown>) => {
    metrics?.connectionDropped(reason);
    // A flood would log a line per connection: the metric is the signal, the lines are for debugging.
    log.debug({ reason, ...detail }, 'connection dropped');
  };
  server.on('drop', (data) => dropped('max-connections', { remoteAddress: data?.remoteAddress, maxConnections: config.maxConnections }));
  server.on('tlsClientError', (err: NodeJS.ErrnoException) =>
    dropped(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'handshake-timeout' : 'tls-error', { code: err.code }));

  /** The response in progress on each connection: a client error must not write into its middle. */
  const answering = new WeakMap<Duplex, ServerResponse>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    answering.set(req.socket, res);
    res.once('finish', () => answering.get(req.socket) === res && answering.delete(req.socket));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const answer = clientErrorAnswer(err, config);
    // Anything else is a connection already broken: a reset, or a TLS error counted above.
    if (answer !== undefined) {
      dropped(answer.reason, { code: err.code });
      if (socket.writable && answering.get(socket)?.headersSent !== true) socket.write(rawJsonResponse(answer.status, answer.message));
    }
    socket.destroy();
  });
}

/** What a client gets for a request that missed its timeouts or is not HTTP; undefined for other errors. */
function clientErrorAnswer(err: NodeJS.ErrnoException, config: Config): { reason: DropReason; status: number; message: string } | undefined {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      reason: 'request-timeout', status: 408,
      message: `request not received in time: headers within ${config.headersTimeoutSeconds} s (headersTimeoutSeconds), ` +
        `the whole request within ${config.requestTimeoutSeconds} s (requestTimeoutSeconds)`,
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') return { reason: 'bad-http', status: 431, message: 'request headers are too large' };
  if (err.code?.startsWith('HPE_')) return { reason: 'bad-http', status: 400, message: `malformed HTTP request (${err.code})` };
  return undefined;
}

/** A whole HTTP response carrying the JSON error every refusal gets, for a socket without a ServerResponse. */
function rawJsonResponse(status: number, message: string): string {
  const text = JSON.stringify(errorReview(status, message));
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
}
