"""GDPR on the Spark engine: files ingested after ``forget`` through ``--engine spark`` keep the forgotten
people out exactly as the DuckDB engine does: same rows in every canonical table, same per-file counts
(their records rejected), same archived raw bytes (redacted), and no trace of them anywhere in the
workspace (store file, lake files, archive).

One scenario for both engines: half of a small simulated world and the canary page are ingested, one
account per platform that others answer and mention is forgotten, and the canary too; then the other
half and the canary's records collected again (new post ids) are ingested.
"""

from __future__ import annotations

import os
import shutil

import orjson
import pyarrow.parquet as pq
import pytest

pyspark = pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("the Spark engine needs Java", allow_module_level=True)

from confiance.engine.spark import Lake, lake_location  # noqa: E402
from confiance.engine.spark_ingest import ingest_paths_spark  # noqa: E402
from confiance.engine.tables import column_names  # noqa: E402
from confiance.ingest._readers import decompress  # noqa: E402
from confiance.privacy import forget  # noqa: E402
from confiance.simulate import simulate_world  # noqa: E402
from confiance.workspace import Workspace  # noqa: E402
from tests.conftest import ingest, query  # noqa: E402
from tests.engine.test_spark_engine import COMPARED, SOURCE_COLUMNS, _lake_rows, _store_rows  # noqa: E402
from tests.test_export_privacy import CANARY, CANARY_ID, _canary_file  # noqa: E402
from tests.test_forget_archive import TARGETS, _TARGET, hits, traces, workspace_bytes  # noqa: E402
from tests.test_privacy_reingest import _halves  # noqa: E402

pytestmark = pytest.mark.slow


def _readable_bytes(root):
    """``workspace_bytes`` with each Parquet file read by its decoded values only: compressed pages can spell
    a short handle by chance (snappy tag bytes spelled 'rileyz' in an accounts file that does not hold it)."""
    files = workspace_bytes(root)
    for name in files:
        if name.endswith(".parquet"):
            files[name] = orjson.dumps(pq.read_table(root / name).to_pylist(), default=str).lower()
    return files


def _collected_again(canary, target):
    """The canary's page collected again: the same people, new post ids."""
    text = canary.read_text()
    for old in ("9001", "9002", "9003", "9004"):
        text = text.replace(f'"{old}"', f'"91{old[2:]}"')
    target.write_text(text)
    return target


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory, spark):
    """{engine: (workspace, per-file results of the ingest after forget)}, and the forgotten people:
    {platform: (account_id, handle, traces, aliases)}; aliases: the ids an instance gives a Mastodon account."""
    root = tmp_path_factory.mktemp("spark-forget")
    simulate_world(root / "world", seed=5, accounts=270, posts=2000)
    first, second = _halves(root / "world", root / "files")
    canary = _canary_file(root)
    first.append(canary)
    second.append(_collected_again(canary, root / "files" / "canary-again.jsonl"))
    people = {}
    out = {}
    for engine in ("duckdb", "spark"):
        ws = Workspace.init(root / engine)
        lake = Lake(spark, lake_location(ws.root))

        def run(paths):
            if engine == "duckdb":
                return [r.as_json() for r in ingest(ws, *paths)]
            return [r.as_json() for r in ingest_paths_spark(ws, paths, spark, lake)]

        run(first)
        if engine == "duckdb":  # the people, chosen on the store, are the same rows in the lake
            for platform in ("x", "bluesky", "mastodon"):
                [(account_id, handle)] = query(ws, _TARGET.format(TARGETS["mentioned"] + " OR " + TARGETS["answered"])
                                               .replace("SELECT a.account_id", "SELECT a.account_id, a.handle"),
                                               [platform])
                aliases = {a for (a,) in query(
                    ws, "SELECT json_extract_string(attributes, '$.instance_account_id') FROM accounts "
                        "WHERE platform = ? AND account_id = ?", [platform, account_id]) if a}
                people[platform] = (account_id, handle, traces(ws, platform, account_id), aliases)
        for platform, (account_id, _, _, _) in people.items():
            forget(ws, f"{platform}:{account_id}")
        forget(ws, CANARY)
        out[engine] = (ws, run(second))
    return out, people


def test_ingest_after_forget_counts_identical(forgotten):
    out, _ = forgotten
    duck = out["duckdb"][1]
    assert out["spark"][1] == duck
    assert sum(r["rejected"] for r in duck) > 3  # the forgotten people's records came again


