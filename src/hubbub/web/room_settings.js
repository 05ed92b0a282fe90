// The room's settings, in a dialog opened from the room's header. Its owner, its admins and
// server admins change them (topic, public or private, and the title and how long
// messages are kept where the server tells them) and moderate its members: make admin or
// member again (the owner), mute for a while or until lifted, unmute, kick, ban with a
// reason, and lift bans. A member sees the same settings and members, read-only. The room's
// incoming webhooks are a part of their own (webhooks.js), its outgoing ones another
// (outgoing_webhooks.js).
//
// Only the actions the viewer's rank allows on each member are offered (moderation.js); the
// server still decides, and a refusal is shown in the dialog in the server's words. The
// dialog and its nodes are made here, so the page's HTML does not change. Everything users
// wrote (a topic, a reason, a title) is shown as text.

import { byId, el, say } from './dom.js';
import { formatFull, formatTime, roomLabel } from './format.js';
import { MUTE_CHOICES, mayModerate, memberActions, muteUntil, untilText } from './moderation.js';
import { authorNode, profiles } from './profiles.js';
import { OutgoingWebhooksPart } from './outgoing_webhooks.js';
import { WebhooksPart } from './webhooks.js';

const TOPIC_MAX = 250; // code points, as the server counts (core/moderation.py)
const TITLE_MAX = 64;
const REASON_MAX = 250;
const RETENTION_MAX = 36_500;
const SERVER_RETENTION = -1; // in `room_settings`: back to the server's setting
// Room events after which the lists are read again while the dialog is open.
const REREAD = new Set([
  'member_joined',
  'member_left',
  'member_kicked',
  'member_banned',
  'member_unbanned',
  'member_muted',
  'member_unmuted',
  'role_changed',
]);
const ACTION_TEXT = {
  'make-admin': 'Make admin',
  'make-member': 'Make member',
  mute: 'Mute…',
  unmute: 'Unmute',
  kick: 'Kick',
  ban: 'Ban…',
};
const codePoints = (text) => Array.from(text).length;
const formats = { time: formatTime, full: formatFull };

function explain(err) {
  switch (err.code) {
    case 'connection_lost':
      return 'Not connected to the server. Try again once you are back online.';
    case 'rate_limited':
      return `Too many requests; try again in ${Math.max(1, Math.ceil(err.retryAfter ?? 1))} s.`;
    default: {
      // The server's own words say what was refused and why.
      const text = err.message || 'Something went wrong.';
      return text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');
    }
  }
}

export class RoomSettings {
  #me;
  #chat;
  #store;
  #mutes;
  #button;
  #dialog;
  #title;
  #error;
  #ok;
  #settings; // the settings' part: a form, or facts
  #members;
  #bansPart;
  #bans;
  #webhooks = new WebhooksPart((text) => say(this.#error, text ? explain({ message: text }) : ''));
  #outgoing = new OutgoingWebhooksPart((text) => say(this.#error, text ? explain({ message: text }) : ''));
  #room = null; // the room shown while open
  #rereadTimer = null;
  #reading = 0; // the newest read of the lists; older answers are dropped

