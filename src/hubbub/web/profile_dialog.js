// A user's profile in a dialog. Someone else's: their display name, username, status,
// presence and a button to message them. The user's own: the same, with their display name
// and status to edit, a picture to upload or remove, and their password to change (with
// the choice to sign out their other sessions), and who may message or invite them (their
// DM policy). Someone else's also has Block / Unblock: private, nobody else learns of it.
//
// The dialog and its nodes are made here, so the page's HTML does not change. Everything a
// user wrote is shown as text.

import {
  changePassword,
  getProfile,
  removeAvatar,
  updateProfile,
  uploadAvatar,
} from './api.js';
import { blocked } from './blocks.js';
import { el, say } from './dom.js';
import { authorNode, avatarNode, profiles } from './profiles.js';

export const MAX_AVATAR_BYTES = 5 * 1024 * 1024;
export const DISPLAY_NAME_MAX = 64; // code points
export const STATUS_MAX = 140;
const PICTURES = 'image/png,image/jpeg,image/gif,image/webp';
const PRESENCE_TEXT = { online: 'Online', away: 'Away', offline: 'Offline' };
const DM_POLICIES = [
  ['everyone', 'Everyone'],
  ['shared_rooms', 'People who share a room with me'],
  ['nobody', 'Nobody'],
];

function explain(err, what = '') {
  switch (err.code) {
    case 'network':
    case 'connection_lost':
      return 'Not connected to the server. Try again once you are back online.';
    case 'forbidden':
      return what === 'password' ? 'The current password is not right.' : err.message || 'Not allowed.';
    case 'not_found':
      return what === 'user' ? 'There is no such user.' : err.message || 'Not found.';
    case 'too_large':
      return 'The picture is too large (at most 5 MB).';
    case 'rate_limited':
      return `Too many tries; wait ${Math.max(1, Math.ceil(err.retryAfter ?? 1))} s and try again.`;
    default:
      return err.message || 'Something went wrong.';
  }
}

const codePoints = (text) => Array.from(text).length;

function field(id, label, input) {
  input.id = id;
  return [el('label', { htmlFor: id, text: label }), input];
}

export class ProfileDialog {
  #me;
  #chat;
  #store;
  #navigate;
  #dialog;
  #body;
  #user = null;

