"""A file's media type from its first bytes (magic numbers), never from its name or from what
the uploader said. Pure: the caller reads the head."""

from __future__ import annotations

HEAD_BYTES = 512  # enough for every signature below
OCTET_STREAM = "application/octet-stream"

# (offset, signature, media type), tried in order.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (0, b"BM", "image/bmp"),
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f")


def detect(head: bytes) -> str:
    """The media type of a file whose first bytes are ``head`` (at least ``HEAD_BYTES`` of
    them, or the whole file). Unknown binary content is ``application/octet-stream``; text
    is ``text/plain`` (HTML and SVG included: they are never served as markup)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    for offset, signature, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return media_type
    if _is_text(head):
        return "text/plain"
    return OCTET_STREAM


def _is_text(head: bytes) -> bool:
    """UTF-8 (a character cut at the end of the head allowed) without control bytes."""
    if any(b < 0x20 and b not in _TEXT_CONTROLS for b in head) or b"\x7f" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
