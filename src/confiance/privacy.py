"""GDPR tools: forget a person everywhere in a workspace.

``forget`` removes the person's accounts, posts, interactions, observations and audience reports,
scrubs their handle from other people's posts, redacts them from the raw archive, deletes snapshots
and any report or export that names them, then **rewrites the database file** (DuckDB DELETE leaves
the old bytes on disk). A workspace ingested on Spark has the same tables in its Parquet lake: they
get the same deletions and are rewritten too (``confiance.engine.lake_files``) and adds hashes of their ids and handles to a suppression list that later
ingests honour. The audit log records only those hashes.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import duckdb
import orjson
import yaml

from confiance import store
from confiance.errors import ConfianceError
from confiance.ingest._engine import write_archive
from confiance.ingest._readers import decompress
from confiance.workspace import DB_NAME, Workspace

FORGOTTEN = "[forgotten]"
#: JSON keys whose value identifies the owner of the object that holds them.
_IDENTITY_KEYS = {"id", "id_str", "author_id", "user_id", "account_id", "did", "username", "screen_name",
                  "handle", "acct", "uniqueId", "author", "authorChannelId", "external_author_id", "value"}


@dataclass
class Person:
    """Everything that names one person in the store."""

    keys: list[tuple[str, str]] = field(default_factory=list)  # (platform, account_id)
    handles: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # display names
    post_ids: set[str] = field(default_factory=set)
    post_texts: set[str] = field(default_factory=set)

    @property
    def ids(self) -> set[str]:
        return {account_id for _, account_id in self.keys}

    def hashes(self) -> set[str]:
        out = {_hash(f"{platform}:{account_id}") for platform, account_id in self.keys}
        out |= {_hash(h) for h in self.handles}
        return out


def _hash(value: str) -> str:
    return hashlib.sha256(value.lower().encode()).hexdigest()


@dataclass
class ForgetResult:
    key_hashes: list[str]
    rows_deleted: dict[str, int]
    archives_redacted: int
    files_deleted: int


def find_person(con: duckdb.DuckDBPyConnection, who: str) -> Person:
    """ACCOUNT_OR_HANDLE: an account id, a handle (with or without '@'), or 'platform:account_id'."""
    needle = who.strip().lstrip("@").lower()
    platform = None
    if ":" in needle and not needle.startswith(("did:", "at:")):
        platform, needle = needle.split(":", 1)
    where = "(lower(account_id) = ? OR lower(handle) = ?)" + (" AND platform = ?" if platform else "")
    params = [needle, needle] + ([platform] if platform else [])
    rows = con.execute(f"SELECT platform, account_id, handle, display_name FROM accounts WHERE {where}", params).fetchall()
    person = Person()
    for plat, account_id, handle, name in rows:
        person.keys.append((plat, account_id))
        if handle:
            person.handles.add(handle.lower())
        if name and len(name) >= 4:
            person.names.add(name)
    if not person.keys:
        extra = con.execute(
            "SELECT DISTINCT platform, account_id FROM posts WHERE lower(account_id) = ?"
            + (" AND platform = ?" if platform else ""), [needle] + ([platform] if platform else [])
        ).fetchall()
        person.keys.extend(extra)
    if not person.keys:
        raise ConfianceError(f"no account matches {who!r}")
    if not person.handles and not needle.isdigit():
        person.handles.add(needle)
    for plat, account_id in person.keys:
        for post_id, text in con.execute(
            "SELECT post_id, text FROM posts WHERE platform = ? AND account_id = ?", [plat, account_id]
        ).fetchall():
            person.post_ids.add(post_id)
            if text and len(text) >= 12:
                person.post_texts.add(text)
    return person


def _delete_from_store(con: duckdb.DuckDBPyConnection, person: Person) -> dict[str, int]:
    deleted: dict[str, int] = {}
    con.execute("CREATE TEMP TABLE forget_keys (platform VARCHAR, account_id VARCHAR)")
    con.executemany("INSERT INTO forget_keys VALUES (?, ?)", person.keys)
    con.execute("CREATE TEMP TABLE forget_handles (handle VARCHAR)")
    con.executemany("INSERT INTO forget_handles VALUES (?)", [[h] for h in person.handles])
    owned = "EXISTS (SELECT 1 FROM forget_keys k WHERE k.platform = t.platform AND k.account_id = t.{col})"

    def delete(table: str, condition: str) -> None:
        n = con.execute(f"DELETE FROM {table} t WHERE {condition}").fetchall()[0][0]
        deleted[table] = deleted.get(table, 0) + n

    # the person's posts, and other posts whose text is about to lose the person's words: analyses keyed by
    # post (language, embeddings, topics…) drop their rows and recompute them on the rewritten text
    con.execute("CREATE TEMP TABLE forget_posts AS SELECT platform, post_id FROM posts t WHERE "
                + owned.format(col="account_id"))
    words = sorted({*person.post_texts, *person.handles})
    con.execute("CREATE TEMP TABLE forget_touched AS SELECT platform, post_id FROM posts "
                "WHERE len(list_intersect(mentions, ?)) > 0 OR len(list_filter(?, lambda w: contains(lower(text), lower(w)))) > 0 "
                "UNION SELECT platform, post_id FROM forget_posts", [sorted(person.handles), words])
    delete("observations", "EXISTS (SELECT 1 FROM forget_posts f WHERE f.platform = t.platform AND f.post_id = t.post_id)")
    delete("posts", owned.format(col="account_id"))
    delete("interactions", f"{owned.format(col='src')} OR {owned.format(col='dst')}")
    delete("audience_reports", owned.format(col="account_id"))
    delete("accounts", f"{owned.format(col='account_id')} OR lower(handle) IN (SELECT handle FROM forget_handles)")
    # other people's posts: drop the handle from mentions and text, and the link to the person
    con.execute("UPDATE posts SET mentions = list_filter(mentions, lambda m: NOT list_contains(?, m)) "
                "WHERE len(list_intersect(mentions, ?)) > 0", [sorted(person.handles)] * 2)
    for text in person.post_texts:
        con.execute("UPDATE posts SET text = replace(text, ?, ?) WHERE contains(text, ?)", [text, FORGOTTEN, text])
    for handle in person.handles:
        con.execute("UPDATE posts SET text = regexp_replace(text, ?, ?, 'gi') WHERE contains(lower(text), ?)",
                    [re.escape(handle), FORGOTTEN, handle])
    con.execute("UPDATE posts t SET parent_account_id = NULL WHERE " + owned.format(col="parent_account_id"))
    needles = sorted(person.ids | person.handles | person.names)
    for needle in needles:
        con.execute("UPDATE rejects SET raw = NULL WHERE contains(lower(raw), lower(?))", [needle])
    # derived tables written by analyses: drop rows that name the person or hold their posts
    for table in store.derived_tables(con):
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        conditions = [f"CAST({c} AS VARCHAR) IN (SELECT account_id FROM forget_keys)"
                      for c in ("account_id", "src", "dst", "a", "b", "ref") if c in columns]
        if "handle" in columns:
            conditions.append("lower(handle) IN (SELECT handle FROM forget_handles)")
        if {"platform", "post_id"} <= columns:
            conditions.append("EXISTS (SELECT 1 FROM forget_touched f WHERE f.platform = t.platform AND f.post_id = t.post_id)")
        if conditions:
            delete(table, " OR ".join(conditions))
        _scrub_text_columns(con, table, person)
    if store.has_table(con, "text_embeddings") and store.has_table(con, "post_embeddings"):
        # a text's vector stays only while some remaining post still has that text
        delete("text_embeddings", "NOT EXISTS (SELECT 1 FROM post_embeddings e WHERE e.text_key = t.text_key)")
    now = datetime.now(timezone.utc)
    con.executemany("INSERT INTO suppressions SELECT ?, ? WHERE ? NOT IN (SELECT key_hash FROM suppressions)",
                    [[h, now, h] for h in sorted(person.hashes())])
    for temp in ("forget_keys", "forget_handles", "forget_posts", "forget_touched"):
        con.execute(f"DROP TABLE {temp}")
    return deleted


def _scrub_text_columns(con: duckdb.DuckDBPyConnection, table: str, person: Person) -> None:
    """Names inside other rows (a community's top accounts, an evidence label) become [forgotten]."""
    # handles and names, and ids long enough not to occur by chance inside other values
    needles = sorted({x for x in person.handles | person.names if len(x) >= 3} | {i for i in person.ids if len(i) >= 6},
                     key=len, reverse=True)
    if not needles:
        return
    pattern = "|".join(re.escape(n) for n in needles)
    for column, dtype in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall():
        if dtype in ("VARCHAR", "JSON"):
            con.execute(
                f'UPDATE "{table}" SET "{column}" = CAST(regexp_replace(CAST("{column}" AS VARCHAR), ?, ?, \'gi\') AS {dtype}) '
                f'WHERE regexp_matches(CAST("{column}" AS VARCHAR), ?, \'i\')',
                [pattern, FORGOTTEN, pattern],
            )
        elif dtype == "VARCHAR[]":
            con.execute(
                f'UPDATE "{table}" SET "{column}" = list_transform("{column}", lambda v: regexp_replace(v, ?, ?, \'gi\'))',
                [pattern, FORGOTTEN],
            )


# -- raw archive -------------------------------------------------------------------------------------
class _Redactor:
    def __init__(self, person: Person):
        self.ids = {i.lower() for i in person.ids | person.post_ids}
        self.handles = {h.lower() for h in person.handles}
        self.identity = self.ids | self.handles
        parts = sorted((re.escape(x) for x in person.handles | person.names | person.post_texts), key=len, reverse=True)
        self.substrings = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        word_ids = sorted((re.escape(i) for i in person.ids if len(i) >= 3), key=len, reverse=True)
        self.id_tokens = re.compile(r"(?<![\w:/.-])(?:" + "|".join(word_ids) + r")(?![\w])") if word_ids else None

    def text(self, value: str) -> str:
        if self.substrings is not None:
            value = self.substrings.sub(FORGOTTEN, value)
        return value

    def raw_text(self, value: str) -> str:
        value = self.text(value)
        if self.id_tokens is not None:
            value = self.id_tokens.sub(FORGOTTEN, value)
        return value

    def owns(self, obj: dict) -> bool:
        for key in _IDENTITY_KEYS:
            v = obj.get(key)
            if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).lower().lstrip("@") in self.identity:
                return True
        return False

    def walk(self, node: Any) -> Any:
        if isinstance(node, dict):
            if self.owns(node):
                return _wipe(node)
            return {k: self.walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v) for v in node]
        if isinstance(node, str):
            if node.lower() in self.identity:
                return FORGOTTEN
            stripped = node.strip()
            if stripped[:1] in "{[" and len(stripped) > 2:  # JSON inside a string (recorded HTTP bodies)
                try:
                    return orjson.dumps(self.walk(orjson.loads(stripped))).decode()
                except orjson.JSONDecodeError:
                    pass
            return self.text(node)
        return node


