"""QA wording and display defects in the report: counts agree with their noun, a polarisation split that
is not meaningful shows its reason (no empty sides), trends say when the corpus is too short for a baseline,
a survey without segments does not repeat "all" as "unknown", DIDs get no "@", unknown follower reach stays
unknown."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import orjson

from confiance.integrity.sources import run_sources
from confiance.pipeline import analyze
from confiance.report import build_report
from confiance.wording import account_name, counted, plural
from tests.conftest import ingest

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def _section(html: str, key: str) -> str:
    start = html.index(f'id="{key}"')
    return " ".join(html[start:html.index("</section>", start)].split())  # one line: templates wrap sentences


def test_counts_agree_with_their_noun():
    assert counted(1, "community") == "1 community"
    assert counted(0, "community") == "0 communities"
    assert counted(1_234, "account") == "1,234 accounts"
    assert counted(1, "retry") == "1 retry" and counted(2, "retry") == "2 retries"
    assert counted(2, "link share") == "2 link shares" and plural("box") == "boxes"
    assert counted(1, "is a single account", "are single accounts") == "1 is a single account"


def test_one_community_over_two_accounts_reads_in_the_singular(workspace, tmp_path):
    f = tmp_path / "edges.csv"
    f.write_text("source,target,kind\nx1,x2,mention\nx2,x1,reply\n")
    ingest(workspace, f, format_name="edges-csv")
    analyze(workspace, only=["communities"])
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "communities")
    assert "1 community over 2 accounts" in html and "communities over" not in html


def _polarization(ws, reason: str | None, sides: list[dict]) -> None:
    with ws.writer() as con:
        con.execute("CREATE TABLE polarization AS SELECT 'r' AS run_id, ?::DOUBLE AS rwc, ?::DOUBLE AS modularity, "
                    "?::DOUBLE AS ei_index, 10 AS k, 0::BIGINT AS nodes, 0::BIGINT AS accounts_with_edges, "
                    "?::VARCHAR AS reason, CAST(? AS JSON) AS sides",
                    [None if reason else 0.4, None if reason else 0.3, None if reason else -0.5, reason,
                     orjson.dumps(sides).decode()])


def test_polarisation_without_a_split_shows_the_reason_not_empty_sides(workspace, tmp_path):
    _polarization(workspace, "the account graph has no interactions",
                  [{"side": 0, "size": 0, "top_accounts": []}, {"side": 1, "size": 0, "top_accounts": []}])
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "polarization")
    assert "the account graph has no interactions" in html
    assert "<h3>Sides</h3>" not in html and "The sides below" not in html


def test_a_did_is_shown_without_at(workspace, tmp_path):
    assert account_name(DID) == DID and account_name("alice.bsky.social") == "@alice.bsky.social"
    assert account_name(None, "123") == "123"
    # the sides list their leading accounts by handle, else by id (a DID for a Bluesky account without one)
    _polarization(workspace, None, [{"side": 0, "size": 1, "top_accounts": [DID]},
                                    {"side": 1, "size": 1, "top_accounts": ["bob.bsky.social"]}])
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "polarization")
    assert DID in html and "@did:" not in html and "@bob.bsky.social" in html


def _posts(ws, days: int) -> None:
    start = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    with ws.writer() as con:
        con.executemany("INSERT INTO posts (platform, post_id, account_id, created_at, kind, hashtags) "
                        "VALUES ('x', ?, 'a', ?, 'post', ['climat'])",
                        [[f"p{i}", start + timedelta(days=i % days)] for i in range(30)])
        con.execute("CREATE TABLE trend_bursts (series_kind VARCHAR, series VARCHAR, day DATE, count BIGINT, "
                    "expected DOUBLE, score DOUBLE, method VARCHAR, run_id VARCHAR)")


def test_trends_on_a_few_days_say_that_bursts_need_a_baseline(workspace, tmp_path):
    from confiance.text.trends import MIN_HISTORY

    _posts(workspace, 3)
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "trends")
    assert "No burst can be detected yet" in html
    assert f"at least {MIN_HISTORY} earlier days" in html and "span 3 days" in html
    assert "0 bursting days" in html


def test_trends_over_a_long_corpus_do_not_warn(workspace, tmp_path):
    from confiance.text.trends import MIN_HISTORY

    _posts(workspace, MIN_HISTORY + 1)
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "trends")
    assert "No burst can be detected yet" not in html


def test_a_survey_without_segments_lists_only_all(workspace, tmp_path):
    f = tmp_path / "survey.csv"
    rows = [f"w{w},r{r},aware,{'yes' if (r + w) % 3 else 'no'}" for w in (1, 2) for r in range(30)]
    f.write_text("wave,respondent,question,answer\n" + "\n".join(rows) + "\n")
    ingest(workspace, f)
    analyze(workspace, only=["surveys"])
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "surveys")
    assert "<td>all</td>" in html and "unknown" not in html


def _shares(ws, followers: dict[str, int | None]) -> None:
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    with ws.writer() as con:
        con.executemany("INSERT INTO accounts (platform, account_id, handle, followers) VALUES ('bluesky', ?, ?, ?)",
                        [[a, f"{a}.bsky.social", n] for a, n in followers.items()])
        con.executemany("INSERT INTO posts (platform, post_id, account_id, created_at, kind, urls, domains) "
                        "VALUES ('bluesky', ?, ?, ?, 'post', [?], ['example.org'])",
                        [[f"at://{a}/p", a, at, f"https://example.org/{a if n is None else 'known'}"]
                         for a, n in followers.items()])
        run_sources(con, "s")


def test_unknown_follower_reach_stays_unknown_and_a_known_zero_stays_zero(workspace, tmp_path):
    _shares(workspace, {"ghost": None, "zero": 0, "ten": 10})
    with workspace.reader() as con:
        reach = dict(con.execute("SELECT url, followers_reach FROM url_cascades").fetchall())
    assert reach == {"https://example.org/ghost": None, "https://example.org/known": 10}
    html = _section(build_report(workspace, tmp_path / "r.html").read_text(), "source-credibility")
    ghost = html[html.index("example.org/ghost"):]
    assert '<td class="n">–</td>' in ghost[:ghost.index("</tr>")]


def test_a_known_zero_reach_stays_zero(workspace):
    _shares(workspace, {"zero": 0})
    with workspace.reader() as con:
        assert con.execute("SELECT followers_reach FROM url_cascades").fetchall() == [(0,)]


def test_the_sources_section_names_what_each_table_holds(workspace, tmp_path):
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "sources")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "sources")
    assert "<td>ingested files</td>" in english and "<td>audience report rows</td>" in english
    assert "<td>fichiers importés</td>" in french and "<td>relevés de métriques</td>" in french
    assert not re.search(r"<td>(sources|rejects|kpis|audience_reports|observations)</td>", english + french)


def test_a_bot_probability_never_reads_as_a_certainty(workspace, tmp_path):
    """A calibrated 0.9997 was printed "1.000" in the report and the dashboard: a certainty the model never gives."""
    from fastapi.testclient import TestClient

    from confiance import i18n
    from confiance.web.app import Settings, create_app

    evidence = orjson.dumps([{"feature": "hashtags_per_post", "value": 10.0, "contribution": 3.5}]).decode()
    with workspace.writer() as con:
        con.execute("INSERT INTO accounts (platform, account_id, handle) VALUES ('x', '1', 'spammy'), ('x', '2', 'calm')")
        con.execute("CREATE TABLE bot_scores AS SELECT 'b' AS run_id, 'x' AS platform, * FROM (VALUES "
                    "('1', 0.99971::DOUBLE, true, CAST(? AS JSON)), ('2', 0.0002::DOUBLE, false, CAST('[]' AS JSON))) "
                    "t(account_id, score, label, evidence)", [evidence])
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "bots")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "bots")
    # (_section joins on whitespace, the no-break space included)
    assert '<td class="n">&gt; 0.999</td>' in english and '<td class="n">&gt; 0,999</td>' in french
    assert ">1.000<" not in english and ">1,000<" not in french
    page = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot())), base_url="http://127.0.0.1:8765")
    cells = page.get("/tables/bots").text
    assert "&gt;\u00a00.999" in cells and "&lt;\u00a00.001" in cells and "1.000" not in cells
    with i18n.using("fr"):
        assert [i18n.probability(p) for p in (1.0, 0.9994, 0.5, 0.0004, 0.0)] == [
            ">\u00a00,999", "0,999", "0,500", "<\u00a00,001", "<\u00a00,001"]


def test_the_english_report_is_titled_in_english(workspace, tmp_path):
    english = build_report(workspace, tmp_path / "r.html").read_text()
    french = build_report(workspace, tmp_path / "f.html", language="fr").read_text()
    assert "<h1>confiance — report</h1>" in english and "rapport" not in english.split("</header>")[0]
    assert "<h1>confiance — rapport</h1>" in french


def test_languages_are_named_not_coded(workspace, tmp_path):
    """The volume legend listed "en", "nl" and "und": codes the reader has to decode."""
    day = datetime(2025, 3, 1, tzinfo=timezone.utc)
    posts = [{"id": str(i), "author_id": "1", "text": f"post {i}", "lang": lang, "created_at": (day + timedelta(hours=i)).isoformat()}
             for i, lang in enumerate(["en", "en", "nl", "und", "fr"])]
    source = tmp_path / "posts.jsonl"
    source.write_bytes(b"\n".join(orjson.dumps(p) for p in posts) + b"\n")
    ingest(workspace, source, format_name="twitter-v2")
    analyze(workspace, only=["overview"])
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "volume")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "volume")
    legend = r'<rect width="10" height="10" fill="#[0-9a-f]{6}"/></svg> ([^<]+)</span>'
    assert {"English", "Dutch", "undetermined", "French"} <= set(re.findall(legend, english))
    assert {"anglais", "néerlandais", "indéterminée", "français"} <= set(re.findall(legend, french))


def test_bot_flags_read_yes_or_no_and_counts_whole(workspace, tmp_path):
    """"default avatar = 0.00", "bio length = 81.00": a flag and a count written as rates."""
    evidence = orjson.dumps([{"feature": "hashtags_per_post", "value": 4.0, "contribution": 1.3},
                             {"feature": "default_avatar", "value": 1.0, "contribution": 0},
                             {"feature": "bio_length", "value": 81.0, "contribution": 0}]).decode()
    with workspace.writer() as con:
        con.execute("CREATE TABLE bot_scores AS SELECT 'b' AS run_id, 'x' AS platform, '1' AS account_id, "
                    "0.8::DOUBLE AS score, true AS label, CAST(? AS JSON) AS evidence", [evidence])
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "bots")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "bots")
    assert "default avatar = yes; bio length = 81" in english and "hashtags per post = 4.000" in english
    assert "photo de profil par défaut = oui" in french and "longueur de la bio = 81<" in french


def test_attribution_names_a_promo_code_in_words_and_marks_a_code_without_kpi(workspace, tmp_path):
    """"promo_code" was shown as stored, and a key that no KPI series is named after left its cell blank."""
    with workspace.writer() as con:
        con.execute("CREATE TABLE impact_results (series VARCHAR, model VARCHAR, intervention_index INTEGER)")
        con.execute("CREATE TABLE attribution AS SELECT * FROM (VALUES "
                    "('promo_code', 'SOLVANE20', 17, 6, 114, CAST('{\"sales\": 42}' AS JSON)), "
                    "('utm_source', 'influence', 30, 9, 722, NULL::JSON)) t(kind, key, posts, accounts, engagements, kpi_totals)")
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "impact")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "impact")
    assert "<td>promo code</td><td>SOLVANE20</td>" in english and "<td>code promo</td><td>SOLVANE20</td>" in french
    assert "<td>utm_source</td><td>influence</td>" in english and "promo_code" not in english + french
    assert "<td>sales 42</td>" in english and "<td>–</td>" in english and "<td></td>" not in english


def test_plan_cells_without_followers_or_fit_say_so(workspace, tmp_path):
    """A Bluesky pick (no follower count) and a pick outside the fit shortlist left their cells blank."""
    summary = orjson.dumps({"expected_reach": {"mean": 12.0, "lower": 10.0, "upper": 14.0}, "segments": {}}).decode()
    with workspace.writer() as con:
        con.execute("CREATE TABLE plan_results AS SELECT * FROM (VALUES "
                    "(1, 'bluesky', 'did:plc:a', 'a.bsky.social', NULL::BIGINT, 100.0::DOUBLE, 5.0::DOUBLE, 0.6::DOUBLE, 0.37::DOUBLE, ?, 'p'), "
                    "(2, 'x', '2', 'bee', 387::BIGINT, 100.0::DOUBLE, 3.0::DOUBLE, 0.4::DOUBLE, NULL::DOUBLE, ?, 'p')) "
                    "t(rank, platform, account_id, handle, followers, cost, marginal_gain, marginal_share, fit, summary, run_id)",
                    [summary, summary])
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "plan")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "plan")
    picks, choix = english[english.index("<h3>Accounts in the plan"):], french[french.index("<h3>Comptes du plan"):]
    assert '<td class="n"></td>' not in picks + choix and picks.count('<td class="n">–</td>') == 2
    assert "“–”: no follower count in the data, or no brand-fit score" in picks
    assert "« – » : pas de nombre d'abonnés dans les données, ou pas de score" in choix


def test_impact_charts_name_what_each_axis_shows(workspace, tmp_path):
    """The impact charts had no axis titles: a reader could not tell what a point was nor what it measured."""
    with workspace.writer() as con:
        con.execute("CREATE TABLE impact_results AS SELECT 'site_visits' AS series, ['search']::VARCHAR[] AS controls, "
                    "NULL::VARCHAR AS model, 6 AS intervention_index, '2025-01-07' AS intervention, "
                    + ", ".join(f"1.0::DOUBLE AS {c}" for c in (
                        "average_actual", "average_predicted", "average_effect", "average_lower", "average_upper",
                        "cumulative_actual", "cumulative_predicted", "cumulative_effect", "cumulative_lower",
                        "cumulative_upper", "relative_effect", "relative_lower", "relative_upper", "p")))
        con.execute("CREATE TABLE impact_points AS SELECT 'site_visits' AS series, i AS idx, "
                    "strftime(DATE '2025-01-01' + CAST(i AS INTEGER), '%Y-%m-%d') AS ts, 10.0::DOUBLE + i AS actual, "
                    "10.0::DOUBLE AS predicted, "
                    "9.0::DOUBLE AS predicted_lower, 11.0::DOUBLE AS predicted_upper, i::DOUBLE AS cumulative_effect, "
                    "i - 1.0::DOUBLE AS cumulative_lower, i + 1.0::DOUBLE AS cumulative_upper FROM range(12) t(i)")
    english = _section(build_report(workspace, tmp_path / "r.html").read_text(), "impact")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "impact")
    titles = re.findall(r'<text [^>]*class="axis-title">([^<]*)</text>', english)
    assert titles == ["site_visits (in the KPI&#39;s unit)", "date of the KPI value",
                      "cumulative effect on site_visits (in the KPI&#39;s unit)", "date of the KPI value"], titles
    titres = re.findall(r'<text [^>]*class="axis-title">([^<]*)</text>', french)
    assert titres == ["site_visits (dans l&#39;unité du KPI)", "date de la valeur du KPI",
                      "effet cumulé sur site_visits (dans l&#39;unité du KPI)", "date de la valeur du KPI"], titres


def test_the_plans_costs_say_their_unit(workspace, tmp_path):
    """"total cost 4,700": in which currency? The brief's, when it names one; "cost units" otherwise."""
    def plan_section(currency, language="en"):
        summary = orjson.dumps({"expected_reach": {"mean": 12.0, "lower": 10.0, "upper": 14.0}, "segments": {},
                                "parameters": {"budget": 5000.0, "currency": currency},
                                "diagnostics": {"total_cost": 4700.0}}).decode()
        with workspace.writer() as con:
            con.execute("CREATE OR REPLACE TABLE plan_results AS SELECT 1 AS rank, 'x' AS platform, '2' AS account_id, "
                        "'bee' AS handle, 387::BIGINT AS followers, 4700.0::DOUBLE AS cost, 3.0::DOUBLE AS marginal_gain, "
                        "1.0::DOUBLE AS marginal_share, NULL::DOUBLE AS fit, ? AS summary, 'p' AS run_id", [summary])
        page = build_report(workspace, tmp_path / f"{currency}-{language}.html", language=language).read_text()
        return re.sub(r"\s+", " ", _section(page, "plan"))

    euros = plan_section("EUR")
    assert "<td class=\"n\">4,700 EUR</td>" in euros and "budget 5,000 EUR" in euros and ">cost (EUR)<" in euros
    units = plan_section(None)
    assert "<td class=\"n\">4,700 cost units</td>" in units and "budget 5,000 cost units" in units
    assert "EUR" not in units and "€" not in units
    french = plan_section(None, "fr")
    assert "4 700 unités de coût</td>" in french and "budget 5 000 unités de coût" in french  # spaces: see plan_section
