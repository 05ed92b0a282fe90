// Profiles as the page holds them: what a user is called, their initials and avatar URL, a
// bounded cache, and which names are still to be asked for (each once until a reconnect).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ProfileCache,
  avatarUrl,
  batches,
  displayName,
  hasProfile,
  initialsOf,
} from '../../src/hubbub/web/profiles.js';

test('a display name stands for the username when set; guests have no profile', () => {
  assert.equal(displayName({ username: 'ann', display_name: 'Ann Lee' }, 'ann'), 'Ann Lee');
  assert.equal(displayName({ username: 'ann', display_name: '' }, 'ann'), 'ann');
  assert.equal(displayName(null, 'ann'), 'ann');
  assert.equal(displayName(null, 'guest:zed'), 'zed');
  assert.equal(hasProfile('ann'), true);
  assert.equal(hasProfile('guest:zed'), false);
  assert.equal(hasProfile(''), false);
});

test('initials: the first letters of the first two words, by code point', () => {
  assert.equal(initialsOf({ username: 'ann', display_name: 'ann lee smith' }, 'ann'), 'AL');
  assert.equal(initialsOf(null, 'bob'), 'B');
  assert.equal(initialsOf({ username: 'x', display_name: '😀 party' }, 'x'), '😀P');
  assert.equal(initialsOf({ username: 'x', display_name: '   ' }, 'x'), 'X');
});

test('an avatar URL names the user, escaped, and changes with the version', () => {
  assert.equal(avatarUrl({ username: 'ann' }), null);
  assert.equal(avatarUrl({ username: 'ann', avatar: '' }), null);
  assert.equal(avatarUrl({ username: 'a.b', avatar: 'v1' }), '/api/v1/users/a.b/avatar?v=v1');
  assert.notEqual(avatarUrl({ username: 'ann', avatar: 'v1' }), avatarUrl({ username: 'ann', avatar: 'v2' }));
});

test('set says whether what is shown changed', () => {
  const cache = new ProfileCache();
  assert.equal(cache.set({ username: 'ann', display_name: 'Ann' }), true);
  assert.equal(cache.set({ username: 'ann', display_name: 'Ann' }), false);
  assert.equal(cache.set({ username: 'ann', display_name: 'Ann', status: 'away' }), true);
  assert.equal(cache.displayName('ann'), 'Ann');
  assert.equal(cache.displayName('bob'), 'bob');
  assert.equal(cache.set({ username: 'guest:x' }), false);
  assert.equal(cache.get('guest:x'), null);
});

test('each name is asked for once, known ones never, until the cache goes stale', () => {
  const cache = new ProfileCache();
  cache.set({ username: 'ann' });
  assert.deepEqual(cache.take(['ann', 'bob', 'guest:x', 'bob', 'cy']), ['bob', 'cy']);
  assert.deepEqual(cache.take(['bob', 'cy']), []);
  cache.forget(['cy']); // the request failed
  assert.deepEqual(cache.take(['bob', 'cy']), ['cy']);
  cache.stale(); // a reconnect: known ones are asked again too
  assert.deepEqual(cache.take(['ann', 'bob']), ['ann', 'bob']);
});

test('the cache is bounded: the least recently set go first, and may be asked again', () => {
  const cache = new ProfileCache(3);
  for (const name of ['a', 'b', 'c']) cache.set({ username: name });
  cache.set({ username: 'a', display_name: 'again' }); // a is the newest now
  cache.set({ username: 'd' });
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), null);
  assert.equal(cache.get('a').display_name, 'again');
  assert.deepEqual(cache.take(['b']), ['b']);
});

test('names are asked for in requests of at most 200', () => {
  const names = Array.from({ length: 450 }, (_, i) => `u${i}`);
  const parts = batches(names);
  assert.deepEqual(parts.map((part) => part.length), [200, 200, 50]);
  assert.deepEqual(parts.flat(), names);
  assert.deepEqual(batches([]), []);
});
