// The report as a person sees it: opened from file:// in Chromium, its headline figures are visible
// text, nothing is logged as an error, nothing is fetched, and text from the logs stays text.
// A screenshot of the page is saved to test/output/report-browser.png.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type OpenBrowser, openBrowser } from './helpers/browser.ts';
import { REPO, runCli } from './helpers/lint.ts';
import { cleanEndpoints, cleanSlice, controllerClaimingSlice, writeLines } from './helpers/review-log.ts';
import { tempDir } from './helpers/temp.ts';

const SCREENSHOT = join(REPO, 'test/output/report-browser.png');

describe('the report in Chromium', { timeout: 120_000 }, () => {
  let browser: OpenBrowser;
  before(async () => {
    browser = await openBrowser();
  });
  after(() => browser?.close());

  /** Builds the report of these log lines with the real command and opens it from file://. */
  async function openReport(t: TestContext, lines: readonly string[]) {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'logs.txt'), `${lines.join('\n')}\n`);
    const out = join(dir, 'report.html');
    assert.equal((await runCli(['report', '--log', join(dir, 'logs.txt'), '--out', out])).code, 0);
    const opened = await browser.page();
    await opened.page.goto(pathToFileURL(out).href, { waitUntil: 'load', timeout: 30_000 });
    return { ...opened, out };
  }

  test('shows the headline figures as visible text, logs no error, fetches nothing beyond file://', async (t) => {
    const lines = [
      ...Array.from({ length: 30 }, (_, i) => writeLines({ object: controllerClaimingSlice(), user: 'alice@example.com', namespace: 'team-a', name: `web-${i}` })).flat(),
      ...Array.from({ length: 20 }, (_, i) => writeLines({ object: cleanSlice(), user: 'bob@example.com', namespace: 'team-b', name: `api-${i}` })).flat(),
      ...Array.from({ length: 10 }, (_, i) => writeLines({ object: cleanEndpoints(), user: 'system:serviceaccount:team-d:legacy-sync', namespace: 'team-d', name: `db-${i}` })).flat(),
    ];
    const { page, errors, requests, out } = await openReport(t, lines);
    const figure = (id: string) => page.locator(`[data-figure="${id}"]`);
    const shown: Record<string, string> = {};
    for (const id of ['reviews', 'writes', 'would-deny', 'writers', 'namespaces', 'endpoints-writes']) {
      assert.ok(await figure(id).isVisible(), `${id} is visible`);
      shown[id] = await figure(id).innerText();
    }
    assert.deepEqual(shown, { reviews: '60', writes: '60', 'would-deny': '30', writers: '1', namespaces: '1', 'endpoints-writes': '10' });
    const verdict = page.locator('.verdict .answer');
    assert.ok(await verdict.isVisible());
    assert.equal(await verdict.innerText(), 'Enforce would have denied 30 of 60 writes (50%), by 1 writer in 1 namespace, for the rule managed-by-controller.');
    assert.ok(await page.getByRole('cell', { name: 'alice@example.com', exact: true }).first().isVisible());
    // The charts are drawn: inline SVG with a size, and their labels as text.
    const charts = page.locator('figure.chart svg');
    assert.equal(await charts.count(), 4);
    for (const svg of await charts.all()) {
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 50, `a chart ${JSON.stringify(box)}`);
    }

    await mkdir(join(REPO, 'test/output'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(png.readUInt32BE(16), 1280, 'as wide as the window');

    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((url) => !url.startsWith('file://')), []);
    assert.deepEqual(requests, [pathToFileURL(out).href]);
  });

  test('runs no script and shows markup from the logs as text', async (t) => {
    const user = '<script>document.title="pwned"</script><img src="http://example.invalid/x.png">';
    const lines = writeLines({ object: controllerClaimingSlice(), user, namespace: '<b>team</b>' });
    const { page, errors, requests, out } = await openReport(t, lines);
    assert.equal(await page.title(), 'endpoint-guard trial report');
    assert.equal(await page.locator('script, img, iframe, object, embed, b').count(), 0);
    assert.ok(await page.getByRole('cell', { name: user, exact: true }).first().isVisible(), 'the user name is shown as written');
    assert.ok(await page.getByRole('cell', { name: '<b>team</b>', exact: true }).first().isVisible());
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((url) => !url.startsWith('file://')), []);
  });
});
