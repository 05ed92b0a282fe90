// Jumping to a message (a search result): its room shown around it, paged both ways.
//
// The store holds each room's events without a hole up to the newest (store.js), and the
// thread panel and `sync` rely on that. A message older than what the store holds is shown
// from a window of its own instead: the pages `before: seq + 1` and `after: seq` around it,
// more of them as the user scrolls up or down. Live changes (edits, deletes, reactions,
// replies) to the messages it holds are folded in as they come; new messages are not (they
// belong after the end of the room, which the window does not reach yet). Once a newer page
// reaches what the store holds, the window's events join the store's and the room is shown
// as usual again, the view kept where it was.
//
// `MessageWindow` is the pure part (no DOM, no socket); `Jumps` asks for the pages.

import { foldReaction } from './reactions.js';
import { foldConversation } from './store.js';

export const WINDOW_PAGE = 50;
export const WINDOW_KEEP = 600; // events held at most: the far end is forgotten (paged again)
// Events that change a message rather than add a row (as in store.js).
const CHANGES = new Set(['message_edited', 'message_deleted', 'reaction_added', 'reaction_removed']);
const REACTIONS = new Set(['reaction_added', 'reaction_removed']);

/** The rows of a history page: messages stand as they are now, its changes are in them. */
function rowsOf(events, reactionsAt) {
  return events.filter((event) => !CHANGES.has(event.type)).map((event) => ({ ...event, reactionsAt }));
}

/** A part of a room's history around the message `target`, not reaching the room's end. */
export class MessageWindow {
  constructor(room, target) {
    this.room = room;
    this.target = target;
    this.events = []; // rows only, sorted by seq
    this.hasOlder = false;
    this.hasNewer = false;
    this.loadingOlder = false;
    this.loadingNewer = false;
    this.loaded = false;
    this.at = 0; // the room's newest seq known when loaded: changes after it are folded
    this.revised = new Map(); // seq -> message changed since the last `takeRevised`
  }

  /** The two pages around the target: `before` (up to it, included) and `after` it. */
  open(before, after, at) {
    this.at = at;
    this.events = rowsOf([...before.events, ...after.events], at);
    this.hasOlder = before.has_more;
    this.hasNewer = after.has_more;
    this.loaded = true;
  }

  get first() {
    return this.events[0]?.seq ?? this.target;
  }

  get last() {
    return this.events.at(-1)?.seq ?? this.target;
  }

  /** A page of `history before: first`: above, the far (newest) end forgotten past `keep`. */
  addOlder(page, keep = WINDOW_KEEP) {
    const rows = rowsOf(page.events, this.at).filter((event) => event.seq < this.first);
    this.events = rows.concat(this.events);
    this.hasOlder = page.has_more;
    if (this.events.length > keep) {
      this.events.length = keep;
      this.hasNewer = true;
    }
  }

  /** A page of `history after: last`: below, the far (oldest) end forgotten past `keep`. */
  addNewer(page, keep = WINDOW_KEEP) {
    const rows = rowsOf(page.events, this.at).filter((event) => event.seq > this.last);
    this.events = this.events.concat(rows);
    this.hasNewer = page.has_more;
    if (this.events.length > keep) {
      this.events.splice(0, this.events.length - keep);
      this.hasOlder = true;
    }
  }

  /**
   * Whether the window reaches the events the store holds of the room (`held`: that room's
   * events, sorted, without a hole up to its newest): then the two make one whole.
   */
  meets(held) {
    if (!this.loaded) return false;
    if (!held.length) return !this.hasNewer;
    return this.last + 1 >= held[0].seq;
  }

  /** The window's events the store lacks (older than all it holds). */
  missingFrom(held) {
    if (!held.length) return this.events;
    return this.events.filter((event) => event.seq < held[0].seq);
  }

  /**
   * Live events the store took (`fresh`, in seq order): edits, deletes, reactions and
   * replies change the messages held here. Returns true when one did.
   */
  accept(fresh, me) {
    const news = fresh.filter((event) => event.seq > this.at);
    if (!news.length) return false;
    const changed = foldConversation(this.events, news, this.at);
    for (const change of news) {
      if (!REACTIONS.has(change.type)) continue;
      const index = this.events.findIndex((event) => event.seq === change.target);
      const target = this.events[index];
      if (!target || target.type !== 'message') continue;
      const now = foldReaction(target, change, me);
      if (now === target) continue;
      this.events[index] = now;
      changed.set(now.seq, now);
    }
    for (const [seq, message] of changed) this.revised.set(seq, message);
    return changed.size > 0;
  }

  /** The messages changed since the last call, forgotten as they go. */
  takeRevised() {
    const revised = [...this.revised.values()];
    this.revised.clear();
    return revised;
  }
}

/**
 * The jump in progress, if any: one window at a time, for the room on screen. `onChange()`
 * is called when what is shown changes. `chat.page(room, cursor, limit)` reads history.
 */
