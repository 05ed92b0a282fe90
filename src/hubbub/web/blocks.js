// Whom the user blocks: read on every connect, changed from the profile dialog. Private to
// the user (the server tells nobody else). Messages of a blocked user are still delivered;
// the timeline folds them away behind "Show" (timeline.js).

class Blocked extends EventTarget {
  #users = new Set();

  has(user) {
    return this.#users.has(user);
  }

  /** The whole list, as `blocks` answers it. */
  set(users) {
    const next = new Set(users);
    if (next.size === this.#users.size && [...next].every((user) => this.#users.has(user))) return;
    this.#users = next;
    this.dispatchEvent(new Event('change'));
  }

  add(user) {
    if (this.#users.has(user)) return;
    this.#users.add(user);
    this.dispatchEvent(new Event('change'));
  }

  delete(user) {
    if (this.#users.delete(user)) this.dispatchEvent(new Event('change'));
  }
}

export const blocked = new Blocked();
