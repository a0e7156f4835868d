"""A forgotten person's words copied into someone else's repost go too, when the original is not at hand.

Alice (X) wrote a canary sentence; Bob, Dave, Erin and Fay reposted it, each in a file of their own that lacks
the original: X v2 without ``includes`` ("RT @alice: …", the parent post id only), X v1.1 where only the RT text
is kept (a plain post), the FiveThirtyEight troll CSV (the parent named by handle), and a generic CSV that names
the parent account but copies the text without an RT prefix. Alice is forgotten before or after those files come
in: either way no byte of the workspace holds her sentence, the reposts and their authors stay (only the copied
words go), Bob's repost of Carol and his post that mentions Alice mid-text keep their words, and both orders leave
the same rows.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import pytest

from confiance.ingest._readers import decompress
from confiance.person import key_hash
from confiance.privacy import forget
from confiance.workspace import Workspace
from tests.conftest import ingest, query
from tests.test_forget_archive import hits, workspace_bytes

ALICE, ALICE_ID = "alicezq8", "66601"
CANARY = "Le canari zq8 chante faux sous la pluie de Roubaix, disait-elle"
CAROL_WORDS = "Carol aime les tartes aux pommes de Normandie"
MENTION = f"Je pense que @{ALICE} a raison sur les retraites"
#: what a repost of a forgotten person keeps of the words it copied
RT_FORGOTTEN, PLAIN_FORGOTTEN = "RT @[forgotten]: [forgotten]", "[forgotten]"
_TROLL_COLUMNS = ["external_author_id", "author", "content", "region", "language", "publish_date", "harvested_date",
                  "following", "followers", "updates", "post_type", "account_type", "retweet", "account_category",
                  "new_june_2018", "alt_external_id", "tweet_id", "article_url", "tco1_step1", "tco2_step1",
                  "tco3_step1"]


def _jsonl(path, *records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _alice_file(folder):
    """Alice's account and a post of hers that is not the canary (the original is never at hand), with an
    interaction (she mentions Carol) and an observation (its metrics)."""
    return _jsonl(folder / "alice.jsonl", {
        "data": [{"id": "8000", "author_id": ALICE_ID, "text": "bonjour à toutes et à tous @carolzq8",
                  "created_at": "2024-03-01T09:00:00.000Z", "public_metrics": {"like_count": 3, "retweet_count": 1},
                  "entities": {"mentions": [{"username": "carolzq8", "id": "66603", "start": 27, "end": 36}]}}],
        "includes": {"users": [{"id": ALICE_ID, "username": ALICE, "name": "Alice Zq"}]}})


def _repost_files(folder):
    """The reposts, one file per form, none holding the original (returned in ingest order)."""
    mention = {"username": ALICE, "id": ALICE_ID, "start": 3, "end": 3 + len(ALICE)}
    v2 = _jsonl(folder / "x-v2-no-includes.jsonl", {"data": [
        {"id": "8101", "author_id": "55503", "text": f"RT @{ALICE}: {CANARY}", "created_at": "2024-03-01T10:00:00.000Z",
         "referenced_tweets": [{"type": "retweeted", "id": "8001"}], "entities": {"mentions": [mention]}},
        {"id": "8102", "author_id": "55503", "text": f"RT @carolzq8: {CAROL_WORDS}",
         "created_at": "2024-03-01T10:01:00.000Z",
         "referenced_tweets": [{"type": "retweeted", "id": "8002"}],
         "entities": {"mentions": [{"username": "carolzq8", "id": "66603", "start": 3, "end": 11}]}},
        {"id": "8103", "author_id": "55503", "text": MENTION, "created_at": "2024-03-01T10:02:00.000Z",
         "entities": {"mentions": [{"username": ALICE, "id": ALICE_ID, "start": 13, "end": 22}]}}]})
    v1 = _jsonl(folder / "x-v1-rt-text.jsonl", {
        "id": 8201, "id_str": "8201", "created_at": "Fri Mar 01 11:00:00 +0000 2024", "text": f"RT @{ALICE}: {CANARY}",
        "user": {"id": 55504, "id_str": "55504", "screen_name": "davezq8", "name": "Dave"},
        "entities": {"user_mentions": [{"screen_name": ALICE, "id": int(ALICE_ID), "id_str": ALICE_ID,
                                        "name": "Alice Zq", "indices": [3, 3 + len(ALICE)]}],
                     "hashtags": [], "urls": []}})
    troll = folder / "IRAhandle_tweets_zq8.csv"
    with troll.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, _TROLL_COLUMNS)
        writer.writeheader()
        writer.writerow({"external_author_id": "55505", "author": "ERINZQ8", "content": f"RT @{ALICE}: {CANARY}",
                         "region": "France", "language": "French", "publish_date": "3/1/2024 12:00",
                         "harvested_date": "3/1/2024 12:05", "following": "10", "followers": "20", "updates": "30",
                         "post_type": "RETWEET", "account_type": "French", "retweet": "1",
                         "account_category": "LeftTroll", "tweet_id": "8301"})
    generic = folder / "generic.csv"
    generic.write_text("id,author,author_id,body,type,parent_author\n"
                       f'8401,fayzq8,55506,"{CANARY}",repost,{ALICE_ID}\n', encoding="utf-8")
    mapping = folder / "generic.yaml"
    mapping.write_text("platform: x\ncolumns: {post_id: id, handle: author, account_id: author_id, text: body, "
                       "kind: type, parent_account_id: parent_author}\n")
    return [v2, v1, troll, (generic, mapping)]


def _ingest_reposts(ws, files):
    for path in files:
        if isinstance(path, tuple):
            ingest(ws, path[0], format_name="generic-csv", options={"mapping": str(path[1])})
        else:
            ingest(ws, path)


@pytest.fixture(scope="module")
def orders(tmp_path_factory):
    """{order: workspace}: Alice forgotten after the reposts came in, and before."""
    folder = tmp_path_factory.mktemp("copied-words")
    alice, reposts = _alice_file(folder), _repost_files(folder)
    out = {}
    for order in ("ingest-then-forget", "forget-then-ingest"):
        ws = Workspace.init(folder / order)
        ingest(ws, alice)
        if order == "ingest-then-forget":
            _ingest_reposts(ws, reposts)
            assert hits(workspace_bytes(ws.root), {CANARY.lower()})  # the sentence was there
            forget(ws, f"x:{ALICE}")
        else:
            forget(ws, f"x:{ALICE}")
            _ingest_reposts(ws, reposts)
        out[order] = ws
    return out


ORDERS = ["ingest-then-forget", "forget-then-ingest"]


def _texts(ws) -> dict[str, str]:
    return dict(query(ws, "SELECT post_id, text FROM posts"))


@pytest.mark.parametrize("order", ORDERS)
def test_no_byte_of_the_workspace_holds_the_forgotten_words(orders, order):
    files = workspace_bytes(orders[order].root)
    assert any(name.startswith("raw/") for name in files)
    assert hits(files, {CANARY.lower(), "canari zq8 chante faux"}) == {}


@pytest.mark.parametrize("order", ORDERS)
def test_the_reposts_and_their_authors_stay_without_the_copied_words(orders, order):
    ws = orders[order]
    texts = _texts(ws)
    assert {p: texts.get(p) for p in ("8101", "8201", "8301", "8401")} == {
        "8101": RT_FORGOTTEN, "8201": RT_FORGOTTEN, "8301": RT_FORGOTTEN, "8401": PLAIN_FORGOTTEN}
    authors = {h for (h,) in query(ws, "SELECT lower(handle) FROM accounts WHERE handle IS NOT NULL")}
    assert {"davezq8", "erinzq8", "fayzq8"} <= authors
    assert query(ws, "SELECT account_id FROM posts WHERE post_id = '8101'") == [("55503",)]
    # nothing points at Alice's post any more: the repost keeps its kind, not its parent
    assert query(ws, "SELECT kind, parent_post_id, parent_account_id FROM posts WHERE post_id IN ('8101', '8401')") \
        == [("repost", None, None)] * 2
    assert hits(workspace_bytes(ws.root), {ALICE, ALICE_ID}) == {}


@pytest.mark.parametrize("order", ORDERS)
def test_other_words_stay(orders, order):
    texts = _texts(orders[order])
    assert texts["8102"] == f"RT @carolzq8: {CAROL_WORDS}"  # someone else's repost of someone not forgotten
    assert texts["8103"] == "Je pense que @[forgotten] a raison sur les retraites"


def test_both_orders_leave_the_same_rows(orders):
    sql = ("SELECT post_id, account_id, kind, text, parent_post_id, parent_account_id, root_post_id, mentions "
           "FROM posts ORDER BY post_id")
    rows = {order: query(ws, sql) for order, ws in orders.items()}
    assert rows["ingest-then-forget"] == rows["forget-then-ingest"]
    assert len(rows["forget-then-ingest"]) == 6  # the four reposts and Bob's two other posts


def test_both_orders_leave_the_same_archive(orders):
    def archives(ws):
        return {p.name: decompress(decompress(p.read_bytes())) for p in ws.raw_dir.glob("*/*.zst")}

    before, after = archives(orders["forget-then-ingest"]), archives(orders["ingest-then-forget"])
    assert len(before) == 5 and before == after


def test_an_unscoped_handle_hash_from_an_older_list_recognises_the_rt_prefix(workspace, tmp_path):
    """A list written before handles were hashed with their platform names the bare handle: honoured."""
    with workspace.writer() as con:
        con.execute("INSERT INTO suppressions VALUES (?, ?)", [key_hash(ALICE), datetime.now(timezone.utc)])
    v2, v1 = _repost_files(tmp_path)[:2]
    ingest(workspace, v2, v1)
    assert dict(query(workspace, "SELECT post_id, text FROM posts")) == {
        "8101": RT_FORGOTTEN, "8102": f"RT @carolzq8: {CAROL_WORDS}",
        "8103": "Je pense que @[forgotten] a raison sur les retraites", "8201": RT_FORGOTTEN}
    assert hits(workspace_bytes(workspace.root), {CANARY.lower()}) == {}
