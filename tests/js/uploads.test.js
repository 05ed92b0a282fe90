// Files as the composer and the timeline see them: sizes, checks before uploading, the
// state of an attachment as it uploads, and how a message's file is shown.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import { MAX_FILE_BYTES, MAX_FILES_PER_MESSAGE } from '../../src/hubbub/web/limits.js';
import {
  attachmentState,
  checkFile,
  clipName,
  chipStatus,
  describeUploadError,
  failed,
  fileKind,
  fileUrl,
  formatSize,
  isPreviewable,
  newChip,
  percent,
  previewSize,
  progressed,
  restarted,
  thumbUrl,
  uploadName,
  uploaded,
} from '../../src/hubbub/web/uploads.js';

const MiB = 1024 * 1024;

test('sizes read as people read them', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(1), '1 B');
  assert.equal(formatSize(1023), '1023 B');
  assert.equal(formatSize(1024), '1.0 KB');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(10 * 1024), '10 KB');
  assert.equal(formatSize(999.4 * 1024), '999 KB');
  assert.equal(formatSize(1023.7 * 1024), '1.0 MB'); // never "1024 KB"
  assert.equal(formatSize(MiB), '1.0 MB');
  assert.equal(formatSize(25 * MiB), '25 MB');
  assert.equal(formatSize(3.25 * 1024 * MiB), '3.3 GB');
  assert.equal(formatSize(-1), '');
  assert.equal(formatSize(Number.NaN), '');
});

test('a file is checked before it is uploaded: empty, too large, one too many', () => {
  assert.equal(checkFile({ name: 'a.txt', size: 5 }), null);
  assert.equal(checkFile({ name: 'a.txt', size: MAX_FILE_BYTES }), null);
  assert.equal(checkFile({ name: 'a.txt', size: 0 }), 'the file is empty');
  assert.equal(checkFile({ name: 'big.iso', size: MAX_FILE_BYTES + 1 }), 'too large — 25 MB at most');
  assert.equal(checkFile({ name: 'a', size: 200 }, 0, 100), 'too large — 100 B at most');
  assert.equal(checkFile({ name: 'a', size: 1 }, MAX_FILES_PER_MESSAGE - 1), null);
  assert.equal(checkFile({ name: 'a', size: 1 }, MAX_FILES_PER_MESSAGE), '10 files at most in one message');
});

test('the client\'s bounds are the server\'s defaults, when the server states them', () => {
  assert.equal(MAX_FILE_BYTES, 25 * MiB);
  assert.equal(MAX_FILES_PER_MESSAGE, 10);
  const config = new URL('../../src/hubbub/config.py', import.meta.url);
  if (!existsSync(config)) return;
  const found = readFileSync(config, 'utf8').match(/max_file_bytes: int = ([0-9_ *]+)/);
  if (found) assert.equal(MAX_FILE_BYTES, Function(`return ${found[1].replaceAll('_', '')}`)());
});

test('a pasted screenshot is named after when it was pasted', () => {
  const now = new Date(2030, 0, 2, 3, 4, 5);
  assert.equal(uploadName({ name: 'report.pdf', type: 'application/pdf' }, false, now), 'report.pdf');
  assert.equal(uploadName({ name: 'image.png', type: 'image/png' }, false, now), 'image.png');
  assert.equal(uploadName({ name: 'image.png', type: 'image/png' }, true, now), 'Pasted image 2030-01-02 03.04.05.png');
  assert.equal(uploadName({ name: '', type: 'image/jpeg' }, true, now), 'Pasted image 2030-01-02 03.04.05.jpg');
  assert.equal(uploadName({ name: '  ', type: 'text/plain' }, true, now), 'Pasted file 2030-01-02 03.04.05');
  assert.equal(uploadName({ name: 'shot.png', type: 'image/png' }, true, now), 'shot.png');
});

test('a long name is clipped to 200 code points, its extension kept', () => {
  assert.equal(clipName('short.txt'), 'short.txt');
  const long = `${'é'.repeat(300)}.tar.gz`;
  const clipped = clipName(long);
  assert.equal(Array.from(clipped).length, 200);
  assert.ok(clipped.endsWith('é.gz'));
  assert.equal(Array.from(clipName('😀'.repeat(250))).length, 200); // an emoji is one
  assert.equal(uploadName({ name: `${'a'.repeat(500)}.pdf` }).length, 200);
});

