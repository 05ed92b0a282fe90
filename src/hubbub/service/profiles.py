"""Avatars: an uploaded image made into the small WebP that every client is shown.

Only the thumbnail is kept (a blob of the file store, named by its digest); the upload itself
is thrown away. Whatever is not a PNG, JPEG, GIF or WebP image that decodes, judged by its
content and never by what the client says, is refused.
"""

from __future__ import annotations

from pathlib import Path

from hubbub.errors import BadRequest
from hubbub.files.detect import detect
from hubbub.files.images import FORMATS, probe, thumbnail

MAX_AVATAR_BYTES = 5 * 1024 * 1024  # the upload; what is kept is far smaller
AVATAR_BOX = (128, 128)  # the thumbnail fits in it, its proportions kept
NOT_AN_IMAGE = "an avatar is a PNG, JPEG, GIF or WebP image"


async def avatar_thumbnail(path: Path, head: bytes) -> bytes:
    """The avatar (WebP) made of the upload at ``path``, whose first bytes are ``head``;
    ``BadRequest`` unless it is an image of a type we take and Pillow reads it whole."""
    media_type = detect(head)
    if media_type not in FORMATS.values():
        raise BadRequest(NOT_AN_IMAGE)
    probed = await probe(path)
    if probed is None or probed.type != media_type:
        raise BadRequest(f"{NOT_AN_IMAGE}, and this one cannot be read as one")
    data = await thumbnail(path, AVATAR_BOX)
    if data is None:
        raise BadRequest(f"{NOT_AN_IMAGE}, and this one cannot be read as one")
    return data
