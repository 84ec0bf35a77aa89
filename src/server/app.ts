// The HTTPS server: health endpoints, POST /validate and POST /mutate. It reads and limits the body, parses
// JSON, and hands the value to the review function; it never looks inside a review. Every
// failure is answered with a JSON AdmissionReview, never a crash or a hang. The two admission
// routes are dispatched in the server's request listener before express (see onRequest).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { Server as NetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import express, { type ErrorRequestHandler } from 'express';
import { type ReviewContext, type ReviewOutcome, errorReview, reviewAdmission, reviewMutation } from '../admission.ts';
import type { ClusterView } from '../cluster/view.ts';
import type { Config } from '../config.ts';
import { type Logger, infoLine } from '../log.ts';
import { guardConnections, timeoutsFromConfig } from './limits.ts';
import { listen } from './listen.ts';
import type { Route, WebhookMetrics } from './metrics.ts';
import { guardReview } from './review-guard.ts';
import { type ServerTlsMaterial, tlsServerOptions } from './tls.ts';
import { messageOf } from '../errors.ts';

export interface ServerTimeouts {
  /** Time to complete the TLS handshake. */
  readonly handshakeMs: number;
  /** Time to receive a request's headers. */
  readonly headersMs: number;
  /** Time to receive the whole request, headers and body. */
  readonly requestMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveMs: number;
  /** How often Node checks headersMs and requestMs; they are only as precise as this. */
  readonly checkIntervalMs: number;
  /**
   * On close(), how long to go on serving first: /readyz says 503 and every answer closes its
   * connection, while the Pod is taken out of the Service's endpoints everywhere.
   */
  readonly shutdownDelayMs: number;
  /** On close(), once the listener is closed, how long in-flight requests get before their connections are cut. */
  readonly shutdownGraceMs: number;
  /**
   * After an answer sent before the whole body arrived (413, a wrong content type), how long the
   * server goes on reading and discarding the rest before it closes the connection.
   */
  readonly earlyAnswerLingerMs: number;
}

/** The timeouts that are not settings; the others come from Config (see config.ts for why those values). */
export const DEFAULT_TIMEOUTS: Pick<ServerTimeouts, 'checkIntervalMs' | 'shutdownDelayMs' | 'shutdownGraceMs' | 'earlyAnswerLingerMs'> = {
  checkIntervalMs: 1_000,
  shutdownDelayMs: 0,
  shutdownGraceMs: 10_000,
  // Twice Go's rstAvoidanceDelay (500 ms): time enough for a client to read the answer, and to
  // send a body of a few times maxBodyBytes on a slow link.
  earlyAnswerLingerMs: 1_000,
};

export interface WebhookServerOptions {
  readonly config: Config;
  readonly log: Logger;
  readonly tls: ServerTlsMaterial;
  readonly timeouts?: Partial<ServerTimeouts>;
  /** The review functions of /validate and /mutate; tests substitute ones that throw. */
  readonly review?: ReviewFunction;
  readonly mutate?: ReviewFunction;
  /** The cluster cache, when there is cluster access: namespace modes and Services. */
  readonly cluster?: ClusterView | undefined;
  /** Why the server is not ready yet (e.g. the cluster cache has not synced), or undefined when it is. */
  readonly notReady?: () => string | undefined;
  /** Counts every answered review; the only place metrics are fed from. */
  readonly metrics?: WebhookMetrics;
}

type ReviewFunction = (input: unknown, config: Config, context?: ReviewContext) => ReviewOutcome;

export interface WebhookServer {
  readonly url: string;
  readonly port: number;
  /** Serves this pair to new connections; connections already open keep theirs. Throws on a bad pair. */
  setCertificate(pair: { readonly cert: string | Buffer; readonly key: string | Buffer }): void;
  /** Asks new connections for client certificates signed by this CA (with clientCa set at start). Throws on a bad PEM. */
  setClientCa(pem: string): void;
  /**
   * Graceful stop: /readyz turns 503 and every answer closes its connection; after
   * shutdownDelayMs the listener closes; requests in flight finish (up to shutdownGraceMs); then
   * it resolves. Calling it again returns the same promise.
   */
  close(): Promise<void>;
}


