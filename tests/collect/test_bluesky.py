"""Bluesky collector against a local AppView that replays the recorded post views (twitwi's
bluesky-posts.json), split into cursor pages, and profile views built from their authors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from confiance.collect import CollectError, FakeClock, collect, parse_config
from confiance.workspace import Workspace
from tests.collect._replay import (
    Fault,
    ReplayServer,
    bluesky_items,
    bluesky_post_views,
    cursor_pages,
    http_date,
    pages_of,
)
from tests.conftest import ingest, scalar

SEARCH = "/xrpc/app.bsky.feed.searchPosts"
AUTHOR = "/xrpc/app.bsky.feed.getAuthorFeed"
FOLLOWERS = "/xrpc/app.bsky.graph.getFollowers"
FOLLOWS = "/xrpc/app.bsky.graph.getFollows"


def _feed_items() -> list[dict]:
    """The recorded feed items (reposts, replies) then post views wrapped as plain feed items."""
    items = bluesky_items()
    feed = [i for i in items if "post" in i and ("reason" in i or "reply" in i)]
    return feed + [{"post": view} for view in bluesky_post_views()[:25]]


def _profiles() -> list[dict]:
    seen: dict[str, dict] = {}
    for view in bluesky_post_views():
        seen.setdefault(view["author"]["did"], view["author"])
    return list(seen.values())


SEARCH_PAGES = pages_of(bluesky_post_views(), 25)
FEED_PAGES = pages_of(_feed_items(), 10)
SUBJECT, *OTHERS = _profiles()
FOLLOWER_PAGES = pages_of(OTHERS, 40)
FOLLOW_PAGES = pages_of(OTHERS[:30], 40)


class Replay(ReplayServer):
    """The AppView: rate-limit headers computed from the test's fake clock."""

    def __init__(self, clock: FakeClock, *, window_limit: int = 3000, window_s: int = 300):
        self.clock, self.window_limit, self.window_s = clock, window_limit, window_s
        self.start = clock.time()
        self.times: list[float] = []
        routes = {
            SEARCH: cursor_pages(SEARCH_PAGES, "posts"),
            AUTHOR: cursor_pages(FEED_PAGES, "feed"),
            FOLLOWERS: cursor_pages(FOLLOWER_PAGES, "followers", {"subject": SUBJECT}),
            FOLLOWS: cursor_pages(FOLLOW_PAGES, "follows", {"subject": SUBJECT}),
        }
        super().__init__(routes, self._rate)

    def _rate(self, server: ReplayServer) -> dict[str, str]:
        now = self.clock.time()
        self.times.append(now)
        window = int((now - self.start) // self.window_s)
        used = sum(1 for t in self.times if int((t - self.start) // self.window_s) == window)
        reset = self.start + (window + 1) * self.window_s
        return {"ratelimit-limit": str(self.window_limit), "ratelimit-remaining": str(max(0, self.window_limit - used)),
                "ratelimit-reset": str(int(reset)), "ratelimit-policy": f"{self.window_limit};w={self.window_s}"}


def _config(url: str, **sections: object) -> str:
    limits = {"min_interval_s": 0, "backoff_base_s": 0.5, "max_retries": 3, "chunk_pages": 3, **sections.pop("limits", {})}
    data = {"platform": "bluesky", "name": "test-bsky", "contact": "research@example.org", "appview": url,
            "limits": limits, **sections}
    return json.dumps(data)  # JSON is YAML


def _everything(url: str, **limits: object) -> str:
    return _config(url, queries=["climat"], actors=["alice.bsky.social"], followers_of=[SUBJECT["handle"]],
                   follows_of=[SUBJECT["did"]], limits=limits)


def _raw_lines(ws: Workspace, suffix: str = ".jsonl") -> list[bytes]:
    """Every line of the closed raw chunks, in the order they were written."""
    folder = ws.root / "collect" / "test-bsky"
    lines: list[bytes] = []
    for path in sorted(folder.glob(f"*{suffix}"), key=lambda p: p.name.rsplit("-", 1)[1]):
        data = path.read_bytes()
        if suffix == ".csv":
            data = data.split(b"\n", 1)[1]
        lines += data.splitlines()
    return lines


def _shown(profile: dict) -> bool:
    """Not opted out of logged-out visibility (such authors are left out by default)."""
    return "!no-unauthenticated" not in {label["val"] for label in profile.get("labels", [])}


def _served_lines() -> list[bytes]:
    """What a correct run writes: each served page once (search pages, then author feed pages),
    without the posts of authors who opted out."""
    lines = []
    for index, page in enumerate(SEARCH_PAGES):
        body = {"posts": [p for p in page if _shown(p["author"])],
                **({"cursor": f"p{index + 1}"} if index + 1 < len(SEARCH_PAGES) else {})}
        lines.append(orjson.dumps(json.loads(json.dumps(body))))
    for index, page in enumerate(FEED_PAGES):
        body = {"feed": [i for i in page if _shown(i["post"]["author"])],
                **({"cursor": f"p{index + 1}"} if index + 1 < len(FEED_PAGES) else {})}
        lines.append(orjson.dumps(json.loads(json.dumps(body))))
    return lines


def _served_edges() -> list[bytes]:
    rows = [f"{p['did']},{SUBJECT['did']},follow,bluesky" for p in OTHERS if _shown(p)]
    rows += [f"{SUBJECT['did']},{p['did']},follow,bluesky" for p in OTHERS[:30] if _shown(p)]
    return [r.encode() for r in rows]


def _served_posts() -> int:
    return (sum(_shown(v["author"]) for v in bluesky_post_views())
            + sum(_shown(i["post"]["author"]) for i in _feed_items()))


def test_collects_every_page_once_and_ingests_like_the_served_responses(workspace: Workspace, tmp_path: Path) -> None:
    clock = FakeClock()
    with Replay(clock) as server:
        config = parse_config(_everything(server.url), "bsky.yaml", "bluesky")
        result = collect(workspace, config, clock=clock, ingest=False)
    assert [q.get("cursor") for q in server.calls(SEARCH)] == [None, "p1", "p2", "p3", "p4"]
    assert [q.get("cursor") for q in server.calls(AUTHOR)] == [None, "p1", "p2"]
    assert len(server.calls(FOLLOWERS)) == len(FOLLOWER_PAGES) and len(server.calls(FOLLOWS)) == 1
    assert all("confiance/" in h["User-Agent"] and "research@example.org" in h["User-Agent"] for h in server.headers_seen)
    assert _raw_lines(workspace) == _served_lines()
    assert _raw_lines(workspace, ".csv") == _served_edges()
    assert result.items == _served_posts() + len(_served_edges())
    assert _served_posts() < len(bluesky_post_views()) + len(_feed_items())  # the recording has opted-out authors
    assert result.pending_files > 0

    # ingest: same store as ingesting the served responses written out by the test itself
    with Replay(clock) as server:
        ingested = collect(workspace, parse_config(_everything(server.url), "bsky.yaml", "bluesky"), clock=clock)
    assert ingested.pending_files == 0
    assert sum(r.rejected for r in ingested.ingested) == 0
    assert not list((workspace.root / "collect" / "test-bsky").glob("*.jsonl"))  # archived, then removed
    reference = Workspace.init(tmp_path / "reference")
    (tmp_path / "served.jsonl").write_bytes(b"\n".join(_served_lines()) + b"\n")
    (tmp_path / "edges.csv").write_bytes(b"source,target,kind,platform\n" + b"\n".join(_served_edges()) + b"\n")
    ingest(reference, tmp_path / "served.jsonl", tmp_path / "edges.csv")
    for sql in ("SELECT count(*) FROM posts", "SELECT count(*) FROM accounts", "SELECT count(*) FROM rejects",
                "SELECT count(*) FROM interactions WHERE kind = 'follow'", "SELECT count(*) FROM interactions"):
        assert scalar(workspace, sql) == scalar(reference, sql), sql
    assert scalar(workspace, "SELECT count(*) FROM rejects") == 0
    served_uris = {v["uri"] for v in bluesky_post_views() if _shown(v["author"])}
    assert scalar(workspace, "SELECT count(DISTINCT post_id) FROM posts WHERE list_contains(?, post_id)",
                  [sorted(served_uris)]) == len(served_uris)
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE kind = 'follow'") == len(_served_edges())


def test_429_waits_for_retry_after_in_seconds_and_as_http_date(workspace: Workspace) -> None:
    clock = FakeClock()
    with Replay(clock) as server:
        server.faults.append(Fault(SEARCH, "status", 429, {"Retry-After": "7"}, when=lambda q: q.get("cursor") == "p1"))
        server.faults.append(Fault(SEARCH, "status", 429, {"Retry-After": http_date(clock.time() + 30)},
                                   when=lambda q: q.get("cursor") == "p2"))
        result = collect(workspace, parse_config(_config(server.url, queries=["climat"]), "b.yaml"), clock=clock,
                         ingest=False)
    # 7 s, then until the date (30 s after the start, 23 s after the first wait)
    assert clock.sleeps == [7.0, 23.0]
    assert result.rate_limited == 2
    assert [q.get("cursor") for q in server.calls(SEARCH)] == [None, "p1", "p1", "p2", "p2", "p3", "p4"]
    assert server.times[4] - server.times[0] == 30.0  # the retried p2 request came at the HTTP date
    assert _raw_lines(workspace) == _served_lines()[: len(SEARCH_PAGES)]


def test_dropped_connection_mid_page_is_retried_and_the_page_kept_once(workspace: Workspace) -> None:
    clock = FakeClock()
    with Replay(clock) as server:
        server.faults.append(Fault(SEARCH, "drop", when=lambda q: q.get("cursor") == "p2"))
        server.faults.append(Fault(SEARCH, "status", 503, when=lambda q: q.get("cursor") == "p3"))
        result = collect(workspace, parse_config(_config(server.url, queries=["climat"]), "b.yaml"), clock=clock,
                         ingest=False)
    assert result.retries == 2
    assert [q.get("cursor") for q in server.calls(SEARCH)] == [None, "p1", "p2", "p2", "p3", "p3", "p4"]
    # full-jitter backoff, each the first retry of its request: within [0, base]
    assert len(clock.sleeps) == 2 and all(0 <= s <= 0.5 for s in clock.sleeps)
    assert _raw_lines(workspace) == _served_lines()[: len(SEARCH_PAGES)]


def test_retries_are_bounded_and_the_error_names_the_endpoint_only(workspace: Workspace) -> None:
    clock = FakeClock()
    with Replay(clock) as server:
        server.faults.append(Fault(SEARCH, "status", 502, times=99, when=lambda q: q.get("cursor") == "p1"))
        with pytest.raises(CollectError, match=r"^searchPosts: HTTP 502, still failing after 3 retries$"):
            collect(workspace, parse_config(_config(server.url, queries=["nom prénom"]), "b.yaml"), clock=clock)
    assert len(server.calls(SEARCH)) == 1 + 4
    assert len(clock.sleeps) == 3 and all(0 <= s <= 0.5 * 2 ** n for n, s in enumerate(clock.sleeps))
    # the first page was committed before the failure: it is kept, ready for the next run
    assert _raw_lines(workspace) == _served_lines()[:1]
    audit = (workspace.audit_path).read_text(encoding="utf-8")
    assert "nom" not in audit and "pr\\u00e9nom" not in audit and "prénom" not in audit


def test_rate_limit_headers_pace_the_requests(workspace: Workspace) -> None:
    """3 requests per 300 s window: the collector waits for each reset, never exceeds the budget."""
    clock = FakeClock()
    with Replay(clock, window_limit=3, window_s=300) as server:
        collect(workspace, parse_config(_config(server.url, queries=["climat"], limits={"rate_reserve": 0}), "b.yaml"),
                clock=clock, ingest=False)
        times = server.times
    assert len(times) == len(SEARCH_PAGES)
    windows = [int((t - times[0]) // 300) for t in times]
    assert max(windows.count(w) for w in set(windows)) == 3
    assert clock.sleeps == [300.0]  # one wait: from the third request to the window's reset
    assert _raw_lines(workspace) == _served_lines()[: len(SEARCH_PAGES)]


class Crash(Exception):
    pass


@pytest.mark.parametrize("stage", ["written", "committed"])
def test_crash_then_resume_keeps_every_page_once(workspace: Workspace, stage: str) -> None:
    """Crash while the 4th page is written but not committed (it is fetched again, once), or just
    after it is committed (it is not fetched again); the raw files hold each page once."""
    clock = FakeClock()

    def crash(at: str, committed: int) -> None:
        if at == stage and committed == 3:
            raise Crash()

    with Replay(clock) as server:
        config = parse_config(_config(server.url, queries=["climat"], actors=["alice.bsky.social"]), "b.yaml")
        with pytest.raises(Crash):
            collect(workspace, config, clock=clock, checkpoint_hook=crash)
        first = [q.get("cursor") for q in server.calls(SEARCH)]
        state = json.loads((workspace.root / "collect" / "test-bsky.state.json").read_text())
        saved = state["tasks"]["search:climat||latest"]["cursor"]
        collect(workspace, config, clock=clock, ingest=False)
        second = [q.get("cursor") for q in server.calls(SEARCH)][len(first):]
        assert _raw_lines(workspace) == _served_lines()
        results = collect(workspace, config, clock=clock).ingested
        third = [q for q in server.calls(SEARCH)][len(first) + len(second):]
    # "written": p3 reached the disk, its cursor did not; "committed": the crash came after p2's commit
    assert first == ([None, "p1", "p2", "p3"] if stage == "written" else [None, "p1", "p2"])
    assert saved == "p3"
    assert second == ["p3", "p4"]  # the rest of the pass, from the saved cursor
    # the third run starts a new pass for posts newer than the newest seen
    assert [q.get("cursor") for q in third] == [None, "p1", "p2", "p3", "p4"]
    assert {q.get("since") for q in third} == {max(v["indexedAt"] for v in bluesky_post_views())}
    assert sum(r.rejected for r in results) == 0
    assert scalar(workspace, "SELECT count(*) FROM rejects") == 0


_KILL_SCRIPT = """
import os, signal, sys
from confiance.collect import FakeClock, collect, load_config
from confiance.workspace import Workspace

def kill(stage, committed):
    if stage == "written" and committed == 4:
        os.kill(os.getpid(), signal.SIGKILL)

collect(Workspace.open(sys.argv[1]), load_config(sys.argv[2]), clock=FakeClock(), checkpoint_hook=kill)
"""


def test_killed_process_resumes_with_zero_duplicates(workspace: Workspace, tmp_path: Path) -> None:
    """SIGKILL after the 5th page reached the disk but before its cursor was saved: the restart cuts
    the chunk back to its committed size and fetches that page again; the store has no duplicate."""
    clock = FakeClock()
    with Replay(clock) as server:
        config_path = tmp_path / "bsky.yaml"
        config_path.write_text(_config(server.url, queries=["climat"], actors=["alice.bsky.social"],
                                       limits={"chunk_pages": 10}), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                                            os.environ.get("PYTHONPATH", "")])}
        run = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(workspace.root), str(config_path)], env=env,
                             capture_output=True, timeout=120)
        assert run.returncode == -9, run.stderr.decode()[-2000:]
        partial = list((workspace.root / "collect" / "test-bsky").glob("*.partial"))
        assert len(partial) == 1 and partial[0].read_bytes().count(b"\n") == 5  # 5 written, 4 committed
        killed = len(server.requests)
        from confiance.collect import load_config

        result = collect(workspace, load_config(config_path), clock=clock)
        resumed = [q.get("cursor") for p, q in server.requests[killed:] if p == SEARCH]
    assert resumed == ["p4"]
    assert sum(r.rejected for r in result.ingested) == 0
    reference = Workspace.init(tmp_path / "reference")
    (tmp_path / "served.jsonl").write_bytes(b"\n".join(_served_lines()) + b"\n")
    ingest(reference, tmp_path / "served.jsonl")
    for sql in ("SELECT count(*) FROM posts", "SELECT count(DISTINCT post_id) FROM observations", "SELECT count(*) FROM interactions",
                "SELECT sum(records_read) FROM sources", "SELECT sum(duplicates) FROM sources"):
        assert scalar(workspace, sql) == scalar(reference, sql), sql


def test_opted_out_authors_are_kept_only_when_asked(workspace: Workspace) -> None:
    clock = FakeClock()
    with Replay(clock) as server:
        text = json.loads(_config(server.url, queries=["climat"]))
        text["respect_opt_outs"] = False
        collect(workspace, parse_config(json.dumps(text), "b.yaml"), clock=clock, ingest=False)
    posts = [p for line in _raw_lines(workspace) for p in orjson.loads(line)["posts"]]
    assert len(posts) == len(bluesky_post_views())
    assert sum(not _shown(p["author"]) for p in posts) > 0
