// The captured fixtures from a real kube-apiserver, read as they are.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures');

export interface VerdictCase {
  id: string;
  description: string;
  apiVersion: string;
  kind: string;
  manifest: unknown;
  accepted: boolean;
  message: string;
  status: { details?: { causes?: { field?: string; message: string }[] } } | null;
}

export const readVerdicts = (file: string): VerdictCase[] =>
  readFileSync(path.join(FIXTURES, file), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as VerdictCase);

export const VERDICT_FILES = [
  { file: 'apiserver-verdicts.jsonl', version: '1.24' },
  { file: 'apiserver-verdicts-1.36.jsonl', version: '1.36' },
] as const;

export const admissionFixtureNames = (): string[] =>
  readdirSync(path.join(FIXTURES, 'admission')).filter((f) => f.endsWith('.json')).sort();

export const readAdmissionFixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(FIXTURES, 'admission', name), 'utf8')) as Record<string, unknown>;

export interface MirrorStep {
  action: 'replaceEndpoints' | 'deleteEndpoints' | 'deleteService' | 'patchService' | 'createService';
  endpoints?: unknown;
  service?: unknown;
  patch?: unknown;
  slices: Record<string, unknown>[];
}
export interface MirrorCase {
  id: string;
  description: string;
  service: unknown;
  endpoints: unknown;
  slices: Record<string, unknown>[];
  events: { type: string; reason: string; message: string }[];
  steps?: MirrorStep[] | null;
}

export const readMirrorCases = (): MirrorCase[] =>
  readFileSync(path.join(FIXTURES, 'mirroring.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as MirrorCase);
