// The room's incoming webhooks, a part of its settings dialog (room_settings.js): listed to
// its members without secrets, added by those who change the room's settings (its owner and
// admins, server admins; any member may over the HTTP API), the URL, which holds the secret,
// shown this once to copy; revoked by its creator, the room's owner and admins, and server
// admins. Over the HTTP API (api.js); names are shown as text; refusals are the dialog's.

import { createWebhook, listWebhooks, revokeWebhook } from './api.js';
import { el } from './dom.js';
import { formatFull } from './format.js';
import { profiles } from './profiles.js';

const NAME_MAX = 64; // code points, as a display name (core/profiles.py)

/** Whether `viewer` ({user, role, serverAdmin}) may revoke `hook`, as the server decides. */
export function mayRevoke(viewer, hook) {
  return viewer.serverAdmin || hook.created_by === viewer.user || viewer.role === 'owner' || viewer.role === 'admin';
}

/** Whether the dialog offers `viewer` to add a webhook: as it offers to change the room. */
export function mayAdd(viewer) {
  return viewer.serverAdmin || viewer.role === 'owner' || viewer.role === 'admin';
}

export class WebhooksPart {
  element;
  #list;
  #name;
  #form;
  #made;
  #report; // says a refusal, or "" to clear it
  #room = null;
  #viewer = null;
  #reading = 0; // the newest read; older answers are dropped

  /** `report(text)`: the dialog shows what went wrong ("" clears it). */
  constructor(report) {
    this.#report = report;
    this.#list = el('ul', { id: 'room-settings-webhooks', class: 'room-settings-list' });
    this.#name = el('input', { id: 'webhook-name', type: 'text', maxLength: NAME_MAX * 2, placeholder: 'Deploys' });
    this.#made = el('div', { class: 'webhook-made', hidden: true });
    const add = el('button', { type: 'submit', class: 'quiet', text: 'Add webhook' });
    const form = (this.#form = el(
      'form',
      { class: 'webhook-form', noValidate: true },
      el('label', { htmlFor: 'webhook-name', text: 'New webhook: its name, shown on its messages' }),
      this.#name,
      add,
    ));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#create(add);
    });
    this.element = el(
      'section',
      { class: 'room-settings-part', attrs: { 'aria-labelledby': 'room-settings-webhooks-title' } },
      el('h3', { id: 'room-settings-webhooks-title', text: 'Webhooks' }),
      this.#list,
      this.#made,
    );
  }

  /** Show the webhooks of `room` (null: none, the dialog closed) as `viewer` may act. */
  open(room, viewer) {
    if (room !== this.#room) {
      this.#made.replaceChildren();
      this.#made.hidden = true;
      this.#name.value = '';
    }
    this.#room = room;
    this.#viewer = viewer;
    if (!room) return;
    // Offered only to those who may change the room: the others' dialog stays read-only.
    if (!mayAdd(viewer)) this.#form.remove();
    else if (this.#form.parentNode !== this.element) this.element.append(this.#form);
    this.#read();
  }

  async #read() {
    const room = this.#room;
    const reading = ++this.#reading;
    try {
      const hooks = await listWebhooks(room);
      if (reading === this.#reading && room === this.#room) this.#paint(hooks);
    } catch (err) {
      if (reading === this.#reading && room === this.#room) this.#report(err.message);
    }
  }

  #paint(hooks) {
    this.#list.replaceChildren(
      ...hooks.map((hook) => {
        const revoke = mayRevoke(this.#viewer, hook)
          ? el('button', {
              type: 'button',
              class: 'quiet danger',
              text: 'Revoke',
              attrs: { 'aria-label': `Revoke: ${hook.name}` },
              on: { click: (event) => this.#revoke(hook, event.currentTarget) },
            })
          : null;
        return el(
          'li',
          { dataset: { hook: hook.id } },
          el('span', { class: 'member-names' }, el('span', { class: 'member-name', text: hook.name }), el('span', { class: 'member-username', text: `@${hook.username}` })),
          el('span', { class: 'member-facts', text: `by ${profiles.displayName(hook.created_by)}, ${formatFull(hook.created_at)}` }),
          revoke ? el('span', { class: 'member-actions' }, revoke) : null,
        );
      }),
    );
    if (!hooks.length) this.#list.append(el('li', { class: 'empty-note', text: 'No webhooks.' }));
  }

  async #create(button) {
    const name = this.#name.value.trim();
    if (!name) return this.#report('A webhook needs a name.');
    if (Array.from(name).length > NAME_MAX) return this.#report(`A webhook's name has at most ${NAME_MAX} characters.`);
    this.#report('');
    button.disabled = true;
    try {
      const made = await createWebhook(this.#room, name);
      this.#name.value = '';
      const url = el('input', { type: 'text', class: 'webhook-url', readOnly: true, value: made.url, attrs: { 'aria-label': `The URL of ${made.name}` } });
      url.addEventListener('focus', () => url.select());
      this.#made.replaceChildren(el('p', { text: `Copy the URL of “${made.name}” now: it holds its secret and is shown only this once. POST {"text": "…"} to it.` }), url);
      this.#made.hidden = false;
      url.focus();
      this.#read();
    } catch (err) {
      this.#report(err.message);
    } finally {
      button.disabled = false;
    }
  }

  async #revoke(hook, button) {
    button.disabled = true;
    try {
      await revokeWebhook(this.#room, hook.id);
      this.#report('');
      this.#read();
    } catch (err) {
      this.#report(err.message);
      button.disabled = false;
    }
  }
}
