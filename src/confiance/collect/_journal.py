"""Durable collection state: raw chunk files and task cursors that survive a crash.

Layout (``WORKSPACE/collect/``)::

    <name>.state.json          task cursors, the open chunks and their committed sizes, the ready files
    <name>.lock                held (flock) by the one collector of that name
    <name>/<kind>-<stamp>-<n>.jsonl.partial   the chunk being written
    <name>/<kind>-<stamp>-<n>.jsonl           a closed chunk, ready to ingest

Protocol for one page: append its lines to the open chunk, flush, fsync; then save the state (task
cursor after this page + the chunk's new committed size) by writing a temporary file, fsync, rename,
fsync the folder. A crash before the state is saved leaves bytes past the committed size: on restart
they are cut off and the page is fetched again, once. A crash after leaves the page committed and
the cursor past it: it is not fetched again. Either way the raw files hold each page exactly once.

A whole file (a repository export) is downloaded by its task to ``<name>/<kind>-download<suffix>.partial``
and fsynced; :meth:`Journal.commit_file` renames it to its final name, then saves the state that lists
it as ready and marks the task done. A crash during the download leaves a stray ``.partial`` (removed on
restart, the task downloads again); a crash between the rename and the save leaves a final file the
state does not list (removed on restart, the task downloads again). Ingest never sees a partial file.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import orjson

from confiance.collect.config import CollectError
from confiance.workspace import Workspace

STATE_VERSION = 1

#: chunk kind -> (file suffix, ingest format name, header written when the file is opened)
CHUNK_KINDS: dict[str, tuple[str, str, bytes]] = {
    "bluesky": (".jsonl", "bluesky", b""),
    "mastodon": (".jsonl", "mastodon", b""),
    "follows": (".csv", "edges-csv", b"source,target,kind,platform\n"),
    "repo": (".car", "bluesky-car", b""),
}
#: kinds written whole by :meth:`Journal.commit_file`, never appended to
WHOLE_FILE_KINDS = frozenset({"repo"})

#: test hook: called with ("written" | "committed", pages committed in this run)
CheckpointHook = Callable[[str, int], None]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass
class _OpenChunk:
    path: Path  # the .partial file
    committed: int  # bytes durably part of the chunk
    pages: int
    handle: object


class Journal:
    """The state and raw files of one named collection; use as a context manager (takes the lock)."""

    def __init__(self, ws: Workspace, name: str, platform: str, *, chunk_pages: int = 50,
                 checkpoint_hook: CheckpointHook | None = None):
        self.ws = ws
        self.name = name
        self.platform = platform
        self.chunk_pages = chunk_pages
        self.checkpoint_hook = checkpoint_hook
        self.base = ws.root / "collect"
        self.dir = self.base / name
        self.state_path = self.base / f"{name}.state.json"
        self.lock_path = self.base / f"{name}.lock"
        self.state: dict = {}
        self.pages_committed = 0
        self._open: dict[str, _OpenChunk] = {}
        self._lock_fd: int | None = None
        self._stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")

    # -- life cycle -------------------------------------------------------------------------------
    def __enter__(self) -> "Journal":
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CollectError(f"collection {self.name!r} is already running ({self.lock_path})") from None
        self._lock_fd = fd
        try:
            self.state = self._load()
            self._recover()
        except BaseException:
            os.close(fd)
            self._lock_fd = None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.close_chunks()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _load(self) -> dict:
        if not self.state_path.exists():
            return {"version": STATE_VERSION, "platform": self.platform, "tasks": {}, "chunks": {}, "ready": []}
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise CollectError(f"{self.state_path}: unreadable collector state ({exc})") from None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise CollectError(f"{self.state_path}: collector state of another version")
        if state.get("platform") != self.platform:
            raise CollectError(f"{self.state_path}: collection {self.name!r} is a {state.get('platform')} collection")
        return state

    def save(self) -> None:
        atomic_write(self.state_path, orjson.dumps(self.state, option=orjson.OPT_INDENT_2))

    def _recover(self) -> None:
        """Cut chunks left open by a crash to their committed size and close them; drop strays."""
        for kind, chunk in list(self.state["chunks"].items()):
            partial = self.dir / chunk["file"]
            final = partial.with_name(partial.name.removesuffix(".partial"))
            header = CHUNK_KINDS[kind][2]
            if not partial.exists() and final.exists() and final.name not in self.state["ready"]:
                self.state["ready"].append(final.name)  # renamed, then the crash came before the save
            elif partial.exists():
                with open(partial, "r+b") as fh:
                    fh.truncate(chunk["bytes"])
                    fh.flush()
                    os.fsync(fh.fileno())
                if chunk["bytes"] > len(header):
                    os.replace(partial, final)
                    self.state["ready"].append(final.name)
                else:
                    partial.unlink()
            del self.state["chunks"][kind]
        known = {c["file"] for c in self.state["chunks"].values()}
        for stray in self.dir.glob("*.partial"):  # opened, but no page was committed to it; a cut download
            if stray.name not in known:
                stray.unlink()
        for kind in WHOLE_FILE_KINDS:  # renamed, but its task was not marked done: it is downloaded again
            for orphan in self.dir.glob(f"{kind}-*{CHUNK_KINDS[kind][0]}"):
                if orphan.name not in self.state["ready"]:
                    orphan.unlink()
        _fsync_dir(self.dir)
        self.save()

    # -- tasks ------------------------------------------------------------------------------------
    def task_state(self, key: str) -> dict:
        return dict(self.state["tasks"].get(key) or {})

    # -- pages ------------------------------------------------------------------------------------
    def commit_page(self, kind: str, data: bytes, task_key: str, task_state: dict) -> None:
        """Make ``data`` (whole lines) durable in the open chunk of ``kind``, then save the cursor."""
        if data:
            chunk = self._chunk(kind)
            chunk.handle.write(data)
            chunk.handle.flush()
            os.fsync(chunk.handle.fileno())
            if self.checkpoint_hook:
                self.checkpoint_hook("written", self.pages_committed)
            chunk.committed += len(data)
            chunk.pages += 1
            self.state["chunks"][kind] = {"file": chunk.path.name, "bytes": chunk.committed}
        self.state["tasks"][task_key] = task_state
        self.save()
        self.pages_committed += 1
        if self.checkpoint_hook:
            self.checkpoint_hook("committed", self.pages_committed)
        if data and self._open[kind].pages >= self.chunk_pages:
            self._close(kind)

    def spool_path(self, kind: str) -> Path:
        """Where a task downloads a whole file of ``kind`` before :meth:`commit_file` (a stray on restart)."""
        return self.dir / f"{kind}-download{CHUNK_KINDS[kind][0]}.partial"

    def commit_file(self, kind: str, spool: Path, task_key: str, task_state: dict) -> None:
        """Make a whole file, complete and fsynced at ``spool``, ready to ingest; then save the cursor."""
        serial = self.state["serial"] = self.state.get("serial", 0) + 1
        final = self.dir / f"{kind}-{self._stamp}-{serial:05d}{CHUNK_KINDS[kind][0]}"
        os.replace(spool, final)
        _fsync_dir(self.dir)
        if self.checkpoint_hook:
            self.checkpoint_hook("written", self.pages_committed)
        self.state["ready"].append(final.name)
        self.state["tasks"][task_key] = task_state
        self.save()
        self.pages_committed += 1
        if self.checkpoint_hook:
            self.checkpoint_hook("committed", self.pages_committed)

    def _chunk(self, kind: str) -> _OpenChunk:
        if kind not in self._open:
            suffix, _, header = CHUNK_KINDS[kind]
            serial = self.state["serial"] = self.state.get("serial", 0) + 1
            path = self.dir / f"{kind}-{self._stamp}-{serial:05d}{suffix}.partial"
            handle = open(path, "wb")
            handle.write(header)
            self._open[kind] = _OpenChunk(path, len(header), 0, handle)
            _fsync_dir(self.dir)
        return self._open[kind]

    def _close(self, kind: str) -> None:
        chunk = self._open.pop(kind)
        chunk.handle.truncate(chunk.committed)  # bytes of a page whose commit failed
        chunk.handle.flush()
        os.fsync(chunk.handle.fileno())
        chunk.handle.close()
        self.state["chunks"].pop(kind, None)
        if chunk.pages:
            final = chunk.path.with_name(chunk.path.name.removesuffix(".partial"))
            os.replace(chunk.path, final)
            self.state["ready"].append(final.name)
        else:
            chunk.path.unlink()
        _fsync_dir(self.dir)
        self.save()

    def close_chunks(self) -> None:
        for kind in list(self._open):
            self._close(kind)

    # -- ingest -----------------------------------------------------------------------------------
    def ready_files(self) -> list[tuple[Path, str]]:
        """Closed chunks not yet ingested: (path, ingest format name)."""
        out = []
        for name in self.state["ready"]:
            kind = name.split("-", 1)[0]
            out.append((self.dir / name, CHUNK_KINDS[kind][1]))
        return out

    def mark_ingested(self, path: Path) -> None:
        """The file is in the store and the raw archive: drop the working copy."""
        self.state["ready"].remove(path.name)
        self.save()
        path.unlink(missing_ok=True)
