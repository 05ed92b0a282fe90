// The room's outgoing webhooks, a part of its settings dialog (room_settings.js), shown only to
// those who run the room (its owner and admins, server admins): the server shows them to no
// one else, since each copies the room's messages to a third party. Listed with their URL,
// trigger and last delivery; added with the signing secret shown this once; revoked; each
// one's last deliveries shown on demand. Everything the server or a user wrote is shown as
// text (el's `text`: textContent), never as HTML.

import { createOutgoingWebhook, listOutgoingWebhooks, outgoingDeliveries, revokeOutgoingWebhook } from './api.js';
import { el } from './dom.js';
import { formatFull } from './format.js';

const NAME_MAX = 64; // code points, as a display name (core/profiles.py)
const URL_MAX = 2048; // core/outgoing.py
const WORDS_MAX = 10;
const WORD_MAX = 32;

/** Whether `viewer` ({user, role, serverAdmin}) may see and add outgoing webhooks. */
export function mayManage(viewer) {
  return Boolean(viewer) && (viewer.serverAdmin || viewer.role === 'owner' || viewer.role === 'admin');
}

/** The trigger words typed (separated by spaces or commas), or an error to show. */
export function parseWords(text) {
  const words = text.split(/[\s,]+/).filter(Boolean);
  if (!words.length) return { error: 'Give at least one trigger word.' };
  if (words.length > WORDS_MAX) return { error: `At most ${WORDS_MAX} trigger words.` };
  const long = words.find((word) => Array.from(word).length > WORD_MAX);
  if (long) return { error: `A trigger word has at most ${WORD_MAX} characters.` };
  return { words };
}

/** What a hook fires on, in words. */
export function triggerText(hook) {
  if (hook.trigger === 'mention') return `messages mentioning @${hook.username}`;
  if (hook.trigger === 'words') return `messages starting with ${hook.words.join(', ')}`;
  return 'every message';
}

/** A delivery's outcome in a few words: "OK (200)", "HTTP 500 after 5 attempts", "queue full". */
export function deliveryText(delivery) {
  if (!delivery) return 'no delivery yet';
  const tries = delivery.attempts > 1 ? ` after ${delivery.attempts} attempts` : '';
  if (delivery.error) return `${delivery.error}${tries}`;
  return `OK (${delivery.status})${tries}`;
}

/** Whether a delivery went well (for its mark). */
export function deliveryOk(delivery) {
  return Boolean(delivery) && !delivery.error && delivery.status >= 200 && delivery.status < 300;
}

export class OutgoingWebhooksPart {
  element;
  #list;
  #name;
  #url;
  #trigger;
  #words;
  #made;
  #form;
  #report; // says a refusal, or "" to clear it
  #room = null;
  #reading = 0; // the newest read; older answers are dropped

