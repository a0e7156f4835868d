"""Ingest after ``forget``: what names the person besides their id and handle. A Mastodon instance's numeric id
for the account (an alias, hashed in the suppression list with its platform) in a reply the mapper could not
resolve; their handle written without '@' in someone else's text; a repost carrying their text."""

from __future__ import annotations

import json

from confiance.ingest._readers import decompress
from confiance.privacy import forget
from tests.conftest import ingest, query, scalar

ALIAS = "85280147117700001"  # the instance's id for zoezq8


def _account(id_: str, username: str) -> dict:
    return {"id": id_, "username": username, "acct": username, "display_name": username.title(),
            "url": f"https://toot.example/@{username}", "uri": f"https://toot.example/users/{username}",
            "followers_count": 3, "following_count": 2, "statuses_count": 9, "created_at": "2020-01-01T00:00:00.000Z",
            "note": "", "bot": False, "locked": False, "group": False}


def _status(id_: str, account: dict, content: str, **extra) -> dict:
    status = {"id": id_, "created_at": "2025-02-11T13:18:45.372Z", "in_reply_to_id": None,
              "in_reply_to_account_id": None, "visibility": "public", "language": "fr",
              "uri": f"{account['uri']}/statuses/{id_}", "url": f"{account['url']}/{id_}", "content": content,
              "account": account, "mentions": [], "tags": [], "media_attachments": [], "reblog": None,
              "replies_count": 0, "reblogs_count": 0, "favourites_count": 0}
    status.update(extra)
    return status


ZOE, RIFEN = _account(ALIAS, "zoezq8"), _account("100901410323600002", "rifenzq8")


def _write(path, statuses):
    path.write_text("".join(json.dumps(s) + "\n" for s in statuses))
    return path


def test_an_alias_in_an_unresolved_reply_is_suppressed_in_the_store_and_the_archive(workspace, tmp_path):
    ingest(workspace, _write(tmp_path / "a.jsonl", [_status("113000000000000001", ZOE, "<p>mon vélo est prêt</p>"),
                                                    _status("113000000000000002", RIFEN, "<p>bonjour</p>")]))
    forget(workspace, "mastodon:zoezq8@toot.example")
    reply = _status("113000000000000003", RIFEN, "<p>pas d'accord</p>", in_reply_to_id="113000000000000099",
                    in_reply_to_account_id=ALIAS)
    [result] = ingest(workspace, _write(tmp_path / "b.jsonl", [reply]))
    assert (result.stored, result.rejected) == (1, 0)
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id LIKE ?", [f"{ALIAS}%"]) == 0
    assert query(workspace, "SELECT kind, parent_account_id FROM posts WHERE post_id LIKE '%113000000000000003'") == [
        ("reply", None)]
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE dst LIKE ?", [f"{ALIAS}%"]) == 0
    archive = workspace.archive_path(result.sha256)
    data = decompress(decompress(archive.read_bytes()))
    assert b"pas d'accord" in data and ALIAS.encode() not in data


def test_a_bare_handle_and_a_quoted_text_are_scrubbed_from_others_posts(workspace, tmp_path):
    ingest(workspace, _write(tmp_path / "a.jsonl", [_status("113000000000000001", ZOE, "<p>bonjour</p>")]))
    forget(workspace, "mastodon:zoezq8@toot.example")
    # collected after the forget: a new post of hers, quoted (inline) by rifen, who copies her words and names her
    hers = _status("113000000000000005", ZOE, "<p>je roule en vélo cargo tous les jours</p>")
    quoting = _status("113000000000000006", RIFEN, "<p>comme dit zoezq8@toot.example : je roule en vélo cargo "
                                                   "tous les jours. Zoezq8 a raison</p>",
                      quote={"state": "accepted", "quoted_status": hers})
    [result] = ingest(workspace, _write(tmp_path / "b.jsonl", [quoting]))
    assert (result.stored, result.rejected) == (1, 0)
    # her full handle is a word of the text; 'Zoezq8' alone is not her Mastodon handle (user@host) and stays
    assert query(workspace, "SELECT kind, parent_post_id, text FROM posts WHERE post_id LIKE '%113000000000000006'") \
        == [("quote", None, "comme dit [forgotten] : [forgotten]. Zoezq8 a raison")]
    data = decompress(decompress(workspace.archive_path(result.sha256).read_bytes())).lower()
    assert b"zoezq8@toot.example" not in data and b"cargo" not in data and b"a raison" in data
