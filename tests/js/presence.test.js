// Presence in the page: the store's picture of who is online, and the idle watch that says
// when the user has left the page alone for a while.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IdleWatch } from '../../src/hubbub/web/idle.js';
import { Store } from '../../src/hubbub/web/store.js';

test('the store holds changes, and the reply to sync replaces the whole picture', () => {
  const store = new Store('me');
  const told = [];
  store.addEventListener('change', (event) => told.push(event.detail.what));
  store.setPresence({ alice: 'online', bob: 'away' }, true);
  store.setPresence({ alice: 'offline', carol: 'online' });
  assert.deepEqual(
    ['alice', 'bob', 'carol', 'dave'].map((user) => store.presenceOf(user)),
    ['offline', 'away', 'online', 'offline'],
  );
  store.setPresence({ dave: 'away' }, true);
  assert.equal(store.presenceOf('bob'), 'offline');
  assert.equal(store.presenceOf('dave'), 'away');
  assert.deepEqual(told, ['presence', 'presence', 'presence']);
});

test('away after the idle time without input, back at the next input', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let now = 0;
  const target = new EventTarget();
  const changes = [];
  const watch = new IdleWatch((away) => changes.push(away), {
    idleMs: 1000,
    target,
    now: () => now,
  });
  now = 600;
  target.dispatchEvent(new Event('keydown')); // quiet for 400 ms at the first check
  now = 1000;
  t.mock.timers.tick(1000);
  assert.deepEqual(changes, []);
  now = 1600;
  t.mock.timers.tick(600);
  assert.deepEqual(changes, [true]);
  assert.equal(watch.away, true);
  now = 5000;
  t.mock.timers.tick(5000); // away stays away: said once
  target.dispatchEvent(new Event('pointermove'));
  assert.deepEqual(changes, [true, false]);
  now = 6000;
  t.mock.timers.tick(1000);
  assert.deepEqual(changes, [true, false, true]);
});
