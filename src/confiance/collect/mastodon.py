"""Mastodon collector: public REST endpoints of one or more instances (no account needed where the
instance shows them to visitors).

Tasks, per instance:

- hashtag timeline ``/api/v1/timelines/tag/:hashtag``;
- public timeline ``/api/v1/timelines/public`` (``local``: ``local=true``; ``federated``: all);
- account statuses: ``/api/v1/accounts/lookup?acct=`` once, then ``/api/v1/accounts/:id/statuses``.

Paging: newest first, older pages through the ``Link`` header's ``rel="next"`` (``max_id``) until
the end, ``limits.since`` or the page limit. A task that ran to its end collects, on the next run,
what is newer than the newest status it saw: ``min_id`` and ``rel="prev"`` links. With
``respect_opt_outs`` (the default), statuses whose author (or boosted author) set ``noindex``
(opted out of search engine indexing) are left out.

Raw file: one page per line, the statuses as returned inside the ``/api/v2/search`` envelope
(``{"accounts": [], "statuses": [...], "hashtags": []}``). That envelope is the one page-level
object the mastodon importer reads (a JSONL line holding a bare array is not; a ``.json`` array is
read status by status): with the page as one unit, replies within it resolve and the serving host
is known from its local accounts for every status, remote authors' included.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import quote

import httpx
import orjson

from confiance.collect._http import Clock, PoliteClient, SystemClock, user_agent
from confiance.collect._runner import Page
from confiance.collect.config import CollectConfig, CollectError, Instance, Limits

REMAINING_HEADER = "x-ratelimit-remaining"
RESET_HEADER = "x-ratelimit-reset"


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


def _opted_out(status: dict) -> bool:
    """The author (or, for a boost, the boosted author) opted out of search engine indexing."""
    authors = [status.get("account"), (status.get("reblog") or {}).get("account") if isinstance(status.get("reblog"), dict) else None]
    return any(isinstance(a, dict) and a.get("noindex") is True for a in authors)


class TimelineTask:
    """One paged list of statuses on one instance."""

    paged = True

    def __init__(self, api: PoliteClient, host: str, path: str, params: dict[str, Any], key: str, label: str,
                 limits: Limits, since: datetime | None, respect_opt_outs: bool):
        self.api, self.host, self.path, self.params = api, host, path, params
        self.key, self.label, self.limits, self.since = key, label, limits, since
        self.respect_opt_outs = respect_opt_outs

    def _path(self, state: dict) -> tuple[str, dict]:
        return self.path, {}

    def pages(self, state: dict) -> Iterator[Page]:
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
            link = response.links.get("next" if mode == "backfill" else "prev", {}).get("url")
            if link and httpx.URL(link).host != self.host:
                raise CollectError(f"{what}: the Link header points to another host")
            done = not statuses or not link or len(recent) < len(statuses)
            data = orjson.dumps({"accounts": [], "statuses": kept, "hashtags": []}) + b"\n" if kept else b""
            state = {**extra, "done": True, "newest_id": newest} if done else {**extra, "mode": mode, "next": link,
                                                                               "newest_id": newest}
            yield Page("mastodon", data, len(kept), state)
            if done:
                return
            url, params = link, None


class AccountTask(TimelineTask):
    """Statuses of one account: its id is looked up once on the instance and kept in the state."""

    def __init__(self, api: PoliteClient, host: str, acct: str, key: str, label: str, limits: Limits,
                 since: datetime | None, respect_opt_outs: bool):
        super().__init__(api, host, "", {}, key, label, limits, since, respect_opt_outs)
        self.acct = acct

    def _path(self, state: dict) -> tuple[str, dict]:
        account_id = state.get("account_id")
        if not account_id:
            body, _ = self.api.get_json("/api/v1/accounts/lookup", {"acct": self.acct}, what="account lookup")
            if not isinstance(body, dict) or body.get("id") is None:
                raise CollectError("account lookup: the response has no account id")
            account_id = str(body["id"])
        return f"/api/v1/accounts/{quote(account_id, safe='')}/statuses", {"account_id": account_id}


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
    counts = {"hashtag": 0, "local timeline": 0, "federated timeline": 0, "account": 0}

    def label(kind: str) -> str:
        counts[kind] += 1
        return f"{kind} #{counts[kind]}"

    for instance in config.instances:
        api = _api(instance, agent, limits, clock, transport, seed)
        apis.append(api)
        host = httpx.URL(instance.url).host
        for tag in instance.hashtags:
            tasks.append(TimelineTask(api, host, f"/api/v1/timelines/tag/{quote(tag, safe='')}", {},
                                      f"{instance.url}|tag:{tag.lower()}", label("hashtag"), limits, since, respect))
        for timeline in instance.timelines:
            params = {"local": "true"} if timeline == "local" else {}
            tasks.append(TimelineTask(api, host, "/api/v1/timelines/public", params, f"{instance.url}|{timeline}",
                                      label(f"{timeline} timeline"), limits, since, respect))
        for acct in instance.accounts:
            tasks.append(AccountTask(api, host, acct, f"{instance.url}|account:{acct.lower()}", label("account"),
                                     limits, since, respect))
    return tasks, apis


def _api(instance: Instance, agent: str, limits: Limits, clock: Clock, transport: httpx.BaseTransport | None,
         seed: int) -> PoliteClient:
    client = httpx.Client(base_url=instance.url, headers={"User-Agent": agent, "Accept": "application/json"},
                          timeout=limits.timeout_s, transport=transport)
    return PoliteClient(client, remaining_header=REMAINING_HEADER, reset_header=RESET_HEADER, limits=limits,
                        clock=clock, seed=seed)
