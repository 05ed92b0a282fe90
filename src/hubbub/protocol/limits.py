"""Every bound of the wire protocol in one place; the types in ``messages`` use these."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from hubbub.core.files import MAX_FILES_PER_MESSAGE
from hubbub.core.models import USERNAME
from hubbub.core.moderation import MAX_REASON_CHARS, MAX_TOPIC_CHARS
from hubbub.core.retention import MAX_RETENTION_DAYS, SERVER_RETENTION
from hubbub.core.search import MAX_QUERY_CHARS, MAX_SEARCH_LIMIT, MIN_QUERY_CHARS

MAX_BODY_CHARS = 8000
MAX_CLIENT_MSG_ID = 64
MAX_TOKEN = 128
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_HISTORY_LIMIT = 200
DEFAULT_HISTORY_LIMIT = 50
MAX_SYNC_ROOMS = 1000
MAX_USERS_ASKED = 200  # names in one `users` request
MAX_GUEST_NAME = 32
MAX_SEQ = 2**63 - 1  # SQLite's INTEGER: a larger seq could never exist

_ROOM = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"


def _whole(pattern: str) -> str:
    """``pattern`` for the whole string. msgspec checks with ``re.search``, whose ``$`` also
    matches before a final newline: the lookahead after it keeps a name with a trailing
    newline out ("alice" and "alice" + newline would look alike). JSON Schema reads it the
    same way."""
    return rf"^{pattern}$(?!\n)"


Username = Annotated[
    str,
    Meta(
        pattern=_whole(USERNAME),
        description="1-32 of a-z 0-9 _ . - starting with a letter or digit; case-insensitive",
    ),
]
RoomName = Annotated[
    str,
    Meta(
        pattern=_whole(_ROOM),
        description="1-64 of a-z 0-9 _ - starting with a letter or digit; case-insensitive",
    ),
]
RoomRef = Annotated[
    str,
    Meta(
        pattern=_whole(rf"(?:[dD][mM]:{USERNAME}:{USERNAME}|{_ROOM})"),
        description="a room name, or dm:<user>:<user> for a direct-message room",
    ),
]
Password = Annotated[str, Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
Token = Annotated[str, Meta(min_length=1, max_length=MAX_TOKEN)]
Body = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_BODY_CHARS,
        pattern=r"\S",
        description="1-8000 characters, not only whitespace",
    ),
]
ClientMsgId = Annotated[str, Meta(min_length=1, max_length=MAX_CLIENT_MSG_ID)]
# A sent message's body: as ``Body``, or empty ("") when the message carries files
# (``check_message``: a pattern cannot say that).
MessageBody = Annotated[
    str,
    Meta(
        max_length=MAX_BODY_CHARS,
        description="up to 8000 characters, not only whitespace; may be empty with files",
    ),
]
MAX_FILE_ID = 64
MAX_FILES = MAX_FILES_PER_MESSAGE
FileId = Annotated[
    str,
    Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="a file's id, as its upload answered"),
]
FileIds = Annotated[
    list[FileId],
    Meta(max_length=MAX_FILES, description=f"up to {MAX_FILES} files you uploaded to the room"),
]
MAX_UPLOAD_NAME = 1024  # characters of the name an upload is given (kept: 200, sanitized)
UploadName = Annotated[
    str,
    Meta(
        max_length=MAX_UPLOAD_NAME,
        description="the file's name; shown without directories or control characters",
    ),
]
Seq = Annotated[int, Meta(ge=0, le=MAX_SEQ)]
Topic = Annotated[
    str, Meta(max_length=MAX_TOPIC_CHARS, description='at most 250 characters; "" clears it')
]
BanReason = Annotated[str, Meta(max_length=MAX_REASON_CHARS, description="at most 250 characters")]
Timestamp = Annotated[int, Meta(ge=0, le=MAX_SEQ, description="milliseconds since the epoch")]
RENAME_REFUSED = (
    "a room cannot be renamed: clients know it by its name; give it a title instead (title)"
)
# Trimmed and checked by ``core.moderation.room_title`` as it is decoded.
RoomTitle = Annotated[
    str,
    Meta(
        description="at most 64 characters once trimmed, none of them a control character,"
        ' line break or bidirectional control; "" clears it (the name is shown)'
    ),
]
RetentionDays = Annotated[
    int,
    Meta(
        ge=SERVER_RETENTION,
        le=MAX_RETENTION_DAYS,
        description="days messages are kept: 0 for ever, -1 the server's setting",
    ),
]
HistoryLimit = Annotated[int, Meta(ge=1, le=MAX_HISTORY_LIMIT)]
SearchQuery = Annotated[
    str,
    Meta(
        max_length=MAX_QUERY_CHARS,
        description=f"{MIN_QUERY_CHARS}-{MAX_QUERY_CHARS} characters, matched as a substring",
    ),
]
SearchCursor = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{1,19}(:[0-9]{1,19}:.{1,200})?$",
        description="the next of the page before (or <ts>:<seq>:<room> of its last result)",
    ),
]
SearchLimit = Annotated[int, Meta(ge=1, le=MAX_SEARCH_LIMIT)]


def check_message(body: str, files: list[str]) -> None:
    """``ValueError`` unless a message being sent has text or files, each file once."""
    if not files and (not body or body.isspace()):
        raise ValueError("a message needs a body that is not only whitespace, or files")
    if len(set(files)) != len(files):
        raise ValueError("a message names each file once")
