// The browser's fold of a room's events mirrors the server's projection: a log made by the
// Python projection (fixtures/conversation.json, see make_conversation.py), delivered live one
// event at a time, leaves the store holding each message as a fresh history shows it.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { Store } from '../../src/hubbub/web/store.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/conversation.json', import.meta.url)));

// What a message shows; a field left out is at its default.
const FIELDS = {
  body: '',
  deleted: false,
  edited_at: null,
  reply_to: null,
  thread: null,
  quote: null,
  replies: 0,
  last_reply_at: null,
  mentions: [],
  room_mention: false,
  reactions: [],
};

function shown(message) {
  const out = { seq: message.seq };
  for (const [field, fallback] of Object.entries(FIELDS)) {
    const value = message[field] ?? fallback;
    out[field] = field === 'reactions' ? value.map(({ emoji, count, me }) => ({ emoji, count, me })) : value;
  }
  return out;
}

test('live events folded one by one give what the server shows', () => {
  const store = new Store(fixture.reader);
  for (const event of fixture.events) store.addEvents('r', [event]);
  const held = store.room('r').events.filter((event) => event.type === 'message');
  assert.deepEqual(held.map(shown), fixture.messages.map(shown));
});

test('the log holds every kind of change, so the comparison means something', () => {
  const kinds = new Set(fixture.events.map((event) => event.type));
  for (const kind of ['message', 'message_edited', 'message_deleted', 'reaction_added']) {
    assert.ok(kinds.has(kind), kind);
  }
  assert.ok(fixture.messages.some((message) => message.quote));
  assert.ok(fixture.messages.some((message) => message.replies));
  assert.ok(fixture.messages.some((message) => message.reactions));
});
