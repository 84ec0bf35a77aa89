// ObjectMeta as the apiserver validates it on create (spec 2.4, 3).
import { type Finding, invalid, required, tooLong } from './finding.ts';
import { dnsLabel, dnsSubdomain, generateNamePrefix, labelValue, qualifiedName, shortNameHint } from './names.ts';
import type { ObjectMeta } from './objects.ts';
import type { FieldPath } from './path.ts';
import type { KubeVersion } from './version.ts';

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024; // bytes of all annotation keys and values together
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);
/** The apiserver keeps this much of generateName and appends this many random characters. */
const GENERATED_PREFIX_BYTES = 58;
const GENERATED_SUFFIX = 'bcdfg'; // stands for the random suffix; every character is one the generator uses

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

const invalidEach = (rule: 'object-name' | 'object-metadata', path: FieldPath, value: string, details: readonly string[]): Finding[] =>
  details.map((d) => invalid({ rule, path }, value, d, shortNameHint(d)));

/** The name the apiserver will validate: the given one, or one generated from generateName. */
export function effectiveName(meta: ObjectMeta): string | undefined {
  if (meta.name) return meta.name;
  if (!meta.generateName) return undefined;
  return Buffer.from(meta.generateName).subarray(0, GENERATED_PREFIX_BYTES).toString() + GENERATED_SUFFIX;
}

export function checkName(meta: ObjectMeta, path: FieldPath): Finding[] {
  const findings: Finding[] = [];
  if (meta.generateName) {
    findings.push(...invalidEach('object-name', [...path, 'generateName'], meta.generateName, generateNamePrefix(meta.generateName)));
  }
  const name = effectiveName(meta);
  if (name === undefined) {
    findings.push(required({ rule: 'object-name', path: [...path, 'name'] }, 'name or generateName is required'));
  } else {
    findings.push(...invalidEach('object-name', [...path, 'name'], name, dnsSubdomain(name)));
  }
  return findings;
}

export function checkMetadata(meta: ObjectMeta, version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'object-metadata';
  const findings: Finding[] = [];
  // Runs on every review: a field path is built only for a finding.
  const report = (field: string, value: string, details: readonly string[]) => {
    if (details.length > 0) findings.push(...invalidEach(rule, [...path, field], value, details));
  };
  // The namespace may be left out: the apiserver takes it from the request URL.
  if (meta.namespace) report('namespace', meta.namespace, dnsLabel(meta.namespace, version.labelDotsMessage));
  if (meta.generation !== undefined && meta.generation < 0) {
    findings.push(invalid({ rule, path: [...path, 'generation'] }, meta.generation, 'must be greater than or equal to 0'));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    report('labels', key, qualifiedName(key, version.lengthInBytes));
    report('labels', value, labelValue(value, version.lengthInBytes));
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    report('annotations', key, qualifiedName(key.toLowerCase(), version.lengthInBytes));
    annotationBytes += byteLength(key) + byteLength(value);
  }
  if (annotationBytes > TOTAL_ANNOTATION_SIZE_LIMIT) {
    const detail = version.newTooLongText
      ? `may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`
      : `must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`;
    findings.push(tooLong({ rule, path: [...path, 'annotations'] }, detail));
  }
  if (meta.finalizers) findings.push(...checkFinalizers(meta.finalizers, version, [...path, 'finalizers']));
  if (meta.ownerReferences) findings.push(...checkOwnerReferences(meta, [...path, 'ownerReferences']));
  return findings;
}

function checkFinalizers(finalizers: string[], version: KubeVersion, path: FieldPath): Finding[] {
  const rule = 'object-metadata';
  const findings = finalizers.flatMap((name, i) => {
    const details = [...qualifiedName(name, version.lengthInBytes)];
    if (details.length === 0 && !name.includes('/') && !STANDARD_FINALIZERS.has(name)) {
      details.push('name is neither a standard finalizer name nor is it fully qualified');
    }
    return invalidEach(rule, [...path, i], name, details);
  });
  if (finalizers.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    findings.push(invalid({ rule, path }, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return findings;
}

function checkOwnerReferences(meta: ObjectMeta, path: FieldPath): Finding[] {
  const rule = 'object-metadata';
  const refs = meta.ownerReferences ?? [];
  const findings = refs.flatMap((ref, i) => {
    const at = (field: string) => ({ rule, path: [...path, i, field] } as const);
    const version = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[1] : ref.apiVersion;
    return [
      ...(version ? [] : [invalid(at('apiVersion'), ref.apiVersion, 'version must not be empty')]),
      ...(ref.kind ? [] : [invalid(at('kind'), ref.kind, 'kind must not be empty')]),
      ...(ref.name ? [] : [invalid(at('name'), ref.name, 'name must not be empty')]),
      ...(ref.uid ? [] : [invalid(at('uid'), ref.uid, 'uid must not be empty')]),
    ];
  });
  const controllers = refs.filter((r) => r.controller === true);
  if (controllers.length > 1) {
    findings.push(invalid({ rule, path }, controllers.map((r) => r.name), 'Only one reference can have Controller set to true'));
  }
  return findings;
}
