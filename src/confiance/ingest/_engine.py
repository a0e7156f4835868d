"""Ingest one file: read → map → stage → merge, in one transaction with its ``sources`` row.

Accounting: each record has one primary row (see ``_sink``). A record is *stored* when its primary
key was new to the store and first in the file, a *duplicate* otherwise, and *rejected* when it could
not be read or mapped. ``records_read = stored + duplicates + rejected`` is checked before commit.

Reading and mapping fill staging tables: through the format's Python mapper (in worker processes for
large JSON-lines files), or, for formats with a ``native`` path (X v2 pages), with SQL that stages
the same rows and hands the lines it cannot map exactly to the Python mapper. Everything after
staging (suppressions, accounting, merge, archive) is one code path.

Staging runs outside the file's transaction, on a cursor of its own (:class:`Staged`), so that
``ingest_paths`` stages the next files while this one merges: both cores stay busy.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import duckdb
import pyarrow as pa

from confiance import store
from confiance.errors import ConfianceError, IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest._format import Context, Format
from confiance.ingest._readers import (READERS, BadItem, Item, Limits, Opened, bounded_lines,
                                       parse_json_line)
from confiance.ingest._sink import ENGINE_COLUMNS, Sink, kind_of
from confiance.person import Person
from confiance.workspace import Workspace

#: How an account is named in the suppression list: sha256(lower(platform:account_id)); its handles and aliases
#: are scoped by platform (``confiance.person``), an unscoped handle hash is a list written before that.
_ACCOUNT_KEY = "platform || ':' || {}"
_HANDLE_KEY = "platform || ':handle:' || {}"
_ALIAS_KEY = "platform || ':alias:' || {}"
#: The instance id in an account a Mastodon mapper could not resolve, ``<numeric id>@<serving host>``.
_PLACEHOLDER_ID = r"regexp_extract({}, '^(\d+)@', 1)"
#: A post the suppression list names (the forgotten person's posts that others answer or share).
_POST_KEY = "platform || ':post:' || {}"
#: Others' posts after a forget, rewritten by DuckDB functions (the Spark engine runs these on its executors,
#: so that both engines keep the same bytes): a reply id that points at a forgotten post goes from the
#: attributes; texts lose what :class:`TextScrub` names (:func:`scrub_texts`).
DROP_REPLY_ID = "json_remove(attributes, '$.in_reply_to_id')"
#: The words of a text that may be a handle written without '@' (RE2 and Java read these alike): runs of
#: word characters, and runs that also hold the '.', '@' and '-' inside Bluesky, Mastodon and Reddit handles.
WORD_PATTERNS = (r"\w+", r"\w(?:[\w.@-]*\w)?")
#: Shortest forgotten post text replaced in others' texts (as ``forget`` does in the store).
MIN_POST_TEXT = 12
#: X's classic retweet text, "RT @handle: their words", as any platform may write it; group 1 is the handle
#: (RE2 and Java read it alike).
RT_PREFIX = r"^\s*RT\s*@(\w(?:[\w.@-]*\w)?):?\s*"
#: The handle an "RT @handle:" text names, lower-case ('' when the text has no such prefix).
RT_HANDLE = f"lower(regexp_extract(coalesce(text, ''), '{RT_PREFIX}', 1))"
#: The words a repost copied: its text without the RT prefix.
COPIED_WORDS = f"regexp_replace(text, '{RT_PREFIX}', '')"
#: The text a repost of a forgotten person keeps: none of the words it copied (``forget`` writes the same).
FORGOTTEN_COPY = f"CASE WHEN regexp_matches(text, '{RT_PREFIX}') THEN 'RT @[forgotten]: [forgotten]' ELSE '[forgotten]' END"


def rt_names_forgotten(handle_gone: Callable[[str], str]) -> str:
    """SQL: the row names no parent author and its text opens with "RT @handle" naming a forgotten handle
    (``handle_gone(expr)``, scoped as the caller's other handle checks). A parent author the row names is
    judged by its id instead: a handle can be taken by someone else later."""
    return f"(parent_account_id IS NULL AND {RT_HANDLE} <> '' AND {handle_gone(RT_HANDLE)})"


def copies_forgotten(parent_gone: str, handle_gone: Callable[[str], str]) -> str:
    """SQL: the post copies a forgotten person's words, whether or not their post is at hand: a repost whose
    parent author is forgotten (``parent_gone``), or an "RT @handle:" text of theirs (:func:`rt_names_forgotten`).
    A quote or a reply is the author's own words: only a copy of the forgotten text in it goes (``TextScrub``).
    Shared by ``forget``'s rewrite of the store and both engines' ingest."""
    return (f"(coalesce(text, '') <> '' AND ((kind = 'repost' AND {parent_gone}) "
            f"OR {rt_names_forgotten(handle_gone)}))")


@dataclass(frozen=True)
class TextScrub:
    """What others' texts in one file lose after a forget, in the order ``forget`` rewrites the store: the
    forgotten people's post texts (a repost or quote carries the original's), longest first; their handles
    mentioned (``@handle``, and Mastodon's short ``@user`` for ``user@host``); their handles written as bare
    words. Handles are (platform, handle): a platform of None matches every platform (an unscoped hash)."""

    texts: tuple[str, ...] = ()
    mentions: tuple[tuple[str | None, str], ...] = ()
    words: tuple[tuple[str | None, str], ...] = ()

    @classmethod
    def of(cls, texts: Iterable[str], mentions: Iterable[tuple[str | None, str]],
           words: Iterable[tuple[str | None, str]]) -> "TextScrub":
        def handles(pairs: Iterable[tuple[str | None, str]]) -> tuple[tuple[str | None, str], ...]:
            return tuple(sorted(set(pairs), key=lambda p: (p[0] or "", p[1])))

        return cls(tuple(sorted({t for t in texts if len(t) >= MIN_POST_TEXT}, key=lambda t: (-len(t), t))),
                   handles(mentions), handles(words))

    def __bool__(self) -> bool:
        return bool(self.texts or self.mentions or self.words)

    def needles(self) -> list[tuple[str | None, str, bool]]:
        """(platform, needle, case-sensitive): a text that :func:`scrub_texts` rewrites holds one of them."""
        out: list[tuple[str | None, str, bool]] = [(None, t, True) for t in self.texts]
        for platform, handle in self.mentions:
            out.append((platform, "@" + handle.partition("@")[0] if "@" in handle else "@" + handle, False))
        out += [(platform, word, False) for platform, word in self.words]
        return out


def short_mention(handle: str) -> str | None:
    """RE2 pattern of the way Mastodon shows a ``user@host`` handle in text: ``@user``, not ``@user@other.host``.

    The character after the mention is kept in group 1.
    """
    local, at, host = handle.partition("@")
    if not at or not local or not host:
        return None
    return rf"(?i)@{re.escape(local)}(?:@{re.escape(host)}\b|([^\w@])|$)"


def scrub_texts(con: duckdb.DuckDBPyConnection, table: str, scrub: TextScrub, where: str = "true",
                params: Iterable[Any] = ()) -> None:
    """Rewrite the ``text`` of ``table``'s rows (those ``where`` holds) as :class:`TextScrub` says."""
    params = list(params)

    def update(value: str, value_params: list, platform: str | None, condition: str, condition_params: list) -> None:
        con.execute(f"UPDATE {table} SET text = {value} WHERE {where} AND platform = coalesce(?, platform) "
                    f"AND {condition}", [*value_params, *params, platform, *condition_params])

    for text in scrub.texts:
        update("replace(text, ?, '[forgotten]')", [text], None, "contains(text, ?)", [text])
    for platform, handle in scrub.mentions:
        update("regexp_replace(text, ?, '@[forgotten]', 'gi')", ["@" + re.escape(handle) + r"\b"], platform,
               "contains(lower(text), ?)", ["@" + handle])
        short = short_mention(handle)
        if short is not None:
            update("regexp_replace(text, ?, '@[forgotten]\\1', 'g')", [short], platform, "regexp_matches(text, ?)",
                   [short])
    for platform, word in scrub.words:
        pattern = r"\b" + re.escape(word) + r"\b"
        update("regexp_replace(text, ?, '[forgotten]', 'gi')", [pattern], platform, "contains(lower(text), ?)", [word])


STAGED_TABLES = ("accounts", "posts", "interactions", "observations", "kpis", "surveys", "audience_reports")
BATCH_ROWS = 250_000
#: numbers the temporary archives of the files being staged and merged at the same time
_INCOMING = itertools.count()
#: JSON-lines files at least this large are mapped by worker processes (below it, start-up costs more).
PARALLEL_MIN_BYTES = 32 << 20


def accounting_error(stored: int, readable: int) -> Phrase:
    """A file that stored more records than it could read (a bug, not bad input): both engines' refusal."""
    return Phrase(N_("accounting error: %(stored)s stored of %(readable)s readable records"), stored=stored,
                  readable=readable)


def parallel_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class IngestResult:
    path: str
    format: str
    records_read: int
    stored: int
    duplicates: int
    rejected: int
    sha256: str
    encoding: str
    already_ingested: bool = False
    #: what the format says about the file as a whole (``Context.note``), for its summary line
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        keys = ("path", "format", "records_read", "stored", "duplicates", "rejected")
        return {**{k: asdict(self)[k] for k in keys}, "notes": list(self.notes)}


def _column_specs(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name IN (SELECT unnest(?)) ORDER BY table_name, ordinal_position",
        [list(STAGED_TABLES) + ["rejects"]],
    ).fetchall()
    specs: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        if column in ENGINE_COLUMNS:
            continue
        specs.setdefault(table, []).append((column, kind_of(dtype)))
    # staging-only: when an account snapshot, or a post's metrics, were observed
    specs["accounts"].append(("observed_at", "ts"))
    specs["posts"].append(("observed_at", "ts"))
    return specs


def _required(table: str) -> tuple[str, ...]:
    keys = store.TABLE_KEYS[table]
    return tuple(k for k in keys if not (table == "interactions" and k == "post_id") and k not in ENGINE_COLUMNS)


class _Archiver(threading.Thread):
    """Hashes and compresses the input in the background while the main thread maps it.

    zstd (level 1, pyarrow's codec) costs a quarter of the CPU of gzip level 1 for a smaller file
    (35 MB of X v2 pages: 0.07 s and 4.3 MB against 0.25 s and 6.8 MB), and on two cores that CPU
    is taken from the parse. Archives written before are gzip; readers tell them by magic number."""

    def __init__(self, path: Path, tmp_target: Path):
        super().__init__(daemon=True)
        self.path = path
        self.tmp_target = tmp_target
        self.sha256 = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            digest = hashlib.sha256()
            with write_archive(self.tmp_target) as dst:
                for chunk in _chunks_of(self.path):
                    digest.update(chunk)
                    dst.write(chunk)
            self.sha256 = digest.hexdigest()
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def write_archive(path: Path) -> Any:
    """A zstd-compressed file open for writing (a context manager with ``write``)."""
    return pa.CompressedOutputStream(pa.OSFile(str(path), "wb"), "zstd")


def _chunks_of(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(4 << 20):
            yield chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks_of(path):
        digest.update(chunk)
    return digest.hexdigest()


def _stage_name(table: str) -> str:
    return f"stage_{table}"


class _Run:
    def __init__(self, ws: Workspace, con: duckdb.DuckDBPyConnection, path: Path, fmt: Format, opened: Opened,
                 container: str, options: dict[str, Any], limits: Limits, progress: Callable[[int], None]):
        self.ws, self.con, self.path, self.fmt, self.opened, self.container = ws, con, path, fmt, opened, container
        self.limits, self.progress = limits, progress
        self.specs = _column_specs(con)
        collected = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat()
        self.ctx = Context(path=path, collected_at=collected, options=options)
        self.sink = Sink(self.specs, {t: _required(t) for t in STAGED_TABLES}, collected)
        self.records = 0
        self.rejected = 0
        #: what names the forgotten people whose rows this file brought: its archive is redacted of them
        self.suppressed = Person()
        #: the suppression list, read when it is not empty
        self.hashes: frozenset[str] = frozenset()
        self.staged: set[str] = set()

    def reject(self, line_no: int, item: int, reason: str, raw: str | None = None) -> None:
        self.rejected += 1
        _emit_reject(self.sink, line_no, item, reason, raw)

    def read_and_stage(self) -> None:
        container = self.container
        if self.fmt.native is not None and container == "jsonl" and self.ctx.options.get("native", True):
            self.fmt.native(self)
        elif (self.fmt.read is None and container == "jsonl" and parallel_workers() > 1
                and self.path.stat().st_size >= PARALLEL_MIN_BYTES):
            self._read_and_stage_parallel()
        else:
            self._read_and_stage_serial()
        # the file's notes, whatever path read it
        if self.fmt.finish is not None:
            self.fmt.finish(self.ctx)
        self.flush()

    def _read_and_stage_serial(self) -> None:
        reader = self.fmt.read or READERS[self.container]
        group: list[Item | BadItem] = []
        for unit in reader(self.opened, self.limits, self.progress):
            group.append(unit)
            if len(group) >= 256:
                self._map_group(group)
                group = []
        self._map_group(group)

    def _map_group(self, group: list[Item | BadItem]) -> None:
        records, rejected = map_units(group, self.fmt, self.sink, self.ctx, self.limits, self.records)
        self.records += records
        self.rejected += rejected
        if self.sink.rows() >= BATCH_ROWS:
            self.flush()

    def map_line(self, entry: tuple[int, bytes] | BadItem) -> None:
        """Map one JSON line with the format's Python mapper (for native paths' fallback lines);
        its records take the next sequence numbers, as in a serial read."""
        unit = entry if isinstance(entry, BadItem) else parse_json_line(entry[0], entry[1], self.limits)
        self._map_group([unit])

    def ensure_stage(self, table: str) -> str:
        """The staging table of ``table``, created empty (same columns as a sink batch) if needed."""
        if table not in self.staged:
            self._stage(table, self.sink.buffers[table].to_arrow())
        return _stage_name(table)

    def _read_and_stage_parallel(self) -> None:
        """Workers parse and map chunks of lines; this process reads lines and stages the batches.
        Sequence numbers are (chunk << 32 | record), so 'first in the file wins' still holds."""
        from confiance.ingest import _parallel

        lines = bounded_lines(self.opened, self.limits, self.progress)
        for records, rejected, tables, findings in _parallel.map_file(self.fmt.name, self.specs, self.ctx,
                                                                      self.limits, lines, parallel_workers()):
            self.records += records
            self.rejected += rejected
            for table, arrow in tables:
                self._stage(table, arrow)
            if findings:
                self.ctx.absorb(findings)

    def flush(self) -> None:
        for table, arrow in self.sink.drain():
            self._stage(table, arrow)

    def _stage(self, table: str, arrow: Any) -> None:
        stage = _stage_name(table)
        self.con.register("_batch", arrow)
        try:
            if table not in self.staged:
                self.con.execute(f"CREATE TEMP TABLE {stage} AS SELECT * FROM _batch")
                self.staged.add(table)
            else:
                self.con.execute(f"INSERT INTO {stage} SELECT * FROM _batch")
        finally:
            self.con.unregister("_batch")

    # -- merge ------------------------------------------------------------------------------------
    def apply_suppressions(self) -> None:
        """Drop rows of forgotten people before they land; their records count as rejected. Others' posts lose
        what points at them: parent and root post, parent author, ``in_reply_to_id``, mentions, and in the text
        their posts' texts and their handles (:class:`TextScrub`), as ``forget`` does in the store."""
        self.hashes = frozenset(h for (h,) in self.con.execute("SELECT key_hash FROM suppressions").fetchall())
        if not self.hashes:
            return
        supp = "(SELECT key_hash FROM suppressions)"

        def hidden(expr: str) -> str:
            return f"sha256(lower({expr})) IN {supp}"

        def handle(expr: str) -> str:  # scoped, or unscoped from a list written before handles were scoped
            return f"({hidden(_HANDLE_KEY.format(expr))} OR {hidden(expr)})"

        def account(column: str) -> str:  # its key, a Mastodon placeholder's instance id, or a handle used as id
            return (f"({hidden(_ACCOUNT_KEY.format(column))} "
                    f"OR {hidden(_ALIAS_KEY.format(_PLACEHOLDER_ID.format(column)))} OR {handle(column)})")

        aliases = " OR ".join(hidden(_ALIAS_KEY.format(f"json_extract_string(attributes, '$.{key}')"))
                              for key in ("instance_account_id", "uri"))
        conditions = {
            "accounts": f"{account('account_id')} OR {handle('handle')} OR {aliases}",
            "posts": account("account_id"),
            "interactions": f"{account('src')} OR {account('dst')}",
            "audience_reports": account("account_id"),
        }
        parent_gone = account("parent_account_id")
        # a post that points at a post of theirs: its parent author is forgotten, or its "RT @handle:" names them
        points_at = f"({parent_gone} OR {rt_names_forgotten(handle)})"
        self._collect_suppressed(conditions, points_at)
        for table, condition in conditions.items():
            if table not in self.staged:
                continue
            stage = _stage_name(table)
            dropped = self.con.execute(
                f"SELECT _line, _item FROM {stage} WHERE _primary AND ({condition})"
            ).fetchall()
            for line_no, item in dropped:
                self.reject(line_no, item, "suppressed: a forgotten person", None)
            self.con.execute(f"DELETE FROM {stage} WHERE {condition}")
        if "posts" in self.staged:
            posts = _stage_name("posts")
            copied = self._copied_words(posts, copies_forgotten(parent_gone, handle))
            # a reply, quote or repost keeps its kind, not the forgotten person's post it points at
            for column in ("parent_post_id", "root_post_id"):
                self.con.execute(
                    f"UPDATE {posts} SET {column} = NULL, attributes = {DROP_REPLY_ID} "
                    f"WHERE {hidden(_POST_KEY.format(column))} OR {points_at}"
                )
            self.con.execute(f"UPDATE {posts} SET text = {FORGOTTEN_COPY} WHERE {copies_forgotten(parent_gone, handle)}")
            self.con.execute(f"UPDATE {posts} SET parent_account_id = NULL WHERE {parent_gone}")

            def handles(sql: str) -> list[tuple[str | None, str]]:
                """(platform, handle) pairs of a value ``v`` hashed with the row's platform, or alone: platform
                None (a list written before handles were scoped names the handle on every platform)."""
                return [(None if legacy else platform, value) for platform, value, legacy in self.con.execute(
                    sql.format(scoped=hidden(_HANDLE_KEY.format("v")), legacy=hidden("v"))).fetchall()]

            mentions = handles(f"SELECT DISTINCT platform, v, {{legacy}} FROM {posts}, unnest(mentions) AS u(v) "
                               "WHERE {scoped} OR {legacy}")
            extract = ", ".join(f"regexp_extract_all(text, '{pattern}')" for pattern in WORD_PATTERNS)
            words = handles(f"SELECT platform, v, {{legacy}} FROM (SELECT DISTINCT platform, lower(unnest("
                            f"list_concat({extract}))) AS v FROM {posts} WHERE text IS NOT NULL) "
                            "WHERE {scoped} OR {legacy}")
            # their texts that others' posts copy (a repost, a quote): only those are scrubbed, here and in the
            # archive, whose redactor would otherwise look for every text of theirs in every string of the file
            if self.suppressed.post_texts:
                self.suppressed.post_texts = {t for (t,) in self.con.execute(
                    f"SELECT t FROM (SELECT unnest(?::VARCHAR[]) AS t) q SEMI JOIN {posts} p ON contains(p.text, q.t)",
                    [sorted(self.suppressed.post_texts)]).fetchall()}
            self.suppressed.post_texts |= copied
            scrub = TextScrub.of(self.suppressed.post_texts, mentions, words)
            scrub_texts(self.con, posts, scrub)
            self.suppressed.handles |= {value for _, value in (*scrub.mentions, *scrub.words)}
            self.con.execute(
                f"UPDATE {posts} SET mentions = list_filter(mentions, lambda v: NOT (list_contains(?, sha256(lower("
                f"{_HANDLE_KEY.format('v')}))) OR list_contains(?, sha256(lower(v)))))", [sorted(self.hashes)] * 2,
            )
            if "observations" in self.staged:
                self.con.execute(
                    f"DELETE FROM {_stage_name('observations')} o WHERE NOT EXISTS "
                    f"(SELECT 1 FROM {posts} p WHERE p.platform = o.platform AND p.post_id = o.post_id) "
                    f"AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.platform = o.platform AND p.post_id = o.post_id)"
                )
        self.flush()  # the reject rows just added

    def _copied_words(self, posts: str, copies: str) -> set[str]:
        """The forgotten people's words that others' reposts copy (``copies``: :func:`copies_forgotten`), whether
        or not their posts are in the file: others' texts and the archive lose them. The handles those reposts
        name ("RT @handle:") go to ``suppressed``, as their texts are about to lose them."""
        copied = set()
        for words, named in self.con.execute(f"SELECT DISTINCT {COPIED_WORDS}, {RT_HANDLE} FROM {posts} "
                                             f"WHERE {copies}").fetchall():
            if len(words) >= MIN_POST_TEXT:
                copied.add(words)
            if named:
                self.suppressed.handles.add(named)
        return copied

    def _collect_suppressed(self, conditions: dict[str, str], points_at: str) -> None:
        """The ids, handles, aliases, names, post ids and post texts of forgotten people in the staged rows,
        before they go (``points_at``: a post whose parent is theirs)."""
        if "accounts" in self.staged:
            for platform, account_id, handle, name, *aliases in self.con.execute(
                    "SELECT platform, account_id, handle, display_name, json_extract_string(attributes, "
                    "'$.instance_account_id'), json_extract_string(attributes, '$.uri') "
                    f"FROM {_stage_name('accounts')} WHERE {conditions['accounts']}").fetchall():
                self.suppressed.add(platform, account_id, handle, name)
                self.suppressed.aliases |= {a for a in aliases if a}
        if "posts" in self.staged:
            posts = _stage_name("posts")
            for platform, account_id, post_id, text in self.con.execute(
                    f"SELECT platform, account_id, post_id, text FROM {posts} WHERE {conditions['posts']}").fetchall():
                self.suppressed.add(platform, account_id, post_id=post_id)
                if text and len(text) >= MIN_POST_TEXT:
                    self.suppressed.post_texts.add(text)
            for column in ("parent_post_id", "root_post_id"):  # their posts that others answer or share
                for platform, account_id, post_id in self.con.execute(
                        f"SELECT platform, parent_account_id, {column} FROM {posts} WHERE {column} IS NOT NULL AND "
                        f"({points_at} OR sha256(lower({_POST_KEY.format(column)})) IN "
                        "(SELECT key_hash FROM suppressions))").fetchall():
                    self.suppressed.add(platform, account_id, post_id=post_id)

    def derive_observations(self) -> None:
        """Posts emitted with ``observed_at`` carry their metrics as seen then: one observation each."""
        if "posts" not in self.staged:
            return
        metrics = "likes, reposts, replies, quotes, views"
        rows = (f"SELECT platform, post_id, observed_at AS collected_at, {metrics}, _seq, _line, _item, false AS _primary "
                f"FROM {_stage_name('posts')} WHERE observed_at IS NOT NULL "
                "AND coalesce(likes, reposts, replies, quotes, views) IS NOT NULL")
        if "observations" in self.staged:
            columns = f"platform, post_id, collected_at, {metrics}, _seq, _line, _item, _primary"
            self.con.execute(f"INSERT INTO {_stage_name('observations')} ({columns}) {rows}")
        else:
            self.con.execute(f"CREATE TEMP TABLE {_stage_name('observations')} AS {rows}")
            self.staged.add("observations")

    def count_stored(self) -> int:
        stored = 0
        for table in STAGED_TABLES:
            if table not in self.staged:
                continue
            keys = store.TABLE_KEYS[table]
            stage = _stage_name(table)
            join = " AND ".join(f"t.{k} IS NOT DISTINCT FROM k.{k}" for k in keys)
            select = ", ".join(_cast(table, k, self.specs) + f" AS {k}" for k in keys)
            stored_rows, bounds = self._stored_rows(table, stage)
            stored += self.con.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT {select} FROM {stage} WHERE _primary) k "
                f"WHERE NOT EXISTS (SELECT 1 FROM {stored_rows} t WHERE {join})", bounds
            ).fetchall()[0][0]
        return stored

    def _stored_rows(self, table: str, stage: str) -> tuple[str, list[str]]:
        """(SQL, parameters) of the store's rows that can share a key with the rows of ``stage``:
        for tables keyed by post, those whose post id lies within the staged range. Post ids
        (snowflakes) grow with time and collections mostly run in time order, so the scan skips
        other periods' row groups (zone maps) instead of reading the whole table for each file."""
        if "post_id" not in store.TABLE_KEYS[table]:
            return table, []
        low, high = self.con.execute(f"SELECT min(post_id), max(post_id) FROM {stage}").fetchall()[0]
        if low is None:
            return table, []
        return f"(SELECT * FROM {table} WHERE post_id BETWEEN ? AND ?)", [low, high]

    def merge(self, sha256: str) -> None:
        for table in STAGED_TABLES:
            if table not in self.staged:
                continue
            if table == "accounts":
                self._merge_accounts()
                continue
            keys = store.TABLE_KEYS[table]
            stage = _stage_name(table)
            target_cols = [c for c, _ in self.specs[table] if c != "observed_at"]
            has_sha = table != "interactions"
            cols = target_cols + (["source_sha256"] if has_sha else [])
            values = [_cast(table, c, self.specs) + f" AS {c}" for c in target_cols]
            if has_sha:
                values.append("? AS source_sha256")
            keys_of = ", ".join(_cast(table, k, self.specs) + f" AS {k}" for k in keys)
            join = " AND ".join(f"t.{k} = s.{k}" for k in keys)
            # the winning row of each key the store lacks (primary first, then first in the file),
            # picked on a narrow projection: ranking the full rows sorts their text along (most of
            # the merge's time); the anti-join builds its hash table on the file's keys, not the store's
            stored_rows, bounds = self._stored_rows(table, stage)
            winners = (
                f"SELECT min((NOT _primary, _seq, _row))[3] FROM (SELECT {keys_of}, _primary, _seq, rowid AS _row "
                f"FROM {stage}) s ANTI JOIN {stored_rows} t ON {join} "
                f"WHERE {' AND '.join(f's.{k} IS NOT NULL' for k in keys)} GROUP BY {', '.join(f's.{k}' for k in keys)}"
            )
            self.con.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(values)} FROM {stage} "
                f"WHERE rowid IN ({winners})",
                ([sha256] if has_sha else []) + bounds,
            )
            if table == "interactions":
                self._fill_interaction_times()
        if "rejects" in self.staged:
            self.con.execute(
                "INSERT INTO rejects SELECT ? AS source_sha256, line_no, item, reason, raw FROM stage_rejects",
                [sha256],
            )
        if "posts" in self.staged:
            self._link_parents(sha256)

    def _fill_interaction_times(self) -> None:
        """An interaction stored without a time takes the first time another reading of it gives, in this file
        or a later one: a Mastodon boost read from the boosted status's ``reblogged_by`` list (the API does not
        say when) gets the boost's time from the booster's timeline. A stored time never changes, so the order
        of the files does not matter and ingesting again changes nothing. Only those platforms' readings
        leave times out (edge lists have none to give), so other files skip the scan of the stored rows."""
        stage = _stage_name("interactions")
        platform = _cast("interactions", "platform", self.specs)
        if not self.con.execute(f"SELECT 1 FROM {stage} WHERE list_contains(?, {platform}) LIMIT 1",
                                [list(store.REPOST_KEYED_BY_REPOSTED)]).fetchall():
            return
        keys = store.TABLE_KEYS["interactions"]
        keys_of = ", ".join(_cast("interactions", k, self.specs) + f" AS {k}" for k in keys)
        times = (f"SELECT {', '.join(keys)}, arg_min(created_at, (NOT _primary, _seq)) AS created_at FROM "
                 f"(SELECT {keys_of}, {_cast('interactions', 'created_at', self.specs)} AS created_at, _primary, _seq "
                 f"FROM {stage}) WHERE created_at IS NOT NULL GROUP BY ALL")
        _, bounds = self._stored_rows("interactions", stage)
        self.con.execute(
            f"UPDATE interactions t SET created_at = s.created_at FROM ({times}) s WHERE t.created_at IS NULL AND "
            + " AND ".join(f"t.{k} = s.{k}" for k in keys) + (" AND t.post_id BETWEEN ? AND ?" if bounds else ""),
            bounds)

    def _link_parents(self, sha256: str) -> None:
        """Replies, quotes and reposts whose parent's author the record did not name get it from the
        parent post when the store has it, in this file or an earlier one (either order), with the
        matching interaction. So threads split across files or chunks still connect."""
        self.con.execute(
            "UPDATE posts p SET parent_account_id = q.account_id FROM posts q "
            "WHERE p.parent_account_id IS NULL AND p.parent_post_id IS NOT NULL AND p.kind IN ('reply', 'quote', 'repost') "
            "AND q.platform = p.platform AND q.post_id = p.parent_post_id AND q.account_id IS NOT NULL "
            "AND (p.source_sha256 = ? OR q.source_sha256 = ?)",
            [sha256, sha256],
        )
        # the posts of this file, and the posts whose parent is one of them (two selective scans
        # instead of one OR that reads the whole table twice)
        linkable = ("p.kind IN ('reply', 'quote', 'repost') AND p.account_id IS NOT NULL "
                    "AND p.parent_account_id IS NOT NULL")
        columns = ("p.platform, p.account_id AS src, p.parent_account_id AS dst, p.kind, "
                   f"{store.carried_interaction_post_id('p')} AS post_id, p.created_at")
        self.con.execute(
            f"CREATE TEMP TABLE _links AS SELECT {columns} FROM posts p WHERE p.source_sha256 = ? AND {linkable} "
            f"  UNION SELECT {columns} FROM posts p SEMI JOIN (SELECT post_id FROM posts WHERE source_sha256 = ?) q "
            f"  ON p.parent_post_id = q.post_id WHERE {linkable}",
            [sha256, sha256],
        )
        stored_rows, bounds = self._stored_rows("interactions", "_links")
        self.con.execute(
            "INSERT INTO interactions (platform, src, dst, kind, post_id, created_at) "
            f"SELECT * FROM _links l ANTI JOIN {stored_rows} i ON i.platform = l.platform AND i.src = l.src "
            "AND i.dst = l.dst AND i.kind = l.kind AND i.post_id = l.post_id", bounds
        )
        self.con.execute("DROP TABLE _links")

    def _merge_accounts(self) -> None:
        profile = [c for c, _ in self.specs["accounts"] if c not in ("platform", "account_id", "observed_at")]
        # per column, the value of the latest snapshot that has one (no time counts as earliest); among
        # equal times, the last in the file. The order is one number, (microseconds, _seq) packed in a
        # HUGEINT (0 <= _seq < 2^63): a window would sort whole rows, a struct key costs more per row.
        latest = ", ".join(f"arg_max({_cast('accounts', c, self.specs)}, _ord) AS {c}" for c in profile)
        self.con.execute(
            "CREATE TEMP TABLE acc_new AS "
            f"SELECT platform, account_id, {latest}, min(_obs) AS first_seen, max(_obs) AS last_seen FROM ("
            "  SELECT *, coalesce(epoch_us(_obs)::HUGEINT, -9223372036854775809) * 9223372036854775808 + _seq AS _ord FROM ("
            "    SELECT *, TRY_CAST(observed_at AS TIMESTAMPTZ) AS _obs FROM stage_accounts)"
            ") GROUP BY platform, account_id"
        )
        newer = "(o.account_id IS NULL OR n.last_seen IS NULL OR o.last_seen IS NULL OR n.last_seen >= o.last_seen)"
        merged = ", ".join(
            f"CASE WHEN {newer} THEN coalesce(n.{c}, o.{c}) ELSE coalesce(o.{c}, n.{c}) END AS {c}" for c in profile
        )
        self.con.execute(
            f"CREATE TEMP TABLE acc_merged AS SELECT n.platform, n.account_id, {merged}, "
            "least(n.first_seen, o.first_seen) AS first_seen, greatest(n.last_seen, o.last_seen) AS last_seen "
            "FROM acc_new n LEFT JOIN accounts o ON o.platform = n.platform AND o.account_id = n.account_id"
        )
        self.con.execute(
            "DELETE FROM accounts a WHERE EXISTS "
            "(SELECT 1 FROM acc_new n WHERE n.platform = a.platform AND n.account_id = a.account_id)"
        )
        cols = ["platform", "account_id", *profile, "first_seen", "last_seen"]
        self.con.execute(f"INSERT INTO accounts ({', '.join(cols)}) SELECT {', '.join(cols)} FROM acc_merged")
        self.con.execute("DROP TABLE acc_new")
        self.con.execute("DROP TABLE acc_merged")


