// The list of rooms and direct messages, with unread counts and the active room marked.
// A room the user is no longer in stays listed, marked, while it holds messages not sent.
// Unread mentions of the user show as "@N" beside a room's count (in a DM every unread
// message is one: its count says it); a muted room is dimmed. A DM shows whether the other
// person is online (a green dot) or away (a hollow yellow one); offline shows nothing.

import { byId, el, reconcile } from './dom.js';
import { dmPeer, roomLabel } from './format.js';
import { avatarNode, profiles } from './profiles.js';

export const roomHref = (name) => `#/room/${encodeURIComponent(name)}`;

/** A room's name in the list: its title if it has one; a DM's is the other person's
 * display name (profiles.js). */
function labelOf(room, me) {
  if (room.kind !== 'dm') return room.settings?.title || roomLabel(room.name, room.kind, me);
  const peer = dmPeer(room.name, me);
  return peer === me ? roomLabel(room.name, room.kind, me) : profiles.displayName(peer);
}

export class Sidebar {
  #rooms = byId('room-list');
  #dms = byId('dm-list');
  #roomsEmpty = byId('room-list-empty');
  #dmsEmpty = byId('dm-list-empty');
  #roomCache = new Map();
  #dmCache = new Map();

  /** `left`: rooms the user is not in that hold messages not sent, as {name, kind, unsent}. */
  /** `muted`: the names of the rooms muted (notify.js). */
  render(store, active, left = [], muted = new Set()) {
    const me = store.user;
    const all = [...store.rooms.values(), ...left.map((room) => ({ ...room, left: true }))];
    const label = (room) => labelOf(room, me);
    const byLabel = (a, b) => label(a).localeCompare(label(b));
    const rooms = all.filter((room) => room.kind !== 'dm').sort(byLabel);
    const dms = all.filter((room) => room.kind === 'dm').sort(byLabel);
    const presenceOf = (user) => store.presenceOf(user);
    this.#fill(this.#rooms, rooms, this.#roomCache, me, active, muted, presenceOf);
    this.#fill(this.#dms, dms, this.#dmCache, me, active, muted, presenceOf);
    this.#roomsEmpty.hidden = rooms.length > 0;
    this.#dmsEmpty.hidden = dms.length > 0;
  }

  #fill(list, rooms, cache, me, active, muted, presenceOf) {
    reconcile(
      list,
      rooms,
      {
        key: (room) => room.name,
        signature: (room) => `${room.kind}|${Boolean(room.left)}|${Boolean(room.removed)}`,
        build: (room) => this.#build(room, me),
      },
      cache,
    );
    // Counts and the active mark change in place, so a focused link keeps its focus.
    for (const room of rooms) {
      const item = cache.get(room.name).node;
      const link = item.firstElementChild;
      const badge = link.querySelector('.badge');
      if (room.name === active) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
      const count = room.left ? room.unsent : room.name === active ? 0 : room.unread;
      badge.textContent = count > 999 ? '999+' : String(count);
      badge.hidden = count === 0;
      link.classList.toggle('unread', !room.left && count > 0);
      const mentions = room.left || room.name === active ? 0 : (room.unreadMentions ?? 0);
      const mentionCount = link.querySelector('.mention-count');
      mentionCount.textContent = `@${mentions > 999 ? '999+' : mentions}`;
      mentionCount.hidden = mentions === 0 || room.kind === 'dm';
      link.classList.toggle('mentioned', mentions > 0);
      link.classList.toggle('muted', muted.has(room.name));
      const presence = room.kind === 'dm' ? presenceOf(dmPeer(room.name, me)) : 'offline';
      const dot = link.querySelector('.presence-dot');
      if (dot) {
        dot.dataset.state = presence;
        dot.hidden = presence === 'offline';
      }
      const name = labelOf(room, me);
      const shown = link.querySelector('.room-label');
      if (shown.textContent !== name) shown.textContent = name;
      const label = linkLabel(room, count, me, mentions, muted.has(room.name), presence);
      link.setAttribute('aria-label', label);
    }
  }

  #build(room, me) {
    let icon;
    if (room.kind === 'dm') {
      const peer = dmPeer(room.name, me);
      icon = avatarNode(peer, 'avatar tiny');
    } else {
      // The padlock of private rooms is drawn in CSS: emoji fonts are not everywhere.
      icon = el('span', {
        class: `room-icon ${room.kind}`,
        text: room.kind === 'private' ? '' : '#',
        title: room.kind === 'private' ? 'Private room' : 'Public room',
      });
    }
    icon.setAttribute('aria-hidden', 'true');
    return el(
      'li',
      {},
      el(
        'a',
        {
          class: room.left ? 'room-link left' : 'room-link',
          href: roomHref(room.name),
          dataset: { room: room.name },
        },
        icon,
        room.kind === 'dm'
          ? el('span', { class: 'presence-dot', hidden: true, attrs: { 'aria-hidden': 'true' } })
          : null,
        el('span', { class: 'room-label', text: roomLabel(room.name, room.kind, me) }),
        el('span', { class: 'mention-count', hidden: true, text: '@0', attrs: { 'aria-hidden': 'true' } }),
        el('span', { class: room.left ? 'badge unsent' : 'badge', hidden: true, text: '0' }),
      ),
      // Kicked or banned: the room stays, saying so, until closed here (app.js).
      room.removed
        ? el('button', {
            type: 'button',
            class: 'room-close',
            text: '✕',
            dataset: { room: room.name },
            title: 'Close this room',
            attrs: { 'aria-label': `Close ${roomLabel(room.name, room.kind, me)}` },
          })
        : null,
    );
  }
}

function linkLabel(room, count, me, mentions = 0, muted = false, presence = 'offline') {
  const label = labelOf(room, me);
  if (room.left) return `${label}, left, ${count} message${count === 1 ? '' : 's'} not sent`;
  if (room.removed) return `${label}, ${room.removed.type === 'member_banned' ? 'banned' : 'removed'}`;
  const parts = [label];
  if (presence !== 'offline') parts.push(presence);
  if (count) parts.push(`${count} unread`);
  if (mentions && room.kind !== 'dm') parts.push(`${mentions} mention${mentions === 1 ? '' : 's'}`);
  if (muted) parts.push('muted');
  return parts.join(', ');
}
