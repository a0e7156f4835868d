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


def _latest(ws, step: str) -> dict:
    import orjson

    return orjson.loads(scalar(ws, "SELECT parameters FROM analysis_runs WHERE step = ? ORDER BY finished_at DESC LIMIT 1",
                               [step]))


def test_options_set_by_a_verb_are_kept_by_later_runs_and_said(workspace):
    """`communities --resolution 2.5`, `trends --threshold 1 --window 7`: a later `analyze`, or the re-run of a
    step they read, keeps those values (recorded, and said on stderr) instead of silently going back to the
    defaults; the listings name the parameters that produced them."""
    import orjson

    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    cli = CliRunner()
    root = ["--workspace", str(workspace.root)]
    assert cli.invoke(app, root + ["analyze", "--only", "communities,trends"]).exit_code == 0
    assert _latest(workspace, "communities")["resolution"] == 1.0 and _latest(workspace, "trends")["threshold"] == 3.0
    out = cli.invoke(app, root + ["communities", "--resolution", "2.5", "--json"])
    assert out.exit_code == 0, out.output
    assert "communities computed with quality modularity, resolution 2.5" in out.stderr
    partition = query(workspace, "SELECT platform, account_id, community FROM communities ORDER BY ALL")

    out = cli.invoke(app, root + ["trends", "--threshold", "1", "--window", "7", "--json"])
    assert out.exit_code == 0, out.output
    rows = orjson.loads(out.stdout)
    assert rows and all(r["threshold"] == 1.0 and r["window"] == 7 and r["method"] for r in rows)
    assert all(r["peak_score"] >= 1.0 for r in rows)
    assert "window 7, threshold 1.0" in cli.invoke(app, root + ["trends"]).stderr  # a plain listing says them

    out = cli.invoke(app, root + ["analyze", "--only", "communities,trends"])
    assert out.exit_code == 0, out.output
    assert "communities: kept from its last run (set by `confiance communities`): resolution 2.5" in out.stderr
    assert "trends: kept from its last run (set by `confiance trends`): window 7, threshold 1.0" in out.stderr
    assert _latest(workspace, "communities")["resolution"] == 2.5
    assert (_latest(workspace, "trends")["threshold"], _latest(workspace, "trends")["window"]) == (1.0, 7)
    assert query(workspace, "SELECT platform, account_id, community FROM communities ORDER BY ALL") == partition

    # the re-run of a step it reads keeps them too
    graph = pipeline.steps()["graph"]
    pipeline.rerun(workspace, "graph", graph.parameters, graph.run)
    assert _latest(workspace, "communities")["resolution"] == 2.5
    assert query(workspace, "SELECT platform, account_id, community FROM communities ORDER BY ALL") == partition


def test_stored_parameters_of_an_empty_result_are_its_latest_run(workspace):
    """No row names the run that wrote an empty table: the step's latest run did (it was read as {})."""
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    analyze(workspace, only=["coordination"])
    with workspace.writer() as con:
        con.execute("DELETE FROM coordination_edges")
        assert pipeline.stored_parameters(con, "coordination_edges", "coordination")["window"] == 10
