// `endpoint-guard manifests --as policies`: what it prints for each Kubernetes release, that the
// objects pass that release's admissionregistration schema and use only the CEL its apiserver
// compiles, that the config shapes them, that the managed-by MutatingAdmissionPolicy makes the
// webhook's fix, and --apply against the fake apiserver.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseCel } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import fastJsonPatch from 'fast-json-patch';
import { parseAllDocuments } from 'yaml';
import { configSchema } from '../src/config.ts';
import { mutate } from '../src/mutate.ts';
import { POLICY_NAMES, admissionPolicies, type PolicySettings } from '../src/policies/policies.ts';
import { MAX_WARNING_CHARS } from '../src/policy.ts';
import { kubeVersion } from '../src/rules/version.ts';
import { readFileSync } from 'node:fs';
import { type Json, acceptedByApiserver, actionsFor, asAdmitted, evaluatePolicies } from './helpers/admission-policies.ts';
import { coverageRows } from '../scripts/reference-docs.ts';
import { slice } from './helpers/objects.ts';
import { startFakeApiserver } from './helpers/fake-apiserver.ts';
import { evaluate, fromCel, toCel } from './helpers/kubernetes-cel.ts';
import { runCli } from './helpers/lint.ts';
import { type Manifest, schemaProblemsFor } from './helpers/manifests.ts';
import { corpus } from './helpers/policy-corpus.ts';
import { tempDir } from './helpers/temp.ts';

const settings = (minor: number, mode: 'complain' | 'enforce', over: Partial<PolicySettings> = {}): PolicySettings =>
  ({ ...configSchema.parse({}), version: kubeVersion(minor), mode, ...over });
const build = (s: PolicySettings): Json[] => {
  const built = admissionPolicies(s);
  assert.ok(built.ok, built.ok ? '' : built.message);
  return built.objects;
};
const parse = (text: string): Manifest[] => parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS() as Manifest);
const named = (objects: readonly Json[], kind: string, name: string): Json =>
  objects.find((o) => o.kind === kind && (o.metadata as Json).name === name) ?? assert.fail(`no ${kind} ${name}`);
type Spec = { validations: { expression: string; message: string; messageExpression?: string }[]; failurePolicy: string; variables?: { name: string; expression: string }[] };
const specOf = (object: Json): Spec => object.spec as Spec;
const ruleOf = (message: string): string => message.split(':')[0] ?? '';

