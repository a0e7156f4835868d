"""Bluesky collector: the public AppView (XRPC over HTTPS, no account needed) and Jetstream.

Tasks, one per configured item:

- ``app.bsky.feed.searchPosts`` per query (``q``, ``lang``, ``sort``, ``since``; cursor pages).
  Raw file: one response body per line (``{"posts": [postView…], "cursor"}``).
- ``app.bsky.feed.getAuthorFeed`` per actor (handle or DID). Raw: one response body per line
  (``{"feed": [feedViewPost…], "cursor"}``), items older than ``limits.since`` left out.
- ``app.bsky.graph.getFollowers`` / ``getFollows`` per account. The bluesky importer reads no
  profile lists, so these become an edge CSV (``source,target,kind,platform``: follower DID,
  followed DID, ``follow``, ``bluesky``) that the ``edges-csv`` importer reads. Only the two DIDs
  are kept (minimisation): handles and profiles of followers are not stored.
- With ``respect_opt_outs`` (the default), posts, feed items and follow edges of accounts labelled
  ``!no-unauthenticated`` (they asked apps not to show them to logged-out visitors) are left out
  of what is written. Jetstream events carry no labels: the filter cannot apply there.
- ``com.atproto.sync.getRepo`` per entry of ``repositories`` (handle or DID): the account's whole
  public repository (posts, reposts, likes, follows, profile), one CAR v1 file per account that the
  ``bluesky-car`` importer reads. Identity resolution, the checks on the hosts a DID document names,
  the size limit and the opt-out are in :mod:`confiance.collect.bluesky_repo`.
- Jetstream (``/subscribe?wantedCollections=app.bsky.feed.post``): post-create events whose text
  or tags contain a keyword (whole words, case-insensitive), for ``duration_s`` seconds. Raw: one
  event per line, as received. The cursor is the last seen ``time_us``; a reconnect or a new run
  replays from it and drops events at or before it.

A search or author-feed task that ran to its end starts a new pass on the next run, for what is
newer than the newest post it saw. A followers/follows or repository task, once complete, is not
repeated: delete its entry in ``WORKSPACE/collect/<name>.state.json`` (or the file) to collect it again.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import httpx
import orjson

from confiance.collect._http import Backoff, Clock, PoliteClient, SystemClock
from confiance.collect._runner import Page
from confiance.collect.config import CollectConfig, CollectError, Jetstream, Limits, SearchQuery

REMAINING_HEADER = "ratelimit-remaining"
RESET_HEADER = "ratelimit-reset"
POST_COLLECTION = "app.bsky.feed.post"
NO_UNAUTHENTICATED = "!no-unauthenticated"


def _line(body: Any) -> bytes:
    return orjson.dumps(body) + b"\n"


def _later(a: str | None, b: str | None) -> str | None:
    return max((x for x in (a, b) if x), default=None)


def opted_out(profile: Any) -> bool:
    """The account asked Bluesky apps not to show it to logged-out visitors (``!no-unauthenticated``)."""
    labels = profile.get("labels") if isinstance(profile, dict) else None
    return any(isinstance(label, dict) and label.get("val") == NO_UNAUTHENTICATED for label in labels or ())


def _list_of(body: Any, key: str, what: str) -> list:
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise CollectError(f"{what}: the response has no {key!r} list")
    return items


class SearchTask:
    """``app.bsky.feed.searchPosts`` for one query."""

    paged = True

    def __init__(self, api: PoliteClient, query: SearchQuery, index: int, limits: Limits, respect_opt_outs: bool):
        self.api, self.query, self.limits, self.respect_opt_outs = api, query, limits, respect_opt_outs
        self.key = f"search:{query.q}|{query.lang or ''}|{query.sort}"
        self.label = f"search #{index + 1}"

    def pages(self, state: dict) -> Iterator[Page]:
        newest = state.get("newest")
        if state.get("done") or "since" not in state:  # a first pass, or a new pass for newer posts
            state = {"cursor": None, "since": newest or self.limits.since, "pass_newest": None}
        cursor, since, pass_newest = state["cursor"], state["since"], state["pass_newest"]
        while True:
            params = {"q": self.query.q, "limit": self.limits.page_size, "sort": self.query.sort,
                      "lang": self.query.lang, "since": since, "cursor": cursor}
            body, _ = self.api.get_json("/xrpc/app.bsky.feed.searchPosts",
                                        {k: v for k, v in params.items() if v is not None}, what="searchPosts")
            posts = _list_of(body, "posts", "searchPosts")
            for post in posts:
                if isinstance(post, dict) and isinstance(post.get("indexedAt"), str):
                    pass_newest = _later(pass_newest, post["indexedAt"])
            kept = [p for p in posts if not (self.respect_opt_outs and opted_out(p.get("author") if isinstance(p, dict) else None))]
            data = _line({**body, "posts": kept}) if kept else b""
            cursor = body.get("cursor") or None
            if not posts or not cursor:
                yield Page("bluesky", data, len(kept), {"done": True, "newest": _later(newest, pass_newest)})
                return
            yield Page("bluesky", data, len(kept),
                       {"cursor": cursor, "since": since, "pass_newest": pass_newest, "newest": newest})


def _sort_at(item: Any) -> str:
    """When a feed item entered the feed: the repost time for a repost, else the post's index time."""
    if not isinstance(item, dict):
        return ""
    reason = item.get("reason")
    if isinstance(reason, dict) and isinstance(reason.get("indexedAt"), str):
        return reason["indexedAt"]
    post = item.get("post")
    return post.get("indexedAt", "") if isinstance(post, dict) and isinstance(post.get("indexedAt"), str) else ""


