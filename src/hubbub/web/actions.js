// A message's actions, drawn inside its row: React opens the emoji picker, Edit an inline
// editor, Delete an inline confirmation. A refusal from the server is shown in the row,
// never lost. On touch screens a long press on a row opens the same actions as a sheet.
//
// The actions are a list of definitions (MESSAGE_ACTIONS): the row's buttons and the sheet
// are both made from it, so an action added there shows in both.
//
// The editor judges a body as the composer does (limits.js): trailing whitespace dropped,
// nothing only of whitespace, at most MAX_BODY_CHARS characters.

import { el } from './dom.js';
import { MAX_BODY_CHARS, bodyOf, charCount, groupDigits, isBlank } from './limits.js';

const LONG_PRESS_MS = 500;
const LONG_PRESS_SLOP_PX = 10;

/**
 * Every action a stored message may offer, in the order shown. `offer({mine, dm})` says
 * whether a message gets it: `true`, `false`, or `'moderator'` (only while the user is the
 * room's owner or an admin, which can change while the row is on screen).
 */
export const MESSAGE_ACTIONS = [
  { name: 'react', label: 'React', offer: () => true },
  { name: 'reply', label: 'Reply', offer: () => true },
  { name: 'thread', label: 'Thread', offer: () => true },
  { name: 'edit', label: 'Edit', offer: ({ mine }) => mine },
  { name: 'delete', label: 'Delete', offer: ({ mine, dm }) => mine || (dm ? false : 'moderator') },
];

/**
 * The actions of `message` for the user `me`: [{name, label, moderator}], where
 * `moderator` marks one offered only to the room's owner and admins. None on a deleted one.
 */
export function actionsFor(message, { me, dm = false }) {
  if (message.deleted) return [];
  const context = { mine: message.user === me, dm };
  const list = [];
  for (const action of MESSAGE_ACTIONS) {
    const offered = action.offer(context);
    if (offered) list.push({ name: action.name, label: action.label, moderator: offered === 'moderator' });
  }
  return list;
}

/**
 * The buttons of a message row for `actions` (of `actionsFor`); `run(name, button)` acts.
 * Buttons only a moderator may use carry the class `moderator` and are shown by CSS while
 * the list says the user is one, so a role change does not remake every row.
 */
export function actionButtons(actions, run) {
  if (!actions.length) return null;
  return el(
    'div',
    { class: 'msg-actions', attrs: { role: 'group', 'aria-label': 'Message actions' } },
    ...actions.map((action) => {
      const button = el('button', {
        type: 'button',
        class: `msg-action ${action.name}${action.moderator ? ' moderator' : ''}`,
        text: action.label,
        dataset: { focus: `action:${action.name}` },
      });
      button.addEventListener('click', () => run(action.name, button));
      return button;
    }),
  );
}

let sheet = null; // the action sheet on screen: {node, close}

/**
 * The actions of the row `node` as a menu over the page (long press on touch screens):
 * arrows move, Enter picks, Esc or a tap outside closes and the focus goes back to the row.
 * `run(name, item)` acts once the sheet is closed.
 */
export function openActionSheet(node, actions, run) {
  sheet?.close(false);
  if (!actions.length) return;
  const items = actions.map((action) =>
    el('button', {
      type: 'button',
      class: `sheet-item ${action.name}`,
      text: action.label,
      attrs: { role: 'menuitem' },
      on: { click: () => close(false, action.name) },
    }),
  );
  const cancel = el('button', {
    type: 'button',
    class: 'sheet-item cancel',
    text: 'Cancel',
    attrs: { role: 'menuitem' },
    on: { click: () => close(true) },
  });
  const all = [...items, cancel];
  const menu = el('div', { class: 'msg-sheet', attrs: { role: 'menu', 'aria-label': 'Message actions' } }, ...all);
  const onKey = (event) => {
    const index = all.indexOf(document.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      close(true);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      all[(index + step + all.length) % all.length].focus();
    }
  };
  const onOutside = (event) => {
    if (!menu.contains(event.target)) close(false);
  };
  function close(focusRow, name = null) {
    if (sheet?.node !== menu) return;
    sheet = null;
    menu.remove();
    node.classList.remove('pressed');
    document.removeEventListener('pointerdown', onOutside, true);
    if (focusRow && node.isConnected) {
      node.tabIndex = -1; // focusable from script only, to take the focus back
      node.focus({ preventScroll: true });
    }
    if (name) run(name, node);
  }
  menu.addEventListener('keydown', onKey);
  document.addEventListener('pointerdown', onOutside, true);
  node.classList.add('pressed');
  document.body.append(menu);
  sheet = { node: menu, close };
  items[0].focus();
}

/**
 * Call `onPress(row)` when a message row (`.msg[data-seq]` inside `container`) is pressed
 * for LONG_PRESS_MS by a finger or pen without moving. Mouse presses and presses on the
 * row's own controls are left alone; the menu the browser would open for a long touch is
 * not shown for a press that opened ours.
 */
