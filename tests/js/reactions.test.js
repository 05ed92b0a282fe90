// Reactions in the page's state: folding reaction events into a message's counts, once
// each, with the reader's own flag, in code point order, and never twice for an event that
// the message's counts (from history or a sync replay) already include.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { COLUMNS, EMOJI, gridMove } from '../../src/hubbub/web/emoji_picker.js';
import {
  compareCodePoints,
  describeReactError,
  foldReaction,
  reactedWith,
} from '../../src/hubbub/web/reactions.js';
import { Store } from '../../src/hubbub/web/store.js';

const UP = '👍';
const TADA = '🎉';

function message(seq, fields = {}) {
  return { type: 'message', room: 'den', seq, ts: 1000 * seq, user: 'bob', body: `m${seq}`, ...fields };
}

function reaction(seq, target, emoji, user, on = true) {
  return { type: on ? 'reaction_added' : 'reaction_removed', room: 'den', seq, ts: 1000 * seq, user, target, emoji };
}

const held = (store, seq) => store.room('den').events.find((event) => event.seq === seq);
const counts = (msg) => (msg.reactions ?? []).map(({ emoji, count, me }) => [emoji, count, me]);

test('adding and taking back reactions: counts, the reader’s flag, and zero drops the emoji', () => {
  let msg = message(1, { reactionsAt: 1 });
  msg = foldReaction(msg, reaction(2, 1, UP, 'bob'), 'alice');
  assert.deepEqual(counts(msg), [[UP, 1, false]]);
  msg = foldReaction(msg, reaction(3, 1, UP, 'alice'), 'alice');
  assert.deepEqual(counts(msg), [[UP, 2, true]]);
  assert.equal(reactedWith(msg, UP), true);
  msg = foldReaction(msg, reaction(4, 1, UP, 'alice', false), 'alice');
  assert.deepEqual(counts(msg), [[UP, 1, false]]);
  assert.equal(reactedWith(msg, UP), false);
  msg = foldReaction(msg, reaction(5, 1, UP, 'bob', false), 'alice');
  assert.equal('reactions' in msg, false, 'no emoji left: no reactions, as the server sends it');
  assert.equal(msg.reactionsAt, 5);
});

test('taking back a reaction that is not there changes no count', () => {
  const msg = message(1, { reactionsAt: 1, reactions: [{ emoji: UP, count: 1, me: false }] });
  const after = foldReaction(msg, reaction(2, 1, TADA, 'bob', false), 'alice');
  assert.deepEqual(counts(after), [[UP, 1, false]]);
});

test('applying is idempotent: an event at or below what the counts hold changes nothing', () => {
  const msg = message(1, { reactionsAt: 1 });
  const once = foldReaction(msg, reaction(2, 1, UP, 'bob'), 'alice');
  assert.equal(foldReaction(once, reaction(2, 1, UP, 'bob'), 'alice'), once);
  const counted = message(1, { reactionsAt: 9, reactions: [{ emoji: UP, count: 1, me: false }] });
  assert.equal(foldReaction(counted, reaction(9, 1, UP, 'bob'), 'alice'), counted);
});

test('emoji are kept in code point order, not UTF-16 order', () => {
  // U+FFFC sorts after 👍 (U+1F44D) by UTF-16 code unit, before it by code point.
  const box = '\uFFFC';
  assert.ok(box > UP, 'the two orders differ for this pair');
  assert.ok(compareCodePoints(box, UP) < 0);
  assert.ok(compareCodePoints(':a:', TADA) < 0);
  assert.equal(compareCodePoints(UP, UP), 0);
  let msg = message(1, { reactionsAt: 1 });
  for (const [seq, emoji] of [
    [2, UP],
    [3, box],
    [4, ':thumbsup:'],
    [5, TADA],
  ]) {
    msg = foldReaction(msg, reaction(seq, 1, emoji, 'bob'), 'alice');
  }
  assert.deepEqual(
    msg.reactions.map((r) => r.emoji),
    [':thumbsup:', box, TADA, UP],
  );
});

test('a deleted message takes no reaction', () => {
  const tombstone = message(1, { deleted: true, body: undefined, reactionsAt: 1 });
  assert.equal(foldReaction(tombstone, reaction(2, 1, UP, 'bob'), 'alice'), tombstone);
});

test('live reactions change the held message, once, and mark it revised', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(1)]);
  store.addEvents('den', [reaction(2, 1, UP, 'bob')]);
  store.addEvents('den', [reaction(3, 1, UP, 'alice')]);
  store.addEvents('den', [reaction(3, 1, UP, 'alice')]); // the same event again: ignored
  assert.deepEqual(counts(held(store, 1)), [[UP, 2, true]]);
  assert.deepEqual(
    store.takeRevised('den').map((msg) => msg.seq),
    [1],
  );
  assert.deepEqual(
    store.room('den').events.map((event) => event.seq),
    [1],
    'reactions are no rows',
  );
  store.addEvents('den', [reaction(4, 1, UP, 'alice', false), reaction(5, 1, UP, 'bob', false)]);
  assert.equal(held(store, 1).reactions, undefined);
  assert.equal(store.newestSeq('den'), 5);
});

test('a reply whose message counts already include its reaction events applies none of them', () => {
  const store = new Store('alice');
  // A history page read after seq 3 and 4: message 1 is counted with both.
  store.addEvents('den', [
    message(1, { reactions: [{ emoji: UP, count: 2, me: true }] }),
    message(2),
    reaction(3, 1, UP, 'bob'),
    reaction(4, 1, UP, 'alice'),
  ]);
  assert.deepEqual(counts(held(store, 1)), [[UP, 2, true]]);
  // A later live one applies.
  store.addEvents('den', [reaction(5, 2, TADA, 'bob')]);
  assert.deepEqual(counts(held(store, 2)), [[TADA, 1, false]]);
});

