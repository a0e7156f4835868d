"""Acceptance of the Spark engine (issue 8): one simulated world through ``--engine duckdb`` and
``--engine spark`` (local mode) gives identical canonical tables, identical interaction edge weights
and PageRank agreeing to 1e-6; rejects agree on a file with bad lines and on one with nothing else; a
re-ingest stores nothing. Each engine ingests in two runs, so that links, duplicates, account snapshots
and Mastodon boosts read twice (a time given to a stored interaction without one) also cross runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("the Spark engine needs Java", allow_module_level=True)

from confiance import store  # noqa: E402
from confiance.cli import app  # noqa: E402
from confiance.engine import spark_ingest  # noqa: E402
from confiance.engine.graph_metrics import METRICS_TABLE, duckdb_graph_metrics, spark_graph_metrics  # noqa: E402
from confiance.engine.spark import Lake  # noqa: E402
from confiance.engine.spark_ingest import ingest_paths_spark  # noqa: E402
from confiance.engine.tables import column_names  # noqa: E402
from confiance.export import export_tables  # noqa: E402
from confiance.graph.build import build_edges  # noqa: E402
from confiance.simulate import simulate_world  # noqa: E402
from confiance.workspace import Workspace  # noqa: E402
from tests.ingest.test_mastodon_boosts import BOOST_TIME, ORDERS, boosted_status, order_files  # noqa: E402

pytestmark = pytest.mark.slow

COMPARED = ("accounts", "posts", "interactions", "observations", "rejects", "kpis", "surveys", "audience_reports")
SOURCE_COLUMNS = "sha256, format, encoding, size_bytes, records_read, stored, duplicates, rejected"


def _bad_lines_file(world: Path, target: Path) -> Path:
    """Real tweets with a broken line, a non-object line and two unmappable records among them."""
    lines = (world / "x" / "tweets-0001.jsonl").read_bytes().splitlines()[:5]
    lines[1:1] = [b'{"data": [ {"id": ', b"[1, 2, 3]", b'{"data": [{"text": "no id"}]}',
                  b'{"data": [{"id": "8", "public_metrics": {"like_count": "many"}}]}']
    target.write_bytes(b"\n".join(lines) + b"\n")
    return target


def _all_bad_file(target: Path) -> Path:
    """X pages whose every record is rejected: a note says so."""
    target.write_bytes(b'{"data": [{"id": "8", "text": "t", "public_metrics": {"like_count": "many"}}]}\n'
                       b'{"data": [{"text": "no id"}]}\n')
    return target


def _boost_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """(first run, second run): a Mastodon boost per order of ``ORDERS``, each its own, with the first of two
    files in the first run; then ``engagers then timeline`` again in the second run alone, and the first run's
    files collected again (other bytes, the same records)."""
    folder.mkdir()
    first: list[Path] = []
    second: list[Path] = []
    for n, order in enumerate(ORDERS):
        files = order_files(folder, order, n)
        first += files[:-1]
        second += files[-1:]
    second += order_files(folder, "engagers then timeline", len(ORDERS))
    for path in first:
        again = path.with_name(f"again-{path.name}")
        again.write_text(path.read_text() + "\n")
        second.append(again)
    return first, second


def _audience_file(target: Path) -> Path:
    """An audience report whose shares do not all sum to 100 %, a category repeated a chunk later."""
    target.write_text("platform,account_id,dimension,category,share\nx,1,age,18-24,0.34\nx,1,age,25-34,0.66\n"
                      "x,1,country,FR,0.5\nx,1,country,BE,0.33\nx,1,country,BE,0.1\n"
                      "tiktok,2,age,18-24,40%\ntiktok,2,age,25-34,70%\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def engines(tmp_path_factory, spark):
    """(duckdb workspace, spark workspace, its lake, inputs, per-engine CLI results and printed lines)."""
    root = tmp_path_factory.mktemp("engines")
    world = root / "world"
    simulate_world(world, seed=3, accounts=300, posts=2000)
    bad = _bad_lines_file(world, root / "bad-tweets.jsonl")
    # a first run with the later half of the X pages: the second run's posts are their parents (links
    # made in a later run, posts rewritten) and repeat them (duplicates across runs, account merges)
    pages = (world / "x" / "tweets-0001.jsonl").read_bytes().splitlines()
    late = root / "x-late.jsonl"
    late.write_bytes(b"\n".join(pages[len(pages) // 2:]) + b"\n")
    boosts_first, boosts_second = _boost_files(root / "boosts")
    inputs = [world / "x", world / "bluesky", world / "mastodon", _audience_file(root / "audience.csv"),
              *boosts_second, _all_bad_file(root / "all-bad.jsonl"), bad]
    runner = CliRunner()
    results = {}
    for engine in ("duckdb", "spark"):
        ws_root = root / engine
        assert runner.invoke(app, ["--workspace", str(ws_root), "init"]).exit_code == 0
        results[engine], results[f"{engine} lines"] = [], []
        for run in ([late, *boosts_first], inputs):
            with pytest.MonkeyPatch.context() as patch:  # CSV rows in chunks of two: notes and state cross chunks
                patch.setattr(spark_ingest, "UNITS_PER_CHUNK", 2)
                out = runner.invoke(app, ["--workspace", str(ws_root), "ingest", "--engine", engine, "--json",
                                          *map(str, run)])
            assert out.exit_code == 0, out.output
            results[engine] += orjson.loads(out.stdout)
            results[f"{engine} lines"] += out.stderr.splitlines()
    ws_duck, ws_spark = Workspace.open(root / "duckdb"), Workspace.open(root / "spark")
    return ws_duck, ws_spark, Lake(spark, str(ws_spark.root / "lake")), inputs, results


def _store_rows(ws: Workspace, table: str, columns: list[str]) -> list[tuple]:
    with ws.reader() as con:
        return sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)


def _lake_rows(lake: Lake, table: str, columns: list[str]) -> list[tuple]:
    """Read with DuckDB, not Spark: the lake is plain hive-partitioned Parquet."""
    if not lake.exists(table):
        return []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        return sorted(con.execute(
            f"SELECT {', '.join(columns)} FROM read_parquet('{lake.path(table)}/**/*.parquet', hive_partitioning = true)"
        ).fetchall(), key=repr)
    finally:
        con.close()


def test_ingest_results_identical(engines):
    _, _, _, _, results = engines
    assert results["duckdb"] == results["spark"]
    # the file notes too (the Spark engine gave none): the audience sums, kept across chunks of rows
    (note,) = next(r["notes"] for r in results["spark"] if r["path"].endswith("audience.csv"))
    assert "x:1 country shares sum to 0.83 (83%)" in note and "tiktok:2 age shares sum to 1.10 (110%)" in note
    printed = {engine: [line for line in results[f"{engine} lines"] if "audience.csv: " in line]
               for engine in ("duckdb", "spark")}
    assert printed["spark"] == printed["duckdb"] and printed["spark"][0].endswith(f"; {note}")
    # a file whose every record is rejected says so (the Spark engine said nothing)
    hint = "every record was rejected: `confiance status` lists why"
    all_bad = next(r for r in results["spark"] if r["path"].endswith("all-bad.jsonl"))
    assert all_bad["rejected"] == all_bad["records_read"] == 2 and all_bad["notes"] == [hint]
    assert next(line for line in results["spark lines"] if "all-bad.jsonl: " in line).endswith(f"; {hint}")
    bad = results["spark"][-1]
    assert bad["rejected"] == 4 and bad["records_read"] == bad["stored"] + bad["duplicates"] + bad["rejected"]
    assert bad["duplicates"] > 0  # its tweets were already stored from the world's X file


@pytest.mark.parametrize("table", COMPARED)
def test_canonical_tables_identical(engines, table):
    ws_duck, _, lake, _, _ = engines
    columns = column_names(table)
    expected = _store_rows(ws_duck, table, columns)
    if table in ("accounts", "posts", "interactions", "rejects"):
        assert expected, f"the world should fill {table}"
    assert _lake_rows(lake, table, columns) == expected


def test_a_boost_read_twice_gets_the_timelines_time_in_any_order(engines):
    """A boost read from a ``reblogged_by`` list (no time) and from the booster's timeline is one repost with the
    timeline's time, whichever comes first, in one file, two files of a run or two runs, collected again or not."""
    ws_duck, _, lake, _, _ = engines
    boosted = {boosted_status(n)["uri"] for n in range(len(ORDERS) + 1)}
    columns = ["post_id", "kind", "created_at"]
    reposts = {engine: [r for r in rows if r[0] in boosted]
               for engine, rows in (("duckdb", _store_rows(ws_duck, "interactions", columns)),
                                    ("spark", _lake_rows(lake, "interactions", columns)))}
    assert {r[0] for r in reposts["duckdb"]} == boosted and len(reposts["duckdb"]) == len(boosted)
    assert {(r[1], r[2].isoformat().replace("+00:00", ".000Z")) for r in reposts["duckdb"]} == {("repost", BOOST_TIME)}
    assert reposts["spark"] == reposts["duckdb"]


