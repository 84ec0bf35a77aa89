// `kustomize build`, for the part of kustomize that deploy/ uses, so the tests can check what
// `kubectl apply -k` sends without a kustomize binary (none installs from the npm registry here).
// It is strict: a kustomization field, patch operation or resource it does not know is an error,
// never skipped, so deploy/ cannot quietly grow past what this checks.
//
// Supported: Kustomization and Component files; `resources` (files, and directories holding a
// kustomization); `components`; `namespace` (set on namespaced objects, as kustomize does);
// `images` (newName, newTag or digest for the containers of Pod templates);
// `patches` given inline, either a JSON 6902 patch (add, replace, remove) with a `target`
// (group, version, kind, name), or a strategic-merge patch naming its object. Strategic merge
// merges maps, merges the lists that Kubernetes merges by key (containers, env, ports,
// volumes, volumeMounts by `name` and so on) and replaces other lists, as the apiserver does.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

const KUSTOMIZATION_FILE = 'kustomization.yaml';
const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'patches', 'images']);
const KNOWN_IMAGE_FIELDS = new Set(['name', 'newName', 'newTag', 'digest']);
const KNOWN_PATCH_FIELDS = new Set(['patch', 'target']);
const KNOWN_TARGET_FIELDS = new Set(['group', 'version', 'kind', 'name']);
/** Kinds without a namespace among those deploy/ uses; kustomize leaves these alone. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'ClusterRole', 'ClusterRoleBinding']);
/** The lists the API merges by a key (patchMergeKey) in strategic merge; other lists are replaced. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name', initContainers: 'name', env: 'name', ports: 'containerPort', volumes: 'name', volumeMounts: 'mountPath',
};

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** YAML as kubectl and kustomize read it: 1.1, so `0440` is octal. */
function readYaml(path: string): JsonObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'), { version: '1.1' }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${path}: document ${i + 1}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (!isObject(value)) throw new Error(`${path}: document ${i + 1} is not a mapping`);
    return value;
  }).filter((d) => Object.keys(d).length > 0);
}

/** The objects `kustomize build DIR` prints, in the order their files are listed. */
export function kustomize(dir: string): JsonObject[] {
  return build(dir, 'Kustomization');
}

function build(dir: string, expectedKind: 'Kustomization' | 'Component', base: JsonObject[] = []): JsonObject[] {
  const file = join(dir, KUSTOMIZATION_FILE);
  const [kustomization, ...extra] = readYaml(file);
  if (kustomization === undefined || extra.length > 0) throw new Error(`${file}: expected one document`);
  const expectedApi = expectedKind === 'Component' ? 'kustomize.config.k8s.io/v1alpha1' : 'kustomize.config.k8s.io/v1beta1';
  if (kustomization.kind !== expectedKind || kustomization.apiVersion !== expectedApi) {
    throw new Error(`${file}: expected ${expectedApi} ${expectedKind}, got ${String(kustomization.apiVersion)} ${String(kustomization.kind)}`);
  }
  for (const key of Object.keys(kustomization)) if (!KNOWN_FIELDS.has(key)) throw new Error(`${file}: "${key}" is not supported by this resolver`);

  let objects = [...base];
  for (const entry of stringList(kustomization.resources, `${file}: resources`)) {
    const path = join(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? build(path, 'Kustomization') : readYaml(path)));
  }
  assertUnique(objects, file);
  for (const entry of stringList(kustomization.components, `${file}: components`)) {
    objects = build(join(dir, entry), 'Component', objects);
  }
  if (kustomization.namespace !== undefined) {
    if (typeof kustomization.namespace !== 'string') throw new Error(`${file}: namespace must be a string`);
    const namespace = kustomization.namespace;
    objects = objects.map((o) => (CLUSTER_SCOPED.has(String(o.kind)) ? o : { ...o, metadata: { ...metadataOf(o), namespace } }));
  }
  for (const [i, patch] of (Array.isArray(kustomization.patches) ? kustomization.patches : []).entries()) {
    objects = applyPatch(objects, patch, `${file}: patches[${i}]`);
  }
  for (const [i, image] of (Array.isArray(kustomization.images) ? kustomization.images : []).entries()) {
    objects = objects.map((o) => setImage(o, image, `${file}: images[${i}]`));
  }
  return objects;
}

/** kustomize's image transformer, for Deployments (the only workload deploy/ has). */
function setImage(object: JsonObject, image: Json, where: string): JsonObject {
  if (!isObject(image) || typeof image.name !== 'string') throw new Error(`${where} needs a name`);
  for (const key of Object.keys(image)) if (!KNOWN_IMAGE_FIELDS.has(key)) throw new Error(`${where}: "${key}" is not supported`);
  const name = image.name;
  const copy = structuredClone(object);
  const spec = isObject(copy.spec) && isObject(copy.spec.template) && isObject(copy.spec.template.spec) ? copy.spec.template.spec : undefined;
  for (const container of [spec?.containers, spec?.initContainers].flatMap((list) => (Array.isArray(list) ? list : []))) {
    if (!isObject(container) || typeof container.image !== 'string') continue;
    const [, repository = '', tag] = /^([^@]*?)(?::([^:/@]+))?(?:@.*)?$/.exec(container.image) ?? [];
    if (repository !== name) continue;
    const newName = typeof image.newName === 'string' ? image.newName : repository;
    if (typeof image.digest === 'string') container.image = `${newName}@${image.digest}`;
    else container.image = `${newName}${typeof image.newTag === 'string' ? `:${image.newTag}` : tag === undefined ? '' : `:${tag}`}`;
  }
  return copy;
}

