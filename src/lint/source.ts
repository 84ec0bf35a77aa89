// What the readers of a manifest file (JSON, plain YAML, full YAML) give back: the documents'
// values, and a way to find where a field path starts in the text, asked only for the few paths
// that are reported. Offsets become lines and columns here, in one place.
import type { FieldPath } from '../rules/path.ts';

/** 1-based, as editors and compilers count; columns in UTF-16 code units (SARIF's default). */
export interface Position { readonly line: number; readonly column: number }

export interface SourceDocument {
  /** 1-based index of the YAML document in the file. */
  readonly index: number;
  readonly value: unknown;
  /**
   * The offset a field path points at: the key of a mapping entry (`name:` in `name: Bad_Name`) or
   * the start of a sequence item. Where the path goes deeper than the document does (a required
   * field that is missing, a value the rules derived), the deepest node that exists; so a label or
   * annotation finding, whose path ends at `metadata.labels`, points at that map.
   */
  readonly offsetOf: (path: FieldPath) => number;
}

/**
 * Line and column of an offset, counting a line after each \n (a lone \r starts no line, as in the
 * yaml package's LineCounter). The line starts are found on the first call only.
 */
export function positionsIn(text: string): (offset: number) => Position {
  let starts: number[] | undefined;
  return (offset) => {
    if (starts === undefined) {
      starts = [0];
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    }
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((starts[mid] ?? 0) < offset) low = mid + 1;
      else high = mid;
    }
    if (starts[low] === offset) return { line: low + 1, column: 1 };
    return { line: low, column: offset - (starts[low - 1] ?? 0) + 1 };
  };
}

/** A path segment as the key it names, the way the readers compare keys. */
export const segmentKey = (segment: string | { key: string }): string => (typeof segment === 'string' ? segment : segment.key);
