// Files as the composer and the timeline see them, without the DOM: sizes said the way
// people read them, what is checked before an upload starts, the state of one attachment
// (a "chip") as it uploads, and how a file is shown once a message carries it.
// Pure: no DOM, no network (attachments.js and file_views.js do those).

import { MAX_FILE_BYTES, MAX_FILES_PER_MESSAGE } from './limits.js';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/**
 * 1536 → "1.5 KB": powers of 1024, one decimal below 10 of a unit, whole numbers above
 * (never "1024 KB": that is "1.0 MB").
 */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  let text = value < 10 ? value.toFixed(1) : String(Math.round(value));
  // Rounding up may reach the next unit: 1023.6 KB reads "1.0 MB", not "1024 KB".
  if (text === '1024' && unit < UNITS.length - 1) {
    text = '1.0';
    unit += 1;
  }
  return `${text} ${UNITS[unit]}`;
}

/**
 * Why `file` ({name, size}) cannot be attached as the `index`-th file of a message (0-based),
 * or null when it can. Checked before uploading: the server would refuse it anyway.
 */
export function checkFile(file, index = 0, maxBytes = MAX_FILE_BYTES) {
  if (index >= MAX_FILES_PER_MESSAGE) return `${MAX_FILES_PER_MESSAGE} files at most in one message`;
  if (!file.size) return 'the file is empty';
  if (file.size > maxBytes) return `too large — ${formatSize(maxBytes)} at most`;
  return null;
}

/**
 * The name a file is uploaded under. A pasted screenshot often has a generic name
 * ("image.png") or none; it is named after when it was pasted instead.
 */
export function uploadName(file, pasted = false, now = new Date()) {
  const name = clipName((file.name ?? '').trim());
  if (name && !(pasted && /^image\.\w+$/i.test(name))) return name;
  const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }[file.type];
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}.${pad(now.getMinutes())}.${pad(now.getSeconds())}`;
  return ext ? `Pasted image ${stamp}.${ext}` : name || `Pasted file ${stamp}`;
}

/**
 * A name of at most `max` code points, its extension kept (the server keeps 200 and a
 * long name would only lengthen the upload's address).
 */
export function clipName(name, max = 200) {
  const chars = Array.from(name);
  if (chars.length <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? Array.from(name.slice(dot)) : [];
  return chars.slice(0, max - ext.length).join('') + ext.join('');
}

// --- one attachment of the composer -------------------------------------------------

/**
 * A new chip for `file` ({name, size}): `error` (from checkFile) makes it a refused one,
 * shown with its reason and never uploaded. States: 'uploading' → 'done' | 'failed'.
 */
export function newChip(key, file, error = null) {
  return {
    key,
    name: file.name,
    size: file.size,
    state: error ? 'failed' : 'uploading',
    loaded: 0,
    error,
    retry: false, // a failure that uploading again may get past (the network, the server)
    info: null, // the server's FileInfo once uploaded
  };
}

export function progressed(chip, loaded) {
  return { ...chip, loaded: Math.min(Math.max(0, loaded), chip.size) };
}

export function uploaded(chip, info) {
  return { ...chip, state: 'done', loaded: chip.size, info, error: null, retry: false };
}

export function failed(chip, error, retry = false) {
  return { ...chip, state: 'failed', error, retry };
}

export function restarted(chip) {
  return { ...chip, state: 'uploading', loaded: 0, error: null, retry: false };
}

/** 0 to 100, the part of the chip's file the server has received. */
export function percent(chip) {
  if (chip.state === 'done') return 100;
  if (!chip.size) return 0;
  return Math.floor((chip.loaded / chip.size) * 100);
}

/** What a chip says beside its name: the size, the progress, or why it failed. */
export function chipStatus(chip) {
  if (chip.state === 'failed') return chip.error;
  if (chip.state === 'uploading') return `${formatSize(chip.size)} · uploading ${percent(chip)} %`;
  return formatSize(chip.size);
}

/**
 * Whether the chips of a message let it be sent: all uploaded ('ready'), some still
 * uploading ('uploading'), or some failed and to be removed first ('failed'); 'none' when
 * there are no chips. `files`: the FileInfo of each chip, in order, when ready.
 */
export function attachmentState(chips) {
  if (!chips.length) return { state: 'none', files: [] };
  if (chips.some((chip) => chip.state === 'failed')) return { state: 'failed', files: [] };
  if (chips.some((chip) => chip.state === 'uploading')) return { state: 'uploading', files: [] };
  return { state: 'ready', files: chips.map((chip) => chip.info) };
}

/**
 * What a refused upload says on its chip: `status` (0: no answer) and the server's error
 * body ({code, message}) if it sent one. [text, whether uploading again may help].
 */
export function describeUploadError(status, body = null, maxBytes = MAX_FILE_BYTES) {
  const message = typeof body?.message === 'string' && body.message ? body.message : null;
  if (status === 0) return ['could not reach the server', true];
  if (status === 413) return [message ?? `too large — ${formatSize(maxBytes)} at most`, false];
  if (status === 401) return ['you are signed out', false];
  if (status === 404) return ['you cannot upload files to this room', false];
  if (status === 429) return [message ?? 'too many uploads — try again in a moment', true];
  if (status >= 500) return [message ?? 'the server failed to store the file', true];
  return [message ?? `the server refused the file (HTTP ${status})`, false];
}

// --- a message's files, shown in the timeline -----------------------------------------

const PREVIEWABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** Shown as a picture (its thumbnail), not as a card: images the server made a thumb of. */
export function isPreviewable(info) {
  return PREVIEWABLE.has(info.type) && info.thumb === true && info.width > 0 && info.height > 0;
}

/**
 * The size a preview is drawn at: the image's proportions, within `maxWidth` × `maxHeight`,
 * never larger than the image itself. Reserved before the thumbnail loads, so the
 * timeline does not jump when it arrives.
 */
export function previewSize(info, maxWidth = 360, maxHeight = 280) {
  const scale = Math.min(1, maxWidth / info.width, maxHeight / info.height);
  return {
    width: Math.max(1, Math.round(info.width * scale)),
    height: Math.max(1, Math.round(info.height * scale)),
  };
}

/**
 * A kind of file by its media type, for the badge of its card: [kind, label]. Text, not an
 * emoji: it reads the same on every system, with or without an emoji font.
 */
export function fileKind(type = '') {
  if (type.startsWith('image/')) return ['image', 'IMG'];
  if (type.startsWith('video/')) return ['video', 'VID'];
  if (type.startsWith('audio/')) return ['audio', 'AUD'];
  if (type === 'application/pdf') return ['pdf', 'PDF'];
  if (/^application\/(zip|gzip|x-tar|x-7z-compressed|x-bzip2|x-xz|x-rar-compressed|vnd\.rar)$/.test(type)) {
    return ['archive', 'ZIP'];
  }
  if (type.startsWith('text/') || type === 'application/json') return ['text', 'TXT'];
  return ['file', 'FILE'];
}

/** Where a file is downloaded from, and its thumbnail. Ids are URL-safe; encoded anyway. */
export const fileUrl = (info) => `/api/v1/files/${encodeURIComponent(info.id)}`;
export const thumbUrl = (info) => `${fileUrl(info)}/thumb`;