describe('manifests --as policies', () => {
  for (const minor of [30, 36]) {
    for (const mode of ['complain', 'enforce'] as const) {
      test(`1.${minor}, ${mode}: the policies and bindings, valid for 1.${minor}, with notes on stderr`, async () => {
        const run = await runCli(['manifests', '--as', 'policies', '--kubernetes-version', `1.${minor}`, '--mode', mode]);
        assert.equal(run.code, 0, run.stderr);
        const docs = parse(run.stdout);
        assert.deepEqual(docs.map((d) => `${d.kind} ${d.metadata.name}`), [
          'ValidatingAdmissionPolicy endpoint-guard-errors',
          'ValidatingAdmissionPolicyBinding endpoint-guard-errors',
          'ValidatingAdmissionPolicyBinding endpoint-guard-errors-complain',
          'ValidatingAdmissionPolicy endpoint-guard-warnings',
          'ValidatingAdmissionPolicyBinding endpoint-guard-warnings',
          ...(minor >= 36 ? ['MutatingAdmissionPolicy endpoint-guard-managed-by', 'MutatingAdmissionPolicyBinding endpoint-guard-managed-by'] : []),
        ]);
        assert.ok(docs.every((d) => d.apiVersion === 'admissionregistration.k8s.io/v1'));
        assert.deepEqual(docs.flatMap((d) => schemaProblemsFor(d, minor)), []);
        assert.match(run.stderr, /^endpoint-guard manifests: the policies check (endpoints-deprecated, )?fqdn-address-type, .*\n/m);
        assert.match(run.stderr, /^endpoint-guard manifests: only the webhook checks .*duplicate-address.*service-exists.* \(the coverage table in docs\/rules\.md says why\)$/m);
        assert.equal(/MutatingAdmissionPolicy is served from Kubernetes 1\.36: on 1\.30 the endpointslice\.kubernetes\.io\/managed-by fix stays with the webhook's \/mutate/.test(run.stderr), minor < 36);
        const warnings = named(docs, 'ValidatingAdmissionPolicyBinding', 'endpoint-guard-warnings').spec as { validationActions: string[] };
        assert.deepEqual(warnings.validationActions, mode === 'complain' ? ['Warn', 'Audit'] : ['Warn']);
      });
    }
  }

  test('every release from 1.28 to 1.36 gets objects its admissionregistration schema accepts; 1.28 and 1.29 beta ones, with a note', async () => {
    for (let minor = 28; minor <= 36; minor++) {
      for (const mode of ['complain', 'enforce'] as const) {
        const run = await runCli(['manifests', '--as', 'policies', '--kubernetes-version', `1.${minor}`, '--mode', mode]);
        assert.equal(run.code, 0, run.stderr);
        const docs = parse(run.stdout);
        assert.deepEqual(docs.flatMap((d) => schemaProblemsFor(d, minor)), [], `1.${minor} ${mode}`);
        const vap = docs.filter((d) => d.kind.startsWith('ValidatingAdmissionPolicy'));
        assert.ok(vap.every((d) => d.apiVersion === `admissionregistration.k8s.io/${minor >= 30 ? 'v1' : 'v1beta1'}`));
        assert.equal(/ValidatingAdmissionPolicy is beta and off by default in 1\.2\d: the apiserver needs --feature-gates=ValidatingAdmissionPolicy=true and --runtime-config=admissionregistration\.k8s\.io\/v1beta1=true/.test(run.stderr), minor < 30);
      }
    }
    // The schemas tell releases apart: a 1.36 MutatingAdmissionPolicy is no object for 1.35.
    const current = parse((await runCli(['manifests', '--as', 'policies'])).stdout);
    assert.deepEqual(current.flatMap((d) => schemaProblemsFor(d, 35)).map((p) => p.replace(/^\S+ /, '')), [
      'Kubernetes 1.35 does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicy',
      'Kubernetes 1.35 does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicyBinding',
    ]);
  });

  test('below 1.28 there are no admission policies to make: exit 2 and what to do instead', async () => {
    const run = await runCli(['manifests', '--as', 'policies', '--kubernetes-version', '1.27']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /--as policies needs Kubernetes 1\.28 or later \(ValidatingAdmissionPolicy is beta from 1\.28, GA from 1\.30\), not 1\.27; register the webhook instead \(manifests without --as policies\); run 'endpoint-guard manifests --help'/);
  });

  test('every message starts with its rule id and fits in 120 characters; with the apiserver\'s words before a warning, in 256', () => {
    for (const minor of [28, 36]) {
      const objects = build(settings(minor, 'enforce'));
      for (const policy of objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy')) {
        for (const v of specOf(policy).validations) {
          assert.match(v.message, /^[a-z-]+: /);
          assert.ok([...v.message].length <= MAX_WARNING_CHARS, v.message);
          // kube-apiserver: "Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s";
          // past 4096 characters of warnings it cuts each to 256.
          const longest = Math.max(...Object.values(POLICY_NAMES).map((n) => n.length));
          const prefix = `Validation failed for ValidatingAdmissionPolicy '${String((policy.metadata as Json).name)}' with binding '${'x'.repeat(longest)}': `;
          assert.ok(prefix.length + MAX_WARNING_CHARS <= 256, prefix);
        }
      }
    }
  });

  test('the config decides: rules turned off or made errors, the soft limit, the exempt users, onRuleError, the managed-by fix', () => {
    const base = build(settings(36, 'enforce'));
    const rulesOf = (objects: Json[], policy: string) => specOf(named(objects, 'ValidatingAdmissionPolicy', policy)).validations.map((v) => ruleOf(v.message));
    assert.deepEqual(rulesOf(base, POLICY_NAMES.errors), ['managed-by-controller']);
    assert.ok(rulesOf(base, POLICY_NAMES.warnings).includes('zone'));

    const changed = build(settings(36, 'enforce', {
      rules: { zone: 'off', 'fqdn-address-type': 'error', 'managed-by-controller': 'off' },
      softEndpointLimit: 250, exemptUsers: ['system:apiserver', "o'brien"], onRuleError: 'deny', managedByValue: 'team.example.com',
    }));
    assert.deepEqual(rulesOf(changed, POLICY_NAMES.errors), ['fqdn-address-type']);
    assert.ok(!rulesOf(changed, POLICY_NAMES.warnings).includes('zone'));
    assert.ok(specOf(named(changed, 'ValidatingAdmissionPolicy', POLICY_NAMES.warnings)).validations.some((v) => v.expression.includes('<= 250')));
    assert.equal(specOf(named(changed, 'ValidatingAdmissionPolicy', POLICY_NAMES.errors)).failurePolicy, 'Fail');
    assert.equal(specOf(named(base, 'ValidatingAdmissionPolicy', POLICY_NAMES.errors)).failurePolicy, 'Ignore', 'onRuleError allow');
    const exempt = (objects: Json[]) => ((named(objects, 'ValidatingAdmissionPolicy', POLICY_NAMES.warnings).spec as { matchConditions: { expression: string }[] }).matchConditions[0]?.expression ?? '');
    const request = (username: string) => ({ request: toCel({ userInfo: { username } }) });
    assert.deepEqual(evaluate(exempt(changed), request("o'brien")), { ok: true, value: false }, 'a quote in a user name stays in its string');
    assert.deepEqual(evaluate(exempt(changed), request('system:serviceaccount:kube-system:endpoint-controller')), { ok: true, value: true });
    const mutation = JSON.stringify(named(changed, 'MutatingAdmissionPolicy', POLICY_NAMES.managedBy));
    assert.match(mutation, /team\.example\.com/);

    assert.equal(build(settings(36, 'complain', { fixManagedBy: false })).some((o) => o.kind === 'MutatingAdmissionPolicy'), false);
    const allOff = build(settings(36, 'complain', { rules: { 'managed-by-controller': 'off' } }));
    assert.equal(allOff.some((o) => (o.metadata as Json).name === POLICY_NAMES.errors), false, 'a policy with nothing to check is left out, with its bindings');
  });
});

describe('the docs on admission policies', () => {
  const rulesPage = readFileSync(new URL('../docs/rules.md', import.meta.url), 'utf8');
  const policiesPage = readFileSync(new URL('../docs/admission-policies.md', import.meta.url), 'utf8');
  test('the coverage table of docs/rules.md says what the code decides, rule by rule', () => {
    const table = rulesPage.slice(rulesPage.indexOf('| rule | policies check it on |'));
    const rows = table.split('\n').slice(2).filter((line) => line.startsWith('| `'));
    assert.deepEqual(rows.slice(0, coverageRows().length), coverageRows());
  });
  test('the example warning of docs/admission-policies.md is what the policies and the apiserver print for a zone that is no label value', () => {
    const example = /^Warning: (Validation failed for ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)': (.*))$/m.exec(policiesPage);
    assert.ok(example, 'docs/admission-policies.md shows a warning');
    const objects = build(settings(36, 'complain'));
    const request = { object: asAdmitted(slice({}, [{ addresses: ['10.1.2.3'], zone: 'Bad Zone!' }])), operation: 'CREATE' as const, username: 'alice', namespace: 'default' };
    const zone = evaluatePolicies(objects, request).find((r) => r.rule === 'zone' && r.passed === false);
    assert.equal(example[2], zone?.policy);
    assert.equal(example[4], zone?.message);
    assert.deepEqual([...actionsFor(objects, zone?.policy ?? '', undefined)], ['Warn', 'Audit']);
    assert.ok(objects.some((o) => o.kind === 'ValidatingAdmissionPolicyBinding' && (o.metadata as Json).name === example[3]));
  });
});

describe('the CEL the policies use is the CEL each release compiles', () => {
  // Kubernetes compiles a new expression in the environment of the previous release (its
  // compatibility version): a library introduced in 1.N is usable from 1.N+1
  // (staging/src/k8s.io/apiserver/pkg/cel/environment/base.go, DefaultCompatibilityVersion).
  const STANDARD = ['_&&_', '_||_', '!_', '_?_:_', '_==_', '_!=_', '_<_', '_<=_', '_>_', '_>=_', '_+_', '_-_', '_[_]', '@in',
    '@not_strictly_false', 'size', 'matches', 'startsWith', 'endsWith', 'contains', 'string', 'int'];
  const LIBRARIES: readonly { since: number; functions: readonly string[] }[] = [
    { since: 0, functions: STANDARD },
    // ext.Strings version 0 and the Kubernetes list library: in every release.
    { since: 0, functions: ['charAt', 'indexOf', 'lastIndexOf', 'lowerAscii', 'replace', 'split', 'substring', 'trim', 'upperAscii', 'isSorted', 'sum', 'min', 'max'] },
    { since: 30, functions: ['isIP', 'ip', 'ip.isCanonical', 'family', 'isUnspecified', 'isLoopback', 'isLinkLocalMulticast', 'isLinkLocalUnicast', 'isGlobalUnicast', 'cidr', 'isCIDR', 'containsIP', 'containsCIDR', 'masked', 'prefixLength'] },
  ];
  const available = (minor: number): Set<string> => new Set(LIBRARIES.filter((l) => l.since <= minor - 1).flatMap((l) => l.functions));

  function functionsOf(expr: Expr | undefined, out: Set<string>): Set<string> {
    if (!expr) return out;
    const kind = expr.exprKind;
    if (kind.case === 'callExpr') {
      out.add(kind.value.function);
      functionsOf(kind.value.target, out);
      for (const arg of kind.value.args) functionsOf(arg, out);
    } else if (kind.case === 'selectExpr') functionsOf(kind.value.operand, out);
    else if (kind.case === 'listExpr') for (const e of kind.value.elements) functionsOf(e, out);
    else if (kind.case === 'structExpr') for (const e of kind.value.entries) functionsOf(e.value, out);
    else if (kind.case === 'comprehensionExpr') {
      for (const part of [kind.value.iterRange, kind.value.accuInit, kind.value.loopCondition, kind.value.loopStep, kind.value.result]) functionsOf(part, out);
    }
    return out;
  }
  const expressionsOf = (object: Json): string[] => {
    const spec = object.spec as { matchConditions?: { expression: string }[]; variables?: { expression: string }[]; validations?: { expression: string; messageExpression?: string }[] };
    return [...(spec.matchConditions ?? []).map((c) => c.expression), ...(spec.variables ?? []).map((v) => v.expression),
      ...(spec.validations ?? []).flatMap((v) => [v.expression, ...(v.messageExpression ? [v.messageExpression] : [])])];
  };

  for (let minor = 28; minor <= 36; minor++) {
    test(`1.${minor}: only functions its apiserver's environment has`, () => {
      const used = new Set<string>();
      for (const object of build(settings(minor, 'enforce')).filter((o) => o.kind === 'ValidatingAdmissionPolicy')) {
        for (const expression of expressionsOf(object)) functionsOf(parseCel(expression).expr, used);
      }
      const missing = [...used].filter((f) => !available(minor).has(f));
      assert.deepEqual(missing, []);
      assert.equal(used.has('ip'), minor >= 36, 'the IP library only where the policies check addresses');
    });
  }
});

describe('the managed-by MutatingAdmissionPolicy makes the fix the webhook makes', () => {
  test('on every slice 1.36 accepts: the same labels after the mutation as after the webhook\'s patch', () => {
    const objects = build(settings(36, 'complain'));
    const policy = named(objects, 'MutatingAdmissionPolicy', POLICY_NAMES.managedBy).spec as {
      matchConditions: { expression: string }[]; mutations: { patchType: string; applyConfiguration: { expression: string } }[];
    };
    const applied = applyConfiguration(policy.mutations[0]?.applyConfiguration.expression ?? '');
    let compared = 0;
    let changed = 0;
    for (const item of corpus(200, 0)) {
      const object = asAdmitted(item.object, item.namespace);
      if (object.kind !== 'EndpointSlice' || !acceptedByApiserver(object, kubeVersion(36)) || item.username.startsWith('system:')) continue;
      compared++;
      const bindings = { object: toCel(object), request: toCel({ userInfo: { username: item.username } }) };
      const matches = policy.matchConditions.every((c) => {
        const outcome = evaluate(c.expression, bindings);
        return outcome.ok && outcome.value === true;
      });
      const byPolicy = matches ? merge(object, applied) : object;
      const fix = mutate({ object, operation: item.operation, version: kubeVersion(36) }, { ...configSchema.parse({}), fixIPv6: false, fixDuplicates: false });
      const byWebhook = fastJsonPatch.applyPatch(structuredClone(object), fix.patch).newDocument;
      assert.deepEqual((byPolicy.metadata as Json).labels, (byWebhook.metadata as Json).labels, item.name);
      if (matches) changed++;
    }
    console.log(`# managed-by fix: ${compared} slices compared, ${changed} given the label by both`);
    assert.ok(changed > 10 && changed < compared);
  });
});

/** The object literal of an ApplyConfiguration expression, as JSON: Object{f: v} and Object.f{...} are maps. */
function applyConfiguration(expression: string): Json {
  const toJson = (expr: Expr | undefined): unknown => {
    const kind = expr?.exprKind;
    if (kind?.case === 'constExpr') return fromCel(kind.value.constantKind.value);
    if (kind?.case === 'structExpr') {
      return Object.fromEntries(kind.value.entries.map((e) => [
        e.keyKind.case === 'fieldKey' ? e.keyKind.value : String(toJson(e.keyKind.value as Expr)), toJson(e.value)]));
    }
    throw new Error(`not an apply configuration literal: ${String(kind?.case)}`);
  };
  return toJson(parseCel(expression).expr) as Json;
}

/** Server-side apply of a configuration that only sets map entries: a deep merge of maps. */
function merge(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = typeof value === 'object' && value !== null && typeof current === 'object' && current !== null
      ? merge(current as Json, value as Json) : value;
  }
  return out;
}

