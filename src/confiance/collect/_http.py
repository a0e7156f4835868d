"""Polite HTTP: rate-limit headers, 429 with Retry-After, retries with backoff, an injectable clock.

One :class:`PoliteClient` wraps an ``httpx.Client`` for one API. Before a request it waits when
the server said the window is spent (``remaining`` at or below a reserve) and keeps a minimum
interval between requests; after it, a 429 waits for ``Retry-After`` (seconds or an HTTP date),
else for the rate-limit reset, and transient failures (5xx, timeouts, dropped connections, a body
cut short) are retried with exponential backoff and full jitter [1]_. Every wait goes through the
:class:`Clock`, so tests replace time and assert on the waits, never on the wall clock.

References
----------
.. [1] M. Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO, Callable, Protocol

import httpx

from confiance.collect.config import CollectError, Limits

TRANSIENT_STATUS = frozenset({500, 502, 503, 504, 520, 521, 522, 524})
_RETRY_EXCEPTIONS = (httpx.TransportError, httpx.DecodingError)


class HttpError(CollectError):
    """The server answered the request with an error (4xx other than 429): retrying will not help."""


class TooLarge(CollectError):
    """A download is over its size limit."""


class Clock(Protocol):
    """Wall time (for reset timestamps), a monotonic time (for intervals) and sleep."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass
class FakeClock:
    """A clock that only moves when slept on: waits are recorded in ``sleeps``, not spent."""

    now: float = 1_750_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def parse_reset(value: str | None, now: float) -> float | None:
    """Seconds until a rate-limit window resets.

    Bluesky sends ``ratelimit-reset`` as epoch seconds; Mastodon sends ``X-RateLimit-Reset`` as an
    ISO 8601 time; some servers send seconds from now (a small number)."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return parse_retry_after(value, now)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - now)
    return max(0.0, number - now) if number > 1e9 else max(0.0, number)


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ))."""

    base_s: float = 1.0
    cap_s: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def delay(self, attempt: int) -> float:
        return self._rng.uniform(0.0, min(self.cap_s, self.base_s * (2 ** attempt)))


@dataclass
class RequestStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0
    skipped: int = 0  # answers with a status the caller allowed (401/404 on an optional list): nothing read


