// A small emoji picker: a popover grid of common emoji, opened next to a button.
//
// Keyboard: arrows move in the grid (one button is in the tab order at a time), Home and
// End go to the first and last, Enter or Space picks, Esc closes; closing gives the focus
// back. A click outside, or the focus leaving it, closes it too. One picker is open at a
// time. Emoji are text nodes, never markup.

import { el } from './dom.js';

// [emoji, name] — the name is what assistive technology says.
export const EMOJI = [
  ['👍', 'thumbs up'],
  ['❤️', 'red heart'],
  ['😂', 'tears of joy'],
  ['🎉', 'party popper'],
  ['😮', 'surprised'],
  ['😢', 'crying'],
  ['🙏', 'folded hands'],
  ['👀', 'eyes'],
  ['✅', 'check mark'],
  ['🔥', 'fire'],
  ['👎', 'thumbs down'],
  ['😀', 'grinning'],
  ['😄', 'smiling with open mouth'],
  ['😊', 'smiling'],
  ['🙂', 'slightly smiling'],
  ['😉', 'winking'],
  ['😍', 'heart eyes'],
  ['🤔', 'thinking'],
  ['😅', 'sweat smile'],
  ['😎', 'sunglasses'],
  ['🥳', 'partying'],
  ['😬', 'grimacing'],
  ['😴', 'sleeping'],
  ['🤯', 'mind blown'],
  ['😡', 'angry'],
  ['🤷', 'shrug'],
  ['🙌', 'raising hands'],
  ['👏', 'clapping'],
  ['👋', 'waving'],
  ['👌', 'OK hand'],
  ['💪', 'flexed biceps'],
  ['🤝', 'handshake'],
  ['💯', 'hundred points'],
  ['🚀', 'rocket'],
  ['✨', 'sparkles'],
  ['⭐', 'star'],
  ['💡', 'light bulb'],
  ['❌', 'cross mark'],
  ['☕', 'coffee'],
  ['🍕', 'pizza'],
];

export const COLUMNS = 8;

/** Where focus goes from `index` on `key` in a grid of `count` cells, or null: not a move. */
export function gridMove(index, key, count, columns = COLUMNS) {
  switch (key) {
    case 'ArrowRight':
      return Math.min(count - 1, index + 1);
    case 'ArrowLeft':
      return Math.max(0, index - 1);
    case 'ArrowDown':
      return index + columns < count ? index + columns : index;
    case 'ArrowUp':
      return index - columns >= 0 ? index - columns : index;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

let open = null; // the picker on screen: {node, close}

/** Close the picker on screen, if any, without giving the focus back. */
export function closeEmojiPicker() {
  open?.close(false);
}

/**
 * Open the picker by `anchor` (a button). `onPick(emoji)` is called with the chosen emoji
 * after the picker closed; `restoreFocus()` (optional) says where the focus goes on close
 * when `anchor` is gone (its row was made again meanwhile); by default the anchor.
 */
export function openEmojiPicker(anchor, { onPick, restoreFocus = null, label = 'Choose a reaction' }) {
  if (open?.anchor === anchor) {
    open.close(true); // its button again: a toggle
    return;
  }
  closeEmojiPicker();
  let current = 0;
  const buttons = EMOJI.map(([emoji, name], index) =>
    el('button', {
      type: 'button',
      class: 'emoji-choice',
      text: emoji,
      title: name,
      tabIndex: index === 0 ? 0 : -1,
      dataset: { emoji },
      attrs: { 'aria-label': name },
      on: { click: () => close(true, emoji) },
    }),
  );
  const grid = el('div', { class: 'emoji-grid', attrs: { role: 'group', 'aria-label': label } }, ...buttons);
  const node = el(
    'div',
    { class: 'emoji-picker', attrs: { role: 'dialog', 'aria-label': label } },
    grid,
    el('p', { class: 'emoji-hint', text: 'Arrows to move · Enter to pick · Esc to close' }),
  );

  const focusAt = (index) => {
    buttons[current].tabIndex = -1;
    current = index;
    buttons[current].tabIndex = 0;
    buttons[current].focus();
  };

  const onKey = (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      close(true);
      return;
    }
    const index = buttons.indexOf(event.target);
    if (index < 0) return;
    const next = gridMove(index, event.key, buttons.length);
    if (next === null) return;
    event.preventDefault();
    focusAt(next);
  };
  const onOutside = (event) => {
    if (!node.contains(event.target) && event.target !== anchor) close(false);
  };
  const onFocusOut = (event) => {
    // Focus moved somewhere else on the page (Tab, a click elsewhere): close quietly.
    if (event.relatedTarget && !node.contains(event.relatedTarget)) close(false);
  };

  function close(giveFocusBack, emoji = null) {
    if (open?.node !== node) return;
    open = null;
    node.remove();
    document.removeEventListener('pointerdown', onOutside, true);
    window.removeEventListener('resize', onResize);
    anchor.setAttribute('aria-expanded', 'false');
    if (giveFocusBack) {
      const target = anchor.isConnected ? anchor : restoreFocus?.();
      target?.focus({ preventScroll: true });
    }
    if (emoji !== null) onPick(emoji);
  }
  const onResize = () => close(false);

  node.addEventListener('keydown', onKey);
  node.addEventListener('focusout', onFocusOut);
  document.addEventListener('pointerdown', onOutside, true);
  window.addEventListener('resize', onResize);
  anchor.setAttribute('aria-expanded', 'true');
  document.body.append(node);
  place(node, anchor);
  open = { node, anchor, close };
  buttons[0].focus();
}

/** Put the popover under the anchor, or over it when there is no room below; in view. */
function place(node, anchor) {
  const margin = 8;
  const box = anchor.getBoundingClientRect();
  const { width, height } = node.getBoundingClientRect();
  const left = Math.max(margin, Math.min(box.left, window.innerWidth - width - margin));
  let top = box.bottom + 4;
  if (top + height > window.innerHeight - margin) top = Math.max(margin, box.top - height - 4);
  node.style.left = `${left}px`;
  node.style.top = `${top}px`;
}
