// What stands in place of the message box when the user may not write in the room on
// screen: muted ("You are muted in #den until 14:05", kept up to date as mutes come and go
// and when the time passes), or kicked or banned ("You were banned from #den by Olive:
// spam", with a button that closes the room). The node is made here, so the page's HTML
// does not change; users' texts (a reason) are shown as text.

import { byId, el } from './dom.js';
import { formatFull, formatTime, roomLabel } from './format.js';
import { markedLabel, mutedNotice, removedNotice } from './moderation.js';
import { profiles } from './profiles.js';

const formats = { time: formatTime, full: formatFull };

export class RoomNotice {
  #me;
  #mutes;
  #onChange;
  #node;
  #text;
  #close;
  #composer = byId('composer');
  #timer = null;

  /** `mutes`: moderation.js `Mutes`; `onClose(room)` forgets a room one was removed from;
   * `onChange()` asks for a redraw (a mute ran out). */
  constructor({ me, mutes, onClose, onChange }) {
    this.#me = me;
    this.#mutes = mutes;
    this.#onChange = onChange;
    this.#text = el('p', { id: 'room-notice-text', class: 'room-notice-text' });
    this.#close = el('button', { type: 'button', id: 'room-notice-close', class: 'quiet', text: 'Close the room', hidden: true });
    this.#close.addEventListener('click', () => onClose(this.#close.dataset.room));
    this.#node = el('div', { id: 'room-notice', class: 'room-notice', attrs: { role: 'status' }, hidden: true }, this.#text, this.#close);
    this.#composer.before(this.#node);
  }

  /**
   * Draw the notice for the room on screen (`room`: the store's, or null); returns whether
   * the user may write there as far as moderation goes (not muted, not removed).
   */
  render(room) {
    clearTimeout(this.#timer);
    const removed = room?.removed ?? null;
    const now = Date.now();
    const mute = room && !removed ? this.#mutes.state(room.name, this.#me, now) : { muted: false };
    const label = room ? markedLabel(roomLabel(room.name, room.kind, this.#me), room.kind) : '';
    let text = '';
    if (removed) text = removedNotice(label, removed, (user) => profiles.displayName(user));
    else if (mute.muted) text = mutedNotice(label, mute.until, now, formats);
    if (this.#text.textContent !== text) this.#text.textContent = text;
    this.#node.hidden = !text;
    this.#node.dataset.state = removed ? 'removed' : mute.muted ? 'muted' : '';
    this.#close.hidden = !removed;
    this.#close.dataset.room = room?.name ?? '';
    this.#composer.hidden = Boolean(removed); // the box goes: this room is no longer theirs
    // Drawn again when a mute of the room runs out (the user's, or one the dialog shows).
    const end = room ? this.#mutes.nextEnd(room.name, now) : null;
    if (end !== null) this.#timer = setTimeout(() => this.#onChange(), Math.min(end - now + 50, 2 ** 31 - 1));
    return !removed && !mute.muted;
  }
}
