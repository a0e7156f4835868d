"""The CLI contract: --json prints only JSON on stdout; exit codes 0 / 1 (one-line message) / 2 (usage)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from tests.conftest import FORMATS, REAL


def run(*args: str, workspace=None) -> subprocess.CompletedProcess:
    prefix = ["--workspace", str(workspace)] if workspace else []
    return subprocess.run([sys.executable, "-m", "confiance", *prefix, *args], capture_output=True, text=True)


def test_ingest_json_and_status_json(tmp_path):
    ws = tmp_path / "ws"
    assert run("init", workspace=ws).returncode == 0
    out = run("ingest", str(FORMATS / "twitter-v2-json"), str(FORMATS / "bluesky-atproto"), "--json", workspace=ws)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert {r["format"] for r in results} == {"twitter-v2", "bluesky"}
    for r in results:
        assert set(r) == {"path", "format", "records_read", "stored", "duplicates", "rejected", "notes"}
        assert r["records_read"] == r["stored"] + r["duplicates"] + r["rejected"]
    assert "SOURCE.md: skipped" in out.stderr
    status = json.loads(run("status", "--json", workspace=ws).stdout)
    assert status["tables"]["posts"] > 0 and len(status["sources"]) == 4
    assert status["posts_per_platform"].keys() == {"x", "bluesky"}


def test_errors_are_one_line_with_exit_code_1(tmp_path):
    out = run("status", workspace=tmp_path / "missing")
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "confiance init" in out.stderr
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    bad = tmp_path / "x.txt"
    bad.write_text("hello\n")
    out = run("ingest", str(bad), workspace=ws)
    assert out.returncode == 1 and str(bad) in out.stderr and "Traceback" not in out.stderr


def test_ingest_json_reports_the_committed_files_when_a_later_one_fails(tmp_path):
    """File a lands, file b fails: --json still lists what landed (with counts) and b's error, then exits 1."""
    ws, bad = tmp_path / "ws", tmp_path / "b.txt"
    run("init", workspace=ws)
    bad.write_text("hello\nworld\n")
    good = FORMATS / "twitter-v2-json" / "brexit.jsonl"
    out = run("ingest", str(good), str(bad), "--json", workspace=ws)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    landed, failed = json.loads(out.stdout)
    assert landed["path"] == str(good) and landed["stored"] == landed["records_read"] == 100
    assert failed["path"] == str(bad) and "unrecognised format" in failed["error"]
    assert out.stderr.strip().splitlines()[-1] == f"error: {failed['error']}"
    status = json.loads(run("status", "--json", workspace=ws).stdout)
    assert status["tables"]["posts"] > 0 and [s["path"] for s in status["sources"]] == [str(good)]
    again = run("ingest", str(good), str(bad), workspace=ws)  # without --json: one line per file, then the error
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.splitlines() == [f"{good}: twitter-v2: read 100 = stored 0 + duplicates 100 + rejected 0 "
                                         "(already ingested)", f"error: {failed['error']}"]


def test_a_file_whose_every_record_is_rejected_says_so(tmp_path):
    """A CrowdTangle export forced through --format bluesky: every line rejected, and exit 0 said nothing more."""
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    export = FORMATS / "crowdtangle-csv" / "2021-07-05-22-49-20-BRT-search-csv-export.csv"
    out = run("ingest", str(export), "--format", "bluesky", "--json", workspace=ws)
    assert out.returncode == 0, out.stderr
    [result] = json.loads(out.stdout)
    assert result["rejected"] == result["records_read"] > 0
    hint = "every record was rejected: is --format bluesky right? `confiance status` lists why"
    assert result["notes"] == [hint] and out.stderr.rstrip().endswith(hint)
    detected = run("ingest", str(export), workspace=ws)  # the right format: no such note
    assert detected.returncode == 0 and "every record" not in detected.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run("ingest").returncode == 2
    assert run("no-such-verb").returncode == 2
    assert run("export", "csv", "--bogus", workspace=tmp_path).returncode == 2


def test_report_prints_its_path(tmp_path):
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    run("ingest", str(FORMATS / "twitter-v2-json" / "brexit.jsonl"), workspace=ws)
    assert run("analyze", workspace=ws).returncode == 0
    out = run("report", "-o", str(tmp_path / "r.html"), workspace=ws)
    assert out.returncode == 0 and out.stdout.strip() == str(tmp_path / "r.html")
    assert (tmp_path / "r.html").exists()


