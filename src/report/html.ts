// HTML built with a tagged template that escapes every value put into it: text from the logs
// (user, namespace and object names) can only ever become text. Markup passes through only as an
// Html value, made by this template or, for the SVG vega renders, by trustedMarkup().
import escapeHtml from 'escape-html';

export interface Html { readonly markup: string }

export type Content = Html | string | number | undefined | null | false | readonly Content[];

const isHtml = (c: Content): c is Html => typeof c === 'object' && c !== null && !Array.isArray(c);

function renderContent(c: Content): string {
  if (c === undefined || c === null || c === false) return '';
  if (Array.isArray(c)) return c.map(renderContent).join('');
  if (isHtml(c)) return c.markup;
  return escapeHtml(String(c));
}

export function html(strings: TemplateStringsArray, ...values: readonly Content[]): Html {
  let markup = strings[0] ?? '';
  values.forEach((value, i) => {
    markup += renderContent(value) + (strings[i + 1] ?? '');
  });
  return { markup };
}

/** Markup made by code we trust to escape what it holds (vega's SVG renderer). */
export const trustedMarkup = (markup: string): Html => ({ markup });

export const renderHtml = (c: Content): string => renderContent(c);
