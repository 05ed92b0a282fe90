// Users' profiles as the page knows them: display name, status, avatar.
//
// `ProfileCache` is the pure part (no DOM, no socket): what is known of whom, bounded, and
// which names are still to be asked for. `Profiles` fills it: from `members` replies, from
// `users` requests (batched: the names the page shows, asked at most once each until a
// reconnect) and from `profile` notices (a change, pushed by the server). Names and
// avatars on the page are nodes made here (`authorNode`, `avatarNode`), marked with the
// user they show, and changed in place when that user's profile changes: rows of the
// timeline are made once, not drawn again for it.
//
// Usernames stay the identity: a display name is shown beside it, never instead of it
// where it matters (the profile dialog, the hover title). Everything is text, never HTML.

import { el } from './dom.js';
import { authorLabel, colourClass } from './format.js';

export const MAX_PROFILES = 5000; // held at most; the least recently set go first
export const USERS_PER_REQUEST = 200; // the server's bound for `users`
const ASK_AFTER_MS = 30; // names wanted in one burst of drawing go in one request

/** Whether a name can have a profile (plain-text guests cannot). */
export function hasProfile(user) {
  return typeof user === 'string' && user !== '' && !user.includes(':');
}

/** What to call `user`: the display name if set, else the username (a guest's without "guest:"). */
export function displayName(profile, user) {
  return profile?.display_name?.trim() ? profile.display_name : authorLabel(user);
}

/** Up to two letters for an avatar without a picture: of the display name's first two words. */
export function initialsOf(profile, user) {
  const name = displayName(profile, user).trim();
  const words = name.split(/\s+/u).filter(Boolean);
  const letters = words.slice(0, 2).map((word) => [...word][0]);
  return (letters.join('') || '?').toUpperCase();
}

/** The URL of the user's avatar, versioned so a new one is fetched; null if none. */
export function avatarUrl(profile) {
  if (!profile?.avatar) return null;
  const name = encodeURIComponent(profile.username);
  return `/api/v1/users/${name}/avatar?v=${encodeURIComponent(profile.avatar)}`;
}

export class ProfileCache {
  #profiles = new Map(); // username -> Profile, oldest set first
  #asked = new Set(); // names asked for (or known missing): not asked again

  constructor(limit = MAX_PROFILES) {
    this.limit = limit;
  }

  get(user) {
    return this.#profiles.get(user) ?? null;
  }

  get size() {
    return this.#profiles.size;
  }

  /** Keep `profile`; true if it changed what is shown of the user. */
  set(profile) {
    if (!profile || !hasProfile(profile.username)) return false;
    const before = this.#profiles.get(profile.username);
    this.#profiles.delete(profile.username);
    this.#profiles.set(profile.username, profile);
    this.#asked.add(profile.username);
    while (this.#profiles.size > this.limit) {
      const oldest = this.#profiles.keys().next().value;
      this.#profiles.delete(oldest);
      this.#asked.delete(oldest);
    }
    return !before || !sameProfile(before, profile);
  }

