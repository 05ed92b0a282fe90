// The room's members, in a panel toggled from the room's header: beside the timeline on a
// wide screen, a drawer over it on a phone. Each member shows their avatar with a presence
// dot (online, away; nothing when offline), their display name and username, and their
// role; a click opens their profile. The room's owner gets a button per member to make them
// an admin or a member again (`role`).
//
// The `members` reply lists names, profiles and the room's owner and admins; the roles shown
// are the newest of that list, the user's own (from the room list) and those learned from
// `role_changed` events since (store.js). The panel and its button are made here, so the
// page's HTML does not change.

import { byId, el, say } from './dom.js';
import { roomLabel } from './format.js';
import { authorNode, avatarNode, profiles } from './profiles.js';
import { kindOf } from './store.js';

const PRESENCE_TEXT = { online: 'online', away: 'away', offline: 'offline' };

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

export class MemberPanel {
  #chat;
  #store;
  #onProfile;
  #onChange;
  #button;
  #panel;
  #title;
  #list;
  #note;
  #error;
  #room = null; // the room whose members are listed
  #names = []; // …its members, as the server listed them
  #entries = new Map(); // user -> {node, dot, role, toggle, open}
  #done = new Map(); // user -> {role, seq}: what a `role` of ours set (no event if unchanged)
  #listed = { roles: new Map(), seq: 0 }; // the `members` reply's roles, as of the room's seq

