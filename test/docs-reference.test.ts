// The reference pages are generated from the code (npm run docs); the committed pages must be what
// the code generates now, so a rule or a setting cannot change without its documentation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { referencePages } from '../scripts/reference-docs.ts';
import { configSchema, settingDocs } from '../src/config.ts';
import { readPage } from './helpers/docs.ts';

describe('the generated reference pages', () => {
  for (const [page, generated] of referencePages()) {
    test(`${page} is what npm run docs generates from the code`, () => {
      assert.ok(readPage(page) === generated, `${page} is out of date: run npm run docs, and commit the page`);
    });
  }

  test('every setting has one meaning, a line of text, and no setting is described that does not exist', () => {
    assert.deepEqual(Object.keys(settingDocs).sort(), Object.keys(configSchema.shape).sort());
    for (const [key, meaning] of Object.entries(settingDocs)) {
      assert.match(meaning, /^[^\n]{10,}$/, `${key}'s meaning`);
    }
  });
});
