// Rows placed from their neighbours only, and the plan that turns the rows shown into a
// room's events a change at a time.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { placement, planUpdate, rowOf } from '../../src/hubbub/web/rows.js';
import { timelineItems } from '../../src/hubbub/web/timeline.js';

const at = (day, hour, minute) => new Date(2030, 0, day, hour, minute).getTime(); // local time
const msg = (user, ts) => ({ user, ts, message: true });
const seqs = (...list) => list.map((seq) => ({ seq }));

test('a row is grouped under the same author within five minutes of the same day', () => {
  assert.deepEqual(placement(null, msg('bob', at(1, 10, 0))), { newDay: true, grouped: false });
  assert.deepEqual(placement(msg('bob', at(1, 10, 0)), msg('bob', at(1, 10, 4))), {
    newDay: false,
    grouped: true,
  });
  assert.equal(placement(msg('bob', at(1, 10, 0)), msg('bob', at(1, 10, 5))).grouped, false);
  assert.equal(placement(msg('bob', at(1, 10, 0)), msg('carol', at(1, 10, 1))).grouped, false);
  assert.deepEqual(placement(msg('bob', at(1, 23, 59)), msg('bob', at(2, 0, 1))), {
    newDay: true,
    grouped: false,
  });
  const joined = { user: 'bob', ts: at(1, 10, 1), message: false };
  assert.equal(placement(msg('bob', at(1, 10, 0)), joined).grouped, false);
  assert.equal(placement(joined, msg('bob', at(1, 10, 2))).grouped, false);
});

test('placing each row after its neighbour gives the whole list', () => {
  // The incremental drawing relies on this: a row depends on the row above only.
  const events = [
    ['bob', at(1, 10, 0), 'message'],
    ['bob', at(1, 10, 1), 'message'],
    ['carol', at(1, 10, 2), 'member_joined'],
    ['carol', at(1, 10, 3), 'message'],
    ['carol', at(2, 9, 0), 'message'],
  ].map(([user, ts, type], i) => ({ type, room: 'den', seq: i + 1, ts, user, body: 'x' }));
  const items = timelineItems(events, [], 'alice').filter((item) => item.kind !== 'day');
  const placed = events.map((event, i) => placement(i ? rowOf(events[i - 1]) : null, rowOf(event)));
  assert.deepEqual(
    items.map((item) => item.grouped),
    placed.map((p) => p.grouped),
  );
  const days = timelineItems(events, [], 'alice').filter((item) => item.kind === 'day').length;
  assert.equal(days, placed.filter((p) => p.newDay).length);
});

test('new events below and older events above are added, the rest is kept', () => {
  const shown = seqs(5, 6, 7);
  assert.deepEqual(planUpdate(shown, seqs(5, 6, 7, 8)), { drop: 0, head: 0, tail: 1 });
  assert.deepEqual(planUpdate(shown, seqs(2, 3, 4, 5, 6, 7)), { drop: 0, head: 3, tail: 0 });
  assert.deepEqual(planUpdate(shown, seqs(5, 6, 7)), { drop: 0, head: 0, tail: 0 });
});

test('forgotten history is dropped from the top, together with new events below', () => {
  const shown = seqs(1, 2, 3, 4);
  assert.deepEqual(planUpdate(shown, seqs(3, 4)), { drop: 2, head: 0, tail: 0 });
  assert.deepEqual(planUpdate(shown, seqs(4, 5, 6)), { drop: 3, head: 0, tail: 2 });
});

test('anything else is drawn again', () => {
  assert.equal(planUpdate([], seqs(1, 2)), null); // first drawing
  assert.equal(planUpdate(seqs(1, 2), []), null); // the room was reset
  assert.equal(planUpdate(seqs(1, 2, 5), seqs(1, 2, 3, 4, 5)), null); // a hole filled
  assert.equal(planUpdate(seqs(3, 4), seqs(7, 8)), null); // nothing in common
  assert.equal(planUpdate(seqs(3, 4, 5), seqs(1, 4, 5)), null); // dropped and added above
});