  /** `onProfile(user)` opens a member's profile; `onChange(open)` follows opening and closing. */
  constructor({ chat, store, onProfile, onChange }) {
    this.#chat = chat;
    this.#store = store;
    this.#onProfile = onProfile;
    this.#onChange = onChange;
    this.#button = el('button', {
      type: 'button',
      id: 'open-members',
      class: 'quiet',
      text: 'Members',
      hidden: true,
      attrs: { 'aria-expanded': 'false', 'aria-controls': 'member-panel' },
    });
    this.#button.addEventListener('click', () => (this.open ? this.close() : this.show()));
    byId('open-invite').before(this.#button);

    this.#title = el('h2', { id: 'member-panel-title', text: 'Members' });
    const close = el('button', {
      type: 'button',
      class: 'panel-close',
      text: '✕',
      title: 'Close (Esc)',
      attrs: { 'aria-label': 'Close the members' },
    });
    close.addEventListener('click', () => this.close());
    this.#list = el('ul', { id: 'member-list', class: 'member-list' });
    this.#note = el('p', { class: 'member-note', attrs: { role: 'status' }, hidden: true });
    this.#error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    this.#panel = el(
      'aside',
      { id: 'member-panel', class: 'member-panel', hidden: true, attrs: { 'aria-labelledby': 'member-panel-title' } },
      el('header', { class: 'member-head' }, this.#title, close),
      el('div', { class: 'member-scroll' }, this.#note, this.#list, this.#error),
    );
    this.#panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        this.close();
        this.#button.focus();
      }
    });
    byId('room-view').after(this.#panel);
    profiles.addEventListener('change', () => this.#refresh());
  }

  get open() {
    return !this.#panel.hidden;
  }

  /** The header's button shows in any room the user is in. */
  update(room) {
    this.#button.hidden = !room;
    if (!room && this.open) this.close();
  }

  show() {
    this.#panel.hidden = false;
    this.#button.setAttribute('aria-expanded', 'true');
    this.#onChange(true);
    this.#refresh();
    // On a phone it covers the room: the focus goes into it. Beside the room, it stays.
    if (matchMedia('(max-width: 720px)').matches) this.#panel.querySelector('.panel-close').focus();
  }

  close() {
    if (!this.open) return;
    this.#panel.hidden = true;
    this.#button.setAttribute('aria-expanded', 'false');
    this.#onChange(false);
  }

  /** The members of `room` as the server listed them, with its owner and admins
   * (`{user: role}`); `null`: could not be read. */
  setMembers(room, names, roles = {}) {
    if (room !== this.#room) return; // an answer about a room no longer on screen
    if (names === null) {
      if (!this.#names.length) say(this.#note, 'The members are shown once the connection is back.');
      return;
    }
    this.#names = names;
    this.#listed = { roles: new Map(Object.entries(roles)), seq: this.#store.newestSeq(room) };
    say(this.#note, '');
    // Entries of members who stay are kept (a focused button keeps the focus).
    const keep = new Set(names);
    for (const [user, entry] of this.#entries) {
      if (!keep.has(user)) {
        entry.node.remove();
        this.#entries.delete(user);
      }
    }
    let cursor = this.#list.firstElementChild;
    for (const user of names) {
      const entry = this.#entries.get(user) ?? this.#entry(user);
      if (entry.node === cursor) cursor = cursor.nextElementSibling;
      else this.#list.insertBefore(entry.node, cursor);
    }
    this.#refresh();
  }

  /** The room on screen is `room` (null: none): its members are asked for by the page. */
  setRoom(room) {
    this.#title.textContent = room ? `Members of ${roomLabel(room, kindOf(room), this.#store.user)}` : 'Members';
    if (room === this.#room) return;
    this.#room = room;
    this.#names = [];
    this.#entries.clear();
    this.#done.clear();
    this.#listed = { roles: new Map(), seq: 0 };
    this.#list.replaceChildren();
    say(this.#error, '');
    say(this.#note, room ? 'Loading…' : '');
  }

  /** Presence and roles, in place (called on every change of the page). */
  render() {
    if (this.open) this.#refresh();
  }

  #entry(user) {
    const dot = el('span', { class: 'presence-dot', hidden: true, attrs: { 'aria-hidden': 'true' } });
    const open = el(
      'button',
      { type: 'button', class: 'member-open' },
      el('span', { class: 'member-face' }, avatarNode(user, 'avatar small'), dot),
      el(
        'span',
        { class: 'member-names' },
        authorNode(user, 'member-name'),
        el('span', { class: 'member-username', text: `@${user}` }),
      ),
    );
    open.addEventListener('click', () => this.#onProfile(user));
    const role = el('span', { class: 'member-role' });
    const toggle = el('button', { type: 'button', class: 'quiet member-toggle', hidden: true });
    toggle.addEventListener('click', () => this.#toggle(user, toggle));
    const node = el('li', { dataset: { user } }, open, role, toggle);
    const entry = { node, dot, role, toggle, open };
    this.#entries.set(user, entry);
    return entry;
  }

  /** A member's role as far as the page knows: owner, admin or member. */
  #roleOf(room, user) {
    if (user === this.#store.user) return room.role;
    const listed = { role: this.#listed.roles.get(user) ?? 'member', seq: this.#listed.seq };
    let newest = listed;
    for (const known of [room.roles.get(user), this.#done.get(user)]) {
      if (known && known.seq >= newest.seq) newest = known;
    }
    return newest.role;
  }

  #refresh() {
    const room = this.#store.room(this.#room);
    if (!room) return;
    const dm = room.kind === 'dm';
    const owner = room.role === 'owner' && !dm;
    for (const [user, { dot, role, toggle, open }] of this.#entries) {
      const me = user === this.#store.user;
      const presence = me ? 'online' : this.#store.presenceOf(user);
      dot.dataset.state = presence;
      dot.hidden = presence === 'offline';
      const now = dm ? 'member' : this.#roleOf(room, user);
      const deactivated = profiles.get(user)?.deactivated === true; // by a server admin
      role.textContent = [now === 'member' ? '' : now, deactivated ? 'deactivated' : '']
        .filter(Boolean)
        .join(' · ');
      toggle.hidden = !owner || me;
      toggle.textContent = now === 'admin' ? 'Remove admin' : 'Make admin';
      toggle.dataset.role = now === 'admin' ? 'member' : 'admin'; // what a click asks for
      toggle.setAttribute('aria-label', `${toggle.textContent}: ${user}`);
      const name = profiles.displayName(user);
      const parts = [name === user ? user : `${name} (@${user})`, PRESENCE_TEXT[presence]];
      if (me) parts.push('you');
      if (now !== 'member') parts.push(now);
      if (deactivated) parts.push('deactivated');
      open.setAttribute('aria-label', parts.join(', '));
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
