"""`confiance ingest --option KEY=VALUE`: passed to the importer, validated against its declared options."""

from __future__ import annotations

import json
import subprocess
import sys

from confiance.ingest import formats
from tests.conftest import query
from confiance.workspace import Workspace

AMBIGUOUS_KPI = "date;visites\n05/01/2024;10\n06/01/2024;12\n"  # day or month first? only the user knows


def _run(*args: str, workspace) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace), *args],
                          capture_output=True, text=True)


def _days(ws_root):
    return [ts.strftime("%Y-%m-%d") for (ts,) in query(Workspace.open(ws_root), "SELECT ts FROM kpis ORDER BY ts")]


def test_option_reaches_the_importer(tmp_path):
    kpi = tmp_path / "kpi.csv"
    kpi.write_text(AMBIGUOUS_KPI)
    month_first, day_first = tmp_path / "a", tmp_path / "b"
    for ws, extra in ((month_first, []), (day_first, ["--option", "dayfirst=true"])):
        assert _run("init", workspace=ws).returncode == 0
        out = _run("ingest", str(kpi), *extra, workspace=ws)
        assert out.returncode == 0, out.stderr
    assert _days(month_first) == ["2024-05-01", "2024-06-01"]
    assert _days(day_first) == ["2024-01-05", "2024-01-06"]


def test_false_is_a_boolean_not_a_truthy_word(tmp_path):
    kpi = tmp_path / "kpi.csv"
    kpi.write_text(AMBIGUOUS_KPI)
    ws = tmp_path / "ws"
    _run("init", workspace=ws)
    out = _run("ingest", str(kpi), "--option", "dayfirst=False", workspace=ws)
    assert out.returncode == 0, out.stderr
    assert _days(ws) == ["2024-05-01", "2024-06-01"]  # the text 'False' would have read day first


def test_unknown_option_is_a_usage_error_naming_the_known_ones(tmp_path):
    kpi = tmp_path / "kpi.csv"
    kpi.write_text(AMBIGUOUS_KPI)
    ws = tmp_path / "ws"
    _run("init", workspace=ws)
    out = _run("ingest", str(kpi), "--option", "share_scale=percent", workspace=ws)
    assert out.returncode == 2
    assert "share_scale" in out.stderr and "kpi-csv" in out.stderr and "dayfirst" in out.stderr
    out = _run("ingest", str(kpi), "--format", "edges-txt", "--option", "dayfirst=true", workspace=ws)
    assert out.returncode == 2 and "third_column" in out.stderr
    out = _run("ingest", str(kpi), "--option", "dayfirst", workspace=ws)
    assert out.returncode == 2 and "KEY=VALUE" in out.stderr
    assert query(Workspace.open(ws), "SELECT count(*) FROM sources") == [(0,)]  # nothing was ingested


def test_formats_lists_each_format_options(tmp_path):
    out = subprocess.run([sys.executable, "-m", "confiance.cli", "formats", "--json"], capture_output=True, text=True)
    rows = {r["name"]: r["options"] for r in json.loads(out.stdout)}
    assert rows == {name: ",".join(fmt.options) for name, fmt in formats().items()}
    assert "dayfirst" in rows["kpi-csv"] and "third_column" in rows["edges-txt"]
    assert {"twitter-archive", "mastodon-archive"} <= rows.keys()
