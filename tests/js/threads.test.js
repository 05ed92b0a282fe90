// Replies and threads as the page folds them (core/projection.py does the same on the
// server): reply counts, quotes that follow their parent's edits and delete, mentions that
// follow edits, and the thread panel's own list of messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Store, foldConversation, quoteBody } from '../../src/hubbub/web/store.js';
import { ThreadState, quoteLine, replyTo, threadSummaryText } from '../../src/hubbub/web/threads.js';

function message(seq, fields = {}) {
  return { type: 'message', room: 'den', seq, ts: 1000 * seq, user: 'bob', body: `m${seq}`, ...fields };
}

/** A reply to `parent` (a message), in its thread, quoting it as the server does. */
function reply(seq, parent, fields = {}) {
  return message(seq, {
    reply_to: parent.seq,
    thread: parent.thread ?? parent.seq,
    quote: { user: parent.user, body: quoteBody(parent.body) },
    ...fields,
  });
}

const edit = (seq, target, body, fields = {}) => ({
  type: 'message_edited',
  room: 'den',
  seq,
  ts: 1000 * seq,
  user: 'bob',
  target,
  body,
  ...fields,
});
const remove = (seq, target, fields = {}) => ({
  type: 'message_deleted',
  room: 'den',
  seq,
  ts: 1000 * seq,
  user: 'bob',
  target,
  ...fields,
});
const held = (store, seq) => store.room('den').events.find((event) => event.seq === seq);

test('a reply counts in its root, and a reply to a reply in the same root', () => {
  const store = new Store('alice');
  const root = message(1, { user: 'carol' });
  store.addEvents('den', [root]);
  const first = reply(2, root);
  store.addEvents('den', [first]);
  store.addEvents('den', [reply(3, first, { user: 'alice' })]);
  assert.equal(held(store, 1).replies, 2);
  assert.equal(held(store, 1).last_reply_at, 3000);
  assert.equal(held(store, 3).thread, 1);
  // The root's row is drawn again; the replies are rows of their own.
  assert.deepEqual(
    store.takeRevised('den').map((event) => event.seq),
    [1],
  );
});

test('a page of history or a replay is counted once: its messages stand as they are now', () => {
  const store = new Store('alice');
  const root = message(1, { replies: 2, last_reply_at: 3000 });
  store.addEvents('den', [root, reply(2, root), reply(3, root)]);
  assert.equal(held(store, 1).replies, 2);
  // An older page brings replies whose root is held, counted already by the server.
  const later = new Store('alice');
  later.addEvents('den', [message(10, { replies: 1, last_reply_at: 11_000 }), reply(11, message(10))]);
  later.addEvents('den', [reply(9, message(8)), message(8)]);
  assert.equal(held(later, 10).replies, 1);
  assert.equal(held(later, 8).replies, undefined);
});

test('an edit of the parent changes the quotes of its replies and the mentions of the parent', () => {
  const store = new Store('alice');
  const root = message(1, { user: 'carol', body: 'helo @bob', mentions: ['bob'] });
  store.addEvents('den', [root, reply(2, root), reply(3, root)]);
  store.takeRevised('den');
  const long = 'é'.repeat(150) + '😀'.repeat(100); // 250 code points, 350 UTF-16 units
  store.addEvents('den', [edit(4, 1, long, { mentions: ['alice'], room_mention: true })]);
  const parent = held(store, 1);
  assert.equal(parent.body, long);
  assert.equal(parent.edited_at, 4000);
  assert.deepEqual(parent.mentions, ['alice']);
  assert.equal(parent.room_mention, true);
  for (const seq of [2, 3]) {
    const quote = held(store, seq).quote;
    assert.equal(Array.from(quote.body).length, 200);
    assert.equal(quote.body, Array.from(long).slice(0, 200).join(''));
    assert.equal(quote.user, 'carol');
  }
  assert.deepEqual(
    store.takeRevised('den').map((event) => event.seq),
    [1, 2, 3],
  );
  // An edit that mentions nobody takes the mentions away.
  store.addEvents('den', [edit(5, 1, 'plain')]);
  assert.equal(held(store, 1).mentions, undefined);
  assert.equal(held(store, 1).room_mention, undefined);
});

