// npm run docs: writes the reference pages generated from the code (scripts/reference-docs.ts).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from '../test/helpers/lint.ts';
import { referencePages } from './reference-docs.ts';

for (const [page, text] of referencePages()) {
  await writeFile(join(REPO, page), text);
  console.log(`wrote ${page}`);
}
