// Messages written but not yet acknowledged by the server, kept in localStorage per user.
//
// A message enters the outbox the moment it is written, with its client_msg_id, and leaves
// it only when the server has stored it (`sent`, or its own event came back). So it
// survives a dropped connection, a server restart and a page reload, and the resend after
// any of them reuses the client_msg_id, which the server stores once whatever happens.
//
// Every change reads and writes localStorage directly rather than a copy in memory, so two
// tabs of the same user never overwrite each other's entries; a `storage` event from
// another tab fires `change` here too.

/**
 * A random UUID. crypto.randomUUID() exists only in secure contexts (https, localhost); a
 * server reached over plain http on a LAN address gets the same from getRandomValues().
 */
export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox extends EventTarget {
  #key;
  #memory = []; // used instead when localStorage is unavailable or full
  #inMemory = false;

  constructor(user) {
    super();
    this.#key = `hubbub:outbox:${user}`;
    window.addEventListener('storage', (event) => {
      if (event.key === this.#key) this.#changed();
    });
  }

  /**
   * Every entry, oldest first: {cid, room, kind, body, ts, state: 'pending'|'failed', error},
   * {reply_to, thread, quote} for a reply, and `files` (FileInfo, uploaded already) when it
   * carries files: a resend carries the same ones.
   * `kind` is the room's, kept to show a room the user has left (older entries may lack it).
   */
  all() {
    if (this.#inMemory) return this.#memory;
    let raw;
    try {
      raw = localStorage.getItem(this.#key);
    } catch {
      this.#inMemory = true; // storage disabled (e.g. by privacy settings)
      return this.#memory;
    }
    try {
      const entries = JSON.parse(raw || '[]');
      return Array.isArray(entries) ? entries : [];
    } catch {
      return [];
    }
  }

  forRoom(room) {
    return this.all().filter((entry) => entry.room === room);
  }

  has(cid) {
    return this.all().some((entry) => entry.cid === cid);
  }

  get(cid) {
    return this.all().find((entry) => entry.cid === cid) ?? null;
  }

  /**
   * A new message. `reply` ({reply_to, thread, quote}) when it answers a message: kept with
   * it, so that a resend is the same reply, and it is shown with its quote while pending.
   */
  add(room, body, kind, reply = null, files = []) {
    const entry = { cid: newClientMsgId(), room, kind, body, ts: Date.now(), state: 'pending', ...reply };
    if (files.length) entry.files = files;
    this.#write([...this.all(), entry]);
    return entry;
  }

  update(cid, patch) {
    this.#write(this.all().map((entry) => (entry.cid === cid ? { ...entry, ...patch } : entry)));
  }

  remove(cid) {
    const entries = this.all();
    const kept = entries.filter((entry) => entry.cid !== cid);
    if (kept.length !== entries.length) this.#write(kept);
  }

  #write(entries) {
    this.#memory = entries;
    if (!this.#inMemory) {
      try {
        if (entries.length) localStorage.setItem(this.#key, JSON.stringify(entries));
        else localStorage.removeItem(this.#key);
      } catch {
        // Storage full or disabled: keep the entries for this page's lifetime at least.
        this.#inMemory = true;
      }
    }
    this.#changed();
  }

  #changed() {
    this.dispatchEvent(new Event('change'));
  }
}
