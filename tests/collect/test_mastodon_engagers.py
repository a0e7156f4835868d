"""Mastodon engagers (reblogged_by / favourited_by) and follow lists, against a local instance that
replays the recorded statuses of Mastodon.py's cassettes with boost and favourite counts set by the
test, engager lists paged with Link headers, a 401, and accounts that set ``noindex``."""

from __future__ import annotations

import copy
import json
import logging
from urllib.parse import urlsplit

import orjson
import pytest

from confiance.collect import CollectConfigError, FakeClock, collect, parse_config
from confiance.graph.build import build_edges, load_graph
from confiance.workspace import Workspace
from tests.collect._replay import Reply, ReplayServer, mastodon_pages, mastodon_statuses, pages_of
from tests.conftest import query

TAG = "/api/v1/timelines/tag/python"
LOOKUP = "/api/v1/accounts/lookup"
ENGAGER_PAGE = 2  # accounts per engagers page on this instance


def _account(base: dict, number: int, username: str, host: str | None = None, **extra: object) -> dict:
    """A copy of a recorded account renamed: local to the recording instance, or remote on ``host``."""
    url = f"https://{host}/@{username}" if host else f"http://localhost:3000/@{username}"
    return dict(base, id=str(number), username=username, acct=f"{username}@{host}" if host else username, url=url,
                uri=url, **extra)


def _address(account: dict) -> str:
    """The global address, computed here from acct and url (not by the importer's code)."""
    acct = account["acct"].lower()
    return acct if "@" in acct else f"{acct}@{urlsplit(account['url']).netloc.lower()}"


STATUSES = copy.deepcopy(mastodon_statuses())
BY_ACCT = {s["account"]["acct"]: s["account"] for s in STATUSES}
ADMIN, TEST1, TEST2 = BY_ACCT["admin"], BY_ACCT["mastodonpy_test"], BY_ACCT["mastodonpy_test_2"]
CAROL = _account(ADMIN, 901, "Carol", "Mastodon.Social")
DAN = _account(ADMIN, 902, "dan", "piaille.fr")
EVE = _account(ADMIN, 903, "eve", "mastodon.social", noindex=True)

# the boosted status behind a boost in the timeline (STATUSES[10] becomes that boost)
BOOSTED = dict(copy.deepcopy(STATUSES[6]), reblogs_count=2)
STATUSES[10].update(content="", mentions=[], tags=[], reblog=BOOSTED)
COUNTS = {0: (3, 1), 1: (2, 2), 4: (5, 2), 7: (0, 3)}  # index -> (reblogs_count, favourites_count)
for index, (reblogs, favourites) in COUNTS.items():
    STATUSES[index].update(reblogs_count=reblogs, favourites_count=favourites)
ENGAGERS = {  # (status id, endpoint) -> the accounts the instance lists
    (STATUSES[0]["id"], "reblogged_by"): [ADMIN, CAROL, DAN],
    (STATUSES[1]["id"], "reblogged_by"): [TEST1, EVE],
    (STATUSES[1]["id"], "favourited_by"): [CAROL, TEST2],
    (BOOSTED["id"], "reblogged_by"): [ADMIN, DAN],
    (STATUSES[7]["id"], "favourited_by"): [ADMIN, DAN, CAROL],
}
REFUSED = STATUSES[4]["id"]  # this status's lists need a login (401)
FOLLOWERS = [TEST1, EVE, CAROL, DAN, TEST2]


def _engager_route(accounts: list[dict], path: str):
    def route(params: dict[str, str], server: ReplayServer) -> Reply:
        start = int(params.get("max_id", "0"))
        chunk = accounts[start:start + ENGAGER_PAGE]
        more = start + ENGAGER_PAGE < len(accounts)
        headers = {"Link": f'<{server.url}{path}?max_id={start + ENGAGER_PAGE}>; rel="next"'} if more else {}
        return Reply(body=chunk, headers=headers)

    return route


def _lookup(params: dict[str, str], server: ReplayServer) -> Reply:
    known = {"admin": ADMIN, "eve@mastodon.social": EVE}
    account = known.get(params.get("acct", ""))
    return Reply(body=account) if account else Reply(404, {"error": "Record not found"})


class Instance(ReplayServer):
    def __init__(self) -> None:
        routes = {TAG: mastodon_pages(pages_of(STATUSES, 3), TAG), LOOKUP: _lookup}
        for (status_id, endpoint), accounts in ENGAGERS.items():
            path = f"/api/v1/statuses/{status_id}/{endpoint}"
            routes[path] = _engager_route(accounts, path)
        for endpoint in ("reblogged_by", "favourited_by"):
            routes[f"/api/v1/statuses/{REFUSED}/{endpoint}"] = lambda q, s: Reply(401, {"error": "login required"})
        for subject in (ADMIN, EVE):
            path = f"/api/v1/accounts/{subject['id']}/followers"
            routes[path] = _engager_route(FOLLOWERS, path)
        path = f"/api/v1/accounts/{ADMIN['id']}/following"
        routes[path] = _engager_route([CAROL], path)
        super().__init__(routes)

    def engager_calls(self) -> list[tuple[str, str, dict]]:
        """(status id, endpoint, query) of every engagers request, in order."""
        out = []
        for path, params in self.requests:
            parts = path.split("/")
            if path.startswith("/api/v1/statuses/"):
                out.append((parts[4], parts[5], params))
        return out


