// The page's room state: each room's events by seq, each seq once, and unread counts.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Store } from '../../src/hubbub/web/store.js';

function message(seq, user = 'bob') {
  return { type: 'message', room: 'den', seq, ts: 1000 * seq, user, body: `m${seq}` };
}

const seqs = (store) => store.room('den').events.map((event) => event.seq);

test('events are kept by seq, each once, whatever order they arrive in', () => {
  const store = new Store('alice');
  assert.equal(store.addEvents('den', [message(3), message(1)]), 2);
  assert.equal(store.addEvents('den', [message(2), message(3)]), 1); // 3 again: ignored
  assert.equal(store.addEvents('den', [1, 2, 3, 4, 5].map((seq) => message(seq))), 2);
  assert.deepEqual(seqs(store), [1, 2, 3, 4, 5]);
  assert.equal(store.addEvents('den', [message(4)]), 0);
  assert.deepEqual(seqs(store), [1, 2, 3, 4, 5]);
  assert.equal(store.newestSeq('den'), 5);
  assert.deepEqual(store.lastSeen(), { den: 5 });
});

test('the copy kept is the first one that arrived', () => {
  const store = new Store('alice');
  store.addEvents('den', [{ ...message(1), body: 'live' }]);
  store.addEvents('den', [{ ...message(1), body: 'replayed' }]);
  assert.deepEqual(
    store.room('den').events.map((event) => event.body),
    ['live'],
  );
});

test('a change is announced only when something new arrived', () => {
  const store = new Store('alice');
  const changes = [];
  store.addEventListener('change', (event) => changes.push(event.detail));
  store.addEvents('den', [message(1)]);
  store.addEvents('den', [message(1)]);
  assert.deepEqual(changes, [{ what: 'events', room: 'den' }]);
});

test('unread counts each message of others once, past what the server counted', () => {
  const store = new Store('alice');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 2, read_seq: 1, unread: 1 }]);
  store.addEvents('den', [message(2), message(3), message(4, 'alice')]);
  assert.equal(store.room('den').unread, 2); // seq 2 was counted by the server already
  store.addEvents('den', [message(3), message(5)]);
  assert.equal(store.room('den').unread, 3);
  assert.equal(store.totalUnread(), 3);
  assert.equal(store.markRead('den', 5), true);
  assert.equal(store.room('den').unread, 0);
});

test('a room list counted before our newer read marker reached the server counts nothing', () => {
  const store = new Store('alice');
  const info = { name: 'den', kind: 'public', last_seq: 4, read_seq: 1 };
  store.setRooms([{ ...info, unread: 3, unread_mentions: 2 }]);
  store.addEvents('den', [message(2), message(3), message(4)]);
  store.markRead('den', 4); // sent to the server, which answered `rooms` before it got there
  store.setRooms([{ ...info, unread: 3, unread_mentions: 2 }]);
  assert.equal(store.room('den').unread, 0);
  assert.equal(store.room('den').unreadMentions, 0);
  // A list counted up to a newer seq than we have read is believed.
  store.setRooms([{ ...info, last_seq: 6, unread: 2, unread_mentions: 1 }]);
  assert.equal(store.room('den').unread, 2);
  assert.equal(store.room('den').unreadMentions, 1);
});

test('forgetting a room resets its events, and the same seqs come in again', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(1), message(2)]);
  store.resetEvents('den');
  assert.deepEqual(seqs(store), []);
  assert.deepEqual(store.lastSeen(), {});
  assert.equal(store.addEvents('den', [message(2)]), 1);
  assert.deepEqual(seqs(store), [2]);
});

