"""Exports of the store: CSV (spreadsheet-safe) and Parquet, optionally pseudonymised.

CSV cells that start with = + - @ tab or CR are prefixed with an apostrophe so that a spreadsheet
shows them as text instead of running them as formulas (OWASP "CSV injection").
Ids stay strings end to end.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import secrets
from pathlib import Path
from typing import Any, Iterable, Iterator

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from confiance.errors import ConfianceError
from confiance.store import TABLE_KEYS, derived_tables

_FORMULA_START = r"^[=+\-@\t\r]"
EXPORT_FORMATS = ("csv", "parquet", "gexf", "graphml")

#: Columns that name or describe a person; pseudonymised exports hash ids/handles and drop the rest.
#: The names also apply to the fields of nested values (structs, JSON evidence), where analyses list accounts.
#: Besides these names, any column named ``account_id`` or ``*_account_id`` is an account id, ``handle`` or
#: ``*_handle`` a handle, ``post_id``, ``share_id``, ``*_post_id`` or ``*_share_id`` a post id, ``*post_ids`` a list
#: of post ids: an analysis that names its columns so is covered without a change here.
_ID_COLUMNS = {"src", "dst", "respondent", "a", "b"}
_HANDLE_COLUMNS = {"reference_account"}
_ACCOUNT_LIST_COLUMNS = {"mentions", "top_accounts", "members", "references"}
#: Lists of post ids that analyses keep as evidence (coordination, cascades, topics' examples, account types…).
_POST_LIST_COLUMNS = {"evidence", "examples", "posts"}
_DROPPED_COLUMNS = {"display_name", "bio", "location", "url", "attributes", "raw", "path"}
#: ``influence_evidence`` rows whose ``ref`` is an account id and ``label`` its handle, or a post id and its text.
_ACCOUNT_EVIDENCE_KINDS = {"top_engager"}
_POST_EVIDENCE_KINDS = {"example_post"}

#: Strings that spell a person or a post wherever they occur: AT-URIs (Bluesky posts, reposts, profiles),
#: DIDs, and links to a profile or a post on X, Mastodon (``/@user``, ``/users/user``) and bsky.app (``/profile/``).
_PERSONAL_LINKS = re.compile(
    r"at://[^\s<>\"'()\[\]{},|]+"
    r"|https?://(?:[\w-]+\.)*(?:x|twitter)\.com/[^\s<>\"']*"
    r"|https?://[^\s/<>\"']+/(?:@|users/|profile/)[^\s<>\"']*"
    r"|did:plc:[a-z2-7]+|did:web:[\w.%-]+",
    re.IGNORECASE,
)
#: ``@handle`` and ``@user@instance`` mentions (an e-mail address or a link's ``/@user`` is not one).
_MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_][\w.-]*(?:@[\w-]+(?:\.[\w-]+)+)?)")
#: Characters that close a sentence rather than a link, an id or a handle.
_TRAILING = ".,;:!?)-'"
#: Cheap filter: only strings holding one of these can hold a mention, a link or a DID.
_PERSONAL_HINT = r"@|://|did:"


def safe_cell(value: Any) -> Any:
    """One value, made safe for a spreadsheet (used by the CLI's --csv listings)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Vectorised :func:`safe_cell` over every text column; lists and JSON become text first."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        nested = pa.types.is_list(field.type) or pa.types.is_large_list(field.type) or pa.types.is_fixed_size_list(field.type)
        if nested and (pa.types.is_string(field.type.value_type) or pa.types.is_large_string(field.type.value_type)):
            column = pc.binary_join_element_wise("[", pc.binary_join(column, "|"), "]", "")
        elif nested or pa.types.is_struct(field.type) or pa.types.is_map(field.type):
            # lists of numbers or records (community profiles' languages, activity…) become JSON text
            column = pa.array([None if v is None else orjson.dumps(v, default=str).decode() for v in column.to_pylist()],
                              pa.string())
        elif not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            columns.append(column)
            continue
        risky = pc.match_substring_regex(column, _FORMULA_START)
        column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class Pseudonymiser:
    """Stable keyed pseudonyms (HMAC-SHA256 with a per-workspace secret): the same person gets the
    same pseudonym in every export of one workspace, and nobody without the key can reverse it.

    In a pseudonymised export:

    - account ids and handles become ``p_…`` (:meth:`name`; a Mastodon account's id is its handle, so
      both give one pseudonym); display names, bios, locations, profile and post links (``url``),
      ``attributes`` and raw lines are dropped;
    - post ids become ``t_…`` (:meth:`post`) in every column and nested field that holds one or a list of
      them (``post_id``, ``parent_post_id``, ``root_post_id``, interactions' ``post_id``, ``share_id`` values,
      analyses' evidence lists): a Bluesky AT-URI or a Mastodon status URI names its author, and any post
      id can be looked up on its platform. The same id gives the same pseudonym in every table, so joins
      (interactions to posts, a reply to its parent, evidence to posts) still match;
    - in every other text (post text, topic labels and terms, evidence snippets, linked URLs), an
      ``@handle`` or ``@user@instance`` mention of an account the store knows (a handle in ``accounts``
      or in posts' ``mentions``), matched whole and case-insensitively, becomes ``@p_…``, that account's
      pseudonym; a Mastodon ``@user`` without its instance does too when one account of the store has that
      name (else it becomes the pseudonym of the bare name). AT-URIs, DIDs and links to a profile or a
      post (X, Mastodon, bsky.app) become pseudonyms wherever they occur.

    What remains: free text can still name a person in words (a name, a handle written without ``@``,
    a description only one person fits), and a post's text can be searched on its platform to find it.
    Such an export is pseudonymised, not anonymised (GDPR recital 26): it stays personal data.
    """

    def __init__(self, key: bytes, handles: Iterable[str] = ()):
        self.key = key
        self.handles = {h.lower() for h in handles if h}
        # a Mastodon mention may leave out the instance: ``@user`` for ``user@instance``
        self._local: dict[str, str | None] = {}
        for handle in self.handles:
            if "@" in handle:
                local = handle.split("@", 1)[0]
                self._local[local] = None if local in self._local else handle
        self._sorted = sorted(self.handles | self._local.keys())

    @classmethod
    def for_workspace(cls, key_path: Path) -> "Pseudonymiser":
        if not key_path.exists():
            key_path.write_bytes(secrets.token_bytes(32))
            key_path.chmod(0o600)
        return cls(key_path.read_bytes())

    def knowing_handles(self, con: duckdb.DuckDBPyConnection) -> "Pseudonymiser":
        """The same key, and every handle of the store (accounts' and mentioned ones) to find in text."""
        rows = con.execute("SELECT handle FROM accounts WHERE handle IS NOT NULL "
                           "UNION SELECT DISTINCT unnest(mentions) FROM posts").fetchall()
        return Pseudonymiser(self.key, (h for (h,) in rows))

    def name(self, value: str) -> str:
        """A person's pseudonym, from an account id or a handle (case-insensitive)."""
        return "p_" + hmac.new(self.key, value.lower().encode(), hashlib.sha256).hexdigest()[:16]

    def post(self, value: str) -> str:
        """A post's pseudonym: case kept (YouTube ids differ by case alone), and never equal to a person's."""
        return "t_" + hmac.new(self.key, b"post\x00" + value.encode(), hashlib.sha256).hexdigest()[:16]

    def text(self, value: str) -> str:
        """Free text with its links, DIDs and ``@`` mentions of known accounts replaced by pseudonyms."""
        value = _PERSONAL_LINKS.sub(self._link, value)
        return _MENTION.sub(self._mention, value) if "@" in value else value

    def _link(self, match: re.Match) -> str:
        link = match.group()
        kept = link.rstrip(_TRAILING)
        pseudonym = self.name(kept) if kept[:4].lower() == "did:" else self.post(kept)
        return pseudonym + link[len(kept):]

    def _mention(self, match: re.Match) -> str:
        written = match.group(1).rstrip(_TRAILING)
        handle = written.lower()
        # the longest known handle the mention starts with, ending where a handle can end (".com" is not "@foo")
        cuts = [len(handle)] + [i for i in range(len(handle) - 1, 0, -1)
                                if handle[i] in ".-" and "@" not in handle[i:]]
        for cut in cuts:
            head = handle[:cut]
            if head in self.handles:
                return "@" + self.name(head) + match.group(1)[cut:]
            if "@" not in head and head in self._local:
                return "@" + self.name(self._local[head] or head) + match.group(1)[cut:]
        if match.end() == len(match.string):  # a snippet cut inside a handle: "… @alice.bsky.so"
            at = bisect.bisect_left(self._sorted, handle)
            fits = [h for h in self._sorted[at:at + 2] if h.startswith(handle)]
            if fits:
                whole = fits[0] if len(fits) == 1 else handle
                return "@" + self.name(whole if whole in self.handles else self._local.get(whole) or whole)
        return match.group()

    def table(self, table: pa.Table, json_columns: frozenset[str] = frozenset()) -> pa.Table:
        """``json_columns``: text columns that hold JSON (DuckDB JSON reaches Arrow as plain strings)."""
        columns, names = [], []
        kinds = table.column("kind").to_pylist() if {"kind", "ref", "label"} <= set(table.column_names) else None
        for name, column in zip(table.column_names, table.columns):
            if name in _DROPPED_COLUMNS:
                continue
            role = _role(name)
            listed = pa.types.is_list(column.type) and pa.types.is_string(column.type.value_type)
            if role in ("account", "post") and pa.types.is_string(column.type):
                rename = self.name if role == "account" else self.post
                column = pa.array([v if v is None or v == "" else rename(v) for v in column.to_pylist()], pa.string())
            elif role in ("accounts", "posts") and listed:
                rename = self.name if role == "accounts" else self.post
                column = pa.array([None if v is None else [rename(m) for m in v] for v in column.to_pylist()],
                                  pa.list_(pa.string()))
            elif kinds is not None and name in ("ref", "label"):
                column = pa.array([self._evidence(name, kind, v) for kind, v in zip(kinds, column.to_pylist())],
                                  pa.string())
            elif name in json_columns:
                column = pa.array([None if t is None else orjson.dumps(self._value("", orjson.loads(t))).decode()
                                   for t in column.to_pylist()], pa.string())
            elif pa.types.is_string(column.type):
                if pc.any(pc.match_substring_regex(column, _PERSONAL_HINT)).as_py():
                    column = pa.array([None if v is None else self.text(v) for v in column.to_pylist()], pa.string())
            elif listed:
                if pc.any(pc.match_substring_regex(pc.list_flatten(column), _PERSONAL_HINT)).as_py():
                    column = pa.array([None if v is None else [None if t is None else self.text(t) for t in v]
                                       for v in column.to_pylist()], column.type)
            elif pa.types.is_nested(column.type) and _holds_text(column.type):  # not vectors: no text, no person
                column = pa.array([self._value("", v) for v in column.to_pylist()], column.type)
            columns.append(column)
            names.append(name)
        return pa.table(columns, names=names)

    def _evidence(self, column: str, kind: str, value: str | None) -> str | None:
        """``influence_evidence``: an engager's id and handle, or an example post's id and text."""
        if not value:
            return value
        if kind in _ACCOUNT_EVIDENCE_KINDS:
            return self.name(value)
        if kind in _POST_EVIDENCE_KINDS and column == "ref":
            return self.post(value)
        return self.text(value)

    def _value(self, key: str, value: Any) -> Any:
        """A struct, list or JSON value with the people and posts inside it pseudonymised (by field name)."""
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(key, v) for v in value]
        if isinstance(value, str) and value:
            role = _role(key)
            if role in ("account", "accounts"):
                return self.name(value)
            if role in ("post", "posts"):
                return self.post(value)
            return self.text(value)
        return value


