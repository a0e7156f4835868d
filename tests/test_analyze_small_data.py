"""`analyze` and the report on small but legitimate workspaces: a step with too little data says so
(in `analyze`'s output, the listing verb and the report) instead of asking to run `analyze` again."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.errors import ConfianceError
from confiance.pipeline import analyze
from confiance.report import build_report
from confiance.workspace import Workspace
from tests.conftest import REAL, ingest, query

MAPPING = """platform: x
columns:
  post_id: id
  account_id: author
  handle: handle
  created_at: date
  text: text
  kind: kind
  parent_post_id: parent
  parent_account_id: parent_author
"""
TEXTS = ["Le gouvernement annonce une nouvelle réforme des retraites #retraites",
         "Quelle belle journée à Paris, le soleil brille enfin sur la Seine",
         "The football game last night was amazing, what a victory",
         "New apple pie recipe, delicious and easy to make"]


def _posts_csv(workspace, tmp_path, rows: list[dict]) -> None:
    (tmp_path / "mapping.yaml").write_text(MAPPING)
    path = tmp_path / "posts.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["id", "author", "handle", "date", "text", "kind", "parent", "parent_author"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"kind": "post", "parent": "", "parent_author": "", "handle": row["author"], **row})
    ingest(workspace, path, format_name="generic-csv", options={"mapping": str(tmp_path / "mapping.yaml")})


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}"')
    return html[start:html.index("</section>", start)]


@pytest.fixture
def ten_posts(workspace, tmp_path):
    """10 posts by 3 accounts, no interaction between two different accounts."""
    _posts_csv(workspace, tmp_path, [{"id": f"p{i}", "author": f"a{i % 3}", "date": f"2024-03-01T1{i}:00:00Z",
                                      "text": TEXTS[i % 4]} for i in range(10)])
    return workspace


def test_too_few_texts_for_topics_is_said_everywhere(ten_posts, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["--workspace", str(ten_posts.root), "analyze", "--only", "topics,layout"])
    assert result.exit_code == 0, result.output
    assert "topics: not enough data: 4 distinct post texts, fewer than 20" in result.stderr

    listing = runner.invoke(app, ["--workspace", str(ten_posts.root), "topics", "--json"])
    assert isinstance(listing.exception, ConfianceError)  # main() turns it into one line and exit 1
    assert "not enough data: 4 distinct post texts" in str(listing.exception)
    assert "run `confiance analyze`" not in str(listing.exception)

    html = build_report(ten_posts, tmp_path / "r.html").read_text()
    topics = _section(html, "topics")
    assert "not enough data: 4 distinct post texts, fewer than 20" in topics
    assert "run `confiance analyze`" not in topics
    community_map = _section(html, "community-map")
    assert "not enough data: the account graph has no edges" in community_map
    assert "run `confiance analyze`" not in community_map


def test_sections_before_analyze_still_ask_for_it(ten_posts, tmp_path):
    html = build_report(ten_posts, tmp_path / "r.html").read_text()
    for key in ("topics", "community-map", "sentiment"):
        assert "run `confiance analyze" in _section(html, key)


def test_reposts_only_sentiment_says_there_is_no_text(workspace, tmp_path):
    _posts_csv(workspace, tmp_path, [{"id": f"p{i}", "author": f"a{i % 4}", "date": f"2024-03-01T1{i}:00:00Z",
                                      "text": "", "kind": "repost", "parent": "x1", "parent_author": "z"}
                                     for i in range(8)])
    analyze(workspace, only=["sentiment"])
    section = _section(build_report(workspace, tmp_path / "r.html").read_text(), "sentiment")
    assert "not enough data: no post, reply or quote with text to score" in section
    assert "no communities yet" not in section


def test_survey_section_says_what_is_missing(ten_posts, tmp_path):
    analyze(ten_posts, only=["surveys"])
    section = _section(build_report(ten_posts, tmp_path / "r.html").read_text(), "surveys")
    assert "ingest a survey CSV" in section


def test_sentiment_on_a_graph_file_trains_no_model(workspace, monkeypatch):
    import confiance.text.sentiment as sentiment

    ingest(workspace, REAL / "karate" / "karate.gml")

    def no_training(threads: int = 1):
        raise AssertionError("the sentiment model was trained for a store without post texts")

    monkeypatch.setattr(sentiment, "default_model", no_training)
    assert analyze(workspace, only=["sentiment"])["sentiment"] == {"posts": 0}


def test_survey_with_unknown_exposure(workspace, tmp_path, tmp_path_factory):
    """Empty `exposed` cells mean unknown (ingest.survey): such respondents are in neither arm."""
    lines = ["wave,respondent,question,answer,exposed"]
    lines += [f"pre,p{i},trust,{1 + i % 5}," for i in range(6)]
    lines += ["post,r1,trust,5,1", "post,r2,trust,3,oui", "post,r3,trust,1,0", "post,r4,trust,2,non", "post,r5,trust,5,"]
    (tmp_path / "survey.csv").write_text("\n".join(lines) + "\n")
    no_exposure = tmp_path_factory.mktemp("plain") / "survey.csv"
    no_exposure.write_text("wave,respondent,question,answer\n" + "".join(
        f"{wave},{wave}{i},trust,{1 + i % 5}\n" for wave in ("pre", "post") for i in range(6)))
    ingest(workspace, tmp_path / "survey.csv")
    analyze(workspace, only=["surveys"])
    changes = dict(query(workspace, "SELECT comparison, estimate FROM survey_changes WHERE segment = 'all'"))
    assert changes["exposed - unexposed"] == pytest.approx((5 + 3) / 2 - (1 + 2) / 2)
    assert changes["post - pre"] == pytest.approx((5 + 3 + 1 + 2 + 5) / 5 - (1 + 2 + 3 + 4 + 5 + 1) / 6)

    plain = Workspace.init(tmp_path / "plain-ws")
    ingest(plain, no_exposure)
    analyze(plain, only=["surveys"])
    assert [c for (c,) in query(plain, "SELECT DISTINCT comparison FROM survey_changes")] == ["post - pre"]


def test_follow_graph_influence_says_there_is_no_signal(workspace, tmp_path):
    """Karate (follow edges only): every influence is 0, so no component is named a strength."""
    from confiance.influence.scores import influencers

    ingest(workspace, REAL / "karate" / "karate.gml")
    analyze(workspace, only=["influence"])
    with workspace.reader() as con:
        rows = influencers(con, top=5)
    assert len(rows) == 5 and not any(r["influence"] for r in rows)
    assert all(r["explanation"].startswith("every weighted component is zero") for r in rows)
    section = _section(build_report(workspace, tmp_path / "r.html").read_text(), "influencers")
    assert "No influence signal: every account scores 0" in section
    assert "strongest:" not in section


def test_harm_shares_name_their_n(workspace, tmp_path):
    """One undisclosed commercial post is 100 %: the report says of how many."""
    _posts_csv(workspace, tmp_path, [
        {"id": "p0", "author": "a0", "date": "2024-03-01T10:00:00Z",
         "text": "Je trouve ce produit génial, code promo SOLDES20 https://boutique.example.fr/?utm_source=insta"},
        {"id": "p1", "author": "a1", "date": "2024-03-01T11:00:00Z", "text": TEXTS[1]}])
    analyze(workspace, only=["harm"])
    assert query(workspace, "SELECT undisclosed_share FROM harm_profiles WHERE account_id = 'a0'") == [(1.0,)]
    section = _section(build_report(workspace, tmp_path / "r.html").read_text(), "harm-profiles")
    assert "100.0&nbsp;% of 1<" in section


def test_influencers_after_bots_without_account_types(ten_posts):
    """`analyze --only bots,influence`: the listing reads bot flags without the account-types table."""
    from confiance.influence.scores import influencers

    analyze(ten_posts, only=["bots", "influence"])
    with ten_posts.reader() as con:
        assert len(influencers(con, top=3)) == 3


def test_audience_runs_after_the_language_step(workspace, tmp_path):
    """A CSV without a language column: the engagers' languages come from the language step on the first
    analyze as on the next (audience used to run before it and read a missing or stale post_language)."""
    replies = [{"id": f"r{i}", "author": f"e{i}", "date": f"2024-03-01T1{i % 10}:00:00Z",
                "text": "Je suis tout à fait d'accord avec toi, merci pour cette analyse très claire",
                "kind": "reply", "parent": "p0", "parent_author": "a0"} for i in range(12)]
    _posts_csv(workspace, tmp_path, [{"id": "p0", "author": "a0", "date": "2024-03-01T09:00:00Z",
                                      "text": TEXTS[0]}, *replies])
    analyze(workspace, only=["audience"])
    first = query(workspace, "SELECT * EXCLUDE (run_id) FROM audience_profiles ORDER BY ALL")
    analyze(workspace, only=["language", "audience"])
    assert query(workspace, "SELECT * EXCLUDE (run_id) FROM audience_profiles ORDER BY ALL") == first
    assert ("language", "fr") in {(d, c) for d, c in query(workspace, "SELECT dimension, category FROM audience_profiles")}


def test_volume_by_language_uses_the_identified_language_when_none_is_declared(ten_posts):
    """A CSV without a language column: the overview's volumes per language are the language step's
    ('fr', 'en'), not all 'und' (overview used to run before the language step and read only the tag)."""
    analyze(ten_posts, only=["overview"])
    volume = dict(query(ten_posts, "SELECT lang, sum(posts) FROM overview_volume GROUP BY ALL"))
    identified = dict(query(ten_posts, "SELECT lang, count(*) FROM post_language GROUP BY ALL"))
    assert volume == identified and {"fr", "en"} <= set(volume)
