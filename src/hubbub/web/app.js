// The signed-in page: wires the connection, state, outbox and views together, routes
// `#/room/<name>` to the room on screen, and redraws after every change.

import { offerAdminPage } from './admin_page.js';
import { Banner } from './banner.js';
import { blocked } from './blocks.js';
import { Chat } from './chat.js';
import { Composer } from './composer.js';
import { Connection } from './connection.js';
import { Dialogs } from './dialogs.js';
import { MemberPanel } from './member_panel.js';
import { ProfileDialog } from './profile_dialog.js';
import { profiles } from './profiles.js';
import { byId } from './dom.js';
import { dmPeer, roomLabel } from './format.js';
import { IdleWatch } from './idle.js';
import { InvitationList } from './invitations.js';
import { Jumps } from './jump.js';
import { MentionAutocomplete } from './mentions.js';
import { Mutes } from './moderation.js';
import { Notifier } from './notify.js';
import { Outbox } from './outbox.js';
import { RoomPreview } from './preview.js';
import { RoomNotice } from './room_notice.js';
import { RoomSettings } from './room_settings.js';
import { SearchBox } from './search.js';
import { Sidebar, roomHref } from './sidebar.js';
import { Store, kindOf } from './store.js';
import { ThreadPanel, replyTo } from './threads.js';
import { Timeline } from './timeline.js';

const TYPING_SHOWN_MS = 5000;

function roomFromHash() {
  const match = /^#\/room\/(.+)$/.exec(location.hash);
  if (!match) return null;
  let name;
  try {
    name = decodeURIComponent(match[1]).toLowerCase();
  } catch {
    return null;
  }
  // A DM room has one name whatever order its two users are written in.
  const dm = /^dm:([^:]+):([^:]+)$/.exec(name);
  return dm ? `dm:${[dm[1], dm[2]].sort().join(':')}` : name;
}