test('a chip goes from uploading to done, or to failed with its reason', () => {
  let chip = newChip(1, { name: 'cat.png', size: 2048 });
  assert.equal(chip.state, 'uploading');
  assert.equal(percent(chip), 0);
  assert.equal(chipStatus(chip), '2.0 KB · uploading 0 %');
  chip = progressed(chip, 1024);
  assert.equal(percent(chip), 50);
  assert.equal(chipStatus(chip), '2.0 KB · uploading 50 %');
  assert.equal(percent(progressed(chip, 99_999)), 100); // the request's own bytes are not the file's
  const info = { id: 'f1', name: 'cat.png', size: 2048, type: 'image/png' };
  const done = uploaded(chip, info);
  assert.equal(done.state, 'done');
  assert.equal(done.info, info);
  assert.equal(chipStatus(done), '2.0 KB');
  const broken = failed(chip, 'could not reach the server', true);
  assert.deepEqual([broken.state, broken.retry, chipStatus(broken)], ['failed', true, 'could not reach the server']);
  const again = restarted(broken);
  assert.deepEqual([again.state, again.loaded, again.error], ['uploading', 0, null]);
  // Refused before uploading: failed from the start, never retried.
  const refused = newChip(2, { name: 'big', size: 1 }, 'too large — 25 MB at most');
  assert.deepEqual([refused.state, refused.retry, chipStatus(refused)], ['failed', false, 'too large — 25 MB at most']);
});

test('a message can be sent once every chip is uploaded', () => {
  const info = (id) => ({ id, name: id, size: 1, type: 'text/plain' });
  const a = uploaded(newChip(1, { name: 'a', size: 1 }), info('a'));
  const b = uploaded(newChip(2, { name: 'b', size: 1 }), info('b'));
  const busy = newChip(3, { name: 'c', size: 1 });
  const bad = failed(busy, 'nope');
  assert.deepEqual(attachmentState([]), { state: 'none', files: [] });
  assert.deepEqual(attachmentState([a, b]), { state: 'ready', files: [info('a'), info('b')] });
  assert.equal(attachmentState([a, busy]).state, 'uploading');
  assert.equal(attachmentState([a, busy, bad]).state, 'failed');
});

test('a refused upload says why, and whether trying again may help', () => {
  assert.deepEqual(describeUploadError(0), ['could not reach the server', true]);
  assert.deepEqual(describeUploadError(413, null), ['too large — 25 MB at most', false]);
  assert.deepEqual(describeUploadError(413, { code: 'too_large', message: 'over your 1 GiB quota' }), [
    'over your 1 GiB quota',
    false,
  ]);
  assert.deepEqual(describeUploadError(404, { code: 'not_found', message: 'no such room' }), [
    'you cannot upload files to this room',
    false,
  ]);
  assert.equal(describeUploadError(429)[1], true);
  assert.equal(describeUploadError(503)[1], true);
  assert.deepEqual(describeUploadError(400, { message: 'the file is empty' }), ['the file is empty', false]);
  assert.deepEqual(describeUploadError(418), ['the server refused the file (HTTP 418)', false]);
});

test('images with a thumbnail are previews, reserved at their proportions', () => {
  const png = { id: 'x', name: 'a.png', size: 9, type: 'image/png', width: 1200, height: 600, thumb: true };
  assert.equal(isPreviewable(png), true);
  assert.equal(isPreviewable({ ...png, thumb: false }), false);
  assert.equal(isPreviewable({ ...png, type: 'image/svg+xml' }), false); // never drawn from user bytes
  assert.equal(isPreviewable({ ...png, width: undefined }), false);
  assert.deepEqual(previewSize(png), { width: 360, height: 180 });
  assert.deepEqual(previewSize({ ...png, width: 300, height: 900 }), { width: 93, height: 280 });
  assert.deepEqual(previewSize({ ...png, width: 40, height: 30 }), { width: 40, height: 30 }); // not enlarged
  assert.deepEqual(previewSize({ ...png, width: 100_000, height: 1 }), { width: 360, height: 1 });
});

test('other files get a card with an icon by type and a download link', () => {
  assert.deepEqual(fileKind('application/pdf'), ['pdf', 'PDF']);
  assert.equal(fileKind('application/zip')[0], 'archive');
  assert.equal(fileKind('text/plain')[0], 'text');
  assert.equal(fileKind('video/mp4')[0], 'video');
  assert.equal(fileKind('audio/ogg')[0], 'audio');
  assert.equal(fileKind('image/svg+xml')[0], 'image');
  assert.equal(fileKind('application/octet-stream')[0], 'file');
  assert.deepEqual(fileKind(undefined), ['file', 'FILE']);
  assert.equal(fileUrl({ id: 'abc_-1' }), '/api/v1/files/abc_-1');
  assert.equal(fileUrl({ id: '../x' }), '/api/v1/files/..%2Fx');
  assert.equal(thumbUrl({ id: 'abc' }), '/api/v1/files/abc/thumb');
});
