// The sign-in / create-account form. It asks the server what a sign-up needs (open, closed,
// or an invite code), and takes an invite link's code from the page's #invite= fragment.

import { login, register, registrationMode } from './api.js';
import { byId, say } from './dom.js';
import { USERNAME } from './limits.js';

function explain(err, mode) {
  switch (err.status) {
    case 0:
      return 'Cannot reach the server. Check your connection and try again.';
    case 401:
      return 'Wrong username or password.';
    case 409:
      return 'That username is taken. Pick another one, or sign in if it is yours.';
    case 429: {
      const seconds = Math.max(1, Math.ceil(err.retryAfter ?? 1));
      return mode === 'signup'
        ? `Too many new accounts from this address. Try again in ${seconds} s.`
        : `Too many attempts. Try again in ${seconds} s.`;
    }
    case 400:
      return `The server refused this: ${err.message}`;
    case 403: // registration closed, an invitation needed, or not valid: the server says
      return `${err.message.charAt(0).toUpperCase()}${err.message.slice(1)}.`;
    default:
      return `Something went wrong (${err.message}). Try again.`;
  }
}

/** The code of an invite link (`/#invite=CODE`), taken out of the address bar. */
function inviteFromLink() {
  const match = /^#invite=([A-Za-z0-9_-]{1,64})$/.exec(location.hash);
  if (!match) return '';
  history.replaceState(null, '', location.pathname + location.search);
  return match[1];
}

export class AuthView {
  #view = byId('auth-view');
  #form = byId('auth-form');
  #username = byId('auth-username');
  #password = byId('auth-password');
  #error = byId('auth-error');
  #submit = byId('auth-submit');
  #lead = byId('auth-lead');
  #signin = byId('auth-mode-signin');
  #signup = byId('auth-mode-signup');
  #invite = byId('auth-invite');
  #inviteRow = byId('auth-invite-row');
  #closedNote = byId('auth-closed');
  #mode = 'signin';
  #registration = 'open';
  #cooldown = null;

  constructor(onSignedIn) {
    const code = inviteFromLink();
    if (code) {
      this.#invite.value = code;
      this.#setMode('signup');
    }
    this.#loadRegistration();
    this.#signin.addEventListener('click', () => this.#setMode('signin'));
    this.#signup.addEventListener('click', () => this.#setMode('signup'));
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#go(onSignedIn);
    });
  }

  show(message = '') {
    this.#view.hidden = false;
    say(this.#error, message);
    this.#password.value = '';
    (this.#username.value ? this.#password : this.#username).focus();
  }

  hide() {
    this.#view.hidden = true;
  }

  async #loadRegistration() {
    try {
      this.#registration = await registrationMode();
    } catch {
      return; // the server says what it needs when the form is sent
    }
    this.#showRegistration();
  }

  /** Closed: sign-in only (unless the page came with an invite code); invite: the code's field. */
  #showRegistration() {
    const closed = this.#registration === 'closed' && !this.#invite.value;
    this.#signup.hidden = closed;
    this.#closedNote.hidden = !closed;
    if (closed && this.#mode === 'signup') this.#setMode('signin');
    const wanted = this.#registration === 'invite' || Boolean(this.#invite.value);
    this.#inviteRow.hidden = !(this.#mode === 'signup' && wanted);
  }

  #setMode(mode) {
    this.#mode = mode;
    const signup = mode === 'signup';
    this.#signin.setAttribute('aria-pressed', String(!signup));
    this.#signup.setAttribute('aria-pressed', String(signup));
    this.#submit.textContent = signup ? 'Create account' : 'Sign in';
    this.#lead.textContent = signup ? 'Pick a username and a password.' : 'Sign in to chat.';
    this.#password.autocomplete = signup ? 'new-password' : 'current-password';
    say(this.#error, '');
    this.#showRegistration();
  }

  async #go(onSignedIn) {
    const username = this.#username.value.trim();
    const password = this.#password.value;
    if (!USERNAME.test(username)) {
      say(this.#error, 'A username is 1–32 letters, digits, “.”, “_” or “-”, starting with a letter or digit.');
      this.#username.focus();
      return;
    }
    if (password.length < 8) {
      say(this.#error, 'The password needs at least 8 characters.');
      this.#password.focus();
      return;
    }
    const invite = this.#invite.value.trim() || null;
    if (this.#mode === 'signup' && this.#registration === 'invite' && !invite) {
      say(this.#error, 'An invite code is needed to create an account on this server.');
      this.#invite.focus();
      return;
    }
    say(this.#error, '');
    this.#submit.disabled = true;
    let user = null;
    let landing = null; // a new account opens in its first default room
    try {
      if (this.#mode === 'signup') {
        const account = await register(username, password, invite);
        user = account.username;
        landing = account.rooms[0] ?? null;
      } else {
        user = await login(username, password);
      }
    } catch (err) {
      say(this.#error, explain(err, this.#mode));
      if (err.status === 429) this.#coolDown(err.retryAfter);
      else this.#submit.disabled = false;
      return;
    }
    this.#submit.disabled = false;
    this.#password.value = '';
    onSignedIn(user, landing);
  }

  /** Keep the button disabled until the server will listen again. */
  #coolDown(seconds) {
    clearTimeout(this.#cooldown);
    this.#cooldown = setTimeout(() => {
      this.#submit.disabled = false;
    }, Math.max(1, seconds ?? 1) * 1000);
  }
}
