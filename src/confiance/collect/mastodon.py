"""Mastodon collector: public REST endpoints of one or more instances (no account needed where the
instance shows them to visitors).

Tasks, per instance:

- hashtag timeline ``/api/v1/timelines/tag/:hashtag``;
- public timeline ``/api/v1/timelines/public`` (``local``: ``local=true``; ``federated``: all);
- account statuses: ``/api/v1/accounts/lookup?acct=`` once, then ``/api/v1/accounts/:id/statuses``;
- follow lists (``followers_of`` / ``following_of``): the lookup, then ``/api/v1/accounts/:id/followers``
  or ``/following``, collected once (a finished list is not fetched again, as Bluesky's);
- engagers (``engagers``, off by default), inside the timeline tasks: after each page, for its
  statuses (the boosted one for a boost) whose ``reblogs_count`` (``favourites_count``) reaches
  ``min_count``, ``/api/v1/statuses/:id/reblogged_by`` (``/favourited_by``), ``max_pages`` pages
  each, ``max_statuses`` statuses per run for the whole collection, each status once a run. The
  work left is part of the page's state, so a stopped run finishes it first when it starts again.
  A 401 or 404 (the instance wants a login, the status is gone) skips the status (a follow list:
  the list): counted in the result's ``skipped``, logged without ids. The serving instance lists the accounts it knows: for a remote
  status, its own users and those it federates with; boosts that come after the status was
  collected are not seen.

Paging: newest first, older pages through the ``Link`` header's ``rel="next"`` (``max_id``) until
the end, ``limits.since`` or the page limit. A task that ran to its end collects, on the next run,
what is newer than the newest status it saw: ``min_id`` and ``rel="prev"`` links. With
``respect_opt_outs`` (the default), statuses whose author (or boosted author) set ``noindex``
(opted out of search engine indexing) are left out, and so are such accounts in engager and
follow lists (a follow list of an account that set it is not written at all).

Raw file: one page per line, the statuses as returned inside the ``/api/v2/search`` envelope
(``{"accounts": [], "statuses": [...], "hashtags": []}``). That envelope is the one page-level
object the mastodon importer reads (a JSONL line holding a bare array is not; a ``.json`` array is
read status by status): with the page as one unit, replies within it resolve and the serving host
is known from its local accounts for every status, remote authors' included. An engagers page is
one line ``{"reblogged_by" | "favourited_by": [account...], "status": {"uri", "id", "account"},
"host"}`` (the accounts as returned, the status reduced to what names it); a follow-list page is
``{"followers" | "following": [account...], "account": {...}, "host"}`` with every account reduced
to ``id``, ``username``, ``acct``, ``url`` (minimisation: an edge needs no more).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote

import httpx
import orjson

from confiance.collect._http import Clock, PoliteClient, SystemClock, user_agent
from confiance.collect._runner import Page
from confiance.collect.config import CollectConfig, CollectError, Engagers, Instance, Limits

REMAINING_HEADER = "x-ratelimit-remaining"
RESET_HEADER = "x-ratelimit-reset"
#: engagers endpoint -> (Engagers switch, the status count that must reach min_count)
ENGAGER_ENDPOINTS = {"reblogged_by": ("boosts", "reblogs_count"), "favourited_by": ("favourites", "favourites_count")}
SKIPPED_STATUS = frozenset({401, 404})  # login required, or gone: skip this status or list, go on
_ADDRESS_FIELDS = ("id", "username", "acct", "url")

log = logging.getLogger(__name__)


def _id_order(value: Any) -> tuple[int, str]:
    """Mastodon ids are decimal strings of varying length: compare by length, then text."""
    text = str(value)
    return (len(text), text)


def _newest(current: str | None, statuses: list[dict]) -> str | None:
    ids = [str(s["id"]) for s in statuses if s.get("id") is not None]
    if current:
        ids.append(current)
    return max(ids, key=_id_order) if ids else None


def _created(status: dict) -> datetime | None:
    value = status.get("created_at")
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _noindex(account: Any) -> bool:
    """The account opted out of search engine indexing."""
    return isinstance(account, dict) and account.get("noindex") is True


def _opted_out(status: dict) -> bool:
    """The author (or, for a boost, the boosted author) opted out of search engine indexing."""
    authors = [status.get("account"), (status.get("reblog") or {}).get("account") if isinstance(status.get("reblog"), dict) else None]
    return any(_noindex(a) for a in authors)


def _address_only(account: dict) -> dict:
    """What names an account (its instance id resolves local ids); nothing else is kept."""
    return {key: account[key] for key in _ADDRESS_FIELDS if key in account}


def _next_link(response: httpx.Response, rel: str, host: str, what: str) -> str | None:
    link = response.links.get(rel, {}).get("url")
    if link and httpx.URL(link).host != host:
        raise CollectError(f"{what}: the Link header points to another host")
    return link


def _lookup(api: PoliteClient, acct: str) -> dict:
    body, _ = api.get_json("/api/v1/accounts/lookup", {"acct": acct}, what="account lookup")
    if not isinstance(body, dict) or body.get("id") is None:
        raise CollectError("account lookup: the response has no account id")
    return body


def _skip(what: str, response: httpx.Response) -> None:
    log.info("%s: HTTP %s, skipped", what, response.status_code)


def _count(status: dict, key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class _Budget:
    """Statuses whose engagers one run reads, all tasks together: each once, at most ``max_statuses``."""

    def __init__(self, max_statuses: int):
        self.left = max_statuses
        self.seen: set[tuple[str, str]] = set()

    def take(self, host: str, status_id: str) -> bool:
        if self.left <= 0 or (host, status_id) in self.seen:
            return False
        self.seen.add((host, status_id))
        self.left -= 1
        return True


class EngagerReader:
    """Engagers of the statuses of one instance: which to read (:meth:`select`), then the side pages."""

    def __init__(self, api: PoliteClient, host: str, config: Engagers, limits: Limits, budget: _Budget,
                 respect_opt_outs: bool):
        self.api, self.host, self.config, self.limits, self.budget = api, host, config, limits, budget
        self.respect_opt_outs = respect_opt_outs

    def select(self, statuses: list[dict]) -> list[dict]:
        """Jobs for the statuses of a page that reach the thresholds, within the run's budget."""
        jobs = []
        for status in statuses:
            target = status["reblog"] if isinstance(status.get("reblog"), dict) else status
            status_id, uri, account = target.get("id"), target.get("uri"), target.get("account")
            if status_id is None or not isinstance(uri, str) or not isinstance(account, dict):
                continue
            endpoints = [endpoint for endpoint, (switch, count) in ENGAGER_ENDPOINTS.items()
                         if getattr(self.config, switch) and _count(target, count) >= self.config.min_count]
            if endpoints and self.budget.take(self.host, str(status_id)):
                jobs.append({"id": str(status_id), "uri": uri, "account": _address_only(account),
                             "endpoints": endpoints, "next": None, "pages": 0})
        return jobs

    def resume(self, jobs: list[dict]) -> None:
        """Jobs a stopped run left: they count against this run's budget."""
        for job in jobs:
            self.budget.seen.add((self.host, job["id"]))
        self.budget.left -= len(jobs)

    def pages(self, jobs: list[dict], after: dict) -> Iterator[Page]:
        """One side page per request; its state is ``after`` with the jobs left (``engage``)."""
        while jobs:
            job, rest = jobs[0], jobs[1:]
            endpoint = job["endpoints"][0]
            url, params = job["next"], None
            if url is None:
                url, params = f"/api/v1/statuses/{quote(job['id'], safe='')}/{endpoint}", {"limit": self.limits.page_size}
            body, response = self.api.get_json(url, params, what=endpoint, allow=SKIPPED_STATUS)
            data, kept, link = b"", [], None
            if response.status_code in SKIPPED_STATUS:
                _skip(endpoint, response)
                job = {**job, "endpoints": []}  # the other endpoint would answer the same
            else:
                if not isinstance(body, list):
                    raise CollectError(f"{endpoint}: expected a list of accounts")
                accounts = [a for a in body if isinstance(a, dict)]
                kept = [a for a in accounts if not (self.respect_opt_outs and _noindex(a))]
                if kept:
                    status = {"uri": job["uri"], "id": job["id"], "account": job["account"]}
                    data = orjson.dumps({endpoint: kept, "status": status, "host": self.host}) + b"\n"
                if accounts:
                    link = _next_link(response, "next", self.host, endpoint)
            if link and job["pages"] + 1 < self.config.max_pages:
                job = {**job, "next": link, "pages": job["pages"] + 1}
            else:
                job = {**job, "endpoints": job["endpoints"][1:], "next": None, "pages": 0}
            jobs = [job, *rest] if job["endpoints"] else rest
            yield Page("mastodon", data, len(kept), {**after, "engage": jobs} if jobs else after, side=True,
                       continues=bool(jobs))


