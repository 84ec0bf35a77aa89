// endpoint-guard convert, end to end in process: what it writes, what it skips and why, exit codes.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkObject } from '../src/rules/index.ts';
import { catalogue } from '../src/rules/catalogue.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { runCli } from './helpers/lint.ts';

const INPUT = `apiVersion: v1
kind: Service
metadata: { name: db, namespace: data }
spec: { ports: [{ port: 5432 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: db, namespace: data, labels: { team: storage } }
subsets:
  - addresses: [{ ip: 10.0.0.5 }, { ip: "2001:DB8::5" }]
    ports: [{ port: 5432, name: pg }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: web, namespace: data }
subsets: [{ addresses: [{ ip: 10.0.0.9 }], ports: [{ port: 80 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: data }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
`;
const ALONE = `apiVersion: v1
kind: Endpoints
metadata: { name: cache, namespace: data }
subsets: [{ addresses: [{ ip: 10.0.1.1 }], ports: [{ port: 6379 }] }]
`;

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'endpoint-guard-convert-'));
  await writeFile(path.join(dir, 'in.yaml'), INPUT);
  await writeFile(path.join(dir, 'alone.yaml'), ALONE);
});
after(() => rm(dir, { recursive: true, force: true }));

// Read as kubectl reads it (YAML 1.1: a bare on, off, yes or no is a boolean).
const slicesIn = (text: string) => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as Record<string, unknown>).filter((o) => o !== null);

