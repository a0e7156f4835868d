"""Attribution by UTM and promo code on a small fixture whose KPI file carries per-code series."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from confiance.campaign.attribution import codes_in_text, run_attribution, utm_in_url
from tests.conftest import ingest


def _tweet(i: int, author: str, text: str, url: str | None, likes: int) -> dict:
    tweet = {"id": str(1_900_000_000_000_000_000 + i), "author_id": author, "text": text,
             "created_at": f"2025-04-{1 + i:02d}T10:00:00.000Z", "lang": "fr",
             "public_metrics": {"like_count": likes, "retweet_count": 1, "reply_count": 0, "quote_count": 0}}
    if url:
        tweet["entities"] = {"urls": [{"url": "https://t.co/x", "expanded_url": url}]}
    return tweet


def _fixture(tmp_path: Path) -> tuple[Path, Path]:
    tweets = [
        _tweet(0, "11", "Mon avis : -20% avec mon code PRINTEMPS20 !", "https://shop.example/velo?utm_source=influence&utm_content=alice", 10),
        _tweet(1, "12", "Use promo code PRINTEMPS20 at checkout", "https://shop.example/velo?utm_source=influence&utm_content=bob", 4),
        _tweet(2, "12", "Code promo : ETE15 pour l'été", None, 2),
        _tweet(3, "13", "Rien à voir, pas de code ici", "https://news.example/article", 50),
    ]
    users = [{"id": a, "username": f"user{a}"} for a in ("11", "12", "13")]
    posts = tmp_path / "tweets.jsonl"
    posts.write_bytes(orjson.dumps({"data": tweets, "includes": {"users": users}}) + b"\n")
    kpis = tmp_path / "codes.csv"
    rows = ["series,ts,value,unit"]
    rows += [f"sales:PRINTEMPS20,2025-03-{d:02d},{100},orders" for d in (28, 29, 30, 31)]  # before its first post
    rows += [f"sales:PRINTEMPS20,2025-04-{d:02d},{d},orders" for d in range(1, 6)]
    rows += [f"clicks:utm_content=alice,2025-04-{d:02d},{10 * d},clicks" for d in range(1, 4)]
    rows += ["site_visits,2025-04-01,5000,visits"]
    kpis.write_text("\n".join(rows) + "\n")
    return posts, kpis


def test_codes_and_utm_are_joined_to_their_kpi_series(workspace, tmp_path: Path) -> None:
    posts, kpis = _fixture(tmp_path)
    results = ingest(workspace, posts, kpis)
    assert all(r.rejected == 0 for r in results)
    with workspace.writer() as con:
        done = run_attribution(con, "r1")
        rows = {(k, key): (n, accounts, eng, orjson.loads(totals), ev) for k, key, n, accounts, eng, totals, ev in con.execute(
            "SELECT kind, key, posts, accounts, engagements, kpi_totals, evidence_post_ids FROM attribution").fetchall()}
    assert done == {"keys": 5, "joined": 2}
    code = rows[("promo_code", "PRINTEMPS20")]
    assert code[:3] == (2, 2, 10 + 1 + 4 + 1)
    assert code[3] == {"sales": 1 + 2 + 3 + 4 + 5}  # the March rows precede the first post
    assert code[4][0] == "1900000000000000000"  # the most engaged post first
    assert rows[("utm_content", "alice")][3] == {"clicks": 60}
    assert rows[("promo_code", "ETE15")][3] == {}
    assert rows[("utm_source", "influence")][0] == 2
    assert not any(key == "ICI" for _, key in rows)


@pytest.mark.parametrize("text, known, expected", [
    ("-20% avec mon code SOLVANE20 🚲", (), {"SOLVANE20"}),
    ("Code promo : BEAUTE30", (), {"BEAUTE30"}),
    ("use coupon spring-sale10 now", (), {"SPRING-SALE10"}),
    ("le code de la route", (), set()),
    ("SOLVANE20 sans mot clé", ("solvane20",), {"SOLVANE20"}),
    (None, (), set()),
])
def test_codes_in_text(text, known, expected) -> None:
    assert codes_in_text(text, known) == expected


def test_utm_in_url() -> None:
    assert utm_in_url("https://a.example/p?utm_campaign=spring&utm_content=9156&x=1") == {
        "utm_campaign": "spring", "utm_content": "9156"}
    assert utm_in_url("https://a.example/p?ref=1") == {}
    assert utm_in_url("http://[bad") == {}
