// Telling the user about what they missed: the tab's title and icon, desktop notifications,
// and rooms muted.
//
// The title counts unread messages, "(3) hubbub"; the icon gets a red badge with the number
// of unread mentions (a dot when there are only unread messages). A desktop notification is
// shown for a mention (the server's `mention` notice) and for a message in a DM while the
// tab is hidden, once per message; it is plain text (the Notification API shows text only),
// and clicking it brings the tab forward on that room. Permission is asked for only from a
// click on "Enable notifications". A muted room (remembered per user in localStorage) sends
// no notifications; its mentions are still counted.

import { byId } from './dom.js';
import { filesLabel } from './file_views.js';
import { roomLabel } from './format.js';
import { profiles } from './profiles.js';

const NOTE_CHARS = 140; // a notification says the start of a message: it is a pointer, not a reader
const ICON_SIZE = 32;

/** The text a notification shows for `message`: one line, at most NOTE_CHARS characters. */
export function notificationText(body) {
  const line = (body ?? '').replace(/\s+/g, ' ').trim();
  const chars = Array.from(line);
  return chars.length > NOTE_CHARS ? `${chars.slice(0, NOTE_CHARS - 1).join('')}…` : line;
}

/**
 * What a notification says of `message` (null: not at hand, a mention's notice came alone):
 * the start of its text, or of a message of files only, "sent a file: name.pdf" or "sent 3
 * files".
 */
export function notificationBody(message) {
  if (!message) return 'mentioned you';
  const text = notificationText(message.body);
  if (text) return text;
  const files = message.files ?? [];
  if (files.length === 1) return notificationText(`sent a file: ${filesLabel(files)}`);
  return files.length ? `sent ${filesLabel(files)}` : 'sent a message';
}

/** The tab's title for `unread` messages not read. */
export function titleFor(unread) {
  return unread > 0 ? `(${unread > 999 ? '999+' : unread}) hubbub` : 'hubbub';
}

/** The rooms `me` muted, kept in localStorage (a Set; empty when storage is unavailable). */
export class Mutes {
  #key;
  #rooms;

  constructor(me) {
    this.#key = `hubbub:muted:${me}`;
    this.#rooms = new Set(this.#read());
  }