class TimelineTask:
    """One paged list of statuses on one instance."""

    paged = True

    def __init__(self, api: PoliteClient, host: str, path: str, params: dict[str, Any], key: str, label: str,
                 limits: Limits, since: datetime | None, respect_opt_outs: bool, engagers: EngagerReader | None = None):
        self.api, self.host, self.path, self.params = api, host, path, params
        self.key, self.label, self.limits, self.since = key, label, limits, since
        self.respect_opt_outs = respect_opt_outs
        self.engagers = engagers

    def _path(self, state: dict) -> tuple[str, dict]:
        return self.path, {}

    def pages(self, state: dict) -> Iterator[Page]:
        jobs = state.get("engage")
        state = {k: v for k, v in state.items() if k != "engage"}
        if jobs and self.engagers is not None:  # engagers of the last page a stopped run wrote
            self.engagers.resume(jobs)
            yield from self.engagers.pages(jobs, state)
        path, extra = self._path(state)
        newest = state.get("newest_id")
        if state.get("done") or "mode" not in state:
            mode = "update" if state.get("done") and newest else "backfill"
            state = {**extra, "mode": mode, "next": None, "newest_id": newest}
        mode, url = state["mode"], state["next"]
        params: dict[str, Any] | None = None
        if url is None:
            url = path
            params = {**self.params, "limit": self.limits.page_size}
            if mode == "update":
                params["min_id"] = newest
        what = self.label.split(" #")[0]
        while True:
            body, response = self.api.get_json(url, params, what=what)
            if not isinstance(body, list):
                raise CollectError(f"{what}: expected a list of statuses")
            statuses = [s for s in body if isinstance(s, dict)]
            newest = _newest(newest, statuses)
            recent = statuses
            if self.since is not None and mode == "backfill":
                recent = [s for s in statuses if (_created(s) or self.since) >= self.since]
            kept = [s for s in recent if not (self.respect_opt_outs and _opted_out(s))]
            link = _next_link(response, "next" if mode == "backfill" else "prev", self.host, what)
            done = not statuses or not link or len(recent) < len(statuses)
            data = orjson.dumps({"accounts": [], "statuses": kept, "hashtags": []}) + b"\n" if kept else b""
            state = {**extra, "done": True, "newest_id": newest} if done else {**extra, "mode": mode, "next": link,
                                                                               "newest_id": newest}
            jobs = self.engagers.select(kept) if self.engagers is not None else []
            yield Page("mastodon", data, len(kept), {**state, "engage": jobs} if jobs else state, continues=bool(jobs))
            if jobs:
                yield from self.engagers.pages(jobs, state)
            if done:
                return
            url, params = link, None


