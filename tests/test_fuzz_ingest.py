"""Truncated and mutated real files: ingest never crashes and the accounting invariant always holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.errors import IngestError
from confiance.ingest import detect, ingest_paths
from confiance.workspace import Workspace
from tests.conftest import FORMATS

SAMPLES = sorted(p for p in FORMATS.rglob("*") if p.is_file() and p.name != "SOURCE.md")
_workspaces: dict[str, Workspace] = {}


def _workspace(key: str) -> Workspace:
    if key not in _workspaces:
        _workspaces[key] = Workspace.init(Path(tempfile.mkdtemp(prefix="fuzz-")) / "ws")
    return _workspaces[key]


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.floats(0.0, 1.0), st.integers(1, 400)),
    st.tuples(st.just("duplicate"), st.floats(0.0, 1.0), st.integers(1, 400)),
)


def _mutate(data: bytes, change) -> bytes:
    kind = change[0]
    if kind == "truncate":
        return data[: int(len(data) * change[1])]
    if kind == "flip":
        out = bytearray(data)
        for where, value in change[1]:
            if out:
                out[min(int(len(out) * where), len(out) - 1)] = value
        return bytes(out)
    at = int(len(data) * change[1])
    if kind == "delete":
        return data[:at] + data[at + change[2]:]
    return data[:at] + data[at: at + change[2]] + data[at:]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=mutation)
def test_mutated_file_never_crashes_and_invariant_holds(sample, change, tmp_path_factory):
    fmt = detect(sample)
    ws = _workspace(str(sample))
    target = tmp_path_factory.mktemp("m") / sample.name
    target.write_bytes(_mutate(sample.read_bytes(), change))
    try:
        [result] = ingest_paths(ws, [target], format_name=fmt)
    except IngestError as exc:  # a whole-file error is allowed when it names the file
        assert str(target) in str(exc)
        return
    assert result.records_read == result.stored + result.duplicates + result.rejected
    with ws.reader() as con:
        row = con.execute("SELECT records_read, stored, duplicates, rejected FROM sources WHERE sha256 = ?",
                          [result.sha256]).fetchone()
        rejects = con.execute("SELECT count(*) FROM rejects WHERE source_sha256 = ?", [result.sha256]).fetchone()[0]
    if result.already_ingested:  # the same bytes again (hypothesis may repeat a mutation): the row is the first ingest's
        assert (row[0], row[3]) == (result.records_read, result.rejected) and result.stored == 0
    else:
        assert row == (result.records_read, result.stored, result.duplicates, result.rejected)
    if not result.already_ingested:
        assert rejects == result.rejected
