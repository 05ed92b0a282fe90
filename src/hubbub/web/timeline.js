// The message list of the room on screen: grouping, day dividers, pending messages, and
// the scroll behaviour (stay at the bottom when there, keep the view still when older
// history is added above, show a "new messages" button otherwise).

import { el, reconcile } from './dom.js';
import {
  authorLabel,
  colourClass,
  dayKey,
  dayLabel,
  formatFull,
  formatTime,
  initial,
  isGuest,
} from './format.js';
import { linkify } from './linkify.js';

const GROUP_WITHIN_MS = 5 * 60_000;
const BOTTOM_SLACK_PX = 48;
const LOAD_OLDER_WITHIN_PX = 400;

/**
 * What to show, in order: day dividers, events, then the outbox's pending messages that
 * the server has not echoed back yet.
 */
export function timelineItems(events, pending, me) {
  const echoed = new Set();
  for (const event of events) {
    if (event.user === me && event.client_msg_id) echoed.add(event.client_msg_id);
  }
  const rows = [
    ...events.map((event) => ({ event })),
    ...pending.filter((entry) => !echoed.has(entry.cid)).map((entry) => ({ entry })),
  ];
  const items = [];
  let prev = null;
  let day = null;
  for (const row of rows) {
    const ts = row.event ? row.event.ts : row.entry.ts;
    const user = row.event ? row.event.user : me;
    const isMessage = row.entry || row.event.type === 'message';
    if (dayKey(ts) !== day) {
      day = dayKey(ts);
      items.push({ key: `d:${day}`, kind: 'day', ts });
      prev = null;
    }
    const grouped =
      isMessage && prev !== null && prev.user === user && ts - prev.ts < GROUP_WITHIN_MS;
    if (row.event) {
      const kind = isMessage ? 'message' : 'member';
      items.push({ key: `s:${row.event.seq}`, kind, event: row.event, grouped });
    } else {
      items.push({ key: `p:${row.entry.cid}`, kind: 'pending', entry: row.entry, grouped });
    }
    prev = isMessage ? { user, ts } : null;
  }
  return items;
}

export class Timeline {
  #scroller;
  #list;
  #marker;
  #status;
  #handlers;
  #cache = new Map();
  #roomKey = null;
  #stick = true; // the view follows new messages (it is at the bottom)
  #lastKey = null;
  #hasOlder = false;
  #canRetry = true; // false in a room the user is no longer in

  constructor({ scroller, list, marker, status }, handlers) {
    this.#scroller = scroller;
    this.#list = list;
    this.#marker = marker;
    this.#status = status;
    this.#handlers = handlers; // {onNearTop, onAtBottom, onRetry, onDiscard}
    scroller.addEventListener('scroll', () => this.#onScroll(), { passive: true });
    marker.addEventListener('click', () => this.scrollToBottom());
  }

  get atBottom() {
    return this.#stick;
  }

  scrollToBottom() {
    this.#stick = true;
    this.#scroller.scrollTop = this.#scroller.scrollHeight;
    this.#marker.hidden = true;
    this.#handlers.onAtBottom();
  }

  clear() {
    this.#roomKey = null;
    this.#cache.clear();
    this.#list.replaceChildren();
    this.#marker.hidden = true;
    this.#status.textContent = '';
    this.#status.dataset.state = '';
  }

  /**
   * Show a room. `room` is the store's room (or a stand-in with `left: true` for a room the
   * user is no longer in); `pending` its outbox entries; `me` the user; `note` what pending
   * messages say while sending waits (null: "Pending").
   */
  render(room, pending, me, note = null) {
    const switching = room.name !== this.#roomKey;
    if (switching) {
      this.clear();
      this.#roomKey = room.name;
      this.#stick = true;
    }
    this.#canRetry = !room.left;
    const items = timelineItems(room.events, pending, me);
    const anchor = this.#stick ? null : this.#anchor();
    reconcile(
      this.#list,
      items,
      {
        key: (item) => item.key,
        signature: (item) =>
          item.kind === 'pending'
            ? `${item.grouped}|${item.entry.state}|${item.entry.error ?? ''}|${this.#canRetry}`
            : `${item.grouped}`,
        build: (item) => this.#build(item, me),
      },
      this.#cache,
    );
    this.#renderStatus(room);
    this.#showWaiting(items, note);

    const lastKey = items.at(-1)?.key ?? null;
    const grew = !switching && lastKey !== this.#lastKey && lastKey !== null;
    this.#lastKey = lastKey;
    if (this.#stick) {
      this.#scroller.scrollTop = this.#scroller.scrollHeight;
    } else if (anchor) {
      this.#restore(anchor);
      if (grew) this.#marker.hidden = false;
    }
    // Too little to scroll: fetch older history until the view is full (or there is none).
    if (this.#hasOlder && this.#scroller.scrollHeight <= this.#scroller.clientHeight + 1) {
      this.#handlers.onNearTop();
    }
  }

  #renderStatus(room) {
    this.#hasOlder = room.loaded && room.hasOlder;
    let state;
    let text;
    if (room.left) {
      state = 'left';
      text = 'You are no longer in this room. Messages not sent stay here until you discard them.';
    } else if (!room.loaded) [state, text] = ['loading', 'Loading messages…'];
    else if (room.loadingOlder) [state, text] = ['loading', 'Loading earlier messages…'];
    else if (room.hasOlder) [state, text] = ['more', ''];
    else [state, text] = ['start', 'This is the very beginning of the conversation.'];
    this.#status.dataset.state = state;
    this.#status.textContent = text;
  }