def _config(url: str, engagers: object = None, limits: dict | None = None, **instance: object) -> str:
    text = {"platform": "mastodon", "name": "masto", "contact": "research@example.org",
            "limits": {"min_interval_s": 0, "max_retries": 1, **(limits or {})},
            "instances": [{"url": url, **instance}]}
    if engagers is not None:
        text["engagers"] = engagers
    return json.dumps(text)


def _lines(ws: Workspace) -> list[dict]:
    lines = []
    for path in sorted((ws.root / "collect" / "masto").glob("*.jsonl"), key=lambda p: p.name.rsplit("-", 1)[1]):
        lines += [orjson.loads(line) for line in path.read_bytes().splitlines()]
    return lines


def _engager_lines(ws: Workspace) -> list[tuple[str, str, list[str]]]:
    out = []
    for line in _lines(ws):
        for endpoint in ("reblogged_by", "favourited_by"):
            if endpoint in line:
                out.append((line["status"]["id"], endpoint, [a["id"] for a in line[endpoint]]))
    return out


def _expected_pages(status_id: str, endpoint: str) -> list[list[str]]:
    """The account ids of each page the instance serves, those that set noindex left out."""
    return [[a["id"] for a in page if not a.get("noindex")] for page in pages_of(ENGAGERS[(status_id, endpoint)], ENGAGER_PAGE)]


# the engagers each status gets, in the order the collector asks for them, and the lines it writes
ORDER = [(STATUSES[0]["id"], "reblogged_by"), (STATUSES[1]["id"], "reblogged_by"),
         (STATUSES[1]["id"], "favourited_by"), (STATUSES[7]["id"], "favourited_by"), (BOOSTED["id"], "reblogged_by")]
EXPECTED_LINES = [(s, e, ids) for s, e in ORDER for ids in _expected_pages(s, e) if ids]


def test_engagers_over_the_threshold_paged_401_skipped_noindex_left_out_then_ingested_as_graph_edges(
        workspace: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="confiance.collect.mastodon")
    with Instance() as server:
        config = parse_config(_config(server.url, {"min_count": 2}, hashtags=["python"]), "m.yaml", "mastodon")
        result = collect(workspace, config, clock=clock, ingest=False)
        calls = server.engager_calls()
        lines = _engager_lines(workspace)
        collect(workspace, config, clock=clock)  # ingests; the update pass sees no new status
    asked = [(status_id, endpoint) for status_id, endpoint, q in calls if "max_id" not in q]
    # reblogs/favourites counts >= 2 only; the boost's boosted status; the 401 status once, not its favourites
    assert asked == ORDER[:3] + [(REFUSED, "reblogged_by")] + ORDER[3:]
    assert result.skipped == 1
    [skip] = [r.getMessage() for r in caplog.records if r.name == "confiance.collect.mastodon"]
    assert "401" in skip and REFUSED not in skip and STATUSES[4]["account"]["acct"] not in skip
    assert lines == EXPECTED_LINES
    [summary] = result.tasks
    assert summary.side_pages == sum(len(_expected_pages(s, e)) for s, e in ORDER) + 1  # + the 401
    assert summary.side_items == sum(len(ids) for _, _, ids in EXPECTED_LINES)
    assert summary.items - summary.side_items == len(STATUSES)

    statuses = {s["id"]: s for s in STATUSES + [BOOSTED]}
    kinds = {"reblogged_by": "repost", "favourited_by": "like"}
    wanted = {(_address(a), _address(statuses[s]["account"]), kinds[e], statuses[s]["uri"])
              for s, e in ORDER for a in ENGAGERS[(s, e)] if not a.get("noindex")}
    got = set(query(workspace, "SELECT src, dst, kind, post_id FROM interactions WHERE kind IN ('repost', 'like') "
                               "AND post_id IN (SELECT unnest(?))", [[statuses[s]["uri"] for s, _ in ORDER]]))
    assert got == wanted
    assert query(workspace, "SELECT count(*) FROM rejects") == [(0,)]
    assert query(workspace, "SELECT count(*) FROM accounts WHERE account_id = ?", [_address(EVE)]) == [(0,)]
    with workspace.writer() as con:
        build_edges(con, "t")
        graph = load_graph(con, kinds=["repost"])
        ids = graph.account_id
        edges = {(ids[s], ids[d]) for s, d in zip(graph.src.tolist(), graph.dst.tolist())}
    boosts = {(src, dst) for src, dst, kind, _ in wanted if kind == "repost" and src != dst}
    assert boosts and boosts <= edges


