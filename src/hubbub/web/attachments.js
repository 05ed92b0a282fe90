// Files attached to the message being written: picked with the composer's button, dropped
// on the room, or pasted (a screenshot). Each becomes a chip above the message box, and is
// uploaded at once (XMLHttpRequest: fetch() cannot report an upload's progress) to
// `POST /api/v1/rooms/{room}/files`; the chip shows its progress, then its size, or why it
// failed. ✕ cancels the upload (or drops the file). The message can be sent once every
// chip is uploaded; it carries the files' ids.
//
// Chips belong to the room they were added in: switching rooms keeps them (and their
// uploads go on), as the text written is kept.

import { byId, el } from './dom.js';
import {
  attachmentState,
  checkFile,
  chipStatus,
  describeUploadError,
  failed,
  fileKind,
  newChip,
  percent,
  progressed,
  restarted,
  uploadName,
  uploaded,
} from './uploads.js';

const hasFiles = (event) => Boolean(event.dataTransfer?.types?.includes('Files'));

export class Attachments {
  #list = byId('composer-files');
  #picker = byId('composer-file');
  #button = byId('composer-attach');
  #zone = byId('room-view');
  #text; // the message box: pasting a file into it attaches the file
  #room = null;
  #enabled = false;
  #chips = new Map(); // room -> chips (uploads.js), in the order added
  #uploads = new Map(); // chip key -> {xhr, file, room} while it uploads, or may again
  #nextKey = 1;
  #onChange;
  #dragDepth = 0;

  constructor({ input, onChange }) {
    this.#text = input;
    this.#onChange = onChange;
    this.#button.addEventListener('click', () => this.#picker.click());
    this.#picker.addEventListener('change', () => {
      this.add([...this.#picker.files]);
      this.#picker.value = ''; // the same file may be picked again
    });
    input.addEventListener('paste', (event) => this.#onPaste(event));
    this.#watchDrops();
  }

  /** Point at a room (null: none): its chips are shown. */
  setRoom(room) {
    if (room === this.#room) return;
    this.#room = room;
    this.#draw();
  }

  /** Files can be attached only where a message can be written. */
  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#button.disabled = !this.#room || !enabled;
  }

  /** Whether `room`'s message may go: 'none' | 'uploading' | 'failed' | 'ready', and its files. */
  state(room) {
    return attachmentState(this.#chips.get(room) ?? []);
  }

  /** The uploaded files of `room` (FileInfo), which leave the composer with the message. */
  take(room) {
    const { state, files } = this.state(room);
    if (state !== 'ready') return [];
    for (const chip of this.#chips.get(room)) this.#uploads.delete(chip.key);
    this.#chips.delete(room);
    if (room === this.#room) this.#draw();
    return files;
  }

  /** Attach `files` (File objects) to the message of the room on screen. */
  add(files, pasted = false) {
    const room = this.#room;
    if (!room || !this.#enabled || !files.length) return;
    const chips = this.#chips.get(room) ?? [];
    for (const file of files) {
      const name = uploadName(file, pasted);
      const chip = newChip(this.#nextKey++, { name, size: file.size }, checkFile(file, chips.length));
      chips.push(chip);
      this.#chips.set(room, chips);
      if (chip.state === 'uploading') this.#upload(room, chip, file);
    }
    this.#draw();
    this.#onChange();
  }

  // --- uploading -----------------------------------------------------------------------

  #upload(room, chip, file) {
    const xhr = new XMLHttpRequest();
    this.#uploads.set(chip.key, { xhr, file, room });
    const params = new URLSearchParams({ name: chip.name });
    xhr.open('POST', `/api/v1/rooms/${encodeURIComponent(room)}/files?${params}`);
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      this.#set(room, chip.key, (c) => progressed(c, event.loaded));
    });
    xhr.addEventListener('load', () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status === 201 && typeof body?.id === 'string') {
        this.#set(room, chip.key, (c) => uploaded(c, body));
      } else {
        const [error, retry] = describeUploadError(xhr.status, body);
        this.#set(room, chip.key, (c) => failed(c, error, retry));
      }
    });
    xhr.addEventListener('error', () => {
      const [error, retry] = describeUploadError(0);
      this.#set(room, chip.key, (c) => failed(c, error, retry));
    });
    // 'abort' is the user's ✕: the chip is gone already.
    xhr.send(file);
  }

  /** Change one chip of `room`; the composer hears of changes that matter to sending. */
  #set(room, key, change) {
    const chips = this.#chips.get(room);
    const index = chips?.findIndex((chip) => chip.key === key) ?? -1;
    if (index < 0) return;
    const before = chips[index];
    chips[index] = change(before);
    if (room === this.#room) this.#drawChip(chips[index]);
    if (chips[index].state !== before.state) this.#onChange();
  }

  /** ✕: stop the upload if it is going on, and drop the chip. */
  #remove(room, key) {
    const chips = this.#chips.get(room) ?? [];
    const index = chips.findIndex((chip) => chip.key === key);
    if (index < 0) return;
    this.#uploads.get(key)?.xhr.abort();
    this.#uploads.delete(key);
    chips.splice(index, 1);
    if (!chips.length) this.#chips.delete(room);
    // The focus goes to the next chip's ✕ (or the previous one's), else to the message box.
    const next = chips[index] ?? chips[index - 1];
    this.#draw();
    if (next) this.#nodeOf(next.key)?.querySelector('.file-chip-remove')?.focus();
    else this.#text.focus();
    this.#onChange();
  }

