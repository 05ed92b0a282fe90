// What the page knows about rooms: the user's rooms, each room's events, unread counts and
// who is typing. Pure state: no sockets, no DOM. Every change fires a `change` event.
//
// A room's events are kept sorted by `seq` with each `seq` at most once, whatever order
// pages of history, sync replays and live events arrive in. `countedSeq` is how far the
// unread count is known to be right: the server's `unread` covers everything up to the
// `last_seq` it came with, and later messages are counted here as they arrive, once.
//
// Memory stays bounded: `trimHistory` keeps each room's newest `KEEP_EVENTS` events and
// forgets the older ones (they are paged back in with `history` when scrolled to).
//
// An edit or a delete is an event of its own seq that changes an earlier message: it is
// applied to that message (if held) and not kept as a row; `takeRevised` says which rows
// changed. History pages bring messages as they stand, so a change to a message not held
// needs nothing.

import { seqIndex } from './rows.js';

const TYPING_SHOWN_MS = 5000;
export const KEEP_EVENTS = 1000;
// Events that change a message rather than add a row. Reactions are not shown yet: they are
// kept off the timeline and change nothing visible.
const CHANGES = new Set(['message_edited', 'message_deleted', 'reaction_added', 'reaction_removed']);
const SHOWN_CHANGES = new Set(['message_edited', 'message_deleted']);

function newRoom(name, kind) {
  return {
    name,
    kind,
    lastSeq: 0,
    readSeq: 0,
    unread: 0,
    countedSeq: null, // null until the server told us an unread count
    events: [],
    seqs: new Set(),
    newest: 0, // the newest seq held, changes included: what `sync` resumes from
    revised: new Map(), // seq -> the message as it stands now, until the timeline takes it
    loaded: false, // the newest page of history has been fetched
    hasOlder: true,
    loadingOlder: false,
    member: true,
    typing: new Map(), // user -> time the hint expires
  };
}

export function kindOf(name) {
  return name.startsWith('dm:') ? 'dm' : 'public';
}

export class Store extends EventTarget {
  rooms = new Map();

  constructor(user) {
    super();
    this.user = user;
  }

  changed(what, room = null) {
    this.dispatchEvent(new CustomEvent('change', { detail: { what, room } }));
  }

  room(name) {
    return this.rooms.get(name) ?? null;
  }

  /** The room, created as a placeholder (kind guessed) if unknown. */
  ensureRoom(name, kind = kindOf(name)) {
    let room = this.rooms.get(name);
    if (!room) {
      room = newRoom(name, kind);
      this.rooms.set(name, room);
    }
    return room;
  }

  /** Apply a `rooms` reply: the user is a member of exactly these rooms. */
  setRooms(infos) {
    const names = new Set(infos.map((info) => info.name));
    for (const name of this.rooms.keys()) if (!names.has(name)) this.rooms.delete(name);
    for (const info of infos) this.#applyInfo(info);
    this.changed('rooms');
  }

  /** Apply a `room` reply (create, join, dm). */
  upsertRoom(info) {
    this.#applyInfo(info);
    this.changed('rooms');
  }

