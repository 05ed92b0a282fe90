// The page's list of blocked users: a change is told once, and only when something changed.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { blocked } from '../../src/hubbub/web/blocks.js';

test('blocks are told when they change, not when they are the same', () => {
  const told = [];
  const listen = () => told.push([...['bob', 'carol'].filter((user) => blocked.has(user))]);
  blocked.addEventListener('change', listen);
  try {
    blocked.set(['bob']);
    blocked.set(['bob']); // the same list again: nothing to tell
    blocked.add('bob');
    blocked.add('carol');
    blocked.delete('bob');
    blocked.delete('bob');
    blocked.set(['carol']);
    blocked.set([]);
    assert.deepEqual(told, [['bob'], ['bob', 'carol'], ['carol'], []]);
    assert.equal(blocked.has('carol'), false);
  } finally {
    blocked.removeEventListener('change', listen);
  }
});
