// Replies and threads: a reply's quote of its parent, a root's "N replies" line, the quote
// above the composer while replying, and the thread panel.
//
// The panel shows one thread: its root on top, then its replies, oldest first, paged with
// the `thread` request ("Load older replies" asks for those before the oldest held). Replies
// that arrive while it is open are added as they come (the store announces what arrived),
// and edits and deletes change them as in the room (store.js `foldConversation`). Its own
// box sends replies to the root. On a narrow screen it covers the page.
//
// Everything a user wrote is shown as Text nodes or through markdown.js, never as HTML.

import { el, reconcile } from './dom.js';
import { fileViews, filesLabel } from './file_views.js';
import { dayKey, formatFull, formatTime, isGuest } from './format.js';
import { MAX_BODY_CHARS, bodyOf, charCount, isBlank } from './limits.js';
import { parse as parseMarkdown, render as renderMarkdown } from './markdown.js';
import { MentionAutocomplete, mentionsMe } from './mentions.js';
import { authorNode, avatarNode } from './profiles.js';
import { seqIndex } from './rows.js';
import { foldConversation, quoteBody } from './store.js';

const THREAD_PAGE = 50;
const CHANGES = new Set(['message_edited', 'message_deleted']);
const BOTTOM_SLACK_PX = 48;

// --- pieces of rows ---------------------------------------------------------------------

/**
 * The first line of a quote's text, as a reply shows its parent: what it reads as, without
 * its formatting marks ("**ship** it" is "ship it"), as plain text. A parent of files only
 * has no text (the server quotes its body, ""): its files stand for it, "📎 name.png" when
 * `files` (the parent's, where the page holds it) are known.
 */
export function quoteLine(quote, files = quote?.files) {
  if (!quote) return '';
  if (quote.deleted) return 'Message deleted';
  const line = (quote.body ?? '').split('\n').find((text) => text.trim()) ?? '';
  const text = plainText(parseMarkdown(line)).trim() || line;
  return text || `📎 ${filesLabel(files) || 'Attachment'}`;
}

/** The words of a markdown.js tree, without its marks. */
function plainText(nodes) {
  let text = '';
  for (const node of nodes) {
    if (node.type === 'mention') text += `@${node.name}`;
    else if (typeof node.text === 'string') text += node.text;
    if (node.children) text += plainText(node.children);
    for (const entry of node.items ?? []) {
      text += plainText(entry.children);
      if (entry.list) text += ` ${plainText([entry.list])}`;
    }
  }
  return text;
}

/**
 * What a reply's row shows above its body: its parent's author (display name, kept up to
 * date) and first line; `files` are the parent's, when the page holds it (`quoteLine`).
 */
export function quoteNode(quote, onClick, files = quote.files) {
  const deleted = Boolean(quote.deleted);
  return el(
    'button',
    {
      type: 'button',
      class: deleted ? 'msg-quote deleted' : 'msg-quote',
      title: deleted ? 'The message replied to was deleted' : 'Show the message replied to',
      on: { click: onClick },
    },
    // Named by its text ("Reply to Alice 📎 cat.png"): a new display name is heard as seen.
    el('span', { class: 'visually-hidden', text: 'Reply to ' }),
    authorNode(quote.user ?? '', 'quote-author'),
    el('span', { class: 'quote-body', text: quoteLine(quote, files) }),
  );
}

/** A message's time, its full date on hover. */
export function messageTime(ts) {
  return el('time', {
    class: 'msg-time',
    dateTime: new Date(ts).toISOString(),
    title: formatFull(ts),
    text: formatTime(ts),
  });
}

/** A message's head: its author's display name (profiles.js), a guest's tag, and `time`. */
export function messageHead(user, time) {
  return el(
    'div',
    { class: 'msg-head' },
    authorNode(user),
    isGuest(user) ? el('span', { class: 'guest-tag', text: 'guest' }) : null,
    time,
  );
}

