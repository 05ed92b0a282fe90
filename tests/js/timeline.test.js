// What the message list shows, in order: day dividers, events grouped by author, then the
// messages still pending.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { timelineItems } from '../../src/hubbub/web/timeline.js';

const at = (day, hour, minute) => new Date(2030, 0, day, hour, minute).getTime(); // local time
let seq = 0;

function message(user, ts, fields = {}) {
  seq += 1;
  return { type: 'message', room: 'den', seq, ts, user, body: `m${seq}`, ...fields };
}

const shape = (items) =>
  items.map((item) => (item.kind === 'day' ? 'day' : `${item.kind}${item.grouped ? '+' : ''}`));

test("one author's messages within five minutes are grouped under one header", () => {
  const events = [
    message('bob', at(1, 10, 0)),
    message('bob', at(1, 10, 4)),
    message('bob', at(1, 10, 9)), // five minutes after the previous one: a new group
    message('carol', at(1, 10, 10)),
    message('bob', at(1, 10, 11)),
  ];
  assert.deepEqual(shape(timelineItems(events, [], 'alice')), [
    'day',
    'message',
    'message+',
    'message',
    'message',
    'message',
  ]);
});

test('a member line and a new day both end a group', () => {
  const events = [
    message('bob', at(1, 23, 58)),
    { type: 'member_joined', room: 'den', seq: 100, ts: at(1, 23, 59), user: 'carol' },
    message('bob', at(1, 23, 59)),
    message('bob', at(2, 0, 1)), // two minutes later, but the next day
  ];
  const items = timelineItems(events, [], 'alice');
  assert.deepEqual(shape(items), ['day', 'message', 'member', 'message', 'day', 'message']);
  assert.deepEqual(
    items.filter((item) => item.kind === 'day').map((item) => item.key),
    ['d:2030-1-1', 'd:2030-1-2'],
  );
});

test('pending messages follow the events, unless the server already echoed them', () => {
  const echoed = message('alice', at(3, 9, 0), { client_msg_id: 'c1' });
  const pending = [
    { cid: 'c1', ts: at(3, 9, 0), body: 'sent meanwhile', state: 'pending' },
    { cid: 'c2', ts: at(3, 9, 1), body: 'still pending', state: 'pending' },
  ];
  const items = timelineItems([echoed], pending, 'alice');
  assert.deepEqual(
    items.map((item) => item.key),
    ['d:2030-1-3', `s:${echoed.seq}`, 'p:c2'],
  );
  assert.equal(items.at(-1).grouped, true); // mine, a minute after my last message
});

test("someone else's message with the same client_msg_id does not hide a pending one", () => {
  const theirs = message('bob', at(4, 9, 0), { client_msg_id: 'c1' });
  const pending = [{ cid: 'c1', ts: at(4, 9, 1), body: 'mine', state: 'pending' }];
  const items = timelineItems([theirs], pending, 'alice');
  assert.deepEqual(
    items.map((item) => item.kind),
    ['day', 'message', 'pending'],
  );
});
