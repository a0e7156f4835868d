"""Command line: one sub-command per verb; each parses options and calls one library function."""

from __future__ import annotations

import csv
import math
import re
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from confiance import i18n
from confiance.errors import ConfianceError
from confiance.i18n import N_, Phrase
from confiance.wording import counted
from confiance.workspace import Workspace, default_root

app = typer.Typer(add_completion=False, no_args_is_help=True, help="confiance: influence and trust intelligence workbench.")
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, Any] = {}


@app.callback()
def _global(
    ctx: typer.Context,
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Workspace folder (default $CONFIANCE_WORKSPACE, else ./confiance-workspace)."),
    lang: str = typer.Option("en", "--lang", envvar="CONFIANCE_LANG",
                             help="Language of messages, reports and pages: en or fr (default $CONFIANCE_LANG, else en)."),
) -> None:
    _check_language(lang)
    _state["root"] = workspace or default_root()
    _state["lang"] = lang
    ctx.with_resource(i18n.using(lang))  # the command's messages, and main's error line, in that language


def _ws() -> Workspace:
    return Workspace.open(_state["root"])


def _emit_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str) + b"\n")
    sys.stdout.flush()


#: The CSV columns of each listing (by its title), printed as the header when it has no rows: a
#: script reading `--csv` gets the same columns whether or not anything was found.
LISTING_COLUMNS: dict[str, tuple[str, ...]] = {
    "formats": ("name", "aliases", "containers", "options", "description"),
    "sources": ("sha256", "path", "format", "encoding", "records_read", "stored", "duplicates", "rejected", "ingested_at"),
    "communities": ("platform", "account_id", "community"),
    "influencers": ("rank", "influencer_rank", "platform", "account_id", "handle", "influence", "excluded", "followers",
                    "unique_engagers", "engagement_per_post", "amplification", "authority", "engagement_rate", "coreness",
                    "active_weeks_share", "weekly_cv", "community", "community_size", "community_rank",
                    "community_leader_share", "community_lead", "topic", "explanation"),
    "bot likelihood": ("platform", "account_id", "handle", "score", "label", "evidence"),
    "disclosure": ("platform", "post_id", "account_id", "commercial", "verdict", "disclosure", "rules"),
    "disclosure accounts": ("platform", "account_id", "posts", "commercial_posts", "undisclosed_posts", "unclear_posts",
                            "banned_posts", "paid_share", "undisclosed_share"),
    "domains by share": ("domain", "rating", "rated_domain", "source", "shares", "share", "urls", "accounts"),
    "account types": ("platform", "account_id", "handle", "type", "confidence", "scores", "evidence"),
    "harmful-influence profiles": ("platform", "account_id", "handle", "engagements", "bot_amplification_share",
                                   "bot_amplifier_share", "coordinated_group", "low_credibility_share",
                                   "polarization_position", "undisclosed_share", "engagers", "suspicious_share",
                                   "suspicious_interaction_share", "suspicious_follower_share"),
    "emerging narratives": ("series_kind", "series", "first_burst", "last_burst", "burst_days", "peak_score", "peak_count",
                            "method", "threshold", "window"),
    "share of voice": ("period", "query", "posts", "share"),
    "coordination edges": ("platform", "a", "b", "kind", "weight", "evidence"),
    "survey changes": ("question", "kind", "answer", "comparison", "segment", "estimate", "lower", "upper"),
    "attribution": ("kind", "key", "posts", "accounts", "engagements", "views", "first_post_at", "kpi_totals"),
    "topics": ("topic", "label", "size", "terms", "languages"),
    "graph metrics": ("platform", "account_id", "out_degree", "in_degree", "out_strength", "in_strength", "pagerank",
                      "component"),
}


def _emit_csv(rows: list[dict[str, Any]], title: str) -> None:
    from confiance.export import safe_cell

    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()) if rows else list(LISTING_COLUMNS[title]))
    writer.writeheader()
    for row in rows:
        # nested values (scores, evidence) as JSON text rather than Python's repr
        writer.writerow({k: safe_cell(orjson.dumps(v, default=str).decode() if isinstance(v, (dict, list, tuple)) else v)
                         for k, v in row.items()})


def _emit_table(title: str, rows: list[dict[str, Any]]) -> None:
    console = Console()
    if not console.is_terminal:  # redirected or piped: whole cells, not 80 columns of ellipses
        console = Console(width=_UNWRAPPED_WIDTH)
    table = Table(title=title)
    if not rows:
        console.print(f"{title}: nothing yet")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))  # rows may lack some columns
    for key in columns:
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key in columns))
    console.print(table)


def _cell(value: Any) -> str:
    """A table cell: a float to four decimals, trailing zeros dropped (0.4166666666666667 → 0.4167; --json
    and --csv keep every digit); a tiny one in scientific notation rather than a misleading 0. A list
    of plain values is joined with ", "; other nested values are JSON text, as in --csv (not Python's
    repr, with its quotes and True/None)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) and not any(isinstance(v, (dict, list, tuple)) for v in value):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, (dict, list, tuple)):
        return orjson.dumps(value, default=str).decode()
    if isinstance(value, float) and math.isfinite(value):
        if value != 0 and abs(value) < 5e-5:
            return f"{value:.2e}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


#: Line width of tables written to a file or a pipe (a terminal's own width applies otherwise).
_UNWRAPPED_WIDTH = 1000


def _listing(title: str, rows: list[dict[str, Any]], as_json: bool, as_csv: bool) -> None:
    if as_json:
        _emit_json(rows)
    elif as_csv:
        _emit_csv(rows, title)
    else:
        _emit_table(title, rows)


# ------------------------------------------------------------------------------------------------
@app.command()
def init() -> None:
    """Create the workspace (store, raw archive, snapshots, reports, audit log)."""
    ws = Workspace.init(_state["root"])
    err.print(f"workspace ready: {ws.root}")


@app.command()
def migrate() -> None:
    """Bring the store's schema to this version of confiance."""
    applied = Workspace.open(_state["root"]).migrate()
    err.print(f"applied schema versions: {applied}" if applied else "schema already current")


