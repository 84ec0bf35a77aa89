// deploy/ as the cluster would get it: each overlay resolved as kustomize builds it, every object checked
// against the Kubernetes API schemas of kubernetes-models (types, required fields, enums,
// formats) and, for built-in kinds, against the field lists of @kubernetes/client-node (both
// generated from the Kubernetes OpenAPI document), which catch a misspelt field the way the
// apiserver's strict field validation does.
import * as clientNode from '@kubernetes/client-node';
import * as admissionregistration from 'kubernetes-models/admissionregistration.k8s.io/v1';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as certManager from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import * as monitoring from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { tempDir } from './temp.ts';
import AjvDraft04 from 'ajv-draft-04';
import { parseAllDocuments } from 'yaml';

export type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

/**
 * What `kubectl apply -k DIR` would send: `kubectl kustomize DIR`, the kustomize built into the
 * kubectl admins run, read as kubectl reads YAML (1.1: `0440` is octal).
 */
export function kustomizeBuild(dir: string): Manifest[] {
  let rendered: string;
  try {
    rendered = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const { code, stderr } = err as NodeJS.ErrnoException & { stderr?: string };
    throw new Error(code === 'ENOENT'
      ? 'kubectl is not installed: the deploy/ tests render it with `kubectl kustomize`, as admins do; install kubectl (1.27 or later)'
      : `kubectl kustomize ${dir} failed: ${String(stderr ?? '').trim() || String(err)}`);
  }
  return parseAllDocuments(rendered, { version: '1.1' }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: document ${i + 1}: ${doc.errors[0]?.message}`);
    const object: unknown = doc.toJS();
    if (typeof object !== 'object' || object === null || Array.isArray(object)) throw new Error(`${dir}: document ${i + 1} is not an object`);
    const { apiVersion, kind, metadata } = object as Record<string, unknown>;
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new Error(`${dir}: an object without apiVersion, kind or metadata`);
    }
    return object as Manifest;
  });
}

/**
 * The overlay a docs page shows in a yaml block whose first line is `# <heading>`, rendered with
 * `kubectl kustomize` as an admin keeps it: in deploy/clusters/<name>/ of a copy of deploy/,
 * beside `files` (e.g. the CA a configMapGenerator reads).
 */
export async function renderDocsOverlay(t: TestContext, page: string, heading: string, name: string, files: Readonly<Record<string, string>> = {}): Promise<Manifest[]> {
  const text = readFileSync(new URL(`../../${page}`, import.meta.url), 'utf8');
  const start = text.indexOf(`\`\`\`yaml\n# ${heading}`);
  if (start < 0) throw new Error(`${page} shows no overlay headed "# ${heading}"`);
  const overlay = text.slice(text.indexOf('\n', start + 8) + 1, text.indexOf('```', start + 3));
  const root = await tempDir(t);
  await cp('deploy', join(root, 'deploy'), { recursive: true });
  const dir = join(root, 'deploy', 'clusters', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'kustomization.yaml'), overlay);
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return kustomizeBuild(dir);
}

type Validating = { validate(): void };
type ModelClass = new (data: never) => Validating;
const MODELS: Readonly<Record<string, ModelClass>> = {
  'v1/Namespace': core.Namespace,
  'v1/ServiceAccount': core.ServiceAccount,
  'v1/Service': core.Service,
  'v1/Secret': core.Secret,
  'v1/ConfigMap': core.ConfigMap,
  'apps/v1/Deployment': apps.Deployment,
  'batch/v1/CronJob': batch.CronJob,
  'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': rbac.ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': rbac.ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': admissionregistration.ValidatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': admissionregistration.MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy': admissionregistration.ValidatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding': admissionregistration.ValidatingAdmissionPolicyBinding,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy': admissionregistration.MutatingAdmissionPolicy,
  'admissionregistration.k8s.io/v1/MutatingAdmissionPolicyBinding': admissionregistration.MutatingAdmissionPolicyBinding,
  'cert-manager.io/v1/Certificate': certManager.Certificate,
  'cert-manager.io/v1/Issuer': certManager.Issuer,
  'monitoring.coreos.com/v1/PodMonitor': monitoring.PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': monitoring.PrometheusRule,
};

/** Problems with one object, as "Kind/name: path message" lines; empty when it is valid. */
export function schemaProblems(manifest: Manifest): string[] {
  const id = `${manifest.kind}/${manifest.metadata?.name ?? '?'}`;
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (Model === undefined) return [`${id}: no schema for ${manifest.apiVersion} ${manifest.kind}; add its model to test/helpers/manifests.ts`];
  const problems: string[] = [];
  try {
    new Model(manifest as never).validate();
  } catch (err) {
    problems.push(`${id}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const typeName = builtInTypeName(manifest.apiVersion, manifest.kind);
  if (typeName !== undefined) problems.push(...unknownFields(manifest, typeName, '').map((p) => `${id}: ${p}`));
  return problems;
}

interface Attribute { readonly baseName: string; readonly type: string }
const models = clientNode as unknown as Readonly<Record<string, { attributeTypeMap?: readonly Attribute[] } | undefined>>;

/** client-node's class for a built-in kind: V1Deployment for apps/v1 Deployment. */
function builtInTypeName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').at(-1) ?? '';
  const name = `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
  return models[name]?.attributeTypeMap ? name : undefined;
}

/** Fields the API type does not define, found by walking the value along client-node's type map. */
function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, array[1] ?? '', `${path}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    return typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1] ?? '', `${path}[${k}]`)) : [];
  }
  const attributes = models[type]?.attributeTypeMap;
  if (attributes === undefined || typeof value !== 'object' || Array.isArray(value)) return [];
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, child]) => {
    const childPath = path === '' ? key : `${path}.${key}`;
    const childType = known.get(key);
    return childType === undefined ? [`${childPath}: unknown field "${key}" in ${type}`] : unknownFields(child, childType, childPath);
  });
}

// The admissionregistration schemas of older releases, from the Kubernetes OpenAPI documents kept
// under test/schemas (each file names the commit it comes from). kubernetes-models and client-node
// describe the newest release only.
type Schemas = { components: { schemas: Record<string, Record<string, unknown>> } };
const readSchemas = (file: string): Schemas =>
  JSON.parse(readFileSync(new URL(`../schemas/${file}`, import.meta.url), 'utf8')) as Schemas;

/** A copy in which every object schema with properties refuses others: kubectl's strict field validation. */
function strict(doc: Schemas, drop: (name: string, property: string) => boolean = () => false): Schemas {
  const copy = structuredClone(doc);
  for (const [name, schema] of Object.entries(copy.components.schemas)) {
    const properties = schema.properties as Record<string, unknown> | undefined;
    if (properties === undefined) continue;
    for (const property of Object.keys(properties)) if (drop(name, property)) delete properties[property];
    schema.additionalProperties ??= false;
  }
  return copy;
}

const V1 = readSchemas('admissionregistration-v1.json');
const V1BETA1 = readSchemas('admissionregistration-v1beta1.json');
const ajv = new AjvDraft04.default({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema(strict(V1), 'v1');
// Before 1.27 a webhook has no matchConditions; 1.27 has them behind an alpha gate, off by default,
// and drops them. The rest of what the registrations use dates from admissionregistration v1 (1.16).
ajv.addSchema(strict(V1, (name, property) => /\.(Mutating|Validating)Webhook$/.test(name) && property === 'matchConditions'), 'v1-before-1.28');
ajv.addSchema(strict(V1BETA1), 'v1beta1');

/** Which schema document describes a kind in a release, or undefined when that release does not serve it. */
function documentFor(minor: number, apiVersion: string, kind: string): string | undefined {
  const webhook = kind.endsWith('WebhookConfiguration');
  const validatingPolicy = kind.startsWith('ValidatingAdmissionPolicy');
  if (apiVersion === 'admissionregistration.k8s.io/v1' && webhook) return minor >= 28 ? 'v1' : 'v1-before-1.28';
  if (apiVersion === 'admissionregistration.k8s.io/v1' && validatingPolicy && minor >= 30) return 'v1';
  if (apiVersion === 'admissionregistration.k8s.io/v1beta1' && validatingPolicy && minor >= 28) return 'v1beta1';
  return undefined;
}

/**
 * Problems with one admissionregistration object for Kubernetes 1.`minor`, as "Kind/name: ..."
 * lines. 1.36 uses kubernetes-models and client-node (schemaProblems); older releases the OpenAPI
 * schemas above, strictly (an unknown field is a problem).
 */
export function schemaProblemsFor(manifest: Manifest, minor: number): string[] {
  if (minor >= 36) return schemaProblems(manifest);
  const id = `${manifest.kind}/${manifest.metadata?.name ?? '?'}`;
  const document = documentFor(minor, manifest.apiVersion, manifest.kind);
  if (document === undefined) return [`${id}: Kubernetes 1.${minor} does not serve ${manifest.apiVersion} ${manifest.kind}`];
  const version = manifest.apiVersion.split('/')[1] ?? '';
  const validate = ajv.getSchema(`${document}#/components/schemas/io.k8s.api.admissionregistration.${version}.${manifest.kind}`);
  if (validate === undefined) return [`${id}: no schema for ${manifest.kind} in ${document}`];
  if (validate(manifest)) return [];
  return (validate.errors ?? []).map((e) => `${id}: ${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params.additionalProperty)}"` : ''}`);
}