/**
 * A message's body (a stored one, or a pending one: {body}) formatted, with "(edited)", or
 * "Message deleted".
 */
export function messageBody(message, me) {
  if (message.deleted) return el('div', { class: 'msg-body deleted', text: 'Message deleted' });
  return el(
    'div',
    { class: 'msg-body' },
    renderMarkdown(message.body ?? '', { me, fold: true }),
    message.edited_at
      ? el('span', { class: 'msg-edited', title: formatFull(message.edited_at), text: ' (edited)' })
      : null,
  );
}

/** "3 replies · last reply 10:42" of a root, or "" when it has none. */
export function threadSummaryText(message, now = Date.now()) {
  const count = message.replies ?? 0;
  if (count <= 0) return '';
  const replies = `${count} ${count === 1 ? 'reply' : 'replies'}`;
  if (!message.last_reply_at) return replies;
  const at = message.last_reply_at;
  const when = dayKey(at) === dayKey(now) ? formatTime(at) : formatFull(at);
  return `${replies} · last reply ${when}`;
}

/** The line under a root that opens its thread; null when it has no replies. */
export function threadSummaryNode(message, onOpen) {
  const text = threadSummaryText(message);
  if (!text) return null;
  return el('button', { type: 'button', class: 'thread-summary', text, on: { click: onOpen } });
}

/**
 * What the outbox keeps of a reply to `parent`, so that it can be sent (and shown) again.
 * The quote of a parent of files only names its files (at most 10 names: a message's bound).
 */
export function replyTo(parent) {
  const body = quoteBody(parent.body);
  const files = body.trim() ? [] : (parent.files ?? []).map((file) => ({ name: file.name }));
  return {
    reply_to: parent.seq,
    thread: parent.thread ?? parent.seq,
    quote: { user: parent.user, body, ...(files.length ? { files } : {}) },
  };
}

// --- a thread's messages (no DOM) -------------------------------------------------------

/** The messages of one thread held by the panel: the root and its replies, by seq. */
export class ThreadState {
  constructor(room, root) {
    this.room = room;
    this.root = root;
    this.events = [];
    this.hasMore = false;
    this.whole = false; // every reply is held (taken from the room): none to page in
    this.loaded = false;
    this.loading = false;
    this.error = '';
  }

  get rootMessage() {
    return this.events[0]?.seq === this.root ? this.events[0] : null;
  }

  get replies() {
    return this.events.filter((event) => event.seq !== this.root);
  }

  #insert(messages) {
    const held = new Set(this.events.map((event) => event.seq));
    const fresh = messages.filter((m) => !held.has(m.seq) && (held.add(m.seq), true));
    if (fresh.length) {
      this.events.push(...fresh);
      this.events.sort((a, b) => a.seq - b.seq);
    }
    return fresh;
  }

  /** A `thread` reply: the root as it is now, and a page of replies (they stand as now). */
  addPage(page) {
    this.#insert([page.root, ...page.events]);
    this.hasMore = page.has_more;
    this.loaded = true;
  }

  /**
   * Events of the room as the store took them, the newest it held before being `after`;
   * true when the thread changed. Only what is newer than that is news: an older page of
   * the room's history brings nothing the thread does not page in itself.
   */
  accept(events, after = 0) {
    const news = events.filter((event) => event.seq > after);
    const messages = news.filter(
      (event) => event.type === 'message' && (event.seq === this.root || event.thread === this.root),
    );
    const fresh = this.#insert(messages);
    const freshSeqs = new Set(fresh.map((event) => event.seq));
    const folded = news.filter((event) => freshSeqs.has(event.seq) || CHANGES.has(event.type));
    const changed = foldConversation(this.events, folded, after);
    return fresh.length > 0 || changed.size > 0;
  }

  /** The seq of the oldest reply held: where the next older page ends. */
  get oldestReply() {
    return this.events.find((event) => event.seq !== this.root)?.seq ?? null;
  }
}

