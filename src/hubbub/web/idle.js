// Whether the user is at the page: away after `idleMs` without pointer or keyboard input,
// back at the next input. Inputs come by the hundred: each only notes the time, and one
// timer at a time checks how long it has been quiet.

export const IDLE_MS = 5 * 60 * 1000;
const INPUTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'];

export class IdleWatch {
  #last;
  #away = false;
  #timer = null;

  /** `onChange(away)` is called when the user goes away and when they are back. */
  constructor(onChange, { idleMs = IDLE_MS, target = document, now = Date.now } = {}) {
    this.onChange = onChange;
    this.idleMs = idleMs;
    this.now = now;
    this.#last = now();
    for (const type of INPUTS) {
      target.addEventListener(type, () => this.#input(), { capture: true, passive: true });
    }
    this.#arm(idleMs);
  }

  get away() {
    return this.#away;
  }

  #input() {
    this.#last = this.now();
    if (!this.#away) return;
    this.#away = false;
    this.onChange(false);
    this.#arm(this.idleMs);
  }

  #arm(delay) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#check(), delay);
  }

  #check() {
    const quiet = this.now() - this.#last;
    if (quiet < this.idleMs) {
      this.#arm(this.idleMs - quiet);
      return;
    }
    this.#away = true; // no timer until the next input
    this.onChange(true);
  }
}
