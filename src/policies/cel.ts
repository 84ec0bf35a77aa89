// CEL text built from plain values: string literals, lists of them, and messages whose words are
// written once in the rules and get values filled in by CEL at admission time.

/** A CEL string literal in single quotes, escaped so any text stays one literal. */
export function celString(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

export const celStringList = (items: readonly string[]): string => `[${items.map(celString).join(', ')}]`;

// Private-use characters stand for the values in a text rendered by the rules' own word functions;
// no rule text contains them.
const HOLES = ['\u{E000}', '\u{E001}', '\u{E002}'] as const;

/**
 * A CEL string expression for a text with values filled in at admission time: `words` gets one
 * placeholder per value and renders the text as the rules do; each placeholder becomes the CEL
 * expression at the same position.
 */
export function celTemplate(words: (...holes: string[]) => string, values: readonly string[]): string {
  const text = words(...HOLES.slice(0, values.length));
  const pattern = new RegExp(`(${HOLES.join('|')})`, 'u');
  const parts = text.split(pattern).filter((part) => part !== '');
  return parts.map((part) => {
    const hole = HOLES.indexOf(part as (typeof HOLES)[number]);
    if (hole < 0) return celString(part);
    const value = values[hole];
    if (value === undefined) throw new Error(`celTemplate: no value for placeholder ${hole}`);
    return `(${value})`;
  }).join(' + ');
}

/**
 * The webhook's last resort for a warning over `max` characters (policy.ts warningLine): the first
 * max-3 characters and "...". CEL counts code points as the webhook does.
 */
export const celFit = (line: string, max: number): string =>
  `(${line}).size() <= ${max} ? (${line}) : (${line}).substring(0, ${max - 3}) + '...'`;
