"""``admin export`` and ``admin import``: a database as records (``records``) and back.

Export reads one snapshot, a page at a time, and writes each record as it comes: a server
of any size is never held in memory, and a server writing meanwhile changes nothing in the
file. Import fills an empty database in one transaction, a batch of rows at a time, in the
file's order; the only thing it keeps is each room's new id by name. Whatever fails (a bad
line, a file cut short, a row the database refuses) rolls it all back: the database is left
empty. Rooms get ids 1, 2, 3 … in the file's order, which is the order they were created in,
so the imported database exports the same file again.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing
from typing import IO, Any

import msgspec

from hubbub import __version__
from hubbub.admin.database import BATCH, AdminError, Database, Row
from hubbub.admin.records import (
    BY_KIND,
    FORMAT,
    TABLES,
    TEXT_KEYS,
    End,
    Header,
    Table,
    decoder,
    encoder,
)
from hubbub.storage import transfer

MAX_LINE = 4 * 1024 * 1024  # bytes of one record: far above any row the server writes


async def export(db: Database, out: IO[bytes], now: int) -> dict[str, int]:
    """Write every table of ``db`` to ``out``; the records written of each kind."""
    counts: dict[str, int] = {}
    async with db.snapshot():
        out.write(
            _line(Header(format=FORMAT, hubbub=__version__, exported_at=now, source=db.location))
        )
        for table in TABLES:
            count = 0
            async with aclosing(_records(db, table)) as records:
                async for record in records:
                    out.write(_line(record))
                    count += 1
            counts[table.kind] = count
        out.write(_line(End(counts=counts)))
    return counts


def _line(record: Any) -> bytes:
    return encoder.encode(record) + b"\n"


async def _records(db: Database, table: Table) -> AsyncGenerator[Any, None]:
    """The table's rows as records, in the table's order."""
    columns = table.columns
    shown = ["r.name" if c == "room_id" else f"t.{c}" for c in columns]
    join = " JOIN rooms r ON r.id = t.room_id" if "room_id" in columns else ""
    order = ", ".join(f"t.{c}{db.collate_c if c in TEXT_KEYS else ''}" for c in table.order)
    sql = f"SELECT {', '.join(shown)} FROM {table.name} t{join} ORDER BY {order}"
    neutral = db.neutral(columns)
    fields = table.fields
    make = table.record
    async with aclosing(db.stream(sql)) as rows:
        async for row in rows:
            yield make(**{f: v for f, v in zip(fields, neutral(row), strict=True) if v is not None})


async def import_records(db: Database, source: IO[bytes]) -> dict[str, int]:
    """Fill the empty database ``db`` from the records of ``source``; the rows of each kind."""
    lines = _lines(source)
    async with db.writing():
        await db.lock_for_import(transfer.TABLES)
        for name in transfer.TABLES:
            if await db.fetch(f"SELECT 1 FROM {name} LIMIT 1"):
                raise AdminError(
                    f"the database {db.location!r} already holds data (in {name});"
                    " admin import fills an empty one only"
                )
        _header(next(lines, (1, b"")))
        counts = await _fill(db, lines)
        await db.after_import()
    return counts


def _lines(source: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Each line of ``source`` with its number, without its newline; none too long."""
    number = 0
    while line := source.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise AdminError(f"line {number} is longer than {MAX_LINE} bytes: not a record")
        yield number, line.rstrip(b"\n")


def _decode(number: int, line: bytes) -> Any:
    try:
        return decoder.decode(line)
    except msgspec.DecodeError as exc:  # ValidationError too
        raise AdminError(f"line {number}: {exc}") from None


def _header(numbered: tuple[int, bytes]) -> None:
    number, line = numbered
    if not line:
        raise AdminError("the file is empty: not an export of hubbub")
    try:
        header = _decode(number, line)
    except AdminError:
        header = None
    if not isinstance(header, Header):
        raise AdminError("the file does not begin with the header of an export of hubbub")
    if header.format != FORMAT:
        raise AdminError(
            f"the file is in export format {header.format}; this hubbub reads {FORMAT}"
        )


async def _fill(db: Database, lines: Iterator[tuple[int, bytes]]) -> dict[str, int]:
    counts = {table.kind: 0 for table in TABLES}
    room_ids: dict[str, int] = {}
    batch = _Batch(db)
    for number, line in lines:
        record = _decode(number, line)
        if isinstance(record, End):
            await batch.flush()
            if record.counts != counts:
                raise AdminError(
                    f"line {number}: the file counts {record.counts} records, but holds {counts}"
                )
            if next(lines, None) is not None:
                raise AdminError(f"line {number + 1}: records after the end record")
            return counts
        if isinstance(record, Header):
            raise AdminError(f"line {number}: a second header")
        table = BY_KIND[record.__struct_config__.tag]
        await batch.into(table, number)
        values = [getattr(record, f) for f in table.fields]
        if table.name == "rooms":
            if record.name in room_ids:
                raise AdminError(f"line {number}: a second room named {record.name!r}")
            room_ids[record.name] = len(room_ids) + 1
            values.insert(0, room_ids[record.name])
        elif table.by_room_id and "room" in table.fields:
            at = table.fields.index("room")
            room_id = room_ids.get(values[at])
            if room_id is None:
                raise AdminError(f"line {number}: no room named {values[at]!r} before it")
            values[at] = room_id
        counts[table.kind] += 1
        await batch.add(tuple(values))
    raise AdminError("the file ends before its end record: it was cut short")


class _Batch:
    """Rows of one table on their way in, ``BATCH`` at a time; tables in ``TABLES``' order."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._table: Table | None = None
        self._rows: list[Row] = []
        self._first = 0  # the line of the first row waiting

    async def into(self, table: Table, number: int) -> None:
        if table is self._table:
            return
        await self.flush()
        if self._table is not None and TABLES.index(table) < TABLES.index(self._table):
            raise AdminError(f"line {number}: a {table.kind} after the {self._table.kind}s")
        self._table = table
        self._first = number

    async def add(self, row: Row) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        if not self._rows or self._table is None:
            return
        table = self._table
        columns = (["id"] if table.name == "rooms" else []) + table.columns
        last = self._first + len(self._rows) - 1
        try:
            await self._db.insert(table.name, columns, self._rows)
        except self._db.errors as exc:
            raise AdminError(
                f"lines {self._first}-{last}: the database refused a {table.kind}:"
                f" {' '.join(str(exc).split())}"
            ) from None
        self._first = last + 1
        self._rows = []
