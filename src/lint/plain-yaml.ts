// Plain YAML, the kind nearly every manifest is, read quickly: js-yaml's event parser (a flat list
// of events with offsets into the text, five times faster than the yaml package's syntax tree)
// and values built from the events here. Scalars resolve through the yaml package's own YAML 1.1
// tags, so `yes` and `0755` read as they always did, and keys become strings the way its toJS
// makes them. Whatever this reader might read differently from the yaml package (anchors and
// aliases, tags, directives, merge keys, keys that repeat or are not scalars, long keys, and every
// syntax error, which the yaml package words) makes it decline, and the file is read by the yaml
// package instead (read.ts).
import { COLLECTION_STYLE, EVENT_ID, type Event, SCALAR_STYLE, type ScalarEvent, getScalarValue, parseEvents } from 'js-yaml';
import { type CollectionTag, Document, type ScalarTag, isScalar } from 'yaml';
import type { FieldPath } from '../rules/path.ts';
import { type SourceDocument, segmentKey } from './source.ts';
import { YAML_OPTIONS } from './yaml11.ts';

/** The yaml package errors on implicit keys longer than 1024 characters; such files are left to it. */
const MAX_KEY_CHARS = 1000;
const NO_RANGE = -1;

// The tags the yaml package resolves a plain scalar with under YAML_OPTIONS, in its order.
const isImplicit = (t: ScalarTag | CollectionTag): t is ScalarTag => t.collection === undefined && t.default === true && t.test !== undefined;
export const implicitTags = new Document(null, YAML_OPTIONS).schema.tags.filter(isImplicit);

/** Thrown to decline the file; never escapes this module. */
const decline = (): never => {
  throw new Error('left to the yaml package');
};

/**
 * The first characters of a text any of those tags may take (null: ~ n N; booleans: y Y t T o O n N f
 * F; numbers: + - . digits, and e E, which its float pattern takes as in "e5"); tests hold every tag
 * to it. Most keys and values start otherwise and are strings at once.
 */
export const MAY_RESOLVE_FIRST = '~nNyYtTfFoO+-.0123456789eE';
const mayResolve = new Set([...MAY_RESOLVE_FIRST].map((c) => c.charCodeAt(0)));

/** A plain scalar's value as the yaml package reads it (YAML 1.1 null, booleans, numbers, else the text). */
export function resolvePlain(source: string): unknown {
  if (source !== '' && !mayResolve.has(source.charCodeAt(0))) return source;
  for (const tag of implicitTags) {
    if (tag.test?.test(source) !== true) continue;
    const resolved: unknown = tag.resolve(source, decline, { intAsBigInt: false });
    return isScalar(resolved) ? resolved.value : resolved;
  }
  return source;
}

type Frame =
  | { readonly kind: 'document'; value: unknown }
  | { readonly kind: 'sequence'; readonly value: unknown[] }
  | { readonly kind: 'mapping'; readonly value: Record<string, unknown>; key: string | undefined };

/** Where a document's path is when the events cannot say (an empty node, a block scalar): the yaml package's answer. */
export type OffsetFallback = (document: number, path: FieldPath) => number;

/**
 * Texts the two parsers were seen to read differently (by the differential tests), left to the
 * yaml package whole. None is usual in a manifest. Each rule is tested on "\n" + the text, so that
 * `\n` marks a line start: a regular expression finds that character far faster than `^` with /m.
 */
