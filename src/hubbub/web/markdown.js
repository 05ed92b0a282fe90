// Message formatting: a small, fixed subset of Markdown, parsed here and drawn as DOM nodes.
//
// Why a parser of our own rather than a Markdown library: the client has no build step and
// takes no third-party code; the subset is small and bounded, so the whole of it can be
// read and tested here; and its output is DOM nodes made with createElement and Text nodes,
// never an HTML string, so raw HTML in a message can only ever be shown as text.
//
// The subset (what Slack, Zulip and GitHub users write):
//
//   **bold**  __bold__   *italic*  _italic_   ~~strike~~   `code`   ***bold italic***
//   ```lang            a fenced code block, shown verbatim; the language word is optional
//   > quote            a block quote (quotes nest, up to MAX_QUOTE_DEPTH)
//   - item, * item, + item, 1. item, 1) item
//                      bullet and numbered lists; an item indented by two spaces or more
//                      goes into a list under the item above (one level of nesting)
//   https://x.org      a bare http(s) URL becomes a link (linkify.js finds them)
//   [text](url)        a link to an http:, https: or mailto: URL; any other scheme, an
//                      image (![alt](url)) or a destination with spaces stays text
//   @name  @room       a mention (a username, or everyone in the room)
//   \*                 a backslash makes the punctuation after it plain text
//
// Emphasis markers do not open or close against a letter or digit (A-Z, a-z, 0-9) on their
// outer side, so snake_case_names and 2*3*4 stay as written, while CJK text (no spaces
// between words) can still be emphasised. A marker without its partner is text. Lines in a
// paragraph keep their line breaks; a blank line starts a new paragraph. No headings, tables,
// images or raw HTML.
//
// Work is bounded: text longer than MAX_PARSE_CHARS is shown as it is; quotes, lists and
// emphasis nest only so deep, beyond which their markers are text; every scan moves forward
// (matching code-span backticks and link brackets is looked up, not searched again for
// each candidate), so hostile text costs time about linear in its length.
//
// The tree `parse` returns is plain data (tested in Node):
//   blocks:  {type: 'paragraph', children} | {type: 'code_block', lang, text}
//            | {type: 'quote', children: blocks}
//            | {type: 'list', ordered, start, items: [{children, list}]}  (list: null | list)
//   inlines: {type: 'text', text} | {type: 'code', text} | {type: 'strong'|'em'|'del', children}
//            | {type: 'link', href, children} | {type: 'mention', name}

import { safeHref, urlAt } from './linkify.js';

export const MAX_PARSE_CHARS = 20_000;
export const MAX_QUOTE_DEPTH = 4;
export const MAX_INLINE_DEPTH = 6;
// Longer than this is folded behind "Show more".
export const FOLD_LINES = 20;
export const FOLD_CHARS = 1500;

const MAX_FENCE_TICKS = 32;
const MAX_DESTINATION_CHARS = 2048;
const MENTION_NAME = /[A-Za-z0-9][A-Za-z0-9_.-]{0,31}/y;
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const WORD_CHAR = /[A-Za-z0-9_]/;
const ALNUM = /[A-Za-z0-9]/;
const SPACE = /\s/;
const PUNCTUATION = /[!-/:-@[-`{-~]/;
// The characters at which the inline scanner may have something to do.
const SPECIAL = /[\\`*_~[@hH]/g;

// --- blocks ----------------------------------------------------------------------------

const BLANK = /^\s*$/;
const FENCE_OPEN = /^( {0,3})(`{3,})([^`]*)$/;
const QUOTE = /^ {0,3}> ?/;
const ITEM = /^( *)(?:([-*+])|(\d{1,9})[.)]) +(?=\S)/;
const LANG = /^[\w+#.-]{1,32}$/;

/** The tree of `text`: a list of blocks (see the header for its node types). */
export function parse(text) {
  if (text.length > MAX_PARSE_CHARS) return [{ type: 'paragraph', children: [{ type: 'text', text }] }];
  return parseBlocks(text.split(/\r\n?|\n/), 0);
}

function parseBlocks(lines, depth) {
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i += 1;
    } else if (FENCE_OPEN.test(line)) {
      i = codeBlock(lines, i, blocks);
    } else if (QUOTE.test(line) && depth < MAX_QUOTE_DEPTH) {
      const inner = [];
      for (; i < lines.length && QUOTE.test(lines[i]); i += 1) inner.push(lines[i].replace(QUOTE, ''));
      blocks.push({ type: 'quote', children: parseBlocks(inner, depth + 1) });
    } else if (topItem(line)) {
      i = list(lines, i, blocks);
    } else {
      const start = i;
      for (i += 1; i < lines.length && !startsBlock(lines[i], depth); i += 1);
      blocks.push({ type: 'paragraph', children: parseInline(lines.slice(start, i).join('\n')) });
    }
  }
  return blocks;
}

