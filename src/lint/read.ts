// Reading manifests for lint: paths become files (directories walked in sorted order), files and
// stdin become text, text becomes documents (with a way back to line and column for any field
// path), and List kinds become their items. Every problem is a value with the file name and a
// reason; nothing here throws at the caller.
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isHandledKind } from '../rules/objects.ts';
import type { FieldPath } from '../rules/path.ts';
import { readJson } from './json-text.ts';
import { readPlainYaml } from './plain-yaml.ts';
import { type Position, type SourceDocument, positionsIn } from './source.ts';
import { type YamlRead, readYaml } from './yaml11.ts';
import { messageOf } from '../errors.ts';

/**
 * The largest file (or stdin) lint reads. The apiserver refuses request bodies over 3 MiB, so no
 * single object is larger than that, but one file may hold a whole application (the output of
 * `kustomize build`). Past 10 MiB a file is far more likely a log or a dump given by mistake. A file
 * is read whole, one at a time: a 10 MB YAML List, a single document whose parser events are kept
 * for positions, peaks at about 300 MB.
 */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** What a directory walk picks up; a file named on the command line is read whatever its name. */
export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];
/** The PATH that means standard input, and the name it is reported under. */
export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';

/** Kinds whose `items` are objects of their own (what `kubectl get -o yaml` and the API return). */
const LIST_KINDS: Readonly<Record<string, string | undefined>> = {
  List: undefined,
  EndpointsList: 'Endpoints',
  EndpointSliceList: 'EndpointSlice',
};

export interface InputError {
  readonly file: string;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly message: string;
}

export interface Source { readonly file: string; readonly text: string }

/** An Endpoints or EndpointSlice found in a file, with a way to find any field path in its source. */
export interface Manifest {
  readonly file: string;
  /** 1-based index of the YAML document in the file. */
  readonly document: number;
  readonly object: unknown;
  readonly position: Position;
  readonly locate: (path: FieldPath) => Position;
  /** How kubectl reads the file: as JSON (its keys as written) or as YAML (converted to JSON, keys sorted). */
  readonly syntax: Syntax;
  /** For an item of a List document, that document (the outermost list): kubectl maps and reports items apart. */
  readonly list?: ListDocument | undefined;
}

export type Syntax = 'json' | 'yaml';

export interface ListDocument {
  readonly kind: string;
  readonly apiVersion: string | null;
  readonly name: string | null;
  readonly namespace: string | null;
}

/** A document or list item that is not an object lint checks. */
export interface Skipped {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The kind, or what the document is when it has none (`no kind`, `a YAML sequence`...). */
  readonly kind: string;
  readonly apiVersion?: string | undefined;
  /** The document itself, for commands that use other kinds (convert reads Services). */
  readonly object?: unknown;
}

/** What a file holds; `manifests` are what the caller made of each (lint keeps only its report). */
export interface ParsedFile<T = Manifest> {
  readonly manifests: T[];
  readonly skipped: Skipped[];
  readonly error?: InputError | undefined;
}

// ---------------------------------------------------------------------------------------------
// Paths to files

export interface FileList { readonly files: string[]; readonly errors: InputError[] }

/**
 * The files to read, in command-line order; a directory contributes its .yaml, .yml and .json files
 * in sorted order (byte order of the names, so the output is the same on every machine). Hidden
 * entries (`.git`, `.github`) are not walked. A file reached twice is read once.
 */
export async function listFiles(paths: readonly string[]): Promise<FileList> {
  const files: string[] = [];
  const errors: InputError[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    const key = file === STDIN_PATH ? file : path.resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  for (const p of paths) {
    if (p === STDIN_PATH) {
      add(p);
      continue;
    }
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      errors.push({ file: p, message: `cannot read: ${fsReason(err)}` });
      continue;
    }
    if (!info.isDirectory()) {
      add(p);
      continue;
    }
    const found = await walk(p, errors);
    if (found.length === 0 && !errors.some((e) => e.file.startsWith(p))) {
      errors.push({ file: p, message: `directory holds no ${MANIFEST_EXTENSIONS.join(', ')} files; give the directory with the manifests` });
    }
    found.forEach(add);
  }
  return { files, errors };
}

async function walk(dir: string, errors: InputError[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    errors.push({ file: dir, message: `cannot read directory: ${fsReason(err)}` });
    return [];
  }
  const found: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    // Symbolic links to directories are not followed, so a link loop cannot hang the walk.
    if (entry.isDirectory()) found.push(...(await walk(full, errors)));
    else if ((entry.isFile() || entry.isSymbolicLink()) && MANIFEST_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) found.push(full);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Files to text

export type ReadResult = { ok: true; source: Source } | { ok: false; error: InputError };

/** Reads one file, or stdin for `-`, within MAX_FILE_BYTES, as UTF-8 text. */
export async function readSource(file: string, stdin?: AsyncIterable<Uint8Array | string>): Promise<ReadResult> {
  const fail = (message: string): ReadResult => ({ ok: false, error: { file: displayName(file), message } });
  if (file === STDIN_PATH) {
    if (stdin === undefined) return fail('standard input is not available here; give file names instead of -');
    const read = await readLimited(stdin);
    return read.ok ? decodeText(STDIN_NAME, read.bytes) : fail(read.message);
  }
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    return fail(`cannot read: ${fsReason(err)}`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) return fail('is a directory'); // only reachable through a symbolic link
    // Regular files are refused by size before reading; pipes (<(kustomize build)) have none and are counted.
    if (info.isFile() && info.size > MAX_FILE_BYTES) return fail(tooLarge(info.size));
    const read = await readLimited(handle.createReadStream({ autoClose: false }));
    return read.ok ? decodeText(file, read.bytes) : fail(read.message);
  } catch (err) {
    return fail(`cannot read: ${fsReason(err)}`);
  } finally {
    await handle.close();
  }
}