  #retry(room, key) {
    const upload = this.#uploads.get(key);
    if (!upload) return;
    this.#set(room, key, restarted);
    const chip = this.#chips.get(room).find((c) => c.key === key);
    this.#upload(room, chip, upload.file);
    this.#nodeOf(key)?.querySelector('.file-chip-remove')?.focus();
  }

  // --- paste and drop --------------------------------------------------------------------

  #onPaste(event) {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length || !this.#enabled) return;
    // A file copied from a file manager or an image from a page also comes with its name or
    // address as text: the file is what was meant.
    event.preventDefault();
    this.add(files, true);
  }

  #watchDrops() {
    const zone = this.#zone;
    const show = (on) => zone.toggleAttribute('data-drop', on);
    zone.addEventListener('dragenter', (event) => {
      if (!hasFiles(event) || !this.#canDrop()) return;
      event.preventDefault();
      this.#dragDepth += 1;
      show(true);
    });
    zone.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault(); // else the browser opens the file in the tab
      event.dataTransfer.dropEffect = this.#canDrop() ? 'copy' : 'none';
    });
    zone.addEventListener('dragleave', (event) => {
      if (!hasFiles(event)) return;
      this.#dragDepth = Math.max(0, this.#dragDepth - 1);
      if (!this.#dragDepth) show(false);
    });
    zone.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      this.#dragDepth = 0;
      show(false);
      if (this.#canDrop()) this.add([...event.dataTransfer.files]);
    });
    // A file dropped anywhere else on the page must not replace the page with itself.
    for (const type of ['dragover', 'drop']) {
      window.addEventListener(type, (event) => {
        if (hasFiles(event) && !zone.contains(event.target)) {
          event.preventDefault();
          if (type === 'dragover') event.dataTransfer.dropEffect = 'none';
        }
      });
    }
  }

  #canDrop() {
    return Boolean(this.#room) && this.#enabled;
  }

  // --- drawing ---------------------------------------------------------------------------

  #nodeOf(key) {
    return this.#list.querySelector(`[data-key="${key}"]`);
  }

  /** The chips of the room on screen, in order (nodes that stay are kept). */
  #draw() {
    const chips = (this.#room && this.#chips.get(this.#room)) || [];
    const keep = new Set(chips.map((chip) => String(chip.key)));
    for (const node of [...this.#list.children]) if (!keep.has(node.dataset.key)) node.remove();
    for (const chip of chips) this.#drawChip(chip);
    // Nodes are appended as chips are added, so their order is the chips' order already.
    this.#list.hidden = !chips.length;
  }

  /** Make or bring up to date the node of one chip; progress changes only its numbers. */
  #drawChip(chip) {
    let node = this.#nodeOf(chip.key);
    const room = this.#room;
    if (!node) {
      const [kind, symbol] = fileKind(this.#uploads.get(chip.key)?.file.type);
      node = el(
        'li',
        { class: `file-chip ${kind}`, dataset: { key: String(chip.key) } },
        el('span', { class: 'file-icon', text: symbol, attrs: { 'aria-hidden': 'true' } }),
        el(
          'span',
          { class: 'file-chip-main' },
          el('span', { class: 'file-name', text: chip.name, title: chip.name }),
          el('span', { class: 'file-chip-status' }),
          el('progress', { class: 'file-chip-progress', max: 100, attrs: { 'aria-label': `Uploading ${chip.name}` } }),
        ),
        el('button', {
          type: 'button',
          class: 'link file-chip-retry',
          text: 'Retry',
          attrs: { 'aria-label': `Upload ${chip.name} again` },
          on: { click: () => this.#retry(room, chip.key) },
        }),
        el('button', {
          type: 'button',
          class: 'file-chip-remove',
          text: '✕',
          on: { click: () => this.#remove(room, chip.key) },
        }),
      );
      this.#list.append(node);
    }
    node.dataset.state = chip.state;
    const status = node.querySelector('.file-chip-status');
    const text = chipStatus(chip);
    if (status.textContent !== text) status.textContent = text;
    // A failure is said at once; progress is not (it would be read out at every step).
    if (chip.state === 'failed') status.setAttribute('role', 'alert');
    else status.removeAttribute('role');
    const progress = node.querySelector('.file-chip-progress');
    progress.hidden = chip.state !== 'uploading';
    progress.value = percent(chip);
    node.querySelector('.file-chip-retry').hidden = !(chip.state === 'failed' && chip.retry);
    const remove = node.querySelector('.file-chip-remove');
    const label = chip.state === 'uploading' ? `Cancel the upload of ${chip.name}` : `Remove ${chip.name}`;
    if (remove.getAttribute('aria-label') !== label) {
      remove.setAttribute('aria-label', label);
      remove.title = chip.state === 'uploading' ? 'Cancel the upload' : 'Remove';
    }
  }
}

function parseJson(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