export class Jumps {
  #chat;
  #store;
  #me;
  #onChange;
  #window = null;
  #reveal = null; // {room, seq}: the message to bring into view once drawn

  constructor({ chat, store, me, onChange }) {
    this.#chat = chat;
    this.#store = store;
    this.#me = me;
    this.#onChange = onChange;
    store.addEventListener('added', (event) => {
      const { room, events } = event.detail;
      const win = this.#window;
      if (win?.room !== room) return;
      if (win.accept(events, this.#me)) this.#onChange();
      // The store may have reached the window from its side (a newest page loaded).
      if (this.#tryMeet()) this.#onChange();
    });
  }

  /** Show `seq` of `room`: from what the store holds if it can, else from a window. */
  async open(room, seq) {
    this.#reveal = { room, seq };
    const held = this.#store.room(room);
    const first = held?.loaded ? held.events[0]?.seq : undefined;
    if (first !== undefined && first <= seq) {
      this.#window = null;
      this.#onChange();
      return;
    }
    const win = new MessageWindow(room, seq);
    this.#window = win;
    this.#onChange();
    try {
      const [before, after] = await Promise.all([
        this.#chat.page(room, { before: seq + 1 }, WINDOW_PAGE),
        this.#chat.page(room, { after: seq }, WINDOW_PAGE),
      ]);
      if (this.#window !== win) return;
      // Changes after the newest seq known now are not in the pages: they are folded in.
      const known = Math.max(this.#store.newestSeq(room), held?.lastSeq ?? 0);
      win.open(before, after, known);
      this.#tryMeet();
    } catch (err) {
      if (this.#window !== win) return;
      this.#window = null; // shown as the room is, from its newest messages
      this.#reveal = null;
    }
    this.#onChange();
  }

  /** Back to the room's newest messages. */
  leave() {
    if (!this.#window && !this.#reveal) return;
    this.#window = null;
    this.#reveal = null;
    this.#onChange();
  }

  /** The room on screen is now `room`: a window of another room goes. */
  keepOnly(room) {
    if (this.#window && this.#window.room !== room) this.#window = null;
    if (this.#reveal && this.#reveal.room !== room) this.#reveal = null;
  }

  /**
   * What the timeline shows for `room` instead of the store's room (a stand-in with the
   * window's events), or null when the store's room is shown.
   */
  shown(room) {
    const win = this.#window;
    if (!win || win.room !== room) return null;
    const held = this.#store.room(room);
    return {
      name: room,
      kind: held?.kind,
      role: held?.role,
      events: win.events,
      loaded: win.loaded,
      hasOlder: win.hasOlder,
      loadingOlder: win.loadingOlder,
      // Never the room's end: that is where the window joins the store (`#tryMeet`).
      hasNewer: true,
      loadingNewer: win.loadingNewer,
    };
  }

  takeRevised(room) {
    return this.#window?.room === room ? this.#window.takeRevised() : [];
  }

  /** The message to bring into view in `room`, or null. */
  revealIn(room) {
    return this.#reveal?.room === room ? this.#reveal.seq : null;
  }

  revealed() {
    this.#reveal = null;
  }

  async older(room) {
    const win = this.#window;
    if (win?.room !== room || !win.loaded || !win.hasOlder || win.loadingOlder) return;
    if (!this.#chat.synced) return; // paged once the connection is back
    await this.#load(win, 'loadingOlder', { before: win.first }, (page) => win.addOlder(page));
  }

  async newer(room) {
    const win = this.#window;
    // Without newer events to page, the window waits for the store's newest page to meet.
    if (win?.room !== room || !win.loaded || !win.hasNewer || win.loadingNewer) return;
    if (!this.#chat.synced) return;
    await this.#load(win, 'loadingNewer', { after: win.last }, (page) => win.addNewer(page));
    if (this.#window === win && this.#tryMeet()) this.#onChange();
  }

  async #load(win, flag, cursor, add) {
    win[flag] = true;
    this.#onChange();
    try {
      const page = await this.#chat.page(win.room, cursor, WINDOW_PAGE);
      if (this.#window === win) add(page);
    } catch (err) {
      // Not asked again and again: the room is shown from its newest messages instead.
      if (err?.code !== 'connection_lost' && this.#window === win) this.#window = null;
    } finally {
      win[flag] = false;
    }
    this.#onChange();
  }

  /** The window reaches the store's events: they become one, and the store's room shows. */
  #tryMeet() {
    const win = this.#window;
    const held = win && this.#store.room(win.room);
    if (!win || !held?.loaded || !win.meets(held.events)) return false;
    const missing = win.missingFrom(held.events);
    const wasEmpty = held.events.length === 0;
    if (missing.length) {
      this.#store.addEvents(win.room, missing);
      held.hasOlder = win.hasOlder;
    } else if (wasEmpty) held.hasOlder = win.hasOlder;
    this.#window = null;
    return true;
  }
}