def _emit_reject(sink: Sink, line_no: int, item: int, reason: str, raw: str | None) -> None:
    sink.emit("rejects", False, line_no=line_no, item=item, reason=reason[:500], raw=raw)


def map_units(units: Iterable[Item | BadItem], fmt: Format, sink: Sink, ctx: Context, limits: Limits,
              seq_base: int = 0) -> tuple[int, int]:
    """Map container units to rows through the sink. Returns (records read, records rejected).

    A unit that cannot be read or split, and a record whose mapping raises, become rejects; an
    ``IngestError`` (a file-level problem such as a bad mapping file) propagates.
    """
    records = rejected = 0
    for unit in units:
        if isinstance(unit, BadItem):
            records += 1
            rejected += 1
            _emit_reject(sink, unit.line_no, 0, unit.reason, unit.raw)
            continue
        try:
            split = list(fmt.records(unit.value, ctx))
        except IngestError:
            raise
        except Exception as exc:  # malformed container unit: one rejected record
            records += 1
            rejected += 1
            _emit_reject(sink, unit.line_no, 0, _reason(exc) + unit.note, _raw(unit.value, limits))
            continue
        for item_no, record in enumerate(split):
            records += 1
            sink.begin(seq_base + records, unit.line_no, item_no)
            try:
                fmt.map(record, sink, ctx)
                if sink.primaries_in_record() != 1:
                    raise RecordError(f"record yielded {sink.primaries_in_record()} primary rows, expected 1")
            except IngestError:
                raise
            except Exception as exc:  # one bad record never stops the file
                sink.rollback_record()
                rejected += 1
                _emit_reject(sink, unit.line_no, item_no, _reason(exc) + unit.note, _raw(record, limits))
    return records, rejected


