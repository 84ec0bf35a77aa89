// npm run docs: writes the reference pages generated from the code (scripts/reference-docs.ts).
import { writeFile } from 'node:fs/promises';
import { referencePages } from './reference-docs.ts';

const REPO = new URL('..', import.meta.url);

for (const [page, text] of referencePages()) {
  await writeFile(new URL(page, REPO), text);
  console.log(`wrote ${page}`);
}
