// The conversation logic between the socket, the room state and the outbox.
//
// On every `ready` (first connect and each reconnect) it resumes: `rooms` for the
// membership and unread counts, then `sync` with the newest seq held per room, so the
// server replays exactly what was missed; rooms it cannot resume (`complete: false`) are
// reloaded with `history`. Only then is the outbox flushed, oldest first, each message with
// the client_msg_id it was given when written. Actions the UI takes (send, join, read…) are
// methods here; the UI never talks to the socket itself.
//
// A refusal that asks to wait (`rate_limited` with `retry_after`, `unavailable`) pauses the
// whole outbox for that long, so messages keep their order; after it, they go one at a
// time until the outbox is empty. A message for a room the user is no longer in (left here,
// or on another device) is marked failed at once: it stays in the outbox, and in sight,
// until the user discards it or joins the room again and retries it.

import { ConnectionLost } from './connection.js';

const NEWEST_PAGE = 50;
const OLDER_PAGE = 100;
const TYPING_EVERY_MS = 3000;
const RETRYABLE = new Set(['rate_limited', 'unavailable', 'internal']);
const NOT_IN_ROOM = 'you are no longer in this room';

export class Chat extends EventTarget {
  synced = false; // this connection has resumed: sends go out now
  active = null; // the room on screen

  #conn;
  #store;
  #outbox;
  #me;
  #inFlight = new Set(); // client_msg_ids sent on this connection and not yet acknowledged
  #typingSent = new Map(); // room -> when we last sent `typing`
  #away = false; // the user is idle here: said to the server again on each connection
  #readSent = new Map(); // room -> seq of the last `read` sent on this connection
  #roomsTimer = null;
  #loadingNewest = new Set();
  #waitUntil = 0; // a refusal asked to wait: nothing is sent before this time (ms)
  #waitCode = null; // …and which one it was
  #waitTimer = null;
  #oneByOne = false; // since the last wait, until the outbox is empty: one send at a time

  constructor({ me, conn, store, outbox }) {
    super();
    this.#me = me;
    this.#conn = conn;
    this.#store = store;
    this.#outbox = outbox;
    conn.addEventListener('ready', () => this.#resume());
    conn.addEventListener('frame', (event) => this.#onFrame(event.detail));
    conn.addEventListener('status', () => {
      if (conn.state !== 'ready' && this.synced) {
        this.synced = false;
        this.#inFlight.clear();
        this.#readSent.clear();
        this.#emit();
      }
    });
  }

  #emit() {
    this.dispatchEvent(new Event('status'));
  }

  /** While sending waits on the server's word: {until (ms), code}; otherwise null. */
  get sendWait() {
    return this.#waitUntil > Date.now() ? { until: this.#waitUntil, code: this.#waitCode } : null;
  }

  // --- resuming ------------------------------------------------------------------------

  async #resume() {
    this.synced = false;
    this.#inFlight.clear();
    this.#readSent.clear();
    try {
      const synced = await this.#sync();
      this.#store.setPresence(synced.presence ?? {}, true);
      if (this.#away) this.#conn.notify('idle', { away: true });
      for (const [name, state] of Object.entries(synced.rooms)) {
        if (!this.#store.room(name)) this.#refreshRooms();
        if (!state.complete) this.#store.resetEvents(name);
      }
      this.synced = true;
      this.#emit();
      this.#pump();
      if (this.active) await this.ensureLoaded(this.active);
    } catch (err) {
      if (!(err instanceof ConnectionLost)) console.error('resume failed', err);
      // Otherwise the next `ready` resumes again.
    }
  }

  async #sync() {
    const { rooms } = await this.#conn.request('rooms');
    this.#store.setRooms(rooms); // forgets rooms we are no longer in, so `since` names none
    this.#failUnsendable();
    // Reaction counts of the messages it replays already include its reaction events.
    this.#store.beginReplay();
    let synced = null;
    try {
      synced = await this.#conn.request('sync', { since: this.#store.lastSeen() });
    } catch (err) {
      // A room left on another device between the two requests: start every room afresh.
      if (err.code !== 'not_found') throw err;
      for (const name of this.#store.rooms.keys()) this.#store.resetEvents(name);
      synced = await this.#conn.request('sync', { since: {} });
    } finally {
      this.#store.endReplay(synced?.rooms);
    }
    return synced;
  }

  /** Re-read the room list soon (a room we were added to, a read marker we cannot apply). */
  #refreshRooms() {
    clearTimeout(this.#roomsTimer);
    this.#roomsTimer = setTimeout(async () => {
      try {
        this.#store.setRooms((await this.#conn.request('rooms')).rooms);
        this.#failUnsendable();
      } catch {
        // resume() reads the list again after the reconnect
      }
    }, 200);
  }