/** Whether `line` ends the paragraph above it. */
function startsBlock(line, depth) {
  if (BLANK.test(line) || FENCE_OPEN.test(line) || topItem(line)) return true;
  return QUOTE.test(line) && depth < MAX_QUOTE_DEPTH;
}

/** The list item `line` begins, or null: `{indent, ordered, number, text}`. */
function item(line) {
  const match = ITEM.exec(line);
  if (!match) return null;
  const [marker, indent, bullet, number] = match;
  const text = line.slice(marker.length);
  return { indent: indent.length, ordered: !bullet, number: Number(number), text };
}

function topItem(line) {
  const found = item(line);
  return found && found.indent < 2 ? found : null;
}

/** The fenced code block starting at line `i` (closed by a fence as long, or the end). */
function codeBlock(lines, i, blocks) {
  const [, indent, ticks, info] = FENCE_OPEN.exec(lines[i]);
  const word = info.trim().split(/\s+/)[0];
  const close = new RegExp(`^ {0,3}\`{${ticks.length},}\\s*$`);
  const strip = new RegExp(`^ {0,${indent.length}}`);
  const content = [];
  let j = i + 1;
  for (; j < lines.length && !close.test(lines[j]); j += 1) content.push(lines[j].replace(strip, ''));
  blocks.push({ type: 'code_block', lang: LANG.test(word) ? word : null, text: content.join('\n') });
  return j + 1;
}

/**
 * The list starting at line `i`: items at an indent under two spaces, the items indented
 * more in a list under the item above, indented lines that are not items continuing the
 * item above. A blank line ends it unless an item follows.
 */
function list(lines, i, blocks) {
  const first = topItem(lines[i]);
  const node = emptyList(first);
  let last = null; // the item that continuation lines add to
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      let next = i + 1;
      while (next < lines.length && BLANK.test(lines[next])) next += 1;
      const found = next < lines.length ? item(lines[next]) : null;
      if (!found || (found.indent < 2 && found.ordered !== node.ordered)) break;
      i = next;
      continue;
    }
    const found = item(line);
    if (found && found.indent < 2) {
      if (found.ordered !== node.ordered) break;
      last = { lines: [found.text], list: null };
      node.items.push(last);
    } else if (found && node.items.length) {
      const parent = node.items.at(-1);
      parent.list ??= emptyList(found);
      last = { lines: [found.text], list: null };
      parent.list.items.push(last);
    } else if (/^(?: {2,}|\t)/.test(line)) {
      last.lines.push(line.trim());
    } else {
      break;
    }
    i += 1;
  }
  blocks.push(finishList(node));
  return i;
}

function emptyList({ ordered, number }) {
  return { type: 'list', ordered, start: ordered ? number : null, items: [] };
}

function finishList(node) {
  return {
    ...node,
    items: node.items.map(({ lines, list: sub }) => ({
      children: parseInline(lines.join('\n')),
      list: sub ? finishList(sub) : null,
    })),
  };
}

// --- inlines ---------------------------------------------------------------------------

/**
 * The inline nodes of `text`. Code spans, links, URLs and mentions are found in one pass
 * from left to right; emphasis markers are then paired, innermost first, like brackets.
 * `links`: whether links and mentions are looked for (not inside a link's own text).
 */
function parseInline(text, { links = true } = {}) {
  const tokens = scan(text, links);
  pairDelimiters(tokens);
  return build(tokens);
}

