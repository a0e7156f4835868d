"""The DuckDB-native staging of X v2 pages gives exactly the store the Python mapper gives.

Each input is ingested twice, once with the fast path off (``native=False``) and once with it on,
into fresh workspaces; every canonical table (every column, every row), the rejects and the
per-file accounting must be equal. The fast path must also really run: lines it hands to the
Python mapper are counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from confiance.ingest import _engine, ingest_paths
from confiance.privacy import forget
from confiance.workspace import Workspace
from tests.conftest import FORMATS, query
from tests.factories import x_v2_pages

TABLES = {
    "posts": "SELECT * FROM posts ORDER BY ALL",
    "accounts": "SELECT * FROM accounts ORDER BY ALL",
    "interactions": "SELECT * FROM interactions ORDER BY ALL",
    "observations": "SELECT * FROM observations ORDER BY ALL",
    "rejects": "SELECT * FROM rejects ORDER BY ALL",
    "sources": "SELECT * EXCLUDE (ingested_at) FROM sources ORDER BY ALL",
}


@pytest.fixture
def fallbacks(monkeypatch):
    """Line numbers the fast path handed to the Python mapper, per file name."""
    seen: dict[str, list[int]] = {}
    original = _engine._Run.map_line

    def counting(run, entry):
        seen.setdefault(run.path.name, []).append(entry.line_no if hasattr(entry, "line_no") else entry[0])
        return original(run, entry)

    monkeypatch.setattr(_engine._Run, "map_line", counting)
    return seen


def _both(tmp_path: Path, paths: list[Path], before=None) -> tuple[dict, dict]:
    """(python store, native store), each a dict of table rows plus the per-file accounting."""
    out = []
    for native in (False, True):
        ws = Workspace.init(tmp_path / f"ws-{native}")
        if before:
            before(ws)
        results = ingest_paths(ws, paths, options={"native": native})
        contents = {name: query(ws, sql) for name, sql in TABLES.items()}
        contents["accounting"] = [(r.path, r.records_read, r.stored, r.duplicates, r.rejected) for r in results]
        out.append(contents)
    return out[0], out[1]


def _assert_same(python: dict, native: dict) -> None:
    for name in python:
        assert native[name] == python[name], name


def test_real_samples_are_staged_natively_and_identically(tmp_path, fallbacks):
    paths = sorted((FORMATS / "twitter-v2-json").glob("*.jsonl"))
    python, native = _both(tmp_path, paths)
    _assert_same(python, native)
    assert len(native["posts"]) > 100 and len(native["interactions"]) > 100
    assert fallbacks == {}  # every line of the real pages took the fast path


def test_simulated_world_is_staged_natively_and_identically(tmp_path, fallbacks):
    from confiance.simulate import simulate_world

    simulate_world(tmp_path / "world", seed=11, accounts=400, posts=4000, platforms=("x",))
    paths = sorted((tmp_path / "world" / "x").glob("*.jsonl"))
    paths.append(x_v2_pages(tmp_path / "factory.jsonl", tweets=1500, seed=4))  # retweet chains, mentions
    python, native = _both(tmp_path, paths)
    _assert_same(python, native)
    assert sum(r[2] for r in native["accounting"]) >= 4000 * 0.6 * 0.9
    assert {k for (k,) in {(row[6],) for row in native["posts"]}} >= {"post", "reply", "repost", "quote"}
    assert fallbacks == {}


def _tweet(i: int, author: str = "101", **extra) -> dict:
    return {"id": str(1_600_000_000_000_000_000 + i), "author_id": author, "text": f"tweet {i}",
            "created_at": "2024-05-01T10:00:00.000Z", "lang": "fr", **extra}


def _user(uid: str, username: str, **extra) -> dict:
    return {"id": uid, "username": username, "name": username.title(), **extra}


def _page(data, users=(), tweets=(), retrieved="2024-05-02T00:00:00.000Z") -> dict:
    return {"data": list(data), "includes": {"users": list(users), "tweets": list(tweets)},
            "__twarc": {"retrieved_at": retrieved}}


def _hostile_lines() -> list[bytes]:
    users = [_user("101", "Alice", public_metrics={"followers_count": 5}, protected=False,
                   profile_image_url="https://pbs.twimg.com/default_profile_images/x.png"),
             _user("102", "Bob"), _user("103", "Victim"), _user("104", "İstanbulß")]
    original = _tweet(1, "102", text="le texte complet de l'original, pas tronqué")
    quoted = _tweet(2, "103", referenced_tweets=[{"type": "quoted", "id": original["id"]}])
    lines = [
        # 1: retweet of an included tweet (text recovered), a quote chain, a reply, mentions, unicode
        _page([
            _tweet(10, "101", text="RT @Bob: le texte…", referenced_tweets=[{"type": "retweeted", "id": original["id"]}],
                   entities={"mentions": [{"username": "Bob", "id": "102"}, {"username": "İstanbulß", "id": "104"}]}),
            _tweet(11, "104", text="Élysée « ça va » 🇫🇷 #Écologie #ÉCOLOGIE #İzmir #straße",
                   referenced_tweets=[{"type": "quoted", "id": quoted["id"]}],
                   entities={"hashtags": [{"tag": "Écologie"}, {"tag": "ÉCOLOGIE"}, {"tag": "İzmir"}, {"tag": "straße"}, {"tag": ""}],
                             "urls": [{"url": "https://t.co/a", "expanded_url": "https://WWW.Example.COM./x"},
                                      {"url": "https://t.co/b", "expanded_url": "http://user@exämple.fr:8080/p"},
                                      {"url": "https://t.co/c", "unwound_url": "https://www.lemonde.fr/a", "expanded_url": "x"},
                                      {"url": "https://t.co/c", "unwound_url": "https://www.lemonde.fr/a"},
                                      {"url": "", "expanded_url": ""}]},
                   public_metrics={"like_count": 3, "retweet_count": 1, "reply_count": 0, "quote_count": 0,
                                   "impression_count": 99},
                   source="Twitter for iPhone", possibly_sensitive=False, edit_history_tweet_ids=["5", "6"],
                   attachments={"media_keys": ["3_1", "3_2"]}),
            _tweet(12, "103", text="@Alice merci", in_reply_to_user_id="101",
                   referenced_tweets=[{"type": "replied_to", "id": _tweet(10)["id"]}], conversation_id="77"),
            _tweet(13, "101", note_tweet={"text": "un long texte " * 30}),
        ], users=users, tweets=[original, quoted]),
        # 2: duplicates within the page and of line 1
        _page([_tweet(20), _tweet(20, text="second copy"), _tweet(10)], users=users[:1]),
        # 3: a record without id, one with an empty id, then a good one
        _page([{"text": "no id", "author_id": "101"}, _tweet(30, id=""), _tweet(31)], users=users[:1]),
        # 4: ids given as JSON numbers, a 30-digit id, a count beyond BIGINT
        {"data": [{"id": 1440716895355764743, "text": "numbers", "author_id": 4203239195},
                  _tweet(41, id="123456789012345678901234567890")],
         "includes": {"users": [{"id": 4203239195, "username": "Num"}]}},
        _page([_tweet(42, public_metrics={"like_count": 2 ** 62, "retweet_count": -3})]),
        # 6: explicit nulls, a float count, a bool id
        _page([_tweet(50, source=None, lang=None)], users=[_user("101", "Alice", verified_type=None)]),
        _page([_tweet(51, public_metrics={"like_count": 1.5})]),
        _page([_tweet(52, author_id=True)]),
        # 9: the suppressed person as author, mention and reply target
        _page([_tweet(60, "103"), _tweet(61, "101", in_reply_to_user_id="103",
                                          referenced_tweets=[{"type": "replied_to", "id": _tweet(60)["id"]}],
                                          entities={"mentions": [{"username": "victim", "id": "103"}]})],
              users=users),
        # 10: a mention without id (handle lookup), duplicate includes users (the last wins)
        _page([_tweet(70, entities={"mentions": [{"username": "bob"}]})],
              users=[_user("102", "Bob", name="first"), _user("102", "Bob", name="last")]),
        # 11: a flattened tweet (no page), data as one object, unparseable and epoch retrieval times
        {**_tweet(80), "author": _user("101", "Alice")},
        {"data": _tweet(81), "includes": {"users": users[:1]}},
        _page([_tweet(82)], retrieved="le 3 mai"),
        _page([_tweet(83)], retrieved="1714694400"),
        # 15: a page with only includes, an empty page, control characters in attributes
        {"includes": {"users": users[:1]}, "meta": {"result_count": 0}},
        _page([]),
        _page([_tweet(90, source="a\u0001b\u001fc\"d\\e/f\u2028g")]),
        # 18: an author key in an included tweet, a context tweet without author
        _page([_tweet(91, referenced_tweets=[{"type": "quoted", "id": "9"}])],
              tweets=[{"id": "9", "text": "no author", "author": _user("105", "Eve")}]),
        _page([_tweet(92, referenced_tweets=[{"type": "quoted", "id": "8"}, {"type": "unknown", "id": "7"}])],
              tweets=[{"id": "8", "text": "no author", "referenced_tweets": [{"type": "quoted", "id": _tweet(92)["id"]}]}]),
    ]
    out = [orjson.dumps(line) for line in lines]
    out.insert(2, json.dumps(_page([_tweet(99)])).encode()[:-40])  # a truncated line
    out.insert(3, b"this is not json")
    out.append(b'{"data": [' + json.dumps(_tweet(100)).encode() + b', ], "__twarc": {}}')  # trailing comma
    out.append(b'{"data": [' + json.dumps(_tweet(101)).encode() + b'], "x": ' + b"[" * 1100 + b"]" * 1100 + b"}")
    out.append(b'{"data": [' + json.dumps(_tweet(102)).encode() + b'], "x": ' + b"[" * 900 + b"]" * 900 + b"}")
    out.append(b"   ")
    out.append(json.dumps(_page([_tweet(103, text="spaced")]), indent=None).encode() + b"  \r")
    out.append(b'{"data": [{"id": "1", "id": "2", "text": "same key twice, same value type"}]}'.replace(b'"2"', b'"1"'))
    out.append(b"\xff\xfe not utf-8 " + orjson.dumps(_page([_tweet(104)])))
    return out


def test_hostile_inputs_give_identical_stores_and_accounting(tmp_path, fallbacks):
    first = tmp_path / "first.jsonl"
    first.write_bytes(orjson.dumps(_page([_tweet(0, "103")], users=[_user("103", "Victim")])) + b"\n")
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(b"\n".join(_hostile_lines()) + b"\n")
    again = tmp_path / "again.jsonl"  # duplicates across files
    again.write_bytes(b"\n".join(_hostile_lines()[:2]) + b"\n" + orjson.dumps(_page([_tweet(200)])) + b"\n")

    def forget_victim(ws: Workspace) -> None:
        ingest_paths(ws, [first], options={"native": False})
        forget(ws, "@victim")

    python, native = _both(tmp_path, [hostile, again], before=forget_victim)
    _assert_same(python, native)
    [(_, read, stored, duplicates, rejected), (_, read2, stored2, duplicates2, _)] = native["accounting"]
    assert read == stored + duplicates + rejected and rejected >= 10 and duplicates >= 2
    assert duplicates2 >= 4 and stored2 >= 1
    assert any("suppressed" in reason for _, _, _, reason, _ in native["rejects"])
    assert not any("victim" in repr(row).lower() for row in native["accounts"] + native["posts"])
    # the clean pages took the fast path; the odd ones went to the mapper
    lines = fallbacks["hostile.jsonl"]
    assert {3, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 17, 19, 20, 22, 23, 28} <= set(lines)
    assert not {1, 2, 7, 11, 16, 18, 21, 26} & set(lines)
    assert "again.jsonl" not in fallbacks


def test_the_fast_path_can_be_turned_off(tmp_path, monkeypatch):
    from confiance.ingest import _native_x_v2

    called = []
    monkeypatch.setattr(_native_x_v2, "_map_pages", lambda run, con: called.append(run.path.name))
    f = x_v2_pages(tmp_path / "p.jsonl", tweets=200)
    [off] = ingest_paths(Workspace.init(tmp_path / "off"), [f], options={"native": False})
    assert called == [] and off.stored == 200
    # with its SQL stubbed out, the native path reads the records but stages none of them
    [on] = ingest_paths(Workspace.init(tmp_path / "on"), [f])
    assert called == ["p.jsonl"] and (on.records_read, on.stored) == (200, 0)
