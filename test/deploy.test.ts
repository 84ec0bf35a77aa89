// deploy/: every overlay resolves as kustomize builds it, every object passes the Kubernetes schemas, and
// the pieces agree with each other and with the server: routes, ports, exemptions, the Secret,
// the settings in the environment, the failure policy that goes with each mode, and the Pod's
// hardening.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { envName, loadConfig } from '../src/config-load.ts';
import { type Config, DEFAULT_EXEMPT_USERS, configSchema } from '../src/config.ts';
import { AUDIT_RESOURCES } from '../src/cluster/audit.ts';
import { admissionPolicies } from '../src/policies/policies.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { DEFAULT_TIMEOUTS } from '../src/server/app.ts';
import { WEBHOOK_CONFIGURATION_NAME, secretName } from '../src/server/certs-command.ts';
import { keyFileProblem, servingNames } from '../src/server/tls.ts';
import { type Manifest, kustomizeBuild, renderDocsOverlay, schemaProblems } from './helpers/manifests.ts';
import { tempDir } from './helpers/temp.ts';

// The shapes read below; the manifests have passed the schemas, so these views are safe to take.
interface Webhook {
  name: string; sideEffects: string; reinvocationPolicy?: string; admissionReviewVersions: string[]; failurePolicy: string;
  timeoutSeconds: number; caBundle?: string;
  clientConfig: { service: { namespace: string; name: string; path: string; port: number }; caBundle?: string };
  rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  matchConditions: { name: string; expression: string }[];
}
interface Probe { httpGet: { path: string; port: string; scheme: string } }
interface Container {
  name: string; args: string[]; ports: { name: string; containerPort: number }[]; env: { name: string; value: string }[];
  readinessProbe: Probe; livenessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { runAsNonRoot: boolean; allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; capabilities: { drop: string[] } };
  volumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
}
interface PodSpec {
  serviceAccountName: string; automountServiceAccountToken: boolean; terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number; runAsGroup: number; fsGroup: number; seccompProfile: { type: string } };
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: { podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }[] } };
  containers: Container[];
  volumes: { name: string; secret: { secretName: string; defaultMode: number } }[];
}
interface Deployment {
  spec: {
    replicas: number; selector: { matchLabels: Record<string, string> }; strategy: { rollingUpdate: { maxUnavailable: number } };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
  };
}

const OVERLAYS = ['complain', 'enforce', 'cert-manager'] as const;
const built = new Map<string, Manifest[]>([
  ['base', kustomizeBuild('deploy/base')],
  ...OVERLAYS.map((o) => [o, kustomizeBuild(`deploy/overlays/${o}`)] as const),
]);
const manifestsOf = (name: string): Manifest[] => built.get(name) ?? assert.fail(`${name} was not built`);
const one = (docs: readonly Manifest[], kind: string): Manifest => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0] ?? assert.fail();
};
const webhookOf = (docs: readonly Manifest[], kind: string): Webhook => {
  const hooks = (one(docs, kind) as unknown as { webhooks: Webhook[] }).webhooks;
  assert.equal(hooks.length, 1);
  return hooks[0] ?? assert.fail();
};
const deploymentOf = (docs: readonly Manifest[]): Deployment => one(docs, 'Deployment') as unknown as Deployment;
const containerOf = (docs: readonly Manifest[]): Container => deploymentOf(docs).spec.template.spec.containers[0] ?? assert.fail();
const envOf = (docs: readonly Manifest[]): Record<string, string> =>
  Object.fromEntries(containerOf(docs).env.map((e) => [e.name, e.value]));
