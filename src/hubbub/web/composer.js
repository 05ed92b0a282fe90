// The message box: Enter sends, Shift+Enter starts a new line, typing is announced.

import { byId } from './dom.js';

export class Composer {
  #form = byId('composer');
  #input = byId('composer-input');
  #button = byId('composer-send');
  #room = null;
  #drafts = new Map(); // room -> unsent text, kept when switching rooms

  constructor({ onSend, onTyping }) {
    this.#input.addEventListener('keydown', (event) => {
      // isComposing: Enter that confirms an IME composition (e.g. Japanese) must not send.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit(onSend);
      }
    });
    this.#input.addEventListener('input', () => {
      if (this.#room && this.#input.value.trim()) onTyping(this.#room);
    });
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit(onSend);
    });
  }

  #submit(onSend) {
    const body = this.#input.value;
    if (!this.#room || !body.trim()) return;
    onSend(this.#room, body.replace(/\s+$/u, ''));
    this.#input.value = '';
    this.#drafts.delete(this.#room);
    this.#input.focus();
  }

  /** Point the box at a room (null: no room on screen). */
  setRoom(room, placeholder) {
    if (room === this.#room) return;
    if (this.#room) this.#drafts.set(this.#room, this.#input.value);
    this.#room = room;
    this.#input.value = (room && this.#drafts.get(room)) || '';
    this.#input.placeholder = placeholder;
    this.#input.disabled = !room;
    this.#button.disabled = !room;
  }

  /** Writing is possible only in a room the user is a member of. */
  setEnabled(enabled) {
    const disabled = !this.#room || !enabled;
    this.#input.disabled = disabled;
    this.#button.disabled = disabled;
  }

  focus() {
    this.#input.focus();
  }
}
