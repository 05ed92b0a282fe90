// Mentions: the `@` word being typed, the names offered for it, the text after picking one,
// and which messages call the user. Also what a notification and the tab's title say.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  applyMention,
  isForMe,
  mentionCandidates,
  mentionQuery,
  mentionsMe,
} from '../../src/hubbub/web/mentions.js';
import { notificationText, titleFor } from '../../src/hubbub/web/notify.js';

test('the word at the caret is a mention being written when it starts with @', () => {
  assert.deepEqual(mentionQuery('@', 1), { start: 0, query: '' });
  assert.deepEqual(mentionQuery('hi @Bo', 6), { start: 3, query: 'bo' });
  assert.deepEqual(mentionQuery('hi @bob and', 7), { start: 3, query: 'bob' });
  assert.deepEqual(mentionQuery('(@al', 4), { start: 1, query: 'al' });
  assert.deepEqual(mentionQuery('@a.b-c_d', 8), { start: 0, query: 'a.b-c_d' });
  // Mid-word: only up to the caret.
  assert.deepEqual(mentionQuery('@bobby', 3), { start: 0, query: 'bo' });
  // Not a mention: an address, no @, a space before the caret, a name that cannot start so.
  assert.equal(mentionQuery('mail me@host', 12), null);
  assert.equal(mentionQuery('hello', 5), null);
  assert.equal(mentionQuery('@bob ', 5), null);
  assert.equal(mentionQuery('@.x', 3), null);
  assert.equal(mentionQuery('@@bob', 5), null);
});

test('names that start with the query come first, then those holding it; never the user', () => {
  const members = ['alice', 'bob', 'bobby', 'abba', 'carol', 'Rob'];
  assert.deepEqual(mentionCandidates(members, 'b', 'alice'), ['bob', 'bobby', 'abba', 'rob']);
  assert.deepEqual(mentionCandidates(members, 'ob', 'alice', { roomMention: false }), ['bob', 'bobby', 'rob']);
  assert.deepEqual(mentionCandidates(members, 'r', 'alice'), ['rob', 'carol', 'room']);
  assert.deepEqual(mentionCandidates(members, 'ro', 'alice', { roomMention: false }), ['rob', 'carol']);
  assert.deepEqual(mentionCandidates(members, 'al', 'alice'), []);
  assert.equal(mentionCandidates(members, '', 'alice', { limit: 3 }).length, 3);
});

test('picking a name puts it in place of the word, with one space after it', () => {
  assert.deepEqual(applyMention('hi @bo', 3, 6, 'bob'), { text: 'hi @bob ', caret: 8 });
  assert.deepEqual(applyMention('@bo, see', 0, 3, 'bob'), { text: '@bob , see', caret: 5 });
  // The rest of the word at the caret is replaced too; a space already there is kept.
  assert.deepEqual(applyMention('@bo|bby x', 0, 3, 'bobby'), { text: '@bobby |bby x', caret: 7 });
  assert.deepEqual(applyMention('@bob x', 0, 2, 'bobby'), { text: '@bobby x', caret: 6 });
});

test('a message calls the user when it names them or says @room, unless it is theirs', () => {
  assert.equal(mentionsMe({ user: 'bob', mentions: ['alice'] }, 'alice'), true);
  assert.equal(mentionsMe({ user: 'bob', room_mention: true }, 'alice'), true);
  assert.equal(mentionsMe({ user: 'bob', mentions: ['carol'] }, 'alice'), false);
  assert.equal(mentionsMe({ user: 'alice', room_mention: true }, 'alice'), false);
  assert.equal(mentionsMe({ user: 'bob', deleted: true }, 'alice'), false);
  assert.equal(mentionsMe(null, 'alice'), false);
  // What the user hears about: mentions, and every message of others in a DM.
  const plain = { type: 'message', user: 'bob', body: 'hi' };
  assert.equal(isForMe(plain, 'alice', 'dm'), true);
  assert.equal(isForMe(plain, 'alice', 'public'), false);
  assert.equal(isForMe({ ...plain, user: 'alice' }, 'alice', 'dm'), false);
  assert.equal(isForMe({ ...plain, mentions: ['alice'] }, 'alice', 'private'), true);
});

test('a notification says one short line of plain text; the title counts what is unread', () => {
  assert.equal(notificationText('  hello\n\n  there  '), 'hello there');
  const long = notificationText('x'.repeat(500));
  assert.equal(Array.from(long).length, 140);
  assert.ok(long.endsWith('…'));
  // Markup is text here: the Notification API shows it as written.
  assert.equal(notificationText('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>');
  assert.equal(titleFor(0), 'hubbub');
  assert.equal(titleFor(3), '(3) hubbub');
  assert.equal(titleFor(1234), '(999+) hubbub');
});