/** The positions of every run of backticks, by its length (for finding a code span's end). */
function backtickRuns(text) {
  const runs = new Map();
  for (const match of text.matchAll(/`+/g)) {
    if (!runs.has(match[0].length)) runs.set(match[0].length, []);
    runs.get(match[0].length).push(match.index);
  }
  return runs;
}

function scan(text, links) {
  const tokens = [];
  let plain = '';
  const flush = () => {
    if (plain) tokens.push({ type: 'text', text: plain });
    plain = '';
  };
  let runs = null; // backtick runs, found when the first backtick is met
  const used = new Map(); // run length -> how many of its runs are behind the scan
  let bracketEnd = -1; // the first "]" at or after the last "[" looked at (2^32 - 1: none)
  let i = 0;
  while (i < text.length) {
    SPECIAL.lastIndex = i;
    const found = SPECIAL.exec(text);
    if (!found) break;
    plain += text.slice(i, found.index);
    i = found.index;
    const c = text[i];
    const prev = text[i - 1];
    if (c === '\\' && PUNCTUATION.test(text[i + 1] ?? '')) {
      plain += text[i + 1];
      i += 2;
    } else if (c === '`') {
      runs ??= backtickRuns(text);
      const n = runLength(text, i);
      const end = n <= MAX_FENCE_TICKS ? nextRun(runs, used, n, i) : -1;
      if (end < 0) {
        plain += text.slice(i, i + n);
        i += n;
      } else {
        flush();
        tokens.push({ type: 'code', text: codeText(text.slice(i + n, end)) });
        i = end + n;
      }
    } else if (c === '*' || c === '_' || c === '~') {
      const n = runLength(text, i);
      const next = text[i + n];
      const usable = c === '~' ? n === 2 : n <= 3;
      if (!usable) {
        plain += text.slice(i, i + n);
      } else {
        flush();
        tokens.push({
          type: 'delim',
          char: c,
          length: n,
          canOpen: next !== undefined && !SPACE.test(next) && !ALNUM.test(prev ?? ''),
          canClose: prev !== undefined && !SPACE.test(prev) && !ALNUM.test(next ?? ''),
        });
      }
      i += n;
    } else if (c === '[' && links && prev !== '!') {
      // No "]" after the last one found means none after this "[" either: no search again.
      if (bracketEnd < i) bracketEnd = text.indexOf(']', i) >>> 0;
      const link = bracketEnd < text.length ? writtenLink(text, i, bracketEnd) : null;
      if (link) {
        flush();
        tokens.push(link.node);
        i = link.end;
      } else {
        plain += c;
        i += 1;
      }
    } else if ((c === 'h' || c === 'H') && links) {
      const url = urlAt(text, i);
      if (url) {
        flush();
        tokens.push({ type: 'link', href: url.href, children: [{ type: 'text', text: url.text }] });
        i += url.text.length;
      } else {
        plain += c;
        i += 1;
      }
    } else if (c === '@' && links && !WORD_CHAR.test(prev ?? '')) {
      const name = mentionAt(text, i + 1);
      if (name) {
        flush();
        tokens.push({ type: 'mention', name });
        i += 1 + name.length;
      } else {
        plain += c;
        i += 1;
      }
    } else {
      plain += c;
      i += 1;
    }
  }
  plain += text.slice(i);
  flush();
  return tokens;
}

function runLength(text, i) {
  let j = i;
  while (text[j] === text[i]) j += 1;
  return j - i;
}

/** Where the next run of exactly `n` backticks after `i` starts, or -1 (scans forward only). */
function nextRun(runs, used, n, i) {
  const positions = runs.get(n) ?? [];
  let k = used.get(n) ?? 0;
  while (k < positions.length && positions[k] <= i) k += 1;
  used.set(n, k);
  return k < positions.length ? positions[k] : -1;
}

/** A code span's text: one space each side is dropped when both are there (`` `x` ``). */
function codeText(raw) {
  if (raw.length > 2 && raw.startsWith(' ') && raw.endsWith(' ') && raw.trim()) return raw.slice(1, -1);
  return raw;
}