def _author_of(item: Any) -> Any:
    post = item.get("post") if isinstance(item, dict) else None
    return post.get("author") if isinstance(post, dict) else None


class AuthorFeedTask:
    """``app.bsky.feed.getAuthorFeed`` for one actor."""

    paged = True

    def __init__(self, api: PoliteClient, actor: str, index: int, limits: Limits, respect_opt_outs: bool):
        self.api, self.actor, self.limits, self.respect_opt_outs = api, actor, limits, respect_opt_outs
        self.key = f"author:{actor}"
        self.label = f"author feed #{index + 1}"

    def pages(self, state: dict) -> Iterator[Page]:
        newest = state.get("newest")
        if state.get("done") or "floor" not in state:
            state = {"cursor": None, "floor": _later(newest, self.limits.since), "pass_newest": None}
        cursor, floor, pass_newest = state["cursor"], state["floor"], state["pass_newest"]
        while True:
            params = {"actor": self.actor, "limit": self.limits.page_size, "cursor": cursor}
            body, _ = self.api.get_json("/xrpc/app.bsky.feed.getAuthorFeed",
                                        {k: v for k, v in params.items() if v is not None}, what="getAuthorFeed")
            feed = _list_of(body, "feed", "getAuthorFeed")
            recent = [item for item in feed if not floor or _sort_at(item) > floor]
            for item in recent:
                pass_newest = _later(pass_newest, _sort_at(item) or None)
            kept = [item for item in recent if not (self.respect_opt_outs and opted_out(_author_of(item)))]
            cursor = body.get("cursor") or None
            data = _line({**body, "feed": kept}) if kept else b""
            if not feed or not cursor or len(recent) < len(feed):  # the end, or older than wanted
                yield Page("bluesky", data, len(kept), {"done": True, "newest": _later(newest, pass_newest)})
                return
            yield Page("bluesky", data, len(kept), {"cursor": cursor, "floor": floor, "pass_newest": pass_newest,
                                                    "newest": newest})


