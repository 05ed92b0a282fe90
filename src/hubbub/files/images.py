"""Images with Pillow: what one is (``probe``) and a small WebP of it (``thumbnail``).

Decoding is CPU and memory work on untrusted bytes, so it runs on a small pool of threads of
its own (at most ``DECODERS`` images at once, whatever arrives) and is bounded: an image of
more than ``MAX_PIXELS`` is not decoded at all (Pillow's decompression-bomb check, raised as
an error rather than a warning). Whatever Pillow cannot or will not read is "not an image":
the file is kept as it is, without dimensions or thumbnail.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from PIL import Image, ImageOps

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000  # ~ 7700 x 5200; a decoded RGBA frame of it is 160 MB
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
THUMB_BOX = (400, 400)
THUMB_QUALITY = 80
DECODERS = 2

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Between MAX_PIXELS and twice that Pillow only warns: refuse those too, in every thread.
warnings.simplefilter("error", Image.DecompressionBombWarning)

_pool = ThreadPoolExecutor(DECODERS, thread_name_prefix="hubbub-images")


class Probed(NamedTuple):
    type: str  # one of FORMATS' media types
    width: int
    height: int


async def probe(path: Path) -> Probed | None:
    """The type and size of the PNG, JPEG, GIF or WebP image at ``path``, or None if it is
    none of those (or too large, or broken). Reads the header only."""
    return await asyncio.get_running_loop().run_in_executor(_pool, probe_now, path)


async def thumbnail(path: Path, box: tuple[int, int] = THUMB_BOX) -> bytes | None:
    """The image at ``path`` fitted into ``box`` as WebP (turned as its EXIF orientation
    says; a GIF's first frame), or None if it cannot be read."""
    return await asyncio.get_running_loop().run_in_executor(_pool, thumbnail_now, path, box)


def probe_now(path: Path) -> Probed | None:
    """``probe``, blocking."""
    try:
        with Image.open(path, formats=list(FORMATS)) as image:
            width, height = image.size
            if width < 1 or height < 1:
                return None
            return Probed(FORMATS[image.format or ""], width, height)
    except Exception as exc:  # any decoding problem: not an image we show
        log.debug("not an image: %s", type(exc).__name__)
        return None


def thumbnail_now(path: Path, box: tuple[int, int] = THUMB_BOX) -> bytes | None:
    """``thumbnail``, blocking."""
    try:
        with Image.open(path, formats=list(FORMATS)) as image:
            image.seek(0)  # a GIF's or animated WebP's first frame
            image.draft("RGB", box)  # a JPEG decodes at a fraction of its size
            oriented = ImageOps.exif_transpose(image)
            has_alpha = oriented.mode in ("RGBA", "LA", "PA") or (
                oriented.mode == "P" and "transparency" in oriented.info
            )
            frame = oriented.convert("RGBA" if has_alpha else "RGB")
            frame.thumbnail(box, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            frame.save(out, "WEBP", quality=THUMB_QUALITY, method=4)
            return out.getvalue()
    except Exception as exc:  # a header that lied, a truncated body, a bomb
        log.debug("no thumbnail: %s", type(exc).__name__)
        return None
