"""Accounts in the harm evidence are named by handle, as in the other sections (the id when an account
has no handle); the pseudonymised dashboard shows neither."""

from __future__ import annotations

from fastapi.testclient import TestClient

from confiance.integrity.harm import run_harm
from confiance.report import build_report
from confiance.web.app import Settings, create_app

STAR, BOT, UNKNOWN = "did:plc:star0001", "did:plc:bot00001", "did:plc:ghost001"


def _world(ws) -> None:
    with ws.writer() as con:
        con.execute("INSERT INTO accounts (platform, account_id, handle) VALUES "
                    f"('bluesky', '{STAR}', 'star.bsky.social'), ('bluesky', '{BOT}', 'bot1.bsky.social')")
        # the third engager is known only from its interactions: no accounts row, so no handle
        con.executemany("INSERT INTO interactions (platform, src, dst, kind, post_id) VALUES ('bluesky', ?, ?, 'repost', ?)",
                        [[BOT, STAR, "at://p1"], [UNKNOWN, STAR, "at://p2"], [BOT, STAR, "at://p3"]])
        con.execute("CREATE TABLE bot_scores AS SELECT 'b' AS run_id, 'bluesky' AS platform, account_id, 0.9 AS score, "
                    f"true AS label, CAST('[]' AS JSON) AS evidence FROM (VALUES ('{BOT}'), ('{UNKNOWN}')) v(account_id)")
        run_harm(con, "h")


def _section(html: str, key: str) -> str:
    start = html.index(f'id="{key}"')
    return html[start:html.index("</section>", start)]


def test_harm_evidence_names_bot_engagers_by_handle(workspace, tmp_path):
    _world(workspace)
    harm = _section(build_report(workspace, tmp_path / "r.html").read_text(), "harm-profiles")
    assert "@star.bsky.social" in harm
    assert "bot engagers: @bot1.bsky.social, " + UNKNOWN in harm  # most engagements first; the id when no handle
    assert BOT not in harm and STAR not in harm


def test_pseudonymised_dashboard_hides_handles_and_ids_of_the_evidence(workspace):
    from confiance.export import Pseudonymiser

    _world(workspace)
    key = Pseudonymiser.for_workspace(workspace.root / "pseudonym.key").key
    client = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot(), pseudonymise=True, pseudonym_key=key)),
                        base_url="http://127.0.0.1:8765")
    for path in ("/sections/harm-profiles", "/tables/harm", "/api/tables/harm"):
        page = client.get(path)
        assert page.status_code == 200
        for name in ("star.bsky.social", "bot1.bsky.social", STAR, BOT, UNKNOWN):
            assert name not in page.text, (path, name)


def test_account_page_names_the_evidence_accounts_by_handle(workspace):
    _world(workspace)
    client = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot())), base_url="http://127.0.0.1:8765")
    page = client.get(f"/accounts/bluesky/{STAR}")
    assert page.status_code == 200
    scores = page.text[page.text.index("Scores and evidence"):]
    assert "@bot1.bsky.social (bot probability: 0.9; engagements: 2) | " + UNKNOWN in scores
    assert BOT not in scores and "None" not in scores and "{&#34;" not in scores
    # the API keeps the stored structure
    api = client.get(f"/api/accounts/bluesky/{STAR}").json()
    (profile,) = api["scores"]["harm_profiles"]
    assert '"account_id":"' + BOT + '"' in profile["evidence"].replace(" ", "")


def test_dashboard_tables_write_shares_as_percentages(workspace):
    _world(workspace)
    client = TestClient(create_app(Settings(snapshot=workspace.publish_snapshot())), base_url="http://127.0.0.1:8765")
    page = client.get("/tables/harm", params={"q": "star"}).text
    row = page[page.index("star.bsky.social"):]
    assert "100.0 %" in row[:row.index("</tr>")]  # every engagement came from a likely bot
    (api,) = client.get("/api/tables/harm", params={"q": "star"}).json()["rows"]
    assert api["bot_amplification_share"] == 1.0  # the API and the CSV keep the fraction


def test_harm_coordinated_group_cell_says_no_or_not_measured(workspace, tmp_path):
    """The coordinated-group cell was blank both when the account is in no group and when no one looked."""
    _world(workspace)
    unmeasured = _section(build_report(workspace, tmp_path / "r.html").read_text(), "harm-profiles")
    with workspace.writer() as con:
        con.execute("CREATE TABLE coordination_groups (run_id VARCHAR, platform VARCHAR, account_id VARCHAR, group_id VARCHAR, "
                    "kinds VARCHAR[])")
        run_harm(con, "h2")
    measured = _section(build_report(workspace, tmp_path / "m.html").read_text(), "harm-profiles")
    french = _section(build_report(workspace, tmp_path / "f.html", language="fr").read_text(), "harm-profiles")
    assert "<td></td>" not in unmeasured + measured
    assert "<td>–</td>" in unmeasured and "<td>no</td>" in measured and "<td>non</td>" in french