@app.command()
def formats(as_json: bool = typer.Option(False, "--json"), as_csv: bool = typer.Option(False, "--csv")) -> None:
    """List the input formats ingest understands."""
    from confiance.ingest import formats as all_formats

    rows = [{"name": f.name, "aliases": ",".join(f.aliases), "containers": ",".join(f.containers),
             "options": ",".join(f.options), "description": f.description}
            for f in all_formats().values()]
    _listing("formats", rows, as_json, as_csv)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
    format_name: Optional[str] = typer.Option(None, "--format", help="Skip detection: use this format for every file."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="Column mapping YAML (generic CSV)."),
    platform: Optional[str] = typer.Option(None, "--platform", help="Platform for edge lists and generic CSV."),
    option: list[str] = typer.Option([], "--option", metavar="KEY=VALUE",
                                     help="Importer option, repeatable (dayfirst=true...); `confiance formats` lists them."),
    as_json: bool = typer.Option(False, "--json"),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (the store) or spark (the Parquet lake, see docs/scaling-out.md)."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Spark master URL (default $CONFIANCE_SPARK_MASTER, else local[N])."),
) -> None:
    """Ingest platform files: one transaction per file; rejects are kept with file, line and reason."""
    from confiance.ingest import ingest_paths

    options: dict[str, Any] = {}
    if mapping:
        options["mapping"] = str(mapping)
    if platform:
        options["platform"] = platform
    if option:
        from confiance.ingest import formats_for

        chosen = formats_for(paths, format_name)
        known = sorted({name for fmt in chosen for name in fmt.options})
        for item in option:
            key, sep, value = (part.strip() for part in item.partition("="))
            if not sep or not key:
                raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
            if key not in known:
                raise typer.BadParameter(f"{key!r} is not an option of {', '.join(f.name for f in chosen) or 'these files'}"
                                         f" (known: {', '.join(known) or 'none'})", param_hint="--option")
            options[key] = {"true": True, "false": False}.get(value.lower(), value)
    _check_engine(engine)
    if engine == "spark":
        return _ingest_on_spark(paths, format_name, options, spark_master, None, as_json)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        def start(path: Path, size: int):
            task = bar.add_task(path.name[:40], total=size)
            return lambda n: bar.advance(task, n)

        results: list = []  # committed files, also when a later file fails
        skipped: list[Path] = []

        def skip(path: Path, reason: str) -> None:
            skipped.append(path)
            _say_skipped(path, reason)

        try:
            ingest_paths(_ws(), paths, format_name=format_name, options=options, on_file_start=start,
                         on_file_done=_file_done(format_name, results), on_skip=skip)
        except (ConfianceError, OSError) as exc:
            # the files before the failed one are committed: a script must see what landed
            if as_json:
                failed = getattr(exc, "file", None) or getattr(exc, "filename", None)
                _emit_json([r.as_json() for r in results] + [{"path": failed and str(failed),
                                                               "error": " ".join(str(exc).split())}])
            raise
    if not results and not skipped:  # an empty folder: say so rather than print nothing
        err.print(f"nothing to ingest: no file under {', '.join(map(str, paths))}")
    if as_json:
        _emit_json([r.as_json() for r in results])


@app.command()
def status(as_json: bool = typer.Option(False, "--json"), as_csv: bool = typer.Option(False, "--csv")) -> None:
    """Counts per table, per source, and rejects."""
    from confiance.overview import workspace_status

    ws = _ws()
    with ws.reader() as con:
        info = workspace_status(con)
    if as_json:
        _emit_json(info)
        return
    if as_csv:
        _emit_csv(info["sources"], "sources")
        return
    _emit_table("tables", [{"table": k, "rows": v} for k, v in info["tables"].items()])
    _emit_table("sources", [
        {"file": Path(s["path"]).name, "format": s["format"], "read": s["records_read"], "stored": s["stored"],
         "duplicates": s["duplicates"], "rejected": s["rejected"], "sha256": s["sha256"][:12]}
        for s in info["sources"]
    ])
    if info["reject_reasons"]:
        _emit_table("why records were rejected", info["reject_reasons"])


@app.command()
def simulate(
    outdir: Path = typer.Argument(..., help="Folder to write the world into."),
    seed: int = typer.Option(0, "--seed"),
    accounts: int = typer.Option(2000, "--accounts"),
    posts: int = typer.Option(20000, "--posts"),
    platforms: str = typer.Option("x,bluesky,mastodon", "--platforms", help="Comma-separated subset of x,bluesky,mastodon."),
) -> None:
    """Write a synthetic world with planted truth (platform files + truth.json)."""
    from confiance.simulate import simulate_world

    chosen = tuple(p.strip() for p in platforms.split(",") if p.strip())
    with Progress(TextColumn("simulate"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} posts"),
                  TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulate", total=posts)
        try:
            summary = simulate_world(outdir, seed=seed, accounts=accounts, posts=posts, platforms=chosen,
                                     progress=lambda n: bar.advance(task, n))
        except ValueError as exc:  # too few accounts or posts, an unknown platform
            raise typer.BadParameter(str(exc)) from None
    counts = ", ".join(f"{k} {v}" for k, v in summary.items() if isinstance(v, int))
    err.print(f"world written to {outdir}" + (f" ({counts})" if counts else ""))


def _rerun(ws: Workspace, name: str, parameters: dict, run):
    """``pipeline.rerun``, saying on stderr which stored analyses were refreshed because they read ``name``."""
    from confiance.pipeline import rerun

    return rerun(ws, name, parameters, run,
                 on_step=lambda step, _: err.print(f"{step.name}: re-run (it reads what {name} writes)", markup=False))


def _say_parameters(what: str, parameters: dict[str, Any] | None) -> None:
    """On stderr (stdout stays the listing, JSON included): the parameters that produced ``what``; one
    left unset (``kinds None``: every kind; ``k None``: chosen by the step) goes unsaid."""
    given = {k: v for k, v in (parameters or {}).items() if v is not None}
    if given:
        err.print(f"{what} computed with " + ", ".join(f"{k} {v}" for k, v in given.items()), markup=False)


@app.command()
def analyze(
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated steps (and what they need)."),
    threads: int = typer.Option(1, "--threads", min=1, help="Encoder threads for the steps that embed text."),
) -> None:
    """Run every analysis in dependency order (or only the named steps)."""
    from confiance.pipeline import StepFailure
    from confiance.pipeline import analyze as run_analyses

    steps = [s.strip() for s in only.split(",")] if only else None

    def done(step, result) -> None:
        if isinstance(result, StepFailure):
            err.print(f"{step.name}: {result}", markup=False)
            return
        figures = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in (result or {}).items() if isinstance(v, (int, float)))
        skipped = (result or {}).get("skipped")  # a step's reason for writing nothing (too little data)
        err.print(f"{step.name}: " + (f"not enough data: {skipped}" if skipped else
                                      "done" + (f" ({figures})" if figures else "")))

    def kept(step, parameters) -> None:
        shown = ", ".join(f"{k} {v}" for k, v in parameters.items())
        err.print(f"{step.name}: kept from its last run (set by `confiance {step.name}`): {shown}", markup=False)

    run_analyses(_ws(), steps, on_step=done, threads=threads, on_kept=kept)


