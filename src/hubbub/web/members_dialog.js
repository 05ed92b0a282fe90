// The "Members" dialog of a room: who is in it, who are its admins, and for the room's
// owner a button per member to make them an admin or a member again (`role`).
//
// The `members` reply lists names only: roles shown are the user's own (from the room
// list) and those learned from `role_changed` events (store.js). The dialog and its
// button are made here, so the page's HTML does not change.

import { byId, el, say } from './dom.js';

function explain(err) {
  switch (err.code) {
    case 'connection_lost':
      return 'Not connected to the server. Try again once you are back online.';
    case 'forbidden':
      return "Only the room's owner can change roles.";
    case 'not_found':
      return 'That user is no longer a member of this room.';
    case 'rate_limited':
      return `Too many requests; try again in ${Math.max(1, Math.ceil(err.retryAfter ?? 1))} s.`;
    default:
      return err.message || 'Something went wrong.';
  }
}

export class MembersDialog {
  #chat;
  #store;
  #activeRoom;
  #button;
  #dialog;
  #title;
  #list;
  #error;
  #room = null; // the room the dialog shows
  #entries = new Map(); // user -> {role, button}
  #done = new Map(); // user -> {role, seq}: what a `role` of ours set (no event if unchanged)

  constructor({ chat, store, activeRoom }) {
    this.#chat = chat;
    this.#store = store;
    this.#activeRoom = activeRoom;
    this.#button = el('button', { type: 'button', id: 'open-members', class: 'quiet', text: 'Members', hidden: true });
    this.#button.addEventListener('click', () => this.#open());
    byId('open-invite').before(this.#button);

    this.#title = el('h2', { id: 'dlg-members-title', text: 'Members' });
    this.#list = el('ul', { id: 'member-list', class: 'directory member-list' });
    this.#error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const close = el('button', { type: 'button', class: 'quiet', text: 'Close' });
    this.#dialog = el(
      'dialog',
      { id: 'dlg-members', attrs: { 'aria-labelledby': 'dlg-members-title' } },
      el('div', { class: 'dialog-form' }, this.#title, this.#list, this.#error, el('div', { class: 'dialog-buttons' }, close)),
    );
    close.addEventListener('click', () => this.#dialog.close());
    this.#dialog.addEventListener('click', (event) => {
      if (event.target === this.#dialog) this.#dialog.close();
    });
    document.body.append(this.#dialog);
    // A role changed while the dialog is open (here or elsewhere): show it.
    store.addEventListener('change', () => {
      if (this.#dialog.open) this.#refresh();
    });
  }

  /** The header button shows in rooms that have roles (not DMs). */
  update(room) {
    this.#button.hidden = !room || room.kind === 'dm';
  }

  async #open() {
    const name = this.#activeRoom();
    if (!name) return;
    this.#room = name;
    this.#entries.clear();
    this.#done.clear();
    say(this.#error, '');
    this.#title.textContent = `Members of ${name}`;
    this.#list.replaceChildren(el('li', { class: 'empty-note', text: 'Loading…' }));
    this.#dialog.showModal();
    try {
      const users = await this.#chat.members(name);
      if (this.#room !== name) return;
      this.#list.replaceChildren(...users.map((user) => this.#entry(user)));
      this.#refresh();
      this.#list.querySelector('button')?.focus();
    } catch (err) {
      this.#list.replaceChildren();
      say(this.#error, explain(err));
    }
  }

  #entry(user) {
    const role = el('span', { class: 'member-role' });
    const button = el('button', { type: 'button', class: 'quiet', hidden: true });
    button.addEventListener('click', () => this.#toggle(user, button));
    this.#entries.set(user, { role, button });
    return el('li', { dataset: { user } }, el('span', { class: 'dir-name', text: user }), role, button);
  }

  /** A member's role as far as the page knows: owner, admin or member. */
  #roleOf(room, user) {
    if (user === this.#store.user) return room.role;
    const learned = room.roles.get(user);
    const done = this.#done.get(user);
    const newer = done && (!learned || done.seq >= learned.seq) ? done : learned;
    return newer?.role ?? 'member';
  }

  /** Roles and buttons again, in place (a focused button keeps the focus). */
  #refresh() {
    const room = this.#store.room(this.#room);
    if (!room) return;
    const owner = room.role === 'owner';
    for (const [user, { role, button }] of this.#entries) {
      const now = this.#roleOf(room, user);
      role.textContent = now === 'member' ? '' : now;
      button.hidden = !owner || user === this.#store.user;
      button.textContent = now === 'admin' ? 'Remove admin' : 'Make admin';
      button.dataset.role = now === 'admin' ? 'member' : 'admin'; // what a click asks for
    }
  }

  async #toggle(user, button) {
    const room = this.#room;
    const role = button.dataset.role;
    say(this.#error, '');
    button.disabled = true;
    try {
      await this.#chat.setRole(room, user, role);
      this.#done.set(user, { role, seq: this.#store.newestSeq(room) });
      this.#refresh();
    } catch (err) {
      say(this.#error, explain(err));
    } finally {
      button.disabled = false;
    }
  }
}
