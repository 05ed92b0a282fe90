// Message search: a box in the sidebar, its results in a dialog, newest first, the matches
// highlighted. Results come from `GET /api/v1/search` (the session cookie signs it); the
// box, the dialog and their nodes are made here, so the page's HTML does not change.
//
// A body is shown as text: its pieces are Text nodes and <mark> elements, never HTML.

import { searchMessages } from './api.js';
import { el, say } from './dom.js';
import { filesLabel } from './file_views.js';
import { roomLabel } from './format.js';
import { authorNode } from './profiles.js';

export const MIN_QUERY = 3; // code points; the server refuses shorter queries
export const MAX_QUERY = 100;

/**
 * The pieces of `body` around and at `ranges` ([start, end) offsets in code points, in
 * order, not overlapping): [{text, match}], ready to become Text nodes and <mark>s.
 */
export function highlightPieces(body, ranges) {
  const points = Array.from(body); // code points, as the server counts them
  const pieces = [];
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at || end <= start || end > points.length) continue; // not ours to trust
    if (start > at) pieces.push({ text: points.slice(at, start).join(''), match: false });
    pieces.push({ text: points.slice(start, end).join(''), match: true });
    at = end;
  }
  if (at < points.length) pieces.push({ text: points.slice(at).join(''), match: false });
  return pieces;
}

/** How long `text` is as the server counts it: in code points. */
export function queryLength(text) {
  return Array.from(text).length;
}

function searchInput(id) {
  return el('input', {
    type: 'search',
    id,
    placeholder: 'Search messages',
    autocomplete: 'off',
    maxLength: MAX_QUERY,
    attrs: { 'aria-label': 'Search messages', enterkeyhint: 'search' },
  });
}

function cursorOf(result) {
  return `${result.ts}:${result.seq}:${result.room}`;
}

function explain(err) {
  if (err.code === 'network') return 'Not connected to the server. Try again once you are back online.';
  if (err.code === 'rate_limited') return 'Too many requests; try again in a moment.';
  return err.message || 'Something went wrong.';
}

export class SearchBox {
  #navigate;
  #me;
  #input;
  #note;
  #again; // the dialog's own box, to search again without closing it
  #dialog;
  #title;
  #list;
  #more;
  #error;
  #query = '';
  #cursor = null;
  #asked = 0; // the newest search asked for: an older answer is dropped

  constructor({ navigate, me, before }) {
    this.#navigate = navigate;
    this.#me = me;
    this.#input = searchInput('search-input');
    this.#note = el('p', { class: 'hint', id: 'search-note', attrs: { role: 'status' }, hidden: true });
    before.before(this.#form('sidebar-search', this.#input, this.#note));
    this.#again = searchInput('search-again');

    this.#title = el('h2', { id: 'dlg-search-title', text: 'Search' });
    this.#list = el('ul', { id: 'search-results', class: 'directory search-results' });
    this.#more = el('button', { type: 'button', class: 'quiet', text: 'Older results', hidden: true });
    this.#more.addEventListener('click', () => this.#load());
    this.#error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const close = el('button', { type: 'button', class: 'quiet', text: 'Close' });
    this.#dialog = el(
      'dialog',
      { id: 'dlg-search', attrs: { 'aria-labelledby': 'dlg-search-title' } },
      el(
        'div',
        { class: 'dialog-form' },
        this.#title,
        this.#form('search-again-form', this.#again, null),
        this.#list,
        this.#error,
        el('div', { class: 'dialog-buttons' }, this.#more, close),
      ),
    );
    close.addEventListener('click', () => this.#dialog.close());
    this.#dialog.addEventListener('click', (event) => {
      if (event.target === this.#dialog) this.#dialog.close();
    });
    document.body.append(this.#dialog);
  }

  #form(className, input, note) {
    const form = el('form', { class: className, attrs: { role: 'search' } }, input, note);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#start(input.value, note ?? this.#error);
    });
    return form;
  }

  #start(query, note) {
    if (queryLength(query) < MIN_QUERY) {
      say(note, `Type at least ${MIN_QUERY} characters to search.`);
      return;
    }
    say(this.#note, '');
    this.#input.value = this.#again.value = query;
    this.#query = query;
    this.#cursor = null;
    this.#title.textContent = `Search: ${query}`;
    this.#list.replaceChildren();
    if (!this.#dialog.open) this.#dialog.showModal();
    this.#load();
  }

  async #load() {
    const asked = ++this.#asked;
    say(this.#error, '');
    this.#more.hidden = true;
    let page;
    try {
      page = await searchMessages(this.#query, this.#cursor);
    } catch (err) {
      if (asked === this.#asked) say(this.#error, explain(err));
      return;
    }
    if (asked !== this.#asked) return;
    const { results, has_more: hasMore, next } = page;
    // A page may end short, even empty, where the server stopped looking: go on from its `next`.
    if (next) this.#cursor = next;
    else if (results.length) this.#cursor = cursorOf(results[results.length - 1]);
    this.#list.append(...results.map((result) => this.#entry(result)));
    if (!this.#list.children.length) {
      this.#list.append(el('li', { class: 'empty-note', text: 'No messages found in your rooms.' }));
    }
    this.#more.hidden = !hasMore;
  }

  #entry(result) {
    const pieces = highlightPieces(result.body ?? '', result.ranges ?? []);
    const body = el(
      'p',
      { class: 'search-body' },
      pieces.map(({ text, match }) => (match ? el('mark', { text }) : text)),
    );
    // A hit's files, where the server says them (the match is in the body).
    const files = filesLabel(result.files);
    const when = new Date(result.ts).toLocaleString();
    const open = el(
      'button',
      { type: 'button', class: 'search-hit', dataset: { room: result.room, seq: String(result.seq) } },
      el(
        'span',
        { class: 'search-meta' },
        el('span', { class: 'dir-name', text: roomLabel(result.room, undefined, this.#me()) }),
        ' · ',
        authorNode(result.user, 'search-author'), // the display name; @username on hover
        ` · ${when}`,
      ),
      pieces.length ? body : null,
      files ? el('span', { class: 'search-files', text: `📎 ${files}` }) : null,
    );
    open.addEventListener('click', () => {
      this.#dialog.close();
      this.#navigate(result.room, result.seq); // the room, around the message (jump.js)
    });
    return el('li', {}, open);
  }
}