@pytest.mark.parametrize("table", COMPARED)
def test_tables_after_forget_identical(forgotten, spark, table):
    out, _ = forgotten
    ws_duck, ws_spark = out["duckdb"][0], out["spark"][0]
    lake = Lake(spark, lake_location(ws_spark.root))
    columns = column_names(table)
    expected = _store_rows(ws_duck, table, columns)
    assert _lake_rows(lake, table, columns) == expected
    if table == "posts":  # others' posts were rewritten as they landed: the engines agree on something
        assert any("@[forgotten]" in (row[columns.index("text")] or "") for row in expected)


def test_sources_and_archives_after_forget_identical(forgotten, spark):
    out, _ = forgotten
    ws_duck, ws_spark = out["duckdb"][0], out["spark"][0]
    lake = Lake(spark, lake_location(ws_spark.root))
    columns = SOURCE_COLUMNS.split(", ")
    assert _lake_rows(lake, "sources", columns) == _store_rows(ws_duck, "sources", columns)

    def archives(ws):
        return {p.name: decompress(decompress(p.read_bytes())) for p in ws.raw_dir.glob("*/*.zst")}

    duck, spark_archives = archives(ws_duck), archives(ws_spark)
    assert len(duck) == len(_store_rows(ws_duck, "sources", ["sha256"])) == 10  # 4 world files and the canary, twice
    assert spark_archives == duck


def test_no_trace_of_the_forgotten_anywhere_in_the_spark_workspace(forgotten):
    out, people = forgotten
    files = _readable_bytes(out["spark"][0].root)
    assert any(name.startswith("lake/") for name in files) and any(name.startswith("raw/") for name in files)
    assert {platform: hits(files, needles) for platform, (_, _, needles, _) in people.items()} == \
        {"x": {}, "bluesky": {}, "mastodon": {}}
    assert hits(files, {CANARY_ID}) == {}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_no_alias_of_the_forgotten_in_archives_after_reingest(forgotten, engine):
    out, people = forgotten
    [aliases] = [aliases for platform, (_, _, _, aliases) in people.items() if platform == "mastodon"]
    assert aliases and hits(_readable_bytes(out[engine][0].root), aliases) == {}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_canary_handle_leaves_no_trace_after_reingest(forgotten, engine):
    out, _ = forgotten
    assert hits(_readable_bytes(out[engine][0].root), {CANARY}) == {}


@pytest.fixture(scope="module")
def copied_words(tmp_path_factory, spark):
    """Alice's words reposted by others in files that lack her post, ingested on each engine after she is
    forgotten (``tests/test_privacy_copied_words.py``): {engine: workspace}."""
    from tests.test_privacy_copied_words import ALICE, _alice_file, _repost_files

    folder = tmp_path_factory.mktemp("spark-copied-words")
    alice, reposts = _alice_file(folder), _repost_files(folder)
    out = {}
    for engine in ("duckdb", "spark"):
        ws = Workspace.init(folder / engine)
        lake = Lake(spark, lake_location(ws.root))

        def run(paths, **kwargs):
            if engine == "duckdb":
                return ingest(ws, *paths, **kwargs)
            return ingest_paths_spark(ws, paths, spark, lake, **kwargs)

        run([alice])
        forget(ws, f"x:{ALICE}")
        (generic, mapping), others = reposts[-1], reposts[:-1]
        run(others)
        run([generic], format_name="generic-csv", options={"mapping": str(mapping)})
        out[engine] = ws
    return out


def test_reposts_of_a_forgotten_person_lose_the_copied_words_on_spark_as_on_duckdb(copied_words, spark):
    from tests.test_privacy_copied_words import CANARY, RT_FORGOTTEN

    ws_duck, ws_spark = copied_words["duckdb"], copied_words["spark"]
    lake = Lake(spark, lake_location(ws_spark.root))
    for table in ("posts", "accounts", "interactions"):
        columns = column_names(table)
        assert _lake_rows(lake, table, columns) == _store_rows(ws_duck, table, columns), table
    texts = dict(_store_rows(ws_duck, "posts", ["post_id", "text"]))
    assert texts["8101"] == texts["8201"] == texts["8301"] == RT_FORGOTTEN

    def archives(ws):
        return {p.name: decompress(decompress(p.read_bytes())) for p in ws.raw_dir.glob("*/*.zst")}

    assert archives(ws_spark) == archives(ws_duck)
    assert hits(_readable_bytes(ws_spark.root), {CANARY.lower()}) == {}
