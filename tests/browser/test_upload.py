"""Files in the page: attached with the composer's button, dropped on the room or pasted;
uploaded with their progress shown, cancelled, sent with a message; the other user sees an
image's preview, opens it whole, and downloads any other file from its card.

Uploads are slowed down with Chromium's own network throttling (DevTools protocol), so the
progress of an upload, and its cancelling, are seen while it is really under way.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
from chatpage import (
    TIMEOUT_MS,
    ChatPage,
    eventually,
    login_token,
    new_context,
    sign_in_over_http,
    two_people_in_a_room,
)
from PIL import Image
from playwright.async_api import Browser, BrowserContext, FileChooser, FilePayload, Page, expect
from support import RunningServer, config_for, read_history, running_server

MiB = 1024 * 1024
HOSTILE_NAME = '<img src=x onerror="xss(1)">report.pdf'


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 90)).save(out, "PNG")
    return out.getvalue()


def pdf(size: int) -> bytes:
    """A file the server takes for a PDF (by its first bytes), of ``size`` bytes."""
    head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    return head + b"0" * (size - len(head) - 6) + b"\n%%EOF"


async def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Slow the page's uploads down (-1: not at all)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def chip(page: ChatPage, name: str) -> Any:
    """The composer's chip of the file ``name`` (the whole name)."""
    return page.page.locator("#composer-files .file-chip").filter(
        has=page.page.locator(".file-name").get_by_text(name, exact=True)
    )


async def drop_files(page: ChatPage, files: list[dict[str, Any]]) -> None:
    """Drop files made in the page ({name, type} and size, text or bytes) on the room."""
    await page.page.evaluate(
        """files => {
          const data = new DataTransfer();
          for (const f of files) {
            const content = f.bytes ? new Uint8Array(f.bytes) : new Uint8Array(f.size);
            const bytes = f.text !== undefined ? [f.text] : [content];
            data.items.add(new File(bytes, f.name, { type: f.type }));
          }
          const zone = document.querySelector('#messages');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            const init = { dataTransfer: data, bubbles: true, cancelable: true };
            zone.dispatchEvent(new DragEvent(type, init));
          }
        }""",
        files,
    )


async def paste_image(page: ChatPage, data: bytes) -> None:
    """Paste a screenshot (a PNG the clipboard calls "image.png") into the message box."""
    await page.page.evaluate(
        """bytes => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
          const box = document.querySelector('#composer-input');
          const init = { clipboardData: data, bubbles: true, cancelable: true };
          box.dispatchEvent(new ClipboardEvent('paste', init));
        }""",
        list(data),
    )


class FileChoosers:
    """The file pickers a page opens, in order. Playwright turns Chromium's interception of
    pickers on without waiting for it to take effect, so a listener added just before the
    key press that opens one can miss it: this one is added when the page is set up."""

    def __init__(self, page: ChatPage) -> None:
        self._opened: asyncio.Queue[FileChooser] = asyncio.Queue()
        page.page.on("filechooser", self._opened.put_nowait)

    async def next(self) -> FileChooser:
        return await asyncio.wait_for(self._opened.get(), TIMEOUT_MS / 1000)


async def attach_with_button(
    page: ChatPage, choosers: FileChoosers, name: str, mime: str, data: bytes
) -> None:
    """By keyboard: the button comes just before the message box, and Enter opens the picker."""
    await page.page.locator("#composer-input").focus()
    await page.page.keyboard.press("Shift+Tab")
    await expect(page.page.get_by_role("button", name="Attach files")).to_be_focused()
    await page.page.keyboard.press("Enter")
    chooser = await choosers.next()
    assert chooser.is_multiple()
    await chooser.set_files(files=[FilePayload(name=name, mimeType=mime, buffer=data)])


async def file_events(
    http: aiohttp.ClientSession, url: str, reader: str = "bob"
) -> list[dict[str, Any]]:
    token = await login_token(http, url, reader)
    return [e for e in await read_history(http, url, token, "den") if e["type"] == "message"]


