"""Packing per-request samples into chunk rows and back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.hypothesis import Phase
from storage import SAMPLE_DTYPE
from storage.samples import pack_chunks, sample_phases, samples_in_phase, to_sample_array, unpack_chunks

_FIELDS = (
    st.floats(0, 1e7, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.integers(0, 599),
    st.booleans(),
)
SAMPLE = st.tuples(*_FIELDS)
PHASED_SAMPLE = st.tuples(*_FIELDS, st.sampled_from(list(Phase)))


def _round_trip(samples: np.ndarray) -> np.ndarray:
    rows = pack_chunks(1, samples, first_chunk_index=0)
    return unpack_chunks(
        (
            row["sample_count"],
            row["offset_ms"],
            row["latency_ms"],
            row["status_code"],
            row["affected"],
            row["phase"],
        )
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
    assert back.tolist() == [(o, lat, s, a, 0) for o, lat, s, a in rows]  # no phase given: the fault's


def test_accepted_input_shapes_agree() -> None:
    rows = [(1.0, 2.0, 200, True), (3.0, 4.0, 503, False)]
    expected = to_sample_array(rows)
    structured = np.array([(*row, 0) for row in rows], dtype=SAMPLE_DTYPE)
    columns = {
        "offset_ms": [1.0, 3.0],
        "latency_ms": [2.0, 4.0],
        "status_code": [200, 503],
        "affected": [1, 0],
    }
    for variant in (structured, np.array(rows, dtype=float), columns, iter(rows)):
        assert to_sample_array(variant).tolist() == expected.tolist()
    assert to_sample_array([]).size == 0 and to_sample_array(np.empty((0, 4))).size == 0
    assert expected["phase"].tolist() == [0, 0]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(PHASED_SAMPLE, max_size=40),
    st.integers(1, 7),
)
def test_phases_survive_packing_and_a_chunk_of_fault_samples_stores_none(
    rows: list[tuple[float, float, int, bool, Phase]], chunk_size: int
) -> None:
    import storage.samples as samples_module

    original = samples_module.CHUNK_SIZE
    samples_module.CHUNK_SIZE = chunk_size
    try:
        array = to_sample_array(rows)
        chunks = pack_chunks(1, array, first_chunk_index=0)
        back = _round_trip(array)
    finally:
        samples_module.CHUNK_SIZE = original
    assert sample_phases(back) == [row[4] for row in rows]
    for number, chunk in enumerate(chunks):
        in_chunk = rows[number * chunk_size : (number + 1) * chunk_size]
        assert (chunk["phase"] is None) == all(row[4] is Phase.FAULT for row in in_chunk)
    for phase in Phase:
        assert samples_in_phase(back, phase)["offset_ms"].tolist() == [r[0] for r in rows if r[4] is phase]


def test_phases_come_by_name_member_or_code_and_a_chunk_without_a_phase_blob_is_the_faults() -> None:
    by_name = to_sample_array([(1.0, 2.0, 200, True, "baseline"), (3.0, 4.0, 503, False, "recovery")])
    by_member = to_sample_array(
        [(1.0, 2.0, 200, True, Phase.BASELINE), (3.0, 4.0, 503, False, Phase.RECOVERY)]
    )
    by_code = to_sample_array(np.array([[1.0, 2.0, 200, 1, 1], [3.0, 4.0, 503, 0, 2]]))
    columns = to_sample_array(
        {"offset_ms": [1.0, 3.0], "latency_ms": [2.0, 4.0], "status_code": [200, 503], "affected": [1, 0],
         "phase": ["baseline", "recovery"]}
    )  # fmt: skip
    assert by_name.tolist() == by_member.tolist() == by_code.tolist() == columns.tolist()
    assert sample_phases(by_name) == [Phase.BASELINE, Phase.RECOVERY]
    (row,) = pack_chunks(1, to_sample_array([(1.0, 2.0, 200, True)]), first_chunk_index=0)
    old = unpack_chunks([(1, row["offset_ms"], row["latency_ms"], row["status_code"], row["affected"])])
    assert row["phase"] is None and sample_phases(old) == [Phase.FAULT]
    with pytest.raises(ValueError, match="phase 'steady'"):
        to_sample_array([(1.0, 2.0, 200, True, "steady")])
    with pytest.raises(ValueError, match="phase code 9"):
        to_sample_array(np.array([[1.0, 2.0, 200, 1, 9]]))


def test_bad_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        to_sample_array([(1.0, 2.0, 200)])
    with pytest.raises(ValueError, match="length"):
        to_sample_array({"offset_ms": [1.0], "latency_ms": [1.0, 2.0], "status_code": [200], "affected": [0]})


def test_unpack_of_nothing_is_empty() -> None:
    assert unpack_chunks([]).dtype == SAMPLE_DTYPE
