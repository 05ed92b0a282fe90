// When and how soon to reconnect: the client's side of the server's close-code policy
// (hubbub/protocol/codes.py) and its backoff. Pure: no sockets, no timers.

export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Whether to reconnect after the server closed with `code` (the table of codes.py):
 * 1000-range codes are decided one by one, 4000-4499 mean "reconnect and sync",
 * 4500-4999 "do not reconnect as you are", and 4401 "sign in again first".
 */
export function shouldReconnect(code) {
  if (code === 4401) return false;
  if (code >= 4500 && code <= 4999) return false;
  if (code >= 4000 && code <= 4499) return true;
  // 1007 (bad UTF-8) and 1009 (too big) would fail the same way again.
  return code !== 1007 && code !== 1009;
}

/**
 * What to do once the socket closed with `code`: 'sign-in' (the credential is gone: a 4401,
 * or an `unauthenticated` error just before the close), 'retry' (after a backoff) or 'stop'.
 */
export function afterClose(code, unauthenticated = false) {
  if (code === 4401 || unauthenticated) return 'sign-in';
  return shouldReconnect(code) ? 'retry' : 'stop';
}

/**
 * The wait before reconnect attempt number `attempt` (1, 2, …): exponential backoff with
 * "equal jitter", half of it fixed and half `random` (0 ≤ random < 1), so that clients
 * dropped together by a restart do not all come back in the same instant.
 */
export function backoffDelay(attempt, random = Math.random()) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
  return ceiling / 2 + random * (ceiling / 2);
}

// When to tell the user that live updates are not getting through: sockets that keep being
// cut soon after they open (a proxy's read timeout shorter than the server's pings), or that
// never open while plain HTTP works (a proxy that drops the Upgrade header).
export const TROUBLE_CUTS = 3;
export const TROUBLE_WINDOW_MS = 60_000;
export const TROUBLE_FAILED_OPENS = 3;

/** What the recent sockets say about the way to the server. Time is passed in (ms). */
export class TroubleSigns {
  #cuts = []; // when sockets that had opened were cut without a close frame (1006)
  #failedOpens = 0; // attempts in a row whose socket never opened

  opened() {
    this.#failedOpens = 0;
  }

  /** A socket closed with `code`; `wasOpen`: it had opened. */
  closed(code, wasOpen, now) {
    if (!wasOpen) {
      this.#failedOpens += 1;
    } else if (code === 1006) {
      this.#cuts = [...this.#recent(now), now];
    }
  }

  /** Sockets keep being cut: TROUBLE_CUTS of them within TROUBLE_WINDOW_MS. */
  keepsBeingCut(now) {
    return this.#recent(now).length >= TROUBLE_CUTS;
  }

  /** When `keepsBeingCut` stops holding unless another cut comes (0 if it does not hold). */
  cutUntil(now) {
    const recent = this.#recent(now);
    if (recent.length < TROUBLE_CUTS) return 0;
    return recent[recent.length - TROUBLE_CUTS] + TROUBLE_WINDOW_MS;
  }

  /** The socket never opens: worth asking whether plain HTTP gets through. */
  neverOpens() {
    return this.#failedOpens >= TROUBLE_FAILED_OPENS;
  }

  #recent(now) {
    return this.#cuts.filter((at) => now - at < TROUBLE_WINDOW_MS);
  }
}
