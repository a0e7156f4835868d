"""X/Twitter account archive (data/tweets.js + account.js): rows checked against an independent
reading of the fixture files, attribution, data minimisation, rejects, merge with API tweets."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from tests.conftest import REPO, ingest, query, scalar

ARCHIVES = REPO / "tests" / "data" / "archives"
ARCHIVE = ARCHIVES / "twitter"
TWEETS = ARCHIVE / "data" / "tweets.js"


def _ytd(path):
    """The JSON array of an archive .js file (independent of the importer: strip up to the first '=')."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("=") + 1:])


def _tweets():
    return [entry["tweet"] for entry in _ytd(TWEETS)]


def _owner():
    return _ytd(ARCHIVE / "data" / "account.js")[0]["account"]


def _expected_interactions():
    owner = _owner()["accountId"]
    out = set()
    for t in _tweets():
        mentions = t["entities"]["user_mentions"]
        rt = re.match(r"RT @(\w+):", t["full_text"])
        rt_id = next((m["id_str"] for m in mentions if rt and m["screen_name"].lower() == rt.group(1).lower()), None)
        if rt_id:
            out.add((owner, rt_id, "repost", t["id_str"]))
        if t.get("in_reply_to_user_id_str"):
            out.add((owner, t["in_reply_to_user_id_str"], "reply", t["id_str"]))
        out |= {(owner, m["id_str"], "mention", t["id_str"]) for m in mentions if m["id_str"] != rt_id}
    return out


def test_detects_tweet_files_only():
    assert detect(TWEETS) == "twitter-archive"
    for other in ("account.js", "profile.js", "like.js"):
        with pytest.raises(IngestError, match="unrecognised format"):
            detect(ARCHIVE / "data" / other)


def test_js_files_are_their_own_container_not_csv(tmp_path):
    from confiance.ingest import _sample, formats

    assert _sample(TWEETS)[0].container == "js"
    assert formats()["twitter-archive"].containers == ("js",)
    # a .js file whose first lines read as a KPI table is JavaScript, not a CSV export
    script = tmp_path / "chart.js"
    script.write_text("date,visits\n2024-01-01,3\n2024-01-02,4\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"unrecognised format \(JavaScript\)"):
        detect(script)


def test_formats_listing_and_detection_of_an_archive_folder_and_zip(workspace, tmp_path):
    import zipfile

    from typer.testing import CliRunner

    from confiance.cli import app

    listed = CliRunner().invoke(app, ["formats", "--json"])
    assert listed.exit_code == 0, listed.output
    row = next(f for f in json.loads(listed.stdout) if f["name"] == "twitter-archive")
    assert row["containers"] == "js"
    archive = tmp_path / "twitter-2024-03-05-abc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(ARCHIVE.rglob("*")):
            zf.write(path, path.relative_to(ARCHIVE))
    with pytest.raises(IngestError, match="extract it and ingest the folder"):
        ingest(workspace, archive)
    extracted = tmp_path / "extracted"
    zipfile.ZipFile(archive).extractall(extracted)
    (result,) = ingest(workspace, extracted)
    assert (result.format, result.records_read, result.rejected) == ("twitter-archive", len(_tweets()), 0)


def test_archive_folder_lands_every_tweet_attributed_to_the_owner(workspace):
    results = ingest(workspace, ARCHIVE)
    assert [(r.path.endswith("tweets.js"), r.format) for r in results] == [(True, "twitter-archive")]
    tweets, owner = _tweets(), _owner()
    (result,) = results
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(tweets), len(tweets), 0, 0)
    rows = query(workspace, "SELECT post_id, account_id, text, kind, lang FROM posts WHERE platform = 'x' ORDER BY post_id")
    assert [r[0] for r in rows] == sorted(t["id_str"] for t in tweets)
    assert {r[1] for r in rows} == {owner["accountId"]}
    by_id = {r[0]: r for r in rows}
    for t in tweets:
        assert by_id[t["id_str"]][2] == t["full_text"]
        assert by_id[t["id_str"]][4] == t["lang"]
    expected_kinds = {t["id_str"]: "repost" if t["full_text"].startswith("RT @") else
                      "reply" if t.get("in_reply_to_status_id_str") else
                      "quote" if any("/status/" in u["expanded_url"] for u in t["entities"]["urls"]) else "post"
                      for t in tweets}
    assert {r[0]: r[3] for r in rows} == expected_kinds
    assert set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions")) == _expected_interactions()
    account = query(workspace, "SELECT handle, display_name, bio, location, created_at FROM accounts "
                               "WHERE platform = 'x' AND account_id = ?", [owner["accountId"]])
    assert account[0][:4] == (owner["username"].lower(), owner["accountDisplayName"],
                              _ytd(ARCHIVE / "data" / "profile.js")[0]["profile"]["description"]["bio"], "Nantes, France")
    assert account[0][4].year == 2019


