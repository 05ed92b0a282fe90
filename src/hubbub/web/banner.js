// The connection banner: connecting / online / offline / reconnecting in N s, and "trouble"
// when live updates are not getting through although the server is up (see connection.js).

import { byId } from './dom.js';

export const TROUBLE_TEXT =
  'Live updates are not getting through — messages may only appear after a refresh. ' +
  "This is usually the server's proxy configuration: tell the server's admin to run " +
  '“hubbub doctor”.';

export class Banner {
  #banner = byId('conn-banner');
  #text = byId('conn-text');
  #retry = byId('conn-retry');
  #dot = byId('conn-dot');
  #tick = null;

  constructor(conn, chat) {
    this.conn = conn;
    this.chat = chat;
    this.#retry.addEventListener('click', () => conn.reconnectNow());
    conn.addEventListener('status', () => this.render());
    chat.addEventListener('status', () => this.render());
    this.render();
  }

  /** The state shown: `online` only once the connection has resumed (synced). */
  state() {
    const { conn, chat } = this;
    const away = conn.state === 'waiting' && conn.offline;
    if (conn.trouble && !away && ['ready', 'connecting', 'waiting'].includes(conn.state)) {
      return 'trouble'; // said plainly, rather than one more "Reconnecting…"
    }
    if (conn.state === 'ready') return chat.synced ? 'online' : 'connecting';
    if (conn.state === 'waiting') return conn.offline ? 'offline' : 'reconnecting';
    if (conn.state === 'stopped') return 'stopped';
    return 'connecting';
  }

  render() {
    clearTimeout(this.#tick);
    const state = this.state();
    let text;
    switch (state) {
      case 'online':
        text = 'Online';
        break;
      case 'offline':
        text = 'You are offline. Messages you write are kept and sent when you are back.';
        break;
      case 'reconnecting': {
        const remaining = Math.max(0, this.conn.retryAt - Date.now());
        text = `Connection lost. Reconnecting in ${Math.max(1, Math.ceil(remaining / 1000))} s…`;
        // Re-render when the whole number of seconds shown changes.
        this.#tick = setTimeout(() => this.render(), Math.max(50, remaining % 1000 || 1000));
        break;
      }
      case 'stopped':
        text = `Disconnected: ${this.conn.stopReason}.`;
        break;
      case 'trouble':
        text = TROUBLE_TEXT;
        break;
      default:
        text = 'Connecting…';
    }
    this.#banner.dataset.state = state;
    this.#dot.dataset.state = state;
    this.#dot.title = state === 'online' ? 'Online' : text;
    this.#text.textContent = text;
    const waiting = state === 'trouble' && this.conn.state === 'waiting';
    this.#retry.hidden = !['reconnecting', 'offline', 'stopped'].includes(state) && !waiting;
    this.#retry.textContent = state === 'stopped' ? 'Reconnect' : 'Retry now';
  }

  stop() {
    clearTimeout(this.#tick);
  }
}
