"""The workspace folder: store, raw archive, snapshots, reports, exports, audit log and writer lock.

Layout::

    WORKSPACE/
      confiance.duckdb     canonical + derived tables
      raw/ab/<sha256>.zst  every ingested file, compressed, content-addressed (.gz before 2026-11)
      snapshots/           read-only copies published for the dashboard
      reports/  exports/   outputs
      audit.log            JSON lines: who did what, with counts and hashes only
      .lock                held (flock) by the one writer; holds its PID
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import duckdb
import orjson

from confiance import store
from confiance.errors import WorkspaceError, WorkspaceLocked

DB_NAME = "confiance.duckdb"


def default_root() -> Path:
    return Path(os.environ.get("CONFIANCE_WORKSPACE") or "confiance-workspace")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def audit_path(self) -> Path:
        return self.root / "audit.log"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    # -- life cycle -------------------------------------------------------------------------
    @classmethod
    def init(cls, root: Path | str) -> "Workspace":
        """Create (or complete) a workspace and bring its schema to the current version."""
        ws = cls(Path(root).resolve())
        ws.root.mkdir(parents=True, exist_ok=True)
        for sub in (ws.raw_dir, ws.snapshots_dir, ws.reports_dir, ws.exports_dir):
            sub.mkdir(exist_ok=True)
        with ws.lock():
            con = store.connect(ws.db_path)
            try:
                applied = store.migrate(con)
            finally:
                con.close()
        ws.audit("init", schema_versions_applied=applied)
        return ws

    @classmethod
    def open(cls, root: Path | str) -> "Workspace":
        ws = cls(Path(root).resolve())
        if not ws.db_path.exists():
            raise WorkspaceError(f"no workspace at {ws.root}: run `confiance init` (or pass --workspace)")
        return ws

    def migrate(self) -> list[int]:
        with self.lock():
            con = store.connect(self.db_path)
            try:
                applied = store.migrate(con)
            finally:
                con.close()
        self.audit("migrate", schema_versions_applied=applied)
        return applied

    # -- connections --------------------------------------------------------------------------
    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The single writer: holds the lock file for as long as the connection lives."""
        with self.lock():
            con = store.connect(self.db_path)
            try:
                store.require_current(con)
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            con = store.connect(self.db_path, read_only=True)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WorkspaceLocked(str(self.lock_path), self._holder_pid()) from None
            raise
        try:
            store.require_current(con)
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WorkspaceLocked(str(self.lock_path), self._holder_pid()) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            os.fsync(fd)
            yield
        finally:
            os.close(fd)  # closing releases the flock, also when the process is killed

    def _holder_pid(self) -> int | None:
        try:
            return int(self.lock_path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    # -- snapshots ------------------------------------------------------------------------------
    def publish_snapshot(self, keep: int = 2) -> Path:
        """Copy the store, consistent, to ``snapshots/`` for readers that must not block the writer.

        Taken under the writer lock after a checkpoint, so the copy never sees half a transaction;
        written to a temporary name and renamed, so a reader never opens half a file."""
        with self.lock():
            con = store.connect(self.db_path)
            try:
                store.require_current(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
            self.snapshots_dir.mkdir(exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            target = self.snapshots_dir / f"store-{stamp}.duckdb"
            partial = target.with_suffix(".partial")
            shutil.copyfile(self.db_path, partial)
            os.replace(partial, target)
        for old in self.snapshots()[:-keep]:
            old.unlink(missing_ok=True)
        self.audit("publish_snapshot", snapshot=target.name)
        return target

    def snapshots(self) -> list[Path]:
        """Published snapshots, oldest first (their names sort by time)."""
        return sorted(self.snapshots_dir.glob("store-*.duckdb"))

    def latest_snapshot(self) -> Path | None:
        found = self.snapshots()
        return found[-1] if found else None

    # -- raw archive --------------------------------------------------------------------------
    def archive_path(self, sha256: str) -> Path:
        return self.raw_dir / sha256[:2] / f"{sha256}.zst"

    # -- audit log ------------------------------------------------------------------------------
    def audit(self, action: str, **details: object) -> None:
        """Append one line. Callers pass counts, hashes and parameters: never text or handles."""
        entry = {"ts": datetime.now(timezone.utc).isoformat(), "action": action, "pid": os.getpid(), **details}
        with open(self.audit_path, "ab") as fh:
            fh.write(orjson.dumps(entry, default=str) + b"\n")
