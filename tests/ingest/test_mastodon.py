"""Mastodon API statuses/accounts: cassette counts checked against an independent reading of the raw
YAML + JSON bodies; plain JSON shapes (boosts, remote accounts, search results, followers lists)
built from the real statuses."""

from __future__ import annotations

import base64
import copy
import gzip
import html
import json
import re
from datetime import datetime
from urllib.parse import urlsplit

import yaml

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

MASTODON = FORMATS / "mastodon-api"
PUBLIC_TL = MASTODON / "test_public_tl.yaml"
REPLY_QUOTE = MASTODON / "test_status_reply_with_quote.yaml"


# -- an independent reading of the cassettes -----------------------------------------------------

def _bodies(path):
    """(method, request uri, parsed JSON body) of every interaction."""
    cassette = yaml.safe_load(path.read_text())
    return [(i["request"]["method"], i["request"]["uri"], json.loads(i["response"]["body"]["string"]))
            for i in cassette["interactions"]]


def _qualified(account):
    acct = account["acct"].lower()
    if "@" in acct:
        return acct
    netloc = urlsplit(account["url"]).netloc.lower()
    return f"{acct}@{netloc}"


def _raw_statuses(path):
    statuses, accounts = [], []
    for _, _, body in _bodies(path):
        for item in body if isinstance(body, list) else [body]:
            if "account" in item and "uri" in item:
                statuses.append(item)
            elif "acct" in item:
                accounts.append(item)
    return statuses, accounts


def _plain(content):
    return html.unescape(re.sub(r"<[^>]+>", "", content)).strip()


def _iso(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- real samples ----------------------------------------------------------------------------------

def test_detection_picks_mastodon_for_cassettes():
    assert detect(PUBLIC_TL) == "mastodon"
    assert detect(REPLY_QUOTE) == "mastodon"


def test_public_timeline_cassette_matches_raw(workspace):
    statuses, accounts = _raw_statuses(PUBLIC_TL)
    assert accounts == []  # the instance object is no account and no status
    [result] = ingest(workspace, PUBLIC_TL)
    distinct = {s["uri"] for s in statuses}
    assert (result.records_read, result.rejected) == (len(statuses), 0)
    assert (result.stored, result.duplicates) == (len(distinct), len(statuses) - len(distinct))

    assert {p for (p,) in query(workspace, "SELECT post_id FROM posts")} == distinct
    expected_accounts = {_qualified(s["account"]) for s in statuses}
    expected_accounts |= {_qualified(m) for s in statuses for m in s["mentions"]}
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == expected_accounts
    expected_mentions = {(_qualified(s["account"]), _qualified(m), "mention", s["uri"])
                         for s in statuses for m in s["mentions"]}
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == expected_mentions
    assert scalar(workspace, "SELECT count(*) FROM observations") == len(distinct)

    first_seen = {}
    for s in statuses:
        first_seen.setdefault(s["uri"], s)
    for uri, s in first_seen.items():
        account_id, text, kind, created, lang, likes = query(
            workspace, "SELECT account_id, text, kind, created_at, lang, likes FROM posts WHERE post_id = ?", [uri])[0]
        assert account_id == _qualified(s["account"])
        assert kind == "post"
        assert created == _iso(s["created_at"])
        assert lang == s["language"]
        assert likes == s["favourites_count"]
        assert text == _plain(s["content"])


def test_status_ids_and_bot_flag_in_attributes(workspace):
    ingest(workspace, PUBLIC_TL)
    statuses, _ = _raw_statuses(PUBLIC_TL)
    s = statuses[0]
    attrs = json.loads(scalar(workspace, "SELECT attributes FROM posts WHERE post_id = ?", [s["uri"]]))
    assert attrs["status_id"] == s["id"]
    account = json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = ?",
                                [_qualified(s["account"])]))
    assert account["bot"] is s["account"]["bot"]
    assert account["instance_account_id"] == s["account"]["id"]