def test_sources_identical(engines):
    ws_duck, _, lake, _, _ = engines
    assert _lake_rows(lake, "sources", SOURCE_COLUMNS.split(", ")) == _store_rows(ws_duck, "sources",
                                                                                SOURCE_COLUMNS.split(", "))


def test_rejects_name_line_and_reason(engines):
    _, _, lake, inputs, results = engines
    sha = next(r for r in _lake_rows(lake, "sources", ["sha256", "path"]) if r[1] == str(inputs[-1]))[0]
    rejects = [r for r in _lake_rows(lake, "rejects", ["source_sha256", "line_no", "reason"]) if r[0] == sha]
    assert [r[1] for r in rejects] == [2, 3, 4, 5]
    assert all(r[2] for r in rejects)


def test_edge_weights_and_pagerank_agree(engines, spark):
    ws_duck, _, lake, _, _ = engines
    with ws_duck.writer() as con:
        with store.transaction(con):
            build_edges(con, "r1")
        expected_edges = sorted(con.execute(
            "SELECT platform, src, dst, kind, weight, interactions FROM graph_edges").fetchall())
        local = duckdb_graph_metrics(con)
    # local_max_edges=0: PageRank and components as the iterative Ibis algorithms on Spark
    summary = spark_graph_metrics(spark, lake, "r1", local_max_edges=0, tol=1e-7)
    assert summary["pagerank_on"] == "spark"
    edges = lake.read_derived("graph_edges").select("platform", "src", "dst", "kind", "weight", "interactions")
    assert sorted(tuple(r) for r in edges.collect()) == expected_edges
    distributed = {(r["platform"], r["account_id"]): r for r in lake.read_derived(METRICS_TABLE).collect()}
    reference = {(p, a): (pr, c, od, id_) for p, a, pr, c, od, id_ in zip(
        *[local.column(c).to_pylist() for c in ("platform", "account_id", "pagerank", "component", "out_degree",
                                                  "in_degree")])}
    assert set(distributed) == set(reference) and len(reference) > 100
    gap = max(abs(distributed[k]["pagerank"] - reference[k][0]) for k in reference)
    assert gap < 1e-6
    assert all(distributed[k]["component"] == reference[k][1] for k in reference)
    assert all((distributed[k]["out_degree"], distributed[k]["in_degree"]) == reference[k][2:] for k in reference)
    assert np.isclose(sum(r["pagerank"] for r in distributed.values()), 1.0)


