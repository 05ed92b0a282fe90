// An image shown whole, over the page: a modal <dialog> (it holds the focus; Esc closes
// it), closed also by a click anywhere but its download link. The focus then goes back to
// the preview that opened it. The image element exists only while it is shown, so a
// closed lightbox loads nothing.

import { byId, el } from './dom.js';
import { fileUrl, formatSize, previewSize } from './uploads.js';

let wired = false;
let opener = null;

function wire(dialog) {
  if (wired) return;
  wired = true;
  dialog.addEventListener('click', (event) => {
    if (!event.target.closest('#lightbox-download')) dialog.close();
  });
  dialog.addEventListener('close', () => {
    byId('lightbox-image')?.remove(); // stops loading a large image no longer shown
    const back = opener;
    opener = null;
    if (back?.isConnected) back.focus({ preventScroll: true });
  });
}

/** Show the image `info` (FileInfo) whole; `from` gets the focus back when it closes. */
export function openLightbox(info, from = null) {
  const dialog = byId('lightbox');
  wire(dialog);
  byId('lightbox-image')?.remove();
  // Its size is known: its box is drawn, fitted to the window, before the image arrives.
  const { width, height } = previewSize(info, innerWidth - 32, innerHeight - 88);
  const image = el('img', { id: 'lightbox-image', alt: info.name, width, height });
  image.src = fileUrl(info);
  byId('lightbox-figure').prepend(image);
  byId('lightbox-name').textContent = info.name;
  byId('lightbox-size').textContent = formatSize(info.size);
  const download = byId('lightbox-download');
  download.href = fileUrl(info);
  download.download = info.name;
  opener = from;
  if (!dialog.open) dialog.showModal();
  byId('lightbox-close').focus();
}