  // --- frames from the server ----------------------------------------------------------

  #onFrame(frame) {
    if (frame.type === 'typing') this.#store.setTyping(frame.room, frame.user);
    else if (frame.type === 'read') {
      // Read on another device: clear the count here too (exactly, if we can).
      if (!this.#store.markRead(frame.room, frame.seq)) this.#refreshRooms();
    } else if (frame.type === 'synced') {
      // Unasked: the server could not send some of a room's events. Start the room afresh
      // from its newest page, as after a `sync` that answers `complete: false`.
      for (const [name, state] of Object.entries(frame.rooms)) {
        if (!state.complete) this.#store.resetEvents(name);
      }
      if (this.active) this.ensureLoaded(this.active);
    } else if (frame.type === 'presence') {
      this.#store.setPresence(frame.users);
    } else if (frame.type === 'profile') {
      // A profile changed (of someone sharing a room with the user, or the user's own).
      this.dispatchEvent(new CustomEvent('profiles', { detail: [frame.profile] }));
    } else if (frame.type === 'invited') {
      // An invitation waiting for the user's answer (invitations.js).
      this.dispatchEvent(new CustomEvent('invited', { detail: frame }));
    } else if (frame.type === 'mention') {
      // Someone called the user by name (or @room): a notice, not a room event.
      this.dispatchEvent(new CustomEvent('mention', { detail: frame }));
    } else if (typeof frame.seq === 'number' && typeof frame.room === 'string') {
      this.#onEvent(frame); // a room event: message, member_joined, member_left, …
    }
  }

  #onEvent(event) {
    const store = this.#store;
    if (!store.room(event.room)) this.#refreshRooms(); // added to a room, or a new DM
    if (event.type === 'member_left' && event.user === this.#me) {
      store.removeRoom(event.room);
      this.#failUnsendable();
      this.dispatchEvent(new CustomEvent('left', { detail: event.room }));
      return;
    }
    if ((event.type === 'member_kicked' || event.type === 'member_banned') && event.user === this.#me) {
      // Shown where it happened: the room stays on screen with its line ("alice banned you"),
      // read-only, until the list of rooms is read again.
      store.addEvents(event.room, [event]);
      store.markRemoved(event.room, event);
      this.dispatchEvent(new CustomEvent('removed', { detail: event }));
      return;
    }
    const newest = store.newestSeq(event.room);
    if (this.synced && newest && event.seq > newest + 1) this.#fillGap(event.room, newest);
    const fresh = store.addEvents(event.room, [event]);
    if (event.user === this.#me && event.client_msg_id) this.#outbox.remove(event.client_msg_id);
    // As it happens, not replayed on a resume: what notifications are made of.
    if (fresh && this.synced && event.type === 'message') {
      this.dispatchEvent(new CustomEvent('live', { detail: event }));
    }
  }

