"""Workspace layout, schema versioning, hardened connections and the single-writer lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import duckdb
import pytest

from confiance import store
from confiance.errors import WorkspaceError, WorkspaceLocked
from confiance.workspace import Workspace


def test_init_creates_the_layout_and_schema(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    for sub in ("raw", "snapshots", "reports", "exports"):
        assert (ws.root / sub).is_dir()
    assert ws.db_path.exists() and ws.audit_path.exists()
    with ws.reader() as con:
        assert store.current_version(con) == store.SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(store.TABLE_KEYS) <= tables


def test_init_twice_is_harmless(tmp_path):
    Workspace.init(tmp_path / "ws")
    Workspace.init(tmp_path / "ws")
    with Workspace.open(tmp_path / "ws").reader() as con:
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(store.MIGRATIONS)


def test_open_missing_workspace_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="confiance init"):
        Workspace.open(tmp_path / "nowhere")


def test_old_schema_asks_for_migrate_and_ingest_never_migrates(tmp_path, monkeypatch):
    ws = Workspace.init(tmp_path / "ws")
    new = store.SCHEMA_VERSION + 1
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS + [(new, "CREATE TABLE extra_v2 (x INTEGER);")])
    monkeypatch.setattr(store, "SCHEMA_VERSION", new)
    with pytest.raises(WorkspaceError, match="confiance migrate"):
        with ws.writer():
            pass
    assert ws.migrate() == [new]
    with ws.writer() as con:
        assert con.execute("SELECT count(*) FROM extra_v2").fetchone()[0] == 0


def test_connection_cannot_read_outside_the_workspace(workspace, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    with workspace.writer() as con:
        with pytest.raises(duckdb.Error):
            con.execute(f"SELECT * FROM read_csv('{outside}')").fetchall()
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")
        with pytest.raises(duckdb.Error):
            con.execute("INSTALL httpfs")
        assert con.execute("SELECT current_setting('autoload_known_extensions')").fetchone()[0] is False


def test_second_writer_exits_at_once_naming_the_holder(workspace):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from confiance.workspace import Workspace
            with Workspace.open({str(workspace.root)!r}).writer():
                print("locked", flush=True)
                time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceLocked) as info:
            with workspace.writer():
                pass
        assert info.value.holder_pid == holder.pid
        assert str(holder.pid) in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    with workspace.writer():  # the lock dies with its holder
        pass


def test_audit_log_has_counts_not_content(workspace):
    from tests.conftest import FORMATS, ingest

    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    log = workspace.audit_path.read_text()
    assert '"stored":100' in log
    assert "WarmongerHodges" not in log and "Brexit" not in log and "brexit.jsonl" not in log
    assert os.path.getsize(workspace.audit_path) < 4096
