// Moderation in the page, pure: who may act on whom (the server's ranks), whether a user is
// muted now and until when (the newest word of events and lists), and what the page says.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MUTE_CHOICES,
  Mutes,
  markedLabel,
  mayModerate,
  memberActions,
  muteUntil,
  mutedNotice,
  removedNotice,
  untilText,
} from '../../src/hubbub/web/moderation.js';

const room = { kind: 'public' };
const viewer = (user, role, serverAdmin = false) => ({ ...room, user, role, serverAdmin });
const member = (user, role = 'member', extra = {}) => ({ user, role, serverAdmin: false, muted: false, ...extra });

test('the owner acts on admins and members, and changes their roles', () => {
  const owner = viewer('olive', 'owner');
  assert.deepEqual(memberActions(owner, member('mia')), ['make-admin', 'mute', 'kick', 'ban']);
  assert.deepEqual(memberActions(owner, member('adam', 'admin')), ['make-member', 'mute', 'kick', 'ban']);
  assert.deepEqual(memberActions(owner, member('mia', 'member', { muted: true })), [
    'make-admin',
    'unmute',
    'kick',
    'ban',
  ]);
  assert.deepEqual(memberActions(owner, member('olive', 'owner')), []); // nobody acts on themselves
  // The server's admin stands above the owner: the owner may only change their role.
  assert.deepEqual(memberActions(owner, member('root', 'member', { serverAdmin: true })), ['make-admin']);
});

test('an admin acts on members only, and changes no roles', () => {
  const admin = viewer('adam', 'admin');
  assert.deepEqual(memberActions(admin, member('mia')), ['mute', 'kick', 'ban']);
  assert.deepEqual(memberActions(admin, member('ada', 'admin')), []);
  assert.deepEqual(memberActions(admin, member('olive', 'owner')), []);
});

test('the server admin acts on everyone but changes no roles; members and DMs get nothing', () => {
  const root = viewer('root', 'member', true);
  assert.deepEqual(memberActions(root, member('olive', 'owner')), ['mute', 'kick', 'ban']);
  assert.deepEqual(memberActions(viewer('mia', 'member'), member('max')), []);
  assert.deepEqual(memberActions({ ...viewer('olive', 'owner'), kind: 'dm' }, member('mia')), []);
  assert.equal(mayModerate({ kind: 'public', role: 'member' }), false);
  assert.equal(mayModerate({ kind: 'private', role: 'admin' }), true);
  assert.equal(mayModerate({ kind: 'public', role: 'member', serverAdmin: true }), true);
  assert.equal(mayModerate({ kind: 'dm', role: 'owner', serverAdmin: true }), false);
});

test('mute durations end where they say', () => {
  assert.deepEqual(
    MUTE_CHOICES.map((c) => c.id),
    ['10m', '1h', '1d', 'lifted'],
  );
  assert.equal(muteUntil('10m', 1000), 1000 + 600_000);
  assert.equal(muteUntil('1d', 0), 86_400_000);
  assert.equal(muteUntil('lifted', 1000), null);
  assert.throws(() => muteUntil('forever', 0));
});

test('a mute holds until its time, and the newest word wins', () => {
  const mutes = new Mutes();
  assert.deepEqual(mutes.state('den', 'mia', 0), { muted: false, until: null });
  assert.equal(mutes.learnEvents('den', [{ type: 'member_muted', seq: 5, user: 'mia', by: 'olive', until: 100 }]), true);
  assert.deepEqual(mutes.state('den', 'mia', 99), { muted: true, until: 100 });
  assert.deepEqual(mutes.state('den', 'mia', 100), { muted: false, until: null }); // over at until
  assert.deepEqual(mutes.state('other', 'mia', 0), { muted: false, until: null });
  assert.equal(mutes.nextEnd('den', 50), 100);
  assert.equal(mutes.nextEnd('den', 100), null);

  // A list read before the mute (an older seq) does not undo it; a newer one does.
  mutes.learnList('den', ['mia', 'max'], {}, 4);
  assert.equal(mutes.state('den', 'mia', 0).muted, true);
  mutes.learnList('den', ['mia', 'max'], { max: null }, 6);
  assert.equal(mutes.state('den', 'mia', 0).muted, false);
  assert.deepEqual(mutes.state('den', 'max', 10 ** 15), { muted: true, until: null }); // until lifted
  assert.equal(mutes.learnEvents('den', [{ type: 'member_unmuted', seq: 7, user: 'max', by: 'olive' }]), true);
  assert.equal(mutes.state('den', 'max', 0).muted, false);
  assert.equal(mutes.learnEvents('den', [{ type: 'message', seq: 8, user: 'max', body: 'hi' }]), false);
});

