// What the server accepts, judged as it judges it (hubbub/protocol/limits.py): names, and a
// message body's length in characters as Python counts them (code points, so an emoji is
// one, not two UTF-16 units) and whether it is only whitespace (Python's str.isspace, not
// JavaScript's trim()).

export const MAX_BODY_CHARS = 8000;
// Files: the server's default `max_file_bytes` (a server may set another; it says so with
// 413 too_large), and how many files one message may carry.
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
export const MAX_FILES_PER_MESSAGE = 10;
// The server's patterns, character for character (a test compares them).
export const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
export const ROOM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

// Every character for which Python's str.isspace() is true.
const SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const BLANK = new RegExp(`^[${SPACE}]*$`, 'u');
const TRAILING_SPACE = new RegExp(`[${SPACE}]+$`, 'u');

/** Length in code points, as the server counts it. */
export function charCount(text) {
  let count = 0;
  for (const _ of text) count += 1; // iterating a string yields code points
  return count;
}

export function isBlank(text) {
  return BLANK.test(text);
}

/** The body that is sent for what was typed: trailing whitespace dropped. */
export function bodyOf(text) {
  return text.replace(TRAILING_SPACE, '');
}

/** 8000 → "8 000": digits grouped by three with a space, whatever the browser's locale. */
export function groupDigits(n) {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ' ');
}
