// What the page knows about rooms: the user's rooms, each room's events, unread counts,
// who is typing and who is online. Pure state: no sockets, no DOM. Every change fires a
// `change` event.
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
//
// Replies, threads and mentions fold as in core/projection.py (`foldConversation`): a reply
// counts in its thread's root, an edit or a delete of a message changes the quotes of the
// replies to it, and an edit brings the message's new mentions.

import { foldReaction } from './reactions.js';
import { seqIndex } from './rows.js';

const TYPING_SHOWN_MS = 5000;
export const KEEP_EVENTS = 1000;
// Events that change a message rather than add a row.
const CHANGES = new Set(['message_edited', 'message_deleted', 'reaction_added', 'reaction_removed']);
// Reactions are folded into a message's counts (reactions.js), except an event the counts
// already include. A message's `reactionsAt` is the newest seq its counts hold: its own
// seq when it came live, the newest seq of the reply it came in otherwise (history counts
// when it is read), and for a message `sync` replays with counts, everything up to the
// `synced` reply (the replay's reaction events are in them).
const REACTIONS = new Set(['reaction_added', 'reaction_removed']);
const SETTINGS = ['topic', 'title', 'retention_days']; // a room's settings the page shows
const REPLAYING = Number.MAX_SAFE_INTEGER; // reactionsAt of a message replayed with counts