test('a deleted parent leaves a tombstone and "deleted" quotes; a deleted reply uncounts', () => {
  const store = new Store('alice');
  const root = message(1, { user: 'carol' });
  const answer = reply(2, root, { mentions: ['alice'], reactions: [{ emoji: '👍', count: 1 }] });
  store.addEvents('den', [root]);
  store.addEvents('den', [answer, reply(3, answer), reply(4, root)]);
  assert.equal(held(store, 1).replies, 3);

  store.addEvents('den', [remove(5, 2, { thread: 1 })]);
  const tombstone = held(store, 2);
  assert.equal(tombstone.deleted, true);
  assert.equal(tombstone.body, undefined);
  assert.equal(tombstone.mentions, undefined);
  assert.equal(tombstone.quote, undefined);
  assert.equal(tombstone.reactions, undefined);
  assert.equal(tombstone.reply_to, 1); // where it stood stays
  assert.equal(tombstone.thread, 1);
  assert.deepEqual(held(store, 3).quote, { user: 'bob', body: '', deleted: true });
  assert.equal(held(store, 1).replies, 2);
  assert.equal(held(store, 1).last_reply_at, 4000); // a delete does not lower it

  // The same delete again (a replay) changes nothing; an edit of a deleted message neither.
  store.addEvents('den', [remove(5, 2, { thread: 1 })]);
  store.addEvents('den', [edit(6, 2, 'back?')]);
  assert.equal(held(store, 1).replies, 2);
  assert.equal(held(store, 2).deleted, true);
  assert.equal(held(store, 2).body, undefined);

  // The root deleted: its replies quote it as deleted, its count stays.
  store.addEvents('den', [remove(7, 1)]);
  assert.deepEqual(held(store, 4).quote, { user: 'carol', body: '', deleted: true });
  assert.equal(held(store, 1).replies, 2);
});

test('a change to a parent not held still changes the quotes of the replies held', () => {
  const store = new Store('alice');
  store.addEvents('den', [reply(5, message(1, { user: 'carol' })), reply(6, message(1, { user: 'carol' }))]);
  store.addEvents('den', [edit(7, 1, 'new text')]);
  assert.equal(held(store, 5).quote.body, 'new text');
  store.addEvents('den', [remove(8, 1)]);
  assert.deepEqual(held(store, 6).quote, { user: 'carol', body: '', deleted: true });
});

test('an older page does not fold its old edits into the messages held', () => {
  const store = new Store('alice');
  // Held: 5..8 as they are now (the parent 3 edited twice, at 4 and 7).
  store.addEvents('den', [message(5), reply(6, message(3, { body: 'second' })), edit(7, 3, 'second'), message(8)]);
  // Scrolling up brings 1..4: the parent (as now) and its first edit.
  store.addEvents('den', [message(1), message(2), message(3, { body: 'second', edited_at: 7000 }), edit(4, 3, 'first')]);
  assert.equal(held(store, 3).body, 'second');
  assert.equal(held(store, 6).quote.body, 'second');
});

test('a sync replay after a reset converges on the messages as they are', () => {
  const store = new Store('alice');
  const root = message(1, { replies: 1, last_reply_at: 2000, body: 'two', edited_at: 4000 });
  const gone = reply(3, root, { deleted: true, body: undefined, quote: undefined });
  store.addEvents('den', [root, reply(2, root, { quote: { user: 'bob', body: 'two' } }), gone, edit(4, 1, 'two'), remove(5, 3, { thread: 1 })]);
  assert.equal(held(store, 1).replies, 1);
  assert.equal(held(store, 2).quote.body, 'two');
});

test('a sync replays one event a frame: each stands as of the end of the replay', () => {
  const store = new Store('alice');
  const old = message(1, { replies: 1, last_reply_at: 2000 });
  store.addEvents('den', [old, reply(2, old)]);
  store.beginReplay();
  // Missed: a reply to the old root, a new root with its reply, an edit of the new root.
  const root = message(4, { replies: 1, last_reply_at: 5000, body: 'fixed', edited_at: 6000 });
  for (const event of [
    reply(3, old),
    root,
    reply(5, root, { quote: { user: 'bob', body: 'fixed' } }),
    edit(6, 4, 'fixed'),
  ]) {
    store.addEvents('den', [event]);
  }
  store.endReplay({ den: { last_seq: 6, complete: true } });
  assert.equal(held(store, 1).replies, 2); // held from before: counted
  assert.equal(held(store, 4).replies, 1); // came as it is now: not counted again
  assert.equal(held(store, 5).quote.body, 'fixed');
  // Live again: counted.
  store.addEvents('den', [reply(7, root)]);
  assert.equal(held(store, 4).replies, 2);
});

