// The one place the cluster is reached: loading a kubeconfig, and raw JSON requests with its
// credentials. Raw JSON on purpose: the rules read objects exactly as the apiserver stores them,
// not as client-node's generated models reshape them (dates, unknown fields).
// client-node is loaded on first use: importing it costs about 90 MiB of memory and a third of a
// second, which lint, convert and a webhook without cluster access need not pay.
import { existsSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { messageOf } from '../errors.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type KubeConfigResult =
  | { ok: true; kc: KubeConfig; source: string }
  | { ok: true; kc: undefined }
  | { ok: false; message: string };

export interface KubeConfigOptions {
  /** A kubeconfig file given with --kubeconfig; it wins over everything else. */
  readonly file?: string | undefined;
  /**
   * Without a file: 'in-cluster' uses the Pod's service account when there is one (serve: no
   * cluster otherwise); 'default' looks where kubectl does ($KUBECONFIG, ~/.kube/config, in-cluster).
   */
  readonly fallback: 'in-cluster' | 'default';
  readonly env?: NodeJS.ProcessEnv;
}

const inCluster = (env: NodeJS.ProcessEnv): boolean => Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(SERVICE_ACCOUNT_TOKEN);


export async function loadKubeConfig(options: KubeConfigOptions): Promise<KubeConfigResult> {
  const { file, fallback, env = process.env } = options;
  if (file === undefined && fallback === 'in-cluster' && !inCluster(env)) return { ok: true, kc: undefined };
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  let source: string;
  try {
    if (file !== undefined) {
      kc.loadFromFile(file);
      source = file;
    } else if (fallback === 'in-cluster') {
      kc.loadFromCluster();
      source = 'in-cluster service account';
    } else {
      kc.loadFromDefault();
      source = env.KUBECONFIG || 'the default kubeconfig';
    }
  } catch (err) {
    return {
      ok: false,
      message: file !== undefined ? `cannot load kubeconfig ${file}: ${messageOf(err)}`
        : `cannot load a kubeconfig: ${messageOf(err)}; pass --kubeconfig FILE or set KUBECONFIG`,
    };
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) {
    return { ok: false, message: `kubeconfig ${source} has no current cluster; set current-context, or pass --kubeconfig FILE` };
  }
  return { ok: true, kc, source };
}

export class KubeError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH';

export interface KubeRequestOptions {
  readonly signal?: AbortSignal | undefined;
  /** The body's media type (default application/json; server-side apply sends application/apply-patch+yaml). */
  readonly contentType?: string | undefined;
}

/** A successful answer whose body is not read yet: a list can be read as it arrives. */
export interface KubeResponse {
  readonly status: number;
  readonly body: AsyncIterable<Uint8Array>;
  text(): Promise<string>;
}

/**
 * One request to the apiserver with the kubeconfig's credentials; the response once its status
 * says success, or a KubeError carrying the status and the apiserver's own message. undici's
 * request, not fetch: its body holds back the connection while the reader is busy (64 KiB
 * buffered), where fetch's body takes in a whole 12 MB page of a list meanwhile.
 */
export async function kubeResponse(kc: KubeConfig, method: KubeMethod, path: string, body?: unknown, options: KubeRequestOptions = {}): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new KubeError(0, 'kubeconfig has no current cluster');
  const url = cluster.server.replace(/\/+$/, '') + path;
  const [{ HttpMethod, RequestContext }, { request }] = await Promise.all([import('@kubernetes/client-node'), import('undici')]);
  const ctx = new RequestContext(url, HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  let response;
  try {
    response = await request(url, {
      method,
      headers,
      dispatcher: ctx.getDispatcher(),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new KubeError(0, `${method} ${url} failed: ${messageOf(err)}${cause}`);
  }
  const status = response.statusCode;
  if (status < 200 || status > 299) {
    const text = await response.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const message = typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string' ? json.message : text.slice(0, 200);
    throw new KubeError(status, `${method} ${path}: HTTP ${status}: ${message}`);
  }
  return { status, body: response.body, text: () => response.body.text() };
}

/** One request to the apiserver; the JSON answer (see kubeResponse). */
export async function kubeRequest(kc: KubeConfig, method: KubeMethod, path: string, body?: unknown, signal?: AbortSignal, contentType?: string): Promise<unknown> {
  const response = await kubeResponse(kc, method, path, body, { signal, contentType });
  const text = await response.text();
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new KubeError(response.status, `${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
  }
}
