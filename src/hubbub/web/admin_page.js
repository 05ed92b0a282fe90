// The server admin page: a dialog of sections, one tab each, offered to server admins only
// (GET /me says `"admin": true`; the server refuses everyone else anyway).
//
// The sections are listed once, in `SECTIONS`: each is a label and a `mount(container)` that
// renders into the element given (emptied first) and loads what it shows. A section is
// mounted afresh each time its tab is chosen. Every text from the server goes through
// `el()` as text: nothing is parsed as HTML.

import { ApiError, amAdmin, auditLog, listAccounts, setDeactivated, setServerRole } from './api.js';
import { mountServerSettings } from './admin_settings.js';
import { el, say } from './dom.js';

const PAGE_SIZE = 50;

/** The page's sections, in the order of their tabs. */
export const SECTIONS = [
  { id: 'users', label: 'Users', mount: mountUsers },
  { id: 'audit', label: 'Audit log', mount: mountAudit },
  { id: 'settings', label: 'Settings', mount: mountServerSettings },
];

function problem(err) {
  return err instanceof ApiError ? err.message : String(err);
}

function when(ms) {
  return new Date(ms).toLocaleString();
}

/** The page itself: built once, opened on its first section. */
export class AdminPage {
  #dialog;
  #tabs = new Map(); // section id -> its tab
  #body = el('div', { class: 'admin-body', id: 'admin-body', attrs: { role: 'tabpanel' } });

