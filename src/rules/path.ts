// A field path is data; formatPath is the only place it becomes text.
export type Segment = string | number | { key: string };
export type FieldPath = readonly Segment[];

export const formatPath = (path: FieldPath): string =>
  path
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : typeof s === 'object' ? `[${s.key}]` : i === 0 ? s : `.${s}`))
    .join('');