describe('manifests --as policies --apply', () => {
  test('creates the policies and bindings, then leaves them unchanged, and updates what a mode change changes', async (t) => {
    const api = await startFakeApiserver(t);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    const apply = (mode: string) => runCli(['manifests', '--as', 'policies', '--mode', mode, '--apply', '--kubeconfig', kubeconfig]);

    const created = await apply('complain');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, [
      'validatingadmissionpolicy/endpoint-guard-errors created',
      'validatingadmissionpolicybinding/endpoint-guard-errors created',
      'validatingadmissionpolicybinding/endpoint-guard-errors-complain created',
      'validatingadmissionpolicy/endpoint-guard-warnings created',
      'validatingadmissionpolicybinding/endpoint-guard-warnings created',
      'mutatingadmissionpolicy/endpoint-guard-managed-by created',
      'mutatingadmissionpolicybinding/endpoint-guard-managed-by created',
    ].join('\n') + '\n');
    assert.equal(api.list('validatingadmissionpolicies').length, 2);

    api.requests.length = 0;
    const again = await apply('complain');
    assert.match(again.stdout, /^(\S+ unchanged\n){7}$/);
    assert.ok(api.requests.every((r) => r.method === 'GET'), 'nothing written when nothing changed');

    const enforce = await apply('enforce');
    assert.equal(enforce.code, 0, enforce.stderr);
    assert.deepEqual(enforce.stdout.trim().split('\n').filter((l) => l.endsWith(' updated')), [
      'validatingadmissionpolicybinding/endpoint-guard-errors updated',
      'validatingadmissionpolicybinding/endpoint-guard-errors-complain updated',
      'validatingadmissionpolicybinding/endpoint-guard-warnings updated',
    ]);
    const binding = api.get('validatingadmissionpolicybindings', 'endpoint-guard-warnings') as unknown as { spec: { validationActions: string[] } };
    assert.deepEqual(binding.spec.validationActions, ['Warn']);
  });

  test('a release that does not serve a kind: the write\'s 404 is explained', async (t) => {
    const api = await startFakeApiserver(t);
    const kubeconfig = await api.writeKubeconfig(await tempDir(t));
    api.failNext('POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', 404, 'NotFound', 'the server could not find the requested resource');
    const run = await runCli(['manifests', '--as', 'policies', '--apply', '--kubeconfig', kubeconfig]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /the apiserver does not serve validatingadmissionpolicy\/endpoint-guard-errors's kind \(404: .*\); check --kubernetes-version against the cluster's version/);
  });
});
