"""The local dashboard and its JSON API (``confiance serve``).

It reads a published snapshot of the store (``Workspace.publish_snapshot``), never the live file,
so ingest and analyses can run meanwhile; the snapshot's time is on every page. Pages are Jinja2
with autoescape; data reaches the page's scripts only as JSON (``/api/...``) and is written with
``textContent``. Every table is one :class:`~confiance.web.views.TableView`: its HTML page, JSON
route and CSV download share one query. Report sections are shown too, so each analysis that has a
report section has a dashboard page. An error on a page (404, a bad parameter: :mod:`confiance.web.problems`)
is a page of the same layout in the page's language; the ``/api`` routes answer errors as JSON
(``{"detail": …}``, FastAPI's own 422). Guards (bind, Host, Origin, login, headers) are in
:mod:`confiance.web.security`.

Pages speak the reader's language (:mod:`confiance.web.language`: ``serve --lang``, the header's switch)
through the report's catalogue and formatters (:mod:`confiance.i18n`); the JSON API and the CSV
downloads stay in English.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, Iterator

import duckdb
import orjson
from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from confiance import __version__, i18n, store
from confiance.export import Pseudonymiser, safe_cell
from confiance.graph.layout import LAYOUT_TABLE
from confiance.i18n import N_
from confiance.overview import workspace_status
from confiance.report import PAGE_LANGUAGE, http_url, install_i18n, url_host
from confiance.report.sections import all_sections
from confiance.web import views as V
from confiance.web.account_fields import SENSITIVE_COLUMNS, code_label, named_codes, shown_profile, shown_tables
from confiance.web.evidence import readable_cells, readable_scores
from confiance.web.language import LANGUAGES, STATIC_PATHS, PageLanguage, request_language, switch_links
from confiance.web.map import MAX_MAP_NODES, map_data, map_json, map_words
from confiance.web.problems import problems
from confiance.web.security import PUBLIC_PATHS, SESSION_COOKIE, Guard, Sessions, allowed_host_names
from confiance.wording import account_name


def _without_sensitive(value: Any) -> Any:
    """Evidence JSON keeps everything but the sensitive labels (the polarisation part of a harm profile)."""
    if isinstance(value, str) and value.startswith("{") and ("side" in value or "polarization" in value):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        if isinstance(parsed, dict):
            parsed = {k: v for k, v in parsed.items() if k != "polarization" and k not in SENSITIVE_COLUMNS}
            return orjson.dumps(parsed).decode()
    return value


def _aggregate_only(key: str, data: dict[str, Any]) -> dict[str, Any]:
    """A report section as the dashboard shows it: per-person sensitive labels removed."""
    if key == "polarization":
        data = {**data, "sides": [{**s, "top_accounts": []} for s in data.get("sides") or []],
                "bridges": [{**b, "side": ""} for b in data.get("bridges") or []],
                "sides_withheld": True}  # the template drops the emptied columns and says why
    return data


@dataclass
class Settings:
    snapshot: Path
    host: str = "127.0.0.1"
    port: int = 8765
    auth: bool = False
    pseudonymise: bool = False
    pseudonym_key: bytes | None = None
    extra_hosts: tuple[str, ...] = ()
    #: the pages' language when the reader has not chosen one (``serve --lang``)
    language: str = PAGE_LANGUAGE


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader("confiance.web", "templates"), PackageLoader("confiance.report", "templates")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.filters["url_host"] = url_host
    env.filters["account_name"] = account_name
    env.filters["num"] = _number
    env.filters["value"] = _value
    env.filters["code"] = code_label
    # the page's language (PageLanguage) gives the report's gettext, counts, numbers and dates their form
    return install_i18n(env)


def _number(value: Any, digits: int = 0) -> str:
    """A number in the page's language ("1,234.5"; "1 234,5"); other values as text (None as "")."""
    if value is None:
        return ""
    return i18n.number(value, digits) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _value(value: Any) -> Any:
    """A profile or score value on the account page: a float to 3 decimals, a time to the second, a count
    and a flag as written in the page's language (in English as Python prints them: "12345", "True")."""
    if isinstance(value, bool):
        return value if i18n.current() == PAGE_LANGUAGE else (i18n.gettext("yes") if value else i18n.gettext("no"))
    if isinstance(value, float):
        return _number(value, 3)
    return i18n.plain(i18n.moment(value))


