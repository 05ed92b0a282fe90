"""The files routes of the HTTP API: upload, download and thumbnail (rows of
``http_api.ENDPOINTS``, so they are registered and documented like every other route).

An upload's body is the file's raw bytes, streamed into the file store (``files.uploads``):
never read whole, refused before reading when its Content-Length is over the bound. A
download is served from its blob with headers that keep a browser from ever running it: the
type detected from the content, ``nosniff``, a sandboxing CSP of its own, and ``attachment``
for everything but the image types a page shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web

from hubbub.core.files import FileInfo, content_disposition, is_inline, sanitize_name
from hubbub.errors import file_not_found
from hubbub.files.detect import OCTET_STREAM, detect
from hubbub.files.images import probe, thumbnail
from hubbub.files.store import LocalFileStore, Writer
from hubbub.files.sweep import sweep_and_report
from hubbub.files.uploads import Slots, new_file_id, receive, too_large
from hubbub.service.periodic import Periodic
from hubbub.transport.context import STATE, state_of

if TYPE_CHECKING:
    from hubbub.transport.http_api import Call

# Downloads run nothing, embed nothing and are embedded by nothing but our own pages.
DOWNLOAD_CSP = "sandbox; default-src 'none'"
CACHE_CONTROL = "private, max-age=3600"
READ_CHUNK = 256 * 1024


@dataclass
class Files:
    """What the files routes share: the blobs and the uploads running."""

    store: LocalFileStore
    slots: Slots


FILES = web.AppKey("hubbub_files", Files)


def install(app: web.Application) -> None:
    """Give ``app`` its file store and, from start to cleanup, the periodic sweep."""
    config = app[STATE].config
    app[FILES] = Files(LocalFileStore(config.files_dir), Slots(config.max_uploads_per_user))
    app.cleanup_ctx.append(_sweeping)


async def _sweeping(app: web.Application) -> AsyncIterator[None]:
    files, state = app[FILES], app[STATE]
    config, node = state.config, state.node
    await asyncio.to_thread(files.store.open)
    sweeps = Periodic(
        "the file sweep",
        config.file_sweep_interval,
        lambda: sweep_and_report(
            node.storage, files.store, node.actions.clock, config.pending_file_ttl
        ),
    )
    sweeps.start()
    yield
    await sweeps.stop()


async def upload(call: Call) -> web.StreamResponse:
    request = call.request
    state = state_of(request)
    config, actions, files = state.config, state.node.actions, request.app[FILES]
    announced = request.content_length
    await actions.may_upload(call.user, call.room, announced)
    if announced is not None and announced > config.max_file_bytes:
        raise too_large(config.max_file_bytes)  # before a byte of the body is read
    with files.slots.take(call.user):
        try:
            received = await receive(
                request.content,
                files.store,
                config.max_file_bytes,
                config.http_body_timeout,
                announced,
            )
        except TimeoutError:
            raise web.HTTPRequestTimeout(text="the request body stopped arriving") from None
        writer = received.writer
        try:
            info, thumb = await _describe(files, writer, received.head, call.body.name)
            blob = await writer.commit()
        except BaseException:
            await asyncio.shield(writer.abort())
            raise
    await actions.add_file(call.user, call.room, info, blob, thumb)
    return web.Response(status=201, body=msgspec.json.encode(info), content_type="application/json")


async def _describe(
    files: Files, writer: Writer, head: bytes, name: str
) -> tuple[FileInfo, str | None]:
    """The info of an upload written to ``writer``, and its thumbnail's blob (images)."""
    media_type = detect(head)
    width = height = None
    thumb = None
    if is_inline(media_type):
        probed = await probe(writer.path)
        if probed is None or probed.type != media_type:
            media_type = OCTET_STREAM  # it only looks like an image: never shown as one
        else:
            width, height = probed.width, probed.height
            data = await thumbnail(writer.path)
            if data is not None:
                thumb = await files.store.put(data)
    info = FileInfo(
        id=new_file_id(),
        name=sanitize_name(name),
        size=writer.size,
        type=media_type,
        width=width,
        height=height,
        thumb=thumb is not None,
    )
    return info, thumb


async def download(call: Call) -> web.StreamResponse:
    file_id = call.request.match_info["file"]
    file = await state_of(call.request).node.actions.file_for(call.user, file_id)
    disposition = content_disposition(file.info)
    return await _serve(call.request, file_id, file.sha256, file.info.type, disposition)


async def download_named(call: Call) -> web.StreamResponse:
    """``download`` under a name of the client's choice: the last segment is not read."""
    return await download(call)


async def download_thumb(call: Call) -> web.StreamResponse:
    file_id = call.request.match_info["file"]
    file = await state_of(call.request).node.actions.file_for(call.user, file_id)
    if file.thumb_sha256 is None:
        raise file_not_found(file_id)
    thumb = FileInfo(id=file_id, name=file.info.name + ".webp", size=0, type="image/webp")
    disposition = content_disposition(thumb)
    return await _serve(call.request, file_id, file.thumb_sha256, "image/webp", disposition)


async def _serve(
    request: web.Request, file_id: str, blob: str, media_type: str, disposition: str
) -> web.StreamResponse:
    path: Path = request.app[FILES].store.path(blob)
    if not await asyncio.to_thread(path.is_file):  # swept or lost: as if it never was
        raise file_not_found(file_id)
    response = web.FileResponse(path, chunk_size=READ_CHUNK)
    response.headers.update(
        {
            "Content-Type": media_type,
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": CACHE_CONTROL,
        }
    )
    return response
