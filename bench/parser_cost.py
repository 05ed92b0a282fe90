"""What reading client frames costs: hubbub's FrameParser against python-websockets' sans-I/O
frame reader (``websockets.protocol.Protocol`` on the server side, already open).

    python bench/parser_cost.py [--baseline OLD_WSFRAME_PY] [--repeats N]

Two cases, each the median of N timed repeats (``time.perf_counter``):

- a 64 KiB masked text frame fed one byte at a time (a slow or hostile sender): the cost of
  waiting for a frame that arrives in pieces;
- one read holding 100 small masked text frames: the server's hot path.

Both sides do the same work: frames read, unmasked, and text decoded to ``str`` (websockets
leaves decoding to its I/O layer, so it is done here on each frame it returns).
``--baseline`` also measures the ``FrameParser`` of another copy of ``wsframe.py``, e.g.
``git show HEAD:src/hubbub/protocol/wsframe.py > /tmp/old.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import struct
import time
from collections.abc import Callable
from typing import Any

from websockets.frames import Opcode
from websockets.protocol import OPEN, Protocol, Side

from hubbub.protocol import wsframe

MAX_MESSAGE = 1 << 20
BIG = 64 * 1024
SMALL = 100  # bytes of payload per small frame, as in the load generator
FRAMES_PER_READ = 100
READS_PER_SAMPLE = 200


def masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + mask + wsframe.unmask(payload, mask)


# --- one reader per side: feed the chunks, return the texts --------------------------------

Read = Callable[[list[bytes]], list[str]]
Reader = Callable[[], Read]  # makes a fresh reader


def hubbub_reader(parser_class: Any) -> Reader:
    def new() -> Read:
        parser = parser_class(MAX_MESSAGE)

        def read(chunks: list[bytes]) -> list[str]:
            texts = []
            for chunk in chunks:
                for _opcode, payload in parser.feed(chunk):
                    texts.append(payload)
            return texts

        return read

    return new


def websockets_reader() -> Read:
    protocol = Protocol(Side.SERVER, state=OPEN, max_size=MAX_MESSAGE)

    def read(chunks: list[bytes]) -> list[str]:
        texts = []
        for chunk in chunks:
            protocol.receive_data(chunk)
            for frame in protocol.events_received():
                if frame.opcode is Opcode.TEXT:
                    texts.append(frame.data.decode())
        return texts

    return read


# --- the cases ------------------------------------------------------------------------------


def byte_at_a_time(new_reader: Reader) -> float:
    """Seconds to read one 64 KiB frame fed a byte at a time (a fresh reader each time)."""
    text = "x" * BIG
    frame = masked_text(text.encode())
    chunks = [frame[i : i + 1] for i in range(len(frame))]
    read = new_reader()
    start = time.perf_counter()
    texts = read(chunks)
    elapsed = time.perf_counter() - start
    assert texts == [text]
    return elapsed


def many_small_frames(new_reader: Reader) -> float:
    """Seconds per read of 100 whole small frames (one reader, many reads)."""
    texts = [f"{i:03d}".ljust(SMALL, "x") for i in range(FRAMES_PER_READ)]
    chunk = [b"".join(masked_text(t.encode()) for t in texts)]
    read = new_reader()
    assert read(chunk) == texts
    start = time.perf_counter()
    for _ in range(READS_PER_SAMPLE):
        read(chunk)
    return (time.perf_counter() - start) / READS_PER_SAMPLE


def median_ms(case: Callable[[Reader], float], new_reader: Reader, repeats: int) -> float:
    case(new_reader)  # warm up
    return statistics.median(case(new_reader) for _ in range(repeats)) * 1000


def load_parser(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("wsframe_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FrameParser


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--baseline", help="another wsframe.py whose FrameParser to measure too")
    args.add_argument("--repeats", type=int, default=15)
    options = args.parse_args()

    readers = {"hubbub": hubbub_reader(wsframe.FrameParser)}
    if options.baseline:
        readers["hubbub (baseline)"] = hubbub_reader(load_parser(options.baseline))
    readers["websockets"] = websockets_reader

    cases = {
        "64 KiB frame, 1 byte per read": byte_at_a_time,
        f"{FRAMES_PER_READ} frames of {SMALL} B in 1 read": many_small_frames,
    }
    print(f"median of {options.repeats} repeats, ms")
    print()
    print("| case | " + " | ".join(readers) + " | hubbub / websockets |")
    print("|---|" + "---|" * (len(readers) + 1))
    for name, case in cases.items():
        times = {reader: median_ms(case, new, options.repeats) for reader, new in readers.items()}
        cells = " | ".join(f"{t:.3f}" for t in times.values())
        print(f"| {name} | {cells} | {times['hubbub'] / times['websockets']:.2f} |")


if __name__ == "__main__":
    main()
