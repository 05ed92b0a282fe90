// Who the room's settings offer to add or revoke a webhook.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { mayAdd, mayRevoke } from '../../src/hubbub/web/webhooks.js';

const hook = { id: 'a1', name: 'CI', username: 'hook-a1', created_by: 'bob', created_at: 1 };
const viewer = (user, role, serverAdmin = false) => ({ user, role, serverAdmin });

test('its creator, the room owner and admins, and server admins may revoke a webhook', () => {
  assert.equal(mayRevoke(viewer('bob', 'member'), hook), true);
  assert.equal(mayRevoke(viewer('alice', 'owner'), hook), true);
  assert.equal(mayRevoke(viewer('carol', 'admin'), hook), true);
  assert.equal(mayRevoke(viewer('root', 'member', true), hook), true);
});

test('another member may not', () => {
  assert.equal(mayRevoke(viewer('dave', 'member'), hook), false);
});

test('the dialog offers to add a webhook to those who change the room', () => {
  assert.equal(mayAdd(viewer('alice', 'owner')), true);
  assert.equal(mayAdd(viewer('carol', 'admin')), true);
  assert.equal(mayAdd(viewer('root', 'member', true)), true);
  assert.equal(mayAdd(viewer('dave', 'member')), false);
});
