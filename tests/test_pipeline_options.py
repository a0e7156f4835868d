"""Run options of `confiance analyze`: `--threads` reaches the steps that embed text and is recorded."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson
import pytest

from confiance.errors import ConfianceError
from confiance.pipeline import analyze
from confiance.text.embed import encode
from confiance.text.language import clean_text
from tests.conftest import FORMATS, ingest, query

SOURCES = (FORMATS / "twitter-v2-json" / "brexit.jsonl", FORMATS / "bluesky-atproto")


def _recorded(ws, step: str) -> list[dict]:
    return [orjson.loads(p) for (p,) in query(ws, "SELECT parameters FROM analysis_runs WHERE step = ? "
                                                  "ORDER BY finished_at", [step])]


def test_encoder_threads_give_identical_vectors(workspace):
    ingest(workspace, *SOURCES)
    texts = sorted({clean_text(t) for (t,) in query(workspace, "SELECT text FROM posts WHERE text <> ''")} - {""})
    assert len(texts) >= 200
    one, two = encode(texts, threads=1), encode(texts, threads=2)
    assert np.array_equal(one, two)


def test_analyze_threads_reach_and_are_recorded(workspace):
    ingest(workspace, *SOURCES)
    analyze(workspace, only=["embeddings", "graph"], threads=2)
    assert _recorded(workspace, "embeddings")[-1]["threads"] == 2
    # a step without encoder records no threads option
    assert "threads" not in _recorded(workspace, "graph")[-1]
    with pytest.raises(ConfianceError, match="threads"):
        analyze(workspace, only=["embeddings"], threads=0)


def test_cli_threads_option(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(tmp_path / "ws"), *args],
                              capture_output=True, text=True)

    assert run("init").returncode == 0
    assert run("ingest", str(SOURCES[0])).returncode == 0
    assert run("analyze", "--threads", "0").returncode == 2
    out = run("analyze", "--only", "embeddings", "--threads", "2")
    assert out.returncode == 0, out.stderr