def _wipe(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _wipe(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_wipe(v) for v in node]
    if isinstance(node, str):
        return FORGOTTEN
    return node


def _redact_bytes(data: bytes, redactor: _Redactor) -> bytes:
    text = data.decode("utf-8", errors="replace")
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith(("{", "[")):
        try:
            return orjson.dumps(redactor.walk(orjson.loads(stripped)), option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONDecodeError:
            lines = []
            for line in text.splitlines():
                try:
                    lines.append(orjson.dumps(redactor.walk(orjson.loads(line))).decode())
                except orjson.JSONDecodeError:
                    lines.append(redactor.raw_text(line))
            return ("\n".join(lines) + "\n").encode()
    if stripped.startswith(("interactions:", "---", "version:")) or "\ninteractions:" in text[:2000]:
        try:
            docs = [redactor.walk(d) for d in yaml.safe_load_all(text)]
            return yaml.safe_dump_all(docs, allow_unicode=True).encode()
        except yaml.YAMLError:
            pass
    # CSV, XML, GML, edge lists: a row or element that names the person loses its text
    out = []
    for line in text.splitlines(keepends=True):
        lowered = line.lower()
        if any(re.search(r"(?<![\w.-])" + re.escape(x) + r"(?![\w])", lowered) for x in redactor.identity if len(x) >= 2):
            out.append(redactor.raw_text(line))
        else:
            out.append(redactor.text(line))
    return "".join(out).encode()


def _contains_any(data: bytes, needles: list[bytes]) -> bool:
    lowered = data.lower()
    return any(n in lowered for n in needles)


def _redact_archive(ws: Workspace, person: Person) -> list[str]:
    """Rewrite the archived raw files that name the person; returns their hashes."""
    redactor = _Redactor(person)
    needles = [x.lower().encode() for x in person.ids | person.handles | person.names | person.post_texts if x]
    rewritten = []
    for archive in sorted([*ws.raw_dir.glob("*/*.zst"), *ws.raw_dir.glob("*/*.gz")]):  # .gz: older archives
        data = decompress(decompress(archive.read_bytes()))
        if not _contains_any(data, needles):
            continue
        redacted = _redact_bytes(data, redactor)
        partial = archive.with_suffix(".partial")
        with (gzip.open(partial, "wb") if archive.suffix == ".gz" else write_archive(partial)) as fh:
            fh.write(redacted)
        os.replace(partial, archive)
        rewritten.append(archive.name.removesuffix(archive.suffix))
    return rewritten


def _rewrite_database(ws: Workspace) -> None:
    """Copy every live row into a fresh file and swap it in, so deleted bytes are gone from disk."""
    fresh = ws.root / f".{DB_NAME}.rewrite"
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = store.connect(ws.db_path)
    try:
        con.execute("CHECKPOINT")
        con.execute(f"ATTACH '{fresh}' AS fresh")
        current = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f'COPY FROM DATABASE "{current}" TO fresh')
        con.execute("DETACH fresh")
    finally:
        con.close()
    os.replace(fresh, ws.db_path)
    ws.db_path.with_name(DB_NAME + ".wal").unlink(missing_ok=True)


def _delete_outputs(ws: Workspace, person: Person) -> int:
    """Snapshots go entirely (they are re-published); reports, exports and collected pages waiting for ingest
    only when they name the person."""
    needles = [x.lower().encode() for x in person.ids | person.handles | person.names if x]
    deleted = 0
    for snapshot in ws.snapshots_dir.glob("*"):
        if snapshot.is_file():
            snapshot.unlink()
            deleted += 1
    # reports, exports, and collected pages not yet ingested (`collect --no-ingest`)
    for folder in (ws.reports_dir, ws.exports_dir, ws.root / "collect"):
        for f in folder.rglob("*"):
            if f.is_file() and _contains_any(f.read_bytes(), needles):
                f.unlink()
                deleted += 1
    shutil.rmtree(ws.root / "tmp", ignore_errors=True)
    return deleted


def forget(ws: Workspace, who: str) -> ForgetResult:
    """Remove one person from the whole workspace (see the module docstring)."""
    from confiance.engine import lake_files

    with ws.lock():
        lake = lake_files.local_lake(ws.root)
        lake_con, lake_tables = lake_files.load(lake) if lake else (None, [])
        con = store.connect(ws.db_path)
        try:
            store.require_current(con)
            person = _find_anywhere(who, [c for c in (con, lake_con) if c is not None])
            with store.transaction(con):
                deleted = _delete_from_store(con, person)
                redacted = _redact_archive(ws, person)
                _mark_redacted(con, redacted)
            con.execute("CHECKPOINT")
            if lake_con is not None:
                # the lake has no transaction: each table is swapped in whole, after the store committed
                in_lake = _delete_from_store(lake_con, person)
                _mark_redacted(lake_con, redacted)
                lake_files.write_back(lake_con, lake, lake_tables)
                lake_files.remove_scratch(lake)
                deleted.update({f"lake/{table}": n for table, n in in_lake.items() if table in lake_tables})
        finally:
            con.close()
            if lake_con is not None:
                lake_con.close()
        _rewrite_database(ws)
        files = _delete_outputs(ws, person)
    hashes = sorted(person.hashes())
    ws.audit("forget", key_hashes=hashes, rows_deleted=deleted, archives_redacted=len(redacted), files_deleted=files)
    return ForgetResult(hashes, deleted, len(redacted), files)


def _find_anywhere(who: str, cons: list[duckdb.DuckDBPyConnection]) -> Person:
    """The person as the store and the lake know them (a workspace ingested on Spark keeps its rows in the lake)."""
    found = []
    for con in cons:
        try:
            found.append(find_person(con, who))
        except ConfianceError:
            continue
    if not found:
        raise ConfianceError(f"no account matches {who!r}")
    person = Person()
    for part in found:
        person.keys.extend(k for k in part.keys if k not in person.keys)
        person.handles |= part.handles
        person.names |= part.names
        person.post_ids |= part.post_ids
        person.post_texts |= part.post_texts
    return person


def _mark_redacted(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> None:
    con.executemany("UPDATE sources SET redacted = true WHERE sha256 = ?", [[h] for h in hashes])
