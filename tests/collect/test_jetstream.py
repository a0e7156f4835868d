"""Jetstream subscription against a local WebSocket server replaying recorded events (twitwi's
bluesky-firehose-posts.json) plus a delete and a like built from them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson

from confiance.collect import collect, parse_config
from confiance.collect.bluesky import keyword_matcher
from confiance.workspace import Workspace
from tests.collect._replay import JetstreamServer, jetstream_events
from tests.conftest import scalar

KEYWORDS = ["hiking", "Humanities", "christmas"]


def _stream() -> list[dict]:
    events = jetstream_events()
    delete = copy.deepcopy(events[0])
    delete["time_us"] += 1
    delete["commit"] = {"rev": "x", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": events[1]["commit"]["rkey"]}
    like = copy.deepcopy(events[2])
    like["time_us"] += 1
    like["commit"]["collection"] = "app.bsky.feed.like"
    like["commit"]["record"] = {"$type": "app.bsky.feed.like", "text": "christmas",
                                "subject": {"uri": f"at://{events[1]['did']}/app.bsky.feed.post/{events[1]['commit']['rkey']}"}}
    return sorted(events + [delete, like], key=lambda e: e["time_us"])


def _expected(keywords: list[str], languages: set[str] | None = None) -> list[int]:
    """time_us of the post creations whose words or tags hold a keyword (computed without the collector)."""
    out = []
    for event in _stream():
        commit = event["commit"]
        if commit["operation"] != "create" or commit["collection"] != "app.bsky.feed.post":
            continue
        record = commit["record"]
        if languages and not languages & {lang.split("-")[0] for lang in record.get("langs", [])}:
            continue
        words = {w.strip(".,!?:;\"'()#").lower() for w in record["text"].split()}
        tags = {f["tag"].lower() for facet in record.get("facets", []) for f in facet["features"] if "tag" in f}
        if any(k.lower() in words | tags for k in keywords):
            out.append(event["time_us"])
    return out


def _config(url: str, **jetstream: object) -> str:
    return json.dumps({"platform": "bluesky", "name": "jet", "contact": "https://example.org/contact",
                       "limits": {"backoff_base_s": 0.01, "max_retries": 3},
                       "jetstream": {"url": url, "keywords": KEYWORDS, "duration_s": 1.5, "flush_s": 0.2, **jetstream}})


def _raw_times(ws: Workspace) -> list[int]:
    lines = []
    for path in sorted((ws.root / "collect" / "jet").glob("*.jsonl"), key=lambda p: p.name.rsplit("-", 1)[1]):
        lines += path.read_bytes().splitlines()
    return [orjson.loads(line)["time_us"] for line in lines]


def test_keyword_filter_matches_whole_words_and_tags_only() -> None:
    events = _stream()
    matches = keyword_matcher(tuple(k.casefold() for k in KEYWORDS))
    assert [e["time_us"] for e in events if matches(e)] == _expected(KEYWORDS)
    assert len(_expected(KEYWORDS)) == 3
    assert not any(keyword_matcher(("hik",))(e) for e in events)  # a word part is not a word
    german = keyword_matcher(("humanities",), ("de",))
    assert [e["time_us"] for e in events if german(e)] == _expected(["humanities"], {"de"})


def test_subscription_stops_at_its_duration_and_keeps_the_matching_posts(workspace: Workspace) -> None:
    with JetstreamServer(_stream()) as server:
        result = collect(workspace, parse_config(_config(server.url), "jet.yaml", "bluesky"), ingest=False)
    assert result.tasks[0].stopped == "duration"
    assert _raw_times(workspace) == _expected(KEYWORDS)
    assert server.connections[0]["wantedCollections"] == "app.bsky.feed.post"
    assert "confiance/" in server.connections[0]["user-agent"]
    state = json.loads((workspace.root / "collect" / "jet.state.json").read_text())
    assert state["tasks"]["jetstream"]["cursor"] == max(e["time_us"] for e in _stream())


def test_dropped_stream_reconnects_from_its_cursor_and_resumes_without_duplicates(workspace: Workspace) -> None:
    with JetstreamServer(_stream(), cut_after=5) as server:
        config = parse_config(_config(server.url), "jet.yaml", "bluesky")
        first = collect(workspace, config, ingest=False)
        assert first.retries == 1
        # the reconnect asks from the last event seen; the replayed one is dropped
        assert server.connections[1]["cursor"] == str(_stream()[4]["time_us"])
        second = collect(workspace, config)  # a new run: the saved cursor, nothing new on the stream
    assert server.connections[2]["cursor"] == str(max(e["time_us"] for e in _stream()))
    assert second.items == 0
    assert _raw_times(workspace) == [] and [r.rejected for r in second.ingested] == [0]
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE platform = 'bluesky'") >= len(_expected(KEYWORDS))
    expected_ids = [f"at://{e['did']}/app.bsky.feed.post/{e['commit']['rkey']}" for e in _stream()
                    if e["time_us"] in _expected(KEYWORDS)]
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE list_contains(?, post_id)", [expected_ids]) == 3
    assert scalar(workspace, "SELECT sum(duplicates) FROM sources") == 0


def test_max_posts_stops_the_stream(workspace: Workspace, tmp_path: Path) -> None:
    with JetstreamServer(_stream()) as server:
        text = json.loads(_config(server.url, flush_events=1))
        text["limits"]["max_posts"] = 2
        result = collect(workspace, parse_config(json.dumps(text), "jet.yaml"), ingest=False)
    assert result.tasks[0].stopped == "max_posts"
    assert _raw_times(workspace) == _expected(KEYWORDS)[:2]
