"""Pack per-request samples into chunk rows and back into one numpy structured array per run.

A sample's phase is one byte (`PHASE_CODES`; 0 is the fault phase). A chunk whose samples are all of the fault
phase stores no phase column (NULL), which is also how every chunk stored before revision 0009 reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from client.hypothesis import Phase
from client.intervals import Comparison
from client.models import RequestSample
from client.verdicts import phase_differences
from storage.models import PHASE_CODES, PHASES_BY_CODE, SAMPLE_DTYPE

SAMPLE_FIELDS = ("offset_ms", "latency_ms", "status_code", "affected")  # each chunk row's NOT NULL blobs
CHUNK_SIZE = 65_536
# A phase given by name or as a Phase (a StrEnum hashes by its name, so both spellings are keys); None: fault.
_CODE_OF: dict[Any, int] = {
    None: 0,
    **PHASE_CODES,
    **{phase.value: code for phase, code in PHASE_CODES.items()},
}


def empty_samples() -> np.ndarray:
    """Return an empty array of `SAMPLE_DTYPE`."""
    return np.empty(0, dtype=SAMPLE_DTYPE)


def phase_codes(phases: Iterable[Phase | str | None]) -> np.ndarray:
    """Return the `PHASE_CODES` of phases given by name or as `Phase` (None: fault); raise on another name."""
    try:
        return np.fromiter((_CODE_OF[phase] for phase in phases), dtype=np.uint8)
    except KeyError as exc:
        raise ValueError(
            f"unknown sample phase {exc.args[0]!r}: give one of {[p.value for p in Phase]}"
        ) from None


def samples_in_phase(samples: np.ndarray, phase: Phase | str) -> np.ndarray:
    """Return the samples of one phase (an array of `SAMPLE_DTYPE`, in stored order)."""
    return samples[samples["phase"] == _CODE_OF[Phase(phase)]]


def sample_phases(samples: np.ndarray) -> list[Phase]:
    """Return each sample's phase as a `Phase`."""
    return [PHASES_BY_CODE[int(code)] for code in samples["phase"]]


def fault_minus_baseline(samples: np.ndarray) -> list[Comparison]:
    """Compare a run's stored fault samples with its baseline's ([] without a baseline).

    The statistics are `client.verdicts.phase_differences`, History's comparison code; the CLI's report and
    the run page both show these.
    """
    kept = samples[samples["phase"] != PHASE_CODES[Phase.RECOVERY]]
    return phase_differences(
        [
            RequestSample(
                float(row["offset_ms"]),
                float(row["latency_ms"]),
                int(row["status_code"]),
                bool(row["affected"]),
                phase,
            )
            for row, phase in zip(kept, sample_phases(kept), strict=True)
        ]
    )


def to_sample_array(samples: Any) -> np.ndarray:
    """Return `samples` as an array of `SAMPLE_DTYPE`.

    Accepts a sequence of ``(offset_ms, latency_ms, status_code, affected)`` tuples, each optionally followed
    by its phase (a `Phase` or its name; without one a sample is of the fault phase), an (n, 4) or (n, 5)
    numeric array (the fifth column a `PHASE_CODES` code), a numpy structured array with those fields
    (``phase`` optional), or a mapping of those field names to equal-length arrays (``phase`` optional).
    """
    if isinstance(samples, np.ndarray) and samples.dtype.names:
        return _from_columns({name: samples[name] for name in samples.dtype.names})
    if isinstance(samples, Mapping):
        return _from_columns(samples)
    if isinstance(samples, np.ndarray):
        table = samples
    else:
        rows = samples if isinstance(samples, Sequence) else list(samples)
        if len(rows) == 0:
            return empty_samples()
        if len(rows[0]) == len(SAMPLE_FIELDS) + 1:  # rows with their phase; zip's strict checks every row
            *numbers, phases = zip(*rows, strict=True)
            columns: dict[str, Any] = dict(zip(SAMPLE_FIELDS, numbers, strict=True))
            return _from_columns({**columns, "phase": phase_codes(phases)})
        table = np.asarray(rows, dtype=np.float64)
    if table.size == 0:
        return empty_samples()
    if table.ndim != 2 or table.shape[1] not in (len(SAMPLE_FIELDS), len(SAMPLE_FIELDS) + 1):
        expected = "(offset_ms, latency_ms, status_code, affected[, phase]) rows"
        raise ValueError(f"samples must be {expected}, got shape {table.shape}")
    names = (*SAMPLE_FIELDS, "phase")[: table.shape[1]]
    return _from_columns({name: table[:, index] for index, name in enumerate(names)})


def _from_columns(columns: Mapping[str, Any]) -> np.ndarray:
    arrays = {name: np.asarray(columns[name]) for name in SAMPLE_FIELDS}
    if columns.get("phase") is not None:
        phase = np.asarray(columns["phase"])
        arrays["phase"] = phase if phase.dtype.kind in "iubf" else phase_codes(phase.tolist())
    lengths = {array.shape[0] for array in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"sample columns differ in length: {sorted(lengths)}")
    result = np.zeros(lengths.pop(), dtype=SAMPLE_DTYPE)
    for name, array in arrays.items():
        result[name] = array.astype(bool) if name == "affected" else array
    if result.shape[0] and int(result["phase"].max()) not in PHASES_BY_CODE:
        raise ValueError(f"unknown sample phase code {int(result['phase'].max())}")
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
        phases = np.ascontiguousarray(chunk["phase"], dtype=SAMPLE_DTYPE["phase"])
        row["phase"] = phases.tobytes() if phases.any() else None
        rows.append(row)
    return rows


def unpack_chunks(chunks: Iterable[Sequence[Any]]) -> np.ndarray:
    """Join ``(sample_count, offset_ms, latency_ms, status_code, affected, phase)`` chunk rows, in order.

    The phase blob may be None (every sample of the fault phase) or left out.
    """
    parts = []
    for sample_count, *blobs in chunks:
        count = int(sample_count)
        part = np.zeros(count, dtype=SAMPLE_DTYPE)
        for name, blob in zip(SAMPLE_FIELDS, blobs, strict=False):
            part[name] = np.frombuffer(bytes(blob), dtype=SAMPLE_DTYPE[name], count=count)
        phase_blob = blobs[len(SAMPLE_FIELDS)] if len(blobs) > len(SAMPLE_FIELDS) else None
        if phase_blob is not None:
            part["phase"] = np.frombuffer(bytes(phase_blob), dtype=SAMPLE_DTYPE["phase"], count=count)
        parts.append(part)
    if not parts:
        return empty_samples()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
