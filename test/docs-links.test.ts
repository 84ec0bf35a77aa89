// Every relative link and image in README.md and docs/ leads somewhere: the file exists in the
// repository, and an #anchor names a heading of the page it points at, as GitHub slugs it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { docPages, headingAnchors, linkTargets, readPage } from './helpers/docs.ts';
import { REPO } from './helpers/lint.ts';

const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i; // https:, mailto: ...

/** What is wrong with one link of `page`, or undefined when it resolves. */
function brokenLink(page: string, target: string): string | undefined {
  if (EXTERNAL.test(target)) return undefined;
  const [file = '', anchor] = target.split('#', 2);
  const resolved = file === '' ? page : path.normalize(path.join(path.dirname(page), decodeURIComponent(file)));
  if (resolved.startsWith('..') || path.isAbsolute(resolved)) return `${target} leaves the repository`;
  if (!existsSync(path.join(REPO, resolved))) return `${target}: ${resolved} does not exist`;
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown cannot be checked`;
  return headingAnchors(readPage(resolved)).has(anchor) ? undefined : `${target}: ${resolved} has no heading with the anchor #${anchor}`;
}

describe('the links of the documentation', () => {
  for (const page of docPages()) {
    test(`${page}: every relative link and image resolves, with its anchor`, () => {
      const broken = linkTargets(readPage(page)).map((target) => brokenLink(page, target)).filter((problem) => problem !== undefined);
      assert.deepEqual(broken, []);
    });
  }

  test('every page of docs/ is reachable from the index, docs/README.md', () => {
    const linked = new Set(linkTargets(readPage('docs/README.md')).map((target) => target.split('#')[0]));
    const unlinked = docPages().filter((page) => page.startsWith('docs/') && page !== 'docs/README.md')
      .filter((page) => !linked.has(path.relative('docs', page)));
    assert.deepEqual(unlinked, []);
  });

  test('the checks find what is broken: a missing file, a missing anchor, a path out of the repository', () => {
    assert.equal(brokenLink('docs/trial.md', 'audit.md#policyreports-the-audit-in-kubectl-get-polr-and-policy-reporter'), undefined);
    assert.match(brokenLink('docs/trial.md', 'no-such-page.md') ?? '', /does not exist/);
    assert.match(brokenLink('docs/trial.md', 'audit.md#no-such-heading') ?? '', /no heading with the anchor #no-such-heading/);
    assert.match(brokenLink('docs/trial.md', '#no-such-heading') ?? '', /docs\/trial\.md has no heading/);
    assert.match(brokenLink('docs/trial.md', '../../outside.md') ?? '', /leaves the repository/);
  });

  test("anchors are GitHub's: code marks and punctuation dropped, numbers kept, repeats numbered", () => {
    const anchors = headingAnchors('# Fixes (`POST /mutate`)\n\n## 2. Certificates\n\n## Clusters before 1.28\n\n## Notes\n\n## Notes\n');
    assert.deepEqual([...anchors], ['fixes-post-mutate', '2-certificates', 'clusters-before-128', 'notes', 'notes-1']);
  });
});