/** The user names a CEL `username in [...]` list holds. */
const exempted = (hook: Webhook): string[] =>
  [...(hook.matchConditions[0]?.expression ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');

describe('deploy/ resolves as kustomize builds it and passes the Kubernetes schemas', () => {
  for (const [name, docs] of built) {
    test(`${name}: every object is valid for the Kubernetes API`, () => {
      assert.ok(docs.length >= 7);
      assert.deepEqual(docs.flatMap(schemaProblems), []);
    });
  }

  test('the schema checks catch a wrong type and a misspelt field', () => {
    const deployment = structuredClone(one(manifestsOf('complain'), 'Deployment')) as Manifest & Deployment;
    Object.assign(deployment.spec, { replicas: 'two' });
    Object.assign(deployment.spec.template.spec.containers[0] ?? {}, { readinesProbe: {} });
    const problems = schemaProblems(deployment).join('\n');
    assert.match(problems, /spec\/replicas must be integer/);
    assert.match(problems, /containers\[0\]\.readinesProbe: unknown field "readinesProbe"/);
    const namespace = one(manifestsOf('complain'), 'Namespace');
    assert.match(schemaProblems({ ...namespace, kind: 'Namespaced' }).join(''), /no schema for v1 Namespaced/, 'an object of unknown kind is not waved through');
  });

  test('every object lives in the endpoint-guard namespace, or is cluster-wide', () => {
    const clusterScoped = new Set(['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding']);
    for (const [, docs] of built) {
      for (const d of docs) assert.equal(d.metadata.namespace, clusterScoped.has(d.kind) ? undefined : 'endpoint-guard', `${d.kind}/${d.metadata.name}`);
    }
  });
});

describe('the overlays pair each mode with its failure policy', () => {
  test('complain: the validating webhook ignores failures and the server runs in complain mode', () => {
    assert.equal(webhookOf(manifestsOf('complain'), 'ValidatingWebhookConfiguration').failurePolicy, 'Ignore');
    assert.equal(envOf(manifestsOf('complain')).ENDPOINT_GUARD_MODE, 'complain');
  });
  test('enforce: the validating webhook fails closed and the server runs in enforce mode', () => {
    assert.equal(webhookOf(manifestsOf('enforce'), 'ValidatingWebhookConfiguration').failurePolicy, 'Fail');
    assert.equal(envOf(manifestsOf('enforce')).ENDPOINT_GUARD_MODE, 'enforce');
  });
  test('the mutating webhook never blocks a write, in any overlay', () => {
    for (const [, docs] of built) assert.equal(webhookOf(docs, 'MutatingWebhookConfiguration').failurePolicy, 'Ignore');
  });
  test('the overlays differ from each other only where they mean to', () => {
    const strip = (docs: Manifest[]) => JSON.stringify(docs, (key, value: unknown) => (key === 'failurePolicy' || key === 'env' ? undefined : value));
    assert.equal(strip(manifestsOf('complain')), strip(manifestsOf('enforce')));
  });
});

describe('the webhook registrations', () => {
  const docs = manifestsOf('complain');
  const mutating = webhookOf(docs, 'MutatingWebhookConfiguration');
  const validating = webhookOf(docs, 'ValidatingWebhookConfiguration');

  test('the mutating webhook calls /mutate, has no side effects and is never reinvoked', () => {
    assert.equal(mutating.clientConfig.service.path, '/mutate');
    assert.equal(mutating.sideEffects, 'None');
    assert.equal(mutating.reinvocationPolicy, 'Never');
    assert.deepEqual(mutating.admissionReviewVersions, ['v1']);
  });
  test('the validating webhook calls /validate and has no side effects', () => {
    assert.equal(validating.clientConfig.service.path, '/validate');
    assert.equal(validating.sideEffects, 'None');
  });
  test('both exempt exactly the server\'s default exempt users, and match the same objects', () => {
    assert.deepEqual(exempted(mutating), DEFAULT_EXEMPT_USERS);
    assert.deepEqual(exempted(validating), DEFAULT_EXEMPT_USERS);
    assert.equal(mutating.matchConditions[0]?.expression, validating.matchConditions[0]?.expression);
    assert.deepEqual(mutating.rules, validating.rules);
    assert.deepEqual(mutating.rules.map((r) => r.resources[0]), ['endpoints', 'endpointslices']);
    for (const rule of mutating.rules) assert.deepEqual(rule.operations, ['CREATE', 'UPDATE']);
  });
  test('both call port 443 of the Service, which forwards to the container\'s HTTPS port', () => {
    const service = one(docs, 'Service') as unknown as { metadata: { name: string; namespace: string }; spec: { ports: { port: number; targetPort: string }[]; selector: Record<string, string> } };
    for (const hook of [mutating, validating]) {
      assert.deepEqual({ ...hook.clientConfig.service, path: undefined }, { namespace: service.metadata.namespace, name: service.metadata.name, port: 443, path: undefined });
    }
    assert.deepEqual(service.spec.ports.map((p) => [p.port, p.targetPort]), [[443, 'https']]);
    const container = containerOf(docs);
    const https = container.ports.find((p) => p.name === 'https');
    assert.equal(String(https?.containerPort), envOf(docs).ENDPOINT_GUARD_PORT);
    assert.deepEqual(service.spec.selector, deploymentOf(docs).spec.template.metadata.labels);
  });
  test('their timeout is shorter than the server\'s request timeout, so the server never cuts off a call the apiserver still waits for', () => {
    for (const hook of [mutating, validating]) assert.ok(hook.timeoutSeconds < configSchema.parse({}).requestTimeoutSeconds);
  });
  test('carry no caBundle, so `kubectl apply -k` keeps the one patched in or injected', () => {
    for (const hook of [mutating, validating]) assert.equal(hook.clientConfig.caBundle, undefined);
  });
});

describe('the Deployment', () => {
  const docs = manifestsOf('complain');
  const deployment = deploymentOf(docs);
  const pod = deployment.spec.template.spec;
  const container = containerOf(docs);

  test('runs at least two replicas, preferably on different nodes, and a rollout never lowers that', () => {
    assert.ok(deployment.spec.replicas >= 2);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]?.podAffinityTerm;
    assert.equal(term?.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(term?.labelSelector.matchLabels, deployment.spec.selector.matchLabels);
  });
  test('has a PodDisruptionBudget over its Pods that keeps one running', () => {
    const pdb = one(docs, 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    assert.partialDeepStrictEqual(deployment.spec.template.metadata.labels, pdb.spec.selector.matchLabels);
  });
  test('probes /readyz and /healthz over HTTPS on the webhook port', () => {
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  });
  test('requests and limits CPU and memory', () => {
    assert.deepEqual(Object.keys(container.resources.requests).sort(), ['cpu', 'memory']);
    assert.deepEqual(Object.keys(container.resources.limits).sort(), ['cpu', 'memory']);
  });
  test('runs as a non-root user on a read-only root filesystem, with no capabilities, no privilege escalation and RuntimeDefault seccomp', () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
    });
    const namespace = one(docs, 'Namespace') as unknown as { metadata: { labels: Record<string, string> } };
    assert.equal(namespace.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
  });
  test('runs as its own ServiceAccount, with the token serve needs to watch Namespaces and Services', () => {
    assert.equal(pod.automountServiceAccountToken, true);
    const account = one(docs, 'ServiceAccount') as unknown as { metadata: { name: string }; automountServiceAccountToken: boolean };
    assert.equal(account.automountServiceAccountToken, true);
    assert.equal(pod.serviceAccountName, account.metadata.name);
  });
  test('mounts the TLS Secret read-only where the server reads its certificate, readable by its group only', () => {
    const mount = container.volumeMounts.find((m) => m.mountPath === envOf(docs).ENDPOINT_GUARD_CERT_DIR);
    assert.equal(mount?.readOnly, true);
    const volume = pod.volumes.find((v) => v.name === mount?.name);
    assert.equal(volume?.secret.secretName, secretName('endpoint-guard'));
    assert.equal(volume?.secret.defaultMode, 0o440);
  });
  test('in every overlay, tls.key gets a mode the server accepts and the group the server runs as', async (t) => {
    const dir = await tempDir(t);
    for (const overlay of OVERLAYS) {
      const spec = deploymentOf(manifestsOf(overlay)).spec.template.spec;
      const certDir = envOf(manifestsOf(overlay)).ENDPOINT_GUARD_CERT_DIR;
      const mount = spec.containers[0]?.volumeMounts.find((m) => m.mountPath === certDir);
      const mode = spec.volumes.find((v) => v.name === mount?.name)?.secret.defaultMode ?? assert.fail(`${overlay}: no TLS volume`);
      // The kubelet gives the files this mode and, with fsGroup, that group; the server checks the mode.
      const key = join(dir, `${overlay}.key`);
      await writeFile(key, '');
      await chmod(key, mode);
      assert.equal(await keyFileProblem(key), undefined, `${overlay}: defaultMode 0${mode.toString(8)}`);
      assert.equal(spec.securityContext.fsGroup, spec.securityContext.runAsGroup, `${overlay}: the group can read the key`);
    }
  });
  test('sets only settings the server knows, and they load', () => {
    const known = new Set(Object.keys(configSchema.shape).map((key) => envName(key as keyof Config)));
    for (const overlay of OVERLAYS) {
      const env = envOf(manifestsOf(overlay));
      // A misspelt variable would be ignored without a word; every one must name a setting.
      for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is a setting the server reads`);
      const loaded = loadConfig({ flags: {}, env });
      assert.ok(loaded.ok, loaded.ok ? '' : loaded.message);
      assert.partialDeepStrictEqual(loaded.config, { host: '0.0.0.0', certDir: '/etc/endpoint-guard/tls', metrics: true });
    }
  });
  test('exposes the metrics port it serves on, and tells Prometheus where to scrape', () => {
    const metrics = container.ports.find((p) => p.name === 'metrics');
    assert.equal(String(metrics?.containerPort), envOf(docs).ENDPOINT_GUARD_METRICS_PORT);
    assert.deepEqual(deployment.spec.template.metadata.annotations, {
      'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metrics?.containerPort), 'prometheus.io/path': '/metrics',
    });
  });
  test('gives the Pod time to drain: the shutdown delay and the in-flight grace fit in the termination grace period', () => {
    const delaySeconds = Number(envOf(docs).ENDPOINT_GUARD_SHUTDOWN_DELAY_SECONDS);
    assert.ok(delaySeconds > 0, 'a shutdown delay while the Pod leaves the endpoints');
    assert.ok(delaySeconds + DEFAULT_TIMEOUTS.shutdownGraceMs / 1000 < pod.terminationGracePeriodSeconds);
  });
  test('runs the serve command', () => {
    assert.deepEqual(container.args, ['serve']);
  });
});

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface ClusterRole { metadata: { name: string }; rules: Rule[] }
interface Binding { kind: string; metadata: { name: string }; roleRef: { apiGroup: string; kind: string; name: string }; subjects: { kind: string; name: string; namespace?: string }[] }
/** Every (group, resource, verb, name) a role grants, as `group/resource verb [name]` strings. */
const grants = (role: ClusterRole): string[] =>
  role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.flatMap((v) =>
    (r.resourceNames ?? ['*']).map((n) => `${g}/${res} ${v} ${n}`))))).sort();

describe('RBAC', () => {
  const docs = manifestsOf('complain');
  const roles = docs.filter((d) => d.kind === 'ClusterRole') as unknown as ClusterRole[];
  const bindings = docs.filter((d) => d.kind === 'ClusterRoleBinding' || d.kind === 'RoleBinding') as unknown as Binding[];
  const role = (name: string): ClusterRole => roles.find((r) => r.metadata.name === name) ?? assert.fail(`no ClusterRole ${name}`);
  const account = one(docs, 'ServiceAccount');

  test('the webhook\'s ServiceAccount is bound to one role: get, list and watch on what it and audit read, nothing else', () => {
    const bound = bindings.filter((b) => b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === account.metadata.name && s.namespace === account.metadata.namespace));
    assert.deepEqual(bound.map((b) => [b.kind, b.roleRef.kind, b.roleRef.name]), [['ClusterRoleBinding', 'ClusterRole', 'endpoint-guard-read']]);
    const read = role('endpoint-guard-read');
    const expected = [['', 'namespaces'], ['', 'services'], ['', 'endpoints'], ['discovery.k8s.io', 'endpointslices']]
      .flatMap(([group, resource]) => ['get', 'list', 'watch'].map((verb) => `${group}/${resource} ${verb} *`)).sort();
    assert.deepEqual(grants(read), expected);
    for (const resource of Object.keys(AUDIT_RESOURCES)) assert.ok(grants(read).some((g) => g.includes(`/${resource} list `)), `audit lists ${resource}`);
  });

  test('manifests --apply has a role of its own: get, create and update on what it writes, by name where RBAC allows, bound to nobody', () => {
    const apply = role('endpoint-guard-manifests-apply');
    const policies = admissionPolicies({ ...configSchema.parse({}), version: kubeVersion(36), mode: 'complain' });
    assert.ok(policies.ok);
    const written = [
      ...['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'].map((resource) => [resource, WEBHOOK_CONFIGURATION_NAME]),
      ...policies.objects.map((o) => [`${String(o.kind).toLowerCase().replace(/y$/, 'ie')}s`, String((o.metadata as { name: string }).name)]),
    ];
    const resources = [...new Set(written.map(([resource]) => resource))];
    assert.deepEqual(grants(apply), [
      ...resources.map((resource) => `admissionregistration.k8s.io/${resource} create *`),
      ...written.flatMap(([resource, name]) => ['get', 'update'].map((verb) => `admissionregistration.k8s.io/${resource} ${verb} ${name}`)),
    ].sort());
    assert.deepEqual(bindings.filter((b) => b.roleRef.name === apply.metadata.name), [], 'an admin binds it to whoever runs --apply');
    assert.deepEqual(roles.map((r) => r.metadata.name).sort(), ['endpoint-guard-manifests-apply', 'endpoint-guard-read']);
  });
});

describe('the cert-manager overlay', () => {
  const docs = manifestsOf('cert-manager');
  const certificates = docs.filter((d) => d.kind === 'Certificate') as unknown as {
    metadata: { name: string; namespace: string }; spec: { secretName: string; dnsNames?: string[]; isCA?: boolean; issuerRef: { name: string } };
  }[];
  const serving = certificates.find((c) => !c.spec.isCA) ?? assert.fail('a serving Certificate');

  test('issues the serving certificate into the Secret the Deployment mounts, for the Service\'s DNS names', () => {
    assert.equal(serving.spec.secretName, deploymentOf(docs).spec.template.spec.volumes[0]?.secret.secretName);
    const names = servingNames('endpoint-guard/endpoint-guard').dns;
    for (const name of serving.spec.dnsNames ?? []) assert.ok(names.includes(name), `${name} is one of the Service's names`);
    assert.ok(serving.spec.dnsNames?.includes('endpoint-guard.endpoint-guard.svc'), 'the name the apiserver uses');
  });
  test('signs it with a CA of its own, so a renewal does not change the caBundle', () => {
    const issuers = docs.filter((d) => d.kind === 'Issuer') as unknown as { metadata: { name: string }; spec: { ca?: { secretName: string } } }[];
    const issuer = issuers.find((i) => i.metadata.name === serving.spec.issuerRef.name);
    const ca = certificates.find((c) => c.spec.isCA);
    assert.equal(issuer?.spec.ca?.secretName, ca?.spec.secretName);
  });
  test('has cert-manager inject the CA into both webhook registrations', () => {
    for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
      const annotations = (one(docs, kind).metadata as { annotations?: Record<string, string> }).annotations;
      assert.equal(annotations?.['cert-manager.io/inject-ca-from'], `${serving.metadata.namespace}/${serving.metadata.name}`);
    }
  });
  test('is the complain overlay plus the certificates', () => {
    const withoutCertManager = docs.filter((d) => !d.apiVersion.startsWith('cert-manager.io/'))
      .map((d) => ({ ...d, metadata: { ...d.metadata, annotations: undefined } }));
    const complain = manifestsOf('complain').map((d) => ({ ...d, metadata: { ...d.metadata, annotations: undefined } }));
    assert.deepEqual(JSON.parse(JSON.stringify(withoutCertManager)), JSON.parse(JSON.stringify(complain)));
  });
});

describe('the overlays in docs/security.md render with kubectl kustomize', () => {
  test('the client-certificate overlay gives the Pods the CA from a generated ConfigMap and moves the probes to the metrics port', async (t) => {
    const docs = await renderDocsOverlay(t, 'docs/security.md', 'kustomization.yaml\n', 'mtls',
      { 'client-ca.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' });
    assert.deepEqual(docs.flatMap(schemaProblems), []);
    const configMap = one(docs, 'ConfigMap');
    assert.match(configMap.metadata.name, /^endpoint-guard-client-ca-[a-z0-9]{10}$/, 'kustomize names a generated ConfigMap by its content');
    const volumes = deploymentOf(docs).spec.template.spec.volumes as { name: string; configMap?: { name: string } }[];
    assert.equal(volumes.find((v) => v.name === 'client-ca')?.configMap?.name, configMap.metadata.name, 'the volume names the generated ConfigMap');
    const container = containerOf(docs);
    assert.equal(container.env.find((e) => e.name === 'ENDPOINT_GUARD_CLIENT_CA')?.value, '/etc/endpoint-guard/client-ca/client-ca.crt');
    assert.ok(container.volumeMounts.some((m) => m.name === 'client-ca' && m.mountPath === '/etc/endpoint-guard/client-ca'));
    assert.equal(container.readinessProbe.httpGet.port, 'metrics');
    assert.equal(webhookOf(docs, 'ValidatingWebhookConfiguration').failurePolicy, 'Fail', 'it builds on the enforce overlay');
  });
});