function stringList(value: Json | undefined, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${where} must be a list of paths`);
  return value as string[];
}

const metadataOf = (o: JsonObject): JsonObject => (isObject(o.metadata) ? o.metadata : {});
const idOf = (o: JsonObject): string => `${String(o.apiVersion)} ${String(o.kind)} ${String(metadataOf(o).namespace ?? '')}/${String(metadataOf(o).name)}`;

function assertUnique(objects: readonly JsonObject[], where: string): void {
  const seen = new Set<string>();
  for (const o of objects) {
    if (seen.has(idOf(o))) throw new Error(`${where}: ${idOf(o)} is defined twice`);
    seen.add(idOf(o));
  }
}

function applyPatch(objects: JsonObject[], entry: Json, where: string): JsonObject[] {
  if (!isObject(entry)) throw new Error(`${where} must be a mapping`);
  for (const key of Object.keys(entry)) if (!KNOWN_PATCH_FIELDS.has(key)) throw new Error(`${where}: "${key}" is not supported (inline patches only)`);
  if (typeof entry.patch !== 'string') throw new Error(`${where}: patch must be an inline string`);
  const docs = parseAllDocuments(entry.patch, { version: '1.1' }).map((d) => d.toJS() as Json);
  const [body] = docs;
  if (docs.length !== 1 || body === undefined) throw new Error(`${where}: expected one patch document`);

  if (Array.isArray(body)) {
    if (!isObject(entry.target)) throw new Error(`${where}: a JSON 6902 patch needs a target`);
    const target = entry.target;
    for (const key of Object.keys(target)) if (!KNOWN_TARGET_FIELDS.has(key)) throw new Error(`${where}: target.${key} is not supported`);
    const matches = (o: JsonObject) => {
      const [group, version] = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/') : ['', String(o.apiVersion)];
      return (target.group === undefined || target.group === group) && (target.version === undefined || target.version === version) &&
        (target.kind === undefined || target.kind === o.kind) && (target.name === undefined || target.name === metadataOf(o).name);
    };
    const hits = objects.filter(matches).length;
    if (hits === 0) throw new Error(`${where}: the target matches no object`);
    return objects.map((o) => (matches(o) ? jsonPatch(o, body, where) : o));
  }

  if (!isObject(body)) throw new Error(`${where}: a patch is a JSON 6902 list or a strategic-merge object`);
  if (entry.target !== undefined) throw new Error(`${where}: a strategic-merge patch names its object instead of a target`);
  const name = metadataOf(body).name;
  const matches = (o: JsonObject) => o.apiVersion === body.apiVersion && o.kind === body.kind && metadataOf(o).name === name;
  if (objects.filter(matches).length !== 1) throw new Error(`${where}: ${String(body.kind)}/${String(name)} is not exactly one object`);
  return objects.map((o) => (matches(o) ? strategicMerge(o, body) as JsonObject : o));
}

/** RFC 6902 add, replace and remove, on a copy. */
function jsonPatch(object: JsonObject, operations: Json[], where: string): JsonObject {
  const copy = structuredClone(object);
  for (const op of operations) {
    if (!isObject(op) || typeof op.path !== 'string' || typeof op.op !== 'string') throw new Error(`${where}: not a JSON patch operation`);
    const segments = op.path.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = segments.pop();
    if (last === undefined) throw new Error(`${where}: cannot patch the whole object`);
    let parent: Json = copy;
    for (const s of segments) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(s)] : isObject(parent) ? parent[s] : undefined;
      if (next === undefined) throw new Error(`${where}: ${op.path}: ${s} does not exist`);
      parent = next;
    }
    const exists = Array.isArray(parent) ? Number(last) < parent.length : isObject(parent) && Object.hasOwn(parent, last);
    if (op.op === 'replace' || op.op === 'remove') {
      if (!exists) throw new Error(`${where}: ${op.op} ${op.path}: nothing there`);
    } else if (op.op !== 'add') {
      throw new Error(`${where}: operation "${op.op}" is not supported`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (op.op === 'remove') parent.splice(index, 1);
      else parent.splice(index, op.op === 'replace' ? 1 : 0, op.value ?? null);
    } else if (isObject(parent)) {
      if (op.op === 'remove') delete parent[last];
      else parent[last] = op.value ?? null;
    }
  }
  return copy;
}

/** Kubernetes strategic merge for maps and keyed lists; a null value deletes a key. */
export function strategicMerge(target: Json, patch: Json, field = ''): Json {
  if (isObject(target) && isObject(patch)) {
    const merged: JsonObject = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = key in merged ? strategicMerge(merged[key] ?? null, value, key) : value;
    }
    return merged;
  }
  const key = MERGE_KEYS[field];
  if (Array.isArray(target) && Array.isArray(patch) && key !== undefined) {
    const merged = [...target];
    for (const item of patch) {
      const index = isObject(item) ? merged.findIndex((m) => isObject(m) && m[key] === item[key]) : -1;
      if (index >= 0) merged[index] = strategicMerge(merged[index] ?? null, item, field);
      else merged.push(item);
    }
    return merged;
  }
  return patch;
}