// --- the panel ---------------------------------------------------------------------------

export class ThreadPanel {
  #me;
  #store;
  #chat;
  #outbox;
  #members;
  #onChange;
  #onProfile;
  #panel;
  #scroller;
  #list;
  #title;
  #status;
  #form;
  #input;
  #send;
  #autocomplete;
  #cache = new Map();
  #state = null;
  #stick = true;

  /**
   * `members(room)` gives the names of a room's members (for the `@` list); `onChange()` is
   * called when the panel opens or closes; `onProfile(user)`, if given, opens a profile (a
   * click on a name or an avatar, as in the timeline).
   */
  constructor({ me, store, chat, outbox, members, onChange, onProfile = null }) {
    this.#me = me;
    this.#store = store;
    this.#chat = chat;
    this.#outbox = outbox;
    this.#members = members;
    this.#onChange = onChange;
    this.#onProfile = onProfile;
    this.#panel = document.getElementById('thread-panel');
    this.#scroller = document.getElementById('thread-scroll');
    this.#list = document.getElementById('thread-list');
    this.#title = document.getElementById('thread-room');
    this.#status = document.getElementById('thread-status');
    this.#form = document.getElementById('thread-composer');
    this.#input = document.getElementById('thread-input');
    this.#send = document.getElementById('thread-send');
    this.#autocomplete = new MentionAutocomplete(this.#input, {
      me,
      members: () => (this.#state ? this.#members(this.#state.room) : []),
      allowRoom: () => this.#store.room(this.#state?.room)?.kind !== 'dm',
    });
    document.getElementById('thread-close').addEventListener('click', () => this.close());
    this.#list.toggleAttribute('data-profiles', Boolean(onProfile));
    this.#list.addEventListener('click', (event) => {
      const who = event.target.closest('.msg-author[data-profile], .avatar[data-profile]');
      if (who && this.#onProfile) this.#onProfile(who.dataset.profile);
    });
    this.#panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !event.defaultPrevented) {
        event.preventDefault();
        this.close();
      }
    });
    this.#input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#submit();
      }
    });
    this.#input.addEventListener('input', () => {
      this.#updateSend();
      if (this.#state && !isBlank(this.#input.value)) this.#chat.typing(this.#state.room);
    });
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    });
    this.#scroller.addEventListener('scroll', () => {
      const s = this.#scroller;
      this.#stick = s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK_PX;
    });
    store.addEventListener('added', (event) => {
      const { room, events, after } = event.detail;
      if (this.#state?.room === room && this.#state.accept(events, after)) this.render();
    });
    chat.addEventListener('status', () => {
      // Opened while offline: load it once the connection is back.
      if (this.#state && !this.#state.loaded && chat.synced) this.#load();
    });
  }

  /** {room, root} of the thread shown, or null. */
  get current() {
    return this.#state ? { room: this.#state.room, root: this.#state.root } : null;
  }

  open(room, root) {
    if (this.#state?.room !== room || this.#state?.root !== root) {
      this.#state = new ThreadState(room, root);
      this.#seed();
      this.#cache.clear();
      this.#list.replaceChildren();
      this.#input.value = '';
      this.#stick = true;
      this.#load();
    }
    this.#panel.hidden = false;
    this.#onChange();
    this.render();
    this.#input.focus();
  }

  close() {
    if (!this.#state) return;
    this.#state = null;
    this.#autocomplete.close();
    this.#panel.hidden = true;
    this.#list.replaceChildren();
    this.#cache.clear();
    this.#onChange();
  }

  /**
   * Show at once what the room holds of the thread. The room holds its events without a
   * hole up to the newest: with the root, it holds every reply, and nothing older is paged.
   */
  #seed() {
    const state = this.#state;
    const events = this.#store.room(state.room)?.events ?? [];
    const index = seqIndex(events, state.root);
    if (events[index]?.seq !== state.root) return;
    state.events = events
      .slice(index)
      .filter((e) => e.type === 'message' && (e.seq === state.root || e.thread === state.root));
    state.whole = true;
  }

  async #load(older = false) {
    const state = this.#state;
    if (!state || state.loading || !this.#chat.synced) return;
    state.loading = true;
    state.error = '';
    this.render();
    const before = older ? state.oldestReply : null;
    const height = this.#scroller.scrollHeight - this.#scroller.scrollTop;
    try {
      const page = await this.#chat.thread(state.room, state.root, before, THREAD_PAGE);
      if (older) state.addPage(page);
      else {
        // The newest page: replies held from the room stay, the root is the page's (as now).
        state.events = state.events.filter((e) => e.seq !== state.root);
        state.addPage(page);
        if (state.whole) state.hasMore = false;
      }
    } catch (err) {
      state.error =
        err.code === 'not_found'
          ? 'This thread is not available.'
          : `Could not load the thread: ${err.message || 'failed'}`;
    } finally {
      state.loading = false;
    }
    if (this.#state !== state) return;
    this.render();
    if (older) this.#scroller.scrollTop = this.#scroller.scrollHeight - height;
  }

  #submit() {
    const state = this.#state;
    const root = state?.rootMessage;
    const body = bodyOf(this.#input.value);
    if (!state || !root || root.deleted || isBlank(body) || charCount(body) > MAX_BODY_CHARS) return;
    if (!this.#store.room(state.room)) return;
    this.#chat.stoppedTyping(state.room);
    this.#chat.send(state.room, body, replyTo(root));
    this.#input.value = '';
    this.#stick = true;
    this.#updateSend();
    this.#input.focus();
  }

  #updateSend() {
    const state = this.#state;
    const body = bodyOf(this.#input.value);
    const member = Boolean(state && this.#store.room(state.room));
    const root = state?.rootMessage;
    this.#input.disabled = !member;
    const sendable = root && !root.deleted && !isBlank(body) && charCount(body) <= MAX_BODY_CHARS;
    this.#send.disabled = !member || !sendable;
  }

  /** Draw the thread as it stands (cheap when nothing changed: rows are reused). */
  render() {
    const state = this.#state;
    if (!state) return;
    const room = this.#store.room(state.room);
    const kind = room?.kind ?? 'public';
    this.#title.textContent = kind === 'dm' ? '' : `#${state.room}`;
    const root = state.rootMessage;
    const replies = state.replies;
    const echoed = new Set(replies.filter((e) => e.user === this.#me).map((e) => e.client_msg_id));
    const pending = this.#outbox
      .forRoom(state.room)
      .filter((entry) => entry.thread === state.root && !echoed.has(entry.cid));
    const items = [];
    if (root) items.push({ key: `r:${root.seq}`, kind: 'root', message: root });
    if (root) items.push({ key: 'count', kind: 'count', count: root.replies ?? replies.length });
    if (state.hasMore) items.push({ key: 'more', kind: 'more', loading: state.loading });
    for (const message of replies) items.push({ key: `s:${message.seq}`, kind: 'reply', message });
    for (const entry of pending) items.push({ key: `p:${entry.cid}`, kind: 'pending', entry });
    reconcile(
      this.#list,
      items,
      { key: (item) => item.key, signature: signatureOf, build: (item) => this.#build(item) },
      this.#cache,
    );
    let status = '';
    if (state.error) status = state.error;
    else if (!state.loaded && !root) status = 'Loading the thread…';
    this.#status.textContent = status;
    this.#status.hidden = !status;
    this.#input.placeholder = root?.deleted ? 'The message of this thread was deleted' : 'Reply…';
    this.#updateSend();
    if (this.#stick) this.#scroller.scrollTop = this.#scroller.scrollHeight;
  }

  #build(item) {
    if (item.kind === 'count') {
      const n = item.count;
      const text = n === 1 ? '1 reply' : `${n} replies`;
      return el('li', { class: 'thread-count', attrs: { role: 'separator' } }, el('span', { text }));
    }
    if (item.kind === 'more') {
      return el(
        'li',
        { class: 'thread-more' },
        el('button', {
          type: 'button',
          class: 'link',
          text: item.loading ? 'Loading…' : 'Load older replies',
          disabled: item.loading,
          on: { click: () => this.#load(true) },
        }),
      );
    }
    if (item.kind === 'pending') return this.#pendingRow(item.entry);
    return this.#messageRow(item.message, item.kind === 'root');
  }

  #messageRow(message, isRoot) {
    const state = this.#state;
    const classes = ['msg', 'thread-msg'];
    if (isRoot) classes.push('thread-root');
    if (mentionsMe(message, this.#me)) classes.push('mentioned');
    const quote =
      !isRoot && message.quote && message.reply_to !== state.root && !message.deleted
        ? quoteNode(message.quote, () => this.#show(message.reply_to), this.#parentFiles(message))
        : null;
    return el(
      'li',
      { class: classes.join(' '), dataset: { seq: String(message.seq), user: message.user, status: 'sent' } },
      avatarNode(message.user),
      el(
        'div',
        { class: 'msg-main' },
        messageHead(message.user, messageTime(message.ts)),
        quote,
        messageBody(message, this.#me),
        message.deleted ? null : fileViews(message.files),
      ),
    );
  }

  /** The files of the message `message` replies to, where the thread holds it. */
  #parentFiles(message) {
    const events = this.#state?.events ?? [];
    const parent = events[seqIndex(events, message.reply_to)];
    return parent?.seq === message.reply_to ? parent.files : message.quote.files;
  }

  #pendingRow(entry) {
    const failed = entry.state === 'failed';
    return el(
      'li',
      { class: 'msg thread-msg', dataset: { cid: entry.cid, user: this.#me, status: entry.state } },
      avatarNode(this.#me),
      el(
        'div',
        { class: 'msg-main' },
        messageHead(this.#me, messageTime(entry.ts)),
        messageBody(entry, this.#me),
        fileViews(entry.files),
        failed
          ? el(
              'div',
              { class: 'msg-state failed', attrs: { role: 'status' } },
              el('span', { text: `Not sent — ${entry.error || 'failed'}.` }),
              linkButton('retry', 'Retry', () => this.#chat.retry(entry.cid)),
              linkButton('discard', 'Discard', () => this.#chat.discard(entry.cid)),
            )
          : el('div', { class: 'msg-state pending', text: 'Pending' }),
      ),
    );
  }

  /** Bring a message of the thread into view and mark it for a moment. */
  #show(seq) {
    const node = this.#list.querySelector(`[data-seq="${seq}"]`);
    if (!node) return;
    node.scrollIntoView({ block: 'center', behavior: 'smooth' });
    flash(node);
  }
}

/** What decides whether a row of the panel is drawn again. */
function signatureOf(item) {
  if (item.kind === 'count') return String(item.count);
  if (item.kind === 'more') return String(item.loading);
  if (item.kind === 'pending') return `${item.entry.state}|${item.entry.error ?? ''}`;
  const m = item.message;
  const quote = m.quote ? `${m.quote.body}|${m.quote.deleted}` : '';
  // Names and avatars are not in it: they change in place (profiles.js).
  const files = m.files?.length ?? 0;
  return [m.body, m.edited_at, m.deleted, quote, m.mentions?.join(), m.room_mention, files].join('|');
}

function linkButton(name, text, click) {
  return el('button', { type: 'button', class: `link ${name}`, text, on: { click } });
}

/** Mark a row for a moment (it was scrolled to from a quote). */
export function flash(node) {
  node.classList.remove('flash');
  void node.offsetWidth; // restart the animation
  node.classList.add('flash');
  setTimeout(() => node.classList.remove('flash'), 1600);
}
