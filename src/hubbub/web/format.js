// How names and times are shown.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  month: 'long',
  day: 'numeric',
});
const dayYearFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long' });

export const formatTime = (ts) => timeFormat.format(ts);
export const formatFull = (ts) => fullFormat.format(ts);

/** A key that is the same for two timestamps of the same local day. */
export function dayKey(ts) {
  const d = new Date(ts);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

export function dayLabel(ts, now = Date.now()) {
  const day = new Date(ts);
  const today = new Date(now);
  const yesterday = new Date(now - 86_400_000);
  if (dayKey(day) === dayKey(today)) return 'Today';
  if (dayKey(day) === dayKey(yesterday)) return 'Yesterday';
  return day.getFullYear() === today.getFullYear() ? dayFormat.format(day) : dayYearFormat.format(day);
}

/** The other person of a DM room ("dm:alice:bob" seen by alice is "bob"). */
export function dmPeer(room, me) {
  const [, a, b] = room.split(':');
  return a === me ? b : a;
}

export function roomLabel(name, kind, me) {
  if (kind === 'dm' || name.startsWith('dm:')) {
    const peer = dmPeer(name, me);
    return peer === me ? `${me} (you)` : peer;
  }
  return name;
}

/** Plain-text guests of the seed's protocol post as "guest:<name>". */
export function authorLabel(user) {
  return user.startsWith('guest:') ? user.slice('guest:'.length) || 'anonymous' : user;
}

export const isGuest = (user) => user.startsWith('guest:');

/** One of eight avatar colours, always the same for a name (FNV-1a hash). */
export function colourClass(name) {
  let hash = 0x811c9dc5;
  for (const ch of name) hash = Math.imul(hash ^ ch.codePointAt(0), 0x01000193) >>> 0;
  return `c${hash % 8}`;
}

export function initial(name) {
  const first = [...authorLabel(name).trim()][0] ?? '?';
  return first.toUpperCase();
}