def test_fields_of_particular_tweets(workspace):
    ingest(workspace, ARCHIVE)
    first = query(workspace, "SELECT text, hashtags, created_at, likes, reposts FROM posts WHERE post_id = '1587654321098765432'")
    text, hashtags, created, likes, reposts = first[0]
    assert "à Nantes" in text and "🎉" in text
    assert hashtags == ["énergie", "climat"]
    assert created.isoformat().startswith("2022-11-02T09:15:00")
    assert (likes, reposts) == (12, 3)  # "favorite_count": "12" given as text
    quote = query(workspace, "SELECT parent_post_id, urls, domains FROM posts WHERE kind = 'quote'")
    assert quote[0][0] == "20" and "lemonde.fr" in quote[0][2]
    repost = query(workspace, "SELECT parent_account_id, parent_post_id, mentions FROM posts WHERE kind = 'repost'")
    assert repost == [("12", None, ["jack"])]
    assert scalar(workspace, "SELECT media_count FROM posts WHERE post_id = '1587654321098765438'") == 1
    assert scalar(workspace, "SELECT count(*) FROM observations WHERE platform = 'x'") == len(_tweets())


def test_private_fields_of_account_js_never_reach_the_workspace(workspace):
    ingest(workspace, ARCHIVE)
    canary = _owner()["email"].encode()
    assert canary in (ARCHIVE / "data" / "account.js").read_bytes()  # the fixture does carry it
    for path in workspace.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert canary not in data and b"createdVia" not in data, path
    for table in ("accounts", "posts", "interactions", "observations", "rejects", "sources"):  # stored compressed?
        rows = f"SELECT count(*) FROM {table} t WHERE strpos(lower(CAST(t AS VARCHAR)), ?) > 0"
        assert scalar(workspace, rows, [canary.decode()]) == 0, table
    assert scalar(workspace, "SELECT count(*) FROM accounts t WHERE strpos(lower(CAST(t AS VARCHAR)), ?) > 0",
                  [_owner()["username"].lower()]) == 1  # the row search does see what is stored


def test_tweets_file_alone_data_folder_and_root_are_the_same_ingest(workspace, tmp_path):
    ingest(workspace, TWEETS)
    posts, accounts = scalar(workspace, "SELECT count(*) FROM posts"), scalar(workspace, "SELECT count(*) FROM accounts")
    again = ingest(workspace, ARCHIVE / "data") + ingest(workspace, ARCHIVE)
    assert all(r.already_ingested for r in again)
    assert (scalar(workspace, "SELECT count(*) FROM posts"), scalar(workspace, "SELECT count(*) FROM accounts")) == (posts, accounts)


def test_split_and_older_archives(workspace, tmp_path):
    data = tmp_path / "archive" / "data"
    data.mkdir(parents=True)
    shutil.copy(ARCHIVE / "data" / "account.js", data)
    tweets = _ytd(TWEETS)
    (data / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps(tweets[:3]), encoding="utf-8")
    (data / "tweets-part1.js").write_text("window.YTD.tweets.part1 = " + json.dumps(tweets[3:]), encoding="utf-8")
    (data / "tweet.js").write_text("window.YTD.tweet.part0 = " + json.dumps(tweets[:1]), encoding="utf-8")  # 2019 name
    results = ingest(workspace, data.parent)
    assert sorted(r.format for r in results) == ["twitter-archive"] * 3
    assert scalar(workspace, "SELECT count(*) FROM posts") == len(tweets)
    assert sum(r.duplicates for r in results) == 1


def test_tweets_without_account_js_is_an_error_naming_the_needed_file(workspace):
    orphan = ARCHIVES / "twitter-orphan" / "tweets.js"
    with pytest.raises(IngestError) as info:
        ingest(workspace, orphan)
    assert str(orphan) in str(info.value) and "account.js" in str(info.value)
    assert scalar(workspace, "SELECT count(*) FROM posts") == 0