def test_reingest_stores_nothing(engines, spark):
    _, ws_spark, lake, inputs, _ = engines
    before = {t: lake.read(t).count() for t in ("posts", "accounts", "interactions", "rejects")}
    again = ingest_paths_spark(ws_spark, inputs, spark, lake)
    assert all(r.already_ingested and r.stored == 0 for r in again)
    assert {t: lake.read(t).count() for t in before} == before


def test_export_parquet_readable_by_spark_and_duckdb(engines, spark, tmp_path):
    ws_duck, _, _, _, _ = engines
    with ws_duck.reader() as con:
        written = export_tables(con, "parquet", tmp_path / "export")
        expected = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("posts", "accounts")}
    posts = next(p for p in written if p.stem == "posts")
    accounts = next(p for p in written if p.stem == "accounts")
    frame = spark.read.parquet(str(posts))
    assert frame.count() == expected["posts"]
    assert dict(frame.dtypes)["created_at"] == "timestamp" and dict(frame.dtypes)["hashtags"] == "array<string>"
    assert spark.read.parquet(str(accounts)).count() == expected["accounts"]
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{posts}')").fetchall()[0][0] == expected["posts"]


def test_a_table_folder_without_parquet_reads_as_an_empty_table(spark, tmp_path):
    """A write of no rows (older versions appended them) leaves only ``_SUCCESS``: no schema to infer."""
    lake = Lake(spark, str(tmp_path / "lake"))
    (tmp_path / "lake" / "posts").mkdir(parents=True)
    (tmp_path / "lake" / "posts" / "_SUCCESS").write_bytes(b"")
    assert lake.exists("posts") and not lake.has_data("posts")
    frame = lake.read("posts")
    assert frame.count() == 0 and frame.columns == column_names("posts")