def _role(name: str) -> str | None:
    """What a column or field named ``name`` holds: account (id or handle), post (id), a list of either, or None."""
    if (name in _ID_COLUMNS or name in _HANDLE_COLUMNS or name == "account_id" or name.endswith("_account_id")
            or name == "handle" or name.endswith("_handle")):
        return "account"
    if name in ("post_id", "share_id") or name.endswith(("_post_id", "_share_id")):
        return "post"
    if name in _ACCOUNT_LIST_COLUMNS:
        return "accounts"
    if name in _POST_LIST_COLUMNS or name.endswith("post_ids"):
        return "posts"
    return None


def _holds_text(dtype: pa.DataType) -> bool:
    """Whether a nested type has a text field at some depth."""
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return True
    return any(_holds_text(dtype.field(i).type) for i in range(dtype.num_fields))


def export_tables(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    outdir: Path,
    *,
    pseudonymiser: Pseudonymiser | None = None,
    tables: list[str] | None = None,
) -> list[Path]:
    """Write each canonical table (and derived tables when present) to OUTDIR/<table>.<fmt>."""
    if fmt not in EXPORT_FORMATS:
        raise ConfianceError(f"unknown export format {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}")
    if fmt in ("gexf", "graphml"):
        # one graph file: OUTDIR when it is named *.gexf / *.graphml, else OUTDIR/graph.FORMAT
        from confiance.graph.export import export_graph

        if pseudonymiser is not None:
            raise ConfianceError(f"--pseudonymise is not available for {fmt} yet; export csv or parquet instead")
        target = outdir if outdir.suffix.lower() == f".{fmt}" else outdir / f"graph.{fmt}"
        export_graph(con, fmt, target)
        return [target]
    outdir.mkdir(parents=True, exist_ok=True)
    names = tables or [t for t in TABLE_KEYS if t != "rejects" or pseudonymiser is None] + derived_tables(con)
    if pseudonymiser is not None:
        pseudonymiser = pseudonymiser.knowing_handles(con)
    written = []
    for name in names:
        json_columns = frozenset(c for c, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ?", [name]).fetchall() if t == "JSON")
        target = outdir / f"{name}.{fmt}"
        writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        try:
            for table in _table_batches(con, name):
                if pseudonymiser is not None:
                    table = pseudonymiser.table(table, json_columns)
                if fmt == "csv":
                    table = neutralise_formulas(_json_as_text(table))
                if writer is None:
                    writer = pacsv.CSVWriter(target, table.schema) if fmt == "csv" else pq.ParquetWriter(target, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        written.append(target)
    return written


#: Rows read and written at a time: an export holds one batch in memory, whatever the table's size.
#: A text vector is 2 KiB, and about 40 KiB while its 512 numbers become CSV text: on a 14k-text world,
#: 2,000 rows a batch peak at 0.5 GB where the whole table at once took 1.1 GB (and grew with the corpus).
EXPORT_BATCH_ROWS = 2_000


def _table_batches(con: duckdb.DuckDBPyConnection, name: str) -> Iterator[pa.Table]:
    """The table in batches of ``EXPORT_BATCH_ROWS``; an empty table still yields one (empty) batch."""
    reader = con.sql(f'SELECT * FROM "{name}"').to_arrow_reader(EXPORT_BATCH_ROWS)
    empty = True
    for batch in reader:
        empty = False
        yield pa.Table.from_batches([batch])
    if empty:
        yield reader.schema.empty_table()


def _json_as_text(table: pa.Table) -> pa.Table:
    """DuckDB JSON and timestamp columns become plain text for CSV."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(field.type, pa.ExtensionType):
            column = column.cast(field.type.storage_type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)