/**
 * The [text](url) link whose "[" is at `open` and "]" at `close`, or null when it is not
 * one: no "(" right after the "]", a "[" inside, a destination with spaces (or with
 * another link's "]("), too long or unbalanced, or a URL that is not http(s) or mailto.
 */
function writtenLink(text, open, close) {
  if (text[close + 1] !== '(' || close === open + 1) return null;
  const label = text.slice(open + 1, close);
  if (label.includes('[')) return null;
  let depth = 0;
  let j = close + 2;
  const limit = Math.min(text.length, j + MAX_DESTINATION_CHARS);
  for (; j < limit; j += 1) {
    const c = text[j];
    // Another link's "](" ends the search: each part of the text is scanned about once.
    if (SPACE.test(c) || (c === ']' && text[j + 1] === '(')) return null;
    if (c === '(') depth += 1;
    else if (c === ')') {
      if (depth === 0) break;
      depth -= 1;
    }
  }
  if (text[j] !== ')') return null;
  const href = safeHref(text.slice(close + 2, j), { written: true });
  if (!href) return null;
  return { node: { type: 'link', href, children: parseInline(label, { links: false }) }, end: j + 1 };
}

/** The username mentioned by "@" before `i`, or null. A full stop after it ends a sentence. */
function mentionAt(text, i) {
  MENTION_NAME.lastIndex = i;
  const match = MENTION_NAME.exec(text);
  if (!match) return null;
  // Longer than a username can be: not a mention (e.g. a long handle elsewhere).
  if (NAME_CHAR.test(text[i + match[0].length] ?? '')) return null;
  return match[0].replace(/\.+$/, '') || null;
}

const KINDS = { 1: ['em'], 2: ['strong'], 3: ['em', 'strong'] };

/**
 * Pair emphasis markers: a closer takes the nearest open marker of its kind (same character,
 * same length); openers between the two can no longer close and stay text. One stack per
 * kind, so that each marker is pushed and popped at most once.
 */
function pairDelimiters(tokens) {
  const stacks = new Map();
  tokens.forEach((token, index) => {
    if (token.type !== 'delim') return;
    const key = token.char + token.length;
    const stack = stacks.get(key);
    if (token.canClose && stack?.length) {
      const opener = stack.pop();
      tokens[opener].partner = index;
      token.partner = opener;
      for (const other of stacks.values()) {
        while (other.length && other.at(-1) > opener) other.pop();
      }
      return;
    }
    if (token.canOpen) {
      if (!stack) stacks.set(key, [index]);
      else stack.push(index);
    }
  });
}

/** The tree from the tokens: paired markers become nodes (up to MAX_INLINE_DEPTH deep). */
function build(tokens) {
  const root = [];
  const open = []; // [children array to return to, index of the closer]
  let children = root;
  const push = (node) => {
    const last = children.at(-1);
    if (node.type === 'text' && last?.type === 'text') last.text += node.text;
    else children.push(node);
  };
  tokens.forEach((token, index) => {
    if (token.type !== 'delim') return push(token);
    const marker = token.char.repeat(token.length);
    if (token.partner === undefined || token.literal) return push({ type: 'text', text: marker });
    if (token.partner < index) {
      children = open.pop();
      return undefined;
    }
    if (open.length >= MAX_INLINE_DEPTH) {
      tokens[token.partner].literal = true;
      return push({ type: 'text', text: marker });
    }
    open.push(children);
    const kinds = token.char === '~' ? ['del'] : KINDS[token.length];
    for (const type of kinds) {
      const node = { type, children: [] };
      children.push(node);
      children = node.children;
    }
    return undefined;
  });
  return root;
}

// --- size ------------------------------------------------------------------------------

/** About how many lines and characters `tree` shows (for folding long messages). */
export function measure(tree) {
  let lines = 0;
  let chars = 0;
  const inline = (nodes) => {
    for (const node of nodes) {
      if (node.children) inline(node.children);
      else {
        const text = node.text ?? `@${node.name}`;
        chars += text.length;
        lines += text.split('\n').length - 1;
      }
    }
  };
  const blocks = (nodes) => {
    for (const node of nodes) {
      if (node.type === 'paragraph') {
        lines += 1;
        inline(node.children);
      } else if (node.type === 'code_block') {
        lines += node.text.split('\n').length;
        chars += node.text.length;
      } else if (node.type === 'quote') blocks(node.children);
      else if (node.type === 'list') blocks(listItems(node));
    }
  };
  const listItems = (node) =>
    node.items.flatMap((entry) => [
      { type: 'paragraph', children: entry.children },
      ...(entry.list ? [entry.list] : []),
    ]);
  blocks(tree);
  // The space between blocks is about a line each.
  return { lines: lines + Math.max(0, tree.length - 1), chars };
}

