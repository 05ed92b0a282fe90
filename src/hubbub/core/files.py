"""Files as messages carry them: what a reader is shown of one, and the rules for its name and
how it is served. Pure data and pure functions: the bytes live in a ``files.store.FileStore``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import msgspec

MAX_FILES_PER_MESSAGE = 10
MAX_NAME_CHARS = 200  # code points of a sanitized name
MAX_EXTENSION_CHARS = 16  # kept when a long name is cut
FALLBACK_NAME = "file"
# Served inline (shown by <img>); every other type is an attachment, downloaded, not rendered.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Unicode categories dropped from names: controls, format characters (bidi overrides could
# make "gpj.exe" read as "exe.jpg"), line and paragraph separators, surrogates.
_DROPPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


class FileInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A file as its message shows it. ``id`` is random and names the file, never its
    content; ``type`` was detected from the content, not taken from the uploader."""

    id: str
    name: str
    size: int
    type: str
    width: int | None = None  # images (PNG, JPEG, GIF, WebP) only
    height: int | None = None
    thumb: bool = False  # a thumbnail exists


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file as storage keeps it: its info, the blobs of its content and thumbnail, who
    uploaded it to which room when, and the message that refers to it (None: pending)."""

    info: FileInfo
    sha256: str
    thumb_sha256: str | None
    uploader: str
    room: str
    created_at: int  # ms since the epoch
    seq: int | None = None


def file_ref(file_id: str) -> FileInfo:
    """A file named by its id alone, as a message being sent names it: storage puts in the
    rest, from the file's row, in the write that attaches it."""
    return FileInfo(id=file_id, name="", size=0, type="")


def sanitize_name(raw: str) -> str:
    """The display name of an upload named ``raw``: no directories, no control or format
    characters, at most ``MAX_NAME_CHARS`` code points (keeping a short extension), and
    ``FALLBACK_NAME`` if nothing is left."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", base)
    text = "".join(c for c in text if unicodedata.category(c) not in _DROPPED)
    text = " ".join(text.split())  # no leading, trailing or runs of whitespace
    if text.strip(".") == "":  # "", ".", ".." name no file
        return FALLBACK_NAME
    if len(text) > MAX_NAME_CHARS:
        stem, dot, extension = text.rpartition(".")
        if dot and stem and len(extension) <= MAX_EXTENSION_CHARS:
            text = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_NAME_CHARS]
    return text


def is_inline(media_type: str) -> bool:
    return media_type in INLINE_TYPES


def content_disposition(info: FileInfo) -> str:
    """``inline`` for the image types a page may show, ``attachment`` for everything else,
    with the name encoded per RFC 6266 / 8187."""
    kind = "inline" if is_inline(info.type) else "attachment"
    return f"{kind}; filename*=UTF-8''{quote(info.name, safe='')}"


def over_quota(quota: int) -> str:
    """Why an upload is refused when the uploader's files would pass their quota."""
    return f"your files may hold {quota} bytes in all (the file quota); delete some first"
