from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from confiance.ingest import ingest_paths
from confiance.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FORMATS = SHARED / "data" / "formats"
REAL = SHARED / "data" / "real"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")


def ingest(ws: Workspace, *paths: Path | str, **kwargs: Any):
    """Ingest and return the results (one per file)."""
    return ingest_paths(ws, list(paths), **kwargs)


def query(ws: Workspace, sql: str, params: list | None = None) -> list[tuple]:
    with ws.reader() as con:
        return con.execute(sql, params or []).fetchall()


def scalar(ws: Workspace, sql: str, params: list | None = None) -> Any:
    return query(ws, sql, params)[0][0]