class AccountTask(TimelineTask):
    """Statuses of one account: its id is looked up once on the instance and kept in the state."""

    def __init__(self, api: PoliteClient, host: str, acct: str, key: str, label: str, limits: Limits,
                 since: datetime | None, respect_opt_outs: bool, engagers: EngagerReader | None = None):
        super().__init__(api, host, "", {}, key, label, limits, since, respect_opt_outs, engagers)
        self.acct = acct

    def _path(self, state: dict) -> tuple[str, dict]:
        account_id = state.get("account_id") or str(_lookup(self.api, self.acct)["id"])
        return f"/api/v1/accounts/{quote(account_id, safe='')}/statuses", {"account_id": account_id}


class FollowListTask:
    """Who follows one account (``followers``) or whom it follows (``following``), collected once."""

    paged = True

    def __init__(self, api: PoliteClient, host: str, acct: str, direction: str, key: str, label: str, limits: Limits,
                 respect_opt_outs: bool):
        self.api, self.host, self.acct, self.direction = api, host, acct, direction
        self.key, self.label, self.limits, self.respect_opt_outs = key, label, limits, respect_opt_outs

    def pages(self, state: dict) -> Iterator[Page]:
        if state.get("done"):
            return
        subject, url, params = state.get("subject"), state.get("next"), None
        if subject is None:
            account = _lookup(self.api, self.acct)
            if self.respect_opt_outs and _noindex(account):
                yield Page("mastodon", b"", 0, {"done": True})
                return
            subject = _address_only(account)
        if url is None:
            url, params = f"/api/v1/accounts/{quote(str(subject['id']), safe='')}/{self.direction}", {"limit": self.limits.page_size}
        while True:
            body, response = self.api.get_json(url, params, what=self.direction, allow=SKIPPED_STATUS)
            if response.status_code in SKIPPED_STATUS:
                _skip(self.direction, response)
                yield Page("mastodon", b"", 0, {"done": True})
                return
            if not isinstance(body, list):
                raise CollectError(f"{self.direction}: expected a list of accounts")
            accounts = [a for a in body if isinstance(a, dict)]
            kept = [_address_only(a) for a in accounts if not (self.respect_opt_outs and _noindex(a))]
            link = _next_link(response, "next", self.host, self.direction) if accounts else None
            data = orjson.dumps({self.direction: kept, "account": subject, "host": self.host}) + b"\n" if kept else b""
            yield Page("mastodon", data, len(kept), {"subject": subject, "next": link} if link else {"done": True})
            if not link:
                return
            url, params = link, None