export function isLong(tree) {
  const { lines, chars } = measure(tree);
  return lines > FOLD_LINES || chars > FOLD_CHARS;
}

// --- DOM -------------------------------------------------------------------------------

/**
 * A DocumentFragment showing `input` (text, or a tree from `parse`), made only of elements
 * and Text nodes. `me`: the viewer's username (their mentions are marked); `fold`: put a
 * long message behind "Show more".
 */
export function render(input, { me = null, fold = false } = {}) {
  const tree = typeof input === 'string' ? parse(input) : input;
  const fragment = document.createDocumentFragment();
  const context = { me: me?.toLowerCase() ?? null };
  if (fold && isLong(tree)) {
    const box = element('div', 'md-fold');
    box.dataset.folded = 'true';
    appendBlocks(box, tree, context);
    fragment.append(box, foldButton(box));
  } else appendBlocks(fragment, tree, context);
  return fragment;
}

function element(tag, className = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function foldButton(box) {
  const button = element('button', 'link md-more');
  button.type = 'button';
  button.textContent = 'Show more';
  button.setAttribute('aria-expanded', 'false');
  button.addEventListener('click', () => {
    const folded = box.dataset.folded !== 'true';
    box.dataset.folded = String(folded);
    button.textContent = folded ? 'Show more' : 'Show less';
    button.setAttribute('aria-expanded', String(!folded));
  });
  return button;
}

/**
 * Paragraphs are drawn as their text (the message body keeps line breaks), a blank line
 * between two of them; other blocks are elements.
 */
function appendBlocks(parent, blocks, context) {
  let prev = null;
  for (const block of blocks) {
    if (block.type === 'paragraph') {
      if (prev?.type === 'paragraph') parent.append(document.createTextNode('\n\n'));
      appendInline(parent, block.children, context);
    } else if (block.type === 'code_block') {
      const pre = element('pre', 'md-pre');
      const code = element('code');
      if (block.lang) code.dataset.lang = block.lang;
      code.textContent = block.text;
      pre.append(code);
      parent.append(pre);
    } else if (block.type === 'quote') {
      const quote = element('blockquote', 'md-quote');
      appendBlocks(quote, block.children, context);
      parent.append(quote);
    } else if (block.type === 'list') {
      parent.append(listNode(block, context));
    }
    prev = block;
  }
}

function listNode(block, context) {
  const node = element(block.ordered ? 'ol' : 'ul', 'md-list');
  if (block.ordered && block.start !== 1) node.start = block.start;
  for (const entry of block.items) {
    const li = element('li');
    appendInline(li, entry.children, context);
    if (entry.list) li.append(listNode(entry.list, context));
    node.append(li);
  }
  return node;
}

const TAGS = { strong: 'strong', em: 'em', del: 'del' };

function appendInline(parent, nodes, context) {
  for (const node of nodes) {
    if (node.type === 'text') parent.append(document.createTextNode(node.text));
    else if (node.type === 'code') {
      const code = element('code', 'md-code');
      code.textContent = node.text;
      parent.append(code);
    } else if (node.type === 'link') {
      const a = element('a');
      a.href = node.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow';
      appendInline(a, node.children, context);
      parent.append(a);
    } else if (node.type === 'mention') {
      const name = node.name.toLowerCase();
      const mine = name === 'room' || name === context.me;
      const span = element('span', mine ? 'mention mention-me' : 'mention');
      span.dataset.user = node.name;
      span.textContent = `@${node.name}`;
      parent.append(span);
    } else if (TAGS[node.type]) {
      const tag = element(TAGS[node.type]);
      appendInline(tag, node.children, context);
      parent.append(tag);
    }
  }
}
