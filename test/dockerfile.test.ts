// The Dockerfile cannot be built here (no container engine), so this checks what it promises:
// stages on Node.js 24, a production-only install, a numeric non-root user that matches the
// Deployment, the command the Deployment runs, and a final image that needs nothing the
// production install leaves out.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { kustomizeBuild } from './helpers/manifests.ts';
import { IMAGE_NODE_OPTIONS } from '../bench/http.ts';

interface Instruction { readonly keyword: string; readonly args: string }
interface Stage { readonly from: string; readonly name: string | undefined; readonly instructions: Instruction[] }

/** Dockerfile instructions by stage; comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else {
      const stage = stages.at(-1) ?? assert.fail(`${keyword} before the first FROM`);
      stage.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8'));
const final = dockerfile.at(-1) ?? assert.fail('the Dockerfile has a stage');
const args = (stage: Stage, keyword: string): string[] => stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
const jsonArgs = (stage: Stage, keyword: string): string[] => JSON.parse(args(stage, keyword).at(-1) ?? '[]') as string[];
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  bin: Record<string, string>; dependencies: Record<string, string>; scripts: Record<string, string>;
};

describe('Dockerfile', () => {
  test('builds in stages, each on Node.js 24', () => {
    assert.ok(dockerfile.length >= 2, 'multi-stage');
    for (const stage of dockerfile) assert.match(stage.from, /^node:24[-.\w]*$|^gcr\.io\/distroless\/nodejs24/, `${stage.from} is Node.js 24`);
    assert.match(readFileSync(new URL('../package.json', import.meta.url), 'utf8'), /"node": ">=24 <25"/, 'the same major as package.json engines');
  });

  test('compiles with the whole toolchain in a build stage, and installs production dependencies only for the image', () => {
    const stages = new Map(dockerfile.map((s) => [s.name, s]));
    const copiedFrom = (what: string) => /--from=(\S+)/.exec(args(final, 'COPY').find((a) => a.includes(what)) ?? '')?.[1];
    const build = stages.get(copiedFrom('/app/dist') ?? '') ?? assert.fail('dist/ is copied from a stage');
    assert.ok(args(build, 'RUN').some((r) => /^npm ci\b/.test(r) && !r.includes('--omit')), 'the build stage has the dev dependencies');
    assert.equal(pkg.scripts.prepare, 'npm run build', 'npm ci builds dist/ through prepare');

    const deps = stages.get(copiedFrom('/app/node_modules') ?? '') ?? assert.fail('node_modules is copied from a stage');
    const install = args(deps, 'RUN').find((r) => /^npm ci\b/.test(r)) ?? assert.fail('the dependencies stage runs npm ci');
    assert.match(install, /--omit=dev/);
    assert.match(install, /--ignore-scripts/, 'prepare (a build) needs the dev toolchain, which is left out');
    assert.ok(!args(final, 'RUN').some((r) => /npm (ci|install)/.test(r)), 'the final stage installs nothing itself');
  });

  test('runs as a numeric non-root user and group, the same as the Deployment', () => {
    const user = args(final, 'USER').at(-1) ?? assert.fail('USER is set');
    const [uid, gid] = user.split(':').map(Number);
    assert.ok(Number.isInteger(uid) && (uid ?? 0) > 0, `USER ${user} is a numeric non-root uid`);
    assert.ok(Number.isInteger(gid) && (gid ?? 0) > 0, `USER ${user} has a numeric non-root gid`);
    const deployment = kustomizeBuild('deploy/base').find((d) => d.kind === 'Deployment') as unknown as
      { spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } } };
    const { runAsUser, runAsGroup } = deployment.spec.template.spec.securityContext;
    assert.deepEqual([uid, gid], [runAsUser, runAsGroup]);
  });

  test('starts `node dist/cli.js serve`, the package\'s own command, and exposes the HTTPS and metrics ports', () => {
    assert.deepEqual([...jsonArgs(final, 'ENTRYPOINT'), ...jsonArgs(final, 'CMD')], ['node', pkg.bin['endpoint-guard'], 'serve']);
    assert.deepEqual(args(final, 'EXPOSE').join(' ').split(/\s+/).sort(), ['8443', '9090']);
    assert.ok(args(final, 'COPY').some((a) => /^package\.json\b/.test(a)), 'package.json is there for --version');
    assert.ok(args(final, 'ENV').some((a) => a === 'NODE_ENV=production'));
  });

  test('runs Node.js with the options the benchmark measured', () => {
    assert.ok(args(final, 'ENV').includes(`NODE_OPTIONS=${IMAGE_NODE_OPTIONS}`), `ENV NODE_OPTIONS=${IMAGE_NODE_OPTIONS}`);
  });

  test('keeps certificates, dependencies and build output of the checkout out of the build context', async () => {
    const ignore = (await readFile(new URL('../.dockerignore', import.meta.url), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(ignore[0], '*', 'everything is left out unless listed');
    const included = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    for (const copied of [...dockerfile.flatMap((s) => args(s, 'COPY'))].filter((a) => !a.startsWith('--from'))) {
      for (const source of copied.split(/\s+/).slice(0, -1)) assert.ok(included.includes(source.replace(/\/$/, '')), `${source} is in the build context`);
    }
    assert.ok(!included.some((p) => /certs|node_modules|dist/.test(p)));
  });
});

describe('production dependencies', () => {
  test('every package src/ imports at run time is a dependency, not a devDependency', async () => {
    const files = (await readdir(new URL('../src', import.meta.url), { recursive: true })).filter((f) => f.endsWith('.ts'));
    const used = new Set<string>();
    for (const file of files) {
      const text = await readFile(join(new URL('../src', import.meta.url).pathname, file), 'utf8');
      // `import type` is erased by the compiler; everything else is loaded by dist/ at run time.
      for (const [, specifier = ''] of text.matchAll(/^import (?!type\b)[^'"]*?from '([^'.][^']*)'/gm)) {
        if (specifier.startsWith('node:')) continue;
        used.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0] ?? specifier);
      }
    }
    assert.ok(used.has('express') && used.has('prom-client'));
    for (const name of used) assert.ok(Object.hasOwn(pkg.dependencies, name), `${name} is in dependencies`);
  });
});