  /**
   * What pending messages say, changed in place: the first one is a live region, so the
   * wait and its countdown are announced once, not once per message.
   */
  #showWaiting(items, note) {
    let first = true;
    for (const item of items) {
      if (item.kind !== 'pending' || item.entry.state === 'failed') continue;
      const state = this.#cache.get(item.key).node.querySelector('.msg-state');
      const text = note ?? 'Pending';
      if (first) state.setAttribute('role', 'status');
      else state.removeAttribute('role');
      if (state.textContent !== text) state.textContent = text;
      state.classList.toggle('waiting', note !== null);
      first = false;
    }
  }

  #onScroll() {
    const s = this.#scroller;
    this.#stick = s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK_PX;
    if (this.#stick) {
      this.#marker.hidden = true;
      this.#handlers.onAtBottom();
    }
    if (s.scrollTop <= LOAD_OLDER_WITHIN_PX && this.#hasOlder) this.#handlers.onNearTop();
  }

  /** The first item visible at the top, and how far below the top edge it is. */
  #anchor() {
    const top = this.#scroller.getBoundingClientRect().top;
    for (const node of this.#list.children) {
      // A day divider moves up when older messages of its day arrive: not an anchor.
      if (node.classList.contains('day')) continue;
      const rect = node.getBoundingClientRect();
      if (rect.bottom > top) return { key: node.dataset.key, offset: rect.top - top };
    }
    return null;
  }

  #restore({ key, offset }) {
    const node = this.#cache.get(key)?.node;
    if (!node?.isConnected) return;
    const top = this.#scroller.getBoundingClientRect().top;
    const now = node.getBoundingClientRect().top - top;
    this.#scroller.scrollTop += now - offset;
  }

  // --- items -------------------------------------------------------------------------

  #build(item, me) {
    switch (item.kind) {
      case 'day':
        return el('li', { class: 'day', attrs: { role: 'separator' } }, el('span', { text: dayLabel(item.ts) }));
      case 'member':
        return this.#memberLine(item.event, me);
      case 'message':
        return this.#message(item, item.event.user, item.event.ts, item.event.body, 'sent', {
          seq: String(item.event.seq),
        });
      default:
        return this.#message(item, me, item.entry.ts, item.entry.body, item.entry.state, {
          cid: item.entry.cid,
        });
    }
  }

  #memberLine(event, me) {
    const who = event.user === me ? 'You' : event.user;
    let text;
    if (event.type === 'member_left') text = `${who} left`;
    else if (event.by && event.by !== event.user) {
      text = `${event.by === me ? 'You' : event.by} added ${event.user === me ? 'you' : event.user}`;
    } else text = `${who} joined`;
    return el(
      'li',
      { class: 'member-line', dataset: { seq: String(event.seq) } },
      el('span', { text }),
      el('time', { dateTime: new Date(event.ts).toISOString(), title: formatFull(event.ts), text: formatTime(event.ts) }),
    );
  }

  #message(item, user, ts, body, status, data) {
    const time = el('time', {
      class: 'msg-time',
      dateTime: new Date(ts).toISOString(),
      title: formatFull(ts),
      text: formatTime(ts),
    });
    const head = item.grouped
      ? null
      : el(
          'div',
          { class: 'msg-head' },
          el('span', { class: 'msg-author', text: authorLabel(user) }),
          isGuest(user) ? el('span', { class: 'guest-tag', text: 'guest' }) : null,
          time,
        );
    return el(
      'li',
      {
        class: item.grouped ? 'msg grouped' : 'msg',
        dataset: { ...data, status, user },
      },
      item.grouped
        ? el('span', { class: 'msg-gutter' }, time)
        : el('span', { class: `avatar ${colourClass(user)}`, attrs: { 'aria-hidden': 'true' }, text: initial(user) }),
      el(
        'div',
        { class: 'msg-main' },
        head,
        el('div', { class: 'msg-body' }, ...linkify(body)),
        status === 'sent' ? null : this.#deliveryState(item.entry),
      ),
    );
  }

  #deliveryState(entry) {
    if (entry.state === 'failed') {
      return el(
        'div',
        { class: 'msg-state failed', attrs: { role: 'status' } },
        el('span', { text: `Not sent — ${entry.error || 'failed'}.` }),
        // Retrying in a room one is not in would fail again: join it first.
        this.#canRetry
          ? el('button', {
              type: 'button',
              class: 'link retry',
              text: 'Retry',
              on: { click: () => this.#handlers.onRetry(entry.cid) },
            })
          : null,
        el('button', {
          type: 'button',
          class: 'link discard',
          text: 'Discard',
          on: { click: () => this.#handlers.onDiscard(entry.cid) },
        }),
      );
    }
    return el('div', { class: 'msg-state pending', text: 'Pending' });
  }
}