def test_bad_tweet_and_cut_file_are_rejected_at_the_line_where_they_start_and_the_rest_lands(workspace):
    broken = ARCHIVES / "twitter-broken" / "data" / "tweets.js"
    # the pretty-printed array opens each tweet with "  {" on a line of its own
    starts = [n for n, line in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1) if line == "  {"]
    assert len(starts) == 4
    (result,) = ingest(workspace, ARCHIVES / "twitter-broken")
    assert result.records_read == result.stored + result.duplicates + result.rejected
    assert (result.records_read, result.stored, result.rejected) == (4, 2, 2)
    rejects = query(workspace, "SELECT line_no, reason FROM rejects ORDER BY line_no")
    assert rejects[0][0] == starts[1] and "le 2 novembre" in rejects[0][1]
    assert rejects[1][0] == starts[3] and rejects[1][1].startswith("invalid JSON after tweet 3")
    assert not any("one line" in reason for _, reason in rejects)
    assert {r[0] for r in query(workspace, "SELECT post_id FROM posts")} == {"1587654321098765432", "1587654321098765434"}


def test_archive_and_api_tweets_merge(workspace, tmp_path):
    owner = _owner()
    api = {"created_at": "Wed Nov 02 09:15:00 +0000 2022", "id": 1587654321098765432, "id_str": "1587654321098765432",
           "full_text": "Réunion publique à Nantes ce soir 🎉 #Énergie #climat", "entities": {"hashtags": [], "user_mentions": [], "urls": []},
           "user": {"id": int(owner["accountId"]), "id_str": owner["accountId"], "screen_name": owner["username"],
                    "name": owner["accountDisplayName"], "followers_count": 420},
           "retweet_count": 4, "favorite_count": 15, "lang": "fr"}
    (tmp_path / "api.json").write_text(json.dumps(api), encoding="utf-8")
    ingest(workspace, ARCHIVE)
    (result,) = ingest(workspace, tmp_path / "api.json")
    assert (result.format, result.duplicates) == ("twitter-v1", 1)
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id = ?", [owner["accountId"]]) == 1
    assert scalar(workspace, "SELECT followers FROM accounts WHERE account_id = ?", [owner["accountId"]]) == 420


def test_any_cut_of_the_file_keeps_the_invariant(workspace, tmp_path):
    data = TWEETS.read_bytes()
    prefix = data.index(b"=") + 1
    shutil.copy(ARCHIVE / "data" / "account.js", tmp_path)
    for cut in range(prefix, len(data), max(1, len(data) // 40)):
        path = tmp_path / "tweets.js"
        path.write_bytes(data[:cut])
        (result,) = ingest(workspace, path, format_name="twitter-archive")
        assert result.records_read == result.stored + result.duplicates + result.rejected, cut
        assert result.rejected <= 1, cut  # at most the one unit where the file breaks


def test_long_posts_get_their_whole_text_from_note_tweet_js(workspace):
    long_archive = ARCHIVES / "twitter-long" / "data"
    tweets = [e["tweet"] for e in _ytd(long_archive / "tweets.js")]
    notes = [e["noteTweet"] for e in _ytd(long_archive / "note-tweet.js")]

    def second(text):  # both time shapes of the archive, to the second
        from datetime import datetime
        try:
            when = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
        except ValueError:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return when.replace(microsecond=0)

    # independent matching: same second, and the note's text begins with the post's text before "…"
    expected = {t["id_str"]: next((n for n in notes if second(n["createdAt"]) == second(t["created_at"])
                                   and n["core"]["text"].startswith(t["full_text"].split("…")[0])), None)
                for t in tweets}
    assert sum(n is not None for n in expected.values()) == 2  # the fixture: two long posts, one short post in the same second
    (result,) = ingest(workspace, long_archive)
    assert (result.records_read, result.stored, result.rejected) == (len(tweets), len(tweets), 0)
    rows = {r[0]: r[1:] for r in query(workspace, "SELECT post_id, text, urls, hashtags, mentions, "
                                                  "attributes->>'note_tweet' FROM posts")}
    for t in tweets:
        text, urls, hashtags, mentions, flag = rows[t["id_str"]]
        note = expected[t["id_str"]]
        if note is None:
            assert (text, flag) == (t["full_text"], None)
            continue
        assert text == note["core"]["text"] and len(text) > 280 and flag == "true"
        assert not any(u.endswith(t["id_str"]) for u in urls)  # the truncation's link to the post itself
        assert {u["expandedUrl"] for u in note["core"]["urls"]} <= set(urls)
        assert set(re.findall(r"#(\w+)", text.lower())) <= set(hashtags)
        assert {m.lower() for m in re.findall(r"@(\w+)", text)} <= set(mentions)
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE text LIKE '%deleted since%'") == 0
