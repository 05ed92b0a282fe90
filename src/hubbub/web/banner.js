// The connection banner: connecting / online / offline / reconnecting in N s.

import { byId } from './dom.js';

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
      default:
        text = 'Connecting…';
    }
    this.#banner.dataset.state = state;
    this.#dot.dataset.state = state;
    this.#dot.title = state === 'online' ? 'Online' : text;
    this.#text.textContent = text;
    this.#retry.hidden = !['reconnecting', 'offline', 'stopped'].includes(state);
    this.#retry.textContent = state === 'stopped' ? 'Reconnect' : 'Retry now';
  }

  stop() {
    clearTimeout(this.#tick);
  }
}
