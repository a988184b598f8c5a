"""Pack per-request samples into chunk rows and back into one numpy structured array per run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from storage.models import SAMPLE_DTYPE

SAMPLE_FIELDS = ("offset_ms", "latency_ms", "status_code", "affected")
CHUNK_SIZE = 65_536


def empty_samples() -> np.ndarray:
    """Return an empty array of `SAMPLE_DTYPE`."""
    return np.empty(0, dtype=SAMPLE_DTYPE)


def to_sample_array(samples: Any) -> np.ndarray:
    """Return `samples` as an array of `SAMPLE_DTYPE`.

    Accepts a sequence of ``(offset_ms, latency_ms, status_code, affected)`` tuples, an (n, 4) numeric array,
    a numpy structured array with those fields, or a mapping of those field names to equal-length arrays.
    """
    if isinstance(samples, np.ndarray) and samples.dtype.names:
        return _from_columns({name: samples[name] for name in SAMPLE_FIELDS})
    if isinstance(samples, Mapping):
        return _from_columns(samples)
    if isinstance(samples, np.ndarray):
        table = samples
    else:
        rows = samples if isinstance(samples, Sequence) else list(samples)
        if len(rows) == 0:
            return empty_samples()
        table = np.asarray(rows, dtype=np.float64)
    if table.size == 0:
        return empty_samples()
    if table.ndim != 2 or table.shape[1] != len(SAMPLE_FIELDS):
        expected = "(offset_ms, latency_ms, status_code, affected) rows"
        raise ValueError(f"samples must be {expected}, got shape {table.shape}")
    return _from_columns({name: table[:, index] for index, name in enumerate(SAMPLE_FIELDS)})


def _from_columns(columns: Mapping[str, Any]) -> np.ndarray:
    arrays = [np.asarray(columns[name]) for name in SAMPLE_FIELDS]
    lengths = {array.shape[0] for array in arrays}
    if len(lengths) != 1:
        raise ValueError(f"sample columns differ in length: {sorted(lengths)}")
    result = np.empty(lengths.pop(), dtype=SAMPLE_DTYPE)
    for name, array in zip(SAMPLE_FIELDS, arrays, strict=True):
        result[name] = array.astype(bool) if name == "affected" else array
    return result


def pack_chunks(run_id: int, samples: np.ndarray, *, first_chunk_index: int) -> list[dict[str, Any]]:
    """Split `samples` into `latency_samples` row dicts of at most `CHUNK_SIZE` samples each."""
    rows = []
    for number, start in enumerate(range(0, samples.shape[0], CHUNK_SIZE)):
        chunk = samples[start : start + CHUNK_SIZE]
        row: dict[str, Any] = {
            "run_id": run_id,
            "chunk_index": first_chunk_index + number,
            "sample_count": int(chunk.shape[0]),
        }
        for name in SAMPLE_FIELDS:
            row[name] = np.ascontiguousarray(chunk[name], dtype=SAMPLE_DTYPE[name]).tobytes()
        rows.append(row)
    return rows


def unpack_chunks(chunks: Iterable[Sequence[Any]]) -> np.ndarray:
    """Join ``(sample_count, offset_ms, latency_ms, status_code, affected)`` chunk rows, in order."""
    parts = []
    for sample_count, *blobs in chunks:
        part = np.empty(int(sample_count), dtype=SAMPLE_DTYPE)
        for name, blob in zip(SAMPLE_FIELDS, blobs, strict=True):
            part[name] = np.frombuffer(bytes(blob), dtype=SAMPLE_DTYPE[name], count=int(sample_count))
        parts.append(part)
    if not parts:
        return empty_samples()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