class PoliteClient:
    """GET JSON from one API politely; see the module docstring.

    Parameters
    ----------
    client
        The ``httpx.Client`` (its base URL, User-Agent and timeout already set).
    remaining_header, reset_header
        The API's rate-limit header names (case-insensitive).
    limits
        ``max_retries``, ``min_interval_s``, ``rate_reserve``, ``backoff_base_s``, ``backoff_cap_s``.
    """

    def __init__(self, client: httpx.Client, *, remaining_header: str, reset_header: str, limits: Limits,
                 clock: Clock | None = None, seed: int = 0):
        self.client = client
        self.remaining_header = remaining_header
        self.reset_header = reset_header
        self.limits = limits
        self.clock = clock or SystemClock()
        self.backoff = Backoff(limits.backoff_base_s, limits.backoff_cap_s, seed)
        self.stats = RequestStats()
        self._remaining: int | None = None
        self._reset_at: float | None = None  # wall time
        self._last_request: float | None = None  # monotonic

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited_s += seconds
            self.clock.sleep(seconds)

    def _pace(self) -> None:
        """Wait for the window to reset when it is spent, and keep the minimum interval."""
        if self._remaining is not None and self._reset_at is not None and self._remaining <= self.limits.rate_reserve:
            self._wait(self._reset_at - self.clock.time())
            self._remaining = None
        if self._last_request is not None and self.limits.min_interval_s > 0:
            self._wait(self._last_request + self.limits.min_interval_s - self.clock.monotonic())

    def _note_rate(self, response: httpx.Response) -> None:
        remaining = response.headers.get(self.remaining_header)
        reset = parse_reset(response.headers.get(self.reset_header), self.clock.time())
        try:
            self._remaining = int(float(remaining)) if remaining is not None else None
        except ValueError:
            self._remaining = None
        self._reset_at = self.clock.time() + reset if reset is not None else None

    def get(self, url: str, params: dict[str, Any] | None = None, *, what: str = "request",
            allow: frozenset[int] = frozenset()) -> httpx.Response:
        """The response (status < 400, or one in ``allow``; body read) of a GET, after waits and retries.

        ``what`` names the endpoint in errors; it must not hold personal data (no handles)."""
        return self._send(url, params, what, lambda response: response.read(), allow)

    def download(self, url: str, params: dict[str, Any] | None, sink: BinaryIO, *, max_bytes: int,
                 what: str = "request") -> int:
        """Stream a GET's body into ``sink`` (from its start on every try); the number of bytes written.

        The body is never held in memory. A body announced or found larger than ``max_bytes`` raises
        :class:`TooLarge` as soon as that is known; a body cut short is retried from the start."""

        def copy(response: httpx.Response) -> None:
            announced = response.headers.get("content-length")
            if announced and announced.isdigit() and int(announced) > max_bytes:
                raise TooLarge(f"{what}: the server announces {announced} bytes, over the {max_bytes} byte limit")
            sink.seek(0)
            sink.truncate()
            size = 0
            for block in response.iter_bytes():
                size += len(block)
                if size > max_bytes:
                    raise TooLarge(f"{what}: the body is over the {max_bytes} byte limit")
                sink.write(block)

        response = self._send(url, params, what, copy)
        if response.status_code != 200:
            raise HttpError(f"{what}: HTTP {response.status_code} (redirects are not followed)")
        return sink.tell()

    def _send(self, url: str, params: dict[str, Any] | None, what: str,
              consume: Callable[[httpx.Response], object], allow: frozenset[int] = frozenset()) -> httpx.Response:
        """A GET after waits and retries; ``consume`` reads the body of a response below 400 (``allow``: see get)."""
        attempt = 0
        while True:
            self._pace()
            self._last_request = self.clock.monotonic()
            self.stats.requests += 1
            try:
                with self.client.stream("GET", url, params=params) as response:
                    if response.status_code < 400:
                        consume(response)
                    else:
                        response.read()
            except _RETRY_EXCEPTIONS as exc:
                self._retry_or_raise(attempt, what, type(exc).__name__)
                attempt += 1
                continue
            self._note_rate(response)
            if response.status_code == 429:
                self.stats.rate_limited += 1
                if attempt >= self.limits.max_retries:
                    raise CollectError(f"{what}: still rate limited (429) after {attempt} retries")
                wait = parse_retry_after(response.headers.get("retry-after"), self.clock.time())
                if wait is None and self._reset_at is not None:
                    wait = self._reset_at - self.clock.time()
                self._remaining = None
                self._wait(wait if wait is not None else self.backoff.delay(attempt))
                attempt += 1
                continue
            if response.status_code in TRANSIENT_STATUS:
                self._retry_or_raise(attempt, what, f"HTTP {response.status_code}")
                attempt += 1
                continue
            if response.status_code in allow:
                self.stats.skipped += 1
            elif response.status_code >= 400:
                raise HttpError(f"{what}: HTTP {response.status_code} {_error_message(response)}")
            return response

    def get_json(self, url: str, params: dict[str, Any] | None = None, *, what: str = "request",
                 allow: frozenset[int] = frozenset()) -> tuple[Any, httpx.Response]:
        """The parsed JSON body and the response; a body that is not JSON is retried as transient.

        A status in ``allow`` gives (None, response) whatever its body."""
        attempt = 0
        while True:
            response = self.get(url, params, what=what, allow=allow)
            if response.status_code in allow:
                return None, response
            try:
                return response.json(), response
            except ValueError:
                self._retry_or_raise(attempt, what, "a body that is not JSON")
                attempt += 1

    def _retry_or_raise(self, attempt: int, what: str, reason: str) -> None:
        if attempt >= self.limits.max_retries:
            raise CollectError(f"{what}: {reason}, still failing after {attempt} retries")
        self.stats.retries += 1
        self._wait(self.backoff.delay(attempt))


def _error_message(response: httpx.Response) -> str:
    """The API's short error name (XRPC ``error`` such as ``AuthMissing``; Mastodon's ``error``).

    The longer XRPC ``message`` is left out: it may quote the actor asked for."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f"({str(error)[:80]})" if error else ""


def user_agent(contact: str) -> str:
    from confiance import __version__

    return f"confiance/{__version__} (research collector; contact: {contact})"