  /** `report(text)`: the dialog shows what went wrong ("" clears it). */
  constructor(report) {
    this.#report = report;
    this.#list = el('ul', { id: 'room-settings-outgoing-webhooks', class: 'room-settings-list' });
    this.#name = el('input', { id: 'outgoing-name', type: 'text', maxLength: NAME_MAX * 2, placeholder: 'Relay' });
    this.#url = el('input', { id: 'outgoing-url', type: 'url', maxLength: URL_MAX, placeholder: 'https://example.org/hubbub' });
    this.#trigger = el(
      'select',
      { id: 'outgoing-trigger' },
      el('option', { value: 'all', text: 'Every message' }),
      el('option', { value: 'mention', text: 'Messages that mention its bot' }),
      el('option', { value: 'words', text: 'Messages starting with a trigger word' }),
    );
    this.#words = el('input', { id: 'outgoing-words', type: 'text', placeholder: 'deploy, status', hidden: true });
    this.#trigger.addEventListener('change', () => {
      this.#words.hidden = this.#trigger.value !== 'words';
    });
    this.#made = el('div', { class: 'webhook-made', hidden: true });
    const add = el('button', { type: 'submit', class: 'quiet', text: 'Add outgoing webhook' });
    const form = (this.#form = el(
      'form',
      { class: 'webhook-form', noValidate: true },
      el('label', {
        htmlFor: 'outgoing-url',
        text: "New outgoing webhook: the room's messages are sent, signed, to this URL outside",
      }),
      this.#name,
      this.#url,
      this.#trigger,
      this.#words,
      add,
    ));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#create(add);
    });
    this.element = el(
      'section',
      { id: 'room-settings-outgoing', class: 'room-settings-part', hidden: true, attrs: { 'aria-labelledby': 'room-settings-outgoing-title' } },
      el('h3', { id: 'room-settings-outgoing-title', text: 'Outgoing webhooks' }),
      this.#list,
      this.#made,
    );
  }

  /** Show the hooks of `room` (null: none, the dialog closed) if `viewer` runs it. */
  open(room, viewer) {
    if (room !== this.#room) {
      this.#made.replaceChildren();
      this.#made.hidden = true;
      this.#name.value = '';
      this.#url.value = '';
      this.#words.value = '';
    }
    this.#room = room;
    this.element.hidden = !room || !mayManage(viewer);
    // Nothing of it is in the page for the others, not even hidden.
    if (this.element.hidden) {
      this.#form.remove();
      this.#list.replaceChildren();
      this.#made.replaceChildren();
      this.#made.hidden = true;
      return;
    }
    if (this.#form.parentNode !== this.element) this.element.append(this.#form);
    this.#read();
  }

  async #read() {
    const room = this.#room;
    const reading = ++this.#reading;
    try {
      const hooks = await listOutgoingWebhooks(room);
      if (reading === this.#reading && room === this.#room) this.#paint(hooks);
    } catch (err) {
      if (reading === this.#reading && room === this.#room) this.#report(err.message);
    }
  }

  #paint(hooks) {
    this.#list.replaceChildren(
      ...hooks.map(({ hook, last_delivery: last }) => {
        const deliveries = el('ol', { class: 'outgoing-deliveries', hidden: true });
        const show = el('button', {
          type: 'button',
          class: 'quiet',
          text: 'Deliveries',
          attrs: { 'aria-label': `Deliveries: ${hook.name}`, 'aria-expanded': 'false' },
          on: { click: (event) => this.#toggleDeliveries(hook, deliveries, event.currentTarget) },
        });
        const revoke = el('button', {
          type: 'button',
          class: 'quiet danger',
          text: 'Revoke',
          attrs: { 'aria-label': `Revoke: ${hook.name}` },
          on: { click: (event) => this.#revoke(hook, event.currentTarget) },
        });
        return el(
          'li',
          { dataset: { hook: hook.id } },
          el('span', { class: 'member-names' }, el('span', { class: 'member-name', text: hook.name }), el('span', { class: 'member-username outgoing-url', text: hook.url })),
          el('span', { class: 'member-facts', text: `On ${triggerText(hook)}` }),
          el('span', { class: `outgoing-last ${deliveryOk(last) ? 'ok' : last ? 'failed' : ''}`, text: `Last delivery: ${deliveryText(last)}` }),
          el('span', { class: 'member-actions' }, show, revoke),
          deliveries,
        );
      }),
    );
    if (!hooks.length) this.#list.append(el('li', { class: 'empty-note', text: 'No outgoing webhooks.' }));
  }

  async #toggleDeliveries(hook, list, button) {
    if (!list.hidden) {
      list.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    const room = this.#room;
    button.disabled = true;
    try {
      const found = await outgoingDeliveries(room, hook.id);
      if (room !== this.#room) return;
      list.replaceChildren(
        ...found.map((d) =>
          el('li', { class: deliveryOk(d) ? 'ok' : 'failed', text: `#${d.seq} · ${deliveryText(d)} · ${d.duration_ms} ms · ${formatFull(d.at)}` }),
        ),
      );
      if (!found.length) list.append(el('li', { class: 'empty-note', text: 'No deliveries yet.' }));
      list.hidden = false;
      button.setAttribute('aria-expanded', 'true');
    } catch (err) {
      this.#report(err.message);
    } finally {
      button.disabled = false;
    }
  }

  async #create(button) {
    const name = this.#name.value.trim();
    const url = this.#url.value.trim();
    const trigger = this.#trigger.value;
    if (!name) return this.#report('An outgoing webhook needs a name.');
    if (Array.from(name).length > NAME_MAX) return this.#report(`A webhook's name has at most ${NAME_MAX} characters.`);
    if (!/^https?:\/\//i.test(url)) return this.#report('Give an http:// or https:// URL.');
    let words = [];
    if (trigger === 'words') {
      const parsed = parseWords(this.#words.value);
      if (parsed.error) return this.#report(parsed.error);
      words = parsed.words;
    }
    this.#report('');
    button.disabled = true;
    try {
      const made = await createOutgoingWebhook(this.#room, { name, url, trigger, words });
      this.#name.value = '';
      this.#url.value = '';
      this.#words.value = '';
      const secret = el('input', { type: 'text', class: 'webhook-url outgoing-secret', readOnly: true, value: made.secret, attrs: { 'aria-label': `The signing secret of ${made.hook.name}` } });
      secret.addEventListener('focus', () => secret.select());
      this.#made.replaceChildren(
        el('p', { text: `Copy the signing secret of “${made.hook.name}” now: it is shown only this once. Each delivery's X-Hubbub-Signature is an HMAC-SHA256 made with it.` }),
        secret,
      );
      this.#made.hidden = false;
      secret.focus();
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
      await revokeOutgoingWebhook(this.#room, hook.id);
      this.#report('');
      this.#read();
    } catch (err) {
      this.#report(err.message);
      button.disabled = false;
    }
  }
}