// localStorage may be unavailable (privacy settings); remembering is only a convenience.
function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not remembered
  }
}

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export class App {
  #me;
  #conn;
  #store;
  #outbox;
  #chat;
  #sidebar = new Sidebar();
  #memberPanel;
  #profileDialog;
  #timeline;
  #composer;
  #banner;
  #view = byId('app-view');
  #renderQueued = false;
  #typingTimer = null;
  #waitTick = null;
  #members = new Map(); // room -> member count, for the header
  #memberNames = new Map(); // room -> the members' names, for the `@` list
  #threads;
  #notifier;
  #leaveArmed = null;
  #preview; // a room the user is not in, opened from a link
  #jumps; // a room shown around a message (a search result), not from its end
  #mutes = new Mutes(); // who is muted where (the user too), from events and member lists
  #roomSettings;
  #roomNotice; // muted, kicked or banned: said where the message box was

  constructor(me, { onSignOut }) {
    this.#me = me;
    this.#store = new Store(me);
    this.#outbox = new Outbox(me);
    this.#conn = new Connection();
    this.#chat = new Chat({ me, conn: this.#conn, store: this.#store, outbox: this.#outbox });
    new IdleWatch((away) => this.#chat.setAway(away)); // five minutes without input: away
    this.#restoreRoomList();
    this.#jumps = new Jumps({ chat: this.#chat, store: this.#store, me, onChange: () => this.#queueRender() });

    this.#timeline = new Timeline(
      {
        scroller: byId('messages'),
        list: byId('message-list'),
        marker: byId('new-messages'),
        status: byId('history-status'),
      },
      {
        onNearTop: () => {
          const active = this.#chat.active;
          if (active && this.#jumps.shown(active)) this.#jumps.older(active);
          else if (active) this.#chat.loadOlder(active);
        },
        onNearBottom: () => this.#chat.active && this.#jumps.newer(this.#chat.active),
        onPresent: () => {
          this.#jumps.leave();
          this.#renderNow();
          this.#timeline.scrollToBottom();
        },
        onAtBottom: () => this.#queueRender(),
        onRetry: (cid) => this.#chat.retry(cid),
        onDiscard: (cid) => this.#chat.discard(cid),
        onEdit: (room, seq, body) => this.#chat.edit(room, seq, body),
        onDelete: (room, seq) => this.#chat.delete(room, seq),
        onReact: (room, seq, emoji, on) => this.#chat.react(room, seq, emoji, on),
        onActionDone: () => this.#composer.focus(),
        onReply: (room, message) => {
          this.#composer.setReply(room, replyTo(message));
          this.#composer.focus();
        },
        onOpenThread: (room, root) => this.#threads.open(room, root),
      },
    );
    this.#composer = new Composer({
      onSend: (room, body, reply, files) => {
        this.#chat.stoppedTyping(room);
        this.#jumps.leave(); // what is sent shows at the room's end
        this.#timeline.scrollToBottom();
        this.#chat.send(room, body, reply, files);
      },
      onTyping: (room) => this.#chat.typing(room),
      onEditLast: () => this.#timeline.editLast(),
    });
    const membersOf = (room) => this.#memberNames.get(room) ?? [];
    new MentionAutocomplete(byId('composer-input'), {
      me,
      members: () => membersOf(this.#chat.active),
      allowRoom: () => this.#store.room(this.#chat.active)?.kind !== 'dm',
    });
    this.#threads = new ThreadPanel({
      me,
      store: this.#store,
      chat: this.#chat,
      outbox: this.#outbox,
      members: membersOf,
      onProfile: (user) => this.#profileDialog.open(user),
      onChange: () => {
        this.#view.dataset.thread = this.#threads.current ? 'open' : '';
        if (!this.#threads.current) this.#composer.focus();
      },
    });
    this.#notifier = new Notifier({
      me,
      store: this.#store,
      chat: this.#chat,
      navigate: (room) => this.navigate(room),
      onChange: () => this.#queueRender(),
    });
    this.#banner = new Banner(this.#conn, this.#chat);
    profiles.attach(this.#chat);
    profiles.addEventListener('change', () => this.#queueRender()); // DM names in the list
    this.#profileDialog = new ProfileDialog({
      me,
      chat: this.#chat,
      store: this.#store,
      navigate: (room) => this.navigate(room),
    });
    this.#memberPanel = new MemberPanel({
      chat: this.#chat,
      store: this.#store,
      onProfile: (user) => this.#profileDialog.open(user),
      onChange: (open) => {
        this.#view.dataset.members = open ? 'open' : '';
      },
    });
    // A name or an avatar in a message opens its profile (the member list is the keyboard's way).
    byId('message-list').addEventListener('click', (event) => {
      const who = event.target.closest('.msg-author[data-profile], .avatar[data-profile]');
      if (who) this.#profileDialog.open(who.dataset.profile);
    });
    new Dialogs({
      chat: this.#chat,
      navigate: (room) => this.navigate(room),
      activeRoom: () => this.#chat.active,
    });
    this.#roomSettings = new RoomSettings({ me, chat: this.#chat, store: this.#store, mutes: this.#mutes });
    this.#roomNotice = new RoomNotice({
      me,
      mutes: this.#mutes,
      onClose: (room) => this.#closeRemoved(room),
      onChange: () => this.#queueRender(),
    });
    this.#store.addEventListener('added', ({ detail }) => {
      if (this.#mutes.learnEvents(detail.room, detail.events)) this.#queueRender();
    });
    this.#chat.addEventListener('members', ({ detail }) => {
      if (this.#mutes.learnList(detail.room, detail.users, detail.muted, detail.seq)) this.#queueRender();
    });
    // A room the user was kicked or banned from stays in the list until closed there.
    byId('room-list').addEventListener('click', (event) => {
      const close = event.target.closest('.room-close[data-room]');
      if (!close) return;
      event.preventDefault();
      this.#closeRemoved(close.dataset.room);
    });
    this.#preview = new RoomPreview({
      me,
      chat: this.#chat,
      onChange: () => this.#queueRender(),
      onJoined: (room) => {
        this.#loadMembers(room);
        this.#queueRender();
        this.#composer.focus();
      },
    });
    new SearchBox({
      navigate: (room, seq) => {
        this.navigate(room);
        if (seq) this.#jumps.open(room, seq);
      },
      me: () => me,
      before: document.querySelector('.room-nav'),
    });

    byId('me-name').textContent = me;
    byId('me-name').addEventListener('click', () => this.#profileDialog.open(me));
    byId('sign-out').addEventListener('click', () => onSignOut());
    offerAdminPage(document.querySelector('.sidebar-actions')); // server admins only
    byId('leave-room').addEventListener('click', () => this.#leave());
    this.#store.addEventListener('change', (event) => this.#onStoreChange(event.detail));
    this.#outbox.addEventListener('change', () => this.#queueRender());
    this.#chat.addEventListener('status', () => {
      if (this.#chat.synced && this.#chat.active) this.#loadMembers(this.#chat.active);
      if (this.#chat.synced) this.#chat.blocks().then((users) => blocked.set(users), () => {});
      this.#queueRender();
    });
    new InvitationList({ chat: this.#chat, store: this.#store, onChange: () => this.#queueRender() });
    // Blocking or unblocking folds or unfolds messages already shown: draw them anew.
    blocked.addEventListener('change', () => {
      this.#timeline.clear();
      this.#queueRender();
    });
    this.#chat.addEventListener('sending', () => this.#queueRender());
    this.#chat.addEventListener('left', (event) => {
      // A room holding messages not sent stays on screen: they are shown there.
      if (event.detail === this.#chat.active && !this.#outbox.forRoom(event.detail).length) {
        this.navigate(null);
      }
    });
    this.#conn.addEventListener('unauthenticated', () => onSignOut('expired'));
    window.addEventListener('hashchange', () => this.#select(roomFromHash()));
    document.addEventListener('visibilitychange', () => this.#queueRender());
  }

  /** `landing`: the room a new account opens in (its first default room), on any screen. */
  start(landing = null) {
    this.#view.hidden = false;
    let room = roomFromHash();
    if (!room && landing) {
      room = landing;
      history.replaceState(null, '', roomHref(room));
    } else if (!room) {
      room = recall(`hubbub:last-room:${this.#me}`);
      // On a phone the list of rooms comes first; on a wide screen, the last room.
      if (room && matchMedia('(min-width: 721px)').matches) {
        history.replaceState(null, '', roomHref(room));
      } else room = null;
    }
    this.#select(room);
    this.#conn.start();
  }

  stop() {
    this.#conn.stop();
    this.#banner.stop();
  }

  navigate(room) {
    const hash = room ? roomHref(room) : '#/';
    if (location.hash === hash) this.#select(room);
    else location.hash = hash;
  }

  #select(room) {
    this.#chat.active = room;
    this.#jumps.keepOnly(room);
    this.#memberPanel.setRoom(room);
    this.#view.dataset.pane = room ? 'room' : 'rooms';
    if (room) remember(`hubbub:last-room:${this.#me}`, room);
    const kind = room ? (this.#store.room(room)?.kind ?? kindOf(room)) : null;
    const label = room ? roomLabel(room, kind, this.#me) : '';
    const placeholder = !room ? 'Message' : kind === 'dm' ? `Message ${label}` : `Message #${label}`;
    this.#composer.setRoom(room, placeholder);
    if (this.#threads.current && this.#threads.current.room !== room) this.#threads.close();
    if (room) {
      this.#chat.ensureLoaded(room);
      this.#loadMembers(room);
    }
    this.#disarmLeave();
    this.#renderNow();
  }

  #onStoreChange({ what, room }) {
    if (what === 'rooms') this.#saveRoomList();
    if (what === 'typing') {
      // Hints expire on their own: redraw when the newest one would have.
      clearTimeout(this.#typingTimer);
      this.#typingTimer = setTimeout(() => this.#queueRender(), TYPING_SHOWN_MS + 50);
    }
    if (what === 'events' && room === this.#chat.active) {
      const r = this.#store.room(room);
      const last = r?.events.at(-1);
      if (last && last.type !== 'message') this.#loadMembers(room);
    }
    if (what === 'rooms' && this.#chat.active && !this.#store.room(this.#chat.active)?.loaded) {
      this.#chat.ensureLoaded(this.#chat.active);
    }
    this.#queueRender();
  }

  async #loadMembers(room) {
    if (!this.#chat.synced || !this.#store.room(room)) return;
    try {
      const { users: names, roles } = await this.#chat.members(room);
      this.#members.set(room, names.length);
      this.#memberNames.set(room, names);
      this.#memberPanel.setMembers(room, names, roles);
      this.#queueRender();
    } catch {
      this.#memberPanel.setMembers(room, null); // shown without a count, listed later
    }
  }

  // --- drawing -----------------------------------------------------------------------

  /** Coalesce the many changes of one burst of frames into one redraw. */
  #queueRender() {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    queueMicrotask(() => {
      this.#renderQueued = false;
      this.#renderNow();
    });
  }

  #renderNow() {
    const store = this.#store;
    const active = this.#chat.active;
    const room = active ? store.room(active) : null;
    const left = this.#leftRooms();
    const leftRoom = left.find((r) => r.name === active) ?? null;
    // A room the user is not in, opened from a link: looked into (preview.js).
    const look = active && !room && !leftRoom ? this.#preview.lookAt(active) : null;
    const jumped = room ? this.#jumps.shown(active) : null;
    const shown = jumped ?? room ?? leftRoom ?? look?.room ?? null;
    // Far history is forgotten unless it is being read (scrolled up to) in the open room.
    store.trimHistory(room && !this.#timeline.atBottom ? active : null);
    this.#sidebar.render(store, active, left, this.#notifier.muted);
    this.#renderHeader(active, room, shown);
    this.#preview.render(look?.room ?? null);
    const empty = byId('room-empty');
    if (shown) {
      empty.hidden = true;
      // Around a message, messages not sent yet are not shown: they belong at the end.
      const pending = jumped ? [] : this.#outbox.forRoom(active);
      let revised = room ? store.takeRevised(active) : [];
      if (jumped) revised = this.#jumps.takeRevised(active); // the window folds its own
      this.#timeline.render(shown, pending, this.#me, this.#waitNote(), revised);
      this.#revealJumped(active);
    } else {
      this.#timeline.clear();
      empty.hidden = false;
      const [title, text] = this.#emptyText(active, look);
      empty.querySelector('h2').textContent = title;
      empty.querySelector('p').textContent = text;
    }
    this.#renderTyping(active);
    // Only in rooms we are a member of, and not while muted there.
    const mayWrite = this.#roomNotice.render(room);
    this.#view.dataset.muted = room && !room.removed && !mayWrite ? 'yes' : ''; // no reactions either
    this.#composer.setEnabled(Boolean(room) && !room.removed && mayWrite);
    this.#notifier.render(active); // the tab's title and icon, and the header's controls
    this.#threads.render();
    this.#memberPanel.render();
    if (room && this.#timeline.atBottom && document.visibilityState === 'visible') {
      this.#chat.viewing(active);
    }
  }

  /** The message jumped to, once drawn: in view and marked; in a thread, its thread opens. */
  #revealJumped(active) {
    const seq = this.#jumps.revealIn(active);
    if (seq === null) return;
    const message = this.#timeline.reveal(seq);
    if (!message) return;
    this.#jumps.revealed();
    if (message.thread) this.#threads.open(active, message.thread);
  }

  /** Rooms the user is not in that hold messages not sent, as stand-ins for the views. */
  #leftRooms() {
    const left = new Map();
    for (const entry of this.#outbox.all()) {
      if (this.#store.room(entry.room)) continue;
      const room = left.get(entry.room) ?? {
        name: entry.room,
        kind: entry.kind ?? kindOf(entry.room),
        unsent: 0,
        left: true,
        events: [],
      };
      room.unsent += 1;
      left.set(entry.room, room);
    }
    return [...left.values()];
  }

  /** What pending messages say while sending waits, counting down; null otherwise. */
  #waitNote() {
    clearTimeout(this.#waitTick);
    const wait = this.#chat.sendWait;
    if (!wait) return null;
    const remaining = wait.until - Date.now();
    // Draw again when the whole number of seconds shown changes.
    this.#waitTick = setTimeout(() => this.#queueRender(), Math.max(50, remaining % 1000 || 1000));
    const why = wait.code === 'rate_limited' ? 'sending too fast' : 'the server is unavailable';
    return `Waiting — ${why}, retrying in ${Math.max(1, Math.ceil(remaining / 1000))} s`;
  }

  /** `look`: what is known of a room the user is not in (preview.js), if that is `active`. */
  #emptyText(active, look = null) {
    if (!active) {
      return ['Pick a room', 'Choose a room on the left, create one, browse the public rooms or message someone.'];
    }
    if (!this.#chat.synced) return ['Connecting…', 'The room appears once the connection is up.'];
    if (look?.state === 'failed') return ['Could not open the room', 'It is tried again once the connection is back.'];
    if (look?.state === 'banned') return ['You are banned from this room', `The server says: ${look.reason}.`];
    if (look?.state !== 'missing') return ['Opening the room…', ''];
    // Missing, or private and not the user's: the server does not say which, nor does this.
    return ['No such room', `There is no room named “${active}” that you can open. Check the link, or browse the public rooms.`];
  }

  #renderHeader(active, room, shown) {
    const icon = byId('room-icon');
    const name = byId('room-label');
    const sub = byId('room-sub');
    if (!active) {
      icon.hidden = true;
      name.textContent = 'hubbub';
      sub.textContent = '';
    } else if (!shown) {
      // Not known to be a room the user may see (yet): nothing is said of its kind.
      icon.hidden = true;
      name.textContent = roomLabel(active, kindOf(active), this.#me);
      sub.textContent = '';
    } else {
      const kind = shown?.kind ?? kindOf(active);
      icon.hidden = kind === 'dm';
      icon.className = `room-icon ${kind}`;
      icon.textContent = kind === 'public' ? '#' : '';
      const peer = kind === 'dm' ? dmPeer(active, this.#me) : null;
      // A DM is named by the other person's display name (their username on hover), a room
      // by its title if it has one (its name on hover).
      const titled = kind !== 'dm' ? shown?.settings?.title : '';
      name.textContent =
        peer && peer !== this.#me ? profiles.displayName(peer) : titled || roomLabel(active, kind, this.#me);
      name.title = peer && peer !== this.#me ? `@${peer}` : titled ? `#${active}` : '';
      const count = this.#members.get(active);
      const kindText = { public: 'Public room', private: 'Private room', dm: 'Direct message' }[kind];
      if (shown?.left) sub.textContent = 'You are no longer in this room';
      else if (shown?.removed) {
        const how = shown.removed.type === 'member_banned' ? 'banned from' : 'removed from';
        sub.textContent = `You were ${how} this room`;
      }
      else sub.textContent = count ? `${kindText} · ${count} member${count === 1 ? '' : 's'}` : kindText;
    }
    byId('open-invite').hidden = !room || room.kind === 'dm' || Boolean(room.removed);
    this.#memberPanel.update(room);
    this.#roomSettings.update(room);
    byId('leave-room').hidden = !room || room.kind === 'dm' || Boolean(room.removed);
  }

  #renderTyping(active) {
    const users = (active ? this.#store.typingIn(active) : []).map((user) => profiles.displayName(user));
    let text = '';
    if (users.length === 1) text = `${users[0]} is typing…`;
    else if (users.length === 2) text = `${users[0]} and ${users[1]} are typing…`;
    else if (users.length > 2) text = 'Several people are typing…';
    byId('typing').textContent = text;
  }

  // --- leaving -------------------------------------------------------------------------

  /** Forget a room the user was kicked or banned from (closed from the list or the room). */
  #closeRemoved(room) {
    if (!this.#store.room(room)?.removed) return;
    this.#store.removeRoom(room);
    this.#mutes.forget(room);
    if (room === this.#chat.active) this.navigate(null);
  }

  async #leave() {
    const button = byId('leave-room');
    const room = this.#chat.active;
    if (!room) return;
    if (!this.#leaveArmed) {
      // A second click within a few seconds confirms: no modal for a reversible-ish action.
      button.textContent = 'Click again to leave';
      this.#leaveArmed = setTimeout(() => this.#disarmLeave(), 4000);
      return;
    }
    this.#disarmLeave();
    try {
      await this.#chat.leave(room);
      // Messages not sent keep the room on screen (they say why); otherwise, back to the list.
      if (!this.#outbox.forRoom(room).length) this.navigate(null);
    } catch {
      button.textContent = 'Could not leave';
    }
  }

  #disarmLeave() {
    clearTimeout(this.#leaveArmed);
    this.#leaveArmed = null;
    byId('leave-room').textContent = 'Leave';
  }

  // --- the room list, remembered for the next page load --------------------------------

  #saveRoomList() {
    const rooms = [...this.#store.rooms.values()].map(({ name, kind }) => ({ name, kind }));
    remember(`hubbub:rooms:${this.#me}`, JSON.stringify(rooms));
  }

  /** Show the rooms of the last visit at once; the server's list replaces them on connect. */
  #restoreRoomList() {
    try {
      const rooms = JSON.parse(recall(`hubbub:rooms:${this.#me}`) || '[]');
      for (const { name, kind } of rooms) this.#store.ensureRoom(name, kind);
    } catch {
      // nothing remembered
    }
  }
}
