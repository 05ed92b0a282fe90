"""The media type of a file comes from its first bytes alone, and so do names and headers."""

from __future__ import annotations

import io
import zipfile

import pytest
from file_samples import HTML, SVG, image, rotated_jpeg, two_frame_gif

from hubbub.core.files import (
    FALLBACK_NAME,
    MAX_NAME_CHARS,
    FileInfo,
    content_disposition,
    sanitize_name,
)
from hubbub.files.detect import HEAD_BYTES, OCTET_STREAM, detect


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (image("PNG"), "image/png"),
        (image("JPEG"), "image/jpeg"),
        (rotated_jpeg(), "image/jpeg"),
        (image("GIF"), "image/gif"),
        (two_frame_gif(), "image/gif"),
        (image("WEBP"), "image/webp"),
        (image("BMP"), "image/bmp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "application/gzip"),
        (HTML, "text/plain"),  # never text/html: nothing is served as markup
        (SVG, "text/plain"),
        ("Grüße, 你好\n".encode(), "text/plain"),
        (bytes(range(256)), OCTET_STREAM),
        (b"\x00\x01\x02garbage", OCTET_STREAM),
    ],
)
def test_detect_reads_the_content(content: bytes, expected: str) -> None:
    assert detect(content[:HEAD_BYTES]) == expected


def test_a_zip_is_a_zip_and_text_cut_mid_character_is_text() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    assert detect(out.getvalue()[:HEAD_BYTES]) == "application/zip"
    text = ("é" * 400).encode()  # two bytes each: the head ends inside one
    assert detect(text[: HEAD_BYTES - 1]) == "text/plain"


def test_a_name_is_what_it_claims_never_where() -> None:
    assert sanitize_name("../../etc/passwd") == "passwd"
    assert sanitize_name("C:\\Users\\me\\report.pdf") == "report.pdf"
    assert sanitize_name("..") == FALLBACK_NAME
    assert sanitize_name("") == FALLBACK_NAME
    assert sanitize_name("/") == FALLBACK_NAME
    assert sanitize_name("a\x00b\nc\x1b[31m.txt") == "abc[31m.txt"
    # A right-to-left override would make "gpj.exe" read as "exe.jpg".
    assert sanitize_name("photo\u202egpj.exe") == "photogpj.exe"
    assert sanitize_name("  two   spaces  .png ") == "two spaces .png"
    assert sanitize_name("Cafe\u0301.txt") == "Caf\u00e9.txt"  # NFC


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    cut = sanitize_name("x" * 500 + ".jpeg")
    assert len(cut) == MAX_NAME_CHARS and cut.endswith("x.jpeg")
    assert len(sanitize_name("y" * 500)) == MAX_NAME_CHARS
    assert sanitize_name("z" * 500 + "." + "e" * 40) == ("z" * 500 + "." + "e" * 40)[:200]


def test_only_images_a_page_shows_are_inline() -> None:
    def shown(media_type: str, name: str = 'ünï côdé; "x".png') -> str:
        info = FileInfo(id="i", name=name, size=1, type=media_type)
        return content_disposition(info)

    encoded = "%C3%BCn%C3%AF%20c%C3%B4d%C3%A9%3B%20%22x%22.png"
    for inline in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        assert shown(inline) == f"inline; filename*=UTF-8''{encoded}"
    for other in ("text/plain", "application/pdf", OCTET_STREAM, "image/bmp"):
        assert shown(other) == f"attachment; filename*=UTF-8''{encoded}"
