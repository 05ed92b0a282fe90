// The lines of events that are not messages: what each kind says, with users as parts (drawn
// as names, or "you"), users' texts kept as text, and a kind the page does not know still a
// line rather than an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { lineParts } from '../../src/hubbub/web/rows.js';

const at = { room: 'r', seq: 5, ts: 1 };
const actor = (user) => ({ user, start: true });
const whom = (user) => ({ user, start: false });

test('each moderation says who did what to whom', () => {
  assert.deepEqual(lineParts({ ...at, type: 'member_kicked', user: 'bob', by: 'alice' }), [
    actor('alice'),
    ' removed ',
    whom('bob'),
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_banned', user: 'bob', by: 'alice', reason: '<b>x</b>' }), [
    actor('alice'),
    ' banned ',
    whom('bob'),
    ' (<b>x</b>)',
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_banned', user: 'bob', by: 'alice' }), [
    actor('alice'),
    ' banned ',
    whom('bob'),
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_unbanned', user: 'bob', by: 'alice' }), [
    actor('alice'),
    ' lifted the ban of ',
    whom('bob'),
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_muted', user: 'bob', by: 'alice', until: 99 }), [
    actor('alice'),
    ' muted ',
    whom('bob'),
    ' until ',
    { time: 99 },
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_unmuted', user: 'bob', by: 'alice' }), [
    actor('alice'),
    ' unmuted ',
    whom('bob'),
  ]);
});

test('a settings change says what changed', () => {
  const changed = (fields) => lineParts({ ...at, type: 'room_changed', user: 'alice', ...fields });
  assert.deepEqual(changed({ topic: 'plans', private: true }), [
    actor('alice'),
    ' set the topic to “plans” and made the room private',
  ]);
  assert.deepEqual(changed({ topic: '' }), [actor('alice'), ' cleared the topic']);
  assert.deepEqual(changed({ private: false }), [actor('alice'), ' made the room public']);
  assert.deepEqual(changed({ title: 'Den', retention_days: 30 }), [
    actor('alice'),
    ' set the title to “Den” and kept messages for 30 days',
  ]);
  assert.deepEqual(changed({ title: '' }), [actor('alice'), ' cleared the title']);
  assert.deepEqual(changed({ retention_days: 0 }), [actor('alice'), ' kept messages for ever']);
  assert.deepEqual(changed({ retention_days: -1 }), [
    actor('alice'),
    ' kept messages as long as the server does',
  ]);
});

test('the member lines are as before', () => {
  assert.deepEqual(lineParts({ ...at, type: 'member_joined', user: 'bob' }), [actor('bob'), ' joined']);
  assert.deepEqual(lineParts({ ...at, type: 'member_joined', user: 'bob', by: 'alice' }), [
    actor('alice'),
    ' added ',
    whom('bob'),
  ]);
  assert.deepEqual(lineParts({ ...at, type: 'member_left', user: 'bob' }), [actor('bob'), ' left']);
  assert.deepEqual(lineParts({ ...at, type: 'role_changed', user: 'alice', member: 'bob', role: 'admin' }), [
    actor('alice'),
    ' made ',
    whom('bob'),
    ' an admin',
  ]);
});

test('a kind the page does not know is a plain line', () => {
  assert.deepEqual(lineParts({ ...at, type: 'room_archived', user: 'alice' }), [actor('alice'), ' (room archived)']);
});
