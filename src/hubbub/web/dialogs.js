// The dialogs: new room, public rooms, invite, message someone.
//
// Native <dialog> elements opened with showModal(): focus moves into the dialog, stays
// there, goes back to the opener on close, and Esc closes it.

import { byId, el, say } from './dom.js';
import { ROOM_NAME, USERNAME } from './limits.js';

function explain(err, subject, what = 'user') {
  switch (err.code) {
    case 'connection_lost':
      return 'Not connected to the server. Try again once you are back online.';
    case 'conflict':
      return `A room named “${subject}” already exists. Pick another name, or browse to join it.`;
    case 'not_found':
      return `There is no ${what} named “${subject}”.`;
    case 'forbidden':
      return err.message ? `Not allowed: ${err.message}.` : 'Not allowed.';
    case 'rate_limited':
      return `Too many requests; try again in ${Math.ceil(err.retryAfter ?? 1)} s.`;
    default:
      return err.message || 'Something went wrong.';
  }
}

function setup(dialog) {
  for (const button of dialog.querySelectorAll('[data-close]')) {
    button.addEventListener('click', () => dialog.close());
  }
  // Clicking the backdrop (outside the box) closes too.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
  return dialog;
}

/** Run `action` for a form, showing its error in the form and keeping the dialog open. */
function onSubmit(form, action) {
  const error = form.querySelector('.form-error');
  const submit = form.querySelector('button[type=submit]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    say(error, '');
    submit.disabled = true;
    try {
      await action();
    } catch (err) {
      say(error, err.userMessage || String(err.message || err));
    } finally {
      submit.disabled = false;
    }
  });
}

function fail(message) {
  const err = new Error(message);
  err.userMessage = message;
  return err;
}

export class Dialogs {
  constructor({ chat, navigate, activeRoom }) {
    this.chat = chat;
    this.navigate = navigate;
    this.activeRoom = activeRoom;
    this.#setupCreate();
    this.#setupBrowse();
    this.#setupInvite();
    this.#setupDm();
  }

  #open(dialog, focus) {
    for (const node of dialog.querySelectorAll('.form-error, .form-ok')) say(node, '');
    dialog.showModal();
    focus?.focus();
  }

  #setupCreate() {
    const dialog = setup(byId('dlg-create'));
    const name = byId('create-name');
    byId('open-create').addEventListener('click', () => {
      name.value = '';
      this.#open(dialog, name);
    });
    onSubmit(byId('create-form'), async () => {
      const wanted = name.value.trim();
      if (!ROOM_NAME.test(wanted)) {
        throw fail('Use 1–64 letters, digits, “_” or “-”, starting with a letter or digit.');
      }
      const isPrivate = dialog.querySelector('input[value=private]').checked;
      try {
        const room = await this.chat.create(wanted, isPrivate);
        dialog.close();
        this.navigate(room);
      } catch (err) {
        throw fail(explain(err, wanted.toLowerCase()));
      }
    });
  }

  #setupBrowse() {
    const dialog = setup(byId('dlg-browse'));
    const list = byId('directory-list');
    const error = dialog.querySelector('.form-error');
    byId('open-browse').addEventListener('click', async () => {
      list.replaceChildren(el('li', { class: 'empty-note', text: 'Loading…' }));
      this.#open(dialog);
      try {
        const rooms = await this.chat.directory();
        list.replaceChildren(...rooms.map((room) => this.#directoryEntry(room, dialog, error)));
        if (!rooms.length) list.append(el('li', { class: 'empty-note', text: 'No public rooms yet.' }));
        list.querySelector('button')?.focus();
      } catch (err) {
        list.replaceChildren();
        say(error, explain(err, ''));
      }
    });
  }

  #directoryEntry(room, dialog, error) {
    const joined = this.chat.isMember(room.name);
    const members = `${room.members} member${room.members === 1 ? '' : 's'}`;
    const button = el('button', {
      type: 'button',
      class: joined ? 'quiet' : 'primary',
      text: joined ? 'Open' : 'Join',
      attrs: { 'aria-label': `${joined ? 'Open' : 'Join'} ${room.name}` },
      on: {
        click: async () => {
          button.disabled = true;
          try {
            const name = joined ? room.name : await this.chat.join(room.name);
            dialog.close();
            this.navigate(name);
          } catch (err) {
            say(error, explain(err, room.name, 'room'));
          } finally {
            button.disabled = false;
          }
        },
      },
    });
    return el(
      'li',
      { dataset: { room: room.name } },
      el('span', { class: 'room-icon public', text: '#', attrs: { 'aria-hidden': 'true' } }),
      el(
        'span',
        { class: 'dir-name' },
        el('span', { class: 'dir-title', text: room.title || room.name }),
        room.title ? el('span', { class: 'dir-address', text: ` #${room.name}` }) : null,
        room.topic ? el('span', { class: 'dir-topic', text: room.topic }) : null,
      ),
      el('span', { class: 'dir-members', text: members }),
      button,
    );
  }

  #setupInvite() {
    const dialog = setup(byId('dlg-invite'));
    const user = byId('invite-user');
    const form = byId('invite-form');
    const ok = form.querySelector('.form-ok');
    const members = byId('invite-members');
    const showMembers = async (room) => {
      try {
        const { users } = await this.chat.members(room);
        members.textContent = `Members: ${users.join(', ')}`;
      } catch {
        members.textContent = '';
      }
    };
    byId('open-invite').addEventListener('click', () => {
      const room = this.activeRoom();
      if (!room) return;
      byId('dlg-invite-title').textContent = `Invite to ${room}`;
      user.value = '';
      members.textContent = '';
      this.#open(dialog, user);
      showMembers(room);
    });
    onSubmit(form, async () => {
      say(ok, '');
      const room = this.activeRoom();
      const who = user.value.trim().toLowerCase();
      if (!USERNAME.test(who)) throw fail('Enter a username.');
      try {
        await this.chat.invite(room, who);
      } catch (err) {
        throw fail(explain(err, who));
      }
      say(ok, `Invited ${who} to ${room}: they join once they accept.`);
      user.value = '';
      showMembers(room);
    });
  }

  #setupDm() {
    const dialog = setup(byId('dlg-dm'));
    const user = byId('dm-user');
    byId('open-dm').addEventListener('click', () => {
      user.value = '';
      this.#open(dialog, user);
    });
    onSubmit(byId('dm-form'), async () => {
      const who = user.value.trim().toLowerCase();
      if (!USERNAME.test(who)) throw fail('Enter a username.');
      try {
        const room = await this.chat.dm(who);
        dialog.close();
        this.navigate(room);
      } catch (err) {
        throw fail(explain(err, who));
      }
    });
  }
}
