// The yaml package reading a file as kubectl does (YAML 1.1), keeping every node: the reader for
// whatever the faster ones decline (json-text.ts, plain-yaml.ts), and the one that words syntax
// errors. Positions walk the nodes.
import { type Document, type Node, type Tags, isAlias, isMap, isNode, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { FieldPath } from '../rules/path.ts';
import { messageOf } from '../errors.ts';
import type { SourceDocument } from './source.ts';

/**
 * kubectl reads YAML with go-yaml v2, a YAML 1.1 parser: `yes`/`on` are booleans, `0755` is octal,
 * `<<` merges. It does not read `1:30` as sexagesimal nor dates as timestamps (both stay strings),
 * so those two YAML 1.1 types are left out.
 */
export const YAML_OPTIONS = {
  version: '1.1',
  customTags: (tags: Tags): Tags => tags.filter((t) => typeof t === 'string' || !(t.tag === 'tag:yaml.org,2002:timestamp' || ('format' in t && t.format === 'TIME'))),
} as const;

export type YamlRead =
  | { readonly ok: true; readonly documents: SourceDocument[] }
  | { readonly ok: false; readonly message: string; readonly offset?: number | undefined };

/** Every document, or the first error: a YAML error anywhere fails the file, as positions after it cannot be trusted. */
export function readYaml(text: string): YamlRead {
  const docs = parseAllDocuments(text, YAML_OPTIONS);
  if (!Array.isArray(docs)) return { ok: true, documents: [] }; // an empty stream: nothing but comments or blanks
  for (const doc of docs) {
    const [error] = doc.errors;
    if (error) return { ok: false, message: `YAML syntax error: ${yamlReason(error.message)}; nothing in this file was checked`, offset: error.pos[0] };
  }
  const documents: SourceDocument[] = [];
  for (const [i, doc] of docs.entries()) {
    try {
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      documents.push({ index: i + 1, value, offsetOf: (path) => locate(doc.contents, path, doc) });
    } catch (err) {
      return { ok: false, message: `cannot read document ${i + 1}: ${messageOf(err)}`, offset: doc.contents?.range?.[0] };
    }
  }
  return { ok: true, documents };
}

/** The yaml package ends its message with ` at line L, column C:` and a code frame; we give the position ourselves. */
const yamlReason = (message: string): string =>
  (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?\s*$/, '').replace(/:\s*$/, '');

/** SourceDocument.offsetOf over the yaml package's nodes. */
export function locate(root: Node | null, path: FieldPath, doc: Document.Parsed): number {
  let node: Node | null = root;
  let offset = root?.range?.[0] ?? 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc) ?? null;
    if (typeof segment === 'number') {
      const item: unknown = isSeq(node) ? node.items[segment] : undefined;
      if (!isNode(item)) break;
      offset = item.range?.[0] ?? offset;
      node = item;
      continue;
    }
    const key = typeof segment === 'string' ? segment : segment.key;
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair === undefined || !isScalar(pair.key)) break;
    offset = pair.key.range?.[0] ?? offset;
    node = isNode(pair.value) ? pair.value : null;
  }
  return offset;
}
