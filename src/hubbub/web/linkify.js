// Finding links in message text, the one place that decides what may be a link.
//
// A bare URL is an absolute http:// or https:// URL written in the text; `javascript:`,
// `data:` and anything else stay text. A link written as [text](url) may also be mailto:.
// The href is always the URL as the browser's URL parser normalised it, never the raw text.

// Bounded, so that a long run of non-space text costs at most this much per candidate.
const MAX_URL_CHARS = 2048;
const BARE_URL = new RegExp(`\\bhttps?:\\/\\/[^\\s<>"\`]{1,${MAX_URL_CHARS}}`, 'iy');
// Punctuation that usually ends a sentence (or closes Markdown emphasis) rather than a URL:
// "see https://x.org/a." or "**https://x.org**".
const TRAILING = /[.,;:!?'’”*_~]+$/;
const BARE_SCHEMES = new Set(['http:', 'https:']);
const WRITTEN_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

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

/**
 * The href for `text` when it is an absolute URL of an allowed scheme, else null. `written`:
 * the URL of a [text](url) link, which may also be mailto:.
 */
export function safeHref(text, { written = false } = {}) {
  const schemes = written ? WRITTEN_SCHEMES : BARE_SCHEMES;
  try {
    const url = new URL(text);
    return schemes.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The bare URL that starts at `index` of `text` (after a non-word character), or null:
 * `{ text, href }`, `text` as typed and `href` as the URL parser normalised it.
 */
export function urlAt(text, index) {
  BARE_URL.lastIndex = index;
  const match = BARE_URL.exec(text);
  if (!match) return null;
  const url = trimUrl(match[0]);
  const href = safeHref(url);
  return href ? { text: url, href } : null;
}
