// The server-settings section of the admin page: the registration mode, guests on or off,
// invite links (create, copy, list, revoke) and guest bans (add, list, remove).
//
// `mountServerSettings(container)` renders into the element given and loads what the server
// has; every change is sent at once and the section shows what the server answered. Nothing
// a user typed is ever parsed as HTML: every text goes through `el()`.

import {
  ApiError,
  banGuests,
  changeServerSettings,
  createInvite,
  getServerSettings,
  listGuestBans,
  listInvites,
  revokeInvite,
  unbanGuests,
} from './api.js';
import { el, say } from './dom.js';

const MODES = [
  ['open', 'Open: anyone may create an account'],
  ['invite', 'By invitation: an invite link is needed'],
  ['closed', 'Closed: no new accounts'],
];
const EXPIRIES = [
  [3600, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];

function when(ms) {
  return new Date(ms).toLocaleString();
}

function problem(err) {
  return err instanceof ApiError ? err.message : String(err);
}

/** Render the section into `container` (emptied first); resolves once it is loaded. */
export async function mountServerSettings(container) {
  const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const mode = el('select', { id: 'settings-registration', attrs: { 'aria-label': 'Registration' } },
    MODES.map(([value, label]) => el('option', { value, text: label })));
  const guests = el('input', { type: 'checkbox', id: 'settings-guests' });
  const source = el('p', { class: 'hint', id: 'settings-source' });

  const expiry = el('select', { id: 'invite-expiry', attrs: { 'aria-label': 'Expires after' } },
    EXPIRIES.map(([seconds, label]) => el('option', { value: String(seconds), text: label })));
  expiry.value = String(7 * 86_400);
  const uses = el('input', {
    type: 'number', id: 'invite-uses', min: '1', max: '1000', placeholder: 'any',
    attrs: { 'aria-label': 'Most uses' },
  });
  const created = el('div', { class: 'invite-created', id: 'invite-created', hidden: true });
  const invites = el('ul', { class: 'settings-list', id: 'invite-list' });

  const banAddress = el('input', {
    id: 'guest-ban-address', placeholder: '203.0.113.7 or 203.0.113.0/24', maxLength: 64,
    attrs: { 'aria-label': 'Address or network' },
  });
  const bans = el('ul', { class: 'settings-list', id: 'guest-ban-list' });

  async function attempt(work) {
    say(error, '');
    try {
      await work();
    } catch (err) {
      say(error, problem(err));
    }
  }

  function showSettings(settings) {
    mode.value = settings.registration;
    guests.checked = settings.guests;
    const set = settings.set;
    const parts = [];
    if (set.registration !== null || set.guests !== null) parts.push('set here (wins over the config)');
    parts.push(`config: ${settings.config.registration}, guests ${settings.config.guests ? 'on' : 'off'}`);
    source.textContent = parts.join('; ');
  }

  function showInvites(list) {
    invites.replaceChildren(...list.map((invite) => el('li', { dataset: { id: invite.id } },
      el('span', {
        text: `${invite.uses}${invite.max_uses === null ? '' : `/${invite.max_uses}`} used,`
          + ` expires ${when(invite.expires_at)}, by ${invite.created_by}`,
      }),
      el('button', {
        type: 'button', class: 'danger', text: 'Revoke',
        on: { click: () => attempt(async () => {
          await revokeInvite(invite.id);
          showInvites(await listInvites());
        }) },
      }))));
    if (!list.length) invites.append(el('li', { class: 'empty-note', text: 'No invite links.' }));
  }

  function showBans(list) {
    bans.replaceChildren(...list.map((address) => el('li', { dataset: { address } },
      el('span', { text: address }),
      el('button', {
        type: 'button', text: 'Remove',
        on: { click: () => attempt(async () => {
          await unbanGuests(address);
          showBans(await listGuestBans());
        }) },
      }))));
    if (!list.length) bans.append(el('li', { class: 'empty-note', text: 'No guest bans.' }));
  }

  mode.addEventListener('change', () => attempt(async () => {
    showSettings(await changeServerSettings({ registration: mode.value }));
  }));
  guests.addEventListener('change', () => attempt(async () => {
    showSettings(await changeServerSettings({ guests: guests.checked }));
  }));

  const createButton = el('button', {
    type: 'button', id: 'invite-create', class: 'primary', text: 'Create invite link',
    on: { click: () => attempt(async () => {
      const made = await createInvite(Number(expiry.value), Number(uses.value) || null);
      const link = el('input', { readOnly: true, value: made.url, id: 'invite-url', attrs: { 'aria-label': 'Invite link' } });
      const copy = el('button', {
        type: 'button', text: 'Copy',
        on: { click: async () => {
          link.select();
          try {
            await navigator.clipboard.writeText(made.url);
            copy.textContent = 'Copied';
          } catch {
            copy.textContent = 'Select and copy it';
          }
        } },
      });
      created.replaceChildren(
        el('p', { class: 'hint', text: 'Shown this once: copy it now.' }), link, copy);
      created.hidden = false;
      showInvites(await listInvites());
    }) },
  });
  const banButton = el('button', {
    type: 'button', id: 'guest-ban-add', text: 'Ban',
    on: { click: () => attempt(async () => {
      await banGuests(banAddress.value.trim());
      banAddress.value = '';
      showBans(await listGuestBans());
    }) },
  });

  container.replaceChildren(el('section', { class: 'server-settings' },
    el('h2', { text: 'Server settings' }),
    error,
    el('h3', { text: 'Registration' }),
    mode,
    el('label', {}, guests, ' Guests (the plain-text clients in lobby)'),
    source,
    el('h3', { text: 'Invite links' }),
    el('div', { class: 'settings-row' }, expiry, uses, createButton),
    created,
    invites,
    el('h3', { text: 'Guest bans' }),
    el('div', { class: 'settings-row' }, banAddress, banButton),
    bans));

  await attempt(async () => {
    const [settings, inviteList, banList] = await Promise.all([
      getServerSettings(), listInvites(), listGuestBans(),
    ]);
    showSettings(settings);
    showInvites(inviteList);
    showBans(banList);
  });
}
