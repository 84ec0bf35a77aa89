// npm run screenshots: the report of the sample trial in examples/, as Chromium shows it, saved as
// docs/images/trial-report.png (the top of the page: the answer, the figures and the charts).
// With --regenerate it first rewrites the sample itself: examples/trial-logs.txt, a week of two
// replicas' logs from bench/traffic.ts, and examples/trial-audit.json, what `endpoint-guard audit
// --format json` prints for a small cluster served by the tests' fake apiserver.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { trafficLines } from '../bench/traffic.ts';
import { openBrowser } from '../test/helpers/browser.ts';
import { startFakeApiserver } from '../test/helpers/fake-apiserver.ts';
import { REPO, runCli } from '../test/helpers/lint.ts';

const LOGS = join(REPO, 'examples/trial-logs.txt');
const AUDIT = join(REPO, 'examples/trial-audit.json');
const SCREENSHOT = join(REPO, 'docs/images/trial-report.png');
export const SAMPLE_TITLE = 'Trial report: prod-eu-1, first week in complain mode';

const { values } = parseArgs({ options: { regenerate: { type: 'boolean', default: false } } });
const work = await mkdtemp(join(tmpdir(), 'endpoint-guard-screenshots-'));
const cleanups: (() => unknown)[] = [() => rm(work, { recursive: true, force: true })];
try {
  if (values.regenerate) {
    const lines = [...trafficLines({ lines: 1600, seed: 7, end: Date.parse('2025-06-08T00:00:00Z') })];
    await writeFile(LOGS, `${lines.join('\n')}\n`);
    await writeFile(AUDIT, await sampleAudit());
  }
  const out = join(work, 'report.html');
  const run = await runCli(['report', '--log', LOGS, '--audit', AUDIT, '--title', SAMPLE_TITLE, '--out', out]);
  if (run.code !== 0) throw new Error(run.stderr);

  const browser = await openBrowser();
  cleanups.push(() => browser.close());
  const { page, errors } = await browser.page({ width: 1280, height: 1000 });
  await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
  const charts = await page.locator('section', { has: page.locator('h2', { hasText: 'When, what, where and who' }) }).boundingBox();
  if (charts === null) throw new Error('the report has no charts section');
  await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: Math.ceil(charts.y + charts.height + 24) }, fullPage: true });
  if (errors.length > 0) throw new Error(`the page logged errors: ${errors.join('; ')}`);
  console.log(`wrote ${SCREENSHOT}`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}

/** `endpoint-guard audit --format json` of a small cluster: a few objects enforce would reject, in the sample's namespaces. */
async function sampleAudit(): Promise<string> {
  const afterTest: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => afterTest.push(fn) } as unknown as TestContext; // the fake apiserver's cleanup hook
  try {
    const api = await startFakeApiserver(t);
    const own = { 'endpointslice.kubernetes.io/managed-by': 'team.example.com' };
    const controller = { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' };
    // managedFields name the tool that wrote each slice: audit checks what the control plane did not write.
    const slice = (namespace: string, name: string, service: string, labels: Record<string, string>, address = '10.4.0.7') => ({
      metadata: {
        name, namespace, labels: { 'kubernetes.io/service-name': service, ...labels },
        managedFields: [{ manager: 'deployer', operation: 'Update', apiVersion: 'discovery.k8s.io/v1' }],
      },
      addressType: 'IPv4', endpoints: [{ addresses: [address] }], ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    });
    for (const ns of ['search', 'media', 'auth', 'billing', 'payments', 'ledger', 'checkout']) {
      api.add('namespaces', { metadata: { name: ns, ...(ns === 'payments' ? { labels: { 'endpoint-guard.io/mode': 'complain' } } : {}) } });
      api.add('services', { metadata: { name: 'web', namespace: ns }, spec: { ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } });
      api.add('endpointslices', slice(ns, 'web-1', 'web', own));
    }
    api.add('endpointslices', slice('search', 'web-dns-1', 'web', controller));
    api.add('endpointslices', slice('search', 'web-dns-2', 'web', controller));
    api.add('endpointslices', slice('media', 'web-backup', 'web', controller));
    api.add('endpointslices', slice('auth', 'web-local', 'web', own, '127.0.0.1'));
    api.add('endpointslices', slice('payments', 'web-local', 'web', own, '127.0.0.1'));
    api.add('endpoints', { metadata: { name: 'db', namespace: 'ledger' }, subsets: [{ addresses: [{ ip: '10.5.0.3' }], ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }] });
    const audit = await runCli(['audit', '--kubeconfig', await api.writeKubeconfig(work), '--format', 'json']);
    if (audit.code !== 1) throw new Error(`audit: exit ${audit.code}: ${audit.stderr}`);
    return audit.stdout;
  } finally {
    for (const cleanup of afterTest.reverse()) await cleanup();
  }
}
