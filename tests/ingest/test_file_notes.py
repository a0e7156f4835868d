"""A file's notes (``Context.note``, a format's ``finish``) are the same whatever path reads it: the
serial reader or the parallel JSON-lines path (the Spark engine: ``tests/engine/test_spark_engine.py``)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from concurrent.futures import Future

import confiance.ingest
from confiance.ingest import _engine, _parallel, audience
from confiance.workspace import Workspace
from tests.conftest import ingest

#: The audience-report mapper on JSON lines: its shares noted after the file, from state kept per record.
AUDIENCE_LINES = dataclasses.replace(audience.FORMAT, name="audience-lines", containers=("jsonl",),
                                     sniff=lambda sample: 0)
ROWS = [("x", "1", "age", "18-24", "0.34"), ("x", "1", "age", "25-34", "0.66"),  # sums to 1
        ("x", "1", "country", "FR", "0.5"), ("x", "1", "country", "BE", "0.33"),  # 0.83
        ("x", "1", "country", "BE", "0.10"),  # a repeated category: the first share counts, several chunks later
        ("tiktok", "2", "age", "18-24", "40%"), ("tiktok", "2", "age", "25-34", "70%")]  # 110 %


class _CopyingPool:
    """Maps each chunk here, on a copy of its arguments, as a worker process receives them."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*pickle.loads(pickle.dumps(args))))
        return future


def _ingest(root, path):
    [result] = ingest(Workspace.init(root), path, format_name=AUDIENCE_LINES.name)
    return result


def test_parallel_json_lines_give_the_notes_of_a_serial_read(tmp_path, monkeypatch):
    known = confiance.ingest.formats()
    monkeypatch.setattr(confiance.ingest, "formats", lambda: {**known, AUDIENCE_LINES.name: AUDIENCE_LINES})
    path = tmp_path / "audience.jsonl"
    path.write_text("".join(json.dumps(dict(zip(("platform", "account_id", "dimension", "category", "share"), row)))
                            + "\n" for row in ROWS))
    serial = _ingest(tmp_path / "serial", path)
    monkeypatch.setattr(_engine, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(_engine, "parallel_workers", lambda: 2)
    monkeypatch.setattr(_parallel, "_workers", lambda size: _CopyingPool())
    monkeypatch.setattr(_parallel, "CHUNK_BYTES", 1)  # a chunk per line
    parallel = _ingest(tmp_path / "parallel", path)
    (note,) = serial.notes
    assert "x:1 country shares sum to 0.83 (83%)" in note and "tiktok:2 age shares sum to 1.10 (110%)" in note
    assert parallel.as_json() == serial.as_json()
