// Moderation as the page reasons about it, pure (no DOM, no socket): who may do what to
// whom in a room (the server's rule, core/moderation.py, so that only buttons that can work
// are offered), whether a user is muted now and until when, and what the page says to a
// muted, kicked or banned user.
//
// The server is the judge: a button offered here can still be refused (a role changed
// meanwhile), and the dialog then shows the server's words.

/** How long a mute lasts, as the dialog offers it (`ms` null: until a moderator lifts it). */
export const MUTE_CHOICES = [
  { id: '10m', label: '10 minutes', ms: 10 * 60_000 },
  { id: '1h', label: '1 hour', ms: 60 * 60_000 },
  { id: '1d', label: '1 day', ms: 24 * 60 * 60_000 },
  { id: 'lifted', label: 'Until lifted', ms: null },
];

/** The `until` of a mute chosen `now` (ms since the epoch; null: until lifted). */
export function muteUntil(choiceId, now) {
  const choice = MUTE_CHOICES.find((c) => c.id === choiceId);
  if (!choice) throw new Error(`no mute choice ${choiceId}`);
  return choice.ms === null ? null : now + choice.ms;
}

const RANK = { member: 0, admin: 1, owner: 2 };
const SERVER_ADMIN = 3;

/** How high a user stands in a room: a server admin above the owner, above admins. */
export function rankOf(role, serverAdmin = false) {
  return serverAdmin ? SERVER_ADMIN : (RANK[role] ?? 0);
}

/** Whether the viewer moderates the room (`kind`; their `role`; `serverAdmin`). */
export function mayModerate({ kind, role, serverAdmin = false }) {
  return kind !== 'dm' && rankOf(role, serverAdmin) >= RANK.admin;
}

/**
 * What `viewer` ({user, role, serverAdmin, kind}: the room's kind) may do to `member`
 * ({user, role, serverAdmin, muted}): a list of 'make-admin' | 'make-member' (the owner
 * only, as `role` allows), 'mute' | 'unmute', 'kick', 'ban' (on those below them only).
 */
export function memberActions(viewer, member) {
  if (viewer.kind === 'dm' || member.user === viewer.user) return [];
  const actions = [];
  if (viewer.role === 'owner' && member.role !== 'owner') {
    actions.push(member.role === 'admin' ? 'make-member' : 'make-admin');
  }
  const mine = rankOf(viewer.role, viewer.serverAdmin);
  if (mine >= RANK.admin && rankOf(member.role, member.serverAdmin) < mine) {
    actions.push(member.muted ? 'unmute' : 'mute', 'kick', 'ban');
  }
  return actions;
}

/** Whether a mute until `until` (null: until lifted) holds at `now`, as the server decides. */
export function mutedAt(until, now) {
  return until === null || now < until;
}

/**
 * The newest word on each user's mute, per room: from `member_muted` / `member_unmuted`
 * events and from the `muted` of a `members` reply, each as of a seq (the newer wins, so a
 * list read before an event does not undo it).
 */
export class Mutes {
  #rooms = new Map(); // room -> Map(user -> {until, seq}); until undefined: not muted

  #set(room, user, until, seq) {
    let users = this.#rooms.get(room);
    if (!users) this.#rooms.set(room, (users = new Map()));
    const known = users.get(user);
    if (known && known.seq > seq) return false;
    users.set(user, { until, seq });
    return !known || known.until !== until;
  }

  /** Room events of `room`; true when someone's mute changed. */
  learnEvents(room, events) {
    let changed = false;
    for (const event of events) {
      if (event.type === 'member_muted') changed = this.#set(room, event.user, event.until ?? null, event.seq) || changed;
      if (event.type === 'member_unmuted') changed = this.#set(room, event.user, undefined, event.seq) || changed;
    }
    return changed;
  }

  /** A `members` reply: `users` listed, `muted` ({user: until|null}), read as of `seq`. */
  learnList(room, users, muted, seq) {
    let changed = false;
    for (const user of users) {
      const until = Object.hasOwn(muted, user) ? muted[user] : undefined;
      changed = this.#set(room, user, until, seq) || changed;
    }
    return changed;
  }

  /** {muted, until} of `user` in `room` at `now` (until: ms, or null until lifted). */
  state(room, user, now) {
    const known = this.#rooms.get(room)?.get(user);
    if (!known || known.until === undefined || !mutedAt(known.until, now)) return { muted: false, until: null };
    return { muted: true, until: known.until };
  }

  /** When, after `now`, the soonest mute in force in `room` ends (ms), or null. */
  nextEnd(room, now) {
    let soonest = null;
    for (const { until } of this.#rooms.get(room)?.values() ?? []) {
      if (typeof until === 'number' && until > now && (soonest === null || until < soonest)) soonest = until;
    }
    return soonest;
  }

  forget(room) {
    this.#rooms.delete(room);
  }
}

/** "until 14:05", or "until Friday … 14:05" when it is not today; formatters passed in. */
export function untilText(until, now, { time, full }) {
  const sameDay = new Date(until).toDateString() === new Date(now).toDateString();
  return `until ${sameDay ? time(until) : full(until)}`;
}

/** What a muted user reads in place of the message box. */
export function mutedNotice(label, until, now, formats) {
  if (until === null) return `You are muted in ${label} until a moderator unmutes you`;
  return `You are muted in ${label} ${untilText(until, now, formats)}`;
}

/** What a kicked or banned user reads in the room (`nameOf(user)`: a display name). */
export function removedNotice(label, event, nameOf) {
  const by = nameOf(event.by);
  if (event.type === 'member_banned') {
    return `You were banned from ${label} by ${by}${event.reason ? `: ${event.reason}` : ''}`;
  }
  return `You were removed from ${label} by ${by}`;
}

/** A room's label with its mark: "#den" for a room, the name for a DM. */
export function markedLabel(label, kind) {
  return kind === 'dm' ? label : `#${label}`;
}
