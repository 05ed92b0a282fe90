"""Real files for the files tests: images made with Pillow, a PNG header claiming a huge image,
and hostile content dressed as images."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def image(fmt: str, size: tuple[int, int] = (40, 20), color: str = "red") -> bytes:
    """A real ``fmt`` image (PNG, JPEG, GIF, WEBP) of ``size``."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def rotated_jpeg(size: tuple[int, int] = (60, 20)) -> bytes:
    """A JPEG stored ``size`` wide whose EXIF says to turn it a quarter (orientation 6):
    shown, it is as tall as it is stored wide."""
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def two_frame_gif() -> bytes:
    """An animated GIF: a green frame, then a red one."""
    frames = [Image.new("RGB", (30, 30), c) for c in ("#00ff00", "#ff0000")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def huge_png(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header claims ``width`` x ``height`` pixels (what a
    decompression bomb announces); its pixel data is one row's worth."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = zlib.compress(b"\x00" * (width + 1))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


HTML = b"<!doctype html><html><body><script>document.title='pwned';</script>hi</body></html>\n"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>document.title='pwned'</script><rect width='10' height='10'/></svg>\n"
)
