"""Audience demographics: supplied reports, estimates from engagers with intervals, and the gazetteer."""

from __future__ import annotations

from collections import defaultdict

import pytest

from confiance.errors import ConfianceError
from confiance.influence.audience import (ENGAGER_KINDS, audience_of, country_of_location, estimated_audiences,
                                          supplied_audiences, wilson_interval)
from confiance.pipeline import analyze
from tests.conftest import copy_workspace, ingest


@pytest.fixture(scope="module")
def world_with_audience(sim_world_base, tmp_path_factory):
    """The shared world with its supplied reports (``audience.csv``) and the audience step run once."""
    import json

    world, base = sim_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("audience") / "ws")
    ingest(ws, world / "audience.csv")
    analyze(ws, ["audience"])
    return world, ws, json.loads((world / "truth.json").read_text())


def test_locations_map_to_countries_in_french_and_english():
    assert country_of_location("Lyon, France") == "FR"
    assert country_of_location("  PARIS ") == "FR"
    assert country_of_location("Genève / Suisse") == "CH"
    assert country_of_location("Londres") == "GB"
    assert country_of_location("Saint-Étienne") == "FR"
    assert country_of_location("somewhere over the rainbow 🇧🇪") == "BE"
    # stylised letters of profiles (mathematical bold, full width) and a no-break space
    assert country_of_location("𝐋𝐲𝐨𝐧, 𝐅𝐑𝐀𝐍𝐂𝐄") == "FR"
    assert country_of_location("ＧＥＮÈＶＥ\u00a0/ Suisse") == "CH"
    assert country_of_location("the moon") is None
    assert country_of_location("") is None and country_of_location(None) is None


def test_wilson_interval_contains_the_share_and_narrows_with_n():
    for k, n in ((0, 10), (3, 10), (10, 10), (30, 100), (300, 1000)):
        lower, upper = wilson_interval(k, n)
        assert 0.0 <= lower <= k / n <= upper <= 1.0
    assert wilson_interval(300, 1000)[1] - wilson_interval(300, 1000)[0] < wilson_interval(3, 10)[1] - wilson_interval(3, 10)[0]
    # Wilson (1927): 0 successes out of 10 gives an upper bound of about 0.278 at 95%
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_profiles_are_flagged_supplied_or_estimated_with_intervals(world_with_audience):
    _, ws, truth = world_with_audience
    with ws.reader() as con:
        columns = [r[0] for r in con.execute("DESCRIBE audience_profiles").fetchall()]
        rows = con.execute("SELECT platform, account_id, dimension, category, share, lower, upper, n, source "
                           "FROM audience_profiles").fetchall()
        reported = {(p, a) for p, a in con.execute("SELECT DISTINCT platform, account_id FROM audience_reports").fetchall()}
    # one row per (influencer, dimension, category): no engager ever appears in the table
    assert columns == ["run_id", "platform", "account_id", "dimension", "category", "share", "lower", "upper", "n",
                       "source", "provider"]
    assert {r[8] for r in rows} == {"supplied", "estimated"}
    assert {(r[0], r[1]) for r in rows if r[8] == "supplied"} == reported
    totals = defaultdict(float)
    for platform, account, dimension, category, share, lower, upper, n, source in rows:
        totals[(platform, account, dimension, source)] += share
        if source == "estimated":
            assert n > 0 and lower <= share <= upper
        else:
            assert n is None and lower is None
    assert all(abs(t - 1.0) < 0.01 for t in totals.values())
    assert {r[2] for r in rows if r[8] == "estimated"} == {"community", "language", "country"}
    # sensitive dimensions are never estimated
    assert not {r[2] for r in rows} & {"side", "politics", "religion", "health", "ethnicity"}


def test_estimated_country_and_language_against_supplied_reports(world_with_audience):
    """Estimated (engagers' declared locations) against supplied (the simulated media kits).

    The simulated reports are each influencer's true audience with reporting noise; the engagers'
    locations are "France" or "London" only (X and Mastodon accounts; Bluesky gives none), so the
    estimate can only find the dominant country. We require it to name the supplied report's dominant
    country for at least 90% of the influencers that have both, and report the mean absolute error
    over the supplied categories (categories the estimate lacks count as 0).
    """
    _, ws, truth = world_with_audience
    with ws.reader() as con:
        keys = [(p, a) for p, a in con.execute("SELECT DISTINCT platform, account_id FROM audience_reports").fetchall()]
        supplied = supplied_audiences(con, keys)
        estimated = estimated_audiences(con, keys)
    languages = {(a["platform"], a["account_id"]): a["language"] for a in truth["accounts"]}
    errors, agree, compared, lang_agree, lang_compared = [], 0, 0, 0, 0
    for key in keys:
        sup = audience_of(supplied.get(key, [])).get("country")
        est = {s.dimension: {s.category: s.share for s in [x for x in estimated.get(key, []) if x.dimension == s.dimension]}
               for s in estimated.get(key, [])}
        if "language" in est:
            lang_compared += 1
            lang_agree += max(est["language"], key=est["language"].get) == languages[key]
        if not sup or "country" not in est:
            continue
        compared += 1
        sup_shares = {c: s.share for c, s in sup.items()}
        agree += max(sup_shares, key=sup_shares.get) == max(est["country"], key=est["country"].get)
        errors += [abs(sup_shares[c] - est["country"].get(c, 0.0)) for c in sup_shares]
    mae = sum(errors) / len(errors)
    print(f"country: {compared} influencers, dominant country agrees for {agree}, MAE {mae:.3f}; "
          f"language: dominant engager language = influencer's language for {lang_agree}/{lang_compared}")
    assert compared >= 20 and agree >= 0.9 * compared
    assert lang_compared >= 40 and lang_agree >= 0.9 * lang_compared
    assert mae < 0.25


def test_community_dimension_is_skipped_without_communities_and_bad_kinds_are_refused(world_with_audience):
    _, ws, _ = world_with_audience
    other = copy_workspace(ws.root, ws.root.parent / "no-communities")
    with other.writer() as con:
        con.execute("DROP TABLE communities")
        keys = [tuple(r) for r in con.execute("SELECT platform, account_id FROM influence_scores ORDER BY rank LIMIT 5").fetchall()]
        shares = estimated_audiences(con, keys)
        assert shares and {s.dimension for v in shares.values() for s in v} == {"language", "country"}
        with pytest.raises(ConfianceError, match="unknown engagement kind.*retweet"):
            estimated_audiences(con, keys, kinds=(*ENGAGER_KINDS, "retweet"))
