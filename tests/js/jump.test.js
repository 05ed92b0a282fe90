// A window of a room's history around a message (jump.js): paged both ways, bounded, live
// changes folded in, and joined to what the store holds once it reaches it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MessageWindow } from '../../src/hubbub/web/jump.js';

const msg = (seq, extra = {}) => ({ type: 'message', room: 'r', seq, ts: seq * 1000, user: 'ann', body: `m${seq}`, ...extra });
const page = (seqs, hasMore) => ({ events: seqs.map((seq) => msg(seq)), has_more: hasMore });
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('opened from the pages before and after the message, their changes not kept as rows', () => {
  const win = new MessageWindow('r', 50);
  const before = page(range(41, 50), true);
  before.events.push({ type: 'message_edited', room: 'r', seq: 52, target: 45, body: 'x' });
  win.open(before, page(range(51, 60), true), 500);
  assert.deepEqual(win.events.map((e) => e.seq), range(41, 60));
  assert.equal(win.hasOlder, true);
  assert.equal(win.hasNewer, true);
  assert.equal(win.events[0].reactionsAt, 500);
});

test('older and newer pages extend it; past the bound the far end is forgotten', () => {
  const win = new MessageWindow('r', 50);
  win.open(page(range(41, 50), true), page(range(51, 60), true), 500);
  win.addOlder(page(range(31, 40), false), 25);
  assert.deepEqual(win.events.map((e) => e.seq), range(31, 55));
  assert.equal(win.hasOlder, false);
  assert.equal(win.hasNewer, true); // 56..60 forgotten: paged again
  win.addNewer(page(range(56, 70), true), 25);
  assert.deepEqual(win.events.map((e) => e.seq), range(46, 70));
  assert.equal(win.hasOlder, true);
});

test('it meets the store where the two touch; the store gets what it lacks', () => {
  const win = new MessageWindow('r', 50);
  win.open(page(range(41, 50), true), page(range(51, 60), true), 500);
  assert.equal(win.meets([msg(70), msg(71)]), false);
  assert.equal(win.meets([msg(61), msg(62)]), true);
  assert.equal(win.meets([msg(55), msg(56)]), true);
  assert.deepEqual(win.missingFrom([msg(55)]).map((e) => e.seq), range(41, 54));
  // The store holds nothing yet: only a window that reached the end is whole.
  assert.equal(win.meets([]), false);
  win.hasNewer = false;
  assert.equal(win.meets([]), true);
});

test('live edits, deletes, reactions and replies change the messages it holds', () => {
  const win = new MessageWindow('r', 50);
  win.open(page(range(41, 50), true), page(range(51, 60), true), 500);
  const changed = win.accept(
    [
      { type: 'message_edited', room: 'r', seq: 501, target: 45, body: 'new', ts: 1 },
      { type: 'message_deleted', room: 'r', seq: 502, target: 46 },
      { type: 'reaction_added', room: 'r', seq: 503, target: 47, emoji: '👍', user: 'bob' },
      msg(504, { thread: 48, reply_to: 48 }),
      { type: 'message_edited', room: 'r', seq: 400, target: 49, body: 'old news', ts: 1 },
    ],
    'ann',
  );
  assert.equal(changed, true);
  const at = (seq) => win.events.find((e) => e.seq === seq);
  assert.equal(at(45).body, 'new');
  assert.equal(at(46).deleted, true);
  assert.deepEqual(at(47).reactions, [{ emoji: '👍', count: 1, me: false }]);
  assert.equal(at(48).replies, 1);
  assert.equal(at(49).body, 'm49'); // older than the pages: already in them
  assert.equal(win.events.some((e) => e.seq === 504), false); // new messages belong at the end
  assert.deepEqual(win.takeRevised().map((m) => m.seq).sort(), [45, 46, 47, 48]);
  assert.deepEqual(win.takeRevised(), []);
});