def test_path_errors_are_one_line_with_exit_code_1(tmp_path):
    """A folder where a file goes, a file where a folder goes: one line naming the path, no traceback."""
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    folder, existing = tmp_path / "out", tmp_path / "taken.csv"
    folder.mkdir()
    existing.write_text("a,b\n")
    for args, path in ((("report", "-o", str(folder)), folder), (("export", "csv", "-o", str(existing)), existing),
                       (("simulate", str(existing)), existing)):
        out = run(*args, workspace=ws)
        assert out.returncode == 1, (args, out.stderr)
        assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and str(path) in out.stderr, args
        assert "Traceback" not in out.stderr and out.stdout == ""
    assert list(tmp_path.glob("*.partial")) == []  # the report stopped before writing anything


def test_bad_option_values_are_usage_errors(tmp_path):
    assert run("simulate", str(tmp_path / "world"), "--accounts", "0").returncode == 2
    assert not (tmp_path / "world").exists()
    out = run("communities", "--resolution", "-1", workspace=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_an_infinite_resolution_is_a_usage_error_naming_it(tmp_path):
    """--resolution inf passed typer's min=0 and ended in a TypeError traceback from the Leiden split."""
    run("init", workspace=tmp_path)
    out = run("communities", "--resolution", "inf", workspace=tmp_path)
    assert out.returncode == 2 and "--resolution" in out.stderr and "inf" in out.stderr
    assert "Traceback" not in out.stderr


def test_influencers_of_a_follow_only_graph_say_the_order_means_nothing(tmp_path):
    """A retweet edge list ingested without --option kind=repost: every score 0, listed by account id, silently."""
    run("init", workspace=tmp_path)
    run("ingest", str(REAL / "karate" / "karate.gml"), workspace=tmp_path)
    assert run("analyze", "--only", "influence", workspace=tmp_path).returncode == 0
    out = run("influencers", "--json", workspace=tmp_path)
    assert out.returncode == 0 and not any(row["influence"] for row in json.loads(out.stdout))
    assert "no influence signal" in out.stderr and "kind=repost" in out.stderr
    french = run("--lang", "fr", "influencers", workspace=tmp_path)
    assert "aucun signal d'influence" in french.stderr and "no influence" not in french.stderr


def test_communities_take_quality_and_seed_from_the_cli(tmp_path):
    """CPM and the seed were in the step's kept parameters but no option set them."""
    run("init", workspace=tmp_path)
    run("ingest", str(REAL / "karate" / "karate.gml"), workspace=tmp_path)
    assert run("analyze", "--only", "communities", workspace=tmp_path).returncode == 0
    out = run("communities", "--quality", "cpm", "--resolution", "0.1", "--seed", "2", "--json", workspace=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "quality cpm, resolution 0.1, seed 2" in out.stderr and len(json.loads(out.stdout)) == 34
    again = run("communities", "--json", workspace=tmp_path)  # kept for the workspace
    assert "quality cpm, resolution 0.1, seed 2" in again.stderr and again.stdout == out.stdout
    bad = run("communities", "--quality", "louvain", workspace=tmp_path)
    assert bad.returncode == 2 and "'louvain'" in bad.stderr and "cpm" in bad.stderr


def test_opinion_without_stance_names_the_stance_verb(tmp_path):
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    out = run("opinion", "--intervention", "2025-03-31", "--hashtag", "x", workspace=ws)
    assert out.returncode == 1 and "confiance stance TARGET.yaml" in out.stderr and "analyze" not in out.stderr


def test_nested_values_are_json_in_json_and_csv(tmp_path):
    """attribution --json gives lists and objects (not numpy or JSON text); --csv cells hold JSON, not Python repr."""
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    run("ingest", str(FORMATS / "twitter-v2-json" / "brexit.jsonl"), workspace=ws)
    rows = json.loads(run("attribution", "--json", workspace=ws).stdout)
    assert rows and all(isinstance(r["evidence_post_ids"], list) and isinstance(r["kpi_totals"], dict) for r in rows)
    assert all(isinstance(pid, str) for r in rows for pid in r["evidence_post_ids"])
    assert run("analyze", "--only", "account_types", workspace=ws).returncode == 0
    out = run("account-types", "--csv", workspace=ws)
    cells = list(csv.DictReader(io.StringIO(out.stdout)))
    assert cells and all(json.loads(c["scores"]).keys() >= {"expert", "creator", "media"} for c in cells)
    assert all(isinstance(json.loads(c["evidence"]), list) for c in cells)


def test_tables_keep_columns_aligned_and_whole_when_piped(tmp_path):
    """impact's 'relative' row has no 'actual' column: its figures stay under effect/lower/upper; a piped
    table is not cut to 80 columns of ellipses."""
    kpi = tmp_path / "kpi.csv"
    kpi.write_text("y\n" + "".join(f"{100 + (i % 7) + (30 if i >= 60 else 0)}\n" for i in range(90)))
    out = run("impact", str(kpi), "--intervention", "60", "--draws", "200")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(line for line in lines if "predicted_lower" in line)
    relative = next(line for line in lines if "relative" in line)
    names = [cell.strip() for cell in header.split("┃")[1:-1]]
    cells = dict(zip(names, (cell.strip() for cell in relative.split("│")[1:-1])))
    assert cells["actual"] == cells["predicted"] == ""
    assert float(cells["effect"]) > 0 and "…" not in out.stdout
    cumulative = next(line for line in lines if "cumulative" in line)
    assert "e+" not in cumulative


def test_table_cells_round_floats_and_keep_the_rest():
    from confiance.cli import _cell

    assert [_cell(v) for v in (0.4166666666666667, 2.0, 0.0, -0.00001, 1234.56789, None, "1.23456789", 7)] == \
        ["0.4167", "2", "0", "-1.00e-05", "1234.5679", "", "1.23456789", "7"]
    assert _cell(float("nan")) == "nan"


def test_table_cells_show_lists_and_objects_without_python_repr():
    """polarization's sides list their accounts, account-types its scores and evidence: no ['a', 'b'],
    no {'k': True}, in a table meant for people."""
    from confiance.cli import _cell

    assert _cell(["caroljhedges", "bodaecia"]) == "caroljhedges, bodaecia"
    assert _cell([0.4166666666666667, 2.0]) == "0.4167, 2"
    assert _cell([]) == ""
    assert _cell({"brand": 1.5, "verified": True, "span": None}) == '{"brand":1.5,"verified":true,"span":null}'
    assert _cell([{"cue": "profile: trademark"}]) == '[{"cue":"profile: trademark"}]'


def test_parameter_lines_leave_unset_parameters_unsaid(capsys):
    """'communities computed with … kinds None' read as a kind called None; unset is the default."""
    from confiance.cli import _say_parameters

    _say_parameters("communities", {"quality": "modularity", "resolution": 1.0, "kinds": None})
    assert capsys.readouterr().err == "communities computed with quality modularity, resolution 1.0\n"
    _say_parameters("topics", {"k": None})
    assert capsys.readouterr().err == ""


def test_ingesting_an_empty_folder_says_so(tmp_path):
    ws, empty = tmp_path / "ws", tmp_path / "empty"
    run("init", workspace=ws)
    empty.mkdir()
    out = run("ingest", str(empty), workspace=ws)
    assert out.returncode == 0 and f"nothing to ingest: no file under {empty}" in out.stderr
    out = run("ingest", str(empty), "--json", workspace=ws)
    assert json.loads(out.stdout) == []


def test_formats_lists_as_csv():
    out = run("formats", "--csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {"twitter-v2", "bluesky", "mastodon", "kpi-csv"} <= {r["name"] for r in rows}


def test_serve_on_a_port_in_use_is_one_error_line(tmp_path):
    import socket

    ws = tmp_path / "ws"
    run("init", workspace=ws)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws), "serve", "--port", str(port)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout == ""  # no "dashboard at …" for a server that never started
    assert out.stderr == f"error: cannot listen on 127.0.0.1 port {port}: Address already in use\n"


def test_unknown_kind_or_topic_is_one_error_line(tmp_path):
    ws = tmp_path / "ws"
    run("init", workspace=ws)
    run("ingest", str(FORMATS / "twitter-v2-json" / "brexit.jsonl"), workspace=ws)
    assert run("analyze", "--only", "graph,topics", workspace=ws).returncode == 0
    out = run("graph-metrics", "--kinds", "reply,nonsense", workspace=ws)
    assert out.returncode == 1 and out.stderr.startswith("error: unknown interaction kind(s) nonsense;")
    assert out.stderr.count("\n") == 1
    out = run("influencers", "--topic", "nosuch", workspace=ws)
    assert out.returncode == 1 and out.stderr.startswith("error: no topic 'nosuch'; topics: ")
    assert out.stderr.count("\n") == 1


def test_out_of_range_counts_are_usage_errors(tmp_path):
    for args in (("sources", "--top", "-2"), ("harm", "--top", "0"), ("trends", "--top", "0"), ("retention", "99999y")):
        out = run(*args, workspace=tmp_path)
        assert out.returncode == 2 and "Traceback" not in out.stderr, args


def test_stance_threshold_outside_the_cosine_range_is_a_usage_error(tmp_path):
    target = tmp_path / "t.yaml"
    target.write_text("target: t\ndescription: a bike\nexamples: {favour: [great bike], against: [bad bike], "
                      "neutral: [a bike]}\n")
    out = run("stance", str(target), "--threshold", "5", workspace=tmp_path)
    assert out.returncode == 2 and "--threshold" in out.stderr


# -- --csv headers of empty listings --------------------------------------------------------------
#: Listing verbs (arguments after the verb) and the title their CSV columns are declared under.
LISTING_VERBS = {
    ("status",): "sources", ("communities",): "communities", ("influencers",): "influencers", ("bots",): "bot likelihood",
    ("disclosure",): "disclosure", ("disclosure", "--accounts"): "disclosure accounts", ("sources",): "domains by share",
    ("account-types",): "account types", ("harm",): "harmful-influence profiles", ("trends",): "emerging narratives",
    ("sov", "#velo", "#cafe"): "share of voice", ("coordination",): "coordination edges",
    ("surveys",): "survey changes", ("attribution",): "attribution", ("topics",): "topics",
    ("graph-metrics",): "graph metrics", ("formats",): "formats",
}


def _cli_csv(ws, *args: str) -> tuple[list[str], list[dict[str, str]]]:
    from typer.testing import CliRunner

    from confiance.cli import app

    result = CliRunner().invoke(app, ["--workspace", str(ws), *args, "--csv"])
    assert result.exit_code == 0, (args, result.output)
    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def analysed_small_world(tmp_path_factory):
    from confiance.ingest import ingest_paths
    from confiance.pipeline import analyze
    from confiance.simulate import simulate_world
    from confiance.workspace import Workspace

    root = tmp_path_factory.mktemp("listings")
    simulate_world(root / "world", seed=5, accounts=300, posts=2500)
    ws = Workspace.init(root / "ws")
    ingest_paths(ws, [root / "world"])
    analyze(ws)
    return ws.root


def test_every_listing_declares_the_columns_it_prints(analysed_small_world):
    """The declared header of each listing is the one it prints when it has rows (so an empty one matches)."""
    from confiance.cli import LISTING_COLUMNS

    assert set(LISTING_VERBS.values()) == set(LISTING_COLUMNS)
    for args, title in LISTING_VERBS.items():
        header, rows = _cli_csv(analysed_small_world, *args)
        assert rows, args
        assert header == list(LISTING_COLUMNS[title]), args


def test_empty_listings_print_their_csv_header(tmp_path, capsys):
    from confiance.cli import LISTING_COLUMNS, _listing

    ws = tmp_path / "ws"
    assert run("init", workspace=ws).returncode == 0
    assert run("ingest", str(FORMATS / "mastodon-api"), workspace=ws).returncode == 0
    out = run("sov", "#nothingmatchesthis", "--csv", workspace=ws)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["period,query,posts,share"]
    out = run("coordination", "--csv", workspace=ws)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["platform,a,b,kind,weight,evidence"]
    for title, columns in LISTING_COLUMNS.items():
        _listing(title, [], False, True)
        assert capsys.readouterr().out.splitlines() == [",".join(columns)], title
