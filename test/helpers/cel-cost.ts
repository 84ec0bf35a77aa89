// An upper bound of the runtime cost the kube-apiserver charges for a CEL expression, computed from
// the expression (parsed by @bufbuild/cel) and the largest object the apiserver lets through.
//
// The rules are those of the runtime cost tracker: google/cel-go interpreter/runtimecost.go (each
// identifier and field selection 1, a constant 0, a list literal 10, a map literal 30, a function 1
// unless priced by size) and the Kubernetes library prices of
// staging/src/k8s.io/apiserver/pkg/cel/library/cost.go (StrictCostEnforcementForVAP). Where the
// tracker charges what a value turned out to be, this takes the largest value the object's bounds
// allow, and for `a && b`, `a || b` and the branches of `c ? a : b` it charges both sides (an
// upper bound), except where a side is a known constant. Comprehensions (all, exists, map, filter)
// cost their range's largest size times one loop step.
import { parse } from '@bufbuild/cel';
import type { Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';

/** From k8s.io/apiserver/pkg/apis/cel/config.go. */
export const PER_CALL_LIMIT = 1_000_000;
export const RUNTIME_COST_BUDGET = 10_000_000;
// From cel-go common/cost.go.
const STRING_TRAVERSAL_COST_FACTOR = 0.1;
const REGEX_STRING_LENGTH_COST_FACTOR = 0.25;
const LIST_CREATE_BASE_COST = 10;
const MAP_CREATE_BASE_COST = 30;

/** What an expression may evaluate to, with the bounds that price it. */
export type Shape =
  | { readonly t: 'string'; readonly max: number; readonly value?: string }
  | { readonly t: 'int' | 'bool' | 'null' | 'ip'; readonly value?: boolean }
  | { readonly t: 'list'; readonly max: number; readonly of: Shape }
  | { readonly t: 'map'; readonly fields?: Readonly<Record<string, Shape>>; readonly values?: Shape; readonly entries: number }
  | { readonly t: 'absent' };

export const str = (max: number): Shape => ({ t: 'string', max });
export const constant = (value: string): Shape => ({ t: 'string', max: value.length, value });
export const INT: Shape = { t: 'int' };
export const BOOL: Shape = { t: 'bool' };
export const list = (max: number, of: Shape): Shape => ({ t: 'list', max, of });
export const object = (fields: Record<string, Shape>): Shape => ({ t: 'map', fields, entries: Object.keys(fields).length });
/** A map of strings to strings with this many entries at most (labels). */
export const stringMap = (entries: number, value: number): Shape => ({ t: 'map', values: str(value), entries });

interface Estimate { readonly cost: number; readonly shape: Shape }

const ceil = Math.ceil;
const sizeOf = (shape: Shape): number =>
  (shape.t === 'string' || shape.t === 'list' ? shape.max : shape.t === 'map' ? shape.entries : 1);

/** The larger of two shapes: what either branch of a conditional may give. */
function join(a: Shape, b: Shape): Shape {
  if (a.t === 'absent') return b;
  if (b.t === 'absent') return a;
  if (a.t === 'string' && b.t === 'string') return str(Math.max(a.max, b.max));
  if (a.t === 'list' && b.t === 'list') return list(Math.max(a.max, b.max), a.max >= b.max ? join(a.of, b.of) : join(b.of, a.of));
  if (a.t === 'map' && b.t === 'map') {
    const fields = { ...(b.fields ?? {}), ...(a.fields ?? {}) };
    for (const [k, v] of Object.entries(b.fields ?? {})) fields[k] = a.fields?.[k] ? join(a.fields[k], v) : v;
    const values = a.values && b.values ? join(a.values, b.values) : a.values ?? b.values;
    return { t: 'map', fields: a.fields || b.fields ? fields : undefined, ...(values ? { values } : {}), entries: Math.max(a.entries, b.entries) };
  }
  if (a.t === b.t) return { t: a.t } as Shape;
  throw new Error(`cel-cost: cannot join ${a.t} and ${b.t}`);
}

/** What the cost tracker charges to traverse a value (library.traversalCost: indexOf and friends). */
function traversal(shape: Shape): number {
  switch (shape.t) {
    case 'string': return Math.floor(shape.max * STRING_TRAVERSAL_COST_FACTOR);
    case 'list': return shape.max * traversal(shape.of);
    case 'map': {
      const fields = Object.entries(shape.fields ?? {}).reduce((sum, [k, v]) => sum + Math.floor(k.length * STRING_TRAVERSAL_COST_FACTOR) + traversal(v), 0);
      // A key of a map of values is a label key: at most 317 characters.
      return fields + (shape.values ? shape.entries * (Math.floor(317 * STRING_TRAVERSAL_COST_FACTOR) + traversal(shape.values)) : 0);
    }
    default: return 1;
  }
}

/** A variable name or a field path, as text: the key under which a size guard narrows a string. */
function pathOf(expr: Expr | undefined): string | undefined {
  if (!expr) return undefined;
  const kind = expr.exprKind;
  if (kind.case === 'identExpr') return kind.value.name;
  if (kind.case === 'selectExpr' && !kind.value.testOnly) {
    const operand = pathOf(kind.value.operand);
    return operand === undefined ? undefined : `${operand}.${kind.value.field}`;
  }
  if (kind.case === 'callExpr' && kind.value.function === '_[_]') {
    const [target, index] = kind.value.args.map(pathOf);
    return target === undefined || index === undefined ? undefined : `${target}[${index}]`;
  }
  return undefined;
}

/** `X.size() <= N` or `size(X) <= N`: X and N, for narrowing X to N characters where the guard holds. */
function sizeGuard(expr: Expr | undefined): { path: string; max: number } | undefined {
  if (expr?.exprKind.case !== 'callExpr' || expr.exprKind.value.function !== '_<=_') return undefined;
  const [left, right] = expr.exprKind.value.args;
  if (right?.exprKind.case !== 'constExpr' || right.exprKind.value.constantKind.case !== 'int64Value') return undefined;
  if (left?.exprKind.case !== 'callExpr' || left.exprKind.value.function !== 'size') return undefined;
  const sized = left.exprKind.value.target ?? left.exprKind.value.args[0];
  const path = pathOf(sized);
  return path === undefined ? undefined : { path, max: Number(right.exprKind.value.constantKind.value) };
}

interface Scope {
  readonly vars: ReadonlyMap<string, Shape>;
  readonly narrowed: ReadonlyMap<string, number>;
}

const withVar = (scope: Scope, name: string, shape: Shape): Scope => ({ ...scope, vars: new Map([...scope.vars, [name, shape]]) });
const narrow = (scope: Scope, guard: { path: string; max: number } | undefined): Scope =>
  (guard ? { ...scope, narrowed: new Map([...scope.narrowed, [guard.path, guard.max]]) } : scope);
/** A string the scope knows to be at most so long. */
function narrowedShape(expr: Expr, shape: Shape, scope: Scope): Shape {
  const path = pathOf(expr);
  const max = path === undefined ? undefined : scope.narrowed.get(path);
  return max !== undefined && shape.t === 'string' ? str(Math.min(shape.max, max)) : shape;
}

const constBool = (shape: Shape): boolean | undefined => (shape.t === 'bool' ? shape.value : undefined);

function estimateExpr(expr: Expr, scope: Scope): Estimate {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'constExpr': {
      const c = kind.value.constantKind;
      if (c.case === 'stringValue') return { cost: 0, shape: constant(c.value) };
      if (c.case === 'boolValue') return { cost: 0, shape: { t: 'bool', value: c.value } };
      if (c.case === 'nullValue') return { cost: 0, shape: { t: 'null' } };
      return { cost: 0, shape: INT };
    }
    case 'identExpr': {
      const shape = scope.vars.get(kind.value.name);
      if (!shape) throw new Error(`cel-cost: unknown identifier ${kind.value.name}`);
      return { cost: 1, shape: narrowedShape(expr, shape, scope) };
    }
    case 'selectExpr': {
      const operand = estimateExpr(kind.value.operand ?? fail('select without operand'), scope);
      const field = fieldOf(operand.shape, kind.value.field);
      if (kind.value.testOnly) return { cost: operand.cost + 1, shape: { t: 'bool', ...(field.t === 'absent' ? { value: false } : {}) } };
      return { cost: operand.cost + 1, shape: narrowedShape(expr, field, scope) };
    }
    case 'listExpr': {
      const elements = kind.value.elements.map((e) => estimateExpr(e, scope));
      const of = elements.reduce<Shape>((s, e) => join(s, e.shape), { t: 'absent' });
      return { cost: LIST_CREATE_BASE_COST + sum(elements), shape: list(elements.length, of) };
    }
    case 'structExpr': {
      const entries = kind.value.entries.map((e) => (e.keyKind.case === 'mapKey' ? estimateExpr(e.keyKind.value, scope).cost : 0) + estimateExpr(e.value ?? fail('entry'), scope).cost);
      return { cost: MAP_CREATE_BASE_COST + entries.reduce((a, b) => a + b, 0), shape: { t: 'map', entries: entries.length } };
    }
    case 'comprehensionExpr': {
      const c = kind.value;
      const ranged = estimateExpr(c.iterRange ?? fail('range'), scope);
      // Over an element of an empty list (absent): no iteration.
      const range = ranged.shape.t === 'absent' ? { cost: ranged.cost, shape: list(0, ranged.shape) } : ranged;
      if (range.shape.t !== 'list') throw new Error(`cel-cost: a comprehension over ${range.shape.t}`);
      const init = estimateExpr(c.accuInit ?? fail('init'), scope);
      // The accumulator of map and filter grows to the range's size; of all and exists it is a bool.
      const accumulator = init.shape.t === 'list' ? list(range.shape.max, loopElement(c, scope, range.shape.of)) : BOOL;
      const inner = withVar(withVar(scope, c.iterVar, range.shape.of), c.accuVar, accumulator);
      const condition = estimateExpr(c.loopCondition ?? fail('condition'), inner);
      const step = estimateExpr(c.loopStep ?? fail('step'), inner);
      const result = estimateExpr(c.result ?? fail('result'), inner);
      return { cost: range.cost + init.cost + range.shape.max * (condition.cost + step.cost) + result.cost, shape: result.shape };
    }
    case 'callExpr':
      return estimateCall(expr, scope);
    default:
      throw new Error(`cel-cost: no price for ${String(kind.case)}`);
  }
}

