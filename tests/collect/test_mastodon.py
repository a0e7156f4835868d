"""Mastodon collector against a local instance that replays the statuses recorded in Mastodon.py's
cassettes (test_public_tl.yaml, test_status_reply_with_quote.yaml), paged with Link headers."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from confiance.collect import FakeClock, collect, parse_config
from confiance.workspace import Workspace
from tests.collect._replay import Fault, ReplayServer, http_date, mastodon_pages, mastodon_statuses, pages_of
from tests.conftest import ingest, scalar

TAG = "/api/v1/timelines/tag/python"
PUBLIC = "/api/v1/timelines/public"
LOOKUP = "/api/v1/accounts/lookup"

STATUSES = mastodon_statuses()
ADMIN = next(s["account"] for s in STATUSES if s["account"]["acct"] == "admin")
ADMIN_STATUSES = [s for s in STATUSES if s["account"]["id"] == ADMIN["id"]]
ACCOUNT = f"/api/v1/accounts/{ADMIN['id']}/statuses"


class Instance(ReplayServer):
    def __init__(self, clock: FakeClock, statuses: list[dict] | None = None):
        self.clock = clock
        statuses = statuses if statuses is not None else STATUSES
        routes = {
            TAG: mastodon_pages(pages_of(statuses, 3), TAG),
            PUBLIC: mastodon_pages(pages_of(statuses, 4), PUBLIC),
            LOOKUP: lambda q, s: _lookup(q),
            ACCOUNT: mastodon_pages(pages_of([x for x in statuses if x["account"]["id"] == ADMIN["id"]], 2), ACCOUNT),
        }
        super().__init__(routes, self._rate)

    def _rate(self, server: ReplayServer) -> dict[str, str]:
        reset = datetime.fromtimestamp(self.clock.time() + 300, tz=timezone.utc).isoformat().replace("+00:00", "Z")
        return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "299", "X-RateLimit-Reset": reset}


def _lookup(query: dict[str, str]):
    from tests.collect._replay import Reply

    return Reply(body=ADMIN) if query.get("acct") == "admin" else Reply(404, {"error": "Record not found"})


def _config(url: str, *, limits: dict | None = None, **instance: object) -> str:
    return json.dumps({"platform": "mastodon", "name": "masto", "contact": "research@example.org",
                       "limits": {"min_interval_s": 0, "backoff_base_s": 0.5, "max_retries": 3, "page_size": 40,
                                  **(limits or {})},
                       "instances": [{"url": url, **instance}]})


def _raw_pages(ws: Workspace) -> list[list[dict]]:
    pages = []
    for path in sorted((ws.root / "collect" / "masto").glob("*.jsonl"), key=lambda p: p.name.rsplit("-", 1)[1]):
        pages += [orjson.loads(line)["statuses"] for line in path.read_bytes().splitlines()]
    return pages


def _ids(pages: list[list[dict]]) -> list[list[str]]:
    return [[s["id"] for s in page] for page in pages]


def test_pages_through_link_headers_and_ingests_like_the_served_statuses(workspace: Workspace, tmp_path: Path) -> None:
    clock = FakeClock()
    with Instance(clock) as server:
        config = parse_config(_config(server.url, hashtags=["#Python"], timelines=["local"], accounts=["@admin"]),
                              "m.yaml", "mastodon")
        result = collect(workspace, config, clock=clock, ingest=False)
        assert [("max_id" in q) for q in server.calls(TAG)] == [False, True, True, True]
        assert server.calls(PUBLIC)[0] == {"local": "true", "limit": "40"}
        assert server.calls(LOOKUP) == [{"acct": "admin"}]
        served = _ids(pages_of(STATUSES, 3)) + _ids(pages_of(STATUSES, 4)) + _ids(pages_of(ADMIN_STATUSES, 2))
        assert _ids(_raw_pages(workspace)) == served
        assert [t.label for t in result.tasks] == ["hashtag #1", "local timeline #1", "account #1"]
        ingested = collect(workspace, config, clock=clock).ingested  # newer statuses: none
        assert server.calls(LOOKUP) == [{"acct": "admin"}]  # the account id was kept in the state
    assert sum(r.rejected for r in ingested) == 0
    # the same responses, saved by the test as the plain API arrays they are (one .json file each)
    reference = Workspace.init(tmp_path / "reference")
    for i, page in enumerate(pages_of(STATUSES, 3) + pages_of(STATUSES, 4) + pages_of(ADMIN_STATUSES, 2)):
        (tmp_path / f"page-{i:02d}.json").write_bytes(orjson.dumps(page))
    ingest(reference, *sorted(tmp_path.glob("page-*.json")))
    for sql in ("SELECT count(*) FROM posts", "SELECT count(*) FROM accounts", "SELECT count(*) FROM interactions",
                "SELECT count(*) FROM posts WHERE kind = 'reply'", "SELECT count(*) FROM rejects"):
        assert scalar(workspace, sql) == scalar(reference, sql), sql
    assert scalar(workspace, "SELECT sum(records_read) FROM sources") == 2 * len(STATUSES) + len(ADMIN_STATUSES)
    uris = {s["uri"] for s in STATUSES}
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE list_contains(?, post_id)", [sorted(uris)]) == len(uris)
    # the reply that quotes, resolved within its page: a reply with a quote interaction
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE kind = 'quote'") >= 1


def test_a_finished_timeline_collects_only_newer_statuses_next_time(workspace: Workspace) -> None:
    clock = FakeClock()
    older = STATUSES[3:]
    with Instance(clock, older) as server:
        config = parse_config(_config(server.url, hashtags=["python"]), "m.yaml")
        collect(workspace, config, clock=clock, ingest=False)
        server.routes[TAG] = mastodon_pages(pages_of(STATUSES, 3), TAG)  # three new statuses since
        before = len(server.calls(TAG))
        result = collect(workspace, config, clock=clock, ingest=False)
        calls = server.calls(TAG)[before:]
    assert calls[0]["min_id"] == older[0]["id"]
    assert result.items == 3
    assert _ids(_raw_pages(workspace))[-1] == [s["id"] for s in STATUSES[:3]]
    assert sum(len(p) for p in _raw_pages(workspace)) == len(STATUSES)


def test_since_leaves_out_older_statuses_and_stops(workspace: Workspace) -> None:
    clock = FakeClock()
    created = sorted(datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) for s in STATUSES)
    since = created[len(created) // 2]
    with Instance(clock) as server:
        config = parse_config(_config(server.url, hashtags=["python"], limits={"since": since.isoformat()}), "m.yaml")
        collect(workspace, config, clock=clock, ingest=False)
    kept = [s["id"] for page in _raw_pages(workspace) for s in page]
    assert kept == [s["id"] for s in STATUSES if datetime.fromisoformat(s["created_at"].replace("Z", "+00:00")) >= since]
    assert len(server.calls(TAG)) < len(pages_of(STATUSES, 3))


def test_429_with_http_date_then_dropped_connection_then_resume_after_crash(workspace: Workspace) -> None:
    clock = FakeClock()

    class Crash(Exception):
        pass

    def crash(stage: str, committed: int) -> None:
        if stage == "committed" and committed == 2:
            raise Crash()

    with Instance(clock) as server:
        start = clock.time()
        server.faults.append(Fault(TAG, "status", 429, {"Retry-After": http_date(start + 60)}, when=lambda q: "max_id" in q))
        server.faults.append(Fault(TAG, "drop", when=lambda q: "max_id" in q))
        config = parse_config(_config(server.url, hashtags=["python"]), "m.yaml")
        with pytest.raises(Crash):
            collect(workspace, config, clock=clock, checkpoint_hook=crash)
        assert clock.sleeps[0] == 60.0
        first = len(server.calls(TAG))
        result = collect(workspace, config, clock=clock, ingest=False)
        resumed = server.calls(TAG)[first:]
    assert first == 4  # page 1, a 429, a dropped page 2, page 2
    assert resumed[0]["max_id"] == STATUSES[5]["id"]  # from the Link saved after page 2
    assert result.retries == 0
    served = _ids(pages_of(STATUSES, 3))
    # the crash run's chunk was closed before the error and ingested by neither run: both are on disk
    assert _ids(_raw_pages(workspace)) == served


def test_link_to_another_host_is_refused(workspace: Workspace) -> None:
    from confiance.collect import CollectError
    from tests.collect._replay import Reply

    clock = FakeClock()
    with Instance(clock) as server:
        server.routes[TAG] = lambda q, s: Reply(body=STATUSES[:2], headers={"Link": '<https://elsewhere.example/x?max_id=1>; rel="next"'})
        with pytest.raises(CollectError, match="another host"):
            collect(workspace, parse_config(_config(server.url, hashtags=["python"]), "m.yaml"), clock=clock)
    assert len(server.calls(TAG)) == 1


@pytest.mark.parametrize("respect", [True, False])
def test_authors_who_set_noindex_are_left_out_unless_asked(workspace: Workspace, respect: bool) -> None:
    import copy

    statuses = copy.deepcopy(STATUSES)
    for status in statuses:
        if status["account"]["acct"] == "mastodonpy_test_2":
            status["account"]["noindex"] = True
    clock = FakeClock()
    with Instance(clock, statuses) as server:
        text = json.loads(_config(server.url, hashtags=["python"]))
        text["respect_opt_outs"] = respect
        collect(workspace, parse_config(json.dumps(text), "m.yaml"), clock=clock, ingest=False)
    kept = [s["id"] for page in _raw_pages(workspace) for s in page]
    hidden = [s["id"] for s in statuses if s["account"]["acct"] == "mastodonpy_test_2"]
    assert hidden
    assert kept == [s["id"] for s in statuses if not respect or s["id"] not in hidden]
