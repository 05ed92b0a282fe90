// A room the user is not in, opened from a link (`#/room/<name>`). A public room shows its
// newest messages, read-only, with *Join*; the server answers `not_found` alike for a room
// that does not exist and for a private room or DM of others, so the page says "No such
// room" for both and cannot tell them apart either.
//
// One room is looked into at a time: the one on screen. Its page of history is folded by a
// store of its own (edits, deletions, reactions, threads), never mixed into the user's.

import { byId } from './dom.js';
import { Store } from './store.js';

export class RoomPreview {
  #chat;
  #me;
  #onChange;
  #look = null; // {name, state: 'loading' | 'public' | 'missing' | 'banned' | 'failed', room}
  #bar = byId('join-bar');
  #barText = byId('join-text');
  #joinButton = byId('join-room');
  #roomView = byId('room-view');

  /** `onJoined(room)`: the user joined the room on screen from its preview. */
  constructor({ me, chat, onChange, onJoined }) {
    this.#me = me;
    this.#chat = chat;
    this.#onChange = onChange;
    this.#joinButton.addEventListener('click', () => this.#join(onJoined));
    // A look cut short by a lost connection is taken again once it is back.
    chat.addEventListener('status', () => {
      if (chat.synced && this.#look?.state === 'failed') this.#look = null;
    });
  }

  /**
   * What is known of `name`, a room the user is not in: null until the connection is up,
   * then {state, room}; `room` is the read-only stand-in a public room is shown with.
   */
  lookAt(name) {
    if (this.#look?.name !== name) this.#look = null;
    if (!this.#look && this.#chat.synced) {
      this.#look = { name, state: 'loading', room: null };
      this.#load(this.#look);
    }
    return this.#look;
  }

  /** Show the join bar for the public room `room` (a stand-in of `lookAt`), or hide it. */
  render(room) {
    this.#bar.hidden = !room;
    this.#roomView.toggleAttribute('data-preview', Boolean(room));
    if (!room) {
      delete this.#bar.dataset.room; // shown again: its text afresh
      return;
    }
    if (this.#bar.dataset.room !== room.name) {
      this.#bar.dataset.room = room.name;
      this.#barText.textContent = `You are not in #${room.name}. It is a public room: anyone may join it.`;
      this.#joinButton.disabled = false;
    }
  }

  async #load(look) {
    try {
      const page = await this.#chat.peek(look.name);
      const store = new Store(this.#me);
      const room = store.ensureRoom(look.name, 'public');
      store.addEvents(look.name, page.events);
      Object.assign(room, { loaded: true, hasOlder: false, preview: true, previewHasMore: page.has_more });
      Object.assign(look, { state: 'public', room });
    } catch (err) {
      // A name no room can have (`bad_request`) is missing too; a public room refused is one
      // the user is banned from (the server says so).
      if (err.code === 'forbidden') Object.assign(look, { state: 'banned', reason: err.message });
      else look.state = err.code === 'not_found' || err.code === 'bad_request' ? 'missing' : 'failed';
    }
    if (this.#look === look) this.#onChange();
  }

  async #join(onJoined) {
    const name = this.#look?.room?.name;
    if (!name) return;
    this.#joinButton.disabled = true;
    try {
      await this.#chat.join(name);
      this.#look = null;
      onJoined(name);
    } catch (err) {
      this.#barText.textContent = joinRefusal(err);
    } finally {
      this.#joinButton.disabled = false;
    }
  }
}

function joinRefusal(err) {
  switch (err.code) {
    case 'connection_lost':
      return 'Not connected to the server. Try again once you are back online.';
    case 'not_found':
      return 'This room no longer exists.';
    case 'rate_limited':
      return `Too many requests; try again in ${Math.ceil(err.retryAfter ?? 1)} s.`;
    default:
      return `Could not join: ${err.message || 'something went wrong'}.`;
  }
}
