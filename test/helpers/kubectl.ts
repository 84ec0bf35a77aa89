// Real kubectl against a stand-in apiserver: API discovery as a 1.24 (discovery.k8s.io/v1beta1
// served) or 1.25+ cluster (v1 only) has it, and creates answered with the Status a test chooses,
// so what kubectl itself prints (its own errors, and how it gathers the cluster's) can be compared
// with lint --format apiserver. Plain HTTP on 127.0.0.1; every kubectl run is bounded in time.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import path from 'node:path';
import type { TestContext } from 'node:test';

export interface CreateAnswer { readonly code: number; readonly body: unknown }

export interface StandInOptions {
  /** Serve discovery.k8s.io/v1beta1 EndpointSlices too, as apiservers up to 1.24 do. */
  readonly v1beta1: boolean;
  /** The answer to a create of this object; by default 201 with the object. */
  readonly answer?: (object: Record<string, unknown>) => CreateAnswer | undefined;
}

export interface KubectlRun { readonly code: number | null; readonly stdout: string; readonly stderr: string }

const KUBECTL_LIMIT_MS = 30_000;

const resource = (name: string, kind: string) => ({ name, singularName: kind.toLowerCase(), namespaced: true, kind, verbs: ['create', 'get', 'list'] });

function discovery(v1beta1: boolean): Record<string, unknown> {
  const versions = v1beta1 ? ['v1', 'v1beta1'] : ['v1'];
  const groupVersions = versions.map((v) => ({ groupVersion: `discovery.k8s.io/${v}`, version: v }));
  return {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'discovery.k8s.io', versions: groupVersions, preferredVersion: groupVersions[0] }] },
    '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [resource('endpoints', 'Endpoints'), resource('services', 'Service')] },
    ...Object.fromEntries(versions.map((v) => [`/apis/discovery.k8s.io/${v}`,
      { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `discovery.k8s.io/${v}`, resources: [resource('endpointslices', 'EndpointSlice')] }])),
  };
}

/** A stand-in apiserver and a kubectl that talks to it; closed when the test ends. */
export async function startStandIn(t: TestContext, dir: string, options: StandInOptions): Promise<(args: readonly string[], stdin?: string) => Promise<KubectlRun>> {
  const paths = discovery(options.v1beta1);
  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = (req.url ?? '').split('?')[0] ?? '';
    if (req.method !== 'POST') {
      const body = paths[url];
      if (body !== undefined) return send(res, 200, body);
      return send(res, 404, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
    }
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const object: unknown = JSON.parse(text);
      const answer = (isRecord(object) ? options.answer?.(object) : undefined) ?? { code: 201, body: object };
      send(res, answer.code, answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: stand-in',
    'clusters: [{name: stand-in, cluster: {server: "' + url + '"}}]',
    'contexts: [{name: stand-in, context: {cluster: stand-in, user: stand-in, namespace: default}}]',
    'users: [{name: stand-in, user: {}}]', '',
  ].join('\n'));
  return (args, stdin) => kubectl(['--kubeconfig', kubeconfig, ...args], dir, stdin);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function kubectl(args: readonly string[], cwd: string, stdin?: string): Promise<KubectlRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: cwd } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_LIMIT_MS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error('kubectl is not installed: these tests compare lint with what kubectl prints; install kubectl (1.27 or later)') : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}
