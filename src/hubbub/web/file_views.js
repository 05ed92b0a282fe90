// A message's files in the timeline: an image the server made a thumbnail of is shown as
// that thumbnail (a click opens it whole, lightbox.js); any other file as a card with an
// icon by type, its name, its size and a link that downloads it.
//
// The preview's box is sized from the FileInfo's width and height before the thumbnail
// arrives, so the timeline does not jump; thumbnails load lazily, as they scroll into view.
// A file's name is user text: it is only ever set as text or an attribute value.

import { el } from './dom.js';
import { openLightbox } from './lightbox.js';
import { fileKind, fileUrl, formatSize, isPreviewable, previewSize, thumbUrl } from './uploads.js';

/**
 * A message's files in a few words, where a line of text stands for them (a quote, a
 * notification): the name of one file, "3 files" of several, "" of none.
 */
export function filesLabel(files) {
  if (!Array.isArray(files) || !files.length) return '';
  return files.length === 1 ? String(files[0]?.name || 'file') : `${files.length} files`;
}

/** The files of a message (FileInfo list), or null when it has none. */
export function fileViews(files) {
  if (!Array.isArray(files) || !files.length) return null;
  return el(
    'div',
    { class: 'msg-files' },
    files.map((info) => (isPreviewable(info) ? imagePreview(info) : fileCard(info))),
  );
}

function imagePreview(info) {
  const { width, height } = previewSize(info);
  const button = el(
    'button',
    {
      type: 'button',
      class: 'file-preview',
      title: `${info.name} (${formatSize(info.size)})`,
      attrs: { 'aria-label': `Open the image ${info.name}` },
      on: { click: () => openLightbox(info, button) },
    },
    el('img', {
      src: thumbUrl(info),
      alt: info.name,
      width,
      height,
      loading: 'lazy',
      decoding: 'async',
      draggable: false,
    }),
  );
  return button;
}

function fileCard(info) {
  const [kind, symbol] = fileKind(info.type);
  return el(
    'a',
    {
      class: `file-card ${kind}`,
      href: fileUrl(info),
      download: info.name,
      title: `Download ${info.name}`,
    },
    el('span', { class: 'file-icon', text: symbol, attrs: { 'aria-hidden': 'true' } }),
    el(
      'span',
      { class: 'file-meta' },
      el('span', { class: 'file-name', text: info.name }),
      el('span', { class: 'file-size', text: formatSize(info.size) }),
    ),
    el('span', { class: 'file-download', text: '↓', attrs: { 'aria-hidden': 'true' } }),
  );
}
