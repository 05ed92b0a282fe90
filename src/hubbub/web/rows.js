// Where rows of the message list go, decided from neighbours only, so that a new, older or
// dropped event changes its own row and at most the next one, never the whole room.
// Pure: no DOM.

import { dayKey } from './format.js';

export const GROUP_WITHIN_MS = 5 * 60_000;

/** What placing a row needs to know about it: its author, time, and if it is a message. */
export function rowOf(event) {
  return { user: event.user, ts: event.ts, message: event.type === 'message' };
}

/**
 * How a row sits under the row before it (`prev`, null at the top): after a day divider
 * (`newDay`), and/or grouped under the previous message's header (same author, same day,
 * within five minutes; member lines are never grouped and end a group).
 */
export function placement(prev, row) {
  const newDay = prev === null || dayKey(prev.ts) !== dayKey(row.ts);
  const grouped =
    !newDay && row.message && prev.message && prev.user === row.user && row.ts - prev.ts < GROUP_WITHIN_MS;
  return { newDay, grouped };
}

/**
 * How the rows shown (`shown`, objects with `seq`, sorted) become a room's `events` (sorted
 * by seq, each once): `drop` rows go from the top, `head` events are added above the rest,
 * `tail` events below. Null when the change is anything else (a room reset, a hole filled
 * in the middle): then everything is drawn again. Costs the number of rows that change.
 */
export function planUpdate(shown, events) {
  if (!shown.length || !events.length) return null;
  const firstShown = shown[0].seq;
  const lastShown = shown.at(-1).seq;
  let head = 0;
  while (head < events.length && events[head].seq < firstShown) head += 1;
  let tail = 0;
  while (tail < events.length - head && events[events.length - 1 - tail].seq > lastShown) tail += 1;
  const kept = events.length - head - tail;
  if (kept === 0 || (head > 0 && events[head].seq !== firstShown)) return null;
  let drop = 0;
  while (drop < shown.length && shown[drop].seq < events[head].seq) drop += 1;
  // Same first and last seq and as many rows: the very same seqs (both are sorted, unique).
  const same = shown.length - drop === kept && events[events.length - 1 - tail].seq === lastShown;
  return same ? { drop, head, tail } : null;
}

/** Where `seq` is, or would go, in a list of things with a `seq`, sorted by it. */
export function seqIndex(sorted, seq) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid].seq < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * What the line of an event that is not a message says, as a list of parts: text (a string),
 * a user (`{user, start}`: `start` when it opens the sentence, "You" rather than "you"), or
 * a time (`{time}`). Users' texts (a ban's reason, a topic) are text parts, drawn as text,
 * never as HTML. A kind this page does not know still gets a line, of its type.
 */
export function lineParts(event) {
  const actor = (user) => ({ user, start: true });
  const whom = (user) => ({ user, start: false });
  switch (event.type) {
    case 'member_left':
      return [actor(event.user), ' left'];
    case 'member_joined':
      if (event.by && event.by !== event.user) return [actor(event.by), ' added ', whom(event.user)];
      return [actor(event.user), ' joined'];
    case 'role_changed':
      return [actor(event.user), ' made ', whom(event.member), event.role === 'admin' ? ' an admin' : ' a member'];
    case 'member_kicked':
      return [actor(event.by), ' removed ', whom(event.user)];
    case 'member_banned':
      return [actor(event.by), ' banned ', whom(event.user), ...(event.reason ? [` (${event.reason})`] : [])];
    case 'member_unbanned':
      return [actor(event.by), ' lifted the ban of ', whom(event.user)];
    case 'member_muted':
      return [actor(event.by), ' muted ', whom(event.user), ...(event.until ? [' until ', { time: event.until }] : [])];
    case 'member_unmuted':
      return [actor(event.by), ' unmuted ', whom(event.user)];
    case 'room_changed': {
      const changes = [];
      if (typeof event.topic === 'string') {
        changes.push(event.topic ? `set the topic to “${event.topic}”` : 'cleared the topic');
      }
      if (typeof event.private === 'boolean') changes.push(`made the room ${event.private ? 'private' : 'public'}`);
      if (typeof event.title === 'string') {
        changes.push(event.title ? `set the title to “${event.title}”` : 'cleared the title');
      }
      if (typeof event.retention_days === 'number') changes.push(retentionChange(event.retention_days));
      return [actor(event.user), ` ${changes.join(' and ') || 'changed the room'}`];
    }
    default:
      return [actor(event.user), ` (${String(event.type).replaceAll('_', ' ')})`];
  }
}

/** How long a room_changed says messages are now kept (-1: as the server keeps them). */
function retentionChange(days) {
  if (days < 0) return 'kept messages as long as the server does';
  if (days === 0) return 'kept messages for ever';
  return `kept messages for ${days} day${days === 1 ? '' : 's'}`;
}