export function watchLongPress(container, onPress) {
  let timer = null;
  let start = null;
  let row = null;
  let fired = false;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  const fire = () => {
    cancel();
    fired = true;
    onPress(row);
  };
  container.addEventListener('pointerdown', (event) => {
    cancel();
    fired = false;
    if (event.pointerType === 'mouse' || !event.isPrimary) return;
    row = event.target.closest('.msg[data-seq]');
    if (!row || event.target.closest('button, a, textarea, input, .msg-editor, .msg-confirm')) return;
    start = { x: event.clientX, y: event.clientY };
    timer = setTimeout(fire, LONG_PRESS_MS);
  });
  container.addEventListener('pointermove', (event) => {
    if (timer && Math.hypot(event.clientX - start.x, event.clientY - start.y) > LONG_PRESS_SLOP_PX) cancel();
  });
  for (const type of ['pointerup', 'pointercancel']) container.addEventListener(type, cancel);
  // The browser's own long-touch menu may come first: ours instead.
  container.addEventListener('contextmenu', (event) => {
    if (timer) fire();
    if (fired) event.preventDefault();
  });
}

/** Why `body` cannot be saved, or '' when it can. */
function bodyProblem(body) {
  if (isBlank(body)) return 'A message cannot be empty — delete it instead.';
  const over = charCount(body) - MAX_BODY_CHARS;
  if (over > 0) return `${groupDigits(MAX_BODY_CHARS)} characters at most — ${groupDigits(over)} too many`;
  return '';
}

/** Close whatever panel (editor, confirmation, error) the row has open. */
export function closePanels(node) {
  for (const panel of node.querySelectorAll('.msg-editor, .msg-confirm, .msg-error')) panel.remove();
  const body = node.querySelector('.msg-body');
  if (body) body.hidden = false;
  const actions = node.querySelector('.msg-actions');
  if (actions) actions.hidden = false;
}

/**
 * Turn the row `node` into an editor of `body`. Enter saves (`save(body)`, a promise; the
 * editor closes when it resolves), Shift+Enter starts a new line, Esc cancels. `done()` is
 * called once the editor is closed either way.
 */
export function openEditor(node, body, { save, done }) {
  closePanels(node);
  const shown = node.querySelector('.msg-body');
  const input = el('textarea', { class: 'msg-editor-input', value: body, rows: 2, attrs: { 'aria-label': 'Edit message' } });
  const note = el('div', { class: 'msg-editor-note', attrs: { 'aria-live': 'polite' } });
  const close = () => {
    closePanels(node);
    done();
  };
  const submit = async () => {
    const text = bodyOf(input.value);
    const problem = bodyProblem(text);
    note.textContent = problem;
    input.toggleAttribute('aria-invalid', Boolean(problem));
    if (problem) return;
    if (text === body) return close(); // unchanged: nothing to ask the server
    input.readOnly = true;
    try {
      await save(text);
      close();
    } catch (err) {
      input.readOnly = false;
      note.textContent = `Could not edit: ${err.message || 'failed'}`;
    }
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  const editor = el(
    'form',
    { class: 'msg-editor', on: { submit: (event) => (event.preventDefault(), submit()) } },
    input,
    el(
      'div',
      { class: 'msg-editor-bar' },
      note,
      el('span', { class: 'msg-editor-hint', text: 'Enter to save · Esc to cancel' }),
      el('button', { type: 'button', class: 'quiet', text: 'Cancel', on: { click: close } }),
      el('button', { type: 'submit', class: 'primary', text: 'Save' }),
    ),
  );
  shown.hidden = true;
  node.querySelector('.msg-actions').hidden = true;
  shown.after(editor);
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

/**
 * Ask in the row `node` whether to delete the message; `remove()` (a promise) deletes it.
 * A refusal is shown in the row; `done(deleted)` is called once the question is closed.
 */
export function confirmDelete(node, { remove, done }) {
  closePanels(node);
  const keep = el('button', { type: 'button', class: 'quiet', text: 'Cancel' });
  const confirm = el('button', { type: 'button', class: 'danger', text: 'Delete' });
  const panel = el(
    'div',
    { class: 'msg-confirm', attrs: { role: 'alertdialog', 'aria-label': 'Delete this message?' } },
    el('span', { text: 'Delete this message for everyone?' }),
    keep,
    confirm,
  );
  const cancel = () => {
    closePanels(node);
    done(false);
  };
  keep.addEventListener('click', cancel);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      cancel();
    }
  });
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    try {
      await remove();
      closePanels(node);
      done(true);
    } catch (err) {
      closePanels(node);
      showError(node, `Could not delete: ${err.message || 'failed'}`);
      done(false);
    }
  });
  node.querySelector('.msg-main').append(panel);
  confirm.focus();
}

/** Show a refusal in the row, until the row is remade or another panel opens. */
export function showError(node, text) {
  node.querySelector('.msg-error')?.remove();
  node.querySelector('.msg-main').append(el('div', { class: 'msg-error', attrs: { role: 'alert' }, text }));
}