def test_reply_with_quote_cassette(workspace):
    statuses, accounts = _raw_statuses(REPLY_QUOTE)
    [result] = ingest(workspace, REPLY_QUOTE)
    distinct = {s["uri"] for s in statuses}
    assert (result.records_read, result.rejected) == (len(statuses) + len(accounts), 0)
    # the verify_credentials account is a record of its own (primary row: the account)
    assert result.stored == len(distinct) + len({_qualified(a) for a in accounts})

    [quoting] = [s for s in statuses if s.get("quote") and s.get("content")]
    by_id = {s["id"]: s for s in statuses}
    replied = by_id[quoting["in_reply_to_id"]]
    quoted = quoting["quote"]["quoted_status"]
    author = _qualified(quoting["account"])
    kind, parent, parent_account, text, attributes = query(
        workspace, "SELECT kind, parent_post_id, parent_account_id, text, attributes FROM posts WHERE post_id = ?",
        [quoting["uri"]])[0]
    assert kind == "reply"  # a reply that also quotes stays a reply; the quote is an interaction
    assert parent == replied["uri"]
    assert parent_account == _qualified(replied["account"])
    assert json.loads(attributes)["quoted_post_id"] == quoted["uri"]
    assert json.loads(attributes)["quote_state"] == quoting["quote"]["state"]
    assert "RE:" not in text and text.endswith("yoooo check this out")
    got = set(query(workspace, "SELECT src, dst, kind FROM interactions WHERE post_id = ?", [quoting["uri"]]))
    assert got == {(author, _qualified(replied["account"]), "reply"),
                   (author, _qualified(quoted["account"]), "quote"),
                   *((author, _qualified(m), "mention") for m in quoting["mentions"])}
    [account] = accounts
    display, bio = query(workspace, "SELECT display_name, bio FROM accounts WHERE account_id = ?", [_qualified(account)])[0]
    assert display == account["display_name"]
    assert bio == _plain(account["note"])


def test_reingest_adds_nothing(workspace):
    ingest(workspace, MASTODON)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, MASTODON)
    assert all(r.stored == 0 for r in results)
    assert before == {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}


# -- plain API JSON, built from the real statuses ----------------------------------------------------

def _real_status():
    statuses, _ = _raw_statuses(PUBLIC_TL)
    return copy.deepcopy(next(s for s in statuses if s["mentions"]))


def _remote_boost(original):
    """A boost by an account of another instance, as mastodon.social would serve it."""
    boost = copy.deepcopy(original)
    boost.update(id="1000", uri="https://mastodon.social/users/Carol/statuses/1000/activity",
                 url=None, content="", mentions=[], tags=[], reblog=original,
                 favourites_count=0, reblogs_count=0)
    boost["account"] = dict(original["account"], id="42", username="Carol", acct="Carol@Mastodon.Social",
                            url="https://mastodon.social/@Carol", bot=True)
    return boost


def test_array_with_boost_and_unresolved_reply(workspace, tmp_path):
    original = _real_status()
    boost = _remote_boost(original)
    reply = copy.deepcopy(original)
    reply.update(id="2000", uri="http://localhost:3000/ap/users/1/statuses/2000", in_reply_to_id="999",
                 in_reply_to_account_id="777", mentions=[], content="<p>first</p><p>second<br>third</p>",
                 tags=[{"name": "Fediverse", "url": "http://localhost:3000/tags/fediverse"}],
                 card={"url": "https://example.org/article"})
    f = tmp_path / "statuses.json"
    f.write_text(json.dumps([boost, reply]))
    assert detect(f) == "mastodon"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (2, 2, 0)

    booster = "carol@mastodon.social"
    kind, parent, parent_account, account_id = query(
        workspace, "SELECT kind, parent_post_id, parent_account_id, account_id FROM posts WHERE post_id = ?",
        [boost["uri"]])[0]
    assert (kind, parent, account_id) == ("repost", original["uri"], booster)
    assert parent_account == _qualified(original["account"])
    # the boosted status is stored as a context post with its own mention
    assert scalar(workspace, "SELECT text FROM posts WHERE post_id = ?", [original["uri"]]) == _plain(original["content"])
    # keyed by the boosted status, as its reblogged_by list would give it
    assert (booster, _qualified(original["account"]), "repost", original["uri"]) in set(
        query(workspace, "SELECT src, dst, kind, post_id FROM interactions"))
    assert json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = ?", [booster]))["bot"] is True

    kind, parent, parent_account, text, hashtags, urls = query(
        workspace, "SELECT kind, parent_post_id, parent_account_id, text, hashtags, urls FROM posts WHERE post_id = ?",
        [reply["uri"]])[0]
    # unresolved per-instance ids are qualified with the serving host (a local account's host)
    assert (kind, parent, parent_account) == ("reply", "999@localhost:3000", "777@localhost:3000")
    assert text == "first\n\nsecond\nthird"
    assert hashtags == ["fediverse"] and urls == ["https://example.org/article"]