  constructor() {
    const tablist = el('div', { class: 'admin-tabs', attrs: { role: 'tablist', 'aria-label': 'Admin sections' } });
    for (const section of SECTIONS) {
      const tab = el('button', {
        type: 'button', class: 'tab', text: section.label, id: `admin-tab-${section.id}`,
        attrs: { role: 'tab', 'aria-selected': 'false' },
        on: { click: () => this.show(section.id) },
      });
      this.#tabs.set(section.id, tab);
      tablist.append(tab);
    }
    this.#dialog = el('dialog', { class: 'admin-page', id: 'admin-page', attrs: { 'aria-label': 'Server admin' } },
      el('header', { class: 'admin-head' },
        el('h2', { text: 'Server admin' }),
        el('button', { type: 'button', class: 'link', text: 'Close', on: { click: () => this.#dialog.close() } })),
      tablist,
      this.#body);
    document.body.append(this.#dialog);
  }

  open(sectionId = SECTIONS[0].id) {
    if (!this.#dialog.open) this.#dialog.showModal();
    return this.show(sectionId);
  }

  /** Show the section `id`, mounted afresh. */
  async show(id) {
    const section = SECTIONS.find((each) => each.id === id) ?? SECTIONS[0];
    for (const [sectionId, tab] of this.#tabs) {
      tab.setAttribute('aria-selected', String(sectionId === section.id));
    }
    this.#body.setAttribute('aria-labelledby', `admin-tab-${section.id}`);
    const container = el('div', { dataset: { section: section.id } });
    this.#body.replaceChildren(container);
    await section.mount(container);
  }
}

/** Add the button that opens the page to `where`, if the user is a server admin. */
export async function offerAdminPage(where) {
  let admin = false;
  try {
    admin = await amAdmin();
  } catch {
    return; // asked again on the next page load
  }
  if (!admin) return;
  let page = null;
  where.append(el('button', {
    type: 'button', id: 'open-admin', text: 'Admin',
    on: { click: () => (page ??= new AdminPage()).open() },
  }));
}

// --- users ----------------------------------------------------------------------------------

/** The accounts by name, a page at a time: make admins and members, deactivate (asked to
 *  confirm first) and reactivate. */
async function mountUsers(container) {
  const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const rows = el('tbody');
  const more = el('button', { type: 'button', text: 'More', hidden: true });
  const accounts = new Map(); // username -> the account as last answered
  let last = null;

  function fill(tr, account) {
    accounts.set(account.username, account);
    const admin = account.role === 'admin';
    const actions = el('td', { class: 'admin-actions' },
      el('button', {
        type: 'button', class: 'role-toggle', text: admin ? 'Demote' : 'Promote',
        on: { click: () => act(tr, account, () => setServerRole(account.username, admin ? 'member' : 'admin')) },
      }),
      account.deactivated
        ? el('button', {
          type: 'button', class: 'state-toggle', text: 'Reactivate',
          on: { click: () => act(tr, account, () => setDeactivated(account.username, false)) },
        })
        : el('button', {
          type: 'button', class: 'state-toggle danger', text: 'Deactivate',
          on: { click: () => confirmDeactivate(tr, account, actions) },
        }));
    tr.replaceChildren(
      el('td', { class: 'admin-name', text: account.username }),
      el('td', { class: 'admin-display', text: account.display_name }),
      el('td', { class: 'admin-role', text: admin ? 'admin' : 'member' }),
      el('td', { class: 'admin-state', text: account.deactivated ? 'deactivated' : 'active' }),
      actions);
    tr.classList.toggle('deactivated', account.deactivated);
  }

  function confirmDeactivate(tr, account, actions) {
    actions.replaceChildren(
      el('span', { class: 'confirm-text', text: `Deactivate ${account.username}? They are signed out everywhere.` }),
      el('button', {
        type: 'button', class: 'danger confirm', text: 'Deactivate',
        on: { click: () => act(tr, account, () => setDeactivated(account.username, true)) },
      }),
      el('button', { type: 'button', text: 'Cancel', on: { click: () => fill(tr, account) } }));
  }

  async function act(tr, account, work) {
    say(error, '');
    try {
      fill(tr, await work());
    } catch (err) {
      say(error, problem(err));
      fill(tr, accounts.get(account.username) ?? account);
    }
  }

  async function loadMore() {
    say(error, '');
    try {
      const page = await listAccounts(last, PAGE_SIZE);
      for (const account of page) {
        const tr = el('tr', { dataset: { user: account.username } });
        fill(tr, account);
        rows.append(tr);
      }
      if (page.length) last = page[page.length - 1].username;
      more.hidden = page.length < PAGE_SIZE;
    } catch (err) {
      say(error, problem(err));
    }
  }

  more.addEventListener('click', loadMore);
  container.replaceChildren(el('section', { class: 'admin-users' },
    error,
    el('table', { class: 'admin-table', id: 'admin-users' },
      el('thead', {}, el('tr', {},
        ['Name', 'Display name', 'Role', 'State', 'Actions'].map((text) => el('th', { scope: 'col', text })))),
      rows),
    more));
  await loadMore();
}

// --- the audit log ----------------------------------------------------------------------------

function auditLine(entry) {
  const actor = entry.actor || 'the command line';
  const where = entry.room ? `in ${entry.room}` : 'server-wide';
  const target = entry.target ? ` ${entry.target}` : '';
  const detail = entry.detail ? ` (${entry.detail})` : '';
  return el('li', { dataset: { id: String(entry.id) } },
    el('time', { class: 'audit-time', text: when(entry.ts) }),
    el('span', { class: 'audit-text', text: `${actor}: ${entry.action}${target} ${where}${detail}` }));
}

/** The audit log, newest first, a page at a time. */
async function mountAudit(container) {
  const error = el('p', { class: 'form-error', attrs: { role: 'alert' }, hidden: true });
  const list = el('ol', { class: 'audit-list', id: 'admin-audit' });
  const older = el('button', { type: 'button', text: 'Older', hidden: true });
  let before = null;

  async function loadOlder() {
    say(error, '');
    try {
      const page = await auditLog(before, PAGE_SIZE);
      list.append(...page.map(auditLine));
      if (page.length) before = page[page.length - 1].id;
      older.hidden = page.length < PAGE_SIZE;
      if (!list.children.length) list.append(el('li', { class: 'empty-note', text: 'Nothing logged yet.' }));
    } catch (err) {
      say(error, problem(err));
    }
  }

  older.addEventListener('click', loadOlder);
  container.replaceChildren(el('section', { class: 'admin-audit' }, error, list, older));
  await loadOlder();
}
