"""Harmful-influence profile per account, and audience credibility per influencer.

The profile puts side by side five signals that other steps compute; none of them is a verdict on
its own, and each comes with its evidence:

``bot_amplification_share``
    share of the engagements an account receives (reposts, replies, quotes, likes) that come from
    accounts whose bot score (``bot_scores.score``) is at least ``bot_threshold``. Amplification by
    automated accounts inflates apparent popularity (Shao et al. 2018). Engagements are weighed: an
    interaction counts its ``weight`` (an edge file's row of weight 30 is 30 reposts), one without a
    weight counts 1, as the graph's edges do (``graph/build.py``). ``bot_amplifier_share`` is the
    same share counted in accounts (distinct amplifiers, whatever their weight): an engager who
    reposted 30 times weighs 30 in the first and 1 in the second, so a few busy bots show as a high
    share of engagements over a low share of accounts.
``coordinated_group``
    the coordinated group the account belongs to (``coordination_groups``), with the kinds of
    coordination that tie it (Giglietto et al. 2020; CooRTweet).
``low_credibility_share``
    share of the links the account writes that go to low-credibility domains (``account_sources``,
    step ``sources``).
``polarization_position``
    ``(w1 - w0) / (w0 + w1)`` from the account's interaction weight with the two sides of the
    polarisation split (``account_bridging``): -1 entirely with side 0, +1 entirely with side 1,
    0 balanced; ``polarization_side`` and ``bridging`` are kept beside it. NULL for everyone when the
    polarisation step found its split not meaningful (too small or fragmented a component; the
    evidence gives its reason).
``undisclosed_share``
    share of its commercial posts published without the mandatory label
    (``disclosure_accounts``; French law n° 2023-451).

Audience credibility (per influencer: the ``influencers`` most influential accounts, or those with
the most engagers when no influence scores exist): distinct engagers (reposts, replies, quotes,
likes, mentions) and, when follow edges exist, followers; how many are *suspicious* (bot score ≥
threshold, or member of a coordinated group), their share of the accounts (``suspicious_share``),
and the list. ``interactions`` weighs those engagers' interactions as the profile weighs
engagements, and ``suspicious_interaction_share`` is the suspicious engagers' share of them. Each
listed account's ``interactions`` weighs all those kinds, mentions included; it is not the
profile's ``engagements`` (amplification only), so the two figures of one account can differ.

Every input table is optional: when one is missing the matching columns are NULL and the evidence
says ``"not computed"`` with the step that would compute it, so the step runs on any store.

References
----------
Shao, C., Ciampaglia, G. L., Varol, O., Yang, K.-C., Flammini, A., Menczer, F. (2018). The spread of
low-credibility content by social bots. Nature Communications 9, 4787.
Giglietto, F., Righetti, N., Rossi, L., Marino, G. (2020). It takes a village to manipulate the media:
coordinated link sharing behavior during 2018 and 2019 Italian elections. Information, Communication
& Society 23(6), 867-891.
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson
import pyarrow as pa

from confiance.errors import ConfianceError
from confiance.graph.polarization import polarization_summary
from confiance.i18n import N_
from confiance.pipeline import Step, register_step
from confiance.store import has_table

__all__ = ["AMPLIFICATION_KINDS", "ENGAGER_KINDS", "MISSING_NOTES", "SPLIT_NOTE", "audience_listing", "harm_listing",
           "run_harm"]

#: Engagements received that count as amplification.
AMPLIFICATION_KINDS = ("repost", "reply", "quote", "like")
#: Interactions that make an account an engager of another.
ENGAGER_KINDS = ("repost", "reply", "quote", "like", "mention")
#: What a pair's interactions weigh: the sum of their ``weight`` (1 for an interaction without one), as
#: ``graph_edges`` weighs them.
WEIGHED = "sum(coalesce(i.weight, 1.0))"
#: Bot score from which an engager counts as a bot (a calibrated probability: more likely than not).
BOT_THRESHOLD = 0.5
#: Influencers whose audience is audited, and how many suspicious accounts are listed per influencer.
INFLUENCERS = 500
LISTED = 200
#: Evidence items kept per signal.
EVIDENCE_ITEMS = 5

#: The evidence of a signal whose input table is absent (stored in English, translated where shown).
MISSING_NOTES = {
    "bot_scores": N_("not computed: no bot scores (step bots)"),
    "coordination_groups": N_("not computed: no coordinated groups (step coordination)"),
    "account_sources": N_("not computed: no source analysis (step sources)"),
    "account_bridging": N_("not computed: no polarisation split (step polarization)"),
    "disclosure_accounts": N_("not computed: no disclosure audit (step disclosure)"),
}
#: The evidence of the bridging signal when the polarisation split is not meaningful.
SPLIT_NOTE = N_("not computed: the polarisation split is not meaningful (%(reason)s)")


def _available(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    have = {table: has_table(con, table) for table in MISSING_NOTES}
    # a split of a too small or fragmented component places nobody (graph/polarization.py)
    have["account_bridging"] = have["account_bridging"] and _split_reason(con) is None
    return have


def _split_reason(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why the polarisation step found its split not meaningful, or None."""
    return polarization_summary(con)["reason"] if has_table(con, "polarization") else None