def _snapshot_time(published_at: datetime) -> str:
    if i18n.current() == PAGE_LANGUAGE:
        return published_at.strftime("%Y-%m-%d %H:%M UTC")
    return i18n.moment(published_at)  # the language's form, to the second


class Message(str):
    """A message in English (what the JSON API answers) that an error page shows in its reader's language:
    ``msgid`` marked with ``N_``, its values put in (a value that is itself a Message is translated too)."""

    msgid: str
    values: dict[str, Any]

    def __new__(cls, msgid: str, **values: Any) -> "Message":
        message = super().__new__(cls, msgid % values if values else msgid)
        message.msgid, message.values = msgid, values
        return message

    def translated(self) -> str:
        values = {k: v.translated() if isinstance(v, Message) else v for k, v in self.values.items()}
        return i18n.gettext(self.msgid, **values) if values else i18n.translate(self.msgid)


#: What a page says for an error the framework raised (no route, a method a route does not take, a body it
#: could not parse), in place of its English detail.
FRAMEWORK_DETAILS = {
    HTTPStatus.BAD_REQUEST: N_("the request's body could not be read"),
    HTTPStatus.NOT_FOUND: N_("there is no page at this address"),
    HTTPStatus.METHOD_NOT_ALLOWED: N_("this address does not take this method"),
}


def _detail(detail: Any) -> str:
    """An error's detail in the page's language (a Message translated; a text already in it, the 422 problems, kept)."""
    return detail.translated() if isinstance(detail, Message) else str(detail)


def _is_api(request: Request) -> bool:
    """JSON routes: the API answers errors as ``{"detail": …}``; pages answer an HTML page."""
    return request.url.path == "/api" or request.url.path.startswith("/api/")


class Snapshot:
    """One read-only connection to the snapshot; a cursor per request (DuckDB cursors are thread-safe)."""

    def __init__(self, path: Path):
        self.path = path
        self._con = store.connect(path, read_only=True)
        self._lock = threading.Lock()
        self.published_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._con.cursor()

    def close(self) -> None:
        self._con.close()


