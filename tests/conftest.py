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


#: The shared simulated world: big enough for planted-truth figures, small enough for CI.
SIM_WORLD = {"seed": 3, "accounts": 2000, "posts": 30000}


@pytest.fixture(scope="session")
def sim_world_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Simulate and ingest the shared world once per test session: (world folder, workspace folder)."""
    from confiance.simulate import simulate_world

    root = tmp_path_factory.mktemp("sim-world")
    world = root / "world"
    simulate_world(world, **SIM_WORLD)
    ws = Workspace.init(root / "ws")
    ingest(ws, world / "x", world / "bluesky", world / "mastodon")
    return world, ws.root


@pytest.fixture(scope="session")
def analysed_world_base(sim_world_base: tuple[Path, Path],
                        tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The shared world with every analysis step run once: (world folder, workspace folder).

    Embedding the 30k posts is most of a full analysis, so the modules that read analysed results
    (topics, the browser views, the trends CLI) copy this workspace instead of analysing their own.
    """
    from confiance.pipeline import analyze

    world, base = sim_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("analysed-world") / "ws")
    analyze(ws)
    return world, ws.root


def copy_workspace(base: Path, target: Path) -> Workspace:
    """A private copy of a workspace folder (without its lock file)."""
    import shutil

    shutil.copytree(base, target, ignore=shutil.ignore_patterns("*.lock"))
    return Workspace.open(target)


@pytest.fixture
def sim_world(sim_world_base: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Workspace, dict]:
    """A private copy of the ingested shared world: (world folder, workspace, truth.json).

    Each test gets its own copy of the workspace, so analyses it writes never leak into another test.
    """
    import json

    world, base = sim_world_base
    return world, copy_workspace(base, tmp_path / "ws"), json.loads((world / "truth.json").read_text())
