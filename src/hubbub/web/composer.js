// The message box: Enter sends, Shift+Enter starts a new line, typing is announced, and Up
// in an empty box edits the user's last message. While replying, the quote of the message
// answered shows above the box; ✕ or Esc writes no reply after all.
//
// Text is never cut: a body over the server's limit stays as written, the box says by how
// much, and Send (and Enter) do nothing until it is short enough. A counter appears from
// 90 % of the limit on. A body of only whitespace is not sent either, unless files go with
// it (attachments.js): then it may be empty, and it waits for their uploads.

import { Attachments } from './attachments.js';
import { byId, el } from './dom.js';
import { MAX_BODY_CHARS, bodyOf, charCount, groupDigits, isBlank } from './limits.js';
import { authorNode } from './profiles.js';
import { quoteLine } from './threads.js';

const COUNT_FROM = Math.ceil(MAX_BODY_CHARS * 0.9);

/** What to say about a body of `count` characters: [state, text] ('' when nothing). */
function limitNote(count) {
  const limit = groupDigits(MAX_BODY_CHARS);
  const over = count - MAX_BODY_CHARS;
  if (over > 0) return ['over', `${limit} characters at most — ${groupDigits(over)} too many`];
  if (count >= COUNT_FROM) return ['near', `${groupDigits(count)} / ${limit}`];
  return ['', ''];
}

const hasModifier = (event) => event.shiftKey || event.altKey || event.ctrlKey || event.metaKey;

export class Composer {
  #form = byId('composer');
  #input = byId('composer-input');
  #button = byId('composer-send');
  #limit = byId('composer-limit');
  #room = null;
  #enabled = false;
  #sendable = false; // the text is a body the server takes
  #drafts = new Map(); // room -> unsent text, kept when switching rooms
  #replyBox = byId('composer-reply');
  #replies = new Map(); // room -> the reply being written ({reply_to, thread, quote})
  #attachments;

  constructor({ onSend, onTyping, onEditLast }) {
    this.#attachments = new Attachments({ input: this.#input, onChange: () => this.#update() });
    this.#input.addEventListener('keydown', (event) => {
      // isComposing: Enter that confirms an IME composition (e.g. Japanese) must not send.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit(onSend);
      } else if (event.key === 'Escape' && this.#room && this.#replies.has(this.#room)) {
        event.preventDefault();
        this.setReply(this.#room, null);
      } else if (event.key === 'ArrowUp' && this.#input.value === '' && !hasModifier(event)) {
        // Up in an empty box edits the user's last message (when there is one to edit).
        if (onEditLast()) event.preventDefault();
      }
    });
    this.#input.addEventListener('input', () => {
      this.#update();
      if (this.#room && !isBlank(this.#input.value)) onTyping(this.#room);
    });
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit(onSend);
    });
  }

  #submit(onSend) {
    if (!this.#room || !this.#enabled || !this.#sendable) return;
    const files = this.#attachments.take(this.#room);
    onSend(this.#room, bodyOf(this.#input.value), this.#replies.get(this.#room) ?? null, files);
    this.#input.value = '';
    this.#drafts.delete(this.#room);
    this.setReply(this.#room, null);
    this.#update();
    this.#input.focus();
  }

  /** Count the text as the server will, and say so when it matters. */
  #update() {
    const body = bodyOf(this.#input.value);
    const [state, text] = limitNote(charCount(body));
    const files = this.#room ? this.#attachments.state(this.#room).state : 'none';
    this.#sendable = (files === 'none' ? !isBlank(body) : files === 'ready') && state !== 'over';
    if (this.#limit.textContent !== text) this.#limit.textContent = text;
    this.#limit.dataset.state = state;
    if (state === 'over') this.#input.setAttribute('aria-invalid', 'true');
    else this.#input.removeAttribute('aria-invalid');
    this.#input.disabled = !this.#room || !this.#enabled;
    this.#button.disabled = this.#input.disabled || !this.#sendable;
    this.#button.title =
      { uploading: 'Sends once the files are uploaded', failed: 'Remove the files that failed first' }[files] ?? '';
    this.#attachments.setEnabled(!this.#input.disabled);
  }

  /** Point the box at a room (null: no room on screen). */
  setRoom(room, placeholder) {
    if (room === this.#room) return;
    if (this.#room) this.#drafts.set(this.#room, this.#input.value);
    this.#room = room;
    this.#input.value = (room && this.#drafts.get(room)) || '';
    this.#input.placeholder = placeholder;
    this.#attachments.setRoom(room);
    this.#update();
    this.#drawReply();
  }

  /** Write a reply in `room` (`reply`: threads.js `replyTo`), or stop (null). */
  setReply(room, reply) {
    if (reply) this.#replies.set(room, reply);
    else this.#replies.delete(room);
    if (room === this.#room) this.#drawReply();
  }

  /** The quote of the message answered, above the box, with ✕ to write no reply. */
  #drawReply() {
    const reply = this.#room ? this.#replies.get(this.#room) : null;
    this.#replyBox.hidden = !reply;
    if (!reply) return this.#replyBox.replaceChildren();
    const { user } = reply.quote;
    const line = quoteLine(reply.quote);
    this.#replyBox.replaceChildren(
      el('span', { class: 'reply-label', text: 'Replying to ' }),
      authorNode(user, 'quote-author'), // the display name (profiles.js)
      el('span', { class: 'quote-body', text: line }),
      el('button', {
        type: 'button',
        class: 'reply-cancel',
        text: '✕',
        title: 'Cancel the reply (Esc)',
        attrs: { 'aria-label': 'Cancel the reply' },
        on: {
          click: () => {
            this.setReply(this.#room, null);
            this.#input.focus();
          },
        },
      }),
    );
  }

  /** Writing is possible only in a room the user is a member of. */
  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#update();
  }

  focus() {
    this.#input.focus();
  }
}
