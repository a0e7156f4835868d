"""Command line: one sub-command per verb; each parses options and calls one library function."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any, Optional

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from confiance.errors import ConfianceError
from confiance.workspace import Workspace, default_root

app = typer.Typer(add_completion=False, no_args_is_help=True, help="confiance: influence and trust intelligence workbench.")
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, Path] = {}


@app.callback()
def _global(
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w", help="Workspace folder (default $CONFIANCE_WORKSPACE, else ./confiance-workspace)."),
) -> None:
    _state["root"] = workspace or default_root()


def _ws() -> Workspace:
    return Workspace.open(_state["root"])


def _emit_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str) + b"\n")
    sys.stdout.flush()


def _emit_csv(rows: list[dict[str, Any]]) -> None:
    from confiance.export import safe_cell

    if not rows:
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0].keys()))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})


def _emit_table(title: str, rows: list[dict[str, Any]]) -> None:
    console = Console()
    table = Table(title=title)
    if not rows:
        console.print(f"{title}: nothing yet")
        return
    for key in rows[0]:
        table.add_column(str(key))
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)


def _listing(title: str, rows: list[dict[str, Any]], as_json: bool, as_csv: bool) -> None:
    if as_json:
        _emit_json(rows)
    elif as_csv:
        _emit_csv(rows)
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
def formats(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the input formats ingest understands."""
    from confiance.ingest import formats as all_formats

    rows = [{"name": f.name, "containers": ",".join(f.containers), "description": f.description} for f in all_formats().values()]
    _listing("formats", rows, as_json, False)


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
    format_name: Optional[str] = typer.Option(None, "--format", help="Skip detection: use this format for every file."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="Column mapping YAML (generic CSV)."),
    platform: Optional[str] = typer.Option(None, "--platform", help="Platform for edge lists and generic CSV."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ingest platform files: one transaction per file; rejects are kept with file, line and reason."""
    from confiance.ingest import ingest_paths

    options: dict[str, Any] = {}
    if mapping:
        options["mapping"] = str(mapping)
    if platform:
        options["platform"] = platform
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        def start(path: Path, size: int):
            task = bar.add_task(path.name[:40], total=size)
            return lambda n: bar.advance(task, n)

        def done(result) -> None:
            tag = " (already ingested)" if result.already_ingested else ""
            err.print(f"{result.path}: {result.format}: read {result.records_read} = stored {result.stored} "
                      f"+ duplicates {result.duplicates} + rejected {result.rejected}{tag}")

        def skip(path: Path, reason: str) -> None:
            err.print(f"{path}: skipped ({reason.split(';')[0]})")

        results = ingest_paths(_ws(), paths, format_name=format_name, options=options, on_file_start=start,
                               on_file_done=done, on_skip=skip)
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
        _emit_csv(info["sources"])
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
        summary = simulate_world(outdir, seed=seed, accounts=accounts, posts=posts, platforms=chosen,
                                 progress=lambda n: bar.advance(task, n))
    counts = ", ".join(f"{k} {v}" for k, v in summary.items() if isinstance(v, int))
    err.print(f"world written to {outdir}" + (f" ({counts})" if counts else ""))


@app.command()
def analyze(only: Optional[str] = typer.Option(None, "--only", help="Comma-separated steps (and what they need).")) -> None:
    """Run every analysis in dependency order (or only the named steps)."""
    from confiance.pipeline import analyze as run_analyses

    steps = [s.strip() for s in only.split(",")] if only else None
    def done(step, result) -> None:
        figures = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in (result or {}).items() if isinstance(v, (int, float)))
        err.print(f"{step.name}: done" + (f" ({figures})" if figures else ""))

    run_analyses(_ws(), steps, on_step=done)


@app.command()
def communities(
    resolution: Optional[float] = typer.Option(None, "--resolution", help="Leiden resolution; recomputes when it differs from the stored run."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Community of every account (Leiden); the table view lists the communities' profiles."""
    from confiance.graph.communities import communities_listing, run_communities
    from confiance.pipeline import rerun, stored_parameters

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "communities", "communities")
    if stored is None:
        raise ConfianceError("no communities yet: run `confiance analyze`")
    if resolution is not None and float(stored.get("resolution", 1.0)) != resolution:
        rerun(ws, "communities", {**stored, "resolution": resolution},
               lambda con, run_id: run_communities(con, run_id, resolution=resolution,
                                                   quality=stored.get("quality", "modularity"),
                                                   seed=int(stored.get("seed", 0))))
    with ws.reader() as con:
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
    if as_json:
        _emit_json(rows)
        return
    flat = [{k: v for k, v in row.items() if not isinstance(v, (dict, list))} for row in rows]
    _listing("influencers", flat, False, as_csv)


@app.command()
def report(output: Optional[Path] = typer.Option(None, "-o", "--output", help="HTML file to write.")) -> None:
    """Write the self-contained HTML report."""
    from confiance.report import build_report

    path = build_report(_ws(), output)
    typer.echo(str(path))


@app.command()
def export(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="csv, parquet, gexf or graphml."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Folder to write (default WORKSPACE/exports/FORMAT); for gexf/graphml, the file (default WORKSPACE/exports/graph.FORMAT)."),
    pseudonymise: bool = typer.Option(False, "--pseudonymise", help="Replace ids and handles by keyed pseudonyms; drop names, bios, locations."),
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
def forget(who: str = typer.Argument(..., metavar="ACCOUNT_OR_HANDLE", help="Account id, @handle or platform:account_id.")) -> None:
    """Remove a person from every table, the raw archive, snapshots and exports; suppress them in later ingests."""
    from confiance.privacy import forget as forget_person

    result = forget_person(_ws(), who)
    rows = sum(result.rows_deleted.values())
    err.print(f"forgotten: {rows} rows deleted, {result.archives_redacted} archived files redacted, "
              f"{result.files_deleted} output files deleted; database file rewritten")


# -- topics --
@app.command()
def topics(
    refit: bool = typer.Option(False, "--refit", help="Fit the topics again (else new posts join the stored topics)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Topics and narratives: label, size, top terms, languages and representative posts."""
    from confiance.pipeline import rerun, stored_parameters
    from confiance.text.topics import run_topics, topics_listing

    ws = _ws()
    with ws.reader() as con:
        stored = stored_parameters(con, "topics", "topics")
    if refit:
        parameters = {**(stored or {}), "refit": True}
        rerun(ws, "topics", parameters, lambda con, run_id: run_topics(con, run_id, refit=True))
    elif stored is None:
        raise ConfianceError("no topics yet: run `confiance analyze` (or `confiance topics --refit`)")
    with ws.reader() as con:
        rows = topics_listing(con)
    if as_json:
        _emit_json(rows)
        return
    flat = [{"topic": r["topic"], "label": r["label"], "size": r["size"], "terms": ", ".join(r["terms"][:6]),
             "languages": ", ".join(f"{x['lang']} {x['share']:.0%}" for x in r["languages"][:3])} for r in rows]
    _listing("topics", flat, False, as_csv)


def main() -> None:
    """Entry point: usage errors exit 2 (click), confiance errors exit 1 with one line on stderr."""
    try:
        app()
    except ConfianceError as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
