// The message list of the room on screen: grouping, day dividers, pending messages, and
// the scroll behaviour (stay at the bottom when there, keep the view still when older
// history is added above, show a "new messages" button otherwise).
//
// Drawing is incremental: each event's row is made once, keyed by seq. A new event adds
// its row at the bottom, an older page adds rows at the top, forgotten history removes
// rows from the top; only the row next to such a change is looked at again (its grouping
// or day divider may change). The cost of a change does not grow with the rows shown.

import {
  actionButtons,
  actionsFor,
  confirmDelete,
  openActionSheet,
  openEditor,
  showError,
  watchLongPress,
} from './actions.js';
import { blocked } from './blocks.js';
import { el } from './dom.js';
import { dayKey, dayLabel, formatFull, formatTime } from './format.js';
import { fileViews } from './file_views.js';
import { openEmojiPicker } from './emoji_picker.js';
import { describeReactError, reactionChips } from './reactions.js';
import { mentionsMe } from './mentions.js';
import { lineParts, placement, planUpdate, rowOf, seqIndex } from './rows.js';
import { flash, messageBody, messageHead, messageTime, quoteNode, threadSummaryNode } from './threads.js';
import { authorNode, avatarNode } from './profiles.js';

const BOTTOM_SLACK_PX = 48;
const LOAD_OLDER_WITHIN_PX = 400;

/**
 * What to show, in order: day dividers, events, then the outbox's pending messages that
 * the server has not echoed back yet. (The whole list at once; `Timeline` draws the same
 * list a change at a time.)
 */
export function timelineItems(events, pending, me) {
  const echoed = new Set();
  for (const event of events) {
    if (event.user === me && event.client_msg_id) echoed.add(event.client_msg_id);
  }
  const items = [];
  let prev = null;
  for (const event of events) {
    const row = rowOf(event);
    const { newDay, grouped } = placement(prev, row);
    if (newDay) items.push({ key: `d:${dayKey(event.ts)}`, kind: 'day', ts: event.ts });
    const kind = row.message ? 'message' : 'member';
    items.push({ key: `s:${event.seq}`, kind, event, grouped });
    prev = row;
  }
  return [...items, ...pendingItems(pending.filter((entry) => !echoed.has(entry.cid)), prev, me)];
}

/** The pending messages' items, placed after the row `prev` (null: none). */
function pendingItems(pending, prev, me) {
  const items = [];
  for (const entry of pending) {
    const row = { user: me, ts: entry.ts, message: true };
    const { newDay, grouped } = placement(prev, row);
    if (newDay) items.push({ key: `d:${dayKey(entry.ts)}`, kind: 'day', ts: entry.ts });
    items.push({ key: `p:${entry.cid}`, kind: 'pending', entry, grouped });
    prev = row;
  }
  return items;
}

/** Whether two versions of a message differ in their reactions only. */
function onlyReactionsChanged(before, after) {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (key !== 'reactions' && key !== 'reactionsAt' && before[key] !== after[key]) return false;
  }
  return true;
}

export class Timeline {
  #scroller;
  #list;
  #marker;
  #status;
  #handlers;
  #me = null;
  #rows = []; // one per event shown, in seq order: {seq, event, grouped, node, day}
  #drawing = []; // the rows being made (`#insertRows`), before they join `#rows`
  #echoed = new Set(); // client_msg_ids of the user's events shown
  #tail = []; // the pending messages' nodes (and their day dividers), after the rows
  #pendingCache = new Map(); // item key -> {node, sig}
  #roomKey = null;
  #stick = true; // the view follows new messages (it is at the bottom)
  #lastKey = null;
  #hasOlder = false;
  #hasNewer = false; // a part of the room around a message (jump.js): not its end
  #canRetry = true; // false in a room the user is no longer in
  #dm = false; // the room on screen is a DM: nobody moderates it
  #readOnly = false; // a public room the user is not in, looked into: no actions