/** Everything the paths hold: the files that parsed, and why each other one could not be read. */
export interface Inputs {
  readonly files: string[];
  readonly manifests: Manifest[];
  readonly skipped: Skipped[];
  readonly errors: InputError[];
}

/** One input: what its file holds, or why it could not be read. */
export type FileRead<T = Manifest> =
  | { readonly ok: true; readonly file: string; readonly parsed: ParsedFile<T> }
  | { readonly ok: false; readonly error: InputError };

/**
 * Lists the paths, then reads and parses one file at a time: a caller that is done with a file
 * before asking for the next holds one file in memory, not all of them. `use` is applied to each
 * object as soon as its document is read (see parseManifests).
 */
export function readFiles(paths: readonly string[], stdin?: AsyncIterable<Uint8Array | string>): AsyncGenerator<FileRead>;
export function readFiles<T>(paths: readonly string[], stdin: AsyncIterable<Uint8Array | string> | undefined, use: (m: Manifest) => T): AsyncGenerator<FileRead<T>>;
export async function* readFiles<T>(paths: readonly string[], stdin?: AsyncIterable<Uint8Array | string>, use?: (m: Manifest) => T): AsyncGenerator<FileRead<T | Manifest>> {
  const listed = await listFiles(paths);
  for (const error of listed.errors) yield { ok: false, error };
  for (const file of listed.files) {
    const read = await readSource(file, stdin);
    yield read.ok ? { ok: true, file: read.source.file, parsed: use === undefined ? parseManifests(read.source) : parseManifests(read.source, use) } : read;
  }
}

/** Lists, reads and parses every path; an unreadable input is an error, the rest is still read. */
export async function readInputs(paths: readonly string[], stdin?: AsyncIterable<Uint8Array | string>): Promise<Inputs> {
  const inputs: Inputs = { files: [], manifests: [], skipped: [], errors: [] };
  for await (const read of readFiles(paths, stdin)) {
    if (!read.ok) {
      inputs.errors.push(read.error);
      continue;
    }
    if (read.parsed.error) inputs.errors.push(read.parsed.error);
    else inputs.files.push(read.file);
    inputs.skipped.push(...read.parsed.skipped);
    inputs.manifests.push(...read.parsed.manifests);
  }
  return inputs;
}

export const displayName = (file: string): string => (file === STDIN_PATH ? STDIN_NAME : file);

const tooLarge = (size?: number): string =>
  `is ${size === undefined ? '' : `${(size / 1024 / 1024).toFixed(1)} MiB, `}over the ${MAX_FILE_BYTES / 1024 / 1024} MiB limit ` +
  'for one manifest file; split it or give the manifests themselves';

type Bytes = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

async function readLimited(chunks: AsyncIterable<Uint8Array | string>): Promise<Bytes> {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of chunks) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      total += bytes.length;
      if (total > MAX_FILE_BYTES) return { ok: false, message: tooLarge() };
      parts.push(bytes);
    }
  } catch (err) {
    return { ok: false, message: `cannot read: ${fsReason(err)}` };
  }
  return { ok: true, bytes: Buffer.concat(parts, total) };
}

/** Text or a reason it is not: binary (a NUL byte), UTF-16, or not UTF-8. A UTF-8 byte order mark is dropped. */
export function decodeText(file: string, bytes: Uint8Array): ReadResult {
  const fail = (message: string): ReadResult => ({ ok: false, error: { file, message } });
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return fail('is UTF-16 text; save it as UTF-8 (kubectl reads UTF-8 only)');
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return fail(`is a binary file (NUL byte at offset ${nul}), not YAML or JSON; give manifest files only`);
  try {
    return { ok: true, source: { file, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) } };
  } catch {
    return fail('is not UTF-8 text; save it as UTF-8');
  }
}

function fsReason(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return messageOf(err);
}

// ---------------------------------------------------------------------------------------------
// Text to objects

/**
 * The Endpoints and EndpointSlices in a text, each with its position, and what else was there.
 * A YAML error anywhere makes the whole file an input error: positions after it cannot be trusted.
 * `use` turns each object into what the caller keeps as soon as its document is read, so a file
 * of many large objects need not be held whole (lint keeps a small report per object); it may run
 * again for an object when a file has to be read a second way, and its results are dropped when
 * the file turns out to be unreadable.
 */
