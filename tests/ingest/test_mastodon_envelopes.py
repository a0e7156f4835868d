"""The collector's Mastodon list envelopes (engagers, follow lists) read by the mastodon importer,
built from the accounts and statuses recorded in Mastodon.py's test_public_tl.yaml cassette; the
expected rows are computed here from acct and url, independently of the importer."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlsplit

import yaml

from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

PUBLIC_TL = FORMATS / "mastodon-api" / "test_public_tl.yaml"


def _timeline() -> list[dict]:
    cassette = yaml.safe_load(PUBLIC_TL.read_text(encoding="utf-8"))
    return next(json.loads(i["response"]["body"]["string"]) for i in cassette["interactions"]
                if "/timelines/public" in i["request"]["uri"])


def _address(account: dict) -> str:
    acct = account["acct"].lower()
    return acct if "@" in acct else f"{acct}@{urlsplit(account['url']).netloc.lower()}"


TIMELINE = _timeline()
ACCOUNTS = list({s["account"]["id"]: s["account"] for s in TIMELINE}.values())
REMOTE = dict(copy.deepcopy(ACCOUNTS[0]), id="42", username="Carol", acct="Carol@Mastodon.Social",
              url="https://mastodon.social/@Carol", bot=True)
ENGAGERS = ACCOUNTS + [REMOTE]


def _envelope(endpoint: str, status: dict, accounts: list[dict]) -> dict:
    return {endpoint: accounts, "status": {"uri": status["uri"], "id": status["id"], "account": status["account"]},
            "host": "localhost:3000"}


def _lines(path, envelopes: list) -> None:
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in envelopes))


def test_engager_envelopes_become_accounts_and_repost_like_edges_and_read_again_add_nothing(workspace, tmp_path):
    first, second = TIMELINE[0], TIMELINE[3]
    envelopes = [_envelope("reblogged_by", first, ENGAGERS[:2]), _envelope("reblogged_by", first, ENGAGERS[2:]),
                 _envelope("favourited_by", second, ENGAGERS), _envelope("favourited_by", second, [])]
    f = tmp_path / "engagers.jsonl"
    _lines(f, envelopes)
    assert detect(f) == "mastodon"
    [result] = ingest(workspace, f)
    listed = sum(len(e.get("reblogged_by", e.get("favourited_by"))) for e in envelopes)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (listed, listed, 0, 0)
    kinds = {"reblogged_by": "repost", "favourited_by": "like"}
    wanted = sorted((_address(a), _address(e["status"]["account"]), kinds[k], e["status"]["uri"])
                    for e in envelopes for k in kinds if k in e for a in e[k])
    assert query(workspace, "SELECT src, dst, kind, post_id FROM interactions ORDER BY ALL") == wanted
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE created_at IS NOT NULL") == 0
    addresses = {_address(a) for a in ENGAGERS} | {_address(first["account"]), _address(second["account"])}
    assert {a for (a,) in query(workspace, "SELECT account_id FROM accounts")} == addresses
    assert scalar(workspace, "SELECT followers FROM accounts WHERE account_id = ?", [_address(REMOTE)]) == \
        REMOTE["followers_count"]
    assert scalar(workspace, "SELECT count(*) FROM posts") == 0  # the status is named, not stored again

    [again] = ingest(workspace, f)
    assert (again.records_read, again.stored, again.duplicates) == (listed, 0, listed)
    assert scalar(workspace, "SELECT count(*) FROM interactions") == len(wanted)


def test_follow_list_envelopes_become_follow_edges(workspace, tmp_path):
    subject = {k: ACCOUNTS[0][k] for k in ("id", "username", "acct", "url")}
    listed = [{k: a[k] for k in ("id", "username", "acct", "url")} for a in ENGAGERS[1:]]
    f = tmp_path / "follows.jsonl"
    _lines(f, [{"followers": listed, "account": subject, "host": "localhost:3000"},
               {"following": listed[:1], "account": subject}])  # no host: the account's
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (len(listed) + 1, len(listed) + 1, 0)
    wanted = sorted([(_address(a), _address(subject)) for a in listed] + [(_address(subject), _address(listed[0]))])
    assert query(workspace, "SELECT src, dst FROM interactions WHERE kind = 'follow' AND post_id = '' ORDER BY ALL") == wanted


def test_malformed_envelopes_are_rejected_with_their_line(workspace, tmp_path):
    status = TIMELINE[0]
    good = _envelope("reblogged_by", status, ENGAGERS[:1])
    no_uri = dict(good, status={"id": status["id"], "account": status["account"]})
    not_a_list = dict(good, reblogged_by={"id": "1"})
    bad_account = _envelope("favourited_by", status, [{"id": "7", "display_name": "no acct"}, "text", ENGAGERS[1]])
    no_host = {"followers": ENGAGERS[:1], "account": {"id": "9", "acct": "x"}}
    f = tmp_path / "bad.jsonl"
    _lines(f, [good, no_uri, not_a_list, bad_account, no_host, "{not json"])
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (1 + 1 + 1 + 3 + 1 + 1, 2, 6)
    rejects = query(workspace, "SELECT line_no, item, reason FROM rejects ORDER BY line_no, item")
    assert [(line, item) for line, item, _ in rejects] == [(2, 0), (3, 0), (4, 0), (4, 1), (5, 0), (6, 0)]
    reasons = [reason for _, _, reason in rejects]
    assert "uri" in reasons[0] and "list of accounts" in reasons[1] and "acct" in reasons[2]
    assert "not a JSON object" in reasons[3] and "host" in reasons[4]