  #read() {
    try {
      const rooms = JSON.parse(localStorage.getItem(this.#key) || '[]');
      return Array.isArray(rooms) ? rooms.filter((r) => typeof r === 'string') : [];
    } catch {
      return [];
    }
  }

  has(room) {
    return this.#rooms.has(room);
  }

  get rooms() {
    return this.#rooms;
  }

  toggle(room) {
    this.#rooms = new Set(this.#read()); // another tab may have changed it
    if (this.#rooms.has(room)) this.#rooms.delete(room);
    else this.#rooms.add(room);
    try {
      localStorage.setItem(this.#key, JSON.stringify([...this.#rooms].sort()));
    } catch {
      // kept for this page only
    }
    return this.#rooms.has(room);
  }
}

export class Notifier {
  #me;
  #store;
  #navigate;
  #mutes;
  #shown = new Set(); // `${room}:${seq}` notified already
  #iconKey = null;
  #baseIcon = null;
  #onChange;

  /** `navigate(room)` opens a room; `onChange()` is called when a mute or permission changes. */
  constructor({ me, store, chat, navigate, onChange }) {
    this.#me = me;
    this.#store = store;
    this.#navigate = navigate;
    this.#onChange = onChange;
    this.#mutes = new Mutes(me);
    chat.addEventListener('mention', (event) => this.#onMention(event.detail));
    chat.addEventListener('live', (event) => this.#onLive(event.detail));
    byId('notify-enable').addEventListener('click', () => this.#enable());
    byId('mute-room').addEventListener('click', () => {
      const room = byId('mute-room').dataset.room;
      if (room) this.#mutes.toggle(room);
      this.#onChange();
    });
    window.addEventListener('storage', (event) => {
      if (event.key === `hubbub:muted:${me}`) {
        this.#mutes = new Mutes(me);
        this.#onChange();
      }
    });
  }

  get muted() {
    return this.#mutes.rooms;
  }

  /** Draw the title, the icon and the header's controls; the room `active` is on screen. */
  render(active) {
    const room = active ? this.#store.room(active) : null;
    const unread = this.#store.totalUnread() - (room?.unread ?? 0);
    const title = titleFor(unread);
    if (document.title !== title) document.title = title;
    this.#drawIcon(this.#store.totalMentions() - (room?.unreadMentions ?? 0), unread > 0);
    this.#renderControls(room);
  }

  #renderControls(room) {
    const enable = byId('notify-enable');
    const supported = typeof Notification === 'function';
    const permission = supported ? Notification.permission : 'denied';
    enable.hidden = !room || !supported || permission === 'granted';
    enable.disabled = permission === 'denied';
    enable.textContent = permission === 'denied' ? 'Notifications blocked' : 'Enable notifications';
    enable.title =
      permission === 'denied' ? 'Notifications are blocked for this site in the browser settings' : '';
    const mute = byId('mute-room');
    mute.hidden = !room;
    if (room) {
      const muted = this.#mutes.has(room.name);
      mute.dataset.room = room.name;
      mute.textContent = muted ? 'Unmute' : 'Mute';
      mute.setAttribute('aria-pressed', String(muted));
      mute.title = muted ? 'This room sends no notifications' : 'Send no notifications from this room';
    }
  }

  /** Asked only from a click: browsers refuse (or remember a refusal of) unprompted asks. */
  async #enable() {
    if (typeof Notification !== 'function') return;
    try {
      await Notification.requestPermission();
    } catch {
      // an old browser's callback form: nothing to wait for
    }
    this.#onChange();
  }

  #onMention({ room, seq, user }) {
    this.#notify(room, seq, user);
  }

  /** A message as it arrives (not a replay): one in a DM is worth a notification too. */
  #onLive(message) {
    if (message.type !== 'message' || message.user === this.#me || message.deleted) return;
    if (this.#store.room(message.room)?.kind !== 'dm') return;
    this.#notify(message.room, message.seq, message.user);
  }

  async #notify(room, seq, user) {
    const key = `${room}:${seq}`;
    if (this.#shown.has(key) || user === this.#me) return;
    if (this.#shown.size >= 1000) this.#shown.clear(); // a long session: only recent ones matter
    this.#shown.add(key);
    if (document.visibilityState !== 'hidden' || this.#mutes.has(room)) return;
    if (typeof Notification !== 'function' || Notification.permission !== 'granted') return;
    // The message, and its author's display name (asked for if not known), at once.
    const [message] = await Promise.all([this.#message(room, seq), profiles.ensure(user)]);
    const info = this.#store.room(room);
    const kind = info?.kind ?? (room.startsWith('dm:') ? 'dm' : 'public');
    const author = notificationText(profiles.displayName(user));
    const title = kind === 'dm' ? author : `${author} in #${roomLabel(room, kind, this.#me)}`;
    let note;
    try {
      note = new Notification(title, {
        body: notificationBody(message),
        tag: key, // one per message, even from several tabs
      });
    } catch {
      return; // e.g. Android Chrome, which shows them only from a service worker
    }
    note.addEventListener('click', () => {
      window.focus();
      this.#navigate(room);
      note.close();
    });
  }

  /** The message `seq` of `room`; the notice may come before the message: wait a little. */
  #message(room, seq) {
    const held = () => {
      const events = this.#store.room(room)?.events ?? [];
      return events.find((event) => event.seq === seq && event.type === 'message') ?? null;
    };
    const now = held();
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#store.removeEventListener('added', check);
        resolve(held());
      };
      const check = (event) => event.detail.room === room && held() && done();
      const timer = setTimeout(done, 1500);
      this.#store.addEventListener('added', check);
    });
  }

  // --- the tab's icon ---------------------------------------------------------------------

  #drawIcon(mentions, unread) {
    const key = mentions > 0 ? `m${Math.min(mentions, 100)}` : unread ? 'dot' : 'plain';
    if (key === this.#iconKey) return;
    this.#iconKey = key;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = ICON_SIZE;
    const g = canvas.getContext('2d');
    if (!g) return;
    g.drawImage(this.#base(), 0, 0);
    if (key !== 'plain') {
      const r = mentions > 0 ? 11 : 7;
      g.fillStyle = '#e11d48';
      g.beginPath();
      g.arc(ICON_SIZE - r, r, r, 0, 2 * Math.PI);
      g.fill();
      if (mentions > 0) {
        g.fillStyle = '#ffffff';
        g.font = `bold ${mentions > 9 ? 13 : 16}px system-ui, sans-serif`;
        g.textAlign = 'center';
        g.textBaseline = 'middle';
        g.fillText(mentions > 99 ? '99' : String(mentions), ICON_SIZE - r, r + 1);
      }
    }
    let link = document.querySelector('link[rel="icon"]');
    if (!link) {
      link = document.createElement('link');
      link.rel = 'icon';
      document.head.append(link);
    }
    link.href = canvas.toDataURL('image/png');
    link.dataset.badge = key;
  }

  /** hubbub's mark: a rounded square in the accent colour with a speech dot. */
  #base() {
    if (this.#baseIcon) return this.#baseIcon;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = ICON_SIZE;
    const g = canvas.getContext('2d');
    g.fillStyle = '#4f46e5';
    g.beginPath();
    if (g.roundRect) g.roundRect(2, 2, ICON_SIZE - 4, ICON_SIZE - 4, 7);
    else g.rect(2, 2, ICON_SIZE - 4, ICON_SIZE - 4); // browsers before 2023
    g.fill();
    g.fillStyle = '#ffffff';
    g.beginPath();
    g.arc(ICON_SIZE / 2, ICON_SIZE / 2, 6, 0, 2 * Math.PI);
    g.fill();
    this.#baseIcon = canvas;
    return canvas;
  }
}