@app.command()
def communities(
    resolution: Optional[float] = typer.Option(None, "--resolution", min=0.0, help="Leiden resolution; recomputes when it differs from the stored run."),
    quality: Optional[str] = typer.Option(None, "--quality", help="modularity, or cpm (Constant Potts Model: the resolution is then a density threshold, well below 1)."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Seed of Leiden's runs (same seed, same partition)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Community of every account (Leiden); the table view lists the communities' profiles.

    --resolution, --quality and --seed recompute the communities when they differ from the stored run, and
    are kept for the workspace's later runs."""
    from typing import get_args

    from confiance.graph.communities import Quality, communities_listing, run_communities
    from confiance.pipeline import stored_parameters

    if resolution is not None and not math.isfinite(resolution):  # inf passes typer's min=0 and crashed Leiden
        raise typer.BadParameter(f"{resolution} is not a finite number", param_hint="--resolution")
    if quality is not None and quality not in get_args(Quality):
        raise typer.BadParameter(f"{quality!r} is not one of {', '.join(get_args(Quality))}", param_hint="--quality")
    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "communities", "communities")
    if stored is None:
        raise ConfianceError("no communities yet: run `confiance analyze`")
    chosen = {"resolution": float(stored.get("resolution", 1.0)), "quality": stored.get("quality", "modularity"),
              "seed": int(stored.get("seed", 0))}
    asked = {**chosen, **{k: v for k, v in (("resolution", resolution), ("quality", quality), ("seed", seed))
                         if v is not None}}
    if asked != chosen:
        _rerun(ws, "communities", {**stored, **asked}, lambda con, run_id: run_communities(con, run_id, **asked))
    with ws.reader() as con:
        _say_parameters("communities", stored_parameters(con, "communities", "communities"))
        if as_json or as_csv:
            _listing("communities", communities_listing(con), as_json, as_csv)
            return
        rows = con.execute(
            "SELECT community, size, array_to_string(top_accounts[1:5], ', ') AS top_accounts, "
            "array_to_string(top_hashtags[1:5], ', ') AS top_hashtags FROM community_profiles "
            "ORDER BY size DESC, community LIMIT 40").fetchall()
    _emit_table("communities", [dict(zip(("community", "size", "top accounts", "top hashtags"), r)) for r in rows])


@app.command()
def polarization(as_json: bool = typer.Option(False, "--json")) -> None:
    """Random-walk controversy, modularity and E-I index of the two-way split; sides and bridging accounts."""
    from confiance.graph.polarization import polarization_summary
    from confiance.pipeline import stored_parameters

    with _ws().reader() as con:
        if stored_parameters(con, "polarization", "polarization") is None:
            raise ConfianceError("no polarisation yet: run `confiance analyze`")
        summary = polarization_summary(con)
    if as_json:
        _emit_json(summary)
        return
    _emit_table("polarisation", [{k: v for k, v in summary.items() if not isinstance(v, (list, dict))}])
    for key, value in summary.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            _emit_table(key, [{k: v for k, v in row.items()} for row in value])


@app.command()
def influencers(
    top: int = typer.Option(20, "--top", help="How many accounts."),
    topic: Optional[str] = typer.Option(None, "--topic", help="Scores restricted to one topic's posts."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Accounts ranked by influence, each rank explained by its components and evidence."""
    from confiance.influence.scores import influencers as ranked

    with _ws().reader() as con:
        rows = ranked(con, top=top, topic=topic)
    if rows and not any(row["influence"] for row in rows):  # as the report says it: an order of zeros means nothing
        err.print(i18n.gettext("no influence signal: every listed account scores 0 (no follower counts, no engagement, "
                               "no repost, reply or mention between accounts; follow edges, an edge file's default "
                               "kind, are not counted: ingest it with --option kind=repost or kind=mention); the "
                               "order means nothing"), markup=False)
    if as_json:
        _emit_json(rows)
        return
    flat = [{k: v for k, v in row.items() if not isinstance(v, (dict, list))} for row in rows]
    _listing("influencers", flat, False, as_csv)


def _check_language(lang: str) -> None:
    from confiance.i18n import LANGUAGES

    if lang not in LANGUAGES:
        raise typer.BadParameter(f"{lang!r} is not a supported language: use {' or '.join(LANGUAGES)}",
                                 param_hint="--lang")


@app.command()
def report(
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="HTML file to write."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Language of the report's own words, numbers and dates: en or fr (default: the global --lang)."),
) -> None:
    """Write the self-contained HTML report."""
    from confiance.report import build_report

    lang = lang or _state["lang"]
    _check_language(lang)
    if output is not None and output.is_dir():
        raise ConfianceError(f"{output} is a folder: give the HTML file to write, e.g. {output / 'report.html'}")
    path = build_report(_ws(), output, language=lang)
    typer.echo(str(path))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback needs --auth."),
    port: int = typer.Option(8765, "--port", min=1, max=65535),
    auth: bool = typer.Option(False, "--auth", help="Require the one-time login token printed at start."),
    pseudonymise: bool = typer.Option(False, "--pseudonymise", help="Show stable pseudonyms instead of handles (screen sharing)."),
    allow_host: list[str] = typer.Option([], "--allow-host", help="Another Host name to answer to (a reverse proxy's)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="The pages' default language (a reader can switch): en or fr (default: the global --lang)."),
) -> None:
    """Serve the local dashboard and JSON API over a published snapshot of the store."""
    from confiance.web.security import is_loopback

    lang = lang or _state["lang"]
    _check_language(lang)
    if not is_loopback(host) and not auth:
        raise typer.BadParameter(f"binding {host} would show personal data to the network; add --auth "
                                 "(a one-time login token) or bind 127.0.0.1", param_hint="--host")
    import os
    import socket

    import uvicorn

    try:  # before announcing the address: a port in use is one error line, not a URL that answers nothing
        socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET).close()
    except OSError as exc:
        raise ConfianceError(f"cannot listen on {host} port {port}: {os.strerror(exc.errno) if exc.errno else exc}") from None

    from confiance.errors import WorkspaceLocked
    from confiance.export import Pseudonymiser
    from confiance.web.app import Settings, create_app

    ws = _ws()
    try:
        snapshot = ws.publish_snapshot()
    except WorkspaceLocked:
        snapshot = ws.latest_snapshot()
        if snapshot is None:
            raise ConfianceError("the store is being written and no snapshot is published yet: retry when it is done")
        err.print(f"the store is being written: serving the last snapshot, {snapshot.name}")
    key = Pseudonymiser.for_workspace(ws.root / "pseudonym.key").key if pseudonymise else None
    app_ = create_app(Settings(snapshot=snapshot, host=host, port=port, auth=auth, pseudonymise=pseudonymise,
                               pseudonym_key=key, extra_hosts=tuple(allow_host), language=lang))
    shown = f"[{host}]" if ":" in host else host
    if auth:
        typer.echo(f"log in at http://{shown}:{port}/login with the one-time token: {app_.state.sessions.token}")
    else:
        typer.echo(f"dashboard at http://{shown}:{port}/")
    ws.audit("serve", host=host, port=port, auth=auth, pseudonymised=pseudonymise)
    uvicorn.run(app_, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def export(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="csv, parquet, gexf or graphml."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder to write (default WORKSPACE/exports/FORMAT); for gexf/graphml, the file (default WORKSPACE/exports/graph.FORMAT)."),
    pseudonymise: bool = typer.Option(False, "--pseudonymise", help="Replace account ids, handles, post ids and @mentions by keyed pseudonyms; drop names, bios, locations, permalinks."),
) -> None:
    """Export the tables (CSV cells that could run as spreadsheet formulas are neutralised)."""
    from confiance.export import Pseudonymiser, export_tables

    ws = _ws()
    target = output or ws.exports_dir / (f"graph.{fmt}" if fmt in ("gexf", "graphml") else fmt)
    pseudonymiser = Pseudonymiser.for_workspace(ws.root / "pseudonym.key") if pseudonymise else None
    with ws.reader() as con:
        written = export_tables(con, fmt, target, pseudonymiser=pseudonymiser)
    ws.audit("export", format=fmt, files=len(written), pseudonymised=pseudonymise)
    for path in written:
        typer.echo(str(path))


@app.command()
def forget(
    who: str = typer.Argument(..., metavar="ACCOUNT_OR_HANDLE",
                              help="Account id, @handle, platform:account_id or platform:handle."),
    every_platform: bool = typer.Option(False, "--every-platform",
                                        help="An unqualified id or handle found on several platforms: forget every "
                                             "account it names (without this flag, an error lists them)."),
) -> None:
    """Remove a person from every table, the raw archive, snapshots and exports; suppress them in later ingests.

    A bare handle such as alice that names accounts on more than one platform is refused: give one
    qualified form (x:alice, mastodon:alice@host), or --every-platform to forget them all."""
    from confiance.privacy import forget as forget_person

    result = forget_person(_ws(), who, every_platform=every_platform)
    rows = sum(result.rows_deleted.values())
    err.print(f"forgotten: {counted(rows, 'row')} deleted, {counted(result.archives_redacted, 'archived file')} redacted, "
              f"{counted(result.files_deleted, 'output file')} deleted; database file rewritten")


@app.command()
def retention(
    period: str = typer.Argument(..., metavar="PERIOD", help="Keep this much: 365d, 26w, 18m (months) or 2y."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; change nothing."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete every record older than PERIOD from the store, the raw archive and the outputs (GDPR storage limitation)."""
    from confiance.privacy import expire, retention_cutoff

    try:
        cutoff = retention_cutoff(period)
    except ConfianceError as exc:
        raise typer.BadParameter(str(exc), param_hint="PERIOD") from None
    result = expire(_ws(), cutoff, dry_run=dry_run)
    summary = {"cutoff": result.cutoff.isoformat(), "dry_run": result.dry_run, "rows_deleted": result.rows_deleted,
               "undated_rows_kept": result.undated_rows_kept, "archives_deleted": result.archives_deleted,
               "archives_kept": result.archives_kept, "analysis_tables_dropped": result.analysis_tables_dropped,
               "files_deleted": result.files_deleted}
    if as_json:
        _emit_json(summary)
        return
    verb = "would delete" if dry_run else "deleted"
    err.print(f"retention before {summary['cutoff']}: {verb} {counted(sum(result.rows_deleted.values()), 'row')} "
              f"({', '.join(f'{t} {n}' for t, n in result.rows_deleted.items()) or 'none'}), "
              f"{counted(result.archives_deleted, 'archived file')} ({result.archives_kept} kept) and {counted(result.files_deleted, 'output file')}")
    if result.undated_rows_kept:
        err.print("kept, having no date: " + ", ".join(f"{t} {n}" for t, n in result.undated_rows_kept.items()))
    if result.analysis_tables_dropped and not dry_run:
        err.print(f"{counted(len(result.analysis_tables_dropped), 'analysis table')} dropped: run `confiance analyze` to rebuild them")


# -- integrity: bots --
bots_app = typer.Typer(help="Bot likelihood per account (calibrated probability) and the features behind it.")
app.add_typer(bots_app, name="bots")


def _bot_rows_flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**{k: v for k, v in row.items() if k != "evidence"},
             "evidence": "; ".join(f"{e['feature']}={e['value']} ({e['contribution']:+.2f})" for e in row["evidence"]
                                   if e["contribution"] != 0)}
            for row in rows]


@bots_app.callback(invoke_without_command=True)
def bots(
    ctx: typer.Context,
    top: int = typer.Option(50, "--top", help="How many accounts (most likely bots first)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Accounts by bot likelihood, with the features behind each score (`bots score FILE` scores a feature table)."""
    if ctx.invoked_subcommand is not None:
        return
    from confiance.integrity.bots import bot_listing

    with _ws().reader() as con:
        rows = bot_listing(con, top=top)
    if as_json:
        _emit_json(rows)
        return
    _listing("bot likelihood", _bot_rows_flat(rows), False, as_csv)


@bots_app.command("score")
def bots_score(
    features: Path = typer.Argument(..., metavar="FEATURES.csv", help="account_id, optional platform, and the model's feature columns."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Score a table of precomputed account features with the shipped model."""
    from confiance.integrity.bots import score_feature_csv

    rows = score_feature_csv(features)
    if as_json:
        _emit_json(rows)
        return
    _listing("bot likelihood", _bot_rows_flat(rows), False, as_csv)


# -- commercial disclosure (French law) --
@app.command()
def disclosure(
    rules: Optional[list[Path]] = typer.Option(None, "--rules", help="Extra rule set YAML (repeatable); merged by rule id."),
    brands: Optional[Path] = typer.Option(None, "--brands", help="Brand list, one name a line (added to the rule set's)."),
    accounts: bool = typer.Option(False, "--accounts", help="Per-account summary instead of posts."),
    all_posts: bool = typer.Option(False, "--all", help="List non-commercial posts too."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Commercial posts and their disclosure under French law (loi n° 2023-451): verdict, rule, text span."""
    from confiance.integrity.disclosure import disclosure_listing, load_rules, run_disclosure
    from confiance.pipeline import stored_parameters

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "disclosure_posts", "disclosure")
    if stored is None or rules or brands:
        try:
            names = brands.read_text(encoding="utf-8").splitlines() if brands else []
        except OSError as exc:
            raise ConfianceError(f"{brands}: cannot read the brand list ({exc.strerror or exc})") from None
        rule_set = load_rules(rules or (), names)
        # file names, not paths: a path can hold a user name
        parameters = {"rules": list(rule_set.file_names), "brands": brands.name if brands else None}
        _rerun(ws, "disclosure", parameters, lambda con, run_id: run_disclosure(con, run_id, rule_set))
    with ws.reader() as con:
        rows = disclosure_listing(con, accounts=accounts, include_not_commercial=all_posts)
    if as_json:
        _emit_json(rows)
        return
    if not accounts:
        rows = [{**{k: v for k, v in row.items() if k != "findings"},
                 "rules": ", ".join(sorted({f["rule"] for f in row["findings"] if f["severity"] != "info"}))}
                for row in rows]
    _listing("disclosure accounts" if accounts else "disclosure", rows, False, as_csv)


# -- integrity: sources, account types, harmful influence --
@app.command()
def sources(
    credibility: Optional[Path] = typer.Option(None, "--credibility", help="CSV domain,rating[,source]; replaces the stored user list and reruns the step."),
    top: int = typer.Option(20, "--top", min=1, help="How many domains, cascades and accounts."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Linked domains by share with their credibility, low-credibility domains, URL cascades, accounts."""
    from confiance.integrity.sources import read_credibility, run_sources, sources_summary

    ws = _ws()
    if credibility is not None:
        rows = read_credibility(credibility)
        _rerun(ws, "sources", {"credibility": credibility.name, "user_domains": len(rows)},
               lambda con, run_id: run_sources(con, run_id, credibility=rows))
    with ws.reader() as con:
        summary = sources_summary(con, top=top)
    if as_json:
        _emit_json(summary)
        return
    _listing("domains by share", summary["domains"], False, as_csv)
    if not as_csv:
        _emit_table("low-credibility domains", summary["low_credibility_domains"])
        _emit_table("cascades", [{k: v for k, v in c.items() if k != "evidence"} for c in summary["cascades"]])


@app.command("account-types")
def account_types(as_json: bool = typer.Option(False, "--json"), as_csv: bool = typer.Option(False, "--csv")) -> None:
    """Type of every account (expert, creator, media, brand, institution, other) with confidence and cues."""
    from confiance.influence.accounts import account_types_listing

    with _ws().reader() as con:
        rows = account_types_listing(con)
    _listing("account types", rows, as_json, as_csv)


@app.command()
def harm(
    top: int = typer.Option(20, "--top", min=1, help="How many accounts (most influential first)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Harmful-influence profile and audience credibility of the most influential accounts, with evidence."""
    from confiance.integrity.harm import harm_listing

    with _ws().reader() as con:
        rows = harm_listing(con, top=top)
    if as_json:
        _emit_json(rows)
        return
    _listing("harmful-influence profiles", [{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in rows],
             False, as_csv)


# -- conversation signals: stance, trends, share of voice --
@app.command()
def stance(
    target_file: Path = typer.Argument(..., metavar="TARGET.yaml", help="Target: description + labelled example posts."),
    threshold: Optional[float] = typer.Option(None, "--threshold", min=-1.0, max=1.0, help="Relevance threshold (cosine); default from the file, else automatic."),
    split_date: Optional[str] = typer.Option(None, "--split-date", help="YYYY-MM-DD: account stance before / after this date."),
    by: str = typer.Option("all", "--by", help="Account stance period when no --split-date: all or week."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Stance of posts and accounts toward a target (relevance filter, then a few-shot classifier)."""
    from datetime import date

    from confiance.text.stance import load_target, run_stance, stance_summary

    if by not in ("all", "week"):
        raise typer.BadParameter("must be all or week", param_hint="--by")
    try:
        split = date.fromisoformat(split_date) if split_date else None
    except ValueError:
        raise typer.BadParameter(f"not a YYYY-MM-DD date: {split_date!r}", param_hint="--split-date") from None
    target = load_target(target_file)
    ws = _ws()
    parameters = {"target": target.target, "threshold": threshold, "split_date": split_date, "by": by}
    result = _rerun(ws, "stance", parameters, lambda con, run_id: run_stance(
        con, run_id, target, threshold=threshold, split_date=split, by=by))
    with ws.reader() as con:
        summary = stance_summary(con, target.target)
    if as_json:
        _emit_json({**result, **summary})
        return
    _emit_table(f"stance toward {target.target}", [result])
    _emit_table("per period", summary["periods"])
    _emit_table("accounts with the most relevant posts", summary["accounts"][:20])


@app.command()
def trends(
    top: int = typer.Option(20, "--top", min=1, help="How many emerging narratives."),
    threshold: Optional[float] = typer.Option(None, "--threshold", min=0.0, help="Burst z-score (default 3); re-runs the step, later runs keep it."),
    window: Optional[int] = typer.Option(None, "--window", min=2, help="Trailing baseline days (default 28); re-runs the step, later runs keep it."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Emerging narratives: topics, hashtags and domains whose daily volume bursts (see `trend_bursts`)."""
    from confiance.pipeline import stored_parameters
    from confiance.text.trends import DEFAULTS, emerging_narratives, run_trends

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "trend_bursts", "trends")
    asked = {k: v for k, v in {"threshold": threshold, "window": window}.items() if v is not None}
    if asked:
        wanted = {**DEFAULTS, **(stored or {}), **asked}
        options = {k: v for k, v in wanted.items() if k != "method"}
        try:
            _rerun(ws, "trends", wanted, lambda con, run_id: run_trends(con, run_id, **options))
        except ValueError as exc:
            raise ConfianceError(str(exc)) from exc
    elif stored is None:
        raise ConfianceError("no trends yet: run `confiance analyze --only trends`")
    with ws.reader() as con:
        stored = stored_parameters(con, "trend_bursts", "trends")
        rows = con.execute("SELECT series_kind, series, day, count, expected, score, method FROM trend_bursts").fetchall()
    bursts = [dict(zip(("series_kind", "series", "day", "count", "expected", "score", "method"), r)) for r in rows]
    shown = {k: stored.get(k, DEFAULTS[k]) for k in ("method", "threshold", "window")}
    narratives = [{**row, **shown} for row in emerging_narratives(bursts, top=top)]
    _say_parameters("bursts", {**DEFAULTS, **stored})
    _listing("emerging narratives", narratives, as_json, as_csv)


@app.command()
def sov(
    queries: list[str] = typer.Argument(..., metavar="QUERY...", help='Queries, e.g. \'"Solvane" OR #solvane\' \'#velo AND lang:fr\'.'),
    by: str = typer.Option("day", "--by", help="day or week."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Share of voice of brand and competitor queries per day or week (query language: docs/queries.md)."""
    from confiance.text.trends import run_share_of_voice

    if by not in ("day", "week"):
        raise typer.BadParameter("must be day or week", param_hint="--by")
    result = _rerun(_ws(), "share_of_voice", {"queries": queries, "by": by},
                    lambda con, run_id: run_share_of_voice(con, run_id, queries, by=by))
    for note in result["notes"]:
        err.print(f"note: {note}", markup=False)
    if as_json:
        _emit_json(result)
        return
    if as_csv:
        _emit_csv(result["series"], "share of voice")
        return
    _emit_table("share of voice", result["totals"])


# -- coordination --
@app.command()
def coordination(
    window: Optional[float] = typer.Option(None, "--window", help="Seconds within which two accounts co-act (default 10, CooRTweet)."),
    text_window: Optional[float] = typer.Option(None, "--text-window", help="Seconds for near-duplicate texts (default 1800)."),
    min_participation: Optional[int] = typer.Option(None, "--min-participation", help="Distinct objects a pair must co-act on (default 2)."),
    percentile: Optional[float] = typer.Option(None, "--percentile", help="Edge-weight quantile an edge must reach, 0-1 (default 0.5)."),
    kinds: Optional[str] = typer.Option(None, "--kinds", help="Comma-separated: co_repost,co_link,co_hashtag,co_reply,near_duplicate_text."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Coordinated groups: accounts that repeatedly act on the same object within seconds; edges name their posts."""
    from confiance.integrity.coordination import DEFAULTS, coordination_listing, run_coordination
    from confiance.pipeline import stored_parameters

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "coordination_edges", "coordination")
    asked = {"window": window, "text_window": text_window, "min_participation": min_participation,
             "percentile": percentile, "kinds": [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None}
    wanted = {**DEFAULTS, **(stored or {}), **{k: v for k, v in asked.items() if v is not None}}
    if stored is None or wanted != {**DEFAULTS, **stored}:
        try:
            _rerun(ws, "coordination", wanted, lambda con, run_id: run_coordination(con, run_id, **wanted))
        except ValueError as exc:
            raise ConfianceError(str(exc)) from exc
    with ws.reader() as con:
        listing = coordination_listing(con)
    if as_json:
        _emit_json(listing)
        return
    rows = [{"platform": e["platform"], "a": e["a"], "b": e["b"], "kind": e["kind"], "weight": e["weight"],
             "evidence": " ".join(e["evidence"][:5])} for e in listing["edges"]]
    if as_csv:
        _emit_csv(rows, "coordination edges")
        return
    _emit_table("coordinated groups", [{"group": g["id"], "accounts": len(g["accounts"]), "kinds": ", ".join(g["kinds"]),
                                        "members": ", ".join(a["account_id"] for a in g["accounts"][:6])}
                                       for g in listing["groups"]])
    _emit_table("coordination edges", rows[:40])


# -- collect --
@app.command()
def collect(
    platform: str = typer.Argument(..., metavar="bluesky|mastodon", help="The platform the configuration is for."),
    config_path: Path = typer.Argument(..., metavar="CONFIG.yaml", help="Queries, accounts, instances and limits."),
    ingest_after: bool = typer.Option(True, "--ingest/--no-ingest", help="Ingest what was collected (default) or only write raw files."),
    max_pages: Optional[int] = typer.Option(None, "--max-pages", min=1, help="Override limits.max_pages (pages per task and run)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Collect from a public API into raw files, resumably (see docs/collecting.md), then ingest them."""
    import dataclasses

    from rich.progress import SpinnerColumn

    from confiance.collect import collect as run_collect, load_config

    if platform not in ("bluesky", "mastodon"):
        raise typer.BadParameter("expected bluesky or mastodon", param_hint="PLATFORM")
    config = load_config(config_path, platform)
    if max_pages is not None:
        config = dataclasses.replace(config, limits=dataclasses.replace(config.limits, max_pages=max_pages))
    ws = _ws()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.fields[pages]} pages"),
                  TextColumn("{task.fields[items]} items"), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        tasks: dict[str, Any] = {}

        def page(label: str, pages: int, items: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=None, pages=0, items=0)
            bar.update(tasks[label], pages=pages, items=items)

        def ingested(result) -> None:
            err.print(f"{Path(result.path).name}: {result.format}: read {result.records_read} = stored {result.stored} "
                      f"+ duplicates {result.duplicates} + rejected {result.rejected}")

        result = run_collect(ws, config, ingest=ingest_after, on_page=page, on_ingested=ingested)
    for task in result.tasks:
        err.print(f"{task.label}: {counted(task.pages, 'page')}, {counted(task.items, 'item')} ({task.stopped})")
    err.print(f"{counted(result.requests, 'request')}, {counted(result.retries, 'retry')}, {result.rate_limited} rate limited, "
              f"{result.waited_s:.1f} s waited")
    if result.pending_files:
        err.print(f"{counted(result.pending_files, 'raw file')} not ingested yet: run again with --ingest")
    if as_json:
        _emit_json(result.as_json())


# -- campaign plan --


class _DiffusionModel(str, Enum):
    wc = "wc"
    ic = "ic"


class _EdgeDirection(str, Enum):
    actor = "actor"
    source = "source"


@app.command()
def plan(
    brief: Optional[Path] = typer.Argument(None, metavar="[BRIEF.yaml]", help="Campaign brief (segments, costs, budget, exclusions)."),
    k: Optional[int] = typer.Option(None, "--k", min=1, help="At most this many accounts (default 10 without a budget)."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Total budget (overrides the brief's)."),
    model: _DiffusionModel = typer.Option(_DiffusionModel.wc, "--model", help="Weighted cascade or independent cascade."),
    epsilon: float = typer.Option(0.2, "--epsilon", help="IMM accuracy ε (smaller: more RR sets, closer to optimal)."),
    ell: float = typer.Option(1.0, "--ell", help="IMM confidence: the guarantee holds with probability 1 - 1/n^ℓ."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same plan)."),
    mc_runs: int = typer.Option(1000, "--mc-runs", min=2, help="Monte-Carlo runs for the reach estimates."),
    direction: _EdgeDirection = typer.Option(_EdgeDirection.actor, "--direction",
                                             help="actor: influence flows from the account acted upon to the actor; source: edge files written source → target."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Portfolio of accounts that maximises expected reach across the brief's segments (IMM), stored for the report."""
    from confiance.campaign.brief import load_brief
    from confiance.campaign.plan import run_plan

    parsed = load_brief(brief) if brief is not None else None
    options = {"k": k, "budget": budget, "model": model.value, "epsilon": epsilon, "ell": ell, "seed": seed,
               "mc_runs": mc_runs, "direction": direction.value}
    result = _rerun(_ws(), "plan", {"brief": str(brief) if brief else None, **options},
                    lambda con, run_id: run_plan(con, run_id, parsed, **options))
    if as_json:
        _emit_json(result.to_json())
        return
    reach = result.expected_reach
    err.print(f"expected reach {reach['mean']:.1f} accounts (95% interval {reach['lower']:.1f}-{reach['upper']:.1f})")
    _emit_table("plan", [{"pick": s["rank"], "platform": s["platform"], "account": s["handle"] or s["account_id"],
                          "cost": s["cost"], "marginal share": f"{s['marginal_share']:.1%}", "fit": s["fit"]}
                         for s in result.seeds])
    _emit_table("segments", [{"segment": name, "weight": f"{v['weight']:.2f}", "expected reached": f"{v['mean']:.1f}",
                              "95% interval": f"{v['lower']:.1f}-{v['upper']:.1f}",
                              "share": "" if v["share"] is None else f"{v['share']:.1%}"}
                             for name, v in result.segments.items()])
    for note in result.notes:
        err.print(f"note: {note}")


# -- campaign impact --
def _split(values: Optional[str]) -> Optional[list[str]]:
    return None if values is None else [v.strip() for v in values.split(",") if v.strip()]


@app.command()
def impact(
    kpi_file: Optional[Path] = typer.Argument(None, metavar="[KPI.csv]", help="Wide or long KPI CSV; omit to use the workspace's kpis table."),
    intervention: str = typer.Option(..., "--intervention", help="First post-period point: an index or a date."),
    controls: Optional[str] = typer.Option(None, "--controls", help="Control series, comma-separated (default: every other column of the file; none from the workspace)."),
    series: Optional[str] = typer.Option(None, "--series", help="The response series (default: a column named y, else the first)."),
    trend: bool = typer.Option(False, "--trend", help="Local linear trend instead of a local level."),
    seasonal: Optional[int] = typer.Option(None, "--seasonal", help="Season length (7 for weekly cycles in daily data)."),
    autoregressive: bool = typer.Option(False, "--ar", help="Add an AR(1) component."),
    level_prior: str = typer.Option("holdout", "--level-prior", help="holdout (chosen per series on the end of the pre-period), flat (calibrated on drifting KPIs) or causalimpact (the R package's sd 0.01, weight 32)."),
    draws: int = typer.Option(1000, "--draws", help="Counterfactual draws."),
    seed: int = typer.Option(0, "--seed"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Causal impact of a campaign on a KPI: Bayesian structural time-series counterfactual."""
    import numpy as np

    from confiance.campaign.impact import ASSUMPTIONS, CAUSALIMPACT_LEVEL_PRIOR, HOLDOUT, ImpactModel, causal_impact, store_impact
    from confiance.campaign.kpi_file import kpi_table, pick_series, read_kpi_csv, resolve_intervention

    priors = {"holdout": HOLDOUT, "flat": None, "causalimpact": CAUSALIMPACT_LEVEL_PRIOR}
    if level_prior not in priors:
        raise typer.BadParameter("choose holdout, flat or causalimpact", param_hint="--level-prior")
    wanted = _split(controls)
    if kpi_file is not None:
        table = read_kpi_csv(kpi_file)
    else:
        if series is None:
            raise typer.BadParameter("name the KPI with --series when no file is given", param_hint="--series")
        with _ws().reader() as con:
            table = kpi_table(con, [series, *(wanted or [])])
        wanted = wanted or []
    response, chosen = pick_series(table, series, wanted)
    if not chosen:  # on stderr: --json keeps stdout for the JSON
        typer.echo(f"note: no control series: the counterfactual of {response} is its own pre-campaign path, so "
                   "anything else that moved it after the intervention counts as effect; name series the campaign "
                   "did not touch with --controls", err=True)
    index = resolve_intervention(table, intervention)
    model = ImpactModel(trend=trend, seasonal=seasonal, autoregressive=autoregressive,
                        level_prior=priors[level_prior])
    x = np.column_stack([table.series(c) for c in chosen]) if chosen else None
    result = causal_impact(table.series(response), index, x, times=table.times, response=response,
                           control_names=chosen, model=model, draws=draws, seed=seed)
    if kpi_file is None:
        _rerun(_ws(), "impact", {"series": response, "controls": chosen, "intervention": intervention,
                                 "model": model.describe(), "draws": draws, "seed": seed},
               lambda con, run_id: store_impact(con, run_id, result))
    summary = {**result.summary(), "assumptions": list(ASSUMPTIONS)}
    if as_json:
        _emit_json(summary)
        return
    # whole numbers from 10,000 on: "223,786", not "2.238e+05"
    rows = [{"": name, **{k: f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:,.4g}" for k, v in summary[name].items()}}
            for name in ("average", "cumulative", "relative")]
    _emit_table(f"impact on {response} from {result.times[index]} (p = {result.p:.3g})", rows)


def _account_refs(items: list[str], option: str) -> tuple[tuple[str, str], ...]:
    """PLATFORM:ACCOUNT_ID values of a repeatable option, as (platform, account_id) pairs."""
    refs = []
    for item in items:
        platform, sep, account = item.partition(":")
        if not sep or not platform or not account:
            raise typer.BadParameter(f"{item!r} is not PLATFORM:ACCOUNT_ID", param_hint=option)
        refs.append((platform, account))
    return tuple(refs)


@app.command()
def opinion(
    intervention: str = typer.Option(..., "--intervention", help="Campaign start (date)."),
    hashtag: list[str] = typer.Option([], "--hashtag", help="Campaign hashtag (repeatable)."),
    domain: list[str] = typer.Option([], "--domain", help="Campaign link domain (repeatable)."),
    url_prefix: list[str] = typer.Option([], "--url-prefix", help="Campaign URL prefix (repeatable)."),
    code: list[str] = typer.Option([], "--code", help="Promo code (repeatable)."),
    seed_account: list[str] = typer.Option([], "--seed-account", help="PLATFORM:ACCOUNT_ID of a campaign author (repeatable)."),
    owner_account: list[str] = typer.Option([], "--owner-account", help="PLATFORM:ACCOUNT_ID of an account the brand runs: "
                                            "neither exposed nor a control (repeatable)."),
    target: Optional[str] = typer.Option(None, "--target", help="Stance target (default: the only one)."),
    neighbours: int = typer.Option(3, "--neighbours", help="Matched controls per exposed account."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Opinion shift: difference-in-differences of stance, graph-exposed vs matched unexposed accounts."""
    from confiance.campaign.exposure import CampaignMarkers
    from confiance.campaign.opinion import run_opinion
    from confiance.ingest._format import parse_timestamp
    from datetime import datetime

    seeds = _account_refs(seed_account, "--seed-account")
    owners = _account_refs(owner_account, "--owner-account")
    try:
        when = datetime.fromisoformat(parse_timestamp(intervention, required=True))
    except Exception:
        raise typer.BadParameter(f"{intervention!r} is not a date", param_hint="--intervention") from None
    markers = CampaignMarkers(tuple(hashtag), tuple(domain), tuple(url_prefix), tuple(code), seeds, owners)
    summary = _rerun(_ws(), "opinion", {"markers": markers.normalised(), "seeds": seeds, "owners": owners,
                                        "intervention": intervention,
                                        "neighbours": neighbours, "target": target},
                     lambda con, run_id: run_opinion(con, run_id, markers, when, target=target, neighbours=neighbours))
    if as_json:
        _emit_json(summary)
        return
    _emit_table("opinion shift (difference-in-differences)",
                [{k: v for k, v in summary.items() if not isinstance(v, (dict, list))}])


@app.command()
def surveys(as_json: bool = typer.Option(False, "--json"), as_csv: bool = typer.Option(False, "--csv")) -> None:
    """Survey waves: pre/post change and exposed vs unexposed, weighted, with 95% intervals."""
    from confiance.campaign.surveys import survey_changes

    with _ws().reader() as con:
        frame = con.execute("SELECT wave, respondent, question, answer, segment, weight, exposed FROM surveys").df()
    if frame.empty:
        raise ConfianceError("no survey rows: ingest a survey CSV first")
    rows = survey_changes(frame).to_dict(orient="records")
    _listing("survey changes", rows, as_json, as_csv)


@app.command()
def attribution(
    code: list[str] = typer.Option([], "--code", help="A promo code to look for besides those after 'code'/'promo' (repeatable)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Posts, engagement and KPI totals per UTM value and promo code found in posts."""
    from confiance.campaign.attribution import run_attribution

    ws = _ws()
    _rerun(ws, "attribution", {"codes": list(code)}, lambda con, run_id: run_attribution(con, run_id, code))
    with ws.reader() as con:
        cursor = con.execute("SELECT kind, key, posts, accounts, engagements, views, first_post_at, kpi_totals, "
                             "evidence_post_ids FROM attribution ORDER BY posts DESC, kind, key")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    for row in rows:  # the JSON column as an object, not its text
        row["kpi_totals"] = orjson.loads(row["kpi_totals"]) if row["kpi_totals"] else {}
    if as_json:
        _emit_json(rows)
        return
    _listing("attribution", [{k: v for k, v in r.items() if k != "evidence_post_ids"} for r in rows], False, as_csv)


# -- brand fit --
@app.command("match")
def match_cmd(
    brief: Path = typer.Argument(..., metavar="BRIEF.yaml", help="Campaign brief (description, topics, reference accounts, segments)."),
    top: int = typer.Option(20, "--top", min=1, help="Show this many influencers (all candidates are stored)."),
    candidates: int = typer.Option(100, "--candidates", min=1, help="Score this many of the most influential accounts."),
    posts: int = typer.Option(50, "--posts", min=1, help="Recent own posts per candidate compared with the brief."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rank influencers by fit with a brief: editorial line, style, audience and trust, each with its evidence."""
    from confiance.campaign.brief import load_brief
    from confiance.influence.fit import run_fit

    parsed = load_brief(brief)
    result = _rerun(_ws(), "fit", {"brief": str(brief), "candidates": candidates, "posts": posts},
                    lambda con, run_id: run_fit(con, run_id, parsed, candidates=candidates, posts=posts))
    shown = result.rows[:top]
    if as_json:
        _emit_json({**result.to_json(), "influencers": shown})
        return
    _emit_table("brand fit", [{"rank": r["rank"], "platform": r["platform"], "account": r["handle"] or r["account_id"],
                               "fit": f"{r['fit']:.2f}", **{p: "" if r[p] is None else f"{r[p]:.2f}"
                                                            for p in ("editorial", "style", "audience", "trust")},
                               "why": r["explanation"]} for r in shown])
    for note in result.notes:
        err.print(f"note: {note}")


# -- topics --
@app.command()
def topics(
    refit: bool = typer.Option(False, "--refit", help="Fit the topics again (else new posts join the stored topics)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Topics and narratives: label, size, top terms, languages and representative posts."""
    from confiance.pipeline import stored_parameters
    from confiance.text.topics import run_topics, too_few_texts, topics_listing

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "topics", "topics")
        too_few = too_few_texts(con) if stored is None else None
    if refit:
        parameters = {**(stored or {}), "refit": True}
        _rerun(ws, "topics", parameters, lambda con, run_id: run_topics(con, run_id, refit=True))
    elif too_few:
        raise ConfianceError(f"no topics: not enough data: {too_few}")
    elif stored is None:
        raise ConfianceError("no topics yet: run `confiance analyze` (or `confiance topics --refit`)")
    with ws.reader() as con:
        _say_parameters("topics", stored_parameters(con, "topics", "topics"))
        rows = topics_listing(con)
    if as_json:
        _emit_json(rows)
        return
    flat = [{"topic": r["topic"], "label": r["label"], "size": r["size"], "terms": ", ".join(r["terms"][:6]),
             "languages": ", ".join(f"{x['lang']} {x['share']:.0%}" for x in r["languages"][:3])} for r in rows]
    _listing("topics", flat, False, as_csv)


# -- engines --
ENGINES = ("duckdb", "spark")


def _say_skipped(path: Path, reason: str) -> None:
    """A file of a folder that no format reads, on stderr: its reason's first clause."""
    err.print(i18n.gettext("%(path)s: skipped (%(reason)s)", path=path, reason=i18n.said(reason).split(";")[0]),
              markup=False)


def _print_file_summary(result) -> None:
    """One ingested file's line on stderr, the same for both engines: its counts, then its notes (English
    in ``--json``, in the chosen language here)."""
    line = i18n.gettext("%(path)s: %(format)s: read %(read)s = stored %(stored)s + duplicates %(duplicates)s + "
                        "rejected %(rejected)s", path=result.path, format=result.format, read=result.records_read,
                        stored=result.stored, duplicates=result.duplicates, rejected=result.rejected)
    if result.already_ingested:
        line += i18n.translate(N_(" (already ingested)"))
    err.print(line + "".join(f"; {i18n.said(note)}" for note in result.notes), markup=False)


def _file_done(format_name: Optional[str], results: list) -> Callable[[Any], None]:
    """What either engine calls as each file is done: its result noted, kept in ``results`` and printed."""
    def done(result) -> None:
        if not result.already_ingested and result.records_read and result.rejected == result.records_read:
            # a wrong --format (or a file of another kind) rejects everything: exit 0 alone would hide it
            note = (Phrase(N_("every record was rejected: is --format %(format)s right? `confiance status` lists why"),
                           format=format_name) if format_name else
                    Phrase(N_("every record was rejected: `confiance status` lists why")))
            result = replace(result, notes=(*result.notes, note))
        results.append(result)
        _print_file_summary(result)

    return done


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise typer.BadParameter(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def _spark_lake(ws: Workspace, spark_master: Optional[str], lake: Optional[str]):
    from confiance.engine.spark import Lake, lake_location, session

    spark = session(spark_master)
    return spark, Lake(spark, lake_location(ws.root, lake))


def _ingest_on_spark(paths: list[Path], format_name: Optional[str], options: dict[str, Any], spark_master: Optional[str],
                     lake: Optional[str], as_json: bool) -> None:
    from confiance.engine.spark_ingest import ingest_paths_spark

    ws = _ws()
    spark, lake_ = _spark_lake(ws, spark_master, lake)
    results: list = []
    ingest_paths_spark(ws, paths, spark, lake_, format_name=format_name, options=options,
                       on_file_done=_file_done(format_name, results),
                       on_skip=_say_skipped)
    if as_json:
        _emit_json([r.as_json() for r in results])


@app.command("graph-metrics")
def graph_metrics(
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (the store) or spark (the Parquet lake)."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Spark master URL (default $CONFIANCE_SPARK_MASTER, else local[N])."),
    lake: Optional[str] = typer.Option(None, "--lake", help="Lake location for --engine spark (default $CONFIANCE_LAKE, else WORKSPACE/lake)."),
    kinds: Optional[str] = typer.Option(None, "--kinds", help="Comma-separated interaction kinds (default all)."),
    top: int = typer.Option(20, "--top", min=1, help="Accounts to list, by PageRank."),
    local_max_edges: Optional[int] = typer.Option(None, "--local-max-edges", min=0, help="Largest graph (collapsed edges) run on one node; above it PageRank and components run on Spark."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Degree, PageRank and weakly connected component per account, on the store or on Spark."""
    import uuid

    from confiance import store
    from confiance.engine import graph_algorithms, graph_metrics as metrics
    from confiance.graph.build import KINDS

    _check_engine(engine)
    chosen = _split(kinds)
    unknown = sorted(set(chosen or ()) - set(KINDS))
    if unknown:
        raise ConfianceError(f"unknown interaction kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    ws = _ws()
    if engine == "duckdb":
        with ws.reader() as con:
            if not store.has_table(con, "graph_edges"):
                raise ConfianceError("no graph yet: run `confiance analyze --only graph` first")
            table = metrics.duckdb_graph_metrics(con, kinds=chosen)
    else:
        spark, lake_ = _spark_lake(ws, spark_master, lake)
        limit = graph_algorithms.LOCAL_MAX_EDGES if local_max_edges is None else local_max_edges
        summary = metrics.spark_graph_metrics(spark, lake_, uuid.uuid4().hex[:12], kinds=chosen, local_max_edges=limit)
        err.print(f"{summary['pairs']} account pairs; PageRank and components ran on {summary['pagerank_on']}; "
                  f"written to {lake_.path(metrics.METRICS_TABLE)}")
        table = lake_.read_derived(metrics.METRICS_TABLE).orderBy("pagerank", ascending=False).limit(top).toArrow()
    rows = table.select(list(metrics.COLUMNS)).slice(0, top).to_pylist()
    _listing("graph metrics", rows, as_json, as_csv)


# -- network map layout --
@app.command()
def layout(
    max_nodes: Optional[int] = typer.Option(None, "--max-nodes", min=1, help="Lay out this many accounts (those with the most interactions); reruns the layout step when it differs."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Server-side layout of the account graph (the dashboard's map): how many accounts it places, of how many."""
    from confiance.graph.layout import LAYOUT_TABLE, layout_summary, run_layout
    from confiance.pipeline import stored_parameters

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, LAYOUT_TABLE, "layout")
    if stored is None:
        raise ConfianceError("no layout yet: run `confiance analyze`")
    if max_nodes is not None and stored.get("max_nodes") != max_nodes:
        seed = int(stored.get("seed", 0))
        _rerun(ws, "layout", {**stored, "max_nodes": max_nodes},
               lambda con, run_id: run_layout(con, run_id, seed=seed, max_nodes=max_nodes))
    with ws.reader() as con:
        summary = layout_summary(con)
    if as_json:
        _emit_json(summary)
        return
    _emit_table("layout", [summary])


#: Line breaks and runs of ASCII space in an error message, read as one space; a French no-break space stays.
_BREAKS = re.compile(r"[ \t\r\n\f\v]+")


def main() -> None:
    """Entry point: usage errors exit 2 (click); confiance errors and file errors exit 1 with one line on stderr."""
    try:
        app()
    except ConfianceError as exc:
        with i18n.using(_state.get("lang", i18n.LANGUAGES[0])):
            one_line = _BREAKS.sub(" ", exc.said()).strip()
            sys.stderr.write(i18n.gettext("error: %(what)s", what=one_line) + "\n")
        sys.exit(1)
    except OSError as exc:  # a path given on the command line: a directory for a file, a file for a folder…
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"error: {where}{exc.strerror or exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