def test_per_run_budget_and_page_limit(workspace: Workspace) -> None:
    with Instance() as server:
        config = parse_config(_config(server.url, {"min_count": 2, "max_statuses": 2, "max_pages": 1, "favourites": False},
                                      hashtags=["python"]), "m.yaml")
        collect(workspace, config, clock=FakeClock(), ingest=False)
        asked = [(status_id, endpoint, q) for status_id, endpoint, q in server.engager_calls()]
    assert [(s, e) for s, e, _ in asked] == [ORDER[0], ORDER[1]]
    assert all("max_id" not in q for _, _, q in asked)  # one page each
    assert _engager_lines(workspace) == [(s, e, _expected_pages(s, e)[0]) for s, e in ORDER[:2]]


def test_resumes_inside_the_engagers_and_a_page_limit_waits_for_them(workspace: Workspace, tmp_path) -> None:
    class Crash(Exception):
        pass

    def crash(stage: str, committed: int) -> None:
        if stage == "committed" and committed == 2:  # timeline page 1, then the first engagers page
            raise Crash()

    with Instance() as server:
        config = parse_config(_config(server.url, {"min_count": 2}, hashtags=["python"]), "m.yaml")
        with pytest.raises(Crash):
            collect(workspace, config, clock=FakeClock(), checkpoint_hook=crash, ingest=False)
        first = len(server.engager_calls())
        collect(workspace, config, clock=FakeClock(), ingest=False)
        resumed = server.engager_calls()[first:]
    assert first == 1
    assert (resumed[0][0], resumed[0][1], resumed[0][2].get("max_id")) == (*ORDER[0], str(ENGAGER_PAGE))
    assert _engager_lines(workspace) == EXPECTED_LINES  # each page once

    with Instance() as server:  # max_pages 1: the first page's engagers still come in this run
        limited = Workspace.init(tmp_path / "limited")
        config = parse_config(_config(server.url, {"min_count": 2}, {"max_pages": 1}, hashtags=["python"]), "m.yaml")
        result = collect(limited, config, clock=FakeClock(), ingest=False)
        assert len(server.calls(TAG)) == 1
    assert result.tasks[0].stopped == "max_pages"
    assert [(s, e) for s, e, _ in _engager_lines(limited)] == [(ORDER[0][0], ORDER[0][1])] * 2 + list(ORDER[1:3])


def test_follow_lists_are_minimised_skip_noindex_and_are_collected_once(workspace: Workspace) -> None:
    with Instance() as server:
        config = parse_config(_config(server.url, followers_of=["admin", "eve@mastodon.social"], following_of=["@admin"]),
                              "m.yaml")
        result = collect(workspace, config, clock=FakeClock(), ingest=False)
        assert [t.label for t in result.tasks] == ["followers #1", "followers #2", "following #1"]
        assert len(server.calls(f"/api/v1/accounts/{EVE['id']}/followers")) == 0  # eve set noindex
        lines = _lines(workspace)
        again = collect(workspace, config, clock=FakeClock())
        assert len(server.requests) == 3 + len(pages_of(FOLLOWERS, ENGAGER_PAGE)) + 1  # lookups, pages; none again
    assert again.pages == 0
    assert {key for line in lines for account in line.get("followers", []) + line.get("following", [])
            for key in account} == {"id", "username", "acct", "url"}
    follows = set(query(workspace, "SELECT src, dst FROM interactions WHERE kind = 'follow'"))
    assert follows == {(_address(a), _address(ADMIN)) for a in FOLLOWERS if not a.get("noindex")} | {
        (_address(ADMIN), _address(CAROL))}
    assert [r.rejected for r in again.ingested] == [0]


@pytest.mark.parametrize("engagers, field", [
    ({"min_count": 0}, "engagers.min_count"),
    ({"max_statuses": "ten"}, "engagers.max_statuses"),
    ({"boosts": False, "favourites": False}, "engagers"),
    ({"boost": True}, "engagers.boost"),
    ({"favourites": "yes"}, "engagers.favourites"),
])
def test_bad_engagers_settings_name_the_field(engagers: dict, field: str) -> None:
    with pytest.raises(CollectConfigError) as error:
        parse_config(_config("https://example.social", engagers, hashtags=["x"]), "m.yaml")
    assert error.value.field == field and error.value.file == "m.yaml"


def test_engagers_are_off_unless_configured() -> None:
    config = parse_config(_config("https://example.social", hashtags=["x"]), "m.yaml")
    assert config.engagers is None
    assert parse_config(_config("https://example.social", True, hashtags=["x"]), "m.yaml").engagers.min_count == 1