class FollowGraphTask:
    """``app.bsky.graph.getFollowers`` (who follows the account) or ``getFollows`` (whom it follows)."""

    paged = True

    def __init__(self, api: PoliteClient, actor: str, direction: str, index: int, limits: Limits,
                 respect_opt_outs: bool):
        self.api, self.actor, self.direction, self.limits = api, actor, direction, limits
        self.respect_opt_outs = respect_opt_outs
        self.key = f"{direction}:{actor}"
        self.label = f"{direction} #{index + 1}"

    def pages(self, state: dict) -> Iterator[Page]:
        if state.get("done"):
            return
        cursor = state.get("cursor")
        method = "getFollowers" if self.direction == "followers" else "getFollows"
        while True:
            params = {"actor": self.actor, "limit": self.limits.page_size, "cursor": cursor}
            body, _ = self.api.get_json(f"/xrpc/app.bsky.graph.{method}",
                                        {k: v for k, v in params.items() if v is not None}, what=method)
            profiles = _list_of(body, self.direction, method)
            subject = body.get("subject") if isinstance(body.get("subject"), dict) else {}
            subject_did = subject.get("did")
            if not isinstance(subject_did, str) or not subject_did.startswith("did:"):
                raise CollectError(f"{method}: the response has no subject DID")
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            rows = 0
            for profile in profiles:
                did = profile.get("did") if isinstance(profile, dict) else None
                if self.respect_opt_outs and (opted_out(profile) or opted_out(subject)):
                    continue
                if isinstance(did, str) and did.startswith("did:"):
                    src, dst = (did, subject_did) if self.direction == "followers" else (subject_did, did)
                    writer.writerow((src, dst, "follow", "bluesky"))
                    rows += 1
            cursor = body.get("cursor") or None
            done = not profiles or not cursor
            yield Page("follows", out.getvalue().encode("utf-8"), rows, {"done": True} if done else {"cursor": cursor})
            if done:
                return


def keyword_matcher(keywords: tuple[str, ...], languages: tuple[str, ...] = ()) -> Callable[[dict], bool]:
    """Whether a Jetstream event is the creation of a post whose text or tags hold a keyword.

    Keywords match whole words, case-insensitively (``climat`` matches ``#Climat`` and ``climat.``,
    not ``climatique``); with ``languages``, the post must declare one of them in ``langs``."""
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(k.casefold()) for k in keywords) + r")(?!\w)")
    wanted = {lang.lower() for lang in languages}

    def matches(event: dict) -> bool:
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, dict):
            return False
        record = commit.get("record")
        if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION or not isinstance(record, dict):
            return False
        if wanted:
            langs = record.get("langs")
            if not isinstance(langs, list) or not wanted & {str(lang).lower().split("-")[0] for lang in langs}:
                return False
        text = record.get("text") if isinstance(record.get("text"), str) else ""
        tags = [str(t) for t in record.get("tags") or () if isinstance(t, str)]
        for facet in record.get("facets") or ():
            for feature in (facet.get("features") or ()) if isinstance(facet, dict) else ():
                if isinstance(feature, dict) and isinstance(feature.get("tag"), str):
                    tags.append(feature["tag"])
        haystack = " ".join([text, *("#" + t for t in tags)]).casefold()
        return pattern.search(haystack) is not None

    return matches