def _cast(table: str, column: str, specs: dict[str, list[tuple[str, str]]]) -> str:
    kind = dict(specs[table]).get(column, "str")
    if kind == "ts":
        return f"TRY_CAST({column} AS TIMESTAMPTZ)"
    if kind == "json":
        return f"CAST({column} AS JSON)"
    return column


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConfianceError):
        return str(exc)
    return f"unexpected record structure ({type(exc).__name__}: {exc})"[:500]


def _raw(value: Any, limits: Limits) -> str | None:
    import orjson

    try:
        text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        text = repr(value)
    return text[: limits.max_raw_chars]


class Staged:
    """A file read, mapped and staged on a cursor of its own, outside any transaction.

    Staging touches only the cursor's temporary tables, so the next file can be staged while the
    previous one merges and commits: the store changes only in :meth:`commit`, one transaction
    with the file's ``sources`` row. A crash before then leaves nothing behind but a temporary
    archive file, which the next ingest removes."""

    def __init__(self, ws: Workspace, con: duckdb.DuckDBPyConnection, path: Path, fmt: Format, opened: Opened,
                 container: str, options: dict[str, Any] | None, limits: Limits, progress: Callable[[int], None]):
        self.display = str(path)
        self.fmt, self.opened, self.ws = fmt, opened, ws
        self.size = path.stat().st_size
        self.cursor = con.cursor()
        self.result: IngestResult | None = None
        self.run: _Run | None = None
        self.archiver: _Archiver | None = None
        try:
            if self.cursor.execute("SELECT count(*) FROM sources WHERE size_bytes = ?", [self.size]).fetchall()[0][0]:
                self.result = self._already_ingested(file_sha256(path))
                if self.result is not None:
                    progress(self.size)
                    self.cursor.close()
                    return
            self.run = _Run(ws, self.cursor, path, fmt, opened, container, dict(options or {}), limits, progress)
            ws.raw_dir.mkdir(exist_ok=True)
            self.tmp_archive = ws.raw_dir / f".incoming-{os.getpid()}-{next(_INCOMING)}.zst"
            self.archiver = _Archiver(path, self.tmp_archive)
            self.archiver.start()
            self.run.read_and_stage()
            self.archiver.join()
        except BaseException:
            self.abandon()
            raise

    def _already_ingested(self, sha: str) -> IngestResult | None:
        """The earlier result of the same bytes: nothing stored again, readable records are duplicates.

        None when the bytes are new, or when they were read as another format that rejected every
        record (a wrong ``--format``): that attempt brought nothing, so this format gets its turn."""
        known = self.cursor.execute("SELECT records_read, rejected, format FROM sources WHERE sha256 = ?", [sha]).fetchall()
        if not known or self._failed_as_other_format(sha):
            return None
        records_read, rejected, fmt = known[0]
        return IngestResult(self.display, fmt, records_read, 0, records_read - rejected, rejected, sha,
                            self.opened.encoding, already_ingested=True)

    def _failed_as_other_format(self, sha: str) -> bool:
        """The bytes were ingested as another format and nothing was stored (every record rejected)."""
        return bool(self.cursor.execute(
            "SELECT count(*) FROM sources WHERE sha256 = ? AND format <> ? AND stored = 0 AND duplicates = 0",
            [sha, self.fmt.name]).fetchall()[0][0])

    def abandon(self) -> None:
        """Drop what was staged (the store was never touched)."""
        if self.archiver is not None:
            self.archiver.join()
            self.tmp_archive.unlink(missing_ok=True)
        self.cursor.close()  # its temporary tables go with it

    def commit(self) -> IngestResult:
        """Merge the staged rows and the ``sources`` row in one transaction. See the module docstring."""
        if self.result is not None:
            return self.result
        run, archiver, con, display = self.run, self.archiver, self.cursor, self.display
        assert run is not None and archiver is not None
        try:
            if archiver.error:
                raise IngestError(display, None, Phrase(N_("cannot read file: %(error)s"), error=str(archiver.error)))
            sha = archiver.sha256
            con.execute("BEGIN TRANSACTION")
            try:
                if self._failed_as_other_format(sha):  # replaced: the earlier attempt left only its rejects
                    con.execute("DELETE FROM rejects WHERE source_sha256 = ?", [sha])
                    con.execute("DELETE FROM sources WHERE sha256 = ?", [sha])
                if con.execute("SELECT count(*) FROM sources WHERE sha256 = ?", [sha]).fetchall()[0][0]:
                    raise _AlreadyIngested(sha)
                run.derive_observations()
                run.apply_suppressions()
                stored = run.count_stored()
                ok = run.records - run.rejected
                duplicates = ok - stored
                if duplicates < 0:
                    raise IngestError(display, None, accounting_error(stored, ok))
                if run.suppressed.named():  # the raw bytes would keep what the store just dropped
                    from confiance.privacy import redact_incoming_archive

                    redact_incoming_archive(self.tmp_archive, run.suppressed, run.hashes)
                target = self.ws.archive_path(sha)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.tmp_archive, target)  # before commit: a committed source always has its archive
                run.merge(sha)
                con.execute(
                    "INSERT INTO sources (sha256, path, format, encoding, size_bytes, records_read, stored, duplicates, "
                    "rejected, ingested_at, archive_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [sha, display, self.fmt.name, self.opened.encoding, self.size, run.records, stored, duplicates,
                     run.rejected, datetime.now(timezone.utc), str(target.relative_to(self.ws.root))],
                )
                assert run.records == stored + duplicates + run.rejected
                con.execute("COMMIT")
            except _AlreadyIngested:
                con.execute("ROLLBACK")
                self.tmp_archive.unlink(missing_ok=True)
                result = self._already_ingested(sha)
                assert result is not None
                return result
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            self.abandon()
        return IngestResult(display, self.fmt.name, run.records, stored, duplicates, run.rejected, sha,
                            self.opened.encoding, notes=tuple(run.ctx.notes))


class _AlreadyIngested(Exception):
    def __init__(self, sha: str):
        self.sha = sha