export function parseManifests(source: Source): ParsedFile;
export function parseManifests<T>(source: Source, use: (m: Manifest) => T): ParsedFile<T>;
export function parseManifests<T>(source: Source, use?: (m: Manifest) => T): ParsedFile<T | Manifest> {
  const { file, text } = source;
  const at = positionsIn(text);
  let found = nothingFound<T | Manifest>();
  const add = (m: Manifest) => found.manifests.push(use === undefined ? m : use(m));
  const visit = (doc: SourceDocument, syntax: Syntax) => {
    if (doc.value === null || doc.value === undefined) return; // `---` with nothing after it: kubectl skips it too
    found.documents++;
    collect(doc.value, [], { file, doc, at, syntax }, add, found.skipped, undefined);
  };
  const read = readDocuments(text, visit, () => (found = nothingFound()));
  if (!read.ok) return { manifests: [], skipped: [], error: { file, ...(read.offset === undefined ? {} : at(read.offset)), message: read.message } };
  if (found.documents === 0) return { manifests: [], skipped: [], error: { file, message: EMPTY } };
  return { manifests: found.manifests, skipped: found.skipped };
}

interface Found<T> { readonly manifests: T[]; readonly skipped: Skipped[]; documents: number }
const nothingFound = <T>(): Found<T> => ({ manifests: [], skipped: [], documents: 0 });

/**
 * Hands each document of the text to `visit`, read the fastest way that reads it as kubectl does:
 * JSON.parse for JSON, js-yaml's events for plain YAML, else the yaml package, which also words
 * every error. When plain YAML turns out to need the yaml package, `restart` is called first.
 */
function readDocuments(text: string, visit: (doc: SourceDocument, syntax: Syntax) => void, restart: () => void): { ok: true } | Extract<YamlRead, { ok: false }> {
  const json = readJson(text);
  if (json !== undefined) {
    // kubectl takes a text for JSON when it starts with "{"; a JSON array it reads as YAML.
    visit(json, Array.isArray(json.value) ? 'yaml' : 'json');
    return { ok: true };
  }
  let full: YamlRead | undefined; // read by the yaml package only if a position needs it
  const fullOffset = (document: number, path: FieldPath): number => {
    full ??= readYaml(text);
    return (full.ok ? full.documents[document - 1]?.offsetOf(path) : undefined) ?? 0;
  };
  const visitYaml = (doc: SourceDocument) => visit(doc, 'yaml');
  if (readPlainYaml(text, visitYaml, fullOffset)) return { ok: true };
  restart();
  full ??= readYaml(text);
  if (!full.ok) return full;
  full.documents.forEach(visitYaml);
  return { ok: true };
}

const EMPTY = 'is empty: no YAML documents, only blanks or comments; add a manifest or leave the file out';

interface Where {
  readonly file: string;
  readonly syntax: Syntax;
  readonly doc: SourceDocument;
  readonly at: (offset: number) => Position;
}

/** Adds an object (or a list's items) at `base` in its document to manifests or skipped. */
function collect(value: unknown, base: FieldPath, where: Where, add: (m: Manifest) => void, skipped: Skipped[], list?: { document: ListDocument; itemKind: string | undefined }): void {
  const locateIn = (p: FieldPath) => where.at(where.doc.offsetOf(base.length === 0 ? p : [...base, ...p]));
  const position = locateIn([]);
  if (!isRecord(value)) {
    skipped.push({ file: where.file, ...position, kind: value === null ? 'null' : Array.isArray(value) ? 'a YAML sequence' : `a ${typeof value}` });
    return;
  }
  const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : undefined;
  // Items of an EndpointSliceList from the API carry no kind or apiVersion: they are the list's.
  const listKind = list?.itemKind;
  const object = listKind !== undefined && value.kind === undefined ? { kind: listKind, ...value } : value;
  const kind = typeof object.kind === 'string' ? object.kind : undefined;
  if (kind !== undefined && Object.hasOwn(LIST_KINDS, kind)) {
    const items = Array.isArray(object.items) ? object.items : [];
    const itemKind = LIST_KINDS[kind];
    const document = list?.document ?? { kind, apiVersion: apiVersion ?? null, ...nameOf(object) };
    items.forEach((item: unknown, i: number) => {
      const withVersion = itemKind !== undefined && isRecord(item) && item.apiVersion === undefined && apiVersion !== undefined
        ? { apiVersion, ...item } : item;
      collect(withVersion, [...base, 'items', i], where, add, skipped, { document, itemKind });
    });
    return;
  }
  if (!isHandledKind(object)) {
    skipped.push({ file: where.file, ...position, kind: kind ?? 'no kind', apiVersion, object });
    return;
  }
  add({ file: where.file, document: where.doc.index, object, position, locate: locateIn, syntax: where.syntax, list: list?.document });
}

/** metadata.name and metadata.namespace, as strings when they are. */
function nameOf(object: Record<string, unknown>): { name: string | null; namespace: string | null } {
  const meta = isRecord(object.metadata) ? object.metadata : {};
  return { name: typeof meta.name === 'string' ? meta.name : null, namespace: typeof meta.namespace === 'string' ? meta.namespace : null };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
