// A message's own actions, drawn inside its row: Edit opens an inline editor, Delete asks
// for an inline confirmation. A refusal from the server is shown in the row, never lost.
//
// The editor judges a body as the composer does (limits.js): trailing whitespace dropped,
// nothing only of whitespace, at most MAX_BODY_CHARS characters.

import { el } from './dom.js';
import { MAX_BODY_CHARS, bodyOf, charCount, groupDigits, isBlank } from './limits.js';

/** The Edit and Delete buttons of a message row (either may be left out). */
export function actionButtons({ onEdit, onDelete }) {
  return el(
    'div',
    { class: 'msg-actions', attrs: { role: 'group', 'aria-label': 'Message actions' } },
    onEdit ? el('button', { type: 'button', class: 'msg-action edit', text: 'Edit', on: { click: onEdit } }) : null,
    onDelete
      ? el('button', { type: 'button', class: 'msg-action delete', text: 'Delete', on: { click: onDelete } })
      : null,
  );
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