async def test_upload_with_progress_cancel_send_preview_lightbox_and_download(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    _, alice, bob = await two_people_in_a_room(browser, server.url)
    uploads: list[str] = []
    alice.page.on(
        "request",
        lambda r: uploads.append(r.url) if r.url.split("?")[0].endswith("/files") else None,
    )
    image = png(640, 480)
    choosers = FileChoosers(alice)
    await throttle_uploads(alice.page, 256 * 1024)

    # The button (a labelled control) opens the file picker; the chip shows the upload's
    # progress, and Send waits for it.
    await expect(alice.page.get_by_role("button", name="Attach files")).to_be_enabled()
    padded = image + b"\0" * (MiB - len(image))
    await attach_with_button(alice, choosers, "cat.png", "image/png", padded)
    cat = chip(alice, "cat.png")
    await expect(cat).to_have_attribute("data-state", "uploading")
    progress = cat.locator("progress")
    await expect(progress).to_be_visible()
    await eventually(
        lambda: progress.evaluate("p => p.value"), lambda v: 0 < v < 100, what="progress shown"
    )
    await expect(cat.locator(".file-chip-status")).to_contain_text("1.0 MB · uploading")
    await expect(alice.page.locator("#composer-send")).to_be_disabled()

    # A second file, dropped on the room, is cancelled while it uploads: its chip goes and
    # nothing of it is sent.
    await drop_files(
        alice, [{"name": "big.bin", "type": "application/octet-stream", "size": 2 * MiB}]
    )
    big = chip(alice, "big.bin")
    await expect(big).to_have_attribute("data-state", "uploading")
    await big.get_by_role("button", name="Cancel the upload of big.bin").click()
    await expect(big).to_have_count(0)
    await expect(alice.page.locator("#composer-files .file-chip")).to_have_count(1)

    # Once uploaded, the chip shows its size and the message can go, with text.
    await throttle_uploads(alice.page, -1)
    await expect(cat).to_have_attribute("data-state", "done", timeout=30_000)
    await expect(progress).to_be_hidden()
    await expect(cat.locator(".file-chip-status")).to_have_text("1.0 MB")
    await alice.send("look at this")
    await expect(alice.page.locator("#composer-files")).to_be_hidden()

    # bob sees the text and the image's thumbnail, its box reserved from its size.
    await bob.wait_bodies(["look at this"])
    preview = bob.page.locator("#message-list .msg .file-preview")
    await expect(preview).to_have_count(1)
    thumb = preview.locator("img")
    await expect(thumb).to_have_attribute("alt", "cat.png")
    await expect(thumb).to_have_attribute("loading", "lazy")
    assert (await thumb.get_attribute("width"), await thumb.get_attribute("height")) == (
        "360",
        "270",
    )
    await eventually(
        lambda: thumb.evaluate("i => i.complete && i.naturalWidth"), bool, what="thumb"
    )
    box = await thumb.bounding_box()
    assert box is not None and round(box["width"]) == 360 and round(box["height"]) == 270

    # A click opens it whole; Escape closes it and the focus is back on the preview.
    await preview.click()
    lightbox = bob.page.locator("#lightbox")
    await expect(lightbox).to_be_visible()
    full = lightbox.locator("#lightbox-image")
    await eventually(lambda: full.evaluate("i => i.naturalWidth"), lambda w: w == 640, what="image")
    await expect(lightbox.locator("#lightbox-name")).to_have_text("cat.png")
    await bob.page.keyboard.press("Escape")
    await expect(lightbox).to_be_hidden()
    await expect(preview).to_be_focused()
    # By keyboard: Enter opens it, the close button has the focus; a click closes it.
    await bob.page.keyboard.press("Enter")
    await expect(lightbox).to_be_visible()
    await expect(bob.page.locator("#lightbox-close")).to_be_focused()
    await full.click()
    await expect(lightbox).to_be_hidden()

    # A file that is no image, sent without text: a card with its name (as text), its
    # size and a link that downloads it.
    report = pdf(3000)
    await drop_files(
        alice, [{"name": HOSTILE_NAME, "type": "application/pdf", "bytes": list(report)}]
    )
    await expect(chip(alice, HOSTILE_NAME)).to_have_attribute("data-state", "done")
    await alice.page.locator("#composer-input").press("Enter")
    await expect(alice.page.locator("#composer-files")).to_be_hidden()
    card = bob.page.locator("#message-list .msg .file-card")
    await expect(card).to_have_count(1)
    await expect(card.locator(".file-name")).to_have_text(HOSTILE_NAME)
    await expect(card.locator("img")).to_have_count(0)
    href = await card.get_attribute("href")
    assert href is not None and href.startswith("/api/v1/files/")
    async with bob.page.expect_download() as download_info:
        await card.click()
    download = await download_info.value
    path = await download.path()
    assert Path(path).read_bytes() == report
    size = await card.locator(".file-size").text_content()
    assert size == "2.9 KB"  # 3000 bytes, however the name was written

    # What the server stored: the ids the chips got, and only those.
    messages = await file_events(http, server.url)
    assert [len(m.get("files", [])) for m in messages] == [1, 1]
    assert messages[0]["body"] == "look at this" and messages[1].get("body", "") == ""
    assert messages[0]["files"][0]["name"] == "cat.png"
    assert messages[0]["files"][0]["width"] == 640

    # A deleted message shows no files, and its files are gone.
    cat_url = f"{server.url}/api/v1/files/{messages[0]['files'][0]['id']}"
    row = alice.messages().nth(0)
    await row.hover()
    await row.get_by_role("button", name="Delete").click()
    question = row.get_by_role("alertdialog", name="Delete this message?")
    await question.get_by_role("button", name="Delete").click()
    first = bob.page.locator("#message-list .msg").first
    await expect(first.locator(".msg-body")).to_have_text("Message deleted")
    await expect(first.locator(".msg-files")).to_have_count(0)
    gone = await bob.page.context.request.get(cat_url)
    assert gone.status == 404
    assert len(uploads) == 3  # cat, big (cancelled), report
    alice.assert_no_errors()
    bob.assert_no_errors()


async def test_files_are_checked_before_uploading_and_a_paste_is_named(
    server: RunningServer, browser: Browser
) -> None:
    """Too large, empty or one too many: said on the chip, never sent to the server. A
    pasted screenshot is attached under a name of its own. Names stay text."""
    context = await new_context(browser)
    await _room_of_one(context, server.url)
    page = await ChatPage.open(context, server.url, "/#/room/den")
    await page.wait_online()
    await page.wait_room("den")
    requests: list[str] = []
    page.page.on("request", lambda r: requests.append(r.url) if "/files" in r.url else None)
    await page.page.add_init_script("window.xss = () => { window.xssCalled = true; }")

    await drop_files(
        page,
        [
            {"name": "huge.iso", "type": "application/octet-stream", "size": 25 * MiB + 1},
            {"name": "empty.txt", "type": "text/plain", "size": 0},
            {"name": HOSTILE_NAME, "type": "text/plain", "size": 0},
        ],
    )
    await expect(chip(page, "huge.iso")).to_have_attribute("data-state", "failed")
    await expect(chip(page, "huge.iso").locator(".file-chip-status")).to_have_text(
        "too large — 25 MB at most"
    )
    await expect(chip(page, "huge.iso").locator("[role=alert]")).to_have_count(1)
    await expect(chip(page, "empty.txt").locator(".file-chip-status")).to_have_text(
        "the file is empty"
    )
    assert await page.page.locator("#composer-files .file-name").all_text_contents() == [
        "huge.iso",
        "empty.txt",
        HOSTILE_NAME,
    ]
    await expect(page.page.locator("#composer-files img")).to_have_count(0)
    # A failed chip holds the message back until it is removed.
    await page.page.locator("#composer-input").fill("hello")
    await expect(page.page.locator("#composer-send")).to_be_disabled()
    for name in ("huge.iso", "empty.txt", HOSTILE_NAME):
        await chip(page, name).get_by_role("button", name="Remove").click()
    await expect(page.page.locator("#composer-files")).to_be_hidden()
    await expect(page.page.locator("#composer-input")).to_be_focused()
    await expect(page.page.locator("#composer-send")).to_be_enabled()

    # Eleven files at once: the eleventh is one too many.
    await drop_files(
        page, [{"name": f"f{i}.txt", "type": "text/plain", "text": "x"} for i in range(11)]
    )
    await expect(chip(page, "f10.txt").locator(".file-chip-status")).to_have_text(
        "10 files at most in one message"
    )
    for i in range(11):
        await chip(page, f"f{i}.txt").locator(".file-chip-remove").click()
    await expect(page.page.locator("#composer-files")).to_be_hidden()

    # A screenshot pasted into the message box.
    await paste_image(page, png(20, 10))
    pasted = page.page.locator("#composer-files .file-chip")
    await expect(pasted).to_have_count(1)
    pasted_name = await pasted.locator(".file-name").text_content()
    assert pasted_name is not None, pasted_name
    assert pasted_name.startswith("Pasted image ") and pasted_name.endswith(".png"), pasted_name
    assert await page.page.evaluate("window.xssCalled === undefined")
    # Only the files that passed the checks were uploaded: ten small ones and the paste.
    assert len(requests) == 11, requests
    page.assert_no_errors()


async def test_a_file_over_the_servers_own_limit_is_refused_on_its_chip(
    tmp_path: Path, browser: Browser
) -> None:
    """The server may take less than the page's default: its 413 is shown on the chip."""
    config = config_for(tmp_path / "data", max_file_bytes=1000)
    async with running_server(config) as server:
        context = await new_context(browser)
        await _room_of_one(context, server.url)
        page = await ChatPage.open(context, server.url, "/#/room/den")
        await page.wait_online()
        await page.wait_room("den")
        await drop_files(page, [{"name": "notes.txt", "type": "text/plain", "size": 5000}])
        notes = chip(page, "notes.txt")
        await expect(notes).to_have_attribute("data-state", "failed")
        # What the server said, as it says it to any client.
        answer = await context.request.post(
            f"{server.url}/api/v1/rooms/den/files?name=notes.txt", data=b"x" * 5000
        )
        assert answer.status == 413
        refusal = (await answer.json())["message"]
        await expect(notes.locator(".file-chip-status")).to_have_text(refusal)
        await expect(notes.locator(".file-chip-retry")).to_be_hidden()  # trying again is vain
        await expect(page.page.locator("#composer-send")).to_be_disabled()
        page.assert_no_errors()


async def test_a_message_with_files_written_offline_is_sent_with_them_after_a_reload(
    server: RunningServer, browser: Browser, http: aiohttp.ClientSession
) -> None:
    alice_context, alice, bob = await two_people_in_a_room(browser, server.url)
    # An upload that cannot reach the server says so, and may be tried again.
    await alice_context.set_offline(True)
    await expect(alice.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await drop_files(alice, [{"name": "plan.txt", "type": "text/plain", "text": "step one\n"}])
    plan = chip(alice, "plan.txt")
    await expect(plan).to_have_attribute("data-state", "failed")
    await expect(plan.locator(".file-chip-status")).to_have_text("could not reach the server")
    await alice_context.set_offline(False)
    await plan.get_by_role("button", name="Upload plan.txt again").click()
    await expect(plan).to_have_attribute("data-state", "done")
    await expect(plan.get_by_role("button", name="Remove plan.txt")).to_be_focused()

    # Written offline, the message keeps its file in the outbox, across a reload.
    await alice_context.set_offline(True)
    await expect(alice.page.locator("#conn-banner")).to_have_attribute("data-state", "offline")
    await alice.send("the plan")
    await expect(alice.messages("pending")).to_have_count(1)
    # The pending message shows its file already.
    await expect(alice.messages("pending").locator(".file-card .file-name")).to_have_text(
        "plan.txt"
    )
    stored = await alice.page.evaluate(
        "JSON.stringify(JSON.parse(localStorage.getItem('hubbub:outbox:alice')))"
    )
    assert [entry["files"][0]["name"] for entry in json.loads(stored)] == ["plan.txt"]

    await alice_context.set_offline(False)
    await alice.page.reload()
    await alice.wait_online()
    await expect(alice.messages("pending")).to_have_count(0)
    await bob.wait_bodies(["the plan"])
    await expect(bob.page.locator("#message-list .file-card .file-name")).to_have_text("plan.txt")
    messages = await file_events(http, server.url)
    assert [[f["name"] for f in m["files"]] for m in messages] == [["plan.txt"]]
    alice.assert_no_errors()
    bob.assert_no_errors()


async def _room_of_one(context: BrowserContext, url: str) -> None:
    await sign_in_over_http(context, url, "pat")
    assert (await context.request.post(f"{url}/api/v1/rooms", data={"name": "den"})).ok