  #applyInfo(info) {
    const room = this.ensureRoom(info.name, info.kind);
    room.kind = info.kind;
    room.member = true;
    room.lastSeq = Math.max(room.lastSeq, info.last_seq);
    room.readSeq = Math.max(room.readSeq, info.read_seq);
    room.unread = info.unread;
    room.countedSeq = info.last_seq;
    // Messages we hold beyond what the server counted are counted again from here.
    for (const event of room.events) if (event.seq > info.last_seq) this.#count(room, event);
  }

  removeRoom(name) {
    if (this.rooms.delete(name)) this.changed('rooms');
  }

  /**
   * Merge events into their room; returns how many were new. Events of one room only.
   */
  addEvents(name, events) {
    const room = this.ensureRoom(name);
    const fresh = events.filter((event) => !room.seqs.has(event.seq));
    if (!fresh.length) return 0;
    for (const event of fresh) {
      room.seqs.add(event.seq);
      room.lastSeq = Math.max(room.lastSeq, event.seq);
      room.newest = Math.max(room.newest, event.seq);
      this.#count(room, event);
      if (event.type === 'message') room.typing.delete(event.user);
    }
    const rows = fresh.filter((event) => !CHANGES.has(event.type));
    const tail = room.events.at(-1)?.seq ?? -1;
    const sorted = rows.every((e, i) => e.seq > (i ? rows[i - 1].seq : tail));
    room.events.push(...rows);
    if (!sorted) room.events.sort((a, b) => a.seq - b.seq);
    for (const change of fresh) if (CHANGES.has(change.type)) this.#apply(room, change);
    this.changed('events', name);
    return fresh.length;
  }

  /** An edit or delete changes the message it targets, if this page holds it. */
  #apply(room, change) {
    if (!SHOWN_CHANGES.has(change.type)) return;
    const index = seqIndex(room.events, change.target);
    const target = room.events[index];
    if (target?.seq !== change.target || target.type !== 'message') return;
    const now =
      change.type === 'message_deleted'
        ? { ...target, body: undefined, edited_at: undefined, deleted: true }
        : { ...target, body: change.body, edited_at: change.ts };
    room.events[index] = now;
    room.revised.set(now.seq, now);
  }

  /** The messages changed since the last call (seq -> message), forgotten as they go. */
  takeRevised(name) {
    const room = this.room(name);
    if (!room || !room.revised.size) return [];
    const revised = [...room.revised.values()];
    room.revised.clear();
    return revised;
  }

  #count(room, event) {
    if (room.countedSeq === null || event.seq <= room.countedSeq) return;
    room.countedSeq = event.seq;
    if (event.type === 'message' && event.user !== this.user && event.seq > room.readSeq) {
      room.unread += 1;
    }
  }

  /** Forget a room's events (sync said `complete: false`): reload them with `history`. */
  resetEvents(name) {
    const room = this.room(name);
    if (!room) return;
    room.events = [];
    room.seqs = new Set();
    room.newest = 0;
    room.revised.clear();
    room.loaded = false;
    room.hasOlder = true;
    this.changed('events', name);
  }

  /**
   * Forget all but the newest `keep` events of every room except `reading` (the room whose
   * older history is on screen). A room loading an older page is left alone: the page
   * would leave a hole above what is kept.
   */
  trimHistory(reading = null, keep = KEEP_EVENTS) {
    for (const room of this.rooms.values()) {
      if (room.name === reading || room.loadingOlder || room.events.length <= keep) continue;
      const dropped = room.events.splice(0, room.events.length - keep);
      for (const event of dropped) room.seqs.delete(event.seq);
      room.hasOlder = true;
    }
  }

  /** The newest seq held per room: what `sync` resumes from. */
  lastSeen() {
    const since = {};
    for (const room of this.rooms.values()) {
      if (room.newest) since[room.name] = room.newest;
    }
    return since;
  }

  newestSeq(name) {
    return this.room(name)?.newest ?? 0;
  }

  /** Our read marker moved (here or on another device). Returns true if unread is now 0. */
  markRead(name, seq) {
    const room = this.room(name);
    if (!room) return true;
    room.readSeq = Math.max(room.readSeq, seq);
    const allRead = room.countedSeq === null || room.readSeq >= room.countedSeq;
    if (allRead) room.unread = 0;
    this.changed('rooms');
    return allRead;
  }

  setTyping(name, user) {
    const room = this.room(name);
    if (!room || user === this.user) return;
    room.typing.set(user, Date.now() + TYPING_SHOWN_MS);
    this.changed('typing', name);
  }

  /** Users typing in a room now, dropping expired hints. */
  typingIn(name) {
    const room = this.room(name);
    if (!room) return [];
    const now = Date.now();
    for (const [user, until] of room.typing) if (until <= now) room.typing.delete(user);
    return [...room.typing.keys()].sort();
  }

  totalUnread() {
    let total = 0;
    for (const room of this.rooms.values()) total += room.unread;
    return total;
  }
}