const LEFT_TO_YAML: readonly RegExp[] = [
  // A line that starts with: a document end marker, or a document marker after spaces (the two count
  // documents differently); a directive; a tab in the leading white space, or an explicit key or
  // value (`? `, `: `) (the yaml package refuses some that js-yaml takes).
  /\n(?:\.\.\.(?:[ \t\r\n]|$)| +(?:---|\.\.\.)(?:[ \t\r\n]|$)|%| *\t| *[?:](?:[ \t\r\n]|$))/,
  // A block scalar's indentation indicator (`|2`): indented differently at the top level.
  /(?:\n|[:-] |\n--- )[|>](?:[1-9][+-]?|[+-][1-9])[ \t]*(?:#.*)?\r?(?:\n|$)/,
  // A line break other than \n and \r\n, on which YAML 1.1 and the yaml package differ.
  /\r(?!\n)|[\u0085\u2028\u2029]/,
];
/** A `---` line: documents are parsed one at a time, so their events are let go young. */
const DOCUMENT_START = /^---(?=[ \t\r\n]|$)/gm;

/**
 * Hands each document of the text to `visit`, in order, and says whether it read the whole text;
 * false when the yaml package should read it instead (for anything this reader declines, and for
 * every error, which the yaml package words with its position). Whatever `visit` was given is then
 * to be dropped.
 */
export function readPlainYaml(text: string, visit: (doc: SourceDocument) => void, fallback: OffsetFallback): boolean {
  const lines = `\n${text}`;
  if (LEFT_TO_YAML.some((r) => r.test(lines))) return false;
  const starts = [0, ...Array.from(text.matchAll(DOCUMENT_START), (m) => m.index).filter((i) => i > 0)];
  const pieces = pieceEvents(text, starts);
  let index = 0;
  for (let piece = 0; piece < starts.length; piece++) {
    let values: unknown[];
    try {
      const { text: pieceText, events } = pieces.of(piece);
      values = construct(pieceText, events);
    } catch {
      return false;
    }
    if (values.length > 1 || (piece > 0 && values.length === 0)) return false; // a `---` piece holds one document
    for (const value of values) {
      const document = ++index;
      visit({ index: document, value, offsetOf: (path) => pieces.offsetOf(piece, path) ?? fallback(document, path) });
    }
  }
  return true;
}

interface Piece { readonly piece: number; readonly text: string; readonly events: Event[]; readonly children: Map<number, number[]> }

/**
 * The events of the pieces of a text (a document and the comments before it), kept for the piece
 * read last only: while its documents are collected, and again when a finding in it needs a position.
 */
function pieceEvents(text: string, starts: readonly number[]) {
  let current: Piece | undefined;
  const of = (piece: number): Piece => {
    if (current?.piece !== piece) {
      const pieceText = text.slice(starts[piece], starts[piece + 1] ?? text.length);
      current = { piece, text: pieceText, events: parseEvents(pieceText, {}), children: new Map() };
    }
    return current;
  };
  /** The offset in the whole text of a path in the piece's document; undefined where the events do not say. */
  const offsetOf = (piece: number, path: FieldPath): number | undefined => {
    const { text: pieceText, events, children } = of(piece);
    const root = events.findIndex((e) => e.type === EVENT_ID.DOCUMENT) + 1;
    const offset = offsetIn(pieceText, events, root, path, children);
    return offset === undefined ? undefined : offset + (starts[piece] ?? 0);
  };
  return { of, offsetOf };
}

/** The values of the documents in the events. */
function construct(text: string, events: Event[]): unknown[] {
  const documents: unknown[] = [];
  const frames: Frame[] = [];
  const add = (value: unknown, scalarKey: ScalarEvent | undefined) => {
    const frame = frames.at(-1);
    if (frame === undefined) return decline();
    if (frame.kind === 'document') frame.value = value;
    else if (frame.kind === 'sequence') frame.value.push(value);
    else if (frame.key === undefined) frame.key = mapKey(frame.value, value, scalarKey);
    else {
      setEntry(frame.value, frame.key, value);
      frame.key = undefined;
    }
  };
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (event.directives.length > 0) decline();
        frames.push({ kind: 'document', value: null });
        break;
      case EVENT_ID.SCALAR: {
        if (event.tagStart !== NO_RANGE || event.anchorStart !== NO_RANGE) decline();
        const source = getScalarValue(text, event);
        add(event.style === SCALAR_STYLE.PLAIN ? resolvePlain(source) : source, event);
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING:
        if (event.tagStart !== NO_RANGE || event.anchorStart !== NO_RANGE) decline();
        frames.push(event.type === EVENT_ID.SEQUENCE ? { kind: 'sequence', value: [] } : { kind: 'mapping', value: {}, key: undefined });
        break;
      case EVENT_ID.POP: {
        const frame = frames.pop();
        if (frame === undefined) return decline();
        if (frame.kind === 'document') documents.push(frame.value);
        else add(frame.value, undefined);
        break;
      }
      default: // an alias
        decline();
    }
  }
  return documents;
}