  /** `mutes`: moderation.js `Mutes`, who is muted now. */
  constructor({ me, chat, store, mutes }) {
    this.#me = me;
    this.#chat = chat;
    this.#store = store;
    this.#mutes = mutes;
    this.#button = el('button', {
      type: 'button',
      id: 'open-room-settings',
      class: 'quiet',
      text: 'Settings',
      hidden: true,
      title: "The room's settings and members",
      attrs: { 'aria-haspopup': 'dialog', 'aria-label': 'Room settings' },
    });
    this.#button.addEventListener('click', () => this.open(this.#store.room(this.#chat.active) ? this.#chat.active : null));
    byId('open-invite').before(this.#button);

    this.#title = el('h2', { id: 'dlg-room-settings-title' });
    this.#error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
    this.#ok = el('p', { class: 'form-ok', attrs: { role: 'status' }, hidden: true });
    this.#settings = el('div', { class: 'room-settings-part' });
    this.#members = el('ul', { id: 'room-settings-members', class: 'room-settings-list' });
    this.#bans = el('ul', { id: 'room-settings-bans', class: 'room-settings-list' });
    this.#bansPart = el(
      'section',
      { class: 'room-settings-part', hidden: true, attrs: { 'aria-labelledby': 'room-settings-bans-title' } },
      el('h3', { id: 'room-settings-bans-title', text: 'Banned' }),
      this.#bans,
    );
    const close = el('button', { type: 'button', class: 'quiet', text: 'Close' });
    close.addEventListener('click', () => this.#dialog.close());
    this.#dialog = el(
      'dialog',
      { id: 'dlg-room-settings', class: 'room-settings', attrs: { 'aria-labelledby': 'dlg-room-settings-title' } },
      el(
        'div',
        { class: 'dialog-form' },
        this.#title,
        this.#error,
        this.#ok,
        this.#settings,
        el(
          'section',
          { class: 'room-settings-part', attrs: { 'aria-labelledby': 'room-settings-members-title' } },
          el('h3', { id: 'room-settings-members-title', text: 'Members' }),
          this.#members,
        ),
        this.#bansPart,
        this.#webhooks.element,
        this.#outgoing.element,
        el('div', { class: 'dialog-buttons' }, close),
      ),
    );
    this.#dialog.addEventListener('click', (event) => {
      if (event.target === this.#dialog) this.#dialog.close();
    });
    this.#dialog.addEventListener('close', () => {
      this.#room = null;
      this.#webhooks.open(null, null);
      this.#outgoing.open(null, null);
      clearTimeout(this.#rereadTimer);
    });
    document.body.append(this.#dialog);
    store.addEventListener('added', ({ detail }) => {
      if (detail.room !== this.#room) return;
      if (detail.events.some((event) => event.type === 'room_changed')) this.#paintSettings();
      if (detail.events.some((event) => REREAD.has(event.type))) this.#rereadSoon();
    });
  }

  /** The header's button: in any room but a DM the user is in (and not removed from). */
  update(room) {
    this.#button.hidden = !room || room.kind === 'dm' || Boolean(room.removed);
    if (this.#room && (!room || room.name !== this.#room || room.removed)) this.#dialog.close();
  }

  open(name) {
    const room = name ? this.#store.room(name) : null;
    if (!room || room.kind === 'dm') return;
    this.#room = name;
    say(this.#error, '');
    say(this.#ok, '');
    this.#members.replaceChildren(el('li', { class: 'empty-note', text: 'Loading…' }));
    this.#bans.replaceChildren();
    this.#paintSettings();
    this.#dialog.showModal();
    this.#read();
  }

  #viewer() {
    const room = this.#store.room(this.#room);
    return {
      user: this.#me,
      role: room?.role ?? 'member',
      serverAdmin: Boolean(profiles.get(this.#me)?.admin),
      kind: room?.kind ?? 'public',
    };
  }

  // --- the settings ------------------------------------------------------------------

  /** `ifRoleChanged`: only if the viewer became a moderator or stopped being one. */
  #paintSettings({ ifRoleChanged = false } = {}) {
    const room = this.#store.room(this.#room);
    if (!room) return;
    const viewer = this.#viewer();
    const moderator = mayModerate(viewer);
    if (ifRoleChanged && this.#dialog.dataset.moderator === (moderator ? 'yes' : 'no')) return;
    const label = roomLabel(room.name, room.kind, this.#me);
    this.#title.textContent = moderator ? `Settings of #${label}` : `About #${label}`;
    this.#dialog.dataset.moderator = moderator ? 'yes' : 'no';
    const settings = room.settings;
    if (!moderator) {
      const facts = el('dl', { class: 'room-facts' });
      const fact = (term, value) => facts.append(el('dt', { text: term }), el('dd', { text: value }));
      if ('title' in settings) fact('Title', settings.title || 'None: the name is shown');
      fact('Topic', settings.topic || (settings.topic === '' ? 'No topic' : 'Not known yet'));
      fact('Visibility', room.kind === 'private' ? 'Private: by invitation' : 'Public: anyone may join');
      if ('retention_days' in settings) fact('Messages kept', retentionText(settings.retention_days));
      this.#settings.replaceChildren(facts);
      this.#settings.id = 'room-settings-facts';
      return;
    }
    // A form being edited is not redrawn under the user's hands.
    if (this.#settings.querySelector('form') && this.#settings.contains(document.activeElement)) return;
    this.#settings.replaceChildren(this.#form(room));
    this.#settings.id = 'room-settings-form-part';
  }

  #form(room) {
    const settings = room.settings;
    const title = 'title' in settings ? el('input', { id: 'room-title', type: 'text', value: settings.title ?? '', maxLength: TITLE_MAX * 2 }) : null;
    const topic = el('input', { id: 'room-topic', type: 'text', value: settings.topic ?? '', maxLength: TOPIC_MAX * 2 });
    topic.placeholder = 'What the room is about';
    const radio = (value, text) =>
      el('label', {}, el('input', { type: 'radio', name: 'room-privacy', value, checked: room.kind === value }), text);
    const retention =
      'retention_days' in settings
        ? el('input', { id: 'room-retention', type: 'number', min: '0', max: String(RETENTION_MAX), step: '1' })
        : null;
    if (retention) {
      retention.value = settings.retention_days === null || settings.retention_days === undefined ? '' : String(settings.retention_days);
      retention.placeholder = "The server's setting";
    }
    const save = el('button', { type: 'submit', class: 'primary', text: 'Save' });
    const form = el(
      'form',
      { id: 'room-settings-form', noValidate: true },
      title ? [el('label', { htmlFor: 'room-title', text: 'Title (shown instead of the name; the address stays)' }), title] : null,
      el('label', { htmlFor: 'room-topic', text: 'Topic' }),
      topic,
      el('fieldset', { class: 'choice' }, el('legend', { text: 'Who may join' }), radio('public', 'Public: anyone'), radio('private', 'Private: by invitation')),
      retention
        ? [el('label', { htmlFor: 'room-retention', text: 'Keep messages for (days; 0: forever; empty: the server’s setting)' }), retention]
        : null,
      el('div', { class: 'dialog-buttons' }, save),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const changes = this.#changes(room, { title, topic, retention, form });
      if (typeof changes === 'string') return say(this.#error, changes);
      if (!Object.keys(changes).length) return say(this.#ok, 'Nothing to change.');
      await this.#act(save, () => this.#chat.roomSettings(room.name, changes), 'Saved.');
    });
    return form;
  }

  /** The settings that differ from the room's, or what is wrong with the form. */
  #changes(room, { title, topic, retention, form }) {
    const changes = {};
    const settings = room.settings;
    const newTopic = topic.value.trim();
    if (codePoints(newTopic) > TOPIC_MAX) return `A topic has at most ${TOPIC_MAX} characters.`;
    if (newTopic !== (settings.topic ?? '')) changes.topic = newTopic;
    const isPrivate = form.querySelector('input[name=room-privacy]:checked')?.value === 'private';
    if (isPrivate !== (room.kind === 'private')) changes.private = isPrivate;
    if (title) {
      const newTitle = title.value.trim();
      if (codePoints(newTitle) > TITLE_MAX) return `A title has at most ${TITLE_MAX} characters.`;
      if (newTitle !== (settings.title ?? '')) changes.title = newTitle;
    }
    if (retention) {
      const text = retention.value.trim();
      const days = text === '' ? null : Number(text);
      if (days !== null && !(Number.isInteger(days) && days >= 0 && days <= RETENTION_MAX)) {
        return `Keep messages for a whole number of days, from 0 (forever) to ${RETENTION_MAX}, or leave it empty.`;
      }
      if (days !== (settings.retention_days ?? null)) changes.retention_days = days ?? SERVER_RETENTION;
    }
    return changes;
  }

  // --- members and bans --------------------------------------------------------------

  #rereadSoon() {
    clearTimeout(this.#rereadTimer);
    this.#rereadTimer = setTimeout(() => this.#room && this.#read(), 150);
  }

  async #read() {
    const room = this.#room;
    const reading = ++this.#reading;
    const moderator = mayModerate(this.#viewer());
    this.#webhooks.open(room, this.#viewer()); // read again with the members
    this.#outgoing.open(room, this.#viewer());
    try {
      const [listed, bans] = await Promise.all([
        this.#chat.members(room),
        moderator ? this.#chat.bans(room) : Promise.resolve(null),
      ]);
      if (reading !== this.#reading || room !== this.#room) return;
      this.#paintSettings({ ifRoleChanged: true }); // made an admin, or a member again
      this.#paintMembers(listed);
      this.#bansPart.hidden = bans === null;
      if (bans !== null) this.#paintBans(bans);
    } catch (err) {
      if (reading === this.#reading && room === this.#room) say(this.#error, explain(err));
    }
  }

  #paintMembers({ users, roles }) {
    const viewer = this.#viewer();
    const now = Date.now();
    // A mute or ban being asked for stays open, and focused, across the redraw.
    const form = this.#members.querySelector('.member-form');
    const formUser = form?.closest('li')?.dataset.user;
    const focused = form?.contains(document.activeElement) ? document.activeElement : null;
    this.#members.replaceChildren(
      ...users.map((user) => {
        const role = roles[user] ?? 'member';
        const mutedNow = this.#mutes.state(this.#room, user, now);
        const member = { user, role, serverAdmin: Boolean(profiles.get(user)?.admin), muted: mutedNow.muted };
        const facts = [role === 'member' ? '' : role, member.serverAdmin ? 'server admin' : ''];
        if (member.muted) facts.push(`muted ${mutedNow.until === null ? 'until lifted' : untilText(mutedNow.until, now, formats)}`);
        if (user === this.#me) facts.push('you');
        const buttons = memberActions(viewer, member).map((action) =>
          el('button', {
            type: 'button',
            class: action === 'ban' || action === 'kick' ? 'quiet danger' : 'quiet',
            text: ACTION_TEXT[action],
            dataset: { action },
            attrs: { 'aria-label': `${ACTION_TEXT[action].replace('…', '')}: ${user}` },
            on: { click: (event) => this.#onAction(action, user, event.currentTarget) },
          }),
        );
        return el(
          'li',
          { dataset: { user } },
          el('span', { class: 'member-names' }, authorNode(user, 'member-name'), el('span', { class: 'member-username', text: `@${user}` })),
          el('span', { class: 'member-facts', text: facts.filter(Boolean).join(' · ') }),
          buttons.length ? el('span', { class: 'member-actions' }, ...buttons) : null,
        );
      }),
    );
    if (!users.length) this.#members.append(el('li', { class: 'empty-note', text: 'No members.' }));
    const entry = formUser && this.#members.querySelector(`li[data-user="${CSS.escape(formUser)}"]`);
    if (entry && entry.querySelector(`[data-action="${form.dataset.action}"]`)) {
      entry.append(form);
      focused?.focus();
    }
  }

  #paintBans(bans) {
    this.#bans.replaceChildren(
      ...bans.map((ban) =>
        el(
          'li',
          { dataset: { user: ban.user } },
          el('span', { class: 'member-names' }, el('span', { class: 'member-name', text: `@${ban.user}` })),
          el('span', {
            class: 'member-facts',
            text: `by ${profiles.displayName(ban.by)}, ${formatFull(ban.ts)}${ban.reason ? `: ${ban.reason}` : ''}`,
          }),
          el(
            'span',
            { class: 'member-actions' },
            el('button', {
              type: 'button',
              class: 'quiet',
              text: 'Unban',
              dataset: { action: 'unban' },
              attrs: { 'aria-label': `Unban: ${ban.user}` },
              on: { click: (event) => this.#onAction('unban', ban.user, event.currentTarget) },
            }),
          ),
        ),
      ),
    );
    if (!bans.length) this.#bans.append(el('li', { class: 'empty-note', text: 'Nobody is banned.' }));
  }

  #onAction(action, user, button) {
    const room = this.#room;
    const chat = this.#chat;
    const name = profiles.displayName(user);
    switch (action) {
      case 'make-admin':
        return this.#act(button, () => chat.setRole(room, user, 'admin'), `${name} is an admin now.`);
      case 'make-member':
        return this.#act(button, () => chat.setRole(room, user, 'member'), `${name} is a member now.`);
      case 'unmute':
        return this.#act(button, () => chat.unmute(room, user), `${name} may write again.`);
      case 'kick':
        return this.#act(button, () => chat.kick(room, user), `${name} was removed from the room.`);
      case 'unban':
        return this.#act(button, () => chat.unban(room, user), `${name} may come back.`);
      case 'mute':
      case 'ban':
        return this.#inlineForm(action, user, button);
      default:
        return undefined;
    }
  }

  /** Mute (how long?) and ban (why?) ask first, under the member, then act. */
  #inlineForm(action, user, button) {
    const entry = button.closest('li');
    entry.querySelector('.member-form')?.remove();
    const name = profiles.displayName(user);
    const cancel = el('button', { type: 'button', class: 'quiet', text: 'Cancel' });
    const confirm = el('button', { type: 'submit', class: action === 'ban' ? 'danger' : 'primary', text: action === 'ban' ? 'Ban' : 'Mute' });
    let field;
    if (action === 'mute') {
      field = el(
        'select',
        { class: 'mute-length', attrs: { 'aria-label': `How long to mute ${user}` } },
        ...MUTE_CHOICES.map((choice) => el('option', { value: choice.id, text: choice.label })),
      );
    } else {
      field = el('input', { type: 'text', class: 'ban-reason', maxLength: REASON_MAX * 2, placeholder: 'Reason (optional)' });
      field.setAttribute('aria-label', `Why ${user} is banned`);
    }
    const form = el('form', { class: 'member-form', noValidate: true, dataset: { action } }, field, confirm, cancel);
    cancel.addEventListener('click', () => {
      const opener = form.closest('li')?.querySelector(`[data-action="${action}"]`);
      form.remove();
      opener?.focus();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const room = this.#room;
      if (action === 'mute') {
        const until = muteUntil(field.value, Date.now());
        const how = until === null ? 'until lifted' : untilText(until, Date.now(), formats);
        await this.#act(confirm, () => this.#chat.mute(room, user, until), `${name} is muted ${how}.`);
      } else {
        const reason = field.value.trim();
        if (codePoints(reason) > REASON_MAX) return say(this.#error, `A reason has at most ${REASON_MAX} characters.`);
        await this.#act(confirm, () => this.#chat.ban(room, user, reason), `${name} is banned.`);
      }
    });
    entry.append(form);
    field.focus();
  }

  /** Run a request from `button`; its refusal is shown plainly, its success said. */
  async #act(button, request, done) {
    say(this.#error, '');
    say(this.#ok, '');
    button.disabled = true;
    try {
      await request();
      button.closest('.member-form')?.remove();
      say(this.#ok, done);
      this.#rereadSoon();
    } catch (err) {
      say(this.#error, explain(err));
    } finally {
      button.disabled = false;
    }
  }
}

function retentionText(days) {
  if (days === null || days === undefined) return "The server's setting";
  if (days === 0) return 'Forever';
  return `${days} day${days === 1 ? '' : 's'}`;
}