  /** `navigate(room)` shows a room (the DM opened by "Message"). */
  constructor({ me, chat, store, navigate }) {
    this.#me = me;
    this.#chat = chat;
    this.#store = store;
    this.#navigate = navigate;
    this.#body = el('div', { class: 'dialog-form profile' });
    this.#dialog = el('dialog', { id: 'dlg-profile', attrs: { 'aria-labelledby': 'dlg-profile-title' } }, this.#body);
    this.#dialog.addEventListener('click', (event) => {
      if (event.target === this.#dialog) this.#dialog.close();
    });
    this.#dialog.addEventListener('close', () => {
      this.#user = null;
    });
    document.body.append(this.#dialog);
    profiles.addEventListener('change', (event) => {
      if (this.#user && event.detail.includes(this.#user)) this.#paintFacts();
    });
    store.addEventListener('change', (event) => {
      if (this.#user && event.detail.what === 'presence') this.#paintFacts();
    });
  }

  /** Show `user`'s profile (the user's own: to edit). */
  open(user) {
    this.#user = user;
    const mine = user === this.#me;
    const close = el('button', { type: 'button', class: 'quiet', text: 'Close', on: { click: () => this.#dialog.close() } });
    const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const buttons = el('div', { class: 'dialog-buttons' });
    if (!mine) {
      const message = el('button', { type: 'button', class: 'primary', text: 'Message' });
      message.addEventListener('click', () => this.#message(user, message, error));
      const block = el('button', { type: 'button', class: 'quiet', id: 'profile-block' });
      const paint = () => {
        block.textContent = blocked.has(user) ? 'Unblock' : 'Block';
      };
      paint();
      block.addEventListener('click', () => this.#toggleBlock(user, block, error, paint));
      buttons.append(block, close, message);
    } else buttons.append(close);
    // replaceChildren() would write a null as the text "null": only nodes go in.
    const own = mine ? this.#ownForms() : null;
    this.#body.replaceChildren(
      el(
        'header',
        { class: 'profile-head' },
        avatarNode(user, 'avatar large'),
        el(
          'div',
          { class: 'profile-names' },
          el('h2', { id: 'dlg-profile-title' }, authorNode(user, 'profile-name')),
          el('p', { class: 'profile-username', text: `@${user}` }),
          el(
            'p',
            { class: 'profile-presence' },
            el('span', { class: 'presence-dot', attrs: { 'aria-hidden': 'true' } }),
            el('span', { class: 'profile-presence-text' }),
            el('span', { class: 'profile-admin', text: ' · server admin', hidden: true }),
          ),
        ),
      ),
      el('p', { class: 'profile-status', hidden: true }),
      ...(own ? [own] : []),
      error,
      buttons,
    );
    this.#paintFacts();
    if (!this.#dialog.open) this.#dialog.showModal();
    (this.#body.querySelector('#profile-display-name') ?? buttons.lastElementChild).focus();
    this.#fetch(user, error);
  }

  async #fetch(user, error) {
    try {
      profiles.learn([await getProfile(user)]);
    } catch (err) {
      if (this.#user === user && !profiles.get(user)) say(error, explain(err, 'user'));
    }
    if (this.#user === user) this.#fillOwn();
  }

  /** Presence, status and the admin mark, from what is known now. */
  #paintFacts() {
    const user = this.#user;
    const body = this.#body;
    const profile = profiles.get(user);
    const presence = user === this.#me ? 'online' : this.#store.presenceOf(user);
    body.querySelector('.profile-presence .presence-dot').dataset.state = presence;
    body.querySelector('.profile-presence-text').textContent = PRESENCE_TEXT[presence];
    body.querySelector('.profile-admin').hidden = !profile?.admin;
    const status = body.querySelector('.profile-status');
    say(status, profile?.status ?? '');
    const remove = body.querySelector('#profile-avatar-remove');
    if (remove) remove.hidden = !profile?.avatar;
  }

  /** The user's own fields, as the profile stands (once, when it has come). */
  #fillOwn() {
    const profile = profiles.get(this.#me);
    const name = this.#body.querySelector('#profile-display-name');
    const status = this.#body.querySelector('#profile-status');
    if (!profile || !name || name.dataset.filled) return;
    name.dataset.filled = 'yes';
    // What the user typed meanwhile stays.
    if (!name.value) name.value = profile.display_name ?? '';
    if (!status.value) status.value = profile.status ?? '';
    this.#paintFacts();
  }

  async #message(user, button, error) {
    say(error, '');
    button.disabled = true;
    try {
      const room = await this.#chat.dm(user);
      this.#dialog.close();
      this.#navigate(room);
    } catch (err) {
      say(error, explain(err, 'user'));
    } finally {
      button.disabled = false;
    }
  }

  async #toggleBlock(user, button, error, paint) {
    say(error, '');
    button.disabled = true;
    try {
      if (blocked.has(user)) {
        await this.#chat.unblock(user);
        blocked.delete(user);
      } else {
        await this.#chat.block(user);
        blocked.add(user);
      }
    } catch (err) {
      say(error, explain(err, 'user'));
    } finally {
      button.disabled = false;
      paint();
    }
  }

  // --- the user's own profile ----------------------------------------------------------

  #ownForms() {
    return el(
      'div',
      { class: 'profile-own' },
      this.#detailsForm(),
      this.#avatarForm(),
      this.#policyForm(),
      this.#passwordForm(),
    );
  }

  /** Who may open a new DM with the user or invite them: saved as soon as it is chosen. */
  #policyForm() {
    const choice = el(
      'select',
      { id: 'profile-dm-policy', disabled: true },
      DM_POLICIES.map(([value, text]) => el('option', { value, text })),
    );
    const note = el('p', { class: 'form-ok', attrs: { role: 'status' }, hidden: true });
    const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const load = async () => {
      try {
        choice.value = await this.#chat.dmPolicy();
        choice.disabled = false;
      } catch (err) {
        say(error, explain(err));
      }
    };
    choice.addEventListener('change', async () => {
      say(note, '');
      say(error, '');
      choice.disabled = true;
      try {
        choice.value = await this.#chat.dmPolicy(choice.value);
        say(note, 'Saved.');
      } catch (err) {
        say(error, explain(err));
      } finally {
        choice.disabled = false;
      }
    });
    load();
    return el(
      'section',
      { class: 'profile-form', id: 'profile-privacy', attrs: { 'aria-label': 'Who may message you' } },
      el('h3', { text: 'Direct messages and invitations' }),
      el('label', { htmlFor: 'profile-dm-policy', text: 'Who may start a DM with you or invite you' }),
      choice,
      el('p', { class: 'hint', text: 'DMs you already have stay open. Blocked users never can.' }),
      note,
      error,
    );
  }

  #detailsForm() {
    const name = el('input', { autocomplete: 'nickname', maxLength: DISPLAY_NAME_MAX * 2, attrs: { 'aria-describedby': 'profile-name-hint' } });
    const status = el('input', { autocomplete: 'off', maxLength: STATUS_MAX * 2 });
    const ok = el('p', { class: 'form-ok', attrs: { role: 'status' }, hidden: true });
    const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const save = el('button', { type: 'submit', class: 'primary', text: 'Save' });
    const form = el(
      'form',
      { class: 'profile-form', id: 'profile-details', attrs: { 'aria-label': 'Your name and status' } },
      ...field('profile-display-name', 'Display name', name),
      el('p', { class: 'hint', id: 'profile-name-hint', text: `Shown instead of your username; up to ${DISPLAY_NAME_MAX} characters. Empty: your username.` }),
      ...field('profile-status', 'Status', status),
      error,
      ok,
      el('div', { class: 'dialog-buttons' }, save),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      say(ok, '');
      say(error, '');
      const fields = { display_name: name.value.trim(), status: status.value.trim() };
      if (codePoints(fields.display_name) > DISPLAY_NAME_MAX) {
        say(error, `A display name has at most ${DISPLAY_NAME_MAX} characters.`);
        return;
      }
      if (codePoints(fields.status) > STATUS_MAX) {
        say(error, `A status has at most ${STATUS_MAX} characters.`);
        return;
      }
      save.disabled = true;
      try {
        profiles.learn([await updateProfile(fields)]);
        say(ok, 'Saved.');
      } catch (err) {
        say(error, explain(err));
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  #avatarForm() {
    const file = el('input', { type: 'file', accept: PICTURES, class: 'visually-hidden' });
    file.id = 'profile-avatar-file';
    file.tabIndex = -1; // reached through its label, which acts as the button
    // The label is the button: a file input's own button cannot be styled or named well.
    const pick = el('label', { htmlFor: 'profile-avatar-file', class: 'button-like', text: 'Upload a picture' });
    const remove = el('button', { type: 'button', class: 'quiet', id: 'profile-avatar-remove', text: 'Remove picture', hidden: true });
    const note = el('p', { class: 'form-ok', attrs: { role: 'status' }, hidden: true });
    const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const run = async (action, done) => {
      say(note, '');
      say(error, '');
      remove.disabled = true;
      file.disabled = true;
      try {
        profiles.learn([await action()]);
        say(note, done);
      } catch (err) {
        say(error, explain(err));
      } finally {
        remove.disabled = false;
        file.disabled = false;
        file.value = '';
        this.#paintFacts();
      }
    };
    file.addEventListener('change', () => {
      const picked = file.files?.[0];
      if (!picked) return;
      if (picked.size > MAX_AVATAR_BYTES) {
        say(error, 'The picture is too large (at most 5 MB).');
        file.value = '';
        return;
      }
      run(() => uploadAvatar(picked), 'Picture changed.');
    });
    remove.addEventListener('click', () => run(() => removeAvatar(), 'Picture removed.'));
    // The label's keyboard: Enter or Space opens the file picker, as a button would.
    pick.tabIndex = 0;
    pick.setAttribute('role', 'button');
    pick.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        file.click();
      }
    });
    return el(
      'section',
      { class: 'profile-avatar', attrs: { 'aria-label': 'Your picture' } },
      el('h3', { text: 'Picture' }),
      el('div', { class: 'profile-avatar-buttons' }, file, pick, remove),
      note,
      error,
    );
  }

  #passwordForm() {
    const old = el('input', { type: 'password', autocomplete: 'current-password', maxLength: 256, required: true });
    const fresh = el('input', { type: 'password', autocomplete: 'new-password', minLength: 8, maxLength: 256, required: true });
    const others = el('input', { type: 'checkbox', id: 'profile-sign-out-others', checked: true });
    const ok = el('p', { class: 'form-ok', attrs: { role: 'status' }, hidden: true });
    const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    const submit = el('button', { type: 'submit', text: 'Change password' });
    const form = el(
      'form',
      { class: 'profile-form', id: 'profile-password', attrs: { 'aria-label': 'Change your password' }, noValidate: true },
      el('h3', { text: 'Password' }),
      ...field('profile-old-password', 'Current password', old),
      ...field('profile-new-password', 'New password', fresh),
      el('p', { class: 'hint', text: 'At least 8 characters.' }),
      el('label', { class: 'check' }, others, ' Sign out my other sessions'),
      error,
      ok,
      el('div', { class: 'dialog-buttons' }, submit),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      say(ok, '');
      say(error, '');
      if (!old.value) {
        say(error, 'Enter your current password.');
        old.focus();
        return;
      }
      if (fresh.value.length < 8) {
        say(error, 'The new password needs at least 8 characters.');
        fresh.focus();
        return;
      }
      submit.disabled = true;
      try {
        await changePassword(old.value, fresh.value, others.checked);
        old.value = '';
        fresh.value = '';
        say(ok, others.checked ? 'Password changed; your other sessions are signed out.' : 'Password changed.');
      } catch (err) {
        say(error, explain(err, 'password'));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }
}