  constructor({ scroller, list, marker, status }, handlers) {
    this.#scroller = scroller;
    this.#list = list;
    this.#marker = marker;
    this.#status = status;
    // {onNearTop, onNearBottom (a window around a message: jump.js), onPresent (leave it),
    //  onAtBottom, onRetry, onDiscard, onEdit, onDelete, onReact, onActionDone,
    //  onReply(room, message), onOpenThread(room, root)}
    this.#handlers = handlers;
    watchLongPress(list, (node) => this.#openSheet(node));
    scroller.addEventListener('scroll', () => this.#onScroll(), { passive: true });
    marker.addEventListener('click', () => {
      if (this.#hasNewer) this.#handlers.onPresent();
      else this.scrollToBottom();
    });
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
    this.#rows = [];
    this.#echoed.clear();
    this.#tail = [];
    this.#pendingCache.clear();
    this.#list.replaceChildren();
    this.#marker.hidden = true;
    this.#status.textContent = '';
    this.#status.dataset.state = '';
  }

  /**
   * Show a room. `room` is the store's room (or a stand-in with `left: true` for a room the
   * user is no longer in); `pending` its outbox entries; `me` the user; `note` what pending
   * messages say while sending waits (null: "Pending"); `revised` the messages edited or
   * deleted since the last render (their rows are made again).
   */
  render(room, pending, me, note = null, revised = []) {
    const readOnly = Boolean(room.preview);
    // Joining a room looked into draws it anew: its rows get their actions.
    const switching = room.name !== this.#roomKey || me !== this.#me || readOnly !== this.#readOnly;
    if (switching) {
      this.clear();
      this.#roomKey = room.name;
      this.#me = me;
      this.#stick = true;
      this.#readOnly = readOnly;
    }
    this.#list.toggleAttribute('data-read-only', readOnly);
    // Around a message (jump.js): the view does not follow an end it does not show.
    const wasNewer = this.#hasNewer;
    this.#hasNewer = Boolean(room.hasNewer);
    if (this.#hasNewer) this.#stick = false;
    else if (wasNewer) this.#marker.hidden = true; // it reached the end: the room as usual
    this.#marker.textContent = this.#hasNewer ? 'Newest messages ↓' : 'New messages ↓';
    this.#canRetry = !room.left;
    this.#dm = room.kind === 'dm';
    // Delete on others' messages shows while the user moderates the room (actions.js).
    const moderator = !room.left && !this.#dm && (room.role === 'owner' || room.role === 'admin');
    this.#list.toggleAttribute('data-moderator', moderator);
    const plan = planUpdate(this.#rows, room.events);
    // Rows (or the status line) changing above the view would move it: hold it on a row.
    const anchor = this.#stick ? null : this.#anchor();
    if (plan) this.#update(room.events, plan);
    else this.#redraw(room.events);
    this.#revise(revised);
    const items = pendingItems(
      pending.filter((entry) => !this.#echoed.has(entry.cid)),
      this.#rows.length ? rowOf(this.#rows.at(-1).event) : null,
      me,
    );
    this.#drawTail(items);
    this.#renderStatus(room);
    this.#showWaiting(items, note);

    const lastKey = (this.#tail.at(-1) ?? this.#rows.at(-1)?.node)?.dataset.key ?? null;
    const grew = !switching && lastKey !== this.#lastKey && lastKey !== null;
    this.#lastKey = lastKey;
    if (this.#stick) {
      this.#scroller.scrollTop = this.#scroller.scrollHeight;
    } else {
      if (anchor) this.#restore(anchor);
      if (grew || this.#hasNewer) this.#marker.hidden = false;
    }
    // Too little to scroll: fetch older history until the view is full (or there is none).
    if (this.#hasOlder && this.#scroller.scrollHeight <= this.#scroller.clientHeight + 1) {
      this.#handlers.onNearTop();
    }
    if (this.#hasNewer && this.#scroller.scrollHeight <= this.#scroller.clientHeight + 1) {
      this.#handlers.onNearBottom();
    }
  }

  /** Bring the message `seq` into view and mark it for a moment: its event, null if not shown. */
  reveal(seq) {
    const row = this.#rowAt(seq);
    if (!row) return null;
    this.#stick = false;
    row.node.scrollIntoView({ block: 'center' });
    flash(row.node);
    return row.event;
  }

  /** Edit the user's newest message shown (Up arrow in an empty composer); false: none. */
  editLast() {
    for (let i = this.#rows.length - 1; i >= 0; i -= 1) {
      const { event } = this.#rows[i];
      if (event.type === 'message' && event.user === this.#me && !event.deleted) {
        this.#edit(event.seq);
        return true;
      }
    }
    return false;
  }

  // --- a message's own actions ---------------------------------------------------------

  /** The row of `seq` as it is now (rows are remade when their message changes). */
  #rowAt(seq) {
    const row = this.#rows[seqIndex(this.#rows, seq)];
    return row?.seq === seq ? row : null;
  }

  #edit(seq) {
    const row = this.#rowAt(seq);
    if (!row) return;
    const room = this.#roomKey;
    row.node.scrollIntoView({ block: 'nearest' });
    openEditor(row.node, row.event.body ?? '', {
      save: (body) => this.#handlers.onEdit(room, seq, body),
      done: () => this.#handlers.onActionDone(),
    });
  }

  #delete(seq) {
    const row = this.#rowAt(seq);
    if (!row) return;
    const room = this.#roomKey;
    confirmDelete(row.node, {
      remove: () => this.#handlers.onDelete(room, seq),
      done: (deleted) => {
        if (deleted) this.#handlers.onActionDone();
        else this.#rowAt(seq)?.node.querySelector('.msg-action.delete')?.focus();
      },
    });
  }

  /** The action buttons of a stored message (actions.js decides which it offers). */
  #actions(message) {
    if (this.#readOnly) return null;
    const actions = actionsFor(message, { me: this.#me, dm: this.#dm });
    return actionButtons(actions, (name, button) => this.#run(name, message.seq, button));
  }

  /** Do the action `name` of actions.js on the message `seq`; `from` is what asked. */
  #run(name, seq, from) {
    if (name === 'react') this.#pickReaction(seq, from);
    else if (name === 'edit') this.#edit(seq);
    else if (name === 'delete') this.#delete(seq);
    else if (name === 'reply') this.#reply(seq);
    else if (name === 'thread') this.#openThread(seq);
  }

  // --- replies and threads (threads.js) ------------------------------------------------

  /** Answer the message `seq`: the composer shows its quote. */
  #reply(seq) {
    const row = this.#rowAt(seq);
    if (row) this.#handlers.onReply(this.#roomKey, row.event);
  }

  /** Open the thread the message `seq` is in (it is its root, or one of its replies). */
  #openThread(seq) {
    if (this.#readOnly) return; // its panel would offer to reply
    const row = this.#rowAt(seq);
    if (row) this.#handlers.onOpenThread(this.#roomKey, row.event.thread ?? row.event.seq);
  }

  /** The quote of a reply (stored or pending); a click shows the parent, or else its thread. */
  #quote(message) {
    if (!message?.quote || message.deleted) return null;
    const room = this.#roomKey;
    // A parent of files only is quoted by its files, where its row is held (threads.js).
    const files = this.#parentOf(message)?.files ?? message.quote.files;
    return quoteNode(
      message.quote,
      () => {
        const parent = room === this.#roomKey ? this.#rowAt(message.reply_to) : null;
        if (parent) {
          parent.node.scrollIntoView({ block: 'center' });
          flash(parent.node);
        } else this.#handlers.onOpenThread(room, message.thread ?? message.reply_to);
      },
      files,
    );
  }

  /** The message `message` replies to, if it is shown or being drawn above it. */
  #parentOf(message) {
    const seq = message.reply_to;
    const drawing = this.#drawing[seqIndex(this.#drawing, seq)];
    return (this.#rowAt(seq) ?? (drawing?.seq === seq ? drawing : null))?.event ?? null;
  }

  /** A long press on the row `node`: its actions as a sheet (only those the user has now). */
  #openSheet(node) {
    if (this.#readOnly) return;
    const row = this.#rowAt(Number(node.dataset.seq));
    if (!row || row.node !== node) return;
    const moderator = this.#list.hasAttribute('data-moderator');
    const actions = actionsFor(row.event, { me: this.#me, dm: this.#dm }).filter(
      (action) => moderator || !action.moderator,
    );
    openActionSheet(node, actions, (name) => this.#run(name, row.seq, null));
  }

  /** The emoji picker for the message `seq`, by `anchor` (or by the row's React button). */
  #pickReaction(seq, anchor) {
    const row = this.#rowAt(seq);
    if (!row) return;
    // From the sheet: by the row's React button if it is drawn, else by the row.
    const button = row.node.querySelector('.msg-action.react');
    anchor ??= button?.getClientRects().length ? button : row.node;
    // The row may be made again while the picker is open: the focus goes to the new one.
    const refocus = () => this.#rowAt(seq)?.node.querySelector('.reaction-add, .msg-action.react');
    openEmojiPicker(anchor, { onPick: (emoji) => this.#react(seq, emoji, true), restoreFocus: refocus });
  }

  /** Add or take back the user's reaction; a refusal is shown in the row. */
  async #react(seq, emoji, on) {
    const room = this.#roomKey;
    try {
      await this.#handlers.onReact(room, seq, emoji, on);
    } catch (err) {
      const row = room === this.#roomKey ? this.#rowAt(seq) : null;
      if (row) showError(row.node, `Could not react: ${describeReactError(err)}`);
    }
  }

  // --- rows of events ----------------------------------------------------------------

  /** Draw every event's row anew (a room opened or reset, a hole filled). */
  #redraw(events) {
    for (const row of this.#rows) this.#removeRow(row);
    this.#rows = this.#insertRows(events, null, this.#tail[0] ?? null);
  }

  /** Apply a plan of `planUpdate`: rows dropped at the top, added at the top and bottom. */
  #update(events, { drop, head, tail }) {
    for (const row of this.#rows.splice(0, drop)) this.#removeRow(row);
    if (head) {
      const first = this.#rows[0];
      const added = this.#insertRows(events.slice(0, head), null, first.day ?? first.node);
      this.#rows = added.concat(this.#rows);
    }
    // The row that was first now has a row above it, or is first now: place it again.
    if (drop || head) this.#replace(head);
    if (tail) {
      const prev = rowOf(this.#rows.at(-1).event);
      const added = this.#insertRows(events.slice(events.length - tail), prev, this.#tail[0] ?? null);
      for (const row of added) this.#rows.push(row);
    }
  }

  /**
   * Messages edited, deleted or reacted to: their rows are made again, in place; no other
   * row changes. A focused control of the row keeps the focus (its twin in the new row); a
   * row with its editor or confirmation open gets its new reactions only.
   */
  #revise(messages) {
    for (const message of messages) {
      const row = this.#rows[seqIndex(this.#rows, message.seq)];
      if (row?.seq !== message.seq) continue; // not on screen
      const node = this.#eventNode(message, row.grouped);
      if (onlyReactionsChanged(row.event, message) && row.node.querySelector('.msg-editor, .msg-confirm')) {
        const chips = node.querySelector('.reactions');
        row.node.querySelector('.reactions')?.remove();
        if (chips) (row.node.querySelector('.msg-files') ?? row.node.querySelector('.msg-body')).after(chips);
        row.event = message;
        continue;
      }
      const focused = row.node.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
      row.node.replaceWith(node);
      row.node = node;
      row.event = message;
      if (focused) node.querySelector(`[data-focus="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    }
  }

  /** Make rows for `events` placed after `prev`, inserted before `before`. */
  #insertRows(events, prev, before) {
    const rows = [];
    this.#drawing = rows;
    const fragment = document.createDocumentFragment();
    for (const event of events) {
      const { newDay, grouped } = placement(prev, rowOf(event));
      const day = newDay ? this.#dayNode(event.ts) : null;
      const node = this.#eventNode(event, grouped);
      if (day) fragment.append(day);
      fragment.append(node);
      rows.push({ seq: event.seq, event, grouped, node, day });
      if (event.user === this.#me && event.client_msg_id) this.#echoed.add(event.client_msg_id);
      prev = rowOf(event);
    }
    this.#drawing = [];
    this.#list.insertBefore(fragment, before);
    return rows;
  }

  /** Place the row at `index` again under its (new) neighbour above. */
  #replace(index) {
    const row = this.#rows[index];
    const prev = index > 0 ? rowOf(this.#rows[index - 1].event) : null;
    const { newDay, grouped } = placement(prev, rowOf(row.event));
    if (grouped !== row.grouped) {
      const node = this.#eventNode(row.event, grouped);
      row.node.replaceWith(node);
      Object.assign(row, { node, grouped });
    }
    if (newDay && !row.day) {
      row.day = this.#dayNode(row.event.ts);
      this.#list.insertBefore(row.day, row.node);
    } else if (!newDay && row.day) {
      row.day.remove();
      row.day = null;
    }
  }

  #removeRow(row) {
    row.day?.remove();
    row.node.remove();
    if (row.event.user === this.#me) this.#echoed.delete(row.event.client_msg_id);
  }

  // --- pending messages, after the rows ----------------------------------------------

  /** Make the nodes after the last row be `items`, reusing (and not moving) what stays. */
  #drawTail(items) {
    const wanted = items.map((item) => {
      const sig =
        item.kind === 'pending'
          ? `${item.grouped}|${item.entry.state}|${item.entry.error ?? ''}|${this.#canRetry}`
          : '';
      let entry = this.#pendingCache.get(item.key);
      if (!entry || entry.sig !== sig) {
        const node = item.kind === 'day' ? this.#dayNode(item.ts) : this.#pendingNode(item);
        node.dataset.key = item.key;
        if (entry?.node.isConnected) entry.node.replaceWith(node);
        entry = { node, sig };
        this.#pendingCache.set(item.key, entry);
      }
      return entry.node;
    });
    const keep = new Set(wanted);
    for (const node of this.#tail) if (!keep.has(node)) node.remove();
    const keys = new Set(items.map((item) => item.key));
    for (const key of this.#pendingCache.keys()) if (!keys.has(key)) this.#pendingCache.delete(key);
    let cursor = this.#rows.length ? this.#rows.at(-1).node.nextElementSibling : this.#list.firstElementChild;
    for (const node of wanted) {
      if (node === cursor) cursor = cursor.nextElementSibling;
      else this.#list.insertBefore(node, cursor);
    }
    this.#tail = wanted;
  }

  #renderStatus(room) {
    this.#hasOlder = room.loaded && room.hasOlder;
    let state;
    let text;
    if (room.left) {
      state = 'left';
      text = 'You are no longer in this room. Messages not sent stay here until you discard them.';
    } else if (room.preview) {
      state = 'preview';
      text = room.previewHasMore
        ? 'The newest messages of this room. Join it to read all of them and to write.'
        : 'This is the very beginning of the conversation.';
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
      const state = this.#pendingCache.get(item.key).node.querySelector('.msg-state');
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
    const nearEnd = s.scrollHeight - s.scrollTop - s.clientHeight;
    this.#stick = !this.#hasNewer && nearEnd <= BOTTOM_SLACK_PX;
    if (this.#hasNewer && nearEnd <= LOAD_OLDER_WITHIN_PX) this.#handlers.onNearBottom();
    if (this.#stick) {
      this.#marker.hidden = true;
      this.#handlers.onAtBottom();
    }
    if (s.scrollTop <= LOAD_OLDER_WITHIN_PX && this.#hasOlder) this.#handlers.onNearTop();
  }

  /** The first row visible at the top, and how far below the top edge it is. */
  #anchor() {
    const top = this.#scroller.getBoundingClientRect().top;
    const list = this.#list.getBoundingClientRect();
    // Found where it is drawn, not by walking the rows above it (a little lower if the
    // point falls between two rows).
    let node = null;
    for (let y = Math.max(top, list.top) + 1, step = 0; !node && step < 25; y += 8, step += 1) {
      node = document.elementFromPoint(list.left + list.width / 2, y)?.closest('#message-list > li');
    }
    node ??= this.#list.firstElementChild;
    // A day divider moves up when older messages of its day arrive: not an anchor.
    while (node?.classList.contains('day')) node = node.nextElementSibling;
    if (!node) return null;
    return { key: node.dataset.key, offset: node.getBoundingClientRect().top - top };
  }

  #restore({ key, offset }) {
    // Looked up again: the row may have been remade (grouped under an older neighbour).
    const node = this.#list.querySelector(`:scope > [data-key="${CSS.escape(key)}"]`);
    if (!node) return;
    const top = this.#scroller.getBoundingClientRect().top;
    const now = node.getBoundingClientRect().top - top;
    this.#scroller.scrollTop += now - offset;
  }

  // --- items -------------------------------------------------------------------------

  #dayNode(ts) {
    const node = el('li', { class: 'day', attrs: { role: 'separator' } }, el('span', { text: dayLabel(ts) }));
    node.dataset.key = `d:${dayKey(ts)}`;
    return node;
  }

  #eventNode(event, grouped) {
    const node =
      event.type === 'message'
        ? this.#message({ grouped }, event.user, event.ts, event.body, 'sent', { seq: String(event.seq) }, event)
        : this.#memberLine(event, this.#me);
    node.dataset.key = `s:${event.seq}`;
    return node;
  }

  #pendingNode(item) {
    return this.#message(item, this.#me, item.entry.ts, item.entry.body, item.entry.state, {
      cid: item.entry.cid,
    });
  }

  #memberLine(event, me) {
    // Others by their display names, changed in place (profiles.js); the user as "you".
    const who = (user, you) => (user === me ? you : authorNode(user, 'member-name'));
    const parts = lineParts(event).map((part) => {
      if (typeof part === 'string') return part;
      if (part.time !== undefined) return formatFull(part.time);
      return who(part.user, part.start ? 'You' : 'you');
    });
    return el(
      'li',
      { class: 'member-line', dataset: { seq: String(event.seq), type: event.type } },
      el('span', {}, parts),
      el('time', { dateTime: new Date(event.ts).toISOString(), title: formatFull(event.ts), text: formatTime(event.ts) }),
    );
  }

  #message(item, user, ts, body, status, data, stored = null) {
    const node = this.#messageNode(item, user, ts, body, status, data, stored);
    return stored && user !== this.#me && blocked.has(user) ? folded(node) : node;
  }

  #messageNode(item, user, ts, body, status, data, stored) {
    const time = messageTime(ts);
    // The display name and the avatar change in place (profiles.js).
    const head = item.grouped ? null : messageHead(user, time);
    return el(
      'li',
      {
        class: `${item.grouped ? 'msg grouped' : 'msg'}${mentionsMe(stored, this.#me) ? ' mentioned' : ''}`,
        dataset: { ...data, status, user },
      },
      item.grouped
        ? el('span', { class: 'msg-gutter' }, time)
        : avatarNode(user),
      el(
        'div',
        { class: 'msg-main' },
        head,
        this.#quote(stored ?? item.entry),
        messageBody(stored ?? { body }, this.#me),
        stored?.deleted ? null : fileViews((stored ?? item.entry).files),
        stored ? this.#reactions(stored) : null,
        stored ? threadSummaryNode(stored, () => this.#openThread(stored.seq)) : null,
        status === 'sent' ? null : this.#deliveryState(item.entry),
      ),
      stored ? this.#actions(stored) : null,
    );
  }

  /** The chips under a message: a click toggles the user's reaction, "+" picks another. */
  #reactions(message) {
    if (this.#readOnly) {
      // Shown as counts: reacting is for members.
      const chips = reactionChips(message, { onToggle: () => {}, onAdd: () => {} });
      chips?.querySelector('.reaction-add')?.remove();
      for (const chip of chips?.querySelectorAll('button') ?? []) chip.disabled = true;
      return chips;
    }
    return reactionChips(message, {
      onToggle: (emoji, on) => this.#react(message.seq, emoji, on),
      onAdd: (button) => this.#pickReaction(message.seq, button),
    });
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

/** A blocked user's message, folded behind "Show": its parts stay hidden until asked for. */
function folded(node) {
  const parts = [...node.children];
  for (const part of parts) part.hidden = true;
  node.classList.add('blocked');
  const note = el(
    'div',
    { class: 'blocked-note' },
    el('span', { text: 'Message from a blocked user — ' }),
    el('button', {
      type: 'button',
      class: 'link show-blocked',
      text: 'Show',
      on: {
        click: () => {
          note.remove();
          for (const part of parts) part.hidden = false;
          node.classList.remove('blocked');
        },
      },
    }),
  );
  node.prepend(note);
  return node;
}