def _missing_split(con: duckdb.DuckDBPyConnection) -> str:
    reason = _split_reason(con)
    return SPLIT_NOTE % {"reason": reason} if reason else MISSING_NOTES["account_bridging"]


def _scratch_tables(con: duckdb.DuckDBPyConnection, have: dict[str, bool], bot_threshold: float) -> None:
    """Temp tables ``_harm_bots`` and ``_harm_groups`` (empty when their source table is absent)."""
    if have["bot_scores"]:
        con.execute("CREATE OR REPLACE TEMP TABLE _harm_bots AS SELECT platform, account_id, CAST(max(score) AS DOUBLE) AS score "
                    "FROM bot_scores GROUP BY ALL HAVING max(score) >= ?", [bot_threshold])
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _harm_bots (platform VARCHAR, account_id VARCHAR, score DOUBLE)")
    if have["coordination_groups"]:
        con.execute("CREATE OR REPLACE TEMP TABLE _harm_groups AS SELECT platform, account_id, "
                    "min(CAST(group_id AS VARCHAR)) AS group_id, list_distinct(flatten(list(kinds))) AS kinds "
                    "FROM coordination_groups GROUP BY ALL")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _harm_groups (platform VARCHAR, account_id VARCHAR, group_id VARCHAR, "
                    "kinds VARCHAR[])")


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("_harm_bots", "_harm_groups", "_harm_received"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


def _write_profiles(con: duckdb.DuckDBPyConnection, run_id: str, have: dict[str, bool],
                    bot_threshold: float) -> int:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _harm_received AS "
        f"SELECT i.platform, i.dst AS account_id, i.src, {WEIGHED} AS n FROM interactions i "
        "WHERE i.kind IN (SELECT unnest(?)) AND i.src <> i.dst AND i.src <> '' AND i.dst <> '' GROUP BY ALL",
        [list(AMPLIFICATION_KINDS)],
    )
    sources = ("SELECT platform, account_id, low_credibility_share, low_credibility_links, links, "
               "low_credibility_domains, evidence AS low_posts FROM account_sources") if have["account_sources"] else (
        "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::DOUBLE AS low_credibility_share, "
        "NULL::BIGINT AS low_credibility_links, NULL::BIGINT AS links, NULL::VARCHAR[] AS low_credibility_domains, "
        "NULL::VARCHAR[] AS low_posts WHERE false")
    bridging = ("SELECT platform, account_id, CAST(side AS TINYINT) AS side, CAST(bridging AS DOUBLE) AS bridging, "
                "CAST(exposure_side0 AS DOUBLE) AS exposure_side0, CAST(exposure_side1 AS DOUBLE) AS exposure_side1 "
                "FROM account_bridging"
                if have["account_bridging"] else
                "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::TINYINT AS side, NULL::DOUBLE AS "
                "bridging, NULL::DOUBLE AS exposure_side0, NULL::DOUBLE AS exposure_side1 WHERE false")
    disclosure = ("SELECT platform, account_id, CAST(commercial_posts AS BIGINT) AS commercial_posts, "
                  "CAST(undisclosed_posts AS BIGINT) AS undisclosed_posts, CAST(undisclosed_share AS DOUBLE) AS "
                  "undisclosed_share, CAST(paid_share AS DOUBLE) AS paid_share FROM disclosure_accounts" if have["disclosure_accounts"] else
                  "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::BIGINT AS commercial_posts, "
                  "NULL::BIGINT AS undisclosed_posts, NULL::DOUBLE AS undisclosed_share, NULL::DOUBLE AS paid_share WHERE false")
    bots_known = have["bot_scores"]
    missing_split = _missing_split(con)
    groups_known = have["coordination_groups"]
    rows = con.execute(
        f"WITH src AS ({sources}), bri AS ({bridging}), dis AS ({disclosure}),"
        " acc AS (SELECT platform, account_id, first(handle ORDER BY last_seen DESC NULLS LAST) AS handle FROM accounts"
        "  GROUP BY ALL),"
        " received AS (SELECT platform, account_id, sum(n) AS engagements, count(*) AS amplifiers FROM _harm_received"
        "  GROUP BY ALL),"
        " from_bots AS ("
        "  SELECT r.platform, r.account_id, sum(r.n) AS bot_engagements, count(*) AS bot_amplifiers,"
        "   list({'account_id': r.src, 'bot_score': b.score, 'engagements': r.n} ORDER BY r.n DESC, r.src)[1:?] AS top"
        "  FROM _harm_received r JOIN _harm_bots b ON b.platform = r.platform AND b.account_id = r.src GROUP BY ALL),"
        " mates AS ("
        "  SELECT g.platform, g.group_id, count(*) AS size, list(g.account_id ORDER BY g.account_id)[1:?] AS members"
        "  FROM _harm_groups g GROUP BY ALL) "
        "SELECT a.platform, a.account_id, a.handle, coalesce(rc.engagements, 0) AS engagements,"
        f" CASE WHEN {bots_known} THEN coalesce(fb.bot_engagements, 0) END AS bot_engagements,"
        f" CASE WHEN {bots_known} AND coalesce(rc.engagements, 0) > 0"
        "  THEN coalesce(fb.bot_engagements, 0) / rc.engagements END AS bot_amplification_share,"
        " coalesce(rc.amplifiers, 0) AS amplifiers,"
        f" CASE WHEN {bots_known} THEN coalesce(fb.bot_amplifiers, 0) END AS bot_amplifiers,"
        f" CASE WHEN {bots_known} AND rc.amplifiers > 0"
        "  THEN coalesce(fb.bot_amplifiers, 0) / rc.amplifiers END AS bot_amplifier_share,"
        " g.group_id AS coordinated_group, g.kinds AS coordination_kinds,"
        " s.low_credibility_share, s.low_credibility_links,"
        " b.side AS polarization_side,"
        " CASE WHEN b.exposure_side0 + b.exposure_side1 > 0"
        "  THEN (b.exposure_side1 - b.exposure_side0) / (b.exposure_side0 + b.exposure_side1) END AS polarization_position,"
        " b.bridging, d.undisclosed_share, d.undisclosed_posts,"
        " fb.top AS bot_top, m.size AS group_size, m.members AS group_members, s.links, s.low_credibility_domains,"
        " s.low_posts, b.exposure_side0, b.exposure_side1, d.commercial_posts, d.paid_share "
        "FROM acc a LEFT JOIN received rc USING (platform, account_id) LEFT JOIN from_bots fb USING (platform, account_id)"
        " LEFT JOIN _harm_groups g USING (platform, account_id) LEFT JOIN mates m ON m.platform = g.platform"
        "  AND m.group_id = g.group_id"
        " LEFT JOIN src s USING (platform, account_id) LEFT JOIN bri b USING (platform, account_id)"
        " LEFT JOIN dis d USING (platform, account_id) ORDER BY a.platform, a.account_id",
        [EVIDENCE_ITEMS, EVIDENCE_ITEMS],
    ).fetchall()
    columns = ("platform", "account_id", "handle", "engagements", "bot_engagements", "bot_amplification_share",
               "amplifiers", "bot_amplifiers", "bot_amplifier_share", "coordinated_group", "coordination_kinds", "low_credibility_share", "low_credibility_links",
               "polarization_side", "polarization_position", "bridging", "undisclosed_share", "undisclosed_posts")
    out = []
    for row in rows:
        r = dict(zip(columns + ("bot_top", "group_size", "group_members", "links", "low_domains", "low_posts",
                                "w0", "w1", "commercial_posts", "paid_share"), row))
        evidence = {
            "bot_amplification": ({"threshold": bot_threshold, "engagements": r["engagements"],
                                   "from_bots": r["bot_engagements"], "amplifiers": r["amplifiers"],
                                   "bot_amplifiers": r["bot_amplifiers"], "top_bot_engagers": r["bot_top"] or []}
                                  if bots_known else MISSING_NOTES["bot_scores"]),
            "coordination": ({"group": r["coordinated_group"], "kinds": r["coordination_kinds"] or [],
                              "group_size": r["group_size"], "members": r["group_members"] or []}
                             if groups_known else MISSING_NOTES["coordination_groups"]),
            "low_credibility": ({"links": r["links"] or 0, "low_credibility_links": r["low_credibility_links"] or 0,
                                 "domains": r["low_domains"] or [], "posts": (r["low_posts"] or [])[:EVIDENCE_ITEMS]}
                                if have["account_sources"] else MISSING_NOTES["account_sources"]),
            "polarization": ({"side": r["polarization_side"], "exposure_side0": r["w0"], "exposure_side1": r["w1"]}
                             if have["account_bridging"] else missing_split),
            "disclosure": ({"commercial_posts": r["commercial_posts"], "undisclosed_posts": r["undisclosed_posts"],
                            "paid_share": r["paid_share"]}
                           if have["disclosure_accounts"] else MISSING_NOTES["disclosure_accounts"]),
        }
        out.append([r[c] for c in columns] + [orjson.dumps(evidence, default=str).decode()])
    schema = pa.schema([("platform", pa.string()), ("account_id", pa.string()), ("handle", pa.string()),
                        ("engagements", pa.float64()), ("bot_engagements", pa.float64()),
                        ("bot_amplification_share", pa.float64()), ("amplifiers", pa.int64()),
                        ("bot_amplifiers", pa.int64()), ("bot_amplifier_share", pa.float64()),
                        ("coordinated_group", pa.string()),
                        ("coordination_kinds", pa.list_(pa.string())), ("low_credibility_share", pa.float64()),
                        ("low_credibility_links", pa.int64()), ("polarization_side", pa.int8()),
                        ("polarization_position", pa.float64()), ("bridging", pa.float64()),
                        ("undisclosed_share", pa.float64()), ("undisclosed_posts", pa.int64()), ("evidence", pa.string())])
    con.register("_harm_profiles", pa.table({name: [r[i] for r in out] for i, name in enumerate(schema.names)},
                                            schema=schema))
    try:
        con.execute("CREATE OR REPLACE TABLE harm_profiles AS SELECT ? AS run_id, * REPLACE (CAST(evidence AS JSON) "
                    "AS evidence) FROM _harm_profiles ORDER BY platform, account_id", [run_id])
    finally:
        con.unregister("_harm_profiles")
    return len(out)


