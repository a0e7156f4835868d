"""Dashboard tables write their evidence column as the account page does (text, accounts by handle); the
JSON API keeps the stored structure; an unknown number shows "–"."""

from __future__ import annotations

import html

import orjson
from fastapi.testclient import TestClient

from confiance.web.app import Settings, create_app

BOT, PEER = "did:plc:bot00001", "did:plc:peer0001"
BOT_EVIDENCE = [{"feature": "posts_per_day", "value": 48.5, "contribution": 1.25},
                {"feature": "default_avatar", "value": True, "contribution": 0.4}]
TYPE_EVIDENCE = [{"cue": "bio", "span": "journaliste", "types": {"media": 0.8}}, {"account_id": PEER, "weight": 3}]


def _client(ws) -> TestClient:
    with ws.writer() as con:
        con.execute("INSERT INTO accounts (platform, account_id, handle) VALUES "
                    f"('bluesky', '{BOT}', 'bot1.bsky.social'), ('bluesky', '{PEER}', 'peer.bsky.social')")
        con.execute("CREATE TABLE bot_scores AS SELECT 'b' AS run_id, 'bluesky' AS platform, ? AS account_id, 0.9 AS score, "
                    "true AS label, CAST(? AS JSON) AS evidence", [BOT, orjson.dumps(BOT_EVIDENCE).decode()])
        con.execute("CREATE TABLE account_types AS SELECT 't' AS run_id, 'bluesky' AS platform, ? AS account_id, 'bot1.bsky.social' AS handle, "
                    "'media' AS type, 0.8 AS confidence, CAST(? AS JSON) AS evidence", [BOT, orjson.dumps(TYPE_EVIDENCE).decode()])
        con.execute("CREATE TABLE url_cascades AS SELECT 'c' AS run_id, 'bluesky' AS platform, 'https://example.org/a' AS url, "
                    "'example.org' AS domain, NULL AS rating, ? AS first_account_id, 'bot1.bsky.social' AS first_handle, "
                    "TIMESTAMPTZ '2026-03-01 00:00:00+00' AS first_at, 1 AS accounts, 1 AS posts, 0 AS reposts, "
                    "NULL::BIGINT AS followers_reach, 1 AS depth, 0.0 AS structural_virality", [BOT])
    return TestClient(create_app(Settings(snapshot=ws.publish_snapshot())), base_url="http://127.0.0.1:8765")


def test_bot_and_type_evidence_read_as_text(workspace):
    client = _client(workspace)
    bots = html.unescape(client.get("/tables/bots").text)
    assert "feature: posts_per_day; value: 48.5; contribution: 1.25" in bots
    assert '"feature"' not in bots and "{" not in bots[bots.index("<table"):bots.index("</table>")]
    types = html.unescape(client.get("/tables/account-types").text)
    assert "cue: bio; span: journaliste; types: (media: 0.8) | @peer.bsky.social (weight: 3)" in types
    assert PEER not in types


def test_api_keeps_the_stored_evidence(workspace):
    client = _client(workspace)
    row = client.get("/api/tables/bots").json()["rows"][0]
    assert orjson.loads(row["evidence"]) == BOT_EVIDENCE
    row = client.get("/api/tables/account-types").json()["rows"][0]
    assert orjson.loads(row["evidence"]) == TYPE_EVIDENCE


def test_unknown_follower_reach_shows_a_dash(workspace):
    client = _client(workspace)
    page = client.get("/tables/url-cascades").text
    table = page[page.index("<tbody") if "<tbody" in page else page.index("<table"):]
    assert '<td class="n">–</td>' in table
    assert client.get("/api/tables/url-cascades").json()["rows"][0]["followers_reach"] is None
