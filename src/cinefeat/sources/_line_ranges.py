"""Line ranges of JSON Lines files: splitting a big file into byte ranges of whole lines (the
chunks a pipeline processes in parallel), reading one, and numbering its lines.

A line belongs to the range its first byte falls in, so ranges that tile a file share no line
and miss none, wherever their boundaries fall; no one has to scan the file to place them.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pyarrow as pa

__all__ = ["estimate_lines", "line_number_at", "line_ranges", "lines_array", "read_line_range"]

_SAMPLE = 1 << 20  # bytes read to estimate a file's line length
_BLOCK = 8 << 20


def estimate_lines(path: Path) -> int:
    """About how many lines `path` holds, from the length of the lines in its first MiB."""
    size = path.stat().st_size
    with path.open("rb") as file:
        sample = file.read(_SAMPLE)
    newlines = sample.count(b"\n")
    if len(sample) == size:
        return newlines + (0 if sample.endswith(b"\n") or not sample else 1)
    return max(1, round(size * newlines / len(sample)))


def line_ranges(path: Path, chunk_rows: int) -> list[tuple[int, int]]:
    """Byte ranges tiling `path`, each holding about `chunk_rows` lines (one range when the
    file holds no more than that)."""
    size = path.stat().st_size
    count = max(1, math.ceil(estimate_lines(path) / chunk_rows))
    bounds = [size * i // count for i in range(count + 1)]
    return list(pairwise(bounds))


def read_line_range(path: Path, start: int, end: int) -> tuple[int, bytes]:
    """The lines of `path` whose first byte lies in [start, end), whole (the last one read up
    to its newline even past `end`), and the offset of the first of them."""
    with path.open("rb") as file:
        offset = start
        if start > 0:  # a line begins at `start` only if the byte before it ends a line
            file.seek(start - 1)
            data = file.read(end - start + 1)
            cut = data.find(b"\n")
            data = data[cut + 1 :] if cut >= 0 else b""
            offset = start + cut if cut >= 0 else end
        else:
            data = file.read(end)
        if not data or data.endswith(b"\n"):
            return offset, data
        rest = [data]
        while block := file.read(_BLOCK):  # the last line goes on past `end`
            cut = block.find(b"\n")
            if cut >= 0:
                rest.append(block[: cut + 1])
                break
            rest.append(block)
        return offset, b"".join(rest)


def line_number_at(path: Path, offset: int) -> int:
    """The number (from 1) of the line that starts at byte `offset` of `path`."""
    lines = 1
    with path.open("rb") as file:
        remaining = offset
        while remaining > 0 and (block := file.read(min(_BLOCK, remaining))):
            lines += block.count(b"\n")
            remaining -= len(block)
    return lines


def lines_array(data: bytes) -> pa.LargeBinaryArray:
    """The lines of `data` as one Arrow array, without copying them (each keeps its newline;
    a last line without one is kept too)."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buffer == ord("\n")) + 1
    if len(data) and (len(ends) == 0 or ends[-1] != len(data)):
        ends = np.append(ends, len(data))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
