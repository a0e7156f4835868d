"""Runs of analysis steps: a failing step is rolled back alone (the steps that need it are not run, the
others run and stay committed, and the run ends with one error naming what failed: in the CLI, exit 1,
one line); a step re-run with other parameters refreshes the stored analyses that read it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from confiance import pipeline
from confiance.cli import app
from confiance.errors import AnalysisError
from confiance.pipeline import Step, StepFailure, analyze
from tests.conftest import FORMATS, ingest, query, scalar


def _broken(con, run_id):
    con.execute("CREATE TABLE half_written AS SELECT 1 AS x")  # must not survive the failure
    raise ValueError("the store holds nothing this step can read")


@pytest.fixture
def broken_step(monkeypatch):
    known = pipeline.steps()
    monkeypatch.setattr(pipeline, "steps", lambda: {
        **known, "broken": Step("broken", _broken), "after_broken": Step("after_broken", lambda con, run_id: {}, after=("broken",))})


def test_a_failed_step_stops_only_what_needs_it(workspace, broken_step):
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    seen = {}
    with pytest.raises(AnalysisError, match=r"1 analysis step\(s\) failed: broken \(ValueError: the store holds "
                                            r"nothing.*\); not run, as they need a failed step: after_broken") as raised:
        analyze(workspace, only=["after_broken", "overview"], on_step=lambda step, result: seen.update({step.name: result}))
    assert isinstance(raised.value.__cause__, ValueError)
    assert seen["broken"] == StepFailure("ValueError: the store holds nothing this step can read")
    assert seen["after_broken"] == StepFailure("", needs="broken") and raised.value.results == seen
    # the steps that do not need it ran after the failure and are committed; the failed one left nothing
    assert {"language", "overview"} <= {s for (s,) in query(workspace, "SELECT step FROM analysis_runs")}
    assert scalar(workspace, "SELECT count(*) FROM overview_volume") > 0
    assert not query(workspace, "SELECT 1 FROM information_schema.tables WHERE table_name = 'half_written'")


def test_the_cli_lists_each_outcome_and_exits_1(workspace, broken_step):
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    out = CliRunner().invoke(app, ["--workspace", str(workspace.root), "analyze", "--only", "after_broken,overview"])
    assert out.exit_code == 1 and isinstance(out.exception, AnalysisError)
    assert "broken: failed: ValueError" in out.stderr and "after_broken: not run: needs broken" in out.stderr
    assert "overview: done" in out.stderr


def test_a_rerun_refreshes_the_stored_analyses_that_read_it(workspace, tmp_path):
    """`sources --credibility` on an analysed workspace: the harm profiles read the new ratings at once
    (they kept the old run's low-credibility shares until the next `analyze`)."""
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    analyze(workspace, only=["harm"])
    low = "SELECT account_id FROM harm_profiles WHERE low_credibility_share > 0 ORDER BY 1"
    assert query(workspace, low) == []
    (tmp_path / "list.csv").write_text("domain,rating,source\ntagesschau.de,low,test\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["--workspace", str(workspace.root), "sources", "--credibility", str(tmp_path / "list.csv")])
    assert out.exit_code == 0, out.output
    assert "harm: re-run (it reads what sources writes)" in out.stderr
    # the accounts that wrote such a link (a repost's link is not the account's own: harm's definition)
    linking = query(workspace, "SELECT DISTINCT account_id FROM posts WHERE list_contains(domains, 'tagesschau.de') "
                               "AND kind <> 'repost' AND account_id IN (SELECT account_id FROM harm_profiles) ORDER BY 1")
    assert linking and query(workspace, low) == linking