def test_jsonl_with_corrupted_line_rejects_only_that_line(workspace, tmp_path):
    statuses, _ = _raw_statuses(PUBLIC_TL)
    distinct = list({s["uri"]: s for s in statuses}.values())
    lines = [json.dumps(s) for s in distinct]
    lines.insert(2, '{"id": "1", "account": {')
    lines.insert(4, json.dumps({"domain": "localhost:3000", "title": "an instance, not a status"}))
    f = tmp_path / "statuses.jsonl"
    f.write_text("\n".join(lines) + "\n")
    assert detect(f) == "mastodon"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (len(distinct) + 2, len(distinct), 2)
    assert sorted(line for (line,) in query(workspace, "SELECT line_no FROM rejects")) == [3, 5]
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(distinct)


def test_search_results_and_followers_list(workspace, tmp_path):
    original = _real_status()
    remote = _remote_boost(original)["account"]
    search = {"accounts": [original["account"], remote], "statuses": [original], "hashtags": []}
    f = tmp_path / "search.json"
    f.write_text(json.dumps(search))
    assert detect(f) == "mastodon"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (3, 3, 0)
    assert scalar(workspace, "SELECT handle FROM accounts WHERE account_id = 'carol@mastodon.social'") == "carol@mastodon.social"

    followers = tmp_path / "followers.json"
    followers.write_text(json.dumps([remote]))
    assert detect(followers) == "mastodon"
    [result] = ingest(workspace, followers)
    assert (result.records_read, result.stored, result.duplicates) == (1, 0, 1)


def _cassette(interactions):
    return yaml.safe_dump({"version": 1, "interactions": interactions})


def _interaction(uri, body, **response):
    return {"request": {"method": "GET", "uri": uri, "body": None, "headers": {}},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": response.pop("headers", {}),
                         "body": body, **response}}


def test_compressed_bodies_and_follow_edges(workspace, tmp_path):
    original = _real_status()
    followed = original["account"]
    remote = _remote_boost(original)["account"]
    payload = json.dumps([remote]).encode()
    f = tmp_path / "followers.yaml"
    f.write_text(_cassette([
        _interaction("http://localhost:3000/api/v1/statuses/1", {"string": gzip.compress(json.dumps(original).encode())},
                     headers={"Content-Encoding": ["gzip"]}),
        _interaction(f"http://localhost:3000/api/v1/accounts/{followed['id']}/followers",
                     {"base64_string": base64.b64encode(gzip.compress(payload)).decode()}),
        _interaction("http://localhost:3000/api/v1/timelines/home", {"string": b"\x00brotli"},
                     headers={"Content-Encoding": ["br"]}),
        _interaction("http://localhost:3000/api/v1/statuses/404", {"string": '{"error": "Record not found"}'},
                     status={"code": 404, "message": "Not Found"}),
    ]))
    assert detect(f) == "mastodon"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (3, 2, 1)
    assert "brotli" in scalar(workspace, "SELECT reason FROM rejects")
    assert scalar(workspace, "SELECT post_id FROM posts WHERE kind = 'post'") == original["uri"]
    assert query(workspace, "SELECT src, dst, post_id FROM interactions WHERE kind = 'follow'") == [
        ("carol@mastodon.social", _qualified(followed), "")]
