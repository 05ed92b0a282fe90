// Pending invitations in the sidebar: the room, who invited the user, Accept and Decline.
// Read on every connect (`invitations`), added to as `invited` notices arrive; an invitation
// goes once answered here, or once the room shows up in the user's list (accepted on
// another device). Everything shown comes from users: text only.

import { byId, el, reconcile, say } from './dom.js';
import { roomLabel } from './format.js';
import { profiles } from './profiles.js';

export class InvitationList {
  #chat;
  #store;
  #onChange;
  #pending = new Map(); // room -> {room, by, ts, private, topic}
  #cache = new Map();
  #section = byId('invitations');
  #list = byId('invitation-list');
  #error = byId('invitation-error');

  /** `onChange()`: the list changed (the page may show it differently). */
  constructor({ chat, store, onChange }) {
    this.#chat = chat;
    this.#store = store;
    this.#onChange = onChange;
    chat.addEventListener('invited', ({ detail }) => {
      this.#pending.set(detail.room, detail);
      this.#render();
    });
    chat.addEventListener('status', () => {
      if (chat.synced) this.#refresh();
    });
    store.addEventListener('change', ({ detail }) => {
      if (detail.what === 'rooms') this.#render();
    });
    profiles.addEventListener('change', () => this.#render(true));
  }

  async #refresh() {
    try {
      const listed = await this.#chat.invitations();
      this.#pending = new Map(listed.map((invitation) => [invitation.room, invitation]));
      this.#render();
    } catch {
      // read again on the next connect
    }
  }

  #render(renamed = false) {
    for (const room of this.#pending.keys()) {
      if (this.#store.room(room)) this.#pending.delete(room); // a member already
    }
    if (renamed) this.#cache.clear();
    const items = [...this.#pending.values()].sort((a, b) => a.ts - b.ts);
    reconcile(this.#list, items, { key: (item) => item.room, build: (item) => this.#build(item) }, this.#cache);
    this.#section.hidden = items.length === 0;
    if (!items.length) say(this.#error, '');
    this.#onChange();
  }

  #build(invitation) {
    const { room } = invitation;
    const kind = invitation.private ? 'private' : 'public';
    const accept = el('button', { type: 'button', class: 'primary accept', text: 'Accept' });
    const decline = el('button', { type: 'button', class: 'quiet decline', text: 'Decline' });
    const answer = async (button, action) => {
      say(this.#error, '');
      accept.disabled = decline.disabled = true;
      try {
        await action(room);
      } catch (err) {
        // Gone meanwhile (declined elsewhere, a ban): it goes from the list all the same.
        if (err.code !== 'not_found') {
          say(this.#error, err.message || 'Something went wrong.');
          accept.disabled = decline.disabled = false;
          return;
        }
      }
      this.#pending.delete(room);
      this.#render();
    };
    accept.addEventListener('click', () => answer(accept, (name) => this.#chat.accept(name)));
    decline.addEventListener('click', () => answer(decline, (name) => this.#chat.decline(name)));
    const label = roomLabel(room, kind, null);
    return el(
      'li',
      { class: 'invitation', dataset: { room } },
      el(
        'div',
        { class: 'invitation-text' },
        el('span', { class: `room-icon ${kind}`, text: kind === 'private' ? '' : '#', attrs: { 'aria-hidden': 'true' } }),
        el('span', { class: 'invitation-room', text: label }),
        el('span', { class: 'invitation-by', text: `from ${profiles.displayName(invitation.by)}` }),
        invitation.topic ? el('span', { class: 'invitation-topic', text: invitation.topic }) : null,
      ),
      el(
        'div',
        { class: 'invitation-buttons', attrs: { role: 'group', 'aria-label': `Invitation to ${label}` } },
        accept,
        decline,
      ),
    );
  }
}
