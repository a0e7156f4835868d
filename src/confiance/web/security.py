"""The dashboard's guards: bind address, Host allow-list, Origin check, login token, security headers.

The dashboard shows personal data, so it is as careful as Datasette on a shared LAN:

- it binds to the loopback interface; any other address needs ``--auth``;
- every request's ``Host`` must be one the server was started for (a DNS-rebinding page on another
  site cannot talk to it under its own name);
- a request that may change state (anything but GET/HEAD/OPTIONS) must come from the dashboard's own
  origin; GET never changes state;
- with ``--auth``, a one-time token printed at start is exchanged (by a POST) for a random session
  id in an ``HttpOnly; SameSite=Strict`` cookie; every other route then needs that cookie;
- responses carry a strict Content-Security-Policy (scripts only from the dashboard itself, no
  inline script), ``nosniff``, ``no-referrer`` and ``frame-ancestors 'none'``.

The guard runs first, before the language middleware (:class:`~confiance.web.language.PageLanguage`) and
the application: nothing reads a request the checks refuse. A refusal is a short plain text in the
language the request chose, by the rule of the pages (:func:`~confiance.web.language.request_language`:
``?lang=``, the cookie, the server's default; English for the JSON API). The language is read only to
word the refusal: it opens nothing, and the refusal sets no cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Awaitable, Callable

from confiance import i18n
from confiance.i18n import N_
from confiance.web.language import request_language

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SESSION_COOKIE = "confiance_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: Routes reachable without a session when --auth is on (the login exchange and its stylesheet).
PUBLIC_PATHS = ("/login", "/static/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_host_names(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """The ``Host`` header values the server answers to: its bind address (and loopback names when
    it binds loopback), with and without the port."""
    names = {host, *extra}
    if is_loopback(host):
        names.update(LOOPBACK_HOSTS)
    out = set()
    for name in names:
        bracketed = f"[{name}]" if ":" in name and not name.startswith("[") else name
        out.update({bracketed.lower(), f"{bracketed}:{port}".lower()})
    return frozenset(out)


@dataclass
class Sessions:
    """The one-time login token and the sessions it opened (in memory: a restart logs everyone out)."""

    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(24))
    ids: set[str] = field(default_factory=set)

    def exchange(self, offered: str) -> str | None:
        """A new session id when ``offered`` is the unused token; the token then stops working."""
        if self.token is None or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return None
        self.token = None
        session = secrets.token_urlsafe(32)
        self.ids.add(session)
        return session

    def valid(self, session: str | None) -> bool:
        return bool(session) and any(hmac.compare_digest(session.encode(), s.encode()) for s in self.ids)


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class Guard:
    """ASGI middleware applying the checks above before the application sees a request."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: frozenset[str], sessions: Sessions | None, language: str):
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.sessions = sessions
        #: the server's default language (``serve --lang``), for the refusals' words
        self.language = language

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        refusal = None
        if host not in self.allowed_hosts:
            refusal = 400, N_("unknown Host header")
        elif scope["method"] not in SAFE_METHODS and not _same_origin(headers, host, scope.get("scheme", "http")):
            refusal = 403, N_("cross-origin request refused")
        elif self.sessions is not None and not scope["path"].startswith(PUBLIC_PATHS):
            cookie = SimpleCookie(headers.get("cookie", ""))
            session = cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None
            if not self.sessions.valid(session):
                refusal = 403, N_("log in with the token printed by `confiance serve --auth`")
        if refusal is not None:
            language, _ = request_language(scope, headers, self.language)
            await _plain(send, *refusal, language)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _same_origin(headers: dict[str, str], host: str, scheme: str) -> bool:
    """A state-changing request must name our own origin (Origin, else Referer); browsers send one."""
    origin = headers.get("origin") or headers.get("referer")
    if not origin:
        return False
    expected = f"{scheme}://{host}"
    return origin == expected or origin.startswith(expected + "/")


async def _plain(send, status: int, message: str, language: str) -> None:
    """A refusal: ``message`` (an ``N_`` message id) in ``language``, as plain text."""
    with i18n.using(language):
        body = i18n.translate(message).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"content-language", language.encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
