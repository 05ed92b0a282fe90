// Display names and files where a line of text stands for a message: the `@` list found by
// display name, a quote of a message of files only, and what a notification says of one.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { filesLabel } from '../../src/hubbub/web/file_views.js';
import { mentionCandidates } from '../../src/hubbub/web/mentions.js';
import { notificationBody } from '../../src/hubbub/web/notify.js';
import { quoteLine, replyTo } from '../../src/hubbub/web/threads.js';

const pdf = { id: 'f1', name: 'report.pdf', size: 3000, type: 'application/pdf' };
const png = { id: 'f2', name: 'cat.png', size: 9000, type: 'image/png', width: 64, height: 48 };

test('files in a few words: the name of one, the count of several', () => {
  assert.equal(filesLabel([pdf]), 'report.pdf');
  assert.equal(filesLabel([pdf, png, pdf]), '3 files');
  assert.equal(filesLabel([]), '');
  assert.equal(filesLabel(undefined), '');
  assert.equal(filesLabel([{ name: '' }]), 'file');
});

test('a quote of a message of files only shows its files, or that it had some', () => {
  // The server quotes the body, "" for files only; the page knows the parent's files.
  assert.equal(quoteLine({ user: 'bob', body: '' }, [png]), '📎 cat.png');
  assert.equal(quoteLine({ user: 'bob', body: '' }, [png, pdf]), '📎 2 files');
  // The parent is not held: still not an empty quote.
  assert.equal(quoteLine({ user: 'bob', body: '' }), '📎 Attachment');
  assert.equal(quoteLine({ user: 'bob' }), '📎 Attachment');
  // Text wins over files; a deleted parent stays "Message deleted".
  assert.equal(quoteLine({ user: 'bob', body: 'look' }, [png]), 'look');
  assert.equal(quoteLine({ user: 'bob', body: '', deleted: true }, [png]), 'Message deleted');
});

test('a reply written to a message of files only keeps their names for its quote', () => {
  const parent = { type: 'message', seq: 4, user: 'bob', body: '', files: [png, pdf] };
  const reply = replyTo(parent);
  assert.deepEqual(reply.quote, {
    user: 'bob',
    body: '',
    files: [{ name: 'cat.png' }, { name: 'report.pdf' }],
  });
  assert.equal(quoteLine(reply.quote), '📎 2 files');
  // With text, the quote is the text alone, as the server's.
  assert.deepEqual(replyTo({ ...parent, body: 'see these' }).quote, { user: 'bob', body: 'see these' });
});

test('a notification of files only says what was sent', () => {
  assert.equal(notificationBody({ body: '', files: [pdf] }), 'sent a file: report.pdf');
  assert.equal(notificationBody({ files: [pdf, png, pdf] }), 'sent 3 files');
  assert.equal(notificationBody({ body: 'hi  there', files: [pdf] }), 'hi there');
  assert.equal(notificationBody(null), 'mentioned you');
  // A long name is cut as any notification text is.
  const long = notificationBody({ body: '', files: [{ name: `${'x'.repeat(300)}.pdf` }] });
  assert.equal(Array.from(long).length, 140);
  assert.ok(long.startsWith('sent a file: xxx') && long.endsWith('…'));
});

test('the @ list finds people by display name too, and offers their usernames', () => {
  const names = { alice: 'Alice Liddell', bob: 'Robert Paulson', zoe: 'Zoë Ångström', carol: '' };
  const displayName = (user) => names[user] ?? '';
  const members = ['alice', 'bob', 'carol', 'zoe', 'me'];
  // A word of a display name starts with it: found among those that start with it.
  assert.deepEqual(mentionCandidates(members, 'rob', 'me', { displayName }), ['bob']);
  assert.deepEqual(mentionCandidates(members, 'lid', 'me', { displayName }), ['alice']);
  // Accents do not matter; usernames starting with it, then names holding it.
  assert.deepEqual(mentionCandidates(members, 'ang', 'me', { displayName }), ['zoe']);
  assert.deepEqual(mentionCandidates(members, 'a', 'me', { displayName, roomMention: false }), [
    'alice',
    'zoe',
    'bob',
    'carol',
  ]);
  assert.deepEqual(mentionCandidates(members, 'ulso', 'me', { displayName }), ['bob']);
  // Never the user, whatever their display name; without display names, as before.
  assert.deepEqual(mentionCandidates(members, 'me', 'me', { displayName, roomMention: false }), []);
  assert.deepEqual(mentionCandidates(members, 'b', 'me', { roomMention: false }), ['bob']);
});