/** The key as the yaml package's toJS makes it: null is "", other scalars their String(). */
function mapKey(map: Record<string, unknown>, key: unknown, event: ScalarEvent | undefined): string {
  if (event === undefined || event.valueEnd - event.valueStart > MAX_KEY_CHARS) return decline(); // a collection as a key, or a long one
  const name = key === null ? '' : String(key);
  // `<<` merges in YAML 1.1, and a repeated key is an error or, after String(), an overwrite.
  if (name === '<<' || Object.hasOwn(map, name)) return decline();
  return name;
}

function setEntry(map: Record<string, unknown>, key: string, value: unknown): void {
  // As the yaml package does: `__proto__` and other inherited names become own properties.
  if (key in map) Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  else map[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Positions from the events

/** Where the yaml package's node for this event starts, or undefined where the events do not say. */
function nodeStart(text: string, event: Event | undefined): number | undefined {
  switch (event?.type) {
    case EVENT_ID.SEQUENCE:
    case EVENT_ID.MAPPING: {
      // Only where the start is the collection's first character; not, say, a pair in a flow sequence (`[a: 1]`).
      const expected = event.style === COLLECTION_STYLE.FLOW ? (event.type === EVENT_ID.SEQUENCE ? '[' : '{') : event.type === EVENT_ID.SEQUENCE ? '-' : undefined;
      return expected === undefined || text[event.start] === expected ? event.start : undefined;
    }
    case EVENT_ID.SCALAR:
      if (event.valueStart === NO_RANGE) return undefined; // an empty node
      if (event.style === SCALAR_STYLE.PLAIN) return event.valueStart;
      if (event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED) return event.valueStart - 1;
      return undefined; // a block scalar: its header is not in the event
    default:
      return undefined;
  }
}

/** Offset of the path in the document whose root node is event `root`; undefined where only the yaml package can say. */
function offsetIn(text: string, events: Event[], root: number, path: FieldPath, memo: Map<number, number[]>): number | undefined {
  let node = root;
  let offset = nodeStart(text, events[root]);
  if (offset === undefined) return undefined;
  for (const segment of path) {
    const event = events[node];
    let next: number | undefined;
    let at: number | undefined;
    if (typeof segment === 'number') {
      if (event?.type !== EVENT_ID.SEQUENCE) break;
      next = childrenOf(events, node, memo)[segment];
      at = nodeStart(text, events[next ?? -1]);
    } else {
      if (event?.type !== EVENT_ID.MAPPING) break;
      const key = segmentKey(segment);
      const entries = childrenOf(events, node, memo);
      for (let k = 0; k < entries.length; k += 2) {
        const keyEvent = events[entries[k] ?? -1];
        // The yaml package's locate compares String(key value): a `~` key is "null" there.
        if (keyEvent?.type === EVENT_ID.SCALAR && String(keyValue(text, keyEvent)) === key) {
          next = entries[k + 1];
          at = nodeStart(text, keyEvent);
          break;
        }
      }
    }
    if (next === undefined) break;
    if (at === undefined) return undefined;
    offset = at;
    node = next;
  }
  return offset;
}

const keyValue = (text: string, event: ScalarEvent): unknown => {
  const source = getScalarValue(text, event);
  return event.style === SCALAR_STYLE.PLAIN ? resolvePlain(source) : source;
};

/** The event indexes of a collection's children (for a mapping: key, value, key, value...). */
function childrenOf(events: Event[], node: number, memo: Map<number, number[]>): number[] {
  const known = memo.get(node);
  if (known !== undefined) return known;
  const found: number[] = [];
  let i = node + 1;
  while (i < events.length && events[i]?.type !== EVENT_ID.POP) {
    found.push(i);
    i = afterNode(events, i);
  }
  memo.set(node, found);
  return found;
}

function afterNode(events: Event[], start: number): number {
  const type = events[start]?.type;
  if (type !== EVENT_ID.SEQUENCE && type !== EVENT_ID.MAPPING) return start + 1;
  let depth = 0;
  for (let i = start; i < events.length; i++) {
    const t = events[i]?.type;
    if (t === EVENT_ID.SEQUENCE || t === EVENT_ID.MAPPING) depth++;
    else if (t === EVENT_ID.POP && --depth === 0) return i + 1;
  }
  return events.length;
}