def _write_audience(con: duckdb.DuckDBPyConnection, run_id: str, have: dict[str, bool], influencers: int,
                    listed: int) -> int:
    ranked = ("SELECT platform, account_id FROM influence_scores ORDER BY rank LIMIT ?"
              if has_table(con, "influence_scores") else
              "SELECT platform, dst AS account_id FROM interactions WHERE kind IN (SELECT unnest(?)) AND src <> dst "
              "GROUP BY ALL ORDER BY count(DISTINCT src) DESC, platform, account_id LIMIT ?")
    ranked_params: list[Any] = [influencers] if "influence_scores" in ranked else [list(ENGAGER_KINDS), influencers]
    known = have["bot_scores"] or have["coordination_groups"]
    con.execute(
        "CREATE OR REPLACE TABLE audience_credibility AS "
        f"WITH chosen AS ({ranked}),"
        " engagers AS ("
        f"  SELECT i.platform, i.dst AS account_id, i.src, {WEIGHED} AS n FROM interactions i"
        "  SEMI JOIN chosen c ON c.platform = i.platform AND c.account_id = i.dst"
        "  WHERE i.kind IN (SELECT unnest(?)) AND i.src <> i.dst AND i.src <> '' GROUP BY ALL),"
        " followers AS ("
        "  SELECT DISTINCT i.platform, i.dst AS account_id, i.src FROM interactions i"
        "  SEMI JOIN chosen c ON c.platform = i.platform AND c.account_id = i.dst WHERE i.kind = 'follow' AND i.src <> i.dst),"
        " flagged AS ("
        "  SELECT e.platform, e.account_id, e.src, e.n, b.score AS bot_score, g.group_id FROM engagers e"
        "  LEFT JOIN _harm_bots b ON b.platform = e.platform AND b.account_id = e.src"
        "  LEFT JOIN _harm_groups g ON g.platform = e.platform AND g.account_id = e.src),"
        " handles AS (SELECT platform, account_id, first(handle ORDER BY last_seen DESC NULLS LAST) AS handle FROM accounts"
        "  GROUP BY ALL),"
        " per_engagers AS ("
        "  SELECT f.platform, f.account_id, count(*) AS engagers,"
        "   count(*) FILTER (WHERE f.bot_score IS NOT NULL OR f.group_id IS NOT NULL) AS suspicious_engagers,"
        "   count(*) FILTER (WHERE f.bot_score IS NOT NULL) AS bot_engagers,"
        "   count(*) FILTER (WHERE f.group_id IS NOT NULL) AS coordinated_engagers,"
        "   sum(f.n) AS interactions,"
        "   coalesce(sum(f.n) FILTER (WHERE f.bot_score IS NOT NULL OR f.group_id IS NOT NULL), 0)"
        "    AS suspicious_interactions,"
        "   list({'account_id': f.src, 'handle': h.handle, 'bot_score': f.bot_score, 'coordinated_group': f.group_id,"
        "         'interactions': f.n} ORDER BY f.bot_score DESC NULLS LAST, f.n DESC, f.src)"
        "    FILTER (WHERE f.bot_score IS NOT NULL OR f.group_id IS NOT NULL) AS suspicious"
        "  FROM flagged f LEFT JOIN handles h ON h.platform = f.platform AND h.account_id = f.src GROUP BY ALL),"
        " per_followers AS ("
        "  SELECT f.platform, f.account_id, count(*) AS followers_observed,"
        "   count(*) FILTER (WHERE b.account_id IS NOT NULL OR g.account_id IS NOT NULL) AS suspicious_followers"
        "  FROM followers f LEFT JOIN _harm_bots b ON b.platform = f.platform AND b.account_id = f.src"
        "  LEFT JOIN _harm_groups g ON g.platform = f.platform AND g.account_id = f.src GROUP BY ALL) "
        "SELECT ? AS run_id, c.platform, c.account_id, h.handle, coalesce(e.engagers, 0) AS engagers,"
        f" CASE WHEN {known} THEN coalesce(e.suspicious_engagers, 0) END AS suspicious_engagers,"
        f" CASE WHEN {known} AND e.engagers > 0 THEN coalesce(e.suspicious_engagers, 0) / e.engagers END AS suspicious_share,"
        f" CASE WHEN {have['bot_scores']} THEN coalesce(e.bot_engagers, 0) END AS bot_engagers,"
        f" CASE WHEN {have['coordination_groups']} THEN coalesce(e.coordinated_engagers, 0) END AS coordinated_engagers,"
        " coalesce(e.interactions, 0) AS interactions,"
        f" CASE WHEN {known} AND e.interactions > 0 THEN e.suspicious_interactions / e.interactions END"
        "  AS suspicious_interaction_share,"
        " coalesce(fo.followers_observed, 0) AS followers_observed,"
        f" CASE WHEN {known} AND fo.followers_observed > 0 THEN fo.suspicious_followers END AS suspicious_followers,"
        f" CASE WHEN {known} AND fo.followers_observed > 0 THEN fo.suspicious_followers / fo.followers_observed END"
        "  AS suspicious_follower_share,"
        " coalesce(e.suspicious, [])[1:?] AS suspicious_accounts,"
        " greatest(len(coalesce(e.suspicious, [])) - ?, 0) AS suspicious_not_listed,"
        " CAST(? AS VARCHAR) AS status "
        "FROM chosen c LEFT JOIN per_engagers e USING (platform, account_id) LEFT JOIN per_followers fo"
        " USING (platform, account_id) LEFT JOIN handles h USING (platform, account_id) "
        "ORDER BY suspicious_share DESC NULLS LAST, engagers DESC, c.platform, c.account_id",
        ranked_params + [list(ENGAGER_KINDS), run_id, listed, listed,
                         _audience_status(have)],
    )
    return con.execute("SELECT count(*) FROM audience_credibility").fetchall()[0][0]


