"""The dashboard's language: ``confiance serve --lang`` sets the default, and the reader's choice
(``?lang=fr`` on any page, the header's switch) is remembered in a cookie.

The language of a page is set for the time of its request with :func:`confiance.i18n.using`, so
templates, report sections and the dashboard's own messages read it as the report does. The JSON API
is left out: it answers in English whatever the reader chose. The static files are the same in every
language, so the middleware lets them through without reading the language; an error under
``/static/`` (a file that is not there) is a page like any other, and reads the language when it is
answered (:func:`request_language`), so serving a file costs nothing more. An unknown
``?lang=`` or cookie value falls back (no error page). The cookie holds no secret (``SameSite=Strict``,
readable by scripts is harmless); choosing a language changes nothing on the server.
The security guard words its plain-text refusals by the same rule (:func:`request_language`).
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from confiance import i18n

LANGUAGES = i18n.LANGUAGES
LANGUAGE_COOKIE = "confiance_lang"
#: A year: the choice outlives a restart of ``confiance serve``.
COOKIE_MAX_AGE = 365 * 24 * 3600
#: The switch names each language in itself (a reader who does not read the page's language finds theirs).
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
#: Paths whose answers do not depend on the reader's language.
UNTRANSLATED_PATHS = ("/api/",)
#: Paths of files the same in every language: the middleware leaves them alone (their error pages do not).
STATIC_PATHS = ("/static/",)


def supported(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


def chosen(query_string: str, cookie_header: str, default: str) -> tuple[str, bool]:
    """The page's language, and whether the request chose it (``?lang=``: the cookie is to be set)."""
    asked = supported(dict(parse_qsl(query_string)).get("lang"))
    if asked:
        return asked, True
    cookie = SimpleCookie()
    try:
        cookie.load(cookie_header)
    except Exception:  # noqa: BLE001  (a malformed Cookie header is the browser's, not an error page)
        return default, False
    remembered = supported(cookie[LANGUAGE_COOKIE].value) if LANGUAGE_COOKIE in cookie else None
    return remembered or default, False


def translated(path: str) -> bool:
    """Whether the answers at ``path`` speak the reader's language (the JSON API does not)."""
    return path != "/api" and not path.startswith(UNTRANSLATED_PATHS)


def request_language(scope: dict, headers: dict[str, str], default: str) -> tuple[str, bool]:
    """An ASGI request's language and whether it chose it (:func:`chosen` on its query and ``Cookie`` header;
    ``headers`` keyed in lower case); English on a path that is not :func:`translated`."""
    if not translated(scope["path"]):
        return LANGUAGES[0], False
    return chosen(scope.get("query_string", b"").decode("latin-1"), headers.get("cookie", ""), default)


def cookie_header(language: str) -> bytes:
    return f"{LANGUAGE_COOKIE}={language}; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Strict".encode()


def switch_links(query_string: str, current: str) -> list[dict[str, object]]:
    """The header's switch: this page in each language, its other parameters kept (a link of a query
    alone stays on the page's path, whatever the path holds)."""
    kept = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k != "lang"]
    return [{"code": code, "name": LANGUAGE_NAMES[code], "current": code == current,
             "url": "?" + urlencode([*kept, ("lang", code)])} for code in LANGUAGES]


class PageLanguage:
    """ASGI middleware: each page request is answered in its language; a chosen one is remembered."""

    def __init__(self, app, *, default: str):
        self.app = app
        self.default = default

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http" or not translated(scope["path"]) or scope["path"].startswith(STATIC_PATHS):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        language, remember = request_language(scope, headers, self.default)

        async def send_with_cookie(message: dict) -> None:
            if remember and message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"set-cookie", cookie_header(language))]
                message = {**message, "headers": headers}
            await send(message)

        with i18n.using(language):
            await self.app(scope, receive, send_with_cookie)