class JetstreamTask:
    """Keyword-filtered post events from a Jetstream instance, for ``duration_s`` seconds.

    ``connect`` is ``websockets.sync.client.connect`` (injectable for tests)."""

    paged = False
    key = "jetstream"
    label = "jetstream"

    def __init__(self, config: Jetstream, limits: Limits, user_agent: str, clock: Clock, seed: int = 0,
                 connect: Callable[..., Any] | None = None):
        self.config, self.limits, self.user_agent, self.clock = config, limits, user_agent, clock
        self.backoff = Backoff(limits.backoff_base_s, limits.backoff_cap_s, seed)
        self.matches = keyword_matcher(config.keywords, config.languages)
        self.connect = connect
        self.reconnects = 0

    def _url(self, cursor: int | None) -> str:
        params: list[tuple[str, Any]] = [("wantedCollections", POST_COLLECTION)]
        if cursor is not None:
            params.append(("cursor", cursor))
        return f"{self.config.url}?{urlencode(params)}"

    def pages(self, state: dict) -> Iterator[Page]:
        from websockets.exceptions import ConnectionClosed, InvalidHandshake
        from websockets.sync.client import connect as ws_connect

        connect = self.connect or ws_connect
        committed = state.get("cursor")
        seen = committed
        deadline = self.clock.monotonic() + self.config.duration_s
        last_flush = self.clock.monotonic()
        lines: list[bytes] = []
        failures = 0
        while True:
            try:
                with connect(self._url(seen), user_agent_header=self.user_agent, open_timeout=self.limits.timeout_s,
                             max_size=4 << 20) as socket:
                    while True:
                        now = self.clock.monotonic()
                        if now >= deadline:
                            yield Page("bluesky", b"".join(lines), len(lines), {"cursor": seen}, stopped="duration")
                            return
                        due = now - last_flush >= self.config.flush_s
                        if len(lines) >= self.config.flush_events or (due and (lines or seen != committed)):
                            yield Page("bluesky", b"".join(lines), len(lines), {"cursor": seen})
                            committed, lines, last_flush = seen, [], self.clock.monotonic()
                        try:
                            message = socket.recv(timeout=max(0.001, min(deadline - now, self.config.flush_s)))
                        except TimeoutError:
                            continue
                        failures = 0
                        try:
                            event = orjson.loads(message)
                        except orjson.JSONDecodeError:
                            continue  # not an event: nothing to keep, nothing to resume from
                        time_us = event.get("time_us") if isinstance(event, dict) else None
                        if not isinstance(time_us, int) or isinstance(time_us, bool):
                            continue
                        if seen is not None and time_us <= seen:
                            continue  # replayed from the cursor: already seen
                        seen = time_us
                        if self.matches(event):
                            lines.append(orjson.dumps(event) + b"\n")
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                if failures >= self.limits.max_retries:
                    raise CollectError(f"jetstream: {type(exc).__name__}, still failing after {failures} retries") from None
                self.reconnects += 1
                self.clock.sleep(self.backoff.delay(failures))
                failures += 1


def build_tasks(config: CollectConfig, *, clock: Clock | None = None, transport: httpx.BaseTransport | None = None,
                connect: Callable[..., Any] | None = None, seed: int = 0, spool: Path | None = None,
                resolve: Callable[[str], list[str]] | None = None) -> tuple[list, list[PoliteClient]]:
    """The tasks of a Bluesky configuration and the API clients they use: the AppView's, then one per
    host a repository task reaches (PLC directory, did:web hosts, PDSs), added as they are first used.

    ``spool`` is where a repository task downloads (``Journal.spool_path("repo")``); ``resolve`` the
    host name resolver of the private-address check (default: the system's)."""
    from confiance.collect._http import user_agent
    from confiance.collect.bluesky_repo import Hosts, RepositoryTask, public_transport, system_resolver

    clock = clock or SystemClock()
    agent = user_agent(config.contact)
    limits = config.limits

    def polite(base_url: str, accept: str = "application/json", through: httpx.BaseTransport | None = None) -> PoliteClient:
        client = httpx.Client(base_url=base_url, headers={"User-Agent": agent, "Accept": accept},
                              timeout=limits.timeout_s, transport=through or transport)
        return PoliteClient(client, remaining_header=REMAINING_HEADER, reset_header=RESET_HEADER, limits=limits,
                            clock=clock, seed=seed)

    api = polite(config.appview)
    apis = [api]
    respect = config.respect_opt_outs
    tasks: list = [SearchTask(api, q, i, limits, respect) for i, q in enumerate(config.queries)]
    tasks += [AuthorFeedTask(api, actor, i, limits, respect) for i, actor in enumerate(config.actors)]
    tasks += [FollowGraphTask(api, actor, "followers", i, limits, respect) for i, actor in enumerate(config.followers_of)]
    tasks += [FollowGraphTask(api, actor, "follows", i, limits, respect) for i, actor in enumerate(config.follows_of)]
    if config.repositories:
        if spool is None:
            raise CollectError("repositories: no spool file to download to")
        resolve = resolve or system_resolver
        # the hosts a DID document names are reached at public addresses only, checked at connect time
        public = transport or public_transport(resolve)
        hosts = Hosts(apis, lambda origin, accept: polite(origin, accept, public))
        tasks += [RepositoryTask(api, hosts, actor, i, limits, respect, spool, resolve)
                  for i, actor in enumerate(config.repositories)]
    if config.jetstream is not None:
        tasks.append(JetstreamTask(config.jetstream, limits, agent, clock, seed, connect))
    return tasks, apis