def test_bad_engine_is_a_usage_error(tmp_path):
    runner = CliRunner()
    runner.invoke(app, ["--workspace", str(tmp_path / "w"), "init"])
    out = runner.invoke(app, ["--workspace", str(tmp_path / "w"), "ingest", "--engine", "flink", str(tmp_path)])
    assert out.exit_code == 2 and "flink" in out.output


def test_forget_reaches_the_lake(engines, spark, tmp_path):
    """GDPR: a person ingested on Spark leaves the lake too, which Spark then still reads."""
    from confiance.privacy import forget

    _, ws_spark, _, _, _ = engines
    copy = tmp_path / "workspace"
    shutil.copytree(ws_spark.root, copy)
    lake = Lake(spark, str(copy / "lake"))
    # the most mentioned X account whose id and handle cannot occur by chance in other values
    mentioned = [r for r in _lake_rows(lake, "interactions", ["platform", "dst", "kind"]) if r[2] == "mention"]
    handles = {(p, a): h for p, a, h in _lake_rows(lake, "accounts", ["platform", "account_id", "handle"]) if h}
    counts: dict[tuple, int] = {}
    for platform, dst, _ in mentioned:
        if platform == "x" and len(dst) >= 6 and len(handles.get((platform, dst), "")) >= 6:
            counts[(platform, dst)] = counts.get((platform, dst), 0) + 1
    platform, account_id = max(counts, key=counts.get)
    handle = handles[(platform, account_id)].lower()
    assert any(r[1] == account_id for r in _lake_rows(lake, "posts", ["platform", "account_id"]))

    result = forget(Workspace.open(copy), f"{platform}:{account_id}")

    assert result.rows_deleted["lake/posts"] > 0 and result.rows_deleted["lake/accounts"] >= 1
    for table in ("accounts", "posts", "interactions", "observations", "rejects", "sources"):
        rows = _lake_rows(lake, table, column_names(table))
        text = repr(rows).lower()
        assert account_id not in text and handle not in text, table
    assert not [p for p in (copy / "lake").iterdir() if p.name.startswith(".")]
    for table in ("posts", "accounts", "interactions"):
        assert lake.read(table).count() == len(_lake_rows(lake, table, ["platform"])) > 0