  /** Of `users`, those neither known nor asked for yet; they count as asked from now on. */
  take(users) {
    const wanted = [];
    for (const user of users) {
      if (!hasProfile(user) || this.#asked.has(user)) continue;
      this.#asked.add(user);
      wanted.push(user);
    }
    return wanted;
  }

  /** Names asked for that got no answer (the request failed): they may be asked again. */
  forget(users) {
    for (const user of users) if (!this.#profiles.has(user)) this.#asked.delete(user);
  }

  /** A new connection: anything may have changed while away, so ask again as names show. */
  stale() {
    this.#asked = new Set();
  }

  displayName(user) {
    return displayName(this.get(user), user);
  }
}

function sameProfile(a, b) {
  return (
    a.display_name === b.display_name &&
    a.status === b.status &&
    a.avatar === b.avatar &&
    a.admin === b.admin &&
    a.bot === b.bot
  );
}

/** Split `users` into requests the server accepts. */
export function batches(users, size = USERS_PER_REQUEST) {
  const out = [];
  for (let i = 0; i < users.length; i += size) out.push(users.slice(i, i + size));
  return out;
}

// --- the page's profiles ------------------------------------------------------------------

/**
 * The page's profiles. `chat` asks the server (`users`) and brings `profile` notices and the
 * `profiles` of `members` replies; a `change` event (detail: the usernames) follows news.
 */
export class Profiles extends EventTarget {
  cache = new ProfileCache();
  #chat = null;
  #wanted = new Set();
  #timer = null;

  attach(chat) {
    this.#chat = chat;
    chat.addEventListener('profiles', (event) => this.learn(event.detail));
    chat.addEventListener('status', () => {
      if (!chat.synced) return;
      this.cache.stale();
      this.#wantAgain();
    });
  }

  get(user) {
    return this.cache.get(user);
  }

  displayName(user) {
    return this.cache.displayName(user);
  }

  /** Profiles from the server (a reply or a notice): kept, and shown where the names are. */
  learn(profiles) {
    const changed = [];
    for (const profile of profiles ?? []) if (this.cache.set(profile)) changed.push(profile.username);
    if (!changed.length) return;
    for (const user of changed) this.#repaint(user);
    this.dispatchEvent(new CustomEvent('change', { detail: changed }));
  }

  /**
   * The profile of `user`, asked for at once if it is not known (for text made once, as a
   * notification's): null if there is none or it could not be had within `waitMs`.
   */
  async ensure(user, waitMs = 1500) {
    if (!hasProfile(user) || this.cache.get(user) || !this.#chat?.synced) return this.cache.get(user);
    let timer;
    const late = new Promise((resolve) => (timer = setTimeout(resolve, waitMs)));
    const asked = this.#chat.users([user]).then(
      (found) => this.learn(found),
      () => {}, // said by the username, then
    );
    await Promise.race([asked, late]);
    clearTimeout(timer);
    return this.cache.get(user);
  }

  /** `user` is shown: ask for their profile soon, if it is not known. */
  want(user) {
    if (!hasProfile(user) || this.cache.get(user)) return;
    this.#wanted.add(user);
    if (!this.#timer) this.#timer = setTimeout(() => this.#ask(), ASK_AFTER_MS);
  }

  /** The names shown again after a reconnect: their profiles may have changed. */
  #wantAgain() {
    const shown = new Set();
    for (const node of document.querySelectorAll('[data-profile]')) shown.add(node.dataset.profile);
    for (const user of shown) if (hasProfile(user)) this.#wanted.add(user);
    if (this.#wanted.size && !this.#timer) this.#timer = setTimeout(() => this.#ask(), ASK_AFTER_MS);
  }

  async #ask() {
    this.#timer = null;
    const chat = this.#chat;
    if (!chat?.synced) return; // asked once the connection is back (`#wantAgain`)
    const users = this.cache.take([...this.#wanted]);
    this.#wanted.clear();
    for (const batch of batches(users)) {
      try {
        this.learn(await chat.users(batch));
      } catch (err) {
        // Cut off: asked again when shown again. Refused: not asked again before a reconnect.
        if (err.code === 'connection_lost') this.cache.forget(batch);
      }
    }
  }

  /** Every name and avatar node of `user` on the page, made again from the profile. */
  #repaint(user) {
    const profile = this.cache.get(user);
    for (const node of document.querySelectorAll(`[data-profile="${CSS.escape(user)}"]`)) {
      if (node.classList.contains('avatar')) paintAvatar(node, profile, user);
      else paintName(node, profile, user);
    }
  }
}

/** The page's one set of profiles (one signed-in user per page load). */
export const profiles = new Profiles();

function paintName(node, profile, user) {
  const name = displayName(profile, user);
  if (node.textContent !== name) node.textContent = name;
  // The username, the identity, on hover when a display name stands for it.
  if (name !== authorLabel(user)) node.title = `@${user}`;
  else node.removeAttribute('title');
  // A bot account: app.css adds its "bot" badge after the name.
  if (profile?.bot === true) node.dataset.bot = '';
  else delete node.dataset.bot;
}

function paintAvatar(node, profile, user) {
  const url = avatarUrl(profile);
  const img = node.querySelector('img');
  if (url) {
    if (img?.getAttribute('src') === url) return;
    const picture = el('img', { src: url, alt: '', loading: 'lazy', decoding: 'async' });
    // A picture that cannot be loaded leaves the initials.
    picture.addEventListener('error', () => picture.remove());
    if (img) img.replaceWith(picture);
    else node.append(picture);
  } else img?.remove();
  const initials = initialsOf(profile, user);
  const text = node.firstChild?.nodeType === Node.TEXT_NODE ? node.firstChild : null;
  if (text) text.data = initials;
  else node.prepend(initials);
}

/** A user's name as shown: their display name, kept up to date; `@username` on hover. */
export function authorNode(user, className = 'msg-author') {
  profiles.want(user);
  // Marked with the user it shows (repainted, and a click opens the profile); guests have none.
  const node = el('span', { class: className, dataset: hasProfile(user) ? { profile: user } : {} });
  paintName(node, profiles.get(user), user);
  return node;
}

/** A user's avatar: their picture, or initials on their colour; hidden from screen readers. */
export function avatarNode(user, className = 'avatar') {
  profiles.want(user);
  const node = el('span', {
    class: `${className} ${colourClass(user)}`,
    dataset: hasProfile(user) ? { profile: user } : {},
    attrs: { 'aria-hidden': 'true' },
  });
  paintAvatar(node, profiles.get(user), user);
  return node;
}