describe('endpoint-guard convert', () => {
  test('writes owned slices per family with stable names, that every rule passes without an error', async () => {
    const run = await runCli(['convert', path.join(dir, 'in.yaml')]);
    const slices = slicesIn(run.stdout);
    assert.deepEqual(slices.map((s) => (s.metadata as { name: string }).name), ['db-ipv4-1', 'db-ipv6-1']);
    assert.match(run.stdout, /^# EndpointSlices for v1 Endpoints data\/db \(endpoint-guard convert --as owned\)\./);
    assert.match(run.stdout, /# then delete the Endpoints \(kubectl delete endpoints db -n data\) or label it endpointslice\.kubernetes\.io\/skip-mirror: "true"\./);
    for (const slice of slices) {
      const errors = checkObject({ object: slice, operation: 'CREATE', version: kubeVersion(36), softEndpointLimit: 100, username: 'alice' }).findings
        .filter((f) => (f.severity ?? catalogue[f.rule].severity) === 'error');
      assert.deepEqual(errors, []);
    }
    assert.deepEqual((slices[1]?.endpoints as { addresses: string[] }[])[0]?.addresses, ['2001:db8::5'], 'IPv6 in canonical form');
    assert.deepEqual((await runCli(['convert', path.join(dir, 'in.yaml')])).stdout, run.stdout, 'a second run gives the same output');
  });
  test('reads the same objects from a JSON List (as kubectl get -o json writes them) to the same slices', async () => {
    const objects = parseAllDocuments(INPUT, { version: '1.1' }).map((d) => d.toJS() as unknown);
    const json = path.join(dir, 'in.json');
    await writeFile(json, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2));
    const fromJson = await runCli(['convert', json]);
    const fromYaml = await runCli(['convert', path.join(dir, 'in.yaml')]);
    assert.equal(fromJson.code, fromYaml.code);
    assert.deepEqual(slicesIn(fromJson.stdout), slicesIn(fromYaml.stdout));
    assert.equal(slicesIn(fromJson.stdout).length, 2);
  });

  test('skips Endpoints whose Service has a selector, says why, and exits 1', async () => {
    const run = await runCli(['convert', path.join(dir, 'in.yaml')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /in\.yaml:13: skipped Endpoints web: Service "web" has a selector, so the control plane writes its EndpointSlices/);
  });
  test('converts Endpoints without a Service in the input, noting the Service it needs; --require-service skips them', async () => {
    const run = await runCli(['convert', path.join(dir, 'alone.yaml')]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /# Note: no Service "cache" was in the input; it must exist without a selector/);
    const strict = await runCli(['convert', '--require-service', path.join(dir, 'alone.yaml')]);
    assert.equal(strict.code, 1);
    assert.equal(strict.stdout, '');
    assert.match(strict.stderr, /skipped Endpoints cache: there is no Service named "cache" in its namespace \(--require-service\)/);
  });
  test('label values and hostnames YAML 1.1 would read as booleans stay strings for kubectl', async () => {
    const input = ALONE.replace('namespace: data }', 'namespace: data, labels: { legacy: "off" } }').replace('{ ip: 10.0.1.1 }', '{ ip: 10.0.1.1, hostname: "y" }');
    const [slice] = slicesIn((await runCli(['convert', '-'], { stdin: input })).stdout);
    assert.equal((slice?.metadata as { labels: Record<string, unknown> }).labels.legacy, 'off');
    assert.equal((slice?.endpoints as { hostname: unknown }[])[0]?.hostname, 'y');
  });
  test('skips Endpoints labelled skip-mirror', async () => {
    const run = await runCli(['convert', '-'], { stdin: ALONE.replace('namespace: data }', 'namespace: data, labels: { endpointslice.kubernetes.io/skip-mirror: "true" } }') });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^<stdin>:1: skipped Endpoints cache: it is labelled endpointslice\.kubernetes\.io\/skip-mirror: "true"/);
  });
  test('--as mirror writes what the controller would, without an owner reference when the uid is unknown', async () => {
    const run = await runCli(['convert', '--as', 'mirror', path.join(dir, 'alone.yaml')]);
    const [slice] = slicesIn(run.stdout);
    const metadata = slice?.metadata as Record<string, unknown>;
    assert.equal(metadata.generateName, 'cache-');
    assert.equal(metadata.ownerReferences, undefined);
    assert.deepEqual(metadata.labels, { 'kubernetes.io/service-name': 'cache', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' });
    assert.match(run.stdout, /# Note: the input has no metadata\.uid/);
    assert.match(run.stdout, /# These slices belong to the Endpoints and go when it goes: to keep slices of your own, use --as owned\./);
  });
  test('-o DIR writes one file per Endpoints, the same bytes on a second run', async () => {
    const out = path.join(dir, 'out');
    const first = await runCli(['convert', '-o', out, '--managed-by', 'storage.example.com', path.join(dir, 'alone.yaml')]);
    assert.equal(first.code, 0);
    assert.deepEqual(await readdir(out), ['data.cache.yaml']);
    const text = await readFile(path.join(out, 'data.cache.yaml'), 'utf8');
    assert.match(text, /endpointslice\.kubernetes\.io\/managed-by: storage\.example\.com/);
    await runCli(['convert', '-o', out, '--managed-by', 'storage.example.com', path.join(dir, 'alone.yaml')]);
    assert.equal(await readFile(path.join(out, 'data.cache.yaml'), 'utf8'), text);
  });
  test('spreads endpoints over slices of --per-slice', async () => {
    const addresses = Array.from({ length: 250 }, (_, i) => `{ ip: 10.1.${i >> 8}.${i & 255} }`).join(', ');
    const run = await runCli(['convert', '--per-slice', '100', '-'], { stdin: `kind: Endpoints\napiVersion: v1\nmetadata: { name: big }\nsubsets: [{ addresses: [${addresses}], ports: [{ port: 1 }] }]\n` });
    assert.deepEqual(slicesIn(run.stdout).map((s) => (s.endpoints as unknown[]).length), [100, 100, 50]);
    assert.match(run.stdout, /# Note: more than 100 endpoints share a port set: they are spread over several slices\./);
  });
  for (const [args, message] of [
    [['convert', '--as', 'copy', 'x'], /--as must be owned or mirror, not "copy"/],
    [['convert', '--managed-by', 'endpointslice-controller.k8s.io', 'x'], /--managed-by: must name this webhook/],
    [['convert', '--per-slice', '0', 'x'], /--per-slice must be a whole number from 1 to 1000/],
    [['convert'], /give at least one PATH/],
  ] as const) {
    test(`refuses ${args.slice(1).join(' ') || 'no arguments'} with exit 2 and a one-line reason`, async () => {
      const run = await runCli(args);
      assert.equal(run.code, 2);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1);
    });
  }
  test('an unreadable input exits 2 naming the file, without a stack trace', async () => {
    const run = await runCli(['convert', path.join(dir, 'missing.yaml')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /missing\.yaml/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
