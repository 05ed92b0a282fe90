// Mentions: who a message calls by name, and the `@` autocomplete of a message box.
//
// A name is a username (letters, digits, `.`, `_`, `-`; the first a letter or digit) written
// after `@` at the start or after a character that is not part of a word, as the server
// reads it (core/mentions.py). `@room` calls every member.
//
// The autocomplete opens while the word at the caret is `@` and the start of a name: arrow
// keys move, Enter or Tab picks, Esc closes. Its keys are taken before the box's own (Enter
// picks a name rather than sending). It lists display names beside usernames and finds
// people by either; what it writes is always `@username`, the name the server reads.

import { el } from './dom.js';
import { profiles } from './profiles.js';

export const ROOM = 'room';
const SHOWN = 8; // candidates listed at most
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const WORD_CHAR = /[\p{L}\p{N}_@]/u;

/**
 * The name being written at `caret` in `text`: {start, query} where `start` is the index of
 * its `@` and `query` what follows it up to the caret (lowercase); null when the caret is not
 * in such a word.
 */
export function mentionQuery(text, caret) {
  let at = caret;
  while (at > 0 && NAME_CHAR.test(text[at - 1])) at -= 1;
  if (at === 0 || text[at - 1] !== '@') return null;
  const start = at - 1;
  if (start > 0 && WORD_CHAR.test(text[start - 1])) return null; // an address: me@host
  const query = text.slice(at, caret);
  if (query.length > 32 || (query && !/^[A-Za-z0-9]/.test(query))) return null;
  return { start, query: query.toLowerCase() };
}

