// The kustomize resolver the deploy tests use: kustomize's semantics for what deploy/ needs, and
// an error for anything else, so deploy/ cannot use a kustomize feature the tests would skip.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { kustomize, strategicMerge } from './helpers/kustomize.ts';
import { tempDir } from './helpers/temp.ts';

const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: complain\n';
const kustomization = (body: string) => `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${body}`;

async function tree(t: Parameters<typeof tempDir>[0], files: Record<string, string>): Promise<string> {
  const dir = await tempDir(t);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe('the kustomize resolver', () => {
  test('merges containers and env by name, keeps what the patch leaves out, and replaces other lists', () => {
    const pod = { spec: { containers: [{ name: 'a', args: ['x'], env: [{ name: 'MODE', value: 'complain' }, { name: 'PORT', value: '1' }] }] } };
    const patch = { spec: { containers: [{ name: 'a', args: ['y'], env: [{ name: 'MODE', value: 'enforce' }] }] } };
    assert.deepEqual(strategicMerge(pod, patch), {
      spec: { containers: [{ name: 'a', args: ['y'], env: [{ name: 'MODE', value: 'enforce' }, { name: 'PORT', value: '1' }] }] },
    });
  });

  test('sets the namespace, applies JSON and strategic-merge patches, and reads 0440 as octal', async (t) => {
    const dir = await tree(t, {
      'base/kustomization.yaml': kustomization('namespace: guard\nresources: [config.yaml]\n'),
      'base/config.yaml': `${configMap}  mask: 0440\n`,
      'overlay/kustomization.yaml': kustomization([
        'resources: [../base]', 'patches:',
        '  - target: { kind: ConfigMap, name: settings }', '    patch: |-', '      - { op: replace, path: /data/mode, value: enforce }',
        '  - patch: |-', '      apiVersion: v1', '      kind: ConfigMap', '      metadata: { name: settings, labels: { a: b } }', '',
      ].join('\n')),
    });
    assert.deepEqual(kustomize(join(dir, 'overlay')), [{
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'guard', labels: { a: 'b' } }, data: { mode: 'enforce', mask: 0o440 },
    }]);
  });

  test('sets the image of a Deployment\'s containers by name, as `kustomize edit set image` writes it', async (t) => {
    const deployment = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  template:\n    spec:\n' +
      '      containers: [{ name: a, image: "endpoint-guard:0.1.0" }, { name: b, image: "other:1" }]\n';
    const dir = await tree(t, {
      'kustomization.yaml': kustomization('resources: [d.yaml]\nimages:\n  - { name: endpoint-guard, newName: registry.example.com/eg, newTag: "0.2.0" }\n'),
      'd.yaml': deployment,
    });
    const [built] = kustomize(dir);
    assert.deepEqual((built?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers.map((c) => c.image),
      ['registry.example.com/eg:0.2.0', 'other:1']);
  });

  const refusals: [name: string, files: Record<string, string>, message: RegExp][] = [
    ['a field it does not resolve', { 'kustomization.yaml': kustomization('commonLabels: { a: b }\n') }, /"commonLabels" is not supported/],
    ['a patch whose target matches nothing', {
      'kustomization.yaml': kustomization('resources: [c.yaml]\npatches:\n  - target: { kind: Secret }\n    patch: "[]"\n'), 'c.yaml': configMap,
    }, /the target matches no object/],
    ['a replace of a field that is not there', {
      'kustomization.yaml': kustomization('resources: [c.yaml]\npatches:\n  - target: { kind: ConfigMap }\n    patch: "[{op: replace, path: /data/other, value: x}]"\n'),
      'c.yaml': configMap,
    }, /replace \/data\/other: nothing there/],
    ['an object defined twice', { 'kustomization.yaml': kustomization('resources: [c.yaml, d.yaml]\n'), 'c.yaml': configMap, 'd.yaml': configMap }, /defined twice/],
    ['a patch file instead of an inline patch', { 'kustomization.yaml': kustomization('patches:\n  - path: p.yaml\n') }, /"path" is not supported/],
  ];
  for (const [name, files, message] of refusals) {
    test(`refuses ${name}`, async (t) => {
      const dir = await tree(t, files);
      assert.throws(() => kustomize(dir), message);
    });
  }
});
