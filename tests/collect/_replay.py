"""Local servers that replay recorded API responses: an HTTP server for the Bluesky AppView and
Mastodon, a WebSocket server for Jetstream. Faults (429, 5xx, a socket closed mid-body, a body that
stalls halfway, a stream cut) are injected per request; every request is logged (path and query) for
the assertions. :class:`HostRouter` sends requests for other hosts (a PLC directory, PDSs) to the
local server, under ``/<host>/<path>``."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from tests.conftest import FORMATS

BLUESKY = FORMATS / "bluesky-atproto"
MASTODON = FORMATS / "mastodon-api"


# -- recorded data ------------------------------------------------------------------------------

def bluesky_items() -> list[dict]:
    return json.loads((BLUESKY / "bluesky-posts.json").read_text(encoding="utf-8"))


def bluesky_post_views() -> list[dict]:
    """The post views of the recording (wrappers and feed items unwrapped), in file order."""
    return [item if "record" in item else item["post"] for item in bluesky_items()]


def jetstream_events() -> list[dict]:
    return json.loads((BLUESKY / "bluesky-firehose-posts.json").read_text(encoding="utf-8"))


def mastodon_statuses() -> list[dict]:
    """The public timeline of test_public_tl.yaml (8 statuses) and the statuses posted in
    test_status_reply_with_quote.yaml (a reply that quotes), newest first as a timeline serves them."""
    timeline: list[dict] = []
    posted: list[dict] = []
    for name in ("test_public_tl.yaml", "test_status_reply_with_quote.yaml"):
        cassette = yaml.safe_load((MASTODON / name).read_text(encoding="utf-8"))
        for interaction in cassette["interactions"]:
            request, response = interaction["request"], interaction["response"]
            body = response["body"]["string"]
            if not body:
                continue
            value = json.loads(body)
            if request["method"] == "GET" and "/timelines/public" in request["uri"] and "local=" not in request["uri"]:
                timeline = value
            elif request["method"] == "POST" and request["uri"].endswith("/api/v1/statuses"):
                posted.append(value)
    seen = {s["id"] for s in timeline}
    merged = timeline + [s for s in posted if s["id"] not in seen]
    return sorted(merged, key=lambda s: (len(s["id"]), s["id"]), reverse=True)


def pages_of(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- HTTP ---------------------------------------------------------------------------------------

@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    sized: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class Fault:
    """Applied to the next ``times`` requests of ``path`` for which ``when(query)`` is true."""

    path: str
    kind: str  # "status" | "drop" | "stall" (half the body, then wait for ReplayServer.release)
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    when: Callable[[dict[str, str]], bool] = lambda query: True


Route = Callable[[dict[str, str], "ReplayServer"], Reply]


class ReplayServer:
    def __init__(self, routes: dict[str, Route], rate_headers: Callable[["ReplayServer"], dict[str, str]] | None = None):
        self.routes = routes
        self.rate_headers = rate_headers or (lambda server: {})
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.headers_seen: list[dict[str, str]] = []
        self.stalled, self.release = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not after a delayed ACK

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests.append((parts.path, query))
                    server.headers_seen.append(dict(self.headers))
                    fault = next((f for f in server.faults if f.path == parts.path and f.times > 0 and f.when(query)), None)
                    if fault:
                        fault.times -= 1
                route = server.routes.get(parts.path)
                reply = route(query, server) if route else Reply(404, {"error": "NotFound"})
                if fault and fault.kind == "status":
                    reply = Reply(fault.status, {"error": "injected"}, fault.headers)
                binary = isinstance(reply.body, bytes)
                data = reply.body if binary else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/vnd.ipld.car" if binary else "application/json; charset=utf-8")
                if reply.sized:
                    self.send_header("Content-Length", str(len(data)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                for key, value in {**server.rate_headers(server), **reply.headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                if fault and fault.kind in ("drop", "stall"):  # half the body, then the socket goes away
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    if fault.kind == "stall":
                        server.stalled.set()
                        server.release.wait(60)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ReplayServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def calls(self, path: str) -> list[dict[str, str]]:
        return [query for p, query in self.requests if p == path]


class HostRouter(httpx.BaseTransport):
    """An ``httpx`` transport: requests to the server's address go there as they are; requests to
    any other host go to ``<server>/<host>/<path>`` (the host checks of the collector still see the
    original URL)."""

    def __init__(self, server_url: str):
        self.inner = httpx.HTTPTransport()
        self.local = httpx.URL(server_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host != self.local.host:
            port = f":{url.port}" if url.port else ""
            request.url = self.local.copy_with(raw_path=f"/{url.host}{port}".encode() + url.raw_path)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def cursor_pages(pages: list[Any], key: str, extra: dict | None = None) -> Route:
    """An XRPC list endpoint: page n is asked with cursor ``p<n>``; the last page has no cursor."""

    def route(query: dict[str, str], server: ReplayServer) -> Reply:
        cursor = query.get("cursor", "p0")
        index = int(cursor[1:])
        body = {**(extra or {}), key: pages[index]}
        if index + 1 < len(pages):
            body["cursor"] = f"p{index + 1}"
        return Reply(body=body)

    return route


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def mastodon_pages(pages: list[list[dict]], path: str) -> Route:
    """A Mastodon list endpoint: newest first; ``max_id`` pages to older statuses through
    ``Link: rel=next``, ``min_id`` to newer ones through ``rel=prev`` (as Mastodon does)."""
    statuses = [s for page in pages for s in page]
    size = len(pages[0]) if pages else 1

    def order(status_id: str) -> tuple[int, str]:
        return (len(status_id), status_id)

    def route(query: dict[str, str], server: ReplayServer) -> Reply:
        if "min_id" in query:
            newer = [s for s in statuses if order(s["id"]) > order(query["min_id"])]
            chunk = newer[-size:]  # the statuses just after min_id, newest first
        else:
            older = [s for s in statuses if "max_id" not in query or order(s["id"]) < order(query["max_id"])]
            chunk = older[:size]
        links = []
        if chunk:
            base = f"{server.url}{path}"
            keep = "".join(f"{k}={v}&" for k, v in query.items() if k not in ("max_id", "min_id", "limit"))
            if order(chunk[-1]["id"]) > order(statuses[-1]["id"]):
                links.append(f'<{base}?{keep}max_id={chunk[-1]["id"]}>; rel="next"')
            links.append(f'<{base}?{keep}min_id={chunk[0]["id"]}>; rel="prev"')
        return Reply(body=chunk, headers={"Link": ", ".join(links)} if links else {})

    return route


# -- WebSocket (Jetstream) ------------------------------------------------------------------------

class JetstreamServer:
    """Replays events from the ``cursor`` the client asks for (time_us at or after it, as Jetstream
    does); ``cut_after`` closes the first connection after that many events."""

    def __init__(self, events: list[dict], cut_after: int | None = None):
        from websockets.sync.server import serve

        self.events = sorted(events, key=lambda e: e["time_us"])
        self.cut_after = cut_after
        self.connections: list[dict[str, str]] = []
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/subscribe"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handle(self, connection: Any) -> None:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(connection.request.path).query).items()}
        first = not self.connections
        self.connections.append({**query, "user-agent": connection.request.headers.get("User-Agent", "")})
        cursor = int(query["cursor"]) if "cursor" in query else None
        sent = 0
        for event in self.events:
            if cursor is not None and event["time_us"] < cursor:
                continue
            connection.send(json.dumps(event))
            sent += 1
            if first and self.cut_after is not None and sent >= self.cut_after:
                connection.close()
                return
        try:
            connection.recv()  # hold the stream open until the client leaves
        except Exception:
            pass

    def __enter__(self) -> "JetstreamServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
