"""Packed samples: arrays of int64 and float64 in blobs, for the batches and the chunks.

A scrape lands as one `sample_batch` row (its series ids and values); once the 5-minute
bucket is complete, storage.move_recent regroups the bucket's batches into one
`sample_chunk` row per series (its timestamps and values). A row per sample costs SQLite
far more to insert, and to read back into Python, than packing it does: the arrays are
turned into bytes and back at C speed, and a bucket's batches of one target regroup into
series by transposing them (zip), with no Python step per sample.

Little-endian int64 and float64 (NaN kept), written by hand because it is the `array`
module and nothing more: Prometheus's Gorilla chunks would save space but cost Python time
per sample to encode and decode.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from typing import Any, cast

_SWAP = sys.byteorder != "little"


def pack_ints(values: Sequence[int]) -> bytes:
    packed = array("q", values)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def pack_floats(values: Sequence[float | None]) -> bytes:
    """Floats as bytes; None stands for NaN (SQLite reads a stored NaN back as NULL)."""
    floats = cast(Sequence[float], values)  # checked on the next line, at C speed
    if None in values:
        floats = [math.nan if v is None else v for v in values]
    packed = array("d", floats)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def ints(data: bytes) -> array[int]:
    return _unpacked("q", data)


def floats(data: bytes) -> array[float]:
    return _unpacked("d", data)


def _unpacked(typecode: str, data: bytes) -> array[Any]:
    unpacked = array(typecode)
    unpacked.frombytes(data)
    if _SWAP:
        unpacked.byteswap()
    return unpacked


def encode(timestamps: Sequence[int], values: Sequence[float | None]) -> bytes:
    """A chunk: points in time order, no timestamp twice."""
    return pack_ints(timestamps) + pack_floats(values)


def decode(data: bytes, count: int) -> tuple[array[int], array[float]]:
    """(timestamps, values) of a chunk of `count` points."""
    if len(data) != 16 * count:
        raise ValueError(f"a chunk of {count} points is {16 * count} bytes, not {len(data)}")
    return ints(data[: 8 * count]), floats(data[8 * count :])


def window(
    ts: Sequence[int], vs: Sequence[float], start_ms: int, end_ms: int
) -> tuple[Sequence[int], Sequence[float]]:
    """The points with start_ms <= timestamp <= end_ms, of points in time order."""
    lo, hi = bisect_left(ts, start_ms), bisect_right(ts, end_ms)
    if lo == 0 and hi == len(ts):
        return ts, vs
    return ts[lo:hi], vs[lo:hi]


def merge(*sources: Iterable[tuple[int, float]]) -> tuple[list[int], list[float]]:
    """Points of all sources in time order, one per timestamp: the first one seen wins (a
    sample stored first is kept, as Prometheus keeps the first of duplicate samples)."""
    points: dict[int, float] = {}
    for source in sources:
        for ts, value in source:
            points.setdefault(ts, value)
    ordered = sorted(points.items())
    return [t for t, _ in ordered], [v for _, v in ordered]
