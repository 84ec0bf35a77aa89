// readList: a Kubernetes list read item by item as its bytes arrive gives exactly what JSON.parse
// of the whole body gives, wherever the chunks break; malformed or cut-short lists are errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ListStreamError, readList } from '../src/cluster/list-stream.ts';

async function* chunked(text: string, cuts: readonly number[]): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    yield bytes.subarray(start, cut);
    start = cut;
  }
  yield bytes.subarray(start);
}

async function read(text: string, cuts: readonly number[] = []): Promise<{ items: unknown[]; rest: Record<string, unknown> }> {
  const items: unknown[] = [];
  const rest = await readList(chunked(text, cuts), (item) => items.push(item));
  return { items, rest };
}

/** What reading must give: the items, and the list with its items emptied. */
function expected(text: string): { items: unknown[]; rest: Record<string, unknown> } {
  const list = JSON.parse(text) as Record<string, unknown>;
  const items = Array.isArray(list.items) ? list.items.filter((i) => typeof i === 'object' && i !== null) : [];
  return { items, rest: { ...list, ...(Array.isArray(list.items) ? { items: [] } : {}) } };
}

const TRICKY = JSON.stringify({
  kind: 'EndpointSliceList',
  apiVersion: 'discovery.k8s.io/v1',
  note: 'items: [ { "not": "an item" } ]',
  metadata: { resourceVersion: '7', continue: 'eyJ2IjoibWV0YSJ9', remainingItemCount: 3, items: ['nested', 'not', 'top'] },
  items: [
    { metadata: { name: 'a', annotations: { quote: 'say "hi" \\ and } ] { [' } }, endpoints: [{ addresses: ['10.0.0.1'] }] },
    { metadata: { name: 'b\u00e9\u4e2d\u{1f600}' }, items: [{ deep: [[], {}] }] },
    {},
  ],
  after: { items: [{ x: 1 }] },
});

describe('readList', () => {
  test('gives each top-level item and the rest of the list, across every possible split into two chunks', async () => {
    const want = expected(TRICKY);
    assert.equal(want.items.length, 3);
    for (let cut = 0; cut <= Buffer.byteLength(TRICKY); cut++) {
      assert.deepEqual(await read(TRICKY, [cut]), want, `split at byte ${cut}`);
    }
  });

  test('gives what JSON.parse gives for any list, chunked anywhere', async () => {
    const value = fc.jsonValue({ maxDepth: 4 });
    await fc.assert(fc.asyncProperty(
      fc.record({ kind: fc.string(), metadata: fc.dictionary(fc.string(), value), items: fc.array(fc.dictionary(fc.string(), value), { maxLength: 6 }) }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (list, rawCuts) => {
        const text = JSON.stringify(list, null, rawCuts.length % 2 === 0 ? undefined : 1);
        const size = Buffer.byteLength(text);
        assert.deepEqual(await read(text, rawCuts.map((c) => c % (size + 1))), expected(text));
      },
    ), { numRuns: 300 });
  });

  test('a list without items, or with an empty one, gives no item and the list', async () => {
    assert.deepEqual(await read('{"kind":"List","metadata":{}}'), { items: [], rest: { kind: 'List', metadata: {} } });
    assert.deepEqual(await read(' { "items" : [ ] , "kind" : "List" } '), { items: [], rest: { items: [], kind: 'List' } });
  });

  test('a cut-short or malformed list is a ListStreamError', async () => {
    await assert.rejects(read(TRICKY.slice(0, -20)), (err: unknown) => err instanceof ListStreamError && /cut short/.test(err.message));
    await assert.rejects(read('{"items":[{"a":1,}]}'), (err: unknown) => err instanceof ListStreamError && /an item of the list is not JSON/.test(err.message));
    await assert.rejects(read('{"items":[]]}'), (err: unknown) => err instanceof ListStreamError);
    await assert.rejects(read('[1, 2]'), (err: unknown) => err instanceof ListStreamError && /not a JSON object/.test(err.message));
    await assert.rejects(read('<html>bad gateway</html>'), (err: unknown) => err instanceof ListStreamError);
  });

  test('an item is handed over as soon as it is complete, before the rest of the body arrives', async () => {
    const seen: string[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('{"kind":"List","items":[{"n":1},');
      seen.push('second chunk asked for');
      yield Buffer.from('{"n":2}]}');
    }
    await readList(body(), (item) => seen.push(JSON.stringify(item)));
    assert.deepEqual(seen, ['{"n":1}', 'second chunk asked for', '{"n":2}']);
  });
});
