// Who sees the room's outgoing webhooks, and how their triggers and deliveries read.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { deliveryOk, deliveryText, mayManage, parseWords, triggerText } from '../../src/hubbub/web/outgoing_webhooks.js';

const viewer = (user, role, serverAdmin = false) => ({ user, role, serverAdmin });

test('the room owner and admins, and server admins, manage outgoing webhooks', () => {
  assert.equal(mayManage(viewer('alice', 'owner')), true);
  assert.equal(mayManage(viewer('carol', 'admin')), true);
  assert.equal(mayManage(viewer('root', 'member', true)), true);
  assert.equal(mayManage(viewer('dave', 'member')), false);
  assert.equal(mayManage(null), false);
});

test('trigger words are split on spaces and commas, and bounded', () => {
  assert.deepEqual(parseWords(' deploy, status  ship'), { words: ['deploy', 'status', 'ship'] });
  assert.ok(parseWords(' , ').error);
  assert.ok(parseWords('a b c d e f g h i j k').error);
  assert.ok(parseWords('x'.repeat(33)).error);
});

test('a trigger reads as what it fires on', () => {
  const hook = { username: 'hook-a1', words: ['deploy', 'ship'] };
  assert.equal(triggerText({ ...hook, trigger: 'all' }), 'every message');
  assert.equal(triggerText({ ...hook, trigger: 'mention' }), 'messages mentioning @hook-a1');
  assert.equal(triggerText({ ...hook, trigger: 'words' }), 'messages starting with deploy, ship');
});

test('a delivery reads as its outcome', () => {
  assert.equal(deliveryText(undefined), 'no delivery yet');
  assert.equal(deliveryText({ status: 200, attempts: 1 }), 'OK (200)');
  assert.equal(deliveryText({ status: 200, attempts: 3 }), 'OK (200) after 3 attempts');
  assert.equal(deliveryText({ status: 500, error: 'HTTP 500', attempts: 5 }), 'HTTP 500 after 5 attempts');
  assert.equal(deliveryText({ error: 'queue full', attempts: 0 }), 'queue full');
  assert.equal(deliveryOk({ status: 204, attempts: 1 }), true);
  assert.equal(deliveryOk({ status: 200, error: 'reply ignored: the reply is not JSON', attempts: 1 }), false);
  assert.equal(deliveryOk({ error: 'queue full', attempts: 0 }), false);
});
