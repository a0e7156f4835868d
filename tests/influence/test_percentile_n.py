"""A percentile among a handful of accounts says little: the explanation gives its n ("p99 of 2")."""

from __future__ import annotations

from confiance.influence.scores import PERCENTILE_MIN_N, _explain, influencers
from confiance.pipeline import analyze
from tests.conftest import ingest


def test_explanation_names_the_n_of_a_percentile_on_a_tiny_platform(workspace, tmp_path):
    f = tmp_path / "edges.csv"
    f.write_text("source,target,kind\nx1,x2,mention\nx2,x1,reply\nx3,x1,repost\n")
    ingest(workspace, f, format_name="edges-csv")
    analyze(workspace, only=["influence"])
    with workspace.reader() as con:
        rows = influencers(con, top=3)
    explained = [r["explanation"] for r in rows if r["explanation"].startswith("strongest: ")]
    assert explained and all(" of 3" in e for e in explained), explained


def test_no_n_among_enough_accounts():
    row = {"authority": 5.0, "authority_pct": 0.995, **{f"{n}_pct": None for n in ("followers", "unique_engagers")}}
    weights = {"authority": 1.0}
    row.update({f"{n}_pct": None for n in ("engagement_per_post", "amplification", "engagement_rate", "coreness",
                                           "active_weeks_share")})
    assert _explain(row, weights, counts={"authority": PERCENTILE_MIN_N}).startswith("strongest: ")
    assert " of " not in _explain(row, weights, counts={"authority": PERCENTILE_MIN_N})
    assert _explain(row, weights, counts={"authority": 1}).startswith(
        "strongest: conversational authority (reply/mention in-strength) p99 of 1")