/** The element a map() adds: the shape of the mapped value (its loop step's list literal). */
function loopElement(c: Extract<Expr['exprKind'], { case: 'comprehensionExpr' }>['value'], scope: Scope, of: Shape): Shape {
  const step = c.loopStep;
  const added = step?.exprKind.case === 'callExpr' ? findListLiteral(step) : undefined;
  if (!added) return of;
  return estimateExpr(added, withVar(withVar(scope, c.iterVar, of), c.accuVar, list(0, of))).shape;
}
function findListLiteral(expr: Expr): Expr | undefined {
  const kind = expr.exprKind;
  if (kind.case === 'listExpr') return kind.value.elements[0];
  if (kind.case === 'callExpr') for (const arg of kind.value.args) { const found = findListLiteral(arg); if (found) return found; }
  return undefined;
}

function fieldOf(shape: Shape, field: string): Shape {
  // An element of a list that is empty in this scenario: priced, though never reached.
  if (shape.t === 'absent') return shape;
  if (shape.t !== 'map') throw new Error(`cel-cost: .${field} of ${shape.t}`);
  if (shape.fields) return shape.fields[field] ?? shape.values ?? { t: 'absent' };
  return shape.values ?? { t: 'absent' };
}

const sum = (estimates: readonly Estimate[]): number => estimates.reduce((total, e) => total + e.cost, 0);
const fail = (what: string): never => { throw new Error(`cel-cost: malformed expression (${what})`); };