export async function createWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { config, log } = options;
  const timeouts: ServerTimeouts = { ...DEFAULT_TIMEOUTS, ...timeoutsFromConfig(config), ...options.timeouts };
  let closing = false;
  /** Responses not yet sent; on close() they are told to close their connection afterwards. */
  const inFlight = new Set<ServerResponse>();
  // Node's own server.close() also closes every connection that has not sent a request yet,
  // including one that was accepted a moment ago and whose request is on the wire: under load
  // that client sees a reset for a request it had every right to send. So we track connections
  // ourselves and close, as Go's http.Server.Shutdown does, only those idle after an answer (and
  // new ones that stay silent for the time a client gets to send its headers).
  const connections = new Map<Socket, { readonly since: number; requests: number; active: number }>();
  /** Every request, as it arrives: one listener keeps both records. */
  const track = (req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    const state = connections.get(req.socket);
    if (state !== undefined) {
      state.requests += 1;
      state.active += 1;
    }
    res.on('close', () => {
      inFlight.delete(res);
      if (state !== undefined) state.active -= 1;
    });
    // Once shutting down, every answer ends its connection, so close() is not held up by keep-alive.
    if (closing) res.setHeader('Connection', 'close');
  };

  const failed = (err: unknown, method: string | undefined, path: string, res: ServerResponse) => {
    log.error({ err, method, path }, 'request failed');
    if (res.headersSent) {
      res.destroy(); // half an answer is worse than none: the client sees a failed call
      return;
    }
    sendJson(res, 500, errorReview(500, `internal error: ${messageOf(err)}`));
  };

  /** The two admission routes: read the body once, parse it once, hand it to the review function. */
  const context: ReviewContext = { cluster: options.cluster };
  const admissionRoute = (route: Route, review: ReviewFunction) =>
    async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
      const started = performance.now();
      const answer = (code: number, message: string) => {
        answerBeforeBody(req, res, code, errorReview(code, message), { maxBytes: DISCARD_FACTOR * config.maxBodyBytes, maxMs: timeouts.earlyAnswerLingerMs });
        const durationMs = elapsed(started);
        options.metrics?.observeReview(route, { mode: config.mode, decision: 'bad-request', findings: {} }, durationMs / 1000);
        log.warn({ path, status: code, reason: message, durationMs }, 'bad request');
      };

      const contentType = req.headers['content-type'];
      if (!isJsonContentType(contentType)) {
        return answer(400, `contentType=${contentType ?? '(none)'}, expected application/json`);
      }
      const body = await readBody(req, res, config.maxBodyBytes);
      if (!body.ok) return answer(body.status, body.message);
      if (body.bytes.length === 0) return answer(400, 'request body is empty, expected an AdmissionReview');
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.bytes.toString('utf8'));
      } catch (err) {
        return answer(400, `request body is not JSON: ${messageOf(err)}`);
      }
      // The review holds the body to maxJsonDepth as it reads it (see depth.ts).
      const outcome = review(parsed, config, context);
      sendJson(res, outcome.httpStatus, outcome.body);
      const durationMs = elapsed(started);
      options.metrics?.observeReview(route, outcome.log, durationMs / 1000);
      const fields = { path, ...outcome.log, status: outcome.httpStatus, durationMs };
      // The body can hold a whole object; only debug logging may show it, and only a body the review
      // could use (a 400 may be one nested too deep to print).
      if (outcome.httpStatus === 200 && log.isLevelEnabled('debug')) log.info({ ...fields, request: parsed }, 'review');
      else infoLine(log, fields, 'review');
    };
  const admissionRoutes: Readonly<Record<string, ReturnType<typeof admissionRoute>>> = {
    '/validate': admissionRoute('validate', guardReview('validate', options.review ?? reviewAdmission, log, options.metrics)),
    '/mutate': admissionRoute('mutate', guardReview('mutate', options.mutate ?? reviewMutation, log, options.metrics)),
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // answers are never cached; hashing a large review answer is wasted work

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const reason = closing ? 'shutting down' : options.notReady?.();
    res.status(reason === undefined ? 200 : 503).type('text/plain').send(reason ?? 'ok');
  });

  // Reached only by spellings express also routes here (/Validate, /validate/); see onRequest.
  for (const [path, handle] of Object.entries(admissionRoutes)) app.post(path, (req, res) => handle(req, res, req.path));

  app.all(['/validate', '/mutate'], (req, res) => {
    res.setHeader('Allow', 'POST');
    sendJson(res, 405, errorReview(405, `method ${req.method} is not allowed on ${req.path}, use POST`));
  });

  app.use((req, res) => {
    sendJson(res, 404, errorReview(404, `no route for ${req.method} ${req.path}; routes: POST /validate, POST /mutate, GET /healthz, GET /readyz`));
  });

  const onError: ErrorRequestHandler = (err, req, res, _next) => failed(err, req.method, req.path, res);
  app.use(onError);

  // POST /validate and POST /mutate, nearly every request the server gets, are answered here
  // without express: its routing and request/response decoration cost more than the review of a
  // small object. Same limits, answers, logs, metrics and shutdown handling as through express,
  // which keeps everything else (health, readiness, 404, 405, errors).
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    track(req, res);
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query < 0 ? url : url.slice(0, query);
    const handle = req.method === 'POST' && Object.hasOwn(admissionRoutes, path) ? admissionRoutes[path] : undefined;
    if (handle === undefined) {
      if (expectsContinue(req)) res.writeContinue(); // what Node does without a checkContinue listener
      app(req, res);
      return;
    }
    handle(req, res, path).catch((err: unknown) => failed(err, req.method, path, res));
  };

  const server = createServer(
    {
      ...tlsServerOptions(options.tls),
      handshakeTimeout: timeouts.handshakeMs,
      headersTimeout: timeouts.headersMs,
      requestTimeout: timeouts.requestMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    onRequest,
  );
  // With this listener Node no longer sends 100 Continue itself: an admission route sends it
  // when it reads the body, onRequest for anything else. Every 'request' listener still sees it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
  guardConnections(server, config, log, options.metrics);
  // A failed handshake (a port scanner, a plain-HTTP probe) is the client's problem, not ours.
  server.on('tlsClientError', (err) => log.debug({ err: messageOf(err) }, 'TLS handshake failed'));

  const { port, urlHost } = await listen(server, config.port, config.host);
  server.on('error', (err) => log.error({ err }, 'server error'));
  const url = `https://${urlHost}:${port}`;

  server.on('secureConnection', (socket: Socket) => {
    connections.set(socket, { since: performance.now(), requests: 0, active: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  const closeIdleConnections = () => {
    const now = performance.now();
    for (const [socket, state] of connections) {
      if (state.active > 0) continue;
      if (state.requests > 0 || now - state.since > timeouts.headersMs) socket.destroySoon();
    }
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      closing = true;
      // Answers not yet written say Connection: close, so their sockets end after the answer.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      closeIdleConnections();
      const stopListening = () => {
        // net.Server's close stops accepting and waits for open connections, without https's
        // extra step of closing those that have not sent a request yet (see above).
        const grace = setTimeout(() => server.closeAllConnections(), timeouts.shutdownGraceMs);
        const sweep = setInterval(closeIdleConnections, SHUTDOWN_SWEEP_MS);
        NetServer.prototype.close.call(server, () => {
          clearTimeout(grace);
          clearInterval(sweep);
          resolve();
        });
        closeIdleConnections();
      };
      if (timeouts.shutdownDelayMs > 0) setTimeout(stopListening, timeouts.shutdownDelayMs);
      else stopListening();
    });
    return closed;
  };

  // A new secure context replaces the whole old one: each change keeps the rest of what is in use.
  let material = options.tls;
  const setTls = (next: ServerTlsMaterial) => {
    server.setSecureContext(tlsServerOptions(next));
    material = next;
  };
  const setCertificate: WebhookServer['setCertificate'] = (pair) => setTls({ ...material, cert: pair.cert, key: pair.key });
  const setClientCa: WebhookServer['setClientCa'] = (pem) => setTls({ ...material, clientCa: pem });

  return { url, port, setCertificate, setClientCa, close };
}

/** While draining, how often connections gone idle are looked for. */
const SHUTDOWN_SWEEP_MS = 100;

/** What express's res.status(status).json(body) sends, for both ways in. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.end(jsonHead(res, status, body));
}

/** Sets the status and headers of a JSON answer; returns its text. */
function jsonHead(res: ServerResponse, status: number, body: unknown): string {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  return json;
}

/**
 * How much of a refused body the server reads and discards after its answer, in multiples of
 * maxBodyBytes: a client sending up to five times the limit gets to the end of its request.
 */
const DISCARD_FACTOR = 4;

/**
 * Answers a request whose body has not all arrived (refused by its headers, or over the limit).
 * Closing the connection at once would reset it: a close with unread data sends an RST, and a
 * client still writing its body gets EPIPE or ECONNRESET, often before it has read the answer.
 * So, as Go's net/http does, the answer says `Connection: close` and the connection stays open a
 * little: what still arrives is read and discarded, up to `maxBytes` and for at most `maxMs`,
 * then it closes. A client that finishes its body within that sees a clean close; one that goes
 * on has had the answer since the start.
 */
function answerBeforeBody(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, bounds: { maxBytes: number; maxMs: number }): void {
  res.setHeader('Connection', 'close');
  res.write(jsonHead(res, status, body)); // whole, by its Content-Length; ending the answer closes the connection
  let discarded = 0;
  const close = () => {
    clearTimeout(timer);
    req.off('data', onData);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bounds.maxBytes) close();
  };
  const timer = setTimeout(close, bounds.maxMs);
  res.once('close', () => clearTimeout(timer));
  // The rest of a chunked body may have been read, and ended, before this answer.
  if (req.readableEnded) return close();
  req.on('data', onData);
  req.once('end', close);
}

const expectsContinue = (req: IncomingMessage): boolean => req.headers.expect?.toLowerCase() === '100-continue';

const elapsed = (started: number): number => Math.round((performance.now() - started) * 100) / 100;

function isJsonContentType(header: string | undefined): boolean {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

type BodyResult = { ok: true; bytes: Buffer } | { ok: false; status: 400 | 413; message: string };

/**
 * Reads the whole body once, up to `limit` bytes. A declared Content-Length over the limit is
 * refused before reading; a chunked body is refused as soon as it passes the limit.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<BodyResult> {
  const tooLarge = (size: string): BodyResult =>
    ({ ok: false, status: 413, message: `request body is ${size}, larger than the limit of ${limit} bytes (maxBodyBytes)` });
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) return Promise.resolve(tooLarge(`${declared} bytes`));
  // As Go's server does, 100 Continue goes out only once the body is read: a body refused by its
  // headers is never invited.
  if (expectsContinue(req)) res.writeContinue();

  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (result: BodyResult) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAborted);
      req.off('close', onAborted);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) finish(tooLarge(`over ${received} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, bytes: Buffer.concat(chunks, received) });
    // The client went away mid-body; nobody will read the answer, but the handler still ends.
    const onAborted = () => finish({ ok: false, status: 400, message: 'request body was not fully received' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('close', onAborted);
  });
}