function newRoom(name, kind) {
  return {
    name,
    kind,
    lastSeq: 0,
    readSeq: 0,
    unread: 0,
    countedSeq: null, // null until the server told us an unread count
    unreadMentions: 0, // unread messages that mention the user (in a DM: every unread one)
    events: [],
    seqs: new Set(),
    newest: 0, // the newest seq held, changes included: what `sync` resumes from
    revised: new Map(), // seq -> the message as it stands now, until the timeline takes it
    loaded: false, // the newest page of history has been fetched
    hasOlder: true,
    loadingOlder: false,
    member: true,
    typing: new Map(), // user -> time the hint expires
    role: 'member', // the user's: owner, admin or member (from the room list, role_changed)
    roleAt: 0, // the seq the role is known at
    roles: new Map(), // member -> {role, seq}, learned from role_changed events
    settings: {}, // what the server told of topic, title, retention_days (room list, room_changed)
    settingsAt: 0, // the seq they are known at
    replayed: null, // seqs of messages replayed with counts while a `sync` runs, or null
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
    // A room the user was kicked or banned from stays, saying so, until they close it.
    for (const [name, room] of this.rooms) if (!names.has(name) && !room.removed) this.rooms.delete(name);
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
    room.removed = null; // in it again (joined, invited back)
    const told = SETTINGS.filter((key) => key in info);
    if (told.length && info.last_seq >= room.settingsAt) {
      for (const key of told) room.settings[key] = info[key];
      room.settingsAt = info.last_seq;
    }
    room.lastSeq = Math.max(room.lastSeq, info.last_seq);
    room.readSeq = Math.max(room.readSeq, info.read_seq);
    // The server counted before our newer read marker reached it: what it counted is read.
    const readSince = room.readSeq > info.read_seq && room.readSeq >= info.last_seq;
    room.unread = readSince ? 0 : info.unread;
    room.unreadMentions = readSince ? 0 : (info.unread_mentions ?? 0);
    room.countedSeq = info.last_seq;
    // Without a role in the list (an older server), the role learned live stays.
    if (info.role && info.last_seq >= room.roleAt) [room.role, room.roleAt] = [info.role, info.last_seq];
    // Messages we hold beyond what the server counted are counted again from here.
    for (const event of room.events) if (event.seq > info.last_seq) this.#count(room, event);
  }

  removeRoom(name) {
    if (this.rooms.delete(name)) this.changed('rooms');
  }

  /** The user was kicked or banned (`event`): the room is no longer theirs to write in. */
  markRemoved(name, event) {
    const room = this.rooms.get(name);
    if (!room) return;
    room.removed = event;
    room.member = false;
    this.changed('rooms');
  }

  /**
   * Merge events into their room; returns how many were new. Events of one room only.
   */
  addEvents(name, events) {
    const room = this.ensureRoom(name);
    let fresh = events.filter((event) => !room.seqs.has(event.seq));
    if (!fresh.length) return 0;
    fresh = this.#countedAt(room, fresh);
    // What is held stands as of here (while a sync replays, as of its start): fold after it.
    const after = room.replayed ? room.replayFrom : room.newest;
    for (const event of fresh) {
      room.seqs.add(event.seq);
      room.lastSeq = Math.max(room.lastSeq, event.seq);
      room.newest = Math.max(room.newest, event.seq);
      this.#count(room, event);
      if (event.type === 'message') room.typing.delete(event.user);
      if (event.type === 'role_changed') this.#learnRole(room, event);
      if (event.type === 'room_changed' && typeof event.private === 'boolean' && room.kind !== 'dm') {
        room.kind = event.private ? 'private' : 'public';
      }
      if (event.type === 'room_changed') this.#learnSettings(room, event);
    }
    const rows = fresh.filter((event) => !CHANGES.has(event.type));
    const tail = room.events.at(-1)?.seq ?? -1;
    const sorted = rows.every((e, i) => e.seq > (i ? rows[i - 1].seq : tail));
    room.events.push(...rows);
    if (!sorted) room.events.sort((a, b) => a.seq - b.seq);
    for (const change of fresh) if (change.type === 'message_deleted') this.#uncount(room, change);
    for (const [seq, now] of foldConversation(room.events, fresh, after)) room.revised.set(seq, now);
    for (const change of fresh) if (REACTIONS.has(change.type)) this.#react(room, change);
    this.changed('events', name);
    // What arrived, for views of a part of the room (the thread panel).
    this.dispatchEvent(new CustomEvent('added', { detail: { room: name, events: fresh, after } }));
    return fresh.length;
  }

  /** A deleted message that was counted unread (held, not deleted yet) no longer is. */
  #uncount(room, change) {
    const target = room.events[seqIndex(room.events, change.target)];
    if (target?.seq !== change.target || target.type !== 'message' || target.deleted) return;
    if (target.user === this.user || target.seq <= room.readSeq) return;
    if (room.countedSeq === null || target.seq > room.countedSeq) return;
    room.unread = Math.max(0, room.unread - 1);
    if (this.#mentionsMe(room, target)) room.unreadMentions = Math.max(0, room.unreadMentions - 1);
  }

  /** A message that counts as a mention of the user: every message of others in a DM. */
  #mentionsMe(room, message) {
    if (message.user === this.user) return false;
    return room.kind === 'dm' || Boolean(message.room_mention) || (message.mentions ?? []).includes(this.user);
  }

  /** A reaction changes the counts of the message it targets, if held. */
  #react(room, change) {
    const index = seqIndex(room.events, change.target);
    const target = room.events[index];
    if (target?.seq !== change.target || target.type !== 'message') return;
    const now = foldReaction(target, change, this.user);
    if (now === target) return;
    room.events[index] = now;
    room.revised.set(now.seq, now);
  }

  /** The fresh events, each message with the newest seq its reaction counts hold. */
  #countedAt(room, fresh) {
    const newest = Math.max(...fresh.map((event) => event.seq));
    return fresh.map((event) => {
      if (event.type !== 'message') return event;
      if (room.replayed && event.reactions?.length) {
        room.replayed.push(event.seq);
        return { ...event, reactionsAt: REPLAYING };
      }
      return { ...event, reactionsAt: newest };
    });
  }

  /** A `sync` is asked for: counts of messages it replays include its reaction events. */
  beginReplay() {
    for (const room of this.rooms.values()) {
      room.replayed = [];
      room.replayFrom = room.newest; // what it brings stands as of its end (foldConversation)
    }
  }

  /**
   * The `sync` is over (`rooms`: its reply's `rooms`; none if it failed): every event up to
   * each room's `last_seq` has come, so reaction events after it apply again.
   */
  endReplay(rooms = {}) {
    for (const room of this.rooms.values()) {
      const upTo = rooms[room.name]?.last_seq ?? room.newest;
      for (const seq of room.replayed ?? []) {
        const index = seqIndex(room.events, seq);
        const message = room.events[index];
        if (message?.seq === seq && message.reactionsAt === REPLAYING) {
          room.events[index] = { ...message, reactionsAt: upTo };
        }
      }
      room.replayed = null;
    }
  }

  /** A room_changed event: the settings it changed, unless the room list told newer. */
  #learnSettings(room, event) {
    if (event.seq <= room.settingsAt) return;
    for (const key of SETTINGS) {
      // A retention of -1 goes back to the server's setting (null).
      if (event[key] !== undefined && event[key] !== null) room.settings[key] = key === 'retention_days' && event[key] < 0 ? null : event[key];
    }
    room.settingsAt = event.seq;
  }

  /** A role_changed event: the member's role, and the user's own if it is newer. */
  #learnRole(room, event) {
    const known = room.roles.get(event.member);
    if (!known || known.seq < event.seq) room.roles.set(event.member, { role: event.role, seq: event.seq });
    if (event.member === this.user && event.seq > room.roleAt && room.role !== 'owner') {
      [room.role, room.roleAt] = [event.role, event.seq];
    }
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
    if (event.type === 'message' && event.user !== this.user && event.seq > room.readSeq && !event.deleted) {
      room.unread += 1;
      if (this.#mentionsMe(room, event)) room.unreadMentions += 1;
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
      if (room.newest && !room.removed) since[room.name] = room.newest;
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
    if (allRead) {
      room.unread = 0;
      room.unreadMentions = 0;
    }
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

  // --- presence: user -> 'online' | 'away'; a user not held is offline ------------------

  #presence = new Map();

  /** States the server told; `all`: everyone not named is offline (the reply to `sync`). */
  setPresence(users, all = false) {
    if (all) this.#presence.clear();
    for (const [user, state] of Object.entries(users)) {
      if (state === 'online' || state === 'away') this.#presence.set(user, state);
      else this.#presence.delete(user);
    }
    this.changed('presence');
  }

  presenceOf(user) {
    return this.#presence.get(user) ?? 'offline';
  }

  totalUnread() {
    let total = 0;
    for (const room of this.rooms.values()) total += room.unread;
    return total;
  }

  totalMentions() {
    let total = 0;
    for (const room of this.rooms.values()) total += room.unreadMentions;
    return total;
  }
}

// --- replies, threads and mentions: the fold of core/projection.py ----------------------

export const QUOTE_CODE_POINTS = 200;

/** What a reply's quote shows of its parent's body: its first 200 code points. */
export function quoteBody(body) {
  return Array.from(body ?? '').slice(0, QUOTE_CODE_POINTS).join('');
}

/** The message after `edit`: the new body, when, and whom the new body mentions. */
export function editedMessage(message, edit) {
  return {
    ...message,
    body: edit.body,
    edited_at: edit.ts,
    mentions: edit.mentions,
    room_mention: edit.room_mention,
  };
}

/** What stays of a deleted message: who sent it when, where it stood in its thread (no files). */
export function tombstoneOf(message) {
  const { edited_at: _e, reactions: _r, mentions: _m, room_mention: _rm, quote: _q, files: _f, ...kept } = message;
  return { ...kept, body: undefined, deleted: true };
}

/**
 * Fold `fresh` (events in seq order, just merged into `list`, which holds events sorted by
 * seq: a room's, or a thread's) into the messages `list` holds. An edit changes its target
 * and the quotes of the replies to it; a delete makes a tombstone, uncounts a reply in its
 * root and marks the quotes of the replies to it; a reply counts in its root. Changes of
 * messages not held change nothing but the quotes of replies held.
 *
 * Messages that arrive stand as they are now (a history page, a sync replay), so only events
 * after `after` (the newest seq held before this batch, or before the sync that replays it)
 * are folded, and a reply only into a root held from before: an older page of history brings
 * nothing newer than what is held, and its edits are older than the messages held. Returns
 * the messages changed (seq -> message), which `list` now holds in their place.
 */
export function foldConversation(list, fresh, after) {
  const changed = new Map();
  const find = (seq) => {
    const index = seqIndex(list, seq);
    return list[index]?.seq === seq && list[index].type === 'message' ? index : -1;
  };
  const put = (index, message) => {
    list[index] = message;
    changed.set(message.seq, message);
  };
  /** Every reply held to the message `parent` gets `quote(its quote)`. */
  const requote = (parent, quote) => {
    for (let i = seqIndex(list, parent + 1); i < list.length; i += 1) {
      const reply = list[i];
      if (reply.type === 'message' && reply.reply_to === parent && reply.quote && !reply.deleted) {
        put(i, { ...reply, quote: quote(reply.quote) });
      }
    }
  };
  for (const event of fresh) {
    if (event.seq <= after) continue;
    if (event.type === 'message') {
      if (!event.thread || event.thread > after) continue; // the root came as it is now
      const index = find(event.thread);
      if (index < 0) continue;
      const root = list[index];
      put(index, {
        ...root,
        replies: (root.replies ?? 0) + (event.deleted ? 0 : 1),
        last_reply_at: Math.max(root.last_reply_at ?? 0, event.ts),
      });
    } else if (event.type === 'message_edited') {
      const index = find(event.target);
      if (index >= 0 && list[index].deleted) continue; // an edit of a deleted message: nothing
      if (index >= 0) put(index, editedMessage(list[index], event));
      requote(event.target, (quote) => ({ ...quote, body: quoteBody(event.body) }));
    } else if (event.type === 'message_deleted') {
      const index = find(event.target);
      if (index >= 0 && list[index].deleted) continue;
      if (index >= 0) {
        const target = list[index];
        put(index, tombstoneOf(target));
        const rootIndex = target.thread ? find(target.thread) : -1;
        if (rootIndex >= 0) {
          const root = list[rootIndex];
          put(rootIndex, { ...root, replies: Math.max(0, (root.replies ?? 0) - 1) });
        }
      }
      requote(event.target, (quote) => ({ user: quote.user, body: '', deleted: true }));
    }
  }
  return changed;
}
