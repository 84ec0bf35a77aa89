// How deep a request body may nest arrays and objects (maxJsonDepth). JSON.parse itself does not
// recurse, but code that walks or prints a value does (JSON.stringify in a message), and 100k
// nested arrays overflow its stack.
//
// A separate walk over the whole body would visit every endpoint a second time, so the review
// checks the limit as it reads: the envelope and any object it does not decode are walked here,
// and the decoder walks, with the budget left at its position, only the values it does not read
// field by field (unknown fields, managedFields, values of the wrong type). Every value the
// decoder reads field by field sits far above the lowest limit (10): the deepest, a zone hint,
// is 8 levels down.

/** The answer's message when the body nests deeper than `max`. */
export const tooDeepMessage = (max: number): string =>
  `request body nests arrays and objects more than ${max} deep; the limit is maxJsonDepth`;

/** Why `value` nests arrays and objects deeper than `max`, or undefined. */
export function nestingProblem(value: unknown, max: number): string | undefined {
  return nestsPast(value, 1, max) ? tooDeepMessage(max) : undefined;
}

/** Whether `value`, sitting `level` deep in the body (the body itself is 1), takes the body deeper than `max`. */
export const nestsPast = (value: unknown, level: number, max: number): boolean =>
  isContainer(value) && deeperThan(value, max - level + 1);

export const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** An own property's value; `o.__proto__` would be the prototype, while JSON.parse makes "__proto__" an own property like any other. */
export const ownValue = (o: object, key: string): unknown =>
  (key === '__proto__' ? Object.getOwnPropertyDescriptor(o, key)?.value : (o as Record<string, unknown>)[key]);

/**
 * Whether `container` and what it holds nest more than `left` levels (the container itself is
 * one). Recurses, but never more than `left` frames (maxJsonDepth is at most 1000), and only into
 * arrays and objects.
 */
export function deeperThan(container: object, left: number): boolean {
  if (left <= 0) return true;
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const item: unknown = container[i];
      if (isContainer(item) && deeperThan(item, left - 1)) return true;
    }
    return false;
  }
  for (const key in container) {
    const item = ownValue(container, key);
    if (isContainer(item) && deeperThan(item, left - 1)) return true;
  }
  return false;
}

/** What the decoder needs to hold an object to the limit. */
export interface DepthBudget {
  /** maxJsonDepth. */
  readonly max: number;
  /** How deep the object itself sits in the body (an AdmissionReview's request.object: 3). */
  readonly level: number;
  /** Each object the decoder has read whole, with the budget: nothing else needs to walk it. */
  readonly decoded: Set<unknown>;
}

/** Thrown by the decoder on a value past the limit: the review answers it with a 400. */
export class TooDeep extends Error {
  constructor(max: number) {
    super(tooDeepMessage(max));
    this.name = 'TooDeep';
  }
}
