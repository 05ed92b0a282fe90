// The WebSocket to the server: opening it, matching replies to requests, and reconnecting.
//
// One Connection lives as long as the user is signed in. When the socket drops it opens a
// new one after an exponential backoff with jitter, following the server's close-code policy
// (hubbub/protocol/codes.py); both rules are in reconnect.js. It knows nothing about rooms:
// every frame that is not a reply is handed on as a `frame` event, and `ready` starts
// whatever the owner does on (re)connect.
//
// Events: `status` (state or `trouble` changed), `ready` (detail: username), `frame` (detail:
// frame), `unauthenticated` (the session is gone: sign in again).
//
// `trouble` is true while live updates are not getting through although the server is up:
// sockets keep being cut, or never open while HTTP works (rules in reconnect.js). That is
// nearly always a proxy in front of the server, which the user can only report.

import { TroubleSigns, afterClose, backoffDelay } from './reconnect.js';

export const SUBPROTOCOL = 'hubbub.v1';

const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const READY_WITHIN_MS = 15_000; // the server sends `ready` at once to a cookie handshake

/** A request that could not be answered because the socket closed first. */
export class ConnectionLost extends Error {
  constructor() {
    super('the connection was lost');
    this.code = 'connection_lost';
  }
}

/** An `error` frame that answered a request. */
export class ServerError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
    this.retryAfter = frame.retry_after ?? null;
  }
}