function estimateCall(expr: Expr, scope: Scope): Estimate {
  if (expr.exprKind.case !== 'callExpr') throw new Error('not a call');
  const call = expr.exprKind.value;
  const name = call.function;
  // Logic: both sides charged, but a constant side decides (the addressType of a scenario).
  if (name === '_&&_' || name === '_||_') {
    const [lhsExpr, rhsExpr] = call.args;
    const lhs = estimateExpr(lhsExpr ?? fail('lhs'), scope);
    const decided = constBool(lhs.shape);
    if (decided === (name === '_||_')) return { cost: lhs.cost, shape: { t: 'bool', value: decided } };
    const rhs = estimateExpr(rhsExpr ?? fail('rhs'), name === '_&&_' ? narrow(scope, sizeGuard(lhsExpr)) : scope);
    return { cost: lhs.cost + rhs.cost, shape: decided === undefined ? BOOL : rhs.shape };
  }
  if (name === '_?_:_') {
    const [condExpr, yes, no] = call.args;
    const cond = estimateExpr(condExpr ?? fail('condition'), scope);
    const decided = constBool(cond.shape);
    const then = decided === false ? undefined : estimateExpr(yes ?? fail('then'), narrow(scope, sizeGuard(condExpr)));
    const otherwise = decided === true ? undefined : estimateExpr(no ?? fail('else'), scope);
    const branches = [then, otherwise].filter((b): b is Estimate => b !== undefined);
    return {
      cost: cond.cost + Math.max(...branches.map((b) => b.cost)),
      shape: branches.map((b) => b.shape).reduce(join),
    };
  }
  const target = call.target ? estimateExpr(call.target, scope) : undefined;
  const args = call.args.map((a) => estimateExpr(a, scope));
  // The tracker's argument list: the receiver of a member call first.
  const values = [...(target ? [target.shape] : []), ...args.map((a) => a.shape)];
  const [first = BOOL, second = BOOL] = values;
  const base = (target?.cost ?? 0) + sum(args);
  const priced = (cost: number, shape: Shape): Estimate => ({ cost: base + cost, shape });
  const traverse = (size: number, factor = STRING_TRAVERSAL_COST_FACTOR) => ceil(size * factor);
  switch (name) {
    case '!_': return priced(1, BOOL);
    case '@not_strictly_false': return priced(1, BOOL);
    case '_==_':
    case '_!=_': {
      const known = first.t === 'string' && second.t === 'string' && first.value !== undefined && second.value !== undefined;
      const value = known ? (first.value === second.value) === (name === '_==_') : undefined;
      return priced(traverse(Math.min(sizeOf(first), sizeOf(second))), { t: 'bool', ...(value === undefined ? {} : { value }) });
    }
    case '_<_': case '_<=_': case '_>_': case '_>=_':
      return priced(first.t === 'string' && second.t === 'string' ? traverse(Math.min(first.max, second.max)) : 1, BOOL);
    case '@in': return priced(second.t === 'list' ? second.max : 1, BOOL);
    case 'size': return priced(1, INT);
    case '_+_':
      // A string with an absent value (an element of a list empty in this scenario) is still a string.
      if (first.t === 'string' || second.t === 'string') return priced(traverse(sizeOf(first) + sizeOf(second)), str(sizeOf(first) + sizeOf(second)));
      if (first.t === 'list' && second.t === 'list') return priced(1, list(first.max + second.max, join(first.of, second.of)));
      return priced(1, INT);
    case '_-_': return priced(1, INT);
    case '_[_]': return priced(1, first.t === 'list' ? first.of : first.t === 'map' ? fieldOf(first, constantKey(call.args[1])) : fail('index'));
    case 'matches': return priced(traverse(1 + sizeOf(first)) * ceil(sizeOf(second) * REGEX_STRING_LENGTH_COST_FACTOR), BOOL);
    case 'startsWith': case 'endsWith': return priced(traverse(sizeOf(first)), BOOL);
    case 'contains': return priced(traverse(sizeOf(first)) * traverse(sizeOf(second)), BOOL);
    case 'string': return priced(1, str(20));
    case 'int': return priced(1, INT);
    case 'charAt': return priced(1, str(1));
    case 'substring': {
      const [, from, to] = [undefined, ...call.args.map(intConstant)];
      const max = from !== undefined && to !== undefined ? to - from : sizeOf(first);
      return priced(traverse(sizeOf(first)), str(Math.min(max, sizeOf(first))));
    }
    case 'replace': {
      const growth = second.t === 'string' && second.value && values[2]?.t === 'string' && values[2].value !== undefined
        ? Math.max(1, values[2].value.length / Math.max(1, second.value.length)) : 2;
      return priced(traverse(sizeOf(first), 2 * STRING_TRAVERSAL_COST_FACTOR), str(ceil(sizeOf(first) * growth)));
    }
    case 'indexOf': return priced(traversal(first), INT);
    case 'isIP': return priced(traverse(sizeOf(first)), BOOL);
    case 'ip': return priced(traverse(sizeOf(first)), { t: 'ip' });
    case 'isGlobalUnicast': case 'family': case 'isUnspecified': case 'isLoopback':
    case 'isLinkLocalMulticast': case 'isLinkLocalUnicast':
      return priced(1, name === 'family' ? INT : BOOL);
    default:
      throw new Error(`cel-cost: no price for the function ${name}; add it from runtimecost.go or library/cost.go`);
  }
}

function constantKey(expr: Expr | undefined): string {
  if (expr?.exprKind.case === 'constExpr' && expr.exprKind.value.constantKind.case === 'stringValue') return expr.exprKind.value.constantKind.value;
  return '';
}
function intConstant(expr: Expr | undefined): number | undefined {
  if (expr?.exprKind.case === 'constExpr' && expr.exprKind.value.constantKind.case === 'int64Value') return Number(expr.exprKind.value.constantKind.value);
  return undefined;
}

/** The most one evaluation of `expression` can cost, with these variables in scope. */
export function estimate(expression: string, vars: ReadonlyMap<string, Shape>): Estimate {
  return estimateExpr(parse(expression).expr, { vars, narrowed: new Map() });
}
