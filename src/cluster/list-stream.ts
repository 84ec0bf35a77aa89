// A Kubernetes list read as it arrives: each element of its top-level "items" array is parsed on
// its own (JSON.parse of that element's text) and handed over, so a page of 500 slices of 100
// endpoints (12 MB of JSON) is never held whole. Every item is short-lived and dies young, where
// a whole parsed page survives long enough to be promoted and grow the old generation.
// The scanner only tracks strings and nesting; the JSON itself is parsed by JSON.parse.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const SPACE = 0x20;
const ITEMS = Buffer.from('items');

export class ListStreamError extends Error {}

/**
 * Reads a list body: calls `onItem` with each object in its top-level `items`, in order, as soon
 * as it is complete, and returns the rest of the list (kind, metadata...) with `items` empty.
 * Malformed JSON is a ListStreamError.
 */
export async function readList(body: AsyncIterable<Uint8Array>, onItem: (item: unknown) => void): Promise<Record<string, unknown>> {
  const decoder = new TextDecoder();
  const rest: Uint8Array[] = []; // the list without its items' contents
  let item: Uint8Array[] = []; // pieces of the item being read, across chunks
  let depth = 0;
  let inString = false;
  let escaped = false;
  let inItems = false; // inside the top-level items array
  let itemStart = -1; // where the current item starts in this chunk (-1: it started in an earlier one)
  let readingItem = false;
  // A string at depth 1 is a key or a value of the list; keyMatch follows whether it spells "items".
  let keyMatch = -1;
  let itemsKey = false;

  const parseItem = (): void => {
    // Piece by piece (a character may be split between two): no copy of the item's bytes.
    const text = item.map((piece, i) => decoder.decode(piece, { stream: i < item.length - 1 })).join('');
    item = [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ListStreamError(`an item of the list is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    onItem(value);
  };

  for await (const chunk of body) {
    let restStart = inItems ? -1 : 0; // where the part of this chunk that belongs to `rest` starts
    itemStart = readingItem ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] ?? 0;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) {
          inString = false;
          if (depth === 1) itemsKey = keyMatch === ITEMS.length;
        } else if (depth === 1 && keyMatch >= 0) keyMatch = keyMatch < ITEMS.length && byte === ITEMS[keyMatch] ? keyMatch + 1 : -1;
        continue;
      }
      if (byte === QUOTE) {
        inString = true;
        if (depth === 1) keyMatch = 0;
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (inItems && depth === 2) {
          readingItem = true;
          itemStart = i;
        }
        depth += 1;
        if (depth === 2 && byte === OPEN_BRACKET && itemsKey) {
          inItems = true;
          rest.push(chunk.subarray(restStart, i + 1));
          restStart = -1;
        }
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        depth -= 1;
        if (depth < 0) throw new ListStreamError('the list is not JSON: a closing bracket without an opening one');
        if (inItems && depth === 2 && readingItem) {
          item.push(chunk.subarray(itemStart, i + 1));
          readingItem = false;
          itemStart = -1;
          parseItem();
        } else if (inItems && depth === 1) {
          inItems = false;
          restStart = i;
        }
      } else if (depth === 1 && byte !== COLON && byte > SPACE) {
        itemsKey = false; // a value other than an array follows the key, or a comma
      }
    }
    if (readingItem) item.push(chunk.subarray(itemStart < 0 ? 0 : itemStart));
    if (restStart >= 0) rest.push(chunk.subarray(restStart));
  }
  if (depth !== 0 || inString) throw new ListStreamError('the list ended early: its JSON is cut short');
  let list: unknown;
  try {
    list = JSON.parse(decoder.decode(Buffer.concat(rest)));
  } catch (err) {
    throw new ListStreamError(`the list is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof list !== 'object' || list === null || Array.isArray(list)) throw new ListStreamError('the list is not a JSON object');
  return list as Record<string, unknown>;
}
