// Message text to DOM nodes: plain Text nodes, and <a> elements for http(s) links.
//
// Only absolute http:// and https:// URLs become links; `javascript:`, `data:` and anything
// else stay text. The href is the URL as the browser's URL parser normalised it, and the
// link text is the characters the author typed, set with textContent.

const CANDIDATE = /\bhttps?:\/\/[^\s<>"]+/gi;
// Punctuation that usually ends a sentence rather than a URL: "see https://x.org/a."
const TRAILING = /[.,;:!?'’”*_]+$/;

/** Trim a trailing ")" unless the URL holds a matching "(" (e.g. Wikipedia links). */
function trimUrl(raw) {
  let url = raw.replace(TRAILING, '');
  while (url.endsWith(')') || url.endsWith(']')) {
    const close = url.at(-1);
    const open = close === ')' ? '(' : '[';
    const opens = url.split(open).length - 1;
    const closes = url.split(close).length - 1;
    if (closes <= opens) break;
    url = url.slice(0, -1).replace(TRAILING, '');
  }
  return url;
}

function safeHref(text) {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * `text` cut into the pieces it is shown as, in order: `{ text }` for plain text and
 * `{ text, href }` for a link (`text` as typed, `href` as the URL parser normalised it).
 */
export function linkParts(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: url, href });
    last = match.index + url.length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** The nodes showing `text`, with its links clickable. */
export function linkify(text) {
  return linkParts(text).map((part) => {
    if (!part.href) return document.createTextNode(part.text);
    const a = document.createElement('a');
    a.href = part.href;
    a.textContent = part.text;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  });
}