class Masker:
    """Pseudonymised mode: stable pseudonyms for handles and ids; personal free text hidden."""

    def __init__(self, key: bytes | None):
        self.pseudonymiser = Pseudonymiser(key) if key else None
        self._reverse: dict[tuple[str, str], str] | None = None

    @property
    def active(self) -> bool:
        return self.pseudonymiser is not None

    def account(self, platform: str, account_id: str, handle: str | None) -> dict[str, str]:
        if not self.pseudonymiser:
            return {"platform": platform, "account_id": account_id, "label": handle or account_id, "ref": account_id}
        pseudonym = self.pseudonymiser.name(account_id)  # the same pseudonym as `export --pseudonymise`
        return {"platform": platform, "account_id": pseudonym, "label": pseudonym, "ref": pseudonym}

    def resolve(self, con: duckdb.DuckDBPyConnection, platform: str, ref: str) -> str | None:
        """The real account id behind a page's reference (its pseudonym in pseudonymised mode)."""
        if not self.pseudonymiser:
            return ref
        if self._reverse is None:
            rows = con.execute("SELECT platform, account_id FROM accounts").fetchall()
            self._reverse = {(p, self.pseudonymiser.name(a)): a for p, a in rows}
        return self._reverse.get((platform, ref))

    def row(self, view: V.TableView, row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for column in view.columns:
            value = row.get(column.name)
            if self.active and column.personal:
                continue
            if column.kind == "account":
                value = self.account(row.get("platform") or "", str(row.get("account_id") or ""), value)
            out[column.name] = value
        return out


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "label" in value:
        return value["label"]
    if isinstance(value, (list, tuple)):
        return " | ".join(_cell_text(v) for v in value)
    return str(value)


def create_app(settings: Settings) -> FastAPI:
    if settings.language not in LANGUAGES:
        raise ValueError(f"unsupported dashboard language {settings.language!r}: use one of {', '.join(LANGUAGES)}")
    snapshot = Snapshot(settings.snapshot)
    masker = Masker(settings.pseudonym_key if settings.pseudonymise else None)
    sessions = Sessions() if settings.auth else None
    env = _environment()
    app = FastAPI(title="confiance dashboard API", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.sessions = sessions
    app.state.snapshot = snapshot
    app.mount("/static", StaticFiles(packages=[("confiance.web", "static")]), name="static")

    def render(name: str, request: Request, **context: Any) -> HTMLResponse:
        con = snapshot.cursor()
        try:
            with_views = [v for v in V.all_views() if v.available(con)]
        finally:
            con.close()
        html = env.get_template(name).render(
            **page_context(request), views=with_views, sections=all_sections(), **context)
        return HTMLResponse(html)

    def page_context(request: Request) -> dict[str, Any]:
        """What every page's layout shows: its language and switch, the snapshot's time, the version."""
        return {"request_path": request.url.path, "page_language": i18n.current(),
                "languages": switch_links(request.url.query, i18n.current()),
                "snapshot_time": _snapshot_time(snapshot.published_at), "version": __version__,
                "pseudonymised": masker.active}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return await http_exception_handler(request, exc)
        # the dashboard's own details are Messages; the framework's are English ("Method Not Allowed")
        detail = exc.detail if isinstance(exc.detail, Message) else Message(
            FRAMEWORK_DETAILS.get(exc.status_code, N_("the request could not be answered")))
        return error_page(request, exc.status_code, detail)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return await request_validation_exception_handler(request, exc)
        return error_page(request, 422, problems(exc.errors()) or Message(N_("invalid request")))

    def error_page(request: Request, status: int, detail: Any) -> HTMLResponse:
        """An error as a page of the dashboard (same layout, message escaped by autoescape)."""
        if request.url.path.startswith(STATIC_PATHS):  # the language middleware let the file request through
            language, _ = request_language(request.scope, dict(request.headers), settings.language)
            with i18n.using(language):
                return _error_page(request, status, detail)
        return _error_page(request, status, detail)

    def _error_page(request: Request, status: int, detail: Any) -> HTMLResponse:
        if request.url.path.startswith(PUBLIC_PATHS):  # maybe not logged in: no table or analysis names
            html = env.get_template("error.html").render(
                **page_context(request), views=[], sections=[], status=status, detail=_detail(detail))
            response = HTMLResponse(html)
        else:
            response = render("error.html", request, status=status, detail=_detail(detail))
        response.status_code = status
        return response

    def table_view(key: str) -> V.TableView:
        view = V.view_named(key)
        if view is None:
            raise HTTPException(404, Message(N_("no such table")))
        return view

    def fetch_page(key: str, sort: str | None, desc: bool | None, q: str, offset: int, limit: int):
        view = table_view(key)
        con = snapshot.cursor()
        try:
            if not view.available(con):
                raise HTTPException(404, Message(N_("%(table)s not computed yet: run `confiance analyze`"),
                                                 table=Message(view.title)))
            found = V.page(con, view, sort=sort, descending=desc, query=q, offset=offset, limit=limit,
                           hide_personal=masker.active)
        finally:
            con.close()
        rows = [masker.row(view, r) for r in found.rows]
        return view, found, rows

    # -- pages ----------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> HTMLResponse:
        con = snapshot.cursor()
        try:
            status = workspace_status(con)
        finally:
            con.close()
        return render("overview.html", request, status=status)

    # the CSV route first: /tables/{key} would otherwise take 'accounts.csv' as a key
    @app.get("/tables/{key}.csv", include_in_schema=False)
    def table_csv(key: str, sort: str | None = None, desc: bool | None = None,
                  q: str = Query("", max_length=V.MAX_QUERY)) -> StreamingResponse:
        view = table_view(key)
        columns = [c for c in view.columns if not (masker.active and c.personal)]

        def lines() -> Iterator[str]:
            con = snapshot.cursor()
            try:
                if not view.available(con):
                    return
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                writer.writerow([c.name for c in columns])
                for row in V.all_rows(con, view, sort=sort, descending=desc, query=q, hide_personal=masker.active):
                    masked = masker.row(view, row)
                    writer.writerow([safe_cell(_cell_text(masked.get(c.name))) for c in columns])
                    if buffer.tell() > 65536:
                        yield buffer.getvalue()
                        buffer.seek(0)
                        buffer.truncate()
                yield buffer.getvalue()
            finally:
                con.close()

        return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                                 headers={"content-disposition": f'attachment; filename="{view.key}.csv"'})

    @app.get("/tables/{key}", response_class=HTMLResponse, include_in_schema=False)
    def table_page(request: Request, key: str, sort: str | None = None, desc: bool | None = None,
                   q: str = Query("", max_length=V.MAX_QUERY), offset: int = Query(0, ge=0, le=V.MAX_OFFSET),
                   limit: int = Query(V.DEFAULT_PAGE, ge=1, le=V.MAX_PAGE)) -> HTMLResponse:
        view, found, rows = fetch_page(key, sort, desc, q, offset, limit)
        columns = [c for c in view.columns if not (masker.active and c.personal)]
        evidence = [c.name for c in columns if c.kind == "evidence"]
        if evidence and not masker.active:  # pseudonymised: no handle lookup, the stored value as it is
            con = snapshot.cursor()
            try:
                for name in evidence:
                    texts = readable_cells(con, [(str(r.get("platform") or ""), r.get(name)) for r in rows])
                    rows = [{**r, name: t} for r, t in zip(rows, texts)]
            finally:
                con.close()
        return render("table.html", request, view=view, page=found, rows=rows, columns=columns, max_query=V.MAX_QUERY,
                      numeric_kinds=V.NUMERIC_KINDS)

    @app.get("/sections/{key}", response_class=HTMLResponse, include_in_schema=False)
    def section_page(request: Request, key: str) -> HTMLResponse:
        section = next((s for s in all_sections() if s.key == key), None)
        if section is None:
            raise HTTPException(404, Message(N_("no such section")))
        con = snapshot.cursor()
        try:
            data = section.collect(con)
        finally:
            con.close()
        if masker.active and data is not None:
            data = None  # report sections name accounts; in pseudonymised mode only the tables are shown
            hint = i18n.gettext("hidden in pseudonymised mode: use the tables, which show pseudonyms")
        else:
            hint = i18n.translate(section.missing_hint)
            data = _aggregate_only(key, data) if data is not None else None
        return render("section.html", request, section=section, data=data, hint=hint)

    @app.get("/accounts/{platform}/{ref}", response_class=HTMLResponse, include_in_schema=False)
    def account_page(request: Request, platform: str, ref: str) -> HTMLResponse:
        account = _account(platform, ref)
        scores = named_codes(account["scores"])
        if not masker.active:  # pseudonymised rows hold numbers and flags only: nothing to name
            con = snapshot.cursor()
            try:
                scores = readable_scores(con, platform, scores)
            finally:
                con.close()
        return render("account.html", request, account=account, profile=shown_profile(account["profile"]),
                      tables=shown_tables(scores))

    @app.get("/map", response_class=HTMLResponse, include_in_schema=False)
    def map_page(request: Request,
                 max_nodes: int | None = Query(None, ge=1, le=MAX_MAP_NODES)) -> HTMLResponse:
        # max_nodes is read by the map script from the address; checked here so a bad value gets the
        # error page in the reader's language rather than the API's JSON inside the map
        con = snapshot.cursor()
        try:
            # the page says why there is nothing to draw instead of loading the map script for a 404
            laid_out = store.has_table(con, LAYOUT_TABLE) and con.execute(
                f"SELECT count(*) > 0 FROM {LAYOUT_TABLE}").fetchall()[0][0]
        finally:
            con.close()
        return render("map.html", request, max_map_nodes=MAX_MAP_NODES, laid_out=laid_out, map_words=map_words())

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return HTMLResponse(env.get_template("login.html").render(**page_context(request)))

    @app.post("/login", include_in_schema=False)
    def login(token: str = Form(...)) -> Response:
        if sessions is None:
            return RedirectResponse("/", status_code=303)
        session = sessions.exchange(token)
        if session is None:
            raise HTTPException(403, Message(N_("wrong or already used token")))
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return response

    # -- JSON API -------------------------------------------------------------------------------
    @app.get("/api/overview")
    def api_overview() -> dict[str, Any]:
        """Row counts per table, rejects and the snapshot's time."""
        con = snapshot.cursor()
        try:
            status = workspace_status(con)
        finally:
            con.close()
        return {"snapshot": snapshot.published_at.isoformat(), "tables": status["tables"],
                "sources": status.get("sources"), "rejects": status.get("rejects")}

    @app.get("/api/tables")
    def api_tables() -> list[dict[str, Any]]:
        """Every table the dashboard knows, and whether this snapshot has it."""
        con = snapshot.cursor()
        try:
            return [{"key": v.key, "title": v.title, "available": v.available(con), "description": v.description,
                     "columns": [c.name for c in v.columns if not (masker.active and c.personal)]}
                    for v in V.all_views()]
        finally:
            con.close()

    @app.get("/api/tables/{key}")
    def api_table(key: str, sort: str | None = None, desc: bool | None = None, q: str = Query("", max_length=V.MAX_QUERY),
                  offset: int = Query(0, ge=0, le=V.MAX_OFFSET),
                  limit: int = Query(V.DEFAULT_PAGE, ge=1, le=V.MAX_PAGE)) -> dict[str, Any]:
        """One bounded page of a table, sorted and filtered like its HTML page."""
        view, found, rows = fetch_page(key, sort, desc, q, offset, limit)
        return {"table": view.key, "total": found.total, "offset": found.offset, "limit": found.limit,
                "sort": found.sort, "descending": found.descending, "rows": _json_value(rows)}

    @app.get("/api/map", response_class=Response, responses={200: {"content": {"application/json": {}}}})
    def api_map(community: int | None = None, platform: str | None = Query(None, max_length=40),
                kind: str | None = Query(None, max_length=40),
                max_nodes: int = Query(MAX_MAP_NODES, ge=1, le=MAX_MAP_NODES)) -> Response:
        """The laid-out account graph, columnar: node positions, sizes and colours; links as node index pairs."""
        con = snapshot.cursor()
        try:
            if not store.has_table(con, LAYOUT_TABLE):
                raise HTTPException(404, Message(N_("no layout yet: run `confiance analyze`")))
            data = map_data(con, community=community, platform=platform, kind=kind, max_nodes=max_nodes)
        finally:
            con.close()
        return Response(map_json(data, masker.account), media_type="application/json")

    @app.get("/api/accounts/{platform}/{ref}")
    def api_account(platform: str, ref: str) -> dict[str, Any]:
        """One account: profile, every per-account score that exists, and recent posts."""
        return _json_value(_account(platform, ref))

    def _account(platform: str, ref: str) -> dict[str, Any]:
        con = snapshot.cursor()
        try:
            account_id = masker.resolve(con, platform, ref)
            rows = con.execute("SELECT * FROM accounts WHERE platform = ? AND account_id = ?",
                               [platform, account_id]).fetchall() if account_id else []
            if not rows:
                raise HTTPException(404, Message(N_("no such account")))
            names = [d[0] for d in con.description]
            profile = dict(zip(names, rows[0]))
            scores = _account_scores(con, platform, account_id, numbers_only=masker.active)
            posts = con.execute(
                "SELECT post_id, created_at, kind, text, likes, reposts, replies, urls FROM posts "
                "WHERE platform = ? AND account_id = ? ORDER BY created_at DESC LIMIT 20", [platform, account_id]).fetchall()
        finally:
            con.close()
        shown = masker.account(platform, account_id, profile.get("handle"))
        keep = ("platform", "followers", "following", "posts_count", "verified", "created_at", "lang")
        personal = ("display_name", "bio", "location", "url")
        details = {k: profile.get(k) for k in keep + (() if masker.active else personal)}
        return {"account": shown, "profile": details, "scores": scores,
                "posts": [] if masker.active else [
                    {"post_id": p[0], "created_at": p[1], "kind": p[2], "text": p[3], "likes": p[4], "reposts": p[5],
                     "replies": p[6], "urls": [u for u in (p[7] or []) if http_url(u)]} for p in posts]}

    app.add_middleware(PageLanguage, default=settings.language)
    app.add_middleware(Guard, allowed_hosts=allowed_host_names(settings.host, settings.port, settings.extra_hosts),
                       sessions=sessions, language=settings.language)
    return app


def _account_scores(con: duckdb.DuckDBPyConnection, platform: str, account_id: str, *,
                    numbers_only: bool) -> dict[str, list[dict[str, Any]]]:
    """Every derived table keyed by (platform, account_id): this account's rows (at most 20 each).

    Evidence rows name other people; in pseudonymised mode only numbers and flags are kept."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in store.derived_tables(con):
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table]).fetchall()]
        if not {"platform", "account_id"} <= set(columns):
            continue
        cursor = con.execute(f'SELECT * FROM "{table}" WHERE platform = ? AND account_id = ? LIMIT 20', [platform, account_id])
        names = [d[0] for d in cursor.description]
        rows = []
        for row in cursor.fetchall():
            kept = {k: _without_sensitive(v) for k, v in zip(names, row)
                    if k not in ("run_id", "platform", "account_id", "handle") and k not in SENSITIVE_COLUMNS}
            if numbers_only:
                kept = {k: v for k, v in kept.items() if isinstance(v, (int, float, bool)) or v is None}
            rows.append(kept)
        if rows:
            out[table] = rows
    return out
