// The documentation as data: its pages, and from each page its code blocks, links and heading
// anchors, read with a Markdown parser (marked) rather than patterns, so code inside lists and
// links inside tables count, and links inside code do not.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import { type Token, type Tokens, lexer } from 'marked';
import { REPO } from './lint.ts';

/** README.md and every page under docs/, relative to the repository. */
export function docPages(): string[] {
  const docs = readdirSync(path.join(REPO, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md')).map((file) => path.join('docs', file)).sort();
  return ['README.md', ...docs];
}

export const readPage = (page: string): string => readFileSync(path.join(REPO, page), 'utf8');

/** A fenced block, and whether the block before it in the page is its direct neighbour. */
export interface CodeBlock {
  readonly lang: string;
  readonly text: string;
  /** The fenced block just before this one, when only blank lines lie between them. */
  readonly after?: CodeBlock;
}

/** Block-level tokens in document order, list items and block quotes opened up. */
function blockTokens(tokens: readonly Token[]): Token[] {
  return tokens.flatMap((token) => {
    if (token.type === 'list') return (token as Tokens.List).items.flatMap((item) => [token, ...blockTokens(item.tokens)]);
    if (token.type === 'blockquote') return blockTokens((token as Tokens.Blockquote).tokens);
    return [token];
  });
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let previous: Token | undefined;
  let previousBlock: CodeBlock | undefined;
  for (const token of blockTokens(lexer(markdown))) {
    if (token.type === 'space') continue;
    if (token.type === 'code') {
      const code = token as Tokens.Code;
      const block: CodeBlock = {
        lang: (code.lang ?? '').split(/\s/)[0] ?? '', text: code.text,
        ...(previous?.type === 'code' && previousBlock ? { after: previousBlock } : {}),
      };
      blocks.push(block);
      previousBlock = block;
    }
    previous = token;
  }
  return blocks;
}

/** Every inline token of a token tree (paragraphs, headings, table cells, list items). */
function* inlineTokens(tokens: readonly Token[]): Generator<Token> {
  for (const token of tokens) {
    yield token;
    const t = token as Token & { tokens?: Token[]; items?: Tokens.ListItem[]; header?: Tokens.TableCell[]; rows?: Tokens.TableCell[][] };
    if (t.type === 'code' || t.type === 'codespan') continue;
    if (t.tokens) yield* inlineTokens(t.tokens);
    if (t.items) yield* inlineTokens(t.items);
    if (t.header) yield* inlineTokens(t.header.flatMap((cell) => cell.tokens));
    if (t.rows) yield* inlineTokens(t.rows.flat().flatMap((cell) => cell.tokens));
  }
}

/** The targets of every link and image, outside code. */
export function linkTargets(markdown: string): string[] {
  return [...inlineTokens(lexer(markdown))]
    .filter((token): token is Tokens.Link | Tokens.Image => token.type === 'link' || token.type === 'image')
    .map((token) => token.href);
}

/** The text of a heading as GitHub renders it: code spans and emphasis without their marks. */
function plainText(tokens: readonly Token[]): string {
  return tokens.map((token) => {
    const t = token as Token & { tokens?: Token[]; text?: string };
    if (t.tokens && t.type !== 'codespan') return plainText(t.tokens);
    return t.text ?? '';
  }).join('');
}

/** The anchors GitHub gives the page's headings (github-slugger: lower case, punctuation dropped, -1, -2 for repeats). */
export function headingAnchors(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const token of blockTokens(lexer(markdown))) {
    if (token.type === 'heading') anchors.add(slugger.slug(plainText((token as Tokens.Heading).tokens)));
  }
  return anchors;
}
