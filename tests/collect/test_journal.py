"""The journal's crash windows: each leaves the raw files holding every committed page exactly once."""

from __future__ import annotations

import json
import os

import pytest

from confiance.collect import CollectError
from confiance.collect._journal import Journal
from confiance.workspace import Workspace


def _pages(journal: Journal, n: int) -> None:
    for i in range(n):
        journal.commit_page("bluesky", f'{{"page": {i}}}\n'.encode(), "t", {"cursor": f"p{i + 1}"})


def test_bytes_past_the_committed_size_are_cut_on_restart(workspace: Workspace) -> None:
    journal = Journal(workspace, "j", "bluesky", chunk_pages=10)
    journal.__enter__()
    _pages(journal, 2)
    partial = journal._open["bluesky"].path
    journal._open["bluesky"].handle.write(b'{"page": 2}\n')  # written, the state not saved: then the crash
    journal._open["bluesky"].handle.flush()
    os.close(journal._lock_fd)  # the process dies: its lock goes with it
    with Journal(workspace, "j", "bluesky") as restarted:
        assert restarted.task_state("t") == {"cursor": "p2"}
        [(path, fmt)] = restarted.ready_files()
    assert fmt == "bluesky" and not partial.exists()
    assert path.read_bytes() == b'{"page": 0}\n{"page": 1}\n'


def test_a_chunk_renamed_just_before_the_crash_is_still_ingested(workspace: Workspace) -> None:
    with Journal(workspace, "j", "bluesky") as journal:
        _pages(journal, 1)
        chunk = journal._open["bluesky"]
        chunk.handle.close()
        final = chunk.path.with_name(chunk.path.name.removesuffix(".partial"))
        os.replace(chunk.path, final)  # renamed; the state still lists the open chunk
        del journal._open["bluesky"]
    state = json.loads((workspace.root / "collect" / "j.state.json").read_text())
    assert state["chunks"]  # the crash window: the state did not see the rename
    with Journal(workspace, "j", "bluesky") as restarted:
        assert [p for p, _ in restarted.ready_files()] == [final]


def test_one_collector_per_name_and_platform(workspace: Workspace) -> None:
    with Journal(workspace, "j", "bluesky"):
        with pytest.raises(CollectError, match="already running"):
            Journal(workspace, "j", "bluesky").__enter__()
    with pytest.raises(CollectError, match="is a bluesky collection"):
        Journal(workspace, "j", "mastodon").__enter__()