test('a mention of the user, or any message of others in a DM, counts as an unread mention', () => {
  const store = new Store('alice');
  store.setRooms([
    { name: 'den', kind: 'public', last_seq: 1, read_seq: 0, unread: 1, unread_mentions: 1 },
    { name: 'dm:alice:bob', kind: 'dm', last_seq: 0, read_seq: 0, unread: 0, unread_mentions: 0 },
  ]);
  assert.equal(store.totalMentions(), 1);
  store.addEvents('den', [message(2, { mentions: ['alice'] }), message(3, { room_mention: true }), message(4)]);
  store.addEvents('den', [message(5, { user: 'alice', room_mention: true })]); // her own
  assert.equal(store.room('den').unreadMentions, 3);
  assert.equal(store.room('den').unread, 4);
  store.addEvents('dm:alice:bob', [{ ...message(1), room: 'dm:alice:bob' }]);
  assert.equal(store.room('dm:alice:bob').unreadMentions, 1);
  assert.equal(store.totalMentions(), 4);
  // A mention deleted before it was read no longer counts.
  store.addEvents('den', [remove(6, 2)]);
  assert.equal(store.room('den').unreadMentions, 2);
  assert.equal(store.room('den').unread, 3);
  // Reading clears both.
  store.markRead('den', 6);
  assert.equal(store.room('den').unreadMentions, 0);
  assert.equal(store.totalMentions(), 1);
});

test('foldConversation reports what it changed and leaves the rest as it was', () => {
  const root = message(1);
  const list = [root, message(2)];
  const changed = foldConversation(list, [reply(3, root)].map((e) => (list.push(e), e)), 2);
  assert.deepEqual([...changed.keys()], [1]);
  assert.notEqual(list[0], root); // a new object: rows compare by identity
  assert.equal(root.replies, undefined);
});

test('the thread panel keeps its root and replies, takes new ones live, and pages older ones', () => {
  const root = message(10, { user: 'carol', replies: 4, last_reply_at: 21_000 });
  const thread = new ThreadState('den', 10);
  thread.addPage({ root, events: [reply(20, root), reply(21, root)], has_more: true });
  assert.equal(thread.rootMessage.seq, 10);
  assert.deepEqual(
    thread.replies.map((e) => e.seq),
    [20, 21],
  );
  assert.equal(thread.oldestReply, 20);
  assert.equal(thread.hasMore, true);

  // Live: a reply of this thread, a message of the room, an edit of a reply.
  assert.equal(thread.accept([reply(22, root)], 21), true);
  assert.equal(thread.accept([message(23)], 22), false);
  assert.equal(thread.accept([edit(24, 20, 'fixed')], 23), true);
  assert.deepEqual(
    thread.replies.map((e) => [e.seq, e.body]),
    [
      [20, 'fixed'],
      [21, 'm21'],
      [22, 'm22'],
    ],
  );
  assert.equal(thread.rootMessage.replies, 5);
  assert.equal(thread.rootMessage.last_reply_at, 22_000);
  // A reply deleted: a tombstone in its place, and one reply fewer.
  thread.accept([remove(25, 21, { thread: 10 })], 24);
  assert.equal(thread.events.find((e) => e.seq === 21).deleted, true);
  assert.equal(thread.rootMessage.replies, 4);
  // What the room pages in from older history is not news to the thread.
  assert.equal(thread.accept([reply(9, message(8)), reply(17, root)], 25), false);

  // "Load older": the page before the oldest held.
  thread.addPage({ root, events: [reply(15, root), reply(16, root)], has_more: false });
  assert.deepEqual(
    thread.replies.map((e) => e.seq),
    [15, 16, 20, 21, 22],
  );
  assert.equal(thread.hasMore, false);
  assert.equal(thread.rootMessage.replies, 4); // the root held is kept
});

test("what a row shows of a quote and of a root's replies", () => {
  assert.equal(quoteLine({ user: 'bob', body: '\n first line\nsecond' }), 'first line');
  assert.equal(quoteLine({ user: 'bob', body: '', deleted: true }), 'Message deleted');
  // What the line reads as, without its marks; markup that is no Markdown stays as written.
  assert.equal(quoteLine({ user: 'bob', body: 'ship **the panel** `today`, @alice' }), 'ship the panel today, @alice');
  assert.equal(quoteLine({ user: 'bob', body: '> - [x](javascript:alert(1))' }), '[x](javascript:alert(1))');
  assert.equal(quoteLine({ user: 'bob', body: '<img src=x onerror=alert(1)>' }), '<img src=x onerror=alert(1)>');
  assert.equal(quoteLine({ user: 'bob', body: '```js\ncode' }), '```js');
  assert.equal(threadSummaryText(message(1)), '');
  const now = new Date(2030, 0, 2, 12, 0).getTime();
  const text = threadSummaryText({ replies: 1, last_reply_at: now - 60_000 }, now);
  assert.match(text, /^1 reply · last reply \S/);
  assert.match(threadSummaryText({ replies: 3, last_reply_at: now }, now), /^3 replies · /);
  // Answering a reply answers in its root's thread, quoting the reply.
  const answer = reply(5, message(1));
  assert.deepEqual(replyTo(answer), {
    reply_to: 5,
    thread: 1,
    quote: { user: 'bob', body: 'm5' },
  });
});
