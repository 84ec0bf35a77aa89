// A JSON file read with JSON.parse, which is thirty times faster than a YAML parser and keeps no
// syntax tree. Positions are found afterwards, for the few paths reported, by scanning the text
// from the top; what a scan learns about a container (where its entries start) is kept, so
// placing each of a List's thousand items costs one pass over the file, not one pass per item.
import type { FieldPath } from '../rules/path.ts';
import { type SourceDocument, segmentKey } from './source.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const LONE_CARRIAGE_RETURN = /\r(?!\n)/;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The text as one JSON document, or undefined when it is not JSON (then it is read as YAML, which
 * also words its errors) or when an object repeats a key: JSON.parse keeps the last, while YAML,
 * and so lint, refuses the file.
 */
export function readJson(text: string): SourceDocument | undefined {
  const start = skipSpace(text, 0);
  const first = text.charCodeAt(start);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return undefined;
  if (LONE_CARRIAGE_RETURN.test(text)) return undefined; // white space to JSON, an error to the yaml package
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (keysInText(text) !== keysInValue(value)) return undefined;
  const entries = new Map<number, Entry[]>();
  return { index: 1, value, offsetOf: (path) => offsetOf(text, start, path, entries) };
}

/** Where a container's entry starts: an object's key (its opening quote) or an array's item. */
interface Entry { readonly key?: string; readonly at: number; readonly value: number }

function offsetOf(text: string, root: number, path: FieldPath, memo: Map<number, Entry[]>): number {
  let offset = root;
  let node = root;
  for (const segment of path) {
    const kind = text.charCodeAt(node);
    let entry: Entry | undefined;
    if (typeof segment === 'number') {
      if (kind !== OPEN_BRACKET) break;
      entry = entriesOf(text, node, memo)[segment];
    } else {
      if (kind !== OPEN_BRACE) break;
      const key = segmentKey(segment);
      entry = entriesOf(text, node, memo).find((e) => e.key === key);
    }
    if (entry === undefined) break;
    offset = entry.at;
    node = entry.value;
  }
  return offset;
}

function entriesOf(text: string, container: number, memo: Map<number, Entry[]>): Entry[] {
  const known = memo.get(container);
  if (known !== undefined) return known;
  const isObject = text.charCodeAt(container) === OPEN_BRACE;
  const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
  const entries: Entry[] = [];
  let i = skipSpace(text, container + 1);
  while (i < text.length && text.charCodeAt(i) !== close) {
    if (isObject) {
      const keyEnd = stringEnd(text, i);
      const raw = text.slice(i + 1, keyEnd - 1);
      const key = raw.includes('\\') ? String(JSON.parse(`"${raw}"`)) : raw;
      const value = skipSpace(text, skipSpace(text, keyEnd) + 1); // past the colon
      entries.push({ key, at: i, value });
      i = valueEnd(text, value);
    } else {
      entries.push({ at: i, value: i });
      i = valueEnd(text, i);
    }
    i = skipSpace(text, i);
    if (text.charCodeAt(i) === COMMA) i = skipSpace(text, i + 1);
  }
  memo.set(container, entries);
  return entries;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The offset after the string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  let close = text.indexOf('"', open + 1);
  while (close !== -1) {
    let backslashes = 0;
    while (text.charCodeAt(close - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return close + 1;
    close = text.indexOf('"', close + 1);
  }
  return text.length;
}

/** The offset after the value starting at `start` (the text is valid JSON: JSON.parse took it). */
function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) return stringEnd(text, start);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = start;
    for (let c = text.charCodeAt(i); i < text.length && c !== COMMA && c !== CLOSE_BRACE && c !== CLOSE_BRACKET && !isSpace(c); c = text.charCodeAt(++i));
    return i;
  }
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i) - 1;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1;
  }
  return text.length;
}

/** How many keys the text writes: strings followed by a colon. */
function keysInText(text: string): number {
  let keys = 0;
  for (let open = text.indexOf('"'); open !== -1; ) {
    const end = stringEnd(text, open);
    if (text.charCodeAt(skipSpace(text, end)) === COLON) keys++;
    open = text.indexOf('"', end);
  }
  return keys;
}

/** How many keys the parsed value holds; fewer than the text writes when one was repeated. */
function keysInValue(value: unknown): number {
  let keys = 0;
  const pending: unknown[] = [value]; // a stack, not recursion: JSON.parse takes nesting deeper than the call stack
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null) continue;
    const children = Array.isArray(v) ? v : Object.values(v);
    if (!Array.isArray(v)) keys += children.length;
    for (const child of children) pending.push(child);
  }
  return keys;
}