test('an older page does not undo what live events did to messages held', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(10)]);
  store.addEvents('den', [reaction(11, 10, UP, 'bob')]);
  // Older history, read now: its messages count every reaction so far.
  store.addEvents('den', [message(5, { reactions: [{ emoji: TADA, count: 1, me: false }] }), reaction(6, 5, TADA, 'bob')]);
  assert.deepEqual(counts(held(store, 5)), [[TADA, 1, false]]);
  assert.deepEqual(counts(held(store, 10)), [[UP, 1, false]]);
});

test('a sync replay: counts of replayed messages hold the replay’s reactions until synced', () => {
  const store = new Store('alice');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 1, read_seq: 1, unread: 0 }]);
  store.addEvents('den', [message(1)]);
  store.beginReplay();
  // Each replayed event is a frame of its own: a reaction to a message held from before
  // applies; a reaction to a message replayed with counts is in them already.
  store.addEvents('den', [reaction(2, 1, UP, 'bob')]);
  store.addEvents('den', [message(3, { reactions: [{ emoji: TADA, count: 1, me: true }] })]);
  store.addEvents('den', [reaction(4, 3, TADA, 'alice')]);
  // A message without reactions counts from its own seq: a live one among the replay.
  store.addEvents('den', [message(5)]);
  store.addEvents('den', [reaction(6, 5, UP, 'carol')]);
  store.endReplay({ den: { last_seq: 6, complete: true } });
  assert.deepEqual(counts(held(store, 1)), [[UP, 1, false]]);
  assert.deepEqual(counts(held(store, 3)), [[TADA, 1, true]]);
  assert.deepEqual(counts(held(store, 5)), [[UP, 1, false]]);
  // After `synced`, reactions to the replayed message apply again.
  store.addEvents('den', [reaction(7, 3, TADA, 'bob')]);
  assert.deepEqual(counts(held(store, 3)), [[TADA, 2, true]]);
});

test('a failed sync does not leave replayed messages deaf to reactions', () => {
  const store = new Store('alice');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 0, read_seq: 0, unread: 0 }]);
  store.beginReplay();
  store.addEvents('den', [message(1, { reactions: [{ emoji: UP, count: 1, me: false }] })]);
  store.endReplay();
  store.addEvents('den', [reaction(2, 1, UP, 'alice')]);
  assert.deepEqual(counts(held(store, 1)), [[UP, 2, true]]);
});

test('a delete drops the reactions; reactions to a tombstone change nothing', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(1)]);
  store.addEvents('den', [reaction(2, 1, UP, 'bob')]);
  store.addEvents('den', [{ type: 'message_deleted', room: 'den', seq: 3, ts: 3, user: 'bob', target: 1 }]);
  store.addEvents('den', [reaction(4, 1, UP, 'carol')]);
  assert.equal(held(store, 1).deleted, true);
  assert.equal(held(store, 1).reactions, undefined);
});

test('the user’s role comes with the room list and changes with role_changed', () => {
  const store = new Store('bob');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 4, read_seq: 4, unread: 0 }]);
  assert.equal(store.room('den').role, 'member', 'a list without roles: member');
  const change = (seq, member, role) => ({ type: 'role_changed', room: 'den', seq, ts: seq, user: 'alice', member, role });
  store.addEvents('den', [change(5, 'bob', 'admin'), change(6, 'carol', 'admin')]);
  assert.equal(store.room('den').role, 'admin');
  assert.deepEqual(store.room('den').roles.get('carol'), { role: 'admin', seq: 6 });
  // An older page of history with an older change does not undo it.
  store.addEvents('den', [change(2, 'bob', 'member')]);
  assert.equal(store.room('den').role, 'admin');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 7, read_seq: 7, unread: 0, role: 'member' }]);
  assert.equal(store.room('den').role, 'member');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 7, read_seq: 7, unread: 0, role: 'owner' }]);
  assert.equal(store.room('den').role, 'owner');
});

test('the picker offers distinct emoji and its arrows stay in the grid', () => {
  const emoji = EMOJI.map(([e]) => e);
  assert.ok(emoji.length >= 40);
  assert.equal(new Set(emoji).size, emoji.length);
  assert.equal(gridMove(0, 'ArrowLeft', 40), 0);
  assert.equal(gridMove(0, 'ArrowRight', 40), 1);
  assert.equal(gridMove(0, 'ArrowDown', 40), COLUMNS);
  assert.equal(gridMove(3, 'ArrowUp', 40), 3);
  assert.equal(gridMove(37, 'ArrowDown', 40), 37);
  assert.equal(gridMove(39, 'ArrowRight', 40), 39);
  assert.equal(gridMove(12, 'End', 40), 39);
  assert.equal(gridMove(12, 'Home', 40), 0);
  assert.equal(gridMove(12, 'a', 40), null);
});

test('a refused reaction is said plainly: the cap, or how long to wait', () => {
  const cap = { code: 'conflict', message: 'a message holds at most 20 different reactions' };
  assert.equal(describeReactError(cap), 'a message holds at most 20 different reactions');
  assert.equal(describeReactError({ code: 'rate_limited', retryAfter: 1.2 }), 'too many reactions; try again in 2 s');
  assert.equal(describeReactError({ code: 'rate_limited', retryAfter: 0.04 }), 'too many reactions; try again in 1 s');
});
