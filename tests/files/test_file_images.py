"""Probing and thumbnailing real images with Pillow, and refusing what is not one or too big."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from file_samples import HTML, huge_png, image, rotated_jpeg, two_frame_gif
from PIL import Image

from hubbub.files.images import MAX_PIXELS, THUMB_BOX, Probed, probe, thumbnail


def saved(tmp_path: Path, content: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def opened(webp: bytes | None) -> Image.Image:
    assert webp is not None
    shown = Image.open(io.BytesIO(webp))
    assert shown.format == "WEBP"
    return shown


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
async def test_probe_and_thumbnail_each_format(tmp_path: Path, fmt: str, media_type: str) -> None:
    path = saved(tmp_path, image(fmt, (1000, 500)))
    assert await probe(path) == Probed(media_type, 1000, 500)
    thumb = opened(await thumbnail(path))
    assert thumb.size == (THUMB_BOX[0], THUMB_BOX[0] // 2)  # fitted, proportions kept


async def test_a_small_image_is_not_enlarged(tmp_path: Path) -> None:
    path = saved(tmp_path, image("PNG", (40, 20)))
    assert opened(await thumbnail(path)).size == (40, 20)


async def test_the_thumbnail_follows_the_exif_orientation(tmp_path: Path) -> None:
    path = saved(tmp_path, rotated_jpeg((60, 20)))
    assert await probe(path) == Probed("image/jpeg", 60, 20)  # as stored
    assert opened(await thumbnail(path)).size == (20, 60)  # as shown


async def test_a_gif_thumbnail_is_its_first_frame(tmp_path: Path) -> None:
    path = saved(tmp_path, two_frame_gif())
    thumb = opened(await thumbnail(path)).convert("RGB")
    red, green, blue = thumb.getpixel((15, 15))  # type: ignore[misc]
    assert green > 200 and red < 60 and blue < 60


@pytest.mark.parametrize(
    "size",
    [
        (100_000, 100_000),  # far past the bound: Pillow's error
        (MAX_PIXELS // 4000 + 1, 4000),  # just past it: Pillow only warns, refused alike
    ],
)
async def test_a_decompression_bomb_is_not_an_image(tmp_path: Path, size: tuple[int, int]) -> None:
    path = saved(tmp_path, huge_png(*size))
    assert await probe(path) is None
    assert await thumbnail(path) is None


def test_a_bomb_is_refused_outside_the_tests_warning_filters_too(tmp_path: Path) -> None:
    """Just past the bound Pillow only warns; the server (here a plain interpreter, warnings
    as they are by default) refuses it all the same, silently."""
    path = saved(tmp_path, huge_png(MAX_PIXELS // 4000 + 1, 4000))
    code = "import sys; from hubbub.files.images import probe_now; print(probe_now(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert (done.stdout, done.stderr) == ("None\n", "")


async def test_what_only_looks_like_an_image_is_none(tmp_path: Path) -> None:
    html = saved(tmp_path, HTML, "x.png")
    assert await probe(html) is None
    assert await thumbnail(html) is None
    truncated = saved(tmp_path, image("PNG", (300, 300))[:80], "cut.png")
    assert await thumbnail(truncated) is None
    bmp = saved(tmp_path, image("BMP"), "x.bmp")  # an image, but not one pages are shown
    assert await probe(bmp) is None
