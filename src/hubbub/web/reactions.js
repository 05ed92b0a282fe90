// A message's reactions: folding `reaction_added` / `reaction_removed` into what a message
// holds, and the chips drawn under it.
//
// A message from the server carries `reactions`, `[{emoji, count, me}]` in code point order
// of `emoji`, counted when the reply was read. `reactionsAt` (set by the store) is the
// newest seq those counts include: a reaction event at or below it is in them already and
// is not applied again, so applying is safe to repeat. The fold is pure (no DOM).

import { el } from './dom.js';

/** Compare two strings by Unicode code point (as the server orders emoji), not UTF-16 unit. */
export function compareCodePoints(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const diff = left[i].codePointAt(0) - right[i].codePointAt(0);
    if (diff) return diff;
  }
  return left.length - right.length;
}

/**
 * The message with the reaction event `event` applied, as `me` sees it; the same object
 * when the event changes nothing (already counted, a removal of what is not there, a
 * deleted message). A count that reaches zero drops the emoji; no emoji left drops
 * `reactions`, as the server leaves it out.
 */
export function foldReaction(message, event, me) {
  if (message.deleted || event.seq <= (message.reactionsAt ?? 0)) return message;
  const added = event.type === 'reaction_added';
  const mine = event.user === me;
  const list = (message.reactions ?? []).map((reaction) => ({ ...reaction }));
  let index = list.findIndex((reaction) => reaction.emoji === event.emoji);
  if (index < 0) {
    if (!added) return { ...message, reactionsAt: event.seq };
    index = list.findIndex((reaction) => compareCodePoints(reaction.emoji, event.emoji) > 0);
    if (index < 0) index = list.length;
    list.splice(index, 0, { emoji: event.emoji, count: 0, me: false });
  }
  const reaction = list[index];
  reaction.count += added ? 1 : -1;
  if (mine) reaction.me = added;
  if (reaction.count <= 0) list.splice(index, 1);
  const { reactions: _old, ...rest } = message;
  return list.length
    ? { ...rest, reactions: list, reactionsAt: event.seq }
    : { ...rest, reactionsAt: event.seq };
}

/** Whether `me` has reacted to `message` with `emoji`. */
export function reactedWith(message, emoji) {
  return Boolean(message.reactions?.some((reaction) => reaction.emoji === emoji && reaction.me));
}

/** What a refused `react` says in the row. */
export function describeReactError(err) {
  switch (err.code) {
    case 'conflict':
      return err.message || 'this message cannot take more reactions';
    case 'rate_limited':
      return `too many reactions; try again in ${Math.max(1, Math.ceil(err.retryAfter ?? 1))} s`;
    case 'connection_lost':
      return 'not connected to the server';
    default:
      return err.message || 'failed';
  }
}

/**
 * The chips of a message's reactions, or null when it has none: one toggle per emoji with
 * its count (pressed when the user reacted), then "+" to pick another.
 * `onToggle(emoji, on)` and `onAdd(button)` act on them. Emoji are text, never markup.
 */
export function reactionChips(message, { onToggle, onAdd }) {
  const reactions = message.reactions ?? [];
  if (message.deleted || !reactions.length) return null;
  const chips = reactions.map((reaction) => {
    const who = reaction.me
      ? reaction.count === 1
        ? 'you reacted'
        : `you and ${reaction.count - 1} more reacted`
      : `${reaction.count} reacted`;
    return el(
      'button',
      {
        type: 'button',
        class: reaction.me ? 'reaction mine' : 'reaction',
        title: `${reaction.emoji} — ${who}`,
        dataset: { emoji: reaction.emoji, focus: `reaction:${reaction.emoji}` },
        attrs: { 'aria-pressed': String(reaction.me), 'aria-label': `${reaction.emoji} ${reaction.count}` },
        on: { click: () => onToggle(reaction.emoji, !reaction.me) },
      },
      el('span', { class: 'reaction-emoji', text: reaction.emoji }),
      el('span', { class: 'reaction-count', text: String(reaction.count) }),
    );
  });
  const add = el('button', {
    type: 'button',
    class: 'reaction reaction-add',
    text: '+',
    title: 'Add a reaction',
    dataset: { focus: 'reaction-add' },
    attrs: { 'aria-label': 'Add reaction', 'aria-haspopup': 'dialog' },
  });
  add.addEventListener('click', () => onAdd(add));
  return el('div', { class: 'reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } }, ...chips, add);
}
