"""Mastodon account archive (outbox.json + actor.json): rows checked against an independent reading
of the fixture, attribution, rejects, and merge with REST API statuses of the same person."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from tests.conftest import REPO, ingest, query, scalar

ARCHIVES = REPO / "tests" / "data" / "archives"
ARCHIVE = ARCHIVES / "mastodon"
OUTBOX = ARCHIVE / "outbox.json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def _items():
    return json.loads(OUTBOX.read_text(encoding="utf-8"))["orderedItems"]


def _actor():
    return json.loads((ARCHIVE / "actor.json").read_text(encoding="utf-8"))


def _address(username, uri):
    return f"{username.lower()}@{urlsplit(uri).hostname}"


def _owner():
    actor = _actor()
    return _address(actor["preferredUsername"], actor["id"])


def _account_in_status_uri(uri):
    match = re.match(r"https://([^/]+)/users/([^/]+)/statuses/", uri)
    return f"{match.group(2)}@{match.group(1)}"


def _expected():
    """post_id -> kind, and the interactions, from the raw activities."""
    owner, kinds, edges = _owner(), {}, set()
    for item in _items():
        if item["type"] == "Announce":
            kinds[item["id"]] = "repost"
            # one boost per account and status: the repost is keyed by the boosted status
            edges.add((owner, _account_in_status_uri(item["object"]), "repost", item["object"]))
            continue
        note = item["object"]
        kinds[note["id"]] = "reply" if note.get("inReplyTo") else "post"
        if note.get("inReplyTo"):
            edges.add((owner, _account_in_status_uri(note["inReplyTo"]), "reply", note["id"]))
        for tag in note["tag"]:
            if tag["type"] == "Mention":
                name = tag["name"].lstrip("@")
                address = name if "@" in name else f"{name}@{urlsplit(tag['href']).hostname}"
                edges.add((owner, address, "mention", note["id"]))
    return kinds, edges


def test_detects_the_outbox_only():
    assert detect(OUTBOX) == "mastodon-archive"
    for other in ("actor.json", "likes.json", "bookmarks.json"):
        with pytest.raises(IngestError, match="unrecognised format"):
            detect(ARCHIVE / other)


def test_archive_folder_lands_every_activity_attributed_to_the_owner(workspace):
    results = ingest(workspace, ARCHIVE)
    assert [r.format for r in results] == ["mastodon-archive"]
    (result,) = results
    items = _items()
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(items), len(items), 0, 0)
    kinds, edges = _expected()
    rows = query(workspace, "SELECT post_id, account_id, kind FROM posts WHERE platform = 'mastodon'")
    assert {r[0]: r[2] for r in rows} == kinds
    assert {r[1] for r in rows} == {_owner()} == {"alice@mastodon.social"}
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == edges
    actor = _actor()
    account = query(workspace, "SELECT handle, display_name, bio, url FROM accounts WHERE account_id = ?", [_owner()])
    assert account == [(_owner(), actor["name"], "Journaliste climat à Nantes.", actor["url"])]


def test_fields_of_particular_statuses(workspace):
    ingest(workspace, ARCHIVE)
    first = _items()[0]["object"]
    row = query(workspace, "SELECT text, lang, hashtags, urls, domains, url, created_at, attributes->>'status_id', "
                           "attributes->>'visibility' FROM posts WHERE post_id = ?", [first["id"]])[0]
    text, lang, hashtags, urls, domains, url, created, status_id, visibility = row
    assert text.startswith("Réunion publique à Nantes ce soir 🎉") and "<" not in text
    assert (lang, hashtags, domains) == ("fr", ["énergie"], ["lemonde.fr"])
    assert urls == ["https://www.lemonde.fr/planete/article/2022/11/02/climat.html"]  # not the hashtag link
    assert (url, status_id, visibility) == (first["url"], first["id"].rsplit("/", 1)[1], "public")
    assert created.isoformat().startswith("2022-11-02T09:15:00")
    boost = next(i for i in _items() if i["type"] == "Announce")
    assert query(workspace, "SELECT parent_post_id, parent_account_id FROM posts WHERE post_id = ?", [boost["id"]]) == [
        (boost["object"], "carol@fosstodon.org")]
    visibilities = dict(query(workspace, "SELECT attributes->>'status_id', attributes->>'visibility' FROM posts"))
    assert visibilities["1098765432109876513"] == "unlisted" and visibilities["1098765432109876515"] == "private"
    cw = query(workspace, "SELECT media_count, attributes->>'spoiler_text' FROM posts WHERE attributes->>'status_id' = '1098765432109876515'")
    assert cw == [(1, "chiffres")]
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE attributes->>'poll' = 'true'") == 1


def test_outbox_without_actor_json_is_an_error_naming_the_needed_file(workspace):
    orphan = ARCHIVES / "mastodon-orphan" / "outbox.json"
    with pytest.raises(IngestError) as info:
        ingest(workspace, orphan)
    assert str(orphan) in str(info.value) and "actor.json" in str(info.value)


def test_bad_activities_and_cut_file_are_rejected_with_their_position_and_the_rest_lands(workspace):
    (result,) = ingest(workspace, ARCHIVES / "mastodon-broken")
    assert result.records_read == result.stored + result.duplicates + result.rejected
    assert (result.records_read, result.stored, result.rejected) == (5, 2, 3)
    rejects = query(workspace, "SELECT line_no, reason FROM rejects ORDER BY line_no")
    assert [r[0] for r in rejects] == [2, 4, 5]
    assert "not a status" in rejects[0][1] and "'Like'" in rejects[1][1]
    assert rejects[2][1].startswith("invalid JSON after activity 4")
    # outbox.json is one line, as Mastodon writes it: positions, and the reasons say why
    assert b"\n" not in (ARCHIVES / "mastodon-broken" / "outbox.json").read_bytes().rstrip()
    assert all(reason.endswith(f"(activity {line} of the array: the file is one line)") for line, reason in rejects)


def test_reingest_changes_nothing(workspace):
    ingest(workspace, ARCHIVE)
    before = query(workspace, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM accounts), (SELECT count(*) FROM interactions)")
    assert all(r.already_ingested for r in ingest(workspace, OUTBOX))
    assert query(workspace, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM accounts), (SELECT count(*) FROM interactions)") == before


def test_archive_and_api_statuses_of_the_same_person_merge(workspace, tmp_path):
    first = _items()[0]["object"]
    boost = next(i for i in _items() if i["type"] == "Announce")
    alice = {"id": "1", "username": "alice", "acct": "alice", "url": "https://mastodon.social/@alice",
             "display_name": "Alice Martin", "followers_count": 321, "following_count": 5, "statuses_count": 6,
             "created_at": "2019-03-12T00:00:00.000Z", "note": "<p>Journaliste climat à Nantes.</p>"}
    carol = {"id": "77", "username": "carol", "acct": "carol@fosstodon.org", "url": "https://fosstodon.org/@carol",
             "display_name": "Carol", "followers_count": 10}
    status_id = first["id"].rsplit("/", 1)[1]
    statuses = [
        {"id": status_id, "uri": first["id"], "url": first["url"], "created_at": "2022-11-02T09:15:00.000Z",
         "account": alice, "content": first["content"], "language": "fr", "favourites_count": 7, "reblogs_count": 1,
         "replies_count": 0, "mentions": [], "tags": [{"name": "énergie"}], "visibility": "public"},
        {"id": "109876543210987612", "uri": boost["id"], "url": boost["id"], "created_at": "2022-11-02T11:00:00.000Z",
         "account": alice, "content": "", "mentions": [], "tags": [], "visibility": "public",
         "reblog": {"id": "55", "uri": boost["object"], "url": "https://fosstodon.org/@carol/222",
                    "created_at": "2022-11-01T08:00:00.000Z", "account": carol, "content": "<p>Hello</p>",
                    "mentions": [], "tags": []}},
    ]
    (tmp_path / "statuses.json").write_text(json.dumps(statuses), encoding="utf-8")
    ingest(workspace, ARCHIVE)
    posts = scalar(workspace, "SELECT count(*) FROM posts")
    (result,) = ingest(workspace, tmp_path / "statuses.json")
    assert (result.format, result.duplicates, result.stored) == ("mastodon", 2, 0)
    assert scalar(workspace, "SELECT count(*) FROM posts") == posts + 1  # carol's boosted status, new as context
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id = 'alice@mastodon.social'") == 1
    assert scalar(workspace, "SELECT followers FROM accounts WHERE account_id = 'alice@mastodon.social'") == 321
    assert scalar(workspace, "SELECT account_id FROM posts WHERE post_id = ?", [boost["object"]]) == "carol@fosstodon.org"


def test_any_cut_of_the_file_keeps_the_invariant(workspace, tmp_path):
    data = OUTBOX.read_bytes()
    (tmp_path / "actor.json").write_bytes((ARCHIVE / "actor.json").read_bytes())
    for cut in range(1, len(data), max(1, len(data) // 40)):
        path = tmp_path / "outbox.json"
        path.write_bytes(data[:cut])
        (result,) = ingest(workspace, path, format_name="mastodon-archive")
        assert result.records_read == result.stored + result.duplicates + result.rejected, cut
        assert result.rejected <= 1, cut


def test_an_indented_outbox_rejects_at_the_line_where_the_activity_starts(workspace, tmp_path):
    outbox = json.loads(OUTBOX.read_text(encoding="utf-8"))
    outbox["orderedItems"].insert(2, {"id": "https://mastodon.social/users/alice/likes/1", "type": "Like",
                                      "actor": outbox["orderedItems"][0]["actor"]})
    (tmp_path / "actor.json").write_bytes((ARCHIVE / "actor.json").read_bytes())
    text = json.dumps(outbox, indent=2)
    (tmp_path / "outbox.json").write_text(text, encoding="utf-8")
    like_line = next(n for n, line in enumerate(text.splitlines(), 1) if '"type": "Like"' in line) - 2  # "{", "id"
    assert text.splitlines()[like_line - 1].strip() == "{"
    (result,) = ingest(workspace, tmp_path)
    assert (result.records_read, result.rejected) == (len(outbox["orderedItems"]), 1)
    ((line_no, reason),) = query(workspace, "SELECT line_no, reason FROM rejects")
    assert line_no == like_line and "'Like'" in reason and "one line" not in reason