def build_tasks(config: CollectConfig, *, clock: Clock | None = None, transport: httpx.BaseTransport | None = None,
                seed: int = 0) -> tuple[list, list[PoliteClient]]:
    """The tasks of a Mastodon configuration and one API client per instance."""
    clock = clock or SystemClock()
    agent = user_agent(config.contact)
    limits = config.limits
    since = config.since_dt
    respect = config.respect_opt_outs
    tasks: list = []
    apis = []
    counts = {"hashtag": 0, "local timeline": 0, "federated timeline": 0, "account": 0, "followers": 0, "following": 0}
    budget = _Budget(config.engagers.max_statuses) if config.engagers is not None else None

    def label(kind: str) -> str:
        counts[kind] += 1
        return f"{kind} #{counts[kind]}"

    for instance in config.instances:
        api = _api(instance, agent, limits, clock, transport, seed)
        apis.append(api)
        host = httpx.URL(instance.url).host
        engagers = None
        if config.engagers is not None and budget is not None:
            engagers = EngagerReader(api, host, config.engagers, limits, budget, respect)
        for tag in instance.hashtags:
            tasks.append(TimelineTask(api, host, f"/api/v1/timelines/tag/{quote(tag, safe='')}", {},
                                      f"{instance.url}|tag:{tag.lower()}", label("hashtag"), limits, since, respect,
                                      engagers))
        for timeline in instance.timelines:
            params = {"local": "true"} if timeline == "local" else {}
            tasks.append(TimelineTask(api, host, "/api/v1/timelines/public", params, f"{instance.url}|{timeline}",
                                      label(f"{timeline} timeline"), limits, since, respect, engagers))
        for acct in instance.accounts:
            tasks.append(AccountTask(api, host, acct, f"{instance.url}|account:{acct.lower()}", label("account"),
                                     limits, since, respect, engagers))
        for direction, accts in (("followers", instance.followers_of), ("following", instance.following_of)):
            for acct in accts:
                tasks.append(FollowListTask(api, host, acct, direction, f"{instance.url}|{direction}:{acct.lower()}",
                                            label(direction), limits, respect))
    return tasks, apis


def _api(instance: Instance, agent: str, limits: Limits, clock: Clock, transport: httpx.BaseTransport | None,
         seed: int) -> PoliteClient:
    client = httpx.Client(base_url=instance.url, headers={"User-Agent": agent, "Accept": "application/json"},
                          timeout=limits.timeout_s, transport=transport)
    return PoliteClient(client, remaining_header=REMAINING_HEADER, reset_header=RESET_HEADER, limits=limits,
                        clock=clock, seed=seed)