const formats = { time: (ts) => `T${ts}`, full: (ts) => `F${ts}` };

test('what a muted, kicked or banned user reads', () => {
  const now = Date.UTC(2026, 0, 10, 12);
  const soon = now + 600_000;
  const tomorrow = now + 86_400_000;
  assert.equal(untilText(soon, now, formats), `until T${soon}`);
  assert.equal(untilText(tomorrow, now, formats), `until F${tomorrow}`);
  assert.equal(mutedNotice('#den', soon, now, formats), `You are muted in #den until T${soon}`);
  assert.equal(mutedNotice('#den', null, now, formats), 'You are muted in #den until a moderator unmutes you');
  const nameOf = (user) => (user === 'olive' ? 'Olive O.' : user);
  assert.equal(
    removedNotice('#den', { type: 'member_kicked', user: 'mia', by: 'olive' }, nameOf),
    'You were removed from #den by Olive O.',
  );
  assert.equal(
    removedNotice('#den', { type: 'member_banned', user: 'mia', by: 'olive', reason: '<b>spam</b>' }, nameOf),
    'You were banned from #den by Olive O.: <b>spam</b>',
  );
  assert.equal(removedNotice('#den', { type: 'member_banned', user: 'mia', by: 'adam' }, nameOf), 'You were banned from #den by adam');
  assert.equal(markedLabel('den', 'public'), '#den');
  assert.equal(markedLabel('bob', 'dm'), 'bob');
});

test('a room one was removed from stays until closed, and is not resumed', async () => {
  const { Store } = await import('../../src/hubbub/web/store.js');
  const store = new Store('mia');
  const info = (name, extra = {}) => ({ name, kind: 'public', last_seq: 3, read_seq: 3, unread: 0, ...extra });
  store.setRooms([info('den'), info('hall')]);
  store.addEvents('den', [{ type: 'member_banned', room: 'den', seq: 4, ts: 1, user: 'mia', by: 'olive' }]);
  store.markRemoved('den', { type: 'member_banned', user: 'mia', by: 'olive' });
  store.setRooms([info('hall')]); // the server's list after a reconnect
  assert.equal(store.room('den').removed.type, 'member_banned');
  assert.deepEqual(Object.keys(store.lastSeen()), []); // `sync` names no room not ours
  store.upsertRoom(info('den', { last_seq: 5 })); // back in it (unbanned, joined)
  assert.equal(store.room('den').removed, null);
});

test('the settings are the newest of the room list and room_changed events', async () => {
  const { Store } = await import('../../src/hubbub/web/store.js');
  const store = new Store('mia');
  store.setRooms([{ name: 'den', kind: 'public', last_seq: 5, read_seq: 5, unread: 0, topic: 'old', title: '', retention_days: null }]);
  assert.deepEqual(store.room('den').settings, { topic: 'old', title: '', retention_days: null });
  const changed = (seq, fields) => ({ type: 'room_changed', room: 'den', seq, ts: 1, user: 'olive', ...fields });
  store.addEvents('den', [changed(4, { topic: 'older still' })]); // the list is newer
  assert.equal(store.room('den').settings.topic, 'old');
  store.addEvents('den', [changed(6, { topic: 'new', retention_days: 30 })]);
  assert.deepEqual(store.room('den').settings, { topic: 'new', title: '', retention_days: 30 });
  store.addEvents('den', [changed(7, { retention_days: -1, title: 'Den' })]); // the server's again
  assert.deepEqual(store.room('den').settings, { topic: 'new', title: 'Den', retention_days: null });
});