test('far history is forgotten beyond the kept window, and pages back in once each', () => {
  const store = new Store('alice');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 0, read_seq: 0, unread: 0 }]);
  const room = store.room('den');
  room.loaded = true;
  room.hasOlder = false;
  store.addEvents('den', [1, 2, 3, 4, 5, 6].map((seq) => message(seq)));
  assert.equal(room.unread, 6);

  store.trimHistory(null, 4);
  assert.deepEqual(seqs(store), [3, 4, 5, 6]);
  assert.equal(room.hasOlder, true); // what was dropped can be loaded again
  assert.deepEqual(store.lastSeen(), { den: 6 }); // sync still resumes after the newest
  assert.equal(store.newestSeq('den'), 6);

  // Paged back in: the dropped seqs are new again, but not counted as unread twice.
  assert.equal(store.addEvents('den', [message(1), message(2)]), 2);
  assert.deepEqual(seqs(store), [1, 2, 3, 4, 5, 6]);
  assert.equal(room.unread, 6);
  assert.equal(store.addEvents('den', [message(7)]), 1);
  assert.equal(room.unread, 7);
});

test('the room being read, and a room loading an older page, keep all their history', () => {
  const store = new Store('alice');
  store.addEvents('den', [1, 2, 3].map((seq) => message(seq)));
  store.addEvents('lab', [1, 2, 3].map((seq) => ({ ...message(seq), room: 'lab' })));
  store.trimHistory('den', 1);
  assert.deepEqual(seqs(store), [1, 2, 3]);
  assert.deepEqual(
    store.room('lab').events.map((event) => event.seq),
    [3],
  );
  // The page on its way was asked for before the oldest held: dropping now would leave a hole.
  store.room('den').loadingOlder = true;
  store.trimHistory(null, 1);
  assert.deepEqual(seqs(store), [1, 2, 3]);
  store.room('den').loadingOlder = false;
  store.trimHistory(null, 1);
  assert.deepEqual(seqs(store), [3]);
});

test('an edit or a delete changes the message it targets and is no row of its own', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(1), message(2)]);
  const edited = { type: 'message_edited', room: 'den', seq: 3, ts: 9000, user: 'bob', target: 1, body: 'fixed' };
  const deleted = { type: 'message_deleted', room: 'den', seq: 4, ts: 9500, user: 'bob', target: 2 };
  assert.equal(store.addEvents('den', [edited, deleted]), 2);
  assert.deepEqual(seqs(store), [1, 2]); // the changes are not rows
  const [first, second] = store.room('den').events;
  assert.equal(first.body, 'fixed');
  assert.equal(first.edited_at, 9000);
  assert.equal(second.deleted, true);
  assert.equal(second.body, undefined);
  assert.deepEqual(store.takeRevised('den').map((event) => event.seq), [1, 2]);
  assert.deepEqual(store.takeRevised('den'), []); // taken once
  // The changes count as seen: a resume starts after them, and a replay adds nothing.
  assert.equal(store.newestSeq('den'), 4);
  assert.deepEqual(store.lastSeen(), { den: 4 });
  assert.equal(store.addEvents('den', [edited]), 0);
});

test('a change to a message not held is remembered as seen, and nothing else', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(5)]);
  store.addEvents('den', [{ type: 'message_deleted', room: 'den', seq: 6, ts: 1, user: 'bob', target: 2 }]);
  assert.deepEqual(seqs(store), [5]);
  assert.deepEqual(store.takeRevised('den'), []);
  assert.equal(store.newestSeq('den'), 6);
});

test('a reaction is no row, but counts as seen', () => {
  const store = new Store('alice');
  store.addEvents('den', [message(1)]);
  const added = { type: 'reaction_added', room: 'den', seq: 2, ts: 1, user: 'bob', target: 1, emoji: '👍' };
  const removed = { ...added, type: 'reaction_removed', seq: 3 };
  assert.equal(store.addEvents('den', [added, removed]), 2);
  assert.deepEqual(seqs(store), [1]);
  // Added and taken back: the message is as it was (reactions.test.js has the counts).
  assert.equal(store.room('den').events[0].reactions, undefined);
  assert.equal(store.newestSeq('den'), 3);
});
