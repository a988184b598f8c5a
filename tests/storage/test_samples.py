"""Packing per-request samples into chunk rows and back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import SAMPLE_DTYPE
from storage.samples import pack_chunks, to_sample_array, unpack_chunks

SAMPLE = st.tuples(
    st.floats(0, 1e7, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.integers(0, 599),
    st.booleans(),
)


def _round_trip(samples: np.ndarray) -> np.ndarray:
    rows = pack_chunks(1, samples, first_chunk_index=0)
    return unpack_chunks(
        (row["sample_count"], row["offset_ms"], row["latency_ms"], row["status_code"], row["affected"])
        for row in rows
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(SAMPLE, max_size=40), st.integers(1, 7))
def test_pack_and_unpack_round_trip(rows: list[tuple[float, float, int, bool]], chunk_size: int) -> None:
    import storage.samples as samples_module

    original = samples_module.CHUNK_SIZE
    samples_module.CHUNK_SIZE = chunk_size
    try:
        array = to_sample_array(rows)
        assert len(pack_chunks(1, array, first_chunk_index=0)) == -(-len(rows) // chunk_size)
        back = _round_trip(array)
    finally:
        samples_module.CHUNK_SIZE = original
    assert back.dtype == SAMPLE_DTYPE
    assert back.tolist() == [(o, lat, s, a) for o, lat, s, a in rows]


def test_accepted_input_shapes_agree() -> None:
    rows = [(1.0, 2.0, 200, True), (3.0, 4.0, 503, False)]
    expected = to_sample_array(rows)
    structured = np.array(rows, dtype=SAMPLE_DTYPE)
    columns = {
        "offset_ms": [1.0, 3.0],
        "latency_ms": [2.0, 4.0],
        "status_code": [200, 503],
        "affected": [1, 0],
    }
    for variant in (structured, np.array(rows, dtype=float), columns, iter(rows)):
        assert to_sample_array(variant).tolist() == expected.tolist()
    assert to_sample_array([]).size == 0 and to_sample_array(np.empty((0, 4))).size == 0


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        to_sample_array([(1.0, 2.0, 200)])
    with pytest.raises(ValueError, match="length"):
        to_sample_array({"offset_ms": [1.0], "latency_ms": [1.0, 2.0], "status_code": [200], "affected": [0]})


def test_unpack_of_nothing_is_empty() -> None:
    assert unpack_chunks([]).dtype == SAMPLE_DTYPE
