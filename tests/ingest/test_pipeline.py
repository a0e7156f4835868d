"""Staging the next file while the previous one commits changes nothing a user can see.

``ingest_paths`` stages files i+1 and i+2 (read, map, temporary tables on cursors of their own)
while file i merges and commits. The store must equal one built file by file, commits must follow file order,
and a failure in either phase must leave the earlier files stored, the later ones absent, and no
temporary archive behind.
"""

from __future__ import annotations

import pytest

from confiance.errors import IngestError
from confiance.ingest import _engine, ingest_paths
from confiance.workspace import Workspace
from tests.conftest import query
from tests.factories import x_v2_pages

TABLES = ("posts", "accounts", "interactions", "observations", "rejects")


def _files(tmp_path, n=4):
    files = [x_v2_pages(tmp_path / f"part-{i}.jsonl", tweets=300, seed=i) for i in range(n)]
    # the same bytes again under another name, right after the original: its twin is still merging
    twin = tmp_path / "part-0-copy.jsonl"
    twin.write_bytes(files[0].read_bytes())
    return [files[0], twin, *files[1:]]


def _contents(ws: Workspace) -> dict:
    out = {t: query(ws, f"SELECT * FROM {t} ORDER BY ALL") for t in TABLES}
    out["sources"] = query(ws, "SELECT * EXCLUDE (ingested_at) FROM sources ORDER BY ALL")
    return out


def test_one_call_gives_the_store_of_one_call_per_file(tmp_path):
    files = _files(tmp_path)
    together = Workspace.init(tmp_path / "together")
    results = ingest_paths(together, files)
    apart = Workspace.init(tmp_path / "apart")
    one_by_one = [r for f in files for r in ingest_paths(apart, [f])]
    assert _contents(together) == _contents(apart)
    assert [(r.path, r.stored, r.duplicates, r.already_ingested) for r in results] == \
        [(r.path, r.stored, r.duplicates, r.already_ingested) for r in one_by_one]
    assert results[1].already_ingested and results[1].stored == 0 and results[0].stored > 0
    # commits follow the order of the files
    order = [p for (p,) in query(together, "SELECT path FROM sources ORDER BY ingested_at")]
    assert order == [str(f) for f in files if f.name != "part-0-copy.jsonl"]
    assert not list(together.raw_dir.glob(".incoming-*"))


def _fail_in(monkeypatch, method: str, name: str) -> None:
    original = getattr(_engine._Run, method)

    def failing(run, *args):
        if run.path.name == name:
            raise IngestError(str(run.path), None, "disk on fire")
        return original(run, *args)

    monkeypatch.setattr(_engine._Run, method, failing)


@pytest.mark.parametrize("phase", ["read_and_stage", "merge"])
def test_a_failure_keeps_earlier_files_and_drops_the_staged_next_one(tmp_path, monkeypatch, phase):
    files = [x_v2_pages(tmp_path / f"f{i}.jsonl", tweets=200, seed=10 + i) for i in range(4)]
    clean = Workspace.init(tmp_path / "clean")
    ingest_paths(clean, files)

    ws = Workspace.init(tmp_path / "ws")
    _fail_in(monkeypatch, phase, "f1.jsonl")
    done = []
    with pytest.raises(IngestError, match="f1.jsonl.*disk on fire"):
        ingest_paths(ws, files, on_file_done=done.append)
    assert [r.path for r in done] == [str(files[0])]
    assert [p for (p,) in query(ws, "SELECT path FROM sources")] == [str(files[0])]
    posts = query(ws, "SELECT count(*) FROM posts")[0][0]
    assert posts == done[0].stored > 0
    assert not list(ws.raw_dir.glob(".incoming-*"))  # neither the failed file's nor the next one's

    monkeypatch.undo()
    again = ingest_paths(ws, files)
    assert again[0].already_ingested and not any(r.already_ingested for r in again[1:])
    assert _contents(ws) == _contents(clean)
