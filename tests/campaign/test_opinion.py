"""Opinion DiD on the simulated world.

The stance used here is the PLANTED per-post stance of ``truth-posts.jsonl`` aggregated per account
and week: these tests validate the exposure and the estimator, not the stance classifier (built
elsewhere and validated on its own labels)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import orjson
import pandas as pd
import pytest

from confiance.campaign.exposure import CampaignMarkers, campaign_exposure, campaign_posts, campaign_side
from confiance.campaign.opinion import account_stance_periods, run_opinion, stance_did
from confiance.errors import ConfianceError


def _planted_panel(world, ws) -> pd.DataFrame:
    with open(world / "truth-posts.jsonl", encoding="utf-8") as fh:
        planted = pd.DataFrame([json.loads(line)["truth_post"] for line in fh])
    planted = planted[planted["stance"].notna() & (planted["kind"] != "repost")]  # a repost carries its parent's stance
    with ws.reader() as con:
        times = con.execute("SELECT platform, post_id, created_at FROM posts").df()
    labels = planted.merge(times, on=["platform", "post_id"])
    return account_stance_periods(labels[["platform", "account_id", "created_at", "stance"]])


def _markers(truth: dict) -> CampaignMarkers:
    c = truth["campaign"]
    return CampaignMarkers(hashtags=(c["hashtag"],), url_prefixes=(c["url"],), codes=(c["promo_code"],))


def test_planted_stance_effect_recovered_within_interval(sim_world) -> None:
    """With the planted exposure list: the interval holds the planted effect on the stance score
    (truth ``stance_effect``: the latent ``stance_shift`` seen through the favour/neutral/against
    labels, after each account's exposure)."""
    world, ws, truth = sim_world
    panel = _planted_panel(world, ws)
    exposed = [(a["platform"], a["account_id"]) for a in truth["campaign"]["exposed_accounts"]]
    result = stance_did(panel, exposed, truth["campaign"]["intervention_date"])
    effect = truth["campaign"]["stance_effect"]
    print(f"\nstance DiD: {result.effect:.3f} [{result.lower:.3f}, {result.upper:.3f}] planted effect {effect} "
          f"({result.exposed_accounts} exposed, {result.control_accounts} matched controls)")
    assert result.lower <= effect <= result.upper
    assert result.lower > 0
    assert abs(result.balance["activity"]["after"]) < 0.1  # matching balanced pre-period activity
    # each exposed account has its controls named, all unexposed
    keys = set(exposed)
    assert not any((p, a) in keys for p, a in zip(result.matches["control_platform"], result.matches["control_account_id"]))


def test_placebo_exposure_gives_no_shift(sim_world) -> None:
    """Unexposed accounts labelled 'exposed' at random: the interval must contain 0."""
    world, ws, truth = sim_world
    panel = _planted_panel(world, ws)
    unexposed = [(a["platform"], a["account_id"]) for a in truth["accounts"] if not a["exposed"]]
    exposed = set((a["platform"], a["account_id"]) for a in truth["campaign"]["exposed_accounts"])
    panel = panel[[(p, a) not in exposed for p, a in zip(panel["platform"], panel["account_id"])]]
    fake = unexposed[::3]
    result = stance_did(panel, fake, truth["campaign"]["intervention_date"])
    assert result.lower <= 0 <= result.upper


def _intervention(truth: dict) -> datetime:
    return datetime.fromisoformat(truth["campaign"]["intervention_date"]).replace(tzinfo=timezone.utc)


def test_graph_exposure_names_campaign_posts_and_is_enriched(sim_world) -> None:
    _, ws, truth = sim_world
    markers = _markers(truth)
    since = _intervention(truth)
    with ws.reader() as con:
        posts = campaign_posts(con, markers)
        exposure = campaign_exposure(con, markers)
    seeds = {(s["platform"], s["account_id"]) for s in truth["campaign"]["seed_influencers"]}
    brand = {(a["platform"], a["account_id"]) for a in truth["accounts"] if a["is_brand"]}
    assert len(posts) and set(zip(posts["platform"], posts["account_id"])) <= seeds | brand
    assert (posts[posts["account_id"].isin([a for _, a in seeds])]["created_at"] >= since).all()
    evidence = {pid for ids in exposure["evidence_post_ids"] for pid in ids}
    assert evidence <= set(posts["post_id"])
    truly = {(a["platform"], a["account_id"]) for a in truth["accounts"] if a["exposed"]}
    found = set(zip(exposure["platform"], exposure["account_id"]))
    precision = len(found & truly) / len(found)
    base_rate = len(truly) / len(truth["accounts"])
    print(f"\ngraph exposure (brand posts before the campaign included): {len(found)} accounts, precision "
          f"{precision:.2f} vs base rate {base_rate:.2f}, recall {len(found & truly) / len(truly):.2f}")
    assert found >= truly and precision > 2 * base_rate


def test_graph_exposure_since_the_intervention_is_the_planted_exposure(sim_world) -> None:
    """From the intervention on, the graph shows exactly the planted exposed accounts, each first seen
    when the world exposed it (the brand aside: the seeds' campaign posts tag it)."""
    _, ws, truth = sim_world
    with ws.reader() as con:
        exposure = campaign_exposure(con, _markers(truth), since=_intervention(truth))
    brand = {(a["platform"], a["account_id"]) for a in truth["accounts"] if a["is_brand"]}
    planted = {(a["platform"], a["account_id"]): a["exposed_at"] for a in truth["campaign"]["exposed_accounts"]}
    found = {(p, a): t for p, a, t in zip(exposure["platform"], exposure["account_id"], exposure["first_exposed_at"])}
    assert len(planted) > 200
    assert set(found) - brand == set(planted)
    # an account may have been reached earlier by a follow or a like than by the post the world planted
    assert all(found[k] == pd.Timestamp(at) for k, at in planted.items())
    assert all(channels == ["addressed"] for p, a, channels in zip(exposure["platform"], exposure["account_id"],
                                                                  exposure["channels"]) if (p, a) in brand)


def _graph_did(world, ws, truth) -> dict:
    panel = _planted_panel(world, ws)
    with ws.writer() as con:
        con.register("_panel", panel.assign(target="Solvane"))
        con.execute("CREATE TABLE account_stance AS SELECT 'test' AS run_id, platform, account_id, target, period, "
                    "stance, n_posts, NULL::DOUBLE AS lower, NULL::DOUBLE AS upper FROM _panel")
        summary = run_opinion(con, "r1", _markers(truth), _intervention(truth))
    print(f"\nstance DiD, graph exposure: {summary['effect']:.3f} [{summary['lower']:.3f}, {summary['upper']:.3f}] "
          f"planted effect {truth['campaign']['stance_effect']}, latent shift {truth['campaign']['stance_shift']} "
          f"({summary['exposed_accounts']} exposed of {summary['exposed_by_graph']} found, "
          f"{summary['control_accounts']} matched controls)")
    return summary


def test_graph_exposure_recovers_the_planted_stance_effect(sim_world) -> None:
    """Acceptance (issue 6, Impact): the DiD on graph-derived exposure recovers the planted effect
    on the stance score it measures, and the interval excludes 0."""
    world, ws, truth = sim_world
    summary = _graph_did(world, ws, truth)
    assert summary["lower"] <= truth["campaign"]["stance_effect"] <= summary["upper"]
    assert summary["lower"] > 0


def test_run_opinion_persists_with_evidence(sim_world) -> None:
    world, ws, truth = sim_world
    panel = _planted_panel(world, ws)
    with ws.writer() as con:
        con.register("_panel", panel.assign(target="Solvane"))
        con.execute("CREATE TABLE account_stance AS SELECT 'test' AS run_id, platform, account_id, target, period, "
                    "stance, n_posts, NULL::DOUBLE AS lower, NULL::DOUBLE AS upper FROM _panel")
        when = datetime.fromisoformat(truth["campaign"]["intervention_date"]).replace(tzinfo=timezone.utc)
        summary = run_opinion(con, "r1", _markers(truth), when)
        exposure = con.execute("SELECT count(*), min(len(evidence_post_ids)) FROM campaign_exposure").fetchall()[0]
        row = con.execute("SELECT effect, lower, upper, exposed_accounts FROM opinion_results").fetchall()[0]
        with pytest.raises(ConfianceError, match="no stance toward 'other'"):
            run_opinion(con, "r2", _markers(truth), when, target="other")
    assert exposure[0] == summary["exposed_by_graph"] > 0 and exposure[1] >= 1
    assert row[0] == pytest.approx(summary["effect"]) and row[1] <= row[0] <= row[2]
    print(f"\ngraph-exposed DiD on planted stance: {row[0]:.3f} [{row[1]:.3f}, {row[2]:.3f}] ({row[3]} exposed)")


def test_bad_stance_tables_are_named() -> None:
    with pytest.raises(ConfianceError, match=r"lacks column\(s\) \['n_posts'\]"):
        stance_did(pd.DataFrame({"platform": [], "account_id": [], "period": [], "stance": []}), [], "2025-01-01")
    with pytest.raises(ConfianceError, match="unknown stance label"):
        account_stance_periods(pd.DataFrame({"platform": ["x"], "account_id": ["1"], "created_at": ["2025-01-01"],
                                             "stance": ["pro"]}))
    with pytest.raises(ConfianceError, match="at least one marker"):
        CampaignMarkers()


def test_owners_are_never_exposed_and_the_campaign_side_is_listed(sim_world) -> None:
    """With the brand named as owner, graph exposure since the intervention is exactly the planted one,
    and the campaign side is the brand (owner) plus the seeds that posted (authors)."""
    _, ws, truth = sim_world
    brand = {(a["platform"], a["account_id"]) for a in truth["accounts"] if a["is_brand"]}
    seeds = {(s["platform"], s["account_id"]) for s in truth["campaign"]["seed_influencers"]}
    c = truth["campaign"]
    markers = CampaignMarkers(hashtags=(c["hashtag"],), url_prefixes=(c["url"],), codes=(c["promo_code"],),
                              owners=tuple(sorted(brand)))
    with ws.reader() as con:
        exposure = campaign_exposure(con, markers, since=_intervention(truth))
        side = campaign_side(con, markers, since=_intervention(truth))
    planted = {(a["platform"], a["account_id"]) for a in truth["campaign"]["exposed_accounts"]}
    assert brand and set(zip(exposure["platform"], exposure["account_id"])) == planted
    roles = dict(zip(zip(side["platform"], side["account_id"]), side["role"]))
    assert {k for k, r in roles.items() if r == "owner"} == brand
    authors = {k for k, r in roles.items() if r == "author"}
    assert authors and authors <= seeds and not authors & brand


def test_graph_did_leaves_the_campaign_side_out_of_both_arms(sim_world) -> None:
    world, ws, truth = sim_world
    brand = tuple(sorted((a["platform"], a["account_id"]) for a in truth["accounts"] if a["is_brand"]))
    c = truth["campaign"]
    markers = CampaignMarkers(hashtags=(c["hashtag"],), url_prefixes=(c["url"],), codes=(c["promo_code"],), owners=brand)
    panel = _planted_panel(world, ws)
    with ws.writer() as con:
        con.register("_panel", panel.assign(target="Solvane"))
        con.execute("CREATE TABLE account_stance AS SELECT 'test' AS run_id, platform, account_id, target, period, "
                    "stance, n_posts, NULL::DOUBLE AS lower, NULL::DOUBLE AS upper FROM _panel")
        summary = run_opinion(con, "r1", markers, _intervention(truth))
        side = set(campaign_side(con, markers, since=_intervention(truth)).itertuples(index=False, name=None))
        arms = set(con.execute("SELECT platform, account_id FROM opinion_matches UNION "
                               "SELECT control_platform, control_account_id FROM opinion_matches").fetchall())
    side = {(p, a) for p, a, _ in side}
    in_panel = side & set(zip(panel["platform"], panel["account_id"]))
    assert in_panel and summary["campaign_accounts_left_out"] == len(in_panel)
    assert not arms & side
    print(f"\nstance DiD without the campaign side ({len(in_panel)} accounts left out): {summary['effect']:.3f} "
          f"[{summary['lower']:.3f}, {summary['upper']:.3f}], planted {truth['campaign']['stance_effect']}")
    assert summary["lower"] <= truth["campaign"]["stance_effect"] <= summary["upper"] and summary["lower"] > 0


def test_cli_opinion_names_owners_and_rejects_bad_references(sim_world) -> None:
    """`opinion` from the command line: the brand named with --owner-account is on neither arm and is
    recorded with the run; a malformed reference is a usage error naming the option."""
    from typer.testing import CliRunner

    from confiance.cli import app

    world, ws, truth = sim_world
    c = truth["campaign"]
    (brand,) = [a for a in truth["accounts"] if a["is_brand"] and a["platform"] == "x"]
    panel = _planted_panel(world, ws)
    with ws.writer() as con:
        con.register("_panel", panel.assign(target="Solvane"))
        con.execute("CREATE TABLE account_stance AS SELECT 'test' AS run_id, platform, account_id, target, period, "
                    "stance, n_posts, NULL::DOUBLE AS lower, NULL::DOUBLE AS upper FROM _panel")
    args = ["--workspace", str(ws.root), "opinion", "--intervention", c["intervention_date"], "--hashtag", c["hashtag"]]
    runner = CliRunner()
    out = runner.invoke(app, args + ["--owner-account", "x-without-colon"])
    assert out.exit_code == 2 and "--owner-account" in out.output
    out = runner.invoke(app, args + ["--owner-account", f"x:{brand['account_id']}", "--json"])
    assert out.exit_code == 0, out.output
    summary = orjson.loads(out.stdout)
    assert summary["campaign_accounts_left_out"] >= 1 and summary["lower"] <= summary["effect"] <= summary["upper"]
    with ws.reader() as con:
        arms = con.execute("SELECT count(*) FROM opinion_matches WHERE ? IN (account_id, control_account_id)",
                           [brand["account_id"]]).fetchall()[0][0]
        params = con.execute("SELECT parameters FROM analysis_runs WHERE step = 'opinion'").fetchall()
    assert arms == 0 and brand["account_id"] in str(params)


def test_a_single_stance_period_says_how_to_get_periods():
    """`confiance stance` without --by week stores one period, 'all': the error says which option to use."""
    panel = pd.DataFrame({"platform": ["x", "x"], "account_id": ["1", "2"], "period": ["all", "all"],
                          "stance": [0.5, -0.2], "n_posts": [3, 2]})
    with pytest.raises(ConfianceError, match=r"'all'.*--by week.*--split-date"):
        stance_did(panel, [("x", "1")], datetime(2025, 3, 31, tzinfo=timezone.utc))


def test_the_periods_confiance_stance_writes_are_read(sim_world) -> None:
    """`confiance stance --by week` writes ISO weeks ('2025-W14') and `--split-date` writes before/after:
    opinion reads both as the same sides as the period start times (the weeks' Mondays) and pre/post."""
    from confiance.text.stance import period_of

    world, ws, truth = sim_world
    panel = _planted_panel(world, ws)
    when = truth["campaign"]["intervention_date"]
    exposed = [(a["platform"], a["account_id"]) for a in truth["campaign"]["exposed_accounts"]]
    by_time = stance_did(panel, exposed, when)
    weeks = panel.assign(period=[period_of(t.to_pydatetime(), split_date=None, by="week") for t in panel["period"]])
    assert weeks["period"].str.fullmatch(r"\d{4}-W\d{2}").all()
    by_week = stance_did(weeks, exposed, when)
    assert (by_week.effect, by_week.exposed_accounts) == (by_time.effect, by_time.exposed_accounts)
    cut = pd.Timestamp(when, tz="UTC")
    named = panel.assign(period=(panel["period"].dt.tz_localize("UTC") >= cut).map({True: "after", False: "before"}))
    assert stance_did(named, exposed).effect == by_time.effect
    unknown = pd.concat([weeks, weeks.head(3).assign(period="unknown")])  # posts without a time
    assert stance_did(unknown, exposed, when).effect == by_week.effect