def _audience_status(have: dict[str, bool]) -> str:
    if have["bot_scores"] and have["coordination_groups"]:
        return "computed"
    if have["bot_scores"]:
        return "computed from bot scores only: no coordinated groups (step coordination)"
    if have["coordination_groups"]:
        return "computed from coordinated groups only: no bot scores (step bots)"
    return "not computed: no bot scores or coordinated groups (steps bots, coordination)"


def run_harm(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    bot_threshold: float = BOT_THRESHOLD,
    influencers: int = INFLUENCERS,
    listed: int = LISTED,
) -> dict[str, Any]:
    """Write ``harm_profiles`` (one row per account) and ``audience_credibility`` (one per influencer).

    ``harm_profiles``: run_id, platform, account_id, handle, engagements, bot_engagements,
    bot_amplification_share, amplifiers, bot_amplifiers, bot_amplifier_share, coordinated_group, coordination_kinds, low_credibility_share,
    low_credibility_links, polarization_side, polarization_position, bridging, undisclosed_share,
    undisclosed_posts, evidence (JSON per signal, or ``"not computed: …"``).

    ``audience_credibility``: run_id, platform, account_id, handle, engagers, suspicious_engagers,
    suspicious_share, bot_engagers, coordinated_engagers, interactions, suspicious_interaction_share,
    followers_observed, suspicious_followers, suspicious_follower_share, suspicious_accounts (list of
    ``{account_id, handle, bot_score, coordinated_group, interactions}``, at most ``listed``),
    suspicious_not_listed, status.

    Parameters
    ----------
    con : a writable store connection.
    run_id : the analysis run the rows belong to.
    bot_threshold : bot score from which an account counts as a bot (0.5: more likely than not).
    influencers : how many accounts get an audience audit (best influence rank first).
    listed : suspicious accounts listed per influencer.

    Returns
    -------
    dict: ``profiles``, ``audiences`` and ``inputs`` (which input tables were present).
    """
    if not 0.0 <= bot_threshold <= 1.0:
        raise ConfianceError(f"bot_threshold must be in [0, 1], got {bot_threshold}")
    if influencers < 1 or listed < 0:
        raise ConfianceError("influencers must be at least 1 and listed at least 0")
    have = _available(con)
    try:
        _scratch_tables(con, have, bot_threshold)
        profiles = _write_profiles(con, run_id, have, bot_threshold)
        audiences = _write_audience(con, run_id, have, influencers, listed)
    finally:
        _drop_scratch(con)
    return {"profiles": profiles, "audiences": audiences, "inputs": have}