/** `text` as it is matched: lowercase, without accents ("Zoë" is "zoe"). */
function folded(text) {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * The usernames offered for `query`: members whose username, or a word of whose display name
 * (`displayName(user)`, "" for none), starts with it first, then those where either holds
 * it, each group sorted by username; never `me`; `@room` too where `roomMention` allows it.
 */
export function mentionCandidates(
  members,
  query,
  me,
  { roomMention = true, limit = SHOWN, displayName = () => '' } = {},
) {
  const q = folded(query);
  const names = [...new Set(members.map((name) => name.toLowerCase()))].filter((name) => name !== me);
  const starts = [];
  const contains = [];
  for (const name of names) {
    const shown = folded(displayName(name) ?? '');
    const words = shown.split(/[^\p{L}\p{N}]+/u);
    if (name.startsWith(q) || words.some((word) => word && word.startsWith(q))) starts.push(name);
    else if (name.includes(q) || shown.includes(q)) contains.push(name);
  }
  const found = [...starts.sort(), ...contains.sort()];
  if (roomMention && ROOM.startsWith(q)) found.push(ROOM);
  return found.slice(0, limit);
}

/** `text` with the `@query` at `start`…`caret` replaced by `@name `; and where the caret goes. */
export function applyMention(text, start, caret, name) {
  const after = text.slice(caret).replace(/^[A-Za-z0-9_.-]*/, ''); // the rest of the word typed
  const inserted = `@${name}${after.startsWith(' ') ? '' : ' '}`;
  return { text: text.slice(0, start) + inserted + after, caret: start + inserted.length };
}

/** A stored message that calls `me`: by name, or with `@room`, and not by `me`. */
export function mentionsMe(message, me) {
  if (!message || message.deleted || message.user === me) return false;
  return Boolean(message.room_mention) || (message.mentions ?? []).includes(me);
}

/** A message the user hears about: one that mentions them, or any other's in a DM. */
export function isForMe(message, me, kind) {
  if (!message || message.type !== 'message' || message.deleted || message.user === me) return false;
  return kind === 'dm' || mentionsMe(message, me);
}

/** A member's display name as the `@` list shows it beside the username; "" for none. */
function shownName(user) {
  const name = profiles.get(user)?.display_name ?? '';
  return name.trim() && name.trim().toLowerCase() !== user ? name : '';
}

/** The display name shown beside `user`'s username in the list; null for none. */
function displayNode(user) {
  const name = shownName(user);
  return name ? el('span', { class: 'mention-display', text: name }) : null;
}

/**
 * The `@` autocomplete of one message box. `members()` gives the names of the room's members
 * (it may be empty while they load; their profiles come with them, profiles.js);
 * `allowRoom()` whether to offer `@room`.
 */
export class MentionAutocomplete {
  #input;
  #list;
  #members;
  #allowRoom;
  #me;
  #names = [];
  #index = 0;
  #query = null;

  constructor(input, { me, members, allowRoom = () => true }) {
    this.#input = input;
    this.#me = me;
    this.#members = members;
    this.#allowRoom = allowRoom;
    const id = `${input.id || 'input'}-mentions`;
    this.#list = el('ul', {
      class: 'mention-list',
      id,
      hidden: true,
      attrs: { role: 'listbox', 'aria-label': 'People to mention' },
    });
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', id);
    input.insertAdjacentElement('beforebegin', this.#list);
    // Capture on the parent: these keys are the list's before the box sees them.
    input.parentElement.addEventListener('keydown', (event) => this.#onKey(event), { capture: true });
    input.addEventListener('input', () => this.update());
    input.addEventListener('click', () => this.update());
    input.addEventListener('blur', () => this.close());
    // A display name learnt while the list is open: shown, and found by.
    profiles.addEventListener('change', () => this.open && this.update());
  }

  get open() {
    return !this.#list.hidden;
  }

  /** Look at the word at the caret again (after typing, or the members arrived). */
  update() {
    const { value, selectionStart, selectionEnd } = this.#input;
    const found = selectionStart === selectionEnd ? mentionQuery(value, selectionStart) : null;
    if (!found) return this.close();
    const names = mentionCandidates(this.#members(), found.query, this.#me, {
      roomMention: this.#allowRoom(),
      displayName: shownName,
    });
    // Nothing to offer, or the name is written out already (Enter sends then).
    if (!names.length || (names.length === 1 && names[0] === found.query)) return this.close();
    const same = this.#names.length === names.length && this.#names.every((n, i) => n === names[i]);
    if (!same) this.#index = 0;
    this.#query = found;
    this.#names = names;
    this.#draw();
  }

  close() {
    this.#list.hidden = true;
    this.#list.replaceChildren();
    this.#names = [];
    this.#query = null;
    this.#input.removeAttribute('aria-activedescendant');
  }

  #draw() {
    const id = this.#list.id;
    this.#list.replaceChildren(
      ...this.#names.map((name, i) =>
        el(
          'li',
          {
            id: `${id}-${i}`,
            class: i === this.#index ? 'mention-option active' : 'mention-option',
            attrs: { role: 'option', 'aria-selected': String(i === this.#index) },
            dataset: { name },
            // mousedown, not click: the box keeps its focus (a blur would close the list).
            on: { mousedown: (event) => (event.preventDefault(), this.#pick(i)) },
          },
          name === ROOM ? null : displayNode(name),
          el('span', { class: 'mention-name', text: `@${name}` }),
          name === ROOM ? el('span', { class: 'mention-hint', text: 'everyone in this room' }) : null,
        ),
      ),
    );
    this.#list.hidden = false;
    this.#input.setAttribute('aria-activedescendant', `${id}-${this.#index}`);
  }

  #onKey(event) {
    if (event.target !== this.#input || !this.open || event.isComposing) return;
    const count = this.#names.length;
    let handled = true;
    if (event.key === 'ArrowDown') this.#index = (this.#index + 1) % count;
    else if (event.key === 'ArrowUp') this.#index = (this.#index - 1 + count) % count;
    else if ((event.key === 'Enter' && !event.shiftKey) || (event.key === 'Tab' && !event.shiftKey)) {
      this.#pick(this.#index);
      return stop(event);
    } else if (event.key === 'Escape') {
      this.close();
      return stop(event);
    } else handled = false;
    if (handled) {
      this.#draw();
      stop(event);
    }
  }

  #pick(index) {
    const name = this.#names[index];
    if (!name || !this.#query) return;
    const input = this.#input;
    const next = applyMention(input.value, this.#query.start, input.selectionStart, name);
    input.value = next.text;
    input.setSelectionRange(next.caret, next.caret);
    this.close();
    input.focus();
    // The box counts its text again (limits, typing) as after any typing.
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }
}

function stop(event) {
  event.preventDefault();
  event.stopPropagation();
}