function defaultUrl() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/`;
}

export class Connection extends EventTarget {
  // idle | connecting | ready | waiting (for a retry) | stopped (no auto-reconnect) | signed-out
  state = 'idle';
  retryAt = 0;
  stopReason = '';
  offline = !navigator.onLine;
  trouble = false;

  #url;
  #healthUrl;
  #ws = null;
  #wsOpened = false; // the current (or last) socket got as far as `open`
  #signs = new TroubleSigns();
  #httpWorks = false; // GET /healthz answered 200 since the last socket failed to open
  #troubleTimer = null;
  #attempt = 0;
  #retryTimer = null;
  #pingTimer = null;
  #readyTimer = null;
  #nextId = 1;
  #pending = new Map(); // request id -> {resolve, reject}
  #unauthenticated = false;
  #wanted = false; // false once stop() was called

  constructor(url = defaultUrl()) {
    super();
    this.#url = url;
    this.#healthUrl = new URL('/healthz', url.replace(/^ws/, 'http')).href;
    window.addEventListener('offline', () => {
      this.offline = true;
      // Some browsers keep a dead socket open for minutes after the network went away:
      // drop it now, so pending messages are shown as such and resent when back.
      if (this.#ws) this.#lost();
      else this.#emitStatus();
    });
    window.addEventListener('online', () => {
      this.offline = false;
      this.reconnectNow();
    });
  }

  start() {
    this.#wanted = true;
    if (!this.#ws && this.state !== 'waiting') this.#open();
  }

  /** Close for good (signing out): no reconnect. */
  stop() {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#troubleTimer);
    this.#signs = new TroubleSigns();
    this.#httpWorks = false;
    this.trouble = false;
    this.#closeSocket(1000);
    this.#setState('idle');
  }

  /** Skip the rest of the backoff ("Retry now", the network came back). */
  reconnectNow() {
    if (!this.#wanted || this.#ws) return;
    clearTimeout(this.#retryTimer);
    this.#attempt = Math.min(this.#attempt, 1);
    this.#open();
  }

  /** Send a request and resolve with its reply (reject with ServerError or ConnectionLost). */
  request(type, fields = {}) {
    if (this.state !== 'ready') return Promise.reject(new ConnectionLost());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  /** Send a frame that gets no reply (typing); dropped when not connected. */
  notify(type, fields = {}) {
    if (this.state === 'ready') this.#ws.send(JSON.stringify({ type, ...fields }));
  }

  #open() {
    this.#unauthenticated = false;
    this.#setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.#url, SUBPROTOCOL);
    } catch {
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    this.#wsOpened = false;
    ws.addEventListener('open', () => {
      if (this.#ws !== ws) return;
      this.#wsOpened = true;
      this.#signs.opened();
      this.#httpWorks = false;
      this.#updateTrouble();
      this.#readyTimer = setTimeout(() => this.#ws === ws && this.#lost(), READY_WITHIN_MS);
    });
    ws.addEventListener('message', (event) => this.#onMessage(event.data));
    ws.addEventListener('close', (event) => {
      if (this.#ws === ws) this.#onClose(event.code, event.reason);
    });
    // An `error` event is always followed by `close`, which does the work.
  }

  #onMessage(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (frame.re !== undefined && this.#pending.has(frame.re)) {
      const { resolve, reject } = this.#pending.get(frame.re);
      this.#pending.delete(frame.re);
      if (frame.type === 'error') reject(new ServerError(frame));
      else resolve(frame);
      return;
    }
    if (frame.type === 'ready') {
      clearTimeout(this.#readyTimer);
      this.#attempt = 0;
      this.#setState('ready');
      this.#startPings();
      this.dispatchEvent(new CustomEvent('ready', { detail: frame.user }));
    } else if (frame.type === 'error' && frame.code === 'unauthenticated') {
      this.#unauthenticated = true; // the 4401 close follows
    } else {
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    }
  }

  #onClose(code, reason) {
    this.#ws = null;
    clearTimeout(this.#readyTimer);
    this.#stopPings();
    this.#failPending();
    if (!this.#wanted) return;
    // Going offline cuts sockets too, but says nothing about the way to the server.
    if (!this.offline) this.#signs.closed(code, this.#wsOpened, Date.now());
    this.#updateTrouble();
    if (this.#signs.neverOpens()) this.#checkHttp();
    const next = afterClose(code, this.#unauthenticated);
    if (next === 'sign-in') {
      this.#wanted = false;
      this.#setState('signed-out');
      this.dispatchEvent(new Event('unauthenticated'));
    } else if (next === 'retry') {
      this.#scheduleRetry();
    } else {
      this.stopReason = reason || `closed by the server (${code})`;
      this.#setState('stopped');
    }
  }

  /** The socket is dead as far as we can tell (offline, no pong): treat it as a 1006. */
  #lost() {
    const ws = this.#ws;
    this.#closeSocket(4000);
    if (ws) this.#onClose(1006, '');
  }

  #closeSocket(code) {
    const ws = this.#ws;
    this.#ws = null;
    this.#stopPings();
    this.#failPending();
    if (ws) {
      try {
        ws.close(code);
      } catch {
        // already closing
      }
    }
  }

  #failPending() {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(new ConnectionLost());
  }

  #scheduleRetry() {
    this.#attempt += 1;
    const delay = backoffDelay(this.#attempt);
    this.retryAt = Date.now() + delay;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
    this.#setState('waiting');
  }

  /** Does plain HTTP reach a healthy server, while the socket does not open? */
  async #checkHttp() {
    let works;
    try {
      works = (await fetch(this.#healthUrl, { cache: 'no-store' })).ok;
    } catch {
      works = false;
    }
    if (!this.#signs.neverOpens()) return; // a socket opened meanwhile
    this.#httpWorks = works;
    this.#updateTrouble();
  }

  #updateTrouble() {
    const now = Date.now();
    const signs = this.#signs;
    const trouble = signs.keepsBeingCut(now) || (signs.neverOpens() && this.#httpWorks);
    // Cuts age out of the window: look again then, so the notice goes once they stop.
    clearTimeout(this.#troubleTimer);
    const until = signs.cutUntil(now);
    if (until) this.#troubleTimer = setTimeout(() => this.#updateTrouble(), until - now + 1);
    if (trouble !== this.trouble) {
      this.trouble = trouble;
      this.#emitStatus();
    }
  }

  #startPings() {
    this.#stopPings();
    // The server pings idle sockets too; this catches a half-open socket from our side.
    this.#pingTimer = setInterval(() => {
      const timeout = setTimeout(() => this.#lost(), PONG_WITHIN_MS);
      this.request('ping').then(
        () => clearTimeout(timeout),
        () => clearTimeout(timeout),
      );
    }, PING_EVERY_MS);
  }

  #stopPings() {
    clearInterval(this.#pingTimer);
    this.#pingTimer = null;
  }

  #setState(state) {
    this.state = state;
    this.#emitStatus();
  }

  #emitStatus() {
    this.dispatchEvent(new Event('status'));
  }
}