# --------------------------------------------------------------------------- listing


def harm_listing(con: duckdb.DuckDBPyConnection, *, top: int = 20) -> list[dict[str, Any]]:
    """Profiles of the ``top`` most influential accounts (or most engaged), with their audience audit."""
    if not has_table(con, "harm_profiles"):
        raise ConfianceError("no harmful-influence profiles yet: run `confiance analyze`")
    order = ("LEFT JOIN influence_scores i USING (platform, account_id) ORDER BY i.rank NULLS LAST, h.engagements DESC"
             if has_table(con, "influence_scores") else "ORDER BY h.engagements DESC")
    cursor = con.execute(
        "SELECT h.platform, h.account_id, h.handle, h.engagements, h.bot_amplification_share, h.bot_amplifier_share,"
        " h.coordinated_group, h.low_credibility_share, h.polarization_position, h.undisclosed_share, a.engagers,"
        " a.suspicious_share, a.suspicious_interaction_share, a.suspicious_follower_share, h.evidence,"
        " a.suspicious_accounts "
        "FROM harm_profiles h LEFT JOIN audience_credibility a USING (platform, account_id) "
        f"{order}, h.platform, h.account_id LIMIT ?", [top])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    for row in rows:
        row["evidence"] = orjson.loads(row["evidence"])
    return rows


def audience_listing(con: duckdb.DuckDBPyConnection, platform: str, account_id: str) -> dict[str, Any] | None:
    """The audience audit of one influencer (None when it was not audited)."""
    if not has_table(con, "audience_credibility"):
        return None
    cursor = con.execute("SELECT * EXCLUDE (run_id) FROM audience_credibility WHERE platform = ? AND account_id = ?",
                         [platform, account_id])
    names = [d[0] for d in cursor.description]
    row = next(iter(cursor.fetchall()), None)
    return dict(zip(names, row)) if row else None


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_harm(con, run_id)


register_step(Step(
    "harm", _step, after=("sources", "polarization", "influence", "bots", "disclosure", "coordination"),
    description="harmful-influence profile per account and audience credibility per influencer (reads optional inputs)",
    parameters={"bot_threshold": BOT_THRESHOLD, "influencers": INFLUENCERS, "listed": LISTED,
                "amplification_kinds": list(AMPLIFICATION_KINDS), "engager_kinds": list(ENGAGER_KINDS)},
))
