// A finding's field path, walked into the YAML nodes of its document, gives the place to point at.
import { type Document, type Node, isAlias, isMap, isNode, isScalar, isSeq } from 'yaml';
import type { FieldPath } from '../rules/path.ts';

/** 1-based, as editors and compilers count; columns in UTF-16 code units (SARIF's default). */
export interface Position { readonly line: number; readonly column: number }

/**
 * The source offset for a field path: the key of a mapping entry (`name:` in `name: Bad_Name`, the
 * field the finding is about) or the start of a sequence item. Where the path goes deeper than the
 * document does (a required field that is missing, a value the rules derived), the deepest node that
 * exists; so a label or annotation finding, whose path ends at `metadata.labels`, points at that map.
 */
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
