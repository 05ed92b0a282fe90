// The client's reconnect policy: what each close code means to it, and the backoff.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  BACKOFF_FIRST_MS,
  BACKOFF_MAX_MS,
  TROUBLE_WINDOW_MS,
  TroubleSigns,
  afterClose,
  backoffDelay,
} from '../../src/hubbub/web/reconnect.js';

// What the client does after each close code the server sends (docs/protocol.md, "Close
// codes"), and 1006, which the browser reports for a connection lost without a close.
const AFTER_CLOSE = {
  1000: 'retry',
  1001: 'retry',
  1002: 'retry',
  1006: 'retry',
  1007: 'stop',
  1009: 'stop',
  1011: 'retry',
  1013: 'retry',
  4000: 'retry',
  4029: 'retry',
  4401: 'sign-in',
  4503: 'stop', // guests only (guests turned off): by the ranges' policy
  4504: 'stop', // guests only (the address banned)
};

test('each close code gets its documented treatment', () => {
  for (const [code, expected] of Object.entries(AFTER_CLOSE)) {
    assert.equal(afterClose(Number(code)), expected, `close code ${code}`);
  }
});

test('every close code the server defines is decided here', () => {
  const codes = new URL('../../src/hubbub/protocol/codes.py', import.meta.url);
  const defined = [...readFileSync(codes, 'utf8').matchAll(/^ {4}[A-Z_]+ = (\d{4})\b/gm)];
  assert.ok(defined.length >= 10, 'the close codes were not found in codes.py');
  for (const [, code] of defined) assert.ok(code in AFTER_CLOSE, `close code ${code}`);
});

test('the ranges carry the policy for codes not listed', () => {
  assert.equal(afterClose(4001), 'retry');
  assert.equal(afterClose(4499), 'retry');
  assert.equal(afterClose(4500), 'stop');
  assert.equal(afterClose(4999), 'stop');
});

test('an unauthenticated error before the close means signing in again', () => {
  assert.equal(afterClose(1011, true), 'sign-in');
  assert.equal(afterClose(1000, true), 'sign-in');
});

test('the backoff doubles from the first delay up to the cap, half of it jitter', () => {
  const ceilings = [1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, 1));
  assert.deepEqual(ceilings, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  assert.equal(backoffDelay(1, 0), BACKOFF_FIRST_MS / 2);
  assert.equal(backoffDelay(3, 0.5), 3000);
  for (const attempt of [6, 20, 1000, 1e6]) {
    assert.equal(backoffDelay(attempt, 0), BACKOFF_MAX_MS / 2);
    assert.equal(backoffDelay(attempt, 0.999999) < BACKOFF_MAX_MS, true);
  }
});

test('the jitter is drawn by default and stays within its half', () => {
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelay(2);
    assert.ok(delay >= 1000 && delay < 2000, `delay ${delay}`);
  }
});

// The signs of a proxy in the way: sockets cut soon after opening, or never opening.

test('three sockets cut within a minute are trouble, until the cuts age out', () => {
  const signs = new TroubleSigns();
  for (const at of [0, 20_000]) {
    signs.opened();
    signs.closed(1006, true, at);
  }
  assert.equal(signs.keepsBeingCut(20_000), false);
  assert.equal(signs.cutUntil(20_000), 0);
  signs.opened();
  signs.closed(1006, true, 40_000);
  assert.equal(signs.keepsBeingCut(40_000), true);
  assert.equal(signs.cutUntil(40_000), TROUBLE_WINDOW_MS); // the first cut leaves the window
  assert.equal(signs.keepsBeingCut(TROUBLE_WINDOW_MS - 1), true);
  assert.equal(signs.keepsBeingCut(TROUBLE_WINDOW_MS), false);
  signs.closed(1006, true, 70_000); // cut again: trouble again, for longer
  assert.equal(signs.keepsBeingCut(70_000), true);
  assert.equal(signs.cutUntil(70_000), 20_000 + TROUBLE_WINDOW_MS);
});

test('closes with a code are no cut, nor are cuts spread over more than a minute', () => {
  const signs = new TroubleSigns();
  for (const [code, at] of [
    [1001, 0],
    [1000, 1000],
    [1011, 2000],
    [4000, 3000],
  ]) {
    signs.closed(code, true, at);
  }
  assert.equal(signs.keepsBeingCut(3000), false);
  const spread = new TroubleSigns();
  for (const at of [0, 31_000, 62_000, 93_000]) spread.closed(1006, true, at);
  assert.equal(spread.keepsBeingCut(93_000), false);
});

test('three attempts in a row that never open make it worth asking HTTP', () => {
  const signs = new TroubleSigns();
  signs.closed(1006, false, 0);
  signs.closed(1006, false, 1000);
  assert.equal(signs.neverOpens(), false);
  signs.closed(1006, false, 3000);
  assert.equal(signs.neverOpens(), true);
  assert.equal(signs.keepsBeingCut(3000), false); // failed opens are no cuts
  signs.opened();
  assert.equal(signs.neverOpens(), false);
  signs.closed(1006, false, 9000);
  assert.equal(signs.neverOpens(), false); // counted afresh after a socket opened
});