  /** Should never be needed (the server delivers each room gapless), but costs nothing. */
  async #fillGap(room, after) {
    try {
      for (;;) {
        const page = await this.#conn.request('history', { room, after, limit: 200 });
        this.#store.addEvents(room, page.events);
        if (!page.has_more || !page.events.length) return;
        after = page.events.at(-1).seq;
      }
    } catch {
      // the next resume covers it
    }
  }

  // --- history -----------------------------------------------------------------------

  /** Load the newest page of a room once (on opening it, or after `complete: false`). */
  async ensureLoaded(name) {
    const room = this.#store.room(name);
    if (!room || room.loaded || !this.synced || this.#loadingNewest.has(name)) return;
    this.#loadingNewest.add(name);
    try {
      const page = await this.#conn.request('history', { room: name, limit: NEWEST_PAGE });
      const first = page.events[0]?.seq;
      // Events held from before would leave a hole under this page: start from the page.
      if (first && first > this.#store.newestSeq(name) + 1) this.#store.resetEvents(name);
      room.loaded = true;
      room.hasOlder = page.has_more;
      this.#store.addEvents(name, page.events);
      this.#store.changed('events', name);
    } catch (err) {
      if (!(err instanceof ConnectionLost)) console.error('history failed', err);
    } finally {
      this.#loadingNewest.delete(name);
    }
  }

  /** Load the page before the oldest event held (scrolling up). */
  async loadOlder(name) {
    const room = this.#store.room(name);
    if (!room || !room.loaded || !room.hasOlder || room.loadingOlder || !this.synced) return;
    const before = room.events[0]?.seq ?? 0;
    if (before <= 1) {
      room.hasOlder = false;
      this.#store.changed('events', name);
      return;
    }
    room.loadingOlder = true;
    this.#store.changed('events', name);
    try {
      const page = await this.#conn.request('history', { room: name, before, limit: OLDER_PAGE });
      room.hasOlder = page.has_more;
      this.#store.addEvents(name, page.events);
    } catch (err) {
      if (!(err instanceof ConnectionLost)) console.error('history failed', err);
    } finally {
      room.loadingOlder = false;
      this.#store.changed('events', name);
    }
  }

  // --- sending -----------------------------------------------------------------------

  /**
   * Send `body` to `room`; `reply` ({reply_to, thread, quote}, threads.js) answers a message;
   * `files`: the uploaded files it carries (FileInfo, attachments.js).
   */
  send(room, body, reply = null, files = []) {
    const entry = this.#outbox.add(room, body, this.#store.room(room)?.kind, reply, files);
    this.#pump();
    return entry;
  }

  retry(cid) {
    this.#outbox.update(cid, { state: 'pending', error: null });
    this.#pump();
  }

  discard(cid) {
    this.#outbox.remove(cid);
  }

  /** Give the user's message `seq` a new body. The change shows when its event arrives. */
  async edit(room, seq, body) {
    return (await this.#conn.request('edit', { room, seq, body })).message;
  }

  /** Delete the message `seq`. The row changes when the `message_deleted` event arrives. */
  async delete(room, seq) {
    return (await this.#conn.request('delete', { room, seq })).message;
  }

  /** Add (`on`) or take back the user's reaction `emoji`; shown when its event arrives. */
  async react(room, seq, emoji, on) {
    return (await this.#conn.request('react', { room, seq, emoji, on })).message;
  }

  /** Make a member of a room an admin or a member again (the owner only). */
  async setRole(room, user, role) {
    await this.#conn.request('role', { room, user, role });
  }

  // --- moderation (the room's owner and admins, server admins) -----------------------

  async kick(room, user) {
    await this.#conn.request('kick', { room, user });
  }

  async ban(room, user, reason = '') {
    await this.#conn.request('ban', { room, user, reason });
  }

  async unban(room, user) {
    await this.#conn.request('unban', { room, user });
  }

  /** `until`: ms since the epoch, or null for a mute until lifted. */
  async mute(room, user, until) {
    await this.#conn.request('mute', { room, user, ...(until === null ? {} : { until }) });
  }

  async unmute(room, user) {
    await this.#conn.request('unmute', { room, user });
  }

  /** Change the room's settings: only those given in `settings` ({topic, private, …}). */
  async roomSettings(room, settings) {
    await this.#conn.request('room_settings', { room, ...settings });
  }

  /** The bans in force, newest first: [{user, by, reason, ts}] (moderators only). */
  async bans(room) {
    return (await this.#conn.request('bans', { room })).bans;
  }

  /** Messages for rooms we are no longer in cannot be sent: say so instead of trying. */
  #failUnsendable() {
    for (const entry of this.#outbox.all()) {
      if (entry.state === 'pending' && !this.#store.room(entry.room)) {
        this.#outbox.update(entry.cid, { state: 'failed', error: NOT_IN_ROOM });
      }
    }
  }

  /** Send what the outbox holds, oldest first (the server stores them in this order). */
  #pump() {
    if (!this.synced || this.sendWait) return;
    const pending = this.#outbox.all().filter((entry) => entry.state === 'pending');
    if (!pending.length) this.#oneByOne = false;
    else if (!this.#oneByOne) for (const entry of pending) this.#transmit(entry);
    else if (!this.#inFlight.size) this.#transmit(pending[0]);
  }

  /** The server asked to wait `seconds` before sending more: hold the outbox until then. */
  #wait(code, seconds) {
    const until = Date.now() + seconds * 1000;
    this.#oneByOne = true;
    if (until <= this.#waitUntil) return;
    this.#waitUntil = until;
    this.#waitCode = code;
    clearTimeout(this.#waitTimer);
    this.#waitTimer = setTimeout(() => {
      this.#waitUntil = 0;
      this.dispatchEvent(new Event('sending'));
      this.#pump();
    }, until - Date.now());
    this.dispatchEvent(new Event('sending'));
  }

  async #transmit(entry) {
    if (this.#inFlight.has(entry.cid)) return;
    this.#inFlight.add(entry.cid);
    try {
      const sent = await this.#conn.request('send', {
        room: entry.room,
        client_msg_id: entry.cid,
        body: entry.body,
        ...(entry.reply_to ? { reply_to: entry.reply_to } : {}),
        ...(entry.files?.length ? { files: entry.files.map((file) => file.id) } : {}),
      });
      // The `message` event came first on a connection that follows the room. If this one
      // did not (yet), the acknowledgement holds the stored event: add it when it fits.
      if (this.#store.room(sent.room) && this.#store.newestSeq(sent.room) === sent.seq - 1) {
        this.#store.addEvents(sent.room, [
          {
            type: 'message',
            room: sent.room,
            seq: sent.seq,
            ts: sent.ts,
            user: this.#me,
            msg_id: sent.msg_id,
            client_msg_id: sent.client_msg_id,
            body: entry.body,
            ...(entry.reply_to ? { reply_to: entry.reply_to, thread: entry.thread, quote: entry.quote } : {}),
            ...(entry.files?.length ? { files: entry.files } : {}),
          },
        ]);
      }
      this.#outbox.remove(entry.cid);
    } catch (err) {
      if (err instanceof ConnectionLost) return; // still pending: resent after the next sync
      if (RETRYABLE.has(err.code)) this.#wait(err.code, Math.max(0.5, err.retryAfter ?? 3));
      else this.#outbox.update(entry.cid, { state: 'failed', error: describeSendError(err, entry) });
    } finally {
      this.#inFlight.delete(entry.cid);
    }
    this.#pump();
  }

  // --- presence ----------------------------------------------------------------------

  /** The user has been idle a while (`away`), or is back: the server tells who shares a room. */
  setAway(away) {
    if (this.#away === away) return;
    this.#away = away;
    this.#conn.notify('idle', { away });
  }

  /** The user is typing in `room`: tell the others, at most every few seconds. */
  typing(room) {
    if (!this.synced) return;
    const now = Date.now();
    if (now - (this.#typingSent.get(room) ?? 0) < TYPING_EVERY_MS) return;
    this.#typingSent.set(room, now);
    this.#conn.notify('typing', { room });
  }

  /** Sent message: the next keystroke may announce typing again at once. */
  stoppedTyping(room) {
    this.#typingSent.delete(room);
  }

  /** The room is on screen and scrolled to its newest message: move the read marker. */
  viewing(name) {
    const room = this.#store.room(name);
    if (!room || !room.loaded || !this.synced) return;
    const seq = this.#store.newestSeq(name);
    if (!seq || (seq <= room.readSeq && room.unread === 0) || this.#readSent.get(name) === seq) {
      return;
    }
    this.#readSent.set(name, seq);
    this.#store.markRead(name, seq);
    this.#conn.request('read', { room: name, seq }).catch(() => this.#readSent.delete(name));
  }

  // --- rooms ----------------------------------------------------------------------------

  async create(name, isPrivate) {
    const info = await this.#conn.request('create', { name, private: isPrivate });
    this.#store.upsertRoom(info);
    return info.name;
  }

  async join(room) {
    const info = await this.#conn.request('join', { room });
    this.#store.upsertRoom(info);
    return info.name;
  }

  async dm(user) {
    const info = await this.#conn.request('dm', { user });
    this.#store.upsertRoom(info);
    return info.name;
  }

  async invite(room, user) {
    await this.#conn.request('invite', { room, user });
  }

  /** The user's pending invitations, oldest first. */
  async invitations() {
    return (await this.#conn.request('invitations')).invitations;
  }

  /** Accept an invitation: the room joins the list (it is not opened). */
  async accept(room) {
    const info = await this.#conn.request('accept', { room });
    this.#store.upsertRoom(info);
    return info.name;
  }

  async decline(room) {
    await this.#conn.request('decline', { room });
  }

  /** Whom the user blocks. */
  async blocks() {
    return (await this.#conn.request('blocks')).users;
  }

  async block(user) {
    await this.#conn.request('block', { user });
  }

  async unblock(user) {
    await this.#conn.request('unblock', { user });
  }

  /** The user's DM policy; with `policy`, changed first. */
  async dmPolicy(policy = undefined) {
    return (await this.#conn.request('dm_policy', policy ? { policy } : {})).policy;
  }

  async leave(room) {
    await this.#conn.request('leave', { room });
    this.#store.removeRoom(room);
    this.#failUnsendable();
  }

  isMember(room) {
    return this.#store.room(room) !== null;
  }

  /**
   * The newest page of a room the user is not in: {events, has_more}. Anyone signed in may
   * read a public room's history; any other room answers `not_found`, as a missing one does.
   */
  async peek(room) {
    return await this.#conn.request('history', { room, limit: NEWEST_PAGE });
  }

  /** A page of a room's history at `cursor` ({before} or {after}): {events, has_more}. */
  async page(room, cursor, limit) {
    return await this.#conn.request('history', { room, ...cursor, limit });
  }

  async directory() {
    return (await this.#conn.request('directory')).rooms;
  }

  /** A page of the thread of `root`: {root, events (replies, oldest first), has_more}. */
  async thread(room, root, before = null, limit = 50) {
    return await this.#conn.request('thread', { room, root, limit, ...(before ? { before } : {}) });
  }

  /**
   * The members of `room`: {users (sorted usernames), roles ({user: 'owner' | 'admin'}),
   * muted ({user: until (ms) or null until lifted}), seq (the room's newest seq held when
   * the answer came)}; a `members` event tells it to those who follow mutes.
   */
  async members(room) {
    const reply = await this.#conn.request('members', { room });
    if (reply.profiles) this.dispatchEvent(new CustomEvent('profiles', { detail: reply.profiles }));
    const listed = { users: reply.users, roles: reply.roles ?? {}, muted: reply.muted ?? {} };
    listed.seq = this.#store.newestSeq(room);
    this.dispatchEvent(new CustomEvent('members', { detail: { room, ...listed } }));
    return listed;
  }

  /** The profiles of `users` (at most 200; names with no user are left out). */
  async users(users) {
    return (await this.#conn.request('users', { users })).profiles;
  }
}

function describeSendError(err, entry) {
  if (entry.reply_to && err.code === 'conflict') return 'the message replied to was deleted';
  if (entry.reply_to && err.code === 'not_found') return err.message || 'the message replied to is gone';
  if (entry.files?.length && err.code === 'conflict') return 'a file of it is attached to another message';
  if (entry.files?.length && err.code === 'not_found') return err.message || 'a file of it is gone';
  switch (err.code) {
    case 'forbidden':
      return 'you cannot post in this room';
    case 'not_found':
      return 'you are no longer in this room';
    case 'bad_request':
      return 'the server refused this message';
    default:
      return err.message || 'not sent';
  }
}
