"""GDPR tools: forget a person everywhere in a workspace, and expire what is past its retention period.

``forget`` removes the person's accounts, posts, interactions, observations and audience reports,
scrubs their handle from other people's posts, and their words from others' copies: a repost of their post, or a
text that opens with "RT @their_handle:" where the row names no parent author, keeps none of the words it copied
(``RT @[forgotten]: [forgotten]``, or ``[forgotten]`` without the prefix), whether or not their post is at hand,
and those words go from every other text and raw record too (an ingest after the forget does the same:
``confiance.ingest._engine.copies_forgotten``); redacts them from the raw archive (their own records, and
in other people's records every id that points at them: a reply's parent, a quoted or reposted record,
a mention or facet, ``in_reply_to_*``; ids, DIDs, Mastodon status numbers and Bluesky record keys are
matched as whole tokens, inside URLs too; compressed archive members are read decompressed; a CSV file is read
record by record as the ingest reads it, so a cell over several lines or with quotes written ``""`` is matched whole;
every file is read and written back in the encoding it came in, a cp1252 or UTF-16 export included), deletes snapshots
and any report or export that names them, then **rewrites the database file** (DuckDB DELETE leaves
the old bytes on disk). A workspace ingested on Spark has the same tables in its Parquet lake: they
get the same deletions and are rewritten too (``confiance.engine.lake_files``) and adds hashes of their ids,
handles, aliases and post ids to a suppression list that later ingests honour. The audit log records only those
hashes.

A handle names a person on one platform: ``x:alice`` is not Reddit's ``alice``. The suppression list holds each
handle and alias hashed with each of the person's platforms (``confiance.person``), and an ingest matches them on
rows of that platform only (accounts' handles, mentions, ``@handle`` and bare-word handles in texts; ``forget``
itself still scrubs the handle from others' texts and mentions on every platform: more than needed, never less). A list
written before handles were scoped holds bare handle hashes, which cannot be turned back into handles: ingest
keeps honouring them as before, on every platform. In the raw archive, ``forget`` rewrites the files that may hold
records of the person's platforms: a file whose stored rows (posts, observations, audience reports) are all of
other platforms is left as it is, since the same handle there is someone else; a file the store knows no platform
of (accounts and edges only, or every record a duplicate or a reject) is redacted, as it may hold the person.

``expire`` applies a retention period (GDPR art. 5(1)(e), storage limitation; CNIL guidance asks for a
fixed period per purpose). A record expires when its own date is before the cutoff: a post's
``created_at``, an interaction's ``created_at`` (and every interaction an expired post carries), an
observation's ``collected_at``. Records without a date of their own expire with their file's ingest
date: survey answers, audience reports, rejected raw lines, and posts without a time. An account
expires when it was last seen before the cutoff and nothing left in the store refers to it (no post,
interaction or audience report). Rows without any date (an edge file's undated accounts and edges)
are kept and counted. KPI series are business aggregates, not personal data, and are kept.
A raw archived file is deleted once nothing it brought is left in the store and it was ingested
before the cutoff or lost rows in this run; a file that still holds records within the period is
kept (the archive is kept per input file), rewritten without the expired posts and accounts it holds:
their records are wiped and their texts replaced, as ``forget`` does. Ingesting the same file again
brings nothing back (its hash is known); another file holding expired posts (collected again) brings
them back until the next run, which expires them again by their dates. Analysis tables are derived
from the expired rows: the per-post caches (languages, embeddings) lose the expired posts' rows and
every other analysis table is dropped, for ``analyze`` to rebuild; snapshots, reports and exports
built before the run are deleted; the database file is rewritten, as for ``forget``.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import orjson
import yaml

from confiance import store
from confiance.errors import ConfianceError
from confiance.ingest._engine import (COPIED_WORDS, FORGOTTEN_COPY, MIN_POST_TEXT, copies_forgotten, rt_names_forgotten,
                                      short_mention, write_archive)
from confiance.ingest._readers import DEFAULT_LIMITS, ENCODING_HEAD_BYTES, decompress, encoding_of, sniff_delimiter
from confiance.ingest.bluesky_car import is_car
from confiance.person import Person, key_hash
from confiance.workspace import DB_NAME, Workspace

FORGOTTEN = "[forgotten]"
#: JSON keys whose value identifies the owner of the object that holds them.
_IDENTITY_KEYS = {"id", "id_str", "author_id", "user_id", "account_id", "did", "username", "screen_name",
                  "handle", "acct", "uniqueId", "author", "authorChannelId", "external_author_id", "value"}


@dataclass
class ForgetResult:
    key_hashes: list[str]
    rows_deleted: dict[str, int]
    archives_redacted: int
    files_deleted: int


def find_person(con: duckdb.DuckDBPyConnection, who: str, *, every_platform: bool = False) -> Person:
    """ACCOUNT_OR_HANDLE: an account id, a DID, a handle (with or without '@'; Mastodon's ``user@instance``,
    whose instance may carry a port), or 'platform:account_id' ('platform:handle' too).

    An unqualified id or handle found on more than one platform is an error that lists the qualified forms
    (``@alice`` on X and ``alice`` on Bluesky are most likely two people), unless ``every_platform``."""
    needle = who.strip().lstrip("@").lower()
    platform = None
    prefix, colon, rest = needle.partition(":")
    # only a platform the store knows is a prefix: ``did:plc:…`` and ``user@host:3000`` keep their colons
    if colon and rest and con.execute("SELECT count(*) FROM (SELECT platform FROM accounts WHERE platform = ? "
                                      "UNION ALL SELECT platform FROM posts WHERE platform = ? LIMIT 1)",
                                      [prefix, prefix]).fetchall()[0][0]:
        platform, needle = prefix, rest
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
    if not every_platform:
        _refuse_ambiguous(who, person, [con])
    if not person.handles and not needle.isdigit():
        person.handles.add(needle)
    # the same person where a format keys accounts by handle (the troll CSV, a generic CSV without ids)
    for plat in sorted(person.platforms):
        person.keys += [k for k in con.execute(
            "SELECT platform, account_id FROM accounts WHERE platform = $1 AND list_contains($2, lower(account_id)) "
            "UNION SELECT platform, account_id FROM posts WHERE platform = $1 AND list_contains($2, lower(account_id)) "
            "ORDER BY account_id", [plat, sorted(person.handles)]).fetchall() if k not in person.keys]
    for plat, account_id in person.keys:
        for post_id, text in con.execute(
            "SELECT post_id, text FROM posts WHERE platform = ? AND account_id = ?", [plat, account_id]
        ).fetchall():
            person.post_ids.add(post_id)
            if text and len(text) >= 12:
                person.post_texts.add(text)
        # their posts that others answered, quoted or reposted without the post itself being collected, and
        # their words that others' reposts copy (the original at hand or not)
        person.post_ids |= {p for (p,) in con.execute(
            "SELECT DISTINCT parent_post_id FROM posts WHERE platform = $1 AND parent_post_id IS NOT NULL AND "
            f"(parent_account_id = $2 OR {rt_names_forgotten(_listed)})",
            [plat, account_id, sorted(person.handles)]).fetchall()}
        person.post_texts |= {t for (t,) in con.execute(
            f"SELECT DISTINCT {COPIED_WORDS} FROM posts WHERE platform = $1 AND "
            f"{copies_forgotten('parent_account_id = $2', _listed)}",
            [plat, account_id, sorted(person.handles)]).fetchall() if len(t) >= MIN_POST_TEXT}
        for row in con.execute(
            "SELECT json_extract_string(attributes, '$.instance_account_id'), "
            "json_extract_string(attributes, '$.uri') FROM accounts WHERE platform = ? AND account_id = ?",
            [plat, account_id]
        ).fetchall():
            person.aliases |= {str(x) for x in row if x}
    return person


def _listed(handle: str) -> str:
    """SQL: a handle among the person's (parameter ``$3``)."""
    return f"list_contains($3::VARCHAR[], {handle})"


def _refuse_ambiguous(who: str, person: Person, cons: list[duckdb.DuckDBPyConnection]) -> None:
    """The error for an unqualified ACCOUNT_OR_HANDLE that names accounts on several platforms. Its message
    names them (the terminal shows it; it never reaches the audit log)."""
    platforms = {platform for platform, _ in person.keys}
    if len(platforms) < 2:
        return
    forms = set()
    for platform, account_id in person.keys:
        handles = [h for con in cons for (h,) in con.execute(
            "SELECT handle FROM accounts WHERE platform = ? AND account_id = ? AND handle IS NOT NULL",
            [platform, account_id]).fetchall()]
        forms.add(f"{platform}:{(handles[0] if handles else account_id).lower()}")
    raise ConfianceError(f"{who!r} names accounts on {len(platforms)} platforms: {', '.join(sorted(forms))}; "
                         "forget one by its qualified form, or all of them with --every-platform")


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

    # others' reposts of the person, as an ingest after the forget recognises them (``rt_names_forgotten``):
    # their handles on the person's platforms
    def handle_gone(handle: str) -> str:
        return f"({handle} IN (SELECT handle FROM forget_handles) AND t.platform IN (SELECT platform FROM forget_keys))"

    copies = copies_forgotten(owned.format(col="parent_account_id"), handle_gone)
    con.execute("CREATE TEMP TABLE forget_touched AS SELECT platform, post_id FROM posts t "
                "WHERE len(list_intersect(mentions, ?)) > 0 OR len(list_filter(?, lambda w: contains(lower(text), lower(w)))) > 0 "
                f"OR {copies} UNION SELECT platform, post_id FROM forget_posts", [sorted(person.handles), words])
    delete("observations", "EXISTS (SELECT 1 FROM forget_posts f WHERE f.platform = t.platform AND f.post_id = t.post_id)")
    delete("posts", owned.format(col="account_id"))
    delete("interactions", f"{owned.format(col='src')} OR {owned.format(col='dst')}")
    delete("audience_reports", owned.format(col="account_id"))
    # other rows of their handle on their platforms (a handle elsewhere is someone else: see find_person)
    delete("accounts", f"{owned.format(col='account_id')} OR (lower(handle) IN (SELECT handle FROM forget_handles) "
                       "AND platform IN (SELECT platform FROM forget_keys))")
    # other people's posts: drop the handle from mentions and text, and the link to the person
    con.execute("UPDATE posts SET mentions = list_filter(mentions, lambda m: NOT list_contains(?, m)) "
                "WHERE len(list_intersect(mentions, ?)) > 0", [sorted(person.handles)] * 2)
    # a repost of theirs keeps none of the words it copied, nor the posts it names (read before its text goes)
    con.execute("UPDATE posts t SET parent_post_id = NULL, root_post_id = NULL WHERE "
                "(parent_post_id IS NOT NULL OR root_post_id IS NOT NULL) AND " + rt_names_forgotten(handle_gone))
    con.execute(f"UPDATE posts t SET text = {FORGOTTEN_COPY} WHERE {copies}")
    for text in person.post_texts:
        con.execute("UPDATE posts SET text = replace(text, ?, ?) WHERE contains(text, ?)", [text, FORGOTTEN, text])
    for handle in person.handles:
        con.execute("UPDATE posts SET text = regexp_replace(text, ?, ?, 'gi') WHERE contains(lower(text), ?)",
                    [re.escape(handle), FORGOTTEN, handle])
    _scrub_short_mentions(con, "posts", "text", person)
    # a reply or repost keeps its kind, but not the person's post it answered: a Bluesky AT-URI or a Mastodon
    # status URI names its author (``at://did:…``, ``https://host/users/name/statuses/…``); nor, when it answers or
    # shares them, its root: an ingest after the forget cannot tell their posts it never saw from others' (X gives
    # a retweet its own root), so it drops both, and doing the same here makes the order of the two not matter
    for column in ("parent_post_id", "root_post_id"):
        con.execute(f"UPDATE posts t SET {column} = NULL WHERE {column} IS NOT NULL AND ("
                    f"EXISTS (SELECT 1 FROM forget_posts f WHERE f.platform = t.platform AND f.post_id = t.{column})"
                    f" OR len(list_filter(?, lambda w: contains(lower(t.{column}), w))) > 0"
                    f" OR {owned.format(col='parent_account_id')})", [_post_id_markers(person)])
    con.execute("UPDATE posts t SET parent_account_id = NULL WHERE " + owned.format(col="parent_account_id"))
    # what others' posts keep of the person's post ids: ``in_reply_to_id`` in attributes, a status URL in text
    _scrub_post_id_parts(con, "posts", sorted(person.post_ids), columns=("text", "url", "attributes"))
    needles = sorted(person.ids | person.handles | person.names)
    for needle in needles:
        con.execute("UPDATE rejects SET raw = NULL WHERE contains(lower(raw), lower(?))", [needle])
    # derived tables written by analyses: drop rows that name the person or hold their posts
    own_post_ids = sorted(person.post_ids)  # found in the store and the lake alike
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
        _scrub_post_ids(con, table, own_post_ids)
        _scrub_text_columns(con, table, person)
    if store.has_table(con, "text_embeddings") and store.has_table(con, "post_embeddings"):
        # a text's vector stays only while some remaining post still has that text
        delete("text_embeddings", "NOT EXISTS (SELECT 1 FROM post_embeddings e WHERE e.text_key = t.text_key)")
    now = datetime.now(timezone.utc)
    con.executemany("INSERT INTO suppressions SELECT ?, ? WHERE ? NOT IN (SELECT key_hash FROM suppressions)",
                    [[h, now, h] for h in sorted(person.hashes() | person.post_hashes())])
    for temp in ("forget_keys", "forget_handles", "forget_posts", "forget_touched"):
        con.execute(f"DROP TABLE {temp}")
    return deleted


def _post_id_markers(person: Person) -> list[str]:
    """Lower-case pieces that make a post id the person's: a DID (Bluesky AT-URIs), the ``/users/name/`` and
    ``/@name/`` paths of Mastodon status URIs. Numeric ids are left out: one can sit inside another post's id."""
    markers = {i.lower() for i in person.ids if i.lower().startswith("did:")}
    for handle in person.handles:
        local, at, host = handle.lower().partition("@")
        if at and local and host:
            markers |= {f"://{host}/users/{local}/", f"://{host}/@{local}/"}
    return sorted(markers)


def _scrub_short_mentions(con: duckdb.DuckDBPyConnection, table: str, column: str, person: Person) -> None:
    for pattern in filter(None, map(short_mention, sorted(person.handles))):
        con.execute(f'UPDATE "{table}" SET "{column}" = regexp_replace("{column}", ?, ?, \'g\') '
                    f'WHERE regexp_matches("{column}", ?)', [pattern, f"@{FORGOTTEN}\\1", pattern])


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
        if dtype == "VARCHAR":
            _scrub_short_mentions(con, table, column, person)
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


#: Post ids per regular expression when scrubbing JSON text (keeps each pattern small for RE2).
_POST_ID_CHUNK = 256


def _scrub_post_ids(con: duckdb.DuckDBPyConnection, table: str, post_ids: list[str]) -> None:
    """The person's post ids in evidence (a value, a list element, a JSON string) become [forgotten].

    An X post id is enough to open the post, so evidence must not keep it. Ids can be short, so only whole
    values match, never a substring of other text.
    """
    if not post_ids:
        return
    for column, dtype in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall():
        if dtype == "VARCHAR[]":
            con.execute(f'UPDATE "{table}" SET "{column}" = list_transform("{column}", '
                        f'lambda v: CASE WHEN list_contains(?, v) THEN ? ELSE v END) WHERE list_has_any("{column}", ?)',
                        [post_ids, FORGOTTEN, post_ids])
        elif dtype in ("VARCHAR", "JSON"):
            if dtype == "VARCHAR":
                con.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" IN (SELECT unnest(?))', [FORGOTTEN, post_ids])
            for start in range(0, len(post_ids), _POST_ID_CHUNK):
                quoted = '"(?:' + "|".join(re.escape(p) for p in post_ids[start:start + _POST_ID_CHUNK]) + ')"'
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = CAST(regexp_replace(CAST("{column}" AS VARCHAR), ?, ?, \'g\') AS {dtype}) '
                    f'WHERE regexp_matches(CAST("{column}" AS VARCHAR), ?)',
                    [quoted, f'"{FORGOTTEN}"', quoted],
                )
    _scrub_post_id_parts(con, table, post_ids)


def _scrub_post_id_parts(con: duckdb.DuckDBPyConnection, table: str, post_ids: list[str],
                         columns: tuple[str, ...] | None = None) -> None:
    """Distinctive post ids and their parts (a DID, a record key, a status number) inside other values
    become [forgotten]: a share id ``<their post>#repost-by-…``, a URI in a label. ``columns``: all text
    columns when None."""
    parts = sorted({p for p in post_ids if len(p) >= _MIN_POST_ATOM}
                   | {a for p in post_ids for a in _atoms(p, _MIN_POST_ATOM)}, key=len, reverse=True)
    columns = [(c, t) for c, t in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "AND data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]')", [table]).fetchall() if columns is None or c in columns]
    for start in range(0, len(parts), _POST_ID_CHUNK):
        pattern = r"(?i)\b(?:" + "|".join(re.escape(p) for p in parts[start:start + _POST_ID_CHUNK]) + r")\b"
        for column, dtype in columns:
            if dtype == "VARCHAR[]":
                con.execute(f'UPDATE "{table}" SET "{column}" = list_transform("{column}", '
                            f"lambda v: regexp_replace(v, ?, ?, 'g')) "
                            f'WHERE len(list_filter("{column}", lambda v: regexp_matches(v, ?))) > 0',
                            [pattern, FORGOTTEN, pattern])
            else:
                con.execute(
                    f'UPDATE "{table}" SET "{column}" = CAST(regexp_replace(CAST("{column}" AS VARCHAR), ?, ?, \'g\') AS {dtype}) '
                    f'WHERE regexp_matches(CAST("{column}" AS VARCHAR), ?)', [pattern, FORGOTTEN, pattern])


# -- raw archive -------------------------------------------------------------------------------------
#: Shortest account id matched inside other text: a number of 6 digits or more rarely means anything else.
_MIN_ID_ATOM = 6
#: Shortest part of a post id matched on its own (a Mastodon status number, a Bluesky record key): it
#: opens the post without the rest of the URI.
_MIN_POST_ATOM = 10
#: A run of characters that can make an id: DIDs, numbers, record keys, ``user@host`` parts.
_TOKEN = re.compile(r"[\w:.%-]+")
#: Numbers whose alias lookup a redactor remembers (see ``_Redactor.is_alias``).
_LISTED_MEMO = 100_000
#: Keys whose value points at a record: a Bluesky strong reference ``{"uri", "cid"}``, an embedded record.
_POINTER_KEYS = ("uri", "url")


def _atoms(value: str, min_len: int, last_segment: bool = True) -> set[str]:
    """The parts of an id that name the person wherever they appear: the id itself, or in a URI its DID, its
    numeric ``/users/<id>/`` segment and, for a post's URI, its last segment (``at://did/app.bsky.feed.post/<rkey>``,
    ``…/statuses/<n>``; an actor URI's last segment is a user name, which may be a common word)."""
    value = value.lower()
    number, at, _ = value.partition("@")
    parts = {value} | ({number} if at and number.isdigit() else set())  # a status seen elsewhere: ``<n>@<instance>``
    if "/" in value or "#" in value:
        parts = set(re.findall(r"did:[a-z0-9]+:[\w.%:-]+", value)) | set(re.findall(r"/users/(\d+)", value))
        if last_segment:
            parts.add(re.split(r"[/#]", value.rstrip("/"))[-1])
    return {p for p in parts if len(p) >= min_len and _TOKEN.fullmatch(p)}


def _mastodon_name_patterns(handle: str) -> list[str]:
    """How a Mastodon ``user@host`` appears in raw records besides the handle: profile and actor URLs, and
    the ``@user`` or ``@<span>user</span>`` of a mention in another status's HTML."""
    local, at, host = handle.partition("@")
    if not at or not local or not host:
        return []
    local, host = re.escape(local), re.escape(host)
    return [rf"://{host}/(?:users/|@){local}(?![\w@])", rf"@(?:<span>)?{local}(?:</span>)?(?![\w@])"]


class _Redactor:
    """Rewrites raw records without the person. ``hashes`` (an ingest after ``forget``: the suppression list)
    also finds the aliases the staged rows did not show, such as a Mastodon ``in_reply_to_account_id``: a number
    whose ``platform:alias:number`` hash is listed, for the person's platforms."""

    def __init__(self, person: Person, hashes: set[str] | frozenset[str] = frozenset()):
        self.hashes = hashes
        self.platforms = sorted(person.platforms)
        self._listed: dict[str, bool] = {}
        self.ids = {i.lower() for i in person.ids | person.aliases | person.post_ids}
        self.handles = {h.lower() for h in person.handles}
        self.atoms = set().union(*(_atoms(i, _MIN_ID_ATOM, last_segment=False) for i in person.ids | person.aliases),
                                 *(_atoms(p, _MIN_POST_ATOM) for p in person.post_ids))
        self.identity = self.ids | self.handles | self.atoms
        self.names = {x.lower().encode() for x in person.names if x}
        self.texts = {x.lower().encode() for x in person.post_texts if x}
        parts = sorted((re.escape(x) for x in person.handles | person.names | person.post_texts), key=len, reverse=True)
        mastodon = [p for h in sorted(self.handles) for p in _mastodon_name_patterns(h)]
        self.mastodon_names = re.compile("|".join(mastodon), re.IGNORECASE) if mastodon else None
        parts += mastodon
        self.substrings = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        word_ids = sorted((re.escape(i) for i in person.ids if len(i) >= 3), key=len, reverse=True)
        self.id_tokens = re.compile(r"(?<![\w:/.-])(?:" + "|".join(word_ids) + r")(?![\w])") if word_ids else None
        tokens = sorted((re.escape(x) for x in self.identity if len(x) >= 2), key=len, reverse=True)
        self.identity_tokens = re.compile(r"(?<![\w.-])(?:" + "|".join(tokens) + r")(?![\w])") if tokens else None

    def identifies(self, lowered: str) -> bool:
        """Whether lower-case text holds one of the person's ids or handles as a whole token (a record of theirs,
        or one that points at them)."""
        return self.identity_tokens is not None and self.identity_tokens.search(lowered) is not None

    def needles(self, texts: bool = False) -> list[bytes]:
        """Lower-case bytes of which one is in every file that names the person: their ids and handles (a
        needle that holds a shorter one is left out: a post's URI holds its record key), display names and,
        with ``texts``, their post texts (a raw record holds them; an output may quote them unnamed)."""
        kept: list[bytes] = []
        for needle in sorted((x.encode() for x in self.identity if x), key=len):
            if not any(k in needle for k in kept):
                kept.append(needle)
        return kept + sorted(self.names) + (sorted(self.texts) if texts else [])

    def is_alias(self, value: str) -> bool:
        """A number the suppression list names as an alias on one of the person's platforms."""
        if not self.hashes or len(value) < _MIN_ID_ATOM or not value.isdigit():
            return False
        if value not in self._listed:
            if len(self._listed) >= _LISTED_MEMO:  # a file's ids are many: the memo stays bounded
                self._listed.clear()
            self._listed[value] = any(key_hash(f"{p}:alias:{value}") in self.hashes for p in self.platforms)
        return self._listed[value]

    def _atom(self, match: re.Match) -> str:
        token = match.group(0)
        core = token.rstrip(".:-")
        named = core.lower() in self.atoms or self.is_alias(core)
        return FORGOTTEN + token[len(core):] if named else token

    def text(self, value: str) -> str:
        if self.substrings is not None:
            value = self.substrings.sub(FORGOTTEN, value)
        if (self.atoms or self.hashes) and len(value) >= _MIN_ID_ATOM:
            value = _TOKEN.sub(self._atom, value)
        return value

    def raw_text(self, value: str) -> str:
        value = self.text(value)
        if self.id_tokens is not None:
            value = self.id_tokens.sub(FORGOTTEN, value)
        return value

    def owns(self, obj: dict) -> bool:
        """The object is the person, their post, or a reference to their post (reply parent, quoted record)."""
        for key in _IDENTITY_KEYS:
            v = obj.get(key)
            if isinstance(v, (str, int)) and not isinstance(v, bool) and (
                    str(v).lower().lstrip("@") in self.identity or self.is_alias(str(v))):
                return True
        return any(isinstance(obj.get(key), str) and self._points_at_person(obj[key]) for key in _POINTER_KEYS)

    def _points_at_person(self, uri: str) -> bool:
        lowered = uri.lower()
        if any(token.rstrip(".:-") in self.atoms for token in _TOKEN.findall(lowered)):
            return True
        if any(handle in lowered for handle in self.handles if len(handle) >= 3):  # bsky.app/profile/<handle>/post/…
            return True
        return self.mastodon_names is not None and self.mastodon_names.search(uri) is not None

    def walk(self, node: Any) -> Any:
        if isinstance(node, dict):
            walked = {k: self.walk(v) for k, v in node.items()}
            # an owned object is wiped once walked: a numeric id inside is no string to wipe
            return _wipe(walked) if self.owns(node) else walked
        if isinstance(node, list):
            return [self.walk(v) for v in node]
        if isinstance(node, str):
            if node.lower() in self.identity or self.is_alias(node):
                return FORGOTTEN
            stripped = node.strip()
            if stripped[:1] in "{[" and len(stripped) > 2:  # JSON inside a string (recorded HTTP bodies)
                try:
                    return orjson.dumps(self.walk(orjson.loads(stripped))).decode()
                except orjson.JSONDecodeError:
                    pass
            return self.text(node)
        if isinstance(node, int) and not isinstance(node, bool) and (
                str(node) in self.identity or self.is_alias(str(node))):
            return FORGOTTEN  # v1.1 numeric ids: in_reply_to_user_id, in_reply_to_status_id
        return node


def _wipe(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _wipe(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_wipe(v) for v in node]
    if isinstance(node, str):
        return FORGOTTEN
    return node


def _redact_bytes(data: bytes, redactor: _Redactor, needles: list[bytes]) -> bytes | None:
    """A raw file without the person, in the encoding (and BOM) it came in; None when it does not name them."""
    if is_car(data):
        return _redact_car(data, redactor) if _contains_any(data, needles) else None
    text, encoding, bom = _decode(data)
    if not _contains_any(text.encode("utf-8", "surrogatepass"), needles):
        return None
    return _encode(_redact_text(text, redactor), encoding, bom)


def _lossless(encoding: str) -> str:
    """The error handler that brings bytes the codec cannot read back as they were: a lone surrogate in UTF-16
    or UTF-32, a stray byte elsewhere (a Latin-1 line in a UTF-8 file)."""
    return "surrogatepass" if encoding.startswith(("utf-16", "utf-32")) else "surrogateescape"


def _decode(data: bytes) -> tuple[str, str, bytes]:
    """(text without its BOM, codec, BOM) of a raw file, in the encoding its ingest read it with (the same
    detection, on the same head); what does not decode is kept for :func:`_encode` to write back as it was."""
    head = data[:ENCODING_HEAD_BYTES]
    encoding, bom = encoding_of(head, complete=len(head) < ENCODING_HEAD_BYTES)
    try:
        return data[len(bom):].decode(encoding, _lossless(encoding)), encoding, bom
    except UnicodeDecodeError:  # a UTF-16 file cut after an odd byte
        return data[len(bom):].decode(encoding, "replace"), encoding, bom


def _encode(text: str, encoding: str, bom: bytes) -> bytes:
    """Text back in its file's encoding: redaction only removes characters or writes ASCII ones."""
    return bom + text.encode(encoding, _lossless(encoding))


def _redact_text(text: str, redactor: _Redactor) -> str:
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith(("{", "[")):
        # a record nested deeper than Python's recursion limit (orjson reads up to 1024 levels; a hostile
        # input) is redacted as text, like a line that is no JSON
        try:
            return orjson.dumps(redactor.walk(orjson.loads(stripped)), option=orjson.OPT_APPEND_NEWLINE).decode()
        except (orjson.JSONDecodeError, RecursionError):
            return "\n".join(_redact_json_line(line, redactor) for line in text.split("\n"))
    if stripped.startswith(("interactions:", "---", "version:")) or "\ninteractions:" in text[:2000]:
        try:
            return yaml.safe_dump_all([redactor.walk(d) for d in yaml.safe_load_all(text)], allow_unicode=True)
        except yaml.YAMLError:
            pass
    redacted = _redact_csv(text, redactor)
    return _redact_lines(text, redactor) if redacted is None else redacted


def _redact_json_line(line: str, redactor: _Redactor) -> str:
    """One line of JSON lines (split where the ingest splits them: at LF only), or a line that is no JSON."""
    try:
        return orjson.dumps(redactor.walk(orjson.loads(line))).decode()
    except (orjson.JSONDecodeError, RecursionError):
        return redactor.raw_text(line)


def _redact_lines(text: str, redactor: _Redactor) -> str:
    """XML, GML, edge lists, and CSV that does not parse: a line that names the person loses its text."""
    return "".join(redactor.raw_text(line) if redactor.identifies(line.lower()) else redactor.text(line)
                   for line in text.splitlines(keepends=True))


def _redact_csv(text: str, redactor: _Redactor) -> str | None:
    """CSV record by record, read as the ingest reads it (``read_csv``: its first line is the header, whose
    delimiter ``sniff_delimiter`` picks), so that a cell over several lines or with doubled quotes is matched as
    the text it holds. A record that names the person loses in every field what ``raw_text`` takes, others
    what ``text`` takes; the header stays. A record left as it was keeps its bytes; a changed one is written
    with the same delimiter, quoted where the reader needs it, and its own line end.

    None when the text is no such CSV: a header of fewer than two fields, no record, a record of another
    width (ingest rejects it; the file is redacted line by line, as any text), or a parse error."""
    lines = io.StringIO(text, newline="").readlines()  # the line ends read_csv knows: LF, CRLF, a lone CR
    if len(lines) < 2:
        return None
    delimiter = sniff_delimiter(lines[0].lstrip("\ufeff"))
    width = len(next(csv.reader([lines[0]], delimiter=delimiter), []))
    if width < 2:
        return None
    csv.field_size_limit(DEFAULT_LIMITS.max_field_chars)
    body = lines[1:]
    reader = csv.reader(body, delimiter=delimiter)
    out, start = [lines[0]], 0
    try:
        for fields in reader:
            if fields and len(fields) != width:
                return None
            raw = "".join(body[start:reader.line_num])
            start = reader.line_num
            out.append(_redact_record(raw, fields, delimiter, redactor))
    except csv.Error:
        return None
    return "".join(out) if start else None


def _redact_record(raw: str, fields: list[str], delimiter: str, redactor: _Redactor) -> str:
    joined = "\n".join(fields)  # one pass over the record first: most records of a file do not name the person
    if redactor.identifies(joined.lower()):
        redact = redactor.raw_text
    elif redactor.text(joined) != joined:
        redact = redactor.text
    else:
        return raw
    redacted = [redact(field) for field in fields]
    if redacted == fields:
        return raw
    written = io.StringIO()
    # CRLF as the writer's line end: Python 3.11 quotes a field only for the line end's own characters
    csv.writer(written, delimiter=delimiter, lineterminator="\r\n").writerow(redacted)
    return written.getvalue()[:-2] + raw[len(raw.rstrip("\r\n")):]


def _redact_car(data: bytes, redactor: _Redactor) -> bytes:
    """A Bluesky repository export (binary DAG-CBOR: the length byte before an id and the key after it leave no
    word boundary) loses every id, handle, name and text of the person byte for byte, so its framing holds;
    the blocks that named them no longer match their CIDs and read back as damaged."""
    needles = sorted({n.decode() for n in redactor.needles(texts=True)}, key=len, reverse=True)
    if not needles:
        return data
    text = data.decode("utf-8", "surrogateescape")  # lossless: every byte that is not UTF-8 comes back as it was
    pattern = re.compile("|".join(map(re.escape, needles)), re.IGNORECASE)
    blanked = pattern.sub(lambda m: "_" * len(m.group().encode("utf-8", "surrogateescape")), text)
    return blanked.encode("utf-8", "surrogateescape")


def _contains_any(data: bytes, needles: list[bytes]) -> bool:
    lowered = data.lower()
    return any(n in lowered for n in needles)


def _redact_archive(ws: Workspace, person: Person, only: set[str] | None = None,
                    platforms: dict[str, set[str]] | None = None) -> list[str]:
    """Rewrite the archived raw files that name the person (among the hashes ``only``, when given; not those
    whose known ``platforms``, by file hash, are all other than the person's); returns their hashes."""
    redactor = _Redactor(person)
    needles = redactor.needles(texts=True)
    rewritten = []
    for archive in sorted([*ws.raw_dir.glob("*/*.zst"), *ws.raw_dir.glob("*/*.gz")]):  # .gz: older archives
        sha = archive.name.split(".", 1)[0]
        if only is not None and sha not in only:
            continue
        if platforms is not None and platforms.get(sha) and not platforms[sha] & person.platforms:
            continue
        if _redact_file(archive, redactor, needles):
            rewritten.append(archive.name.removesuffix(archive.suffix))
    return rewritten


def _redact_file(archive: Path, redactor: _Redactor, needles: list[bytes]) -> bool:
    """Rewrite one archived raw file without the person; False when it does not name them."""
    redacted = _redact_bytes(decompress(decompress(archive.read_bytes())), redactor, needles)
    if redacted is None:
        return False
    partial = archive.with_suffix(".partial")
    with (gzip.open(partial, "wb") if archive.suffix == ".gz" else write_archive(partial)) as fh:
        fh.write(redacted)
    os.replace(partial, archive)
    return True


def redact_incoming_archive(archive: Path, suppressed: Person, hashes: set[str] | frozenset[str] = frozenset()) -> bool:
    """The archive of a file ingested after ``forget``: the ingest dropped the forgotten people's rows
    (``suppressed``: their ids, handles, aliases, names, post ids and texts, read from those rows) and this
    removes them from the raw bytes kept, as ``forget`` did for the files before. ``hashes``: the suppression
    list, for the aliases the rows did not show (see ``_Redactor``)."""
    redactor = _Redactor(suppressed, hashes)
    return _redact_file(archive, redactor, redactor.needles(texts=True))


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
    needles = _Redactor(person).needles()
    deleted = 0
    for snapshot in ws.snapshots_dir.glob("*"):
        if snapshot.is_file():
            snapshot.unlink()
            deleted += 1
    # reports, exports, and collected pages not yet ingested (`collect --no-ingest`)
    for folder in (ws.reports_dir, ws.exports_dir, ws.root / "collect"):
        for f in folder.rglob("*"):
            if f.is_file() and _output_names_person(f, needles):
                f.unlink()
                deleted += 1
    shutil.rmtree(ws.root / "tmp", ignore_errors=True)
    return deleted


def _output_names_person(path: Path, needles: list[bytes]) -> bool:
    """Whether an output file holds one of the needles: Parquet values are read decoded (its pages are
    compressed), compressed files decompressed."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            batches = pq.ParquetFile(path).iter_batches(batch_size=10_000)
            return any(_contains_any(orjson.dumps(batch.to_pylist(), default=str), needles) for batch in batches)
        except (OSError, ValueError):  # not readable as Parquet: judged on its bytes
            pass
    try:
        data = decompress(path.read_bytes())
    except OSError:
        data = path.read_bytes()
    return _contains_any(data, needles)


@contextmanager
def _store_and_lake(ws: Workspace) -> Iterator[tuple[duckdb.DuckDBPyConnection, Any, Path | None, list[str]]]:
    """The store (current schema) and, when the workspace has a local Spark lake, an in-memory copy of
    its tables: (store, lake connection or None, lake folder, lake tables). Both closed on exit."""
    from confiance.engine import lake_files

    lake = lake_files.local_lake(ws.root)
    lake_con, lake_tables = lake_files.load(lake) if lake else (None, [])
    con = store.connect(ws.db_path)
    try:
        store.require_current(con)
        yield con, lake_con, lake, lake_tables
    finally:
        con.close()
        if lake_con is not None:
            lake_con.close()


def forget(ws: Workspace, who: str, *, every_platform: bool = False) -> ForgetResult:
    """Remove one person from the whole workspace (see the module docstring). An unqualified id or handle
    found on several platforms is refused unless ``every_platform`` (see ``find_person``)."""
    from confiance.engine import lake_files

    with ws.lock():
        with _store_and_lake(ws) as (con, lake_con, lake, lake_tables):
            cons = [c for c in (con, lake_con) if c is not None]
            person = _find_anywhere(who, cons, every_platform)
            platforms = _source_platforms(cons)  # before the person's rows go
            with store.transaction(con):
                deleted = _delete_from_store(con, person)
                redacted = _redact_archive(ws, person, platforms=platforms)
                _mark_redacted(con, redacted)
            con.execute("CHECKPOINT")
            if lake_con is not None:
                # the lake has no transaction: each table is swapped in whole, after the store committed
                in_lake = _delete_from_store(lake_con, person)
                _mark_redacted(lake_con, redacted)
                lake_files.write_back(lake_con, lake, lake_tables)
                lake_files.remove_scratch(lake)
                deleted.update({f"lake/{table}": n for table, n in in_lake.items() if table in lake_tables})
        _rewrite_database(ws)
        files = _delete_outputs(ws, person)
    hashes = sorted(person.hashes())
    ws.audit("forget", key_hashes=hashes, rows_deleted=deleted, archives_redacted=len(redacted), files_deleted=files)
    return ForgetResult(hashes, deleted, len(redacted), files)


def _find_anywhere(who: str, cons: list[duckdb.DuckDBPyConnection], every_platform: bool) -> Person:
    """The person as the store and the lake know them (a workspace ingested on Spark keeps its rows in the
    lake); an unqualified name is judged ambiguous over both."""
    found = []
    for con in cons:
        try:
            found.append(find_person(con, who, every_platform=True))
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
        person.aliases |= part.aliases
    if not every_platform:
        _refuse_ambiguous(who, person, cons)
    return person


def _source_platforms(cons: list[duckdb.DuckDBPyConnection]) -> dict[str, set[str]]:
    """The platforms of the rows each archived file brought that the store (or lake) still holds, by file hash."""
    platforms: dict[str, set[str]] = {}
    for con in cons:
        for table in ("posts", "observations", "audience_reports"):
            if store.has_table(con, table):
                for sha, platform in con.execute(f"SELECT DISTINCT source_sha256, platform FROM {table} "
                                                 "WHERE source_sha256 IS NOT NULL").fetchall():
                    platforms.setdefault(sha, set()).add(platform)
    return platforms


def _mark_redacted(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> None:
    if hashes:
        con.executemany("UPDATE sources SET redacted = true WHERE sha256 = ?", [[h] for h in hashes])


# -- retention ----------------------------------------------------------------------------------------
#: Derived tables that cache one row per post or text: pruned of expired posts instead of dropped.
_PER_POST_CACHES = ("post_language", "post_embeddings", "text_embeddings")
#: Tables that carry their file's hash, so a raw archive stays while any of them still holds its rows.
_SOURCED_TABLES = ("posts", "observations", "kpis", "surveys", "audience_reports")
_PERIOD = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)


@dataclass
class RetentionResult:
    cutoff: datetime
    rows_deleted: dict[str, int]
    undated_rows_kept: dict[str, int]
    archives_deleted: int
    archives_kept: int
    analysis_tables_dropped: list[str]
    files_deleted: int
    dry_run: bool
    archives_redacted: int = 0  # kept files that lost their expired records


def retention_cutoff(period: str, now: datetime | None = None) -> datetime:
    """The cutoff for a period such as ``365d``, ``26w``, ``18m`` (calendar months) or ``2y``, before ``now``."""
    match = _PERIOD.match(period)
    if not match or int(match.group(1)) == 0:
        raise ConfianceError(f"retention period {period!r} is not a positive number of days, weeks, months or "
                             "years such as 365d, 26w, 18m or 2y")
    n, unit = int(match.group(1)), match.group(2).lower()
    now = now or datetime.now(timezone.utc)
    try:
        if unit in "dw":
            return now - timedelta(days=n * (7 if unit == "w" else 1))
        months = n * (12 if unit == "y" else 1)
        year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
        day = min(now.day, calendar.monthrange(year, month + 1)[1])
        return now.replace(year=year, month=month + 1, day=day)
    except (OverflowError, ValueError):  # datetime stops at year 1
        raise ConfianceError(f"retention period {period!r} reaches back before the year 1") from None


def _expire_rows(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Delete the expired canonical rows (see the module docstring); returns (deleted, undated kept) counts."""
    deleted: dict[str, int] = {}

    def delete(table: str, condition: str, params: list | None = None) -> None:
        if store.has_table(con, table):
            n = con.execute(f"DELETE FROM {table} t WHERE {condition}", params or []).fetchall()[0][0]
            deleted[table] = deleted.get(table, 0) + n

    ingested = "(SELECT s.ingested_at FROM sources s WHERE s.sha256 = t.source_sha256)"
    con.execute("CREATE OR REPLACE TEMP TABLE expired_posts AS SELECT platform, post_id, text, source_sha256 FROM posts t "
                f"WHERE coalesce(created_at, {ingested}) < ?", [cutoff])
    con.execute("CREATE OR REPLACE TEMP TABLE expired_accounts (platform VARCHAR, account_id VARCHAR)")
    in_expired = "EXISTS (SELECT 1 FROM expired_posts e WHERE e.platform = t.platform AND e.post_id = t.post_id)"
    delete("observations", f"collected_at < ? OR {in_expired}", [cutoff])
    delete("interactions", f"created_at < ? OR (post_id <> '' AND {in_expired})", [cutoff])
    delete("posts", in_expired)
    for table in ("surveys", "audience_reports"):
        delete(table, f"{ingested} < ?", [cutoff])
    delete("rejects", f"{ingested} < ?", [cutoff])
    con.execute(
        "INSERT INTO expired_accounts SELECT platform, account_id FROM accounts a WHERE last_seen < ? "
        "AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.platform = a.platform AND p.account_id = a.account_id) "
        "AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.platform = a.platform AND a.account_id IN (i.src, i.dst)) "
        "AND NOT EXISTS (SELECT 1 FROM audience_reports r WHERE r.platform = a.platform AND r.account_id = a.account_id)",
        [cutoff])
    delete("accounts", "EXISTS (SELECT 1 FROM expired_accounts e WHERE e.platform = t.platform "
                       "AND e.account_id = t.account_id)")
    undated = {
        "accounts": con.execute("SELECT count(*) FROM accounts WHERE last_seen IS NULL").fetchall()[0][0],
        "interactions": con.execute("SELECT count(*) FROM interactions WHERE created_at IS NULL AND post_id = ''"
                                    ).fetchall()[0][0],
    }
    return {k: v for k, v in deleted.items() if v}, {k: v for k, v in undated.items() if v}


def _prune_analyses(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], list[str]]:
    """Per-post caches lose the expired posts; every other analysis table is dropped (``analyze`` rebuilds it)."""
    pruned: dict[str, int] = {}
    dropped = []
    for table in store.derived_tables(con):
        if table not in _PER_POST_CACHES:
            con.execute(f'DROP TABLE "{table}"')
            dropped.append(table)
        elif table != "text_embeddings":
            pruned[table] = con.execute(
                f'DELETE FROM "{table}" t WHERE EXISTS (SELECT 1 FROM expired_posts e '
                "WHERE e.platform = t.platform AND e.post_id = t.post_id)").fetchall()[0][0]
    if store.has_table(con, "text_embeddings") and store.has_table(con, "post_embeddings"):
        pruned["text_embeddings"] = con.execute(
            "DELETE FROM text_embeddings t WHERE NOT EXISTS (SELECT 1 FROM post_embeddings e "
            "WHERE e.text_key = t.text_key)").fetchall()[0][0]
    return {k: v for k, v in pruned.items() if v}, dropped


def _expired_archives(cons: list[duckdb.DuckDBPyConnection], cutoff: datetime,
                      emptied: set[str]) -> tuple[list[str], int]:
    """Hashes of the archived files to delete, and how many archived files stay: a file goes once nothing
    it brought is left and it was ingested before the cutoff or emptied by this run. The ``sources`` rows
    are in the store, or in the lake for files ingested on Spark."""
    referenced = _referenced_sources(cons)
    rows = [r for con in cons for r in con.execute(
        "SELECT sha256, ingested_at FROM sources WHERE archive_path IS NOT NULL").fetchall()]
    gone = sorted(sha for sha, at in rows if sha not in referenced and (at < cutoff or sha in emptied))
    return gone, len(rows) - len(gone)


def _referenced_sources(cons: list[duckdb.DuckDBPyConnection]) -> set[str]:
    referenced: set[str] = set()
    for con in cons:
        for table in _SOURCED_TABLES:
            if store.has_table(con, table):
                referenced |= {r[0] for r in con.execute(
                    f"SELECT DISTINCT source_sha256 FROM {table} WHERE source_sha256 IS NOT NULL").fetchall()}
    return referenced


def _redact_expired_from_kept_archives(ws: Workspace, cons: list[duckdb.DuckDBPyConnection],
                                       gone: set[str]) -> list[str]:
    """A file kept for its records within the period loses the expired posts and accounts it holds: their
    records are wiped, their texts replaced, as ``forget`` does for a person. Returns the files' hashes."""
    expired = Person()
    sources: set[str] = set()
    for con in cons:
        for post_id, text, sha in con.execute(
            "SELECT post_id, text, source_sha256 FROM expired_posts e WHERE source_sha256 IS NOT NULL"
        ).fetchall():
            expired.post_ids.add(post_id)
            sources.add(sha)
        # a text another kept post still has (a repost, a copy) stays in that post's record
        expired.post_texts |= {t for (t,) in con.execute(
            "SELECT DISTINCT text FROM expired_posts WHERE length(text) >= 12 "
            "AND text NOT IN (SELECT text FROM posts WHERE text IS NOT NULL)").fetchall()}
        expired.keys += con.execute("SELECT platform, account_id FROM expired_accounts").fetchall()
    kept = {r[0] for con in cons for r in con.execute(
        "SELECT sha256 FROM sources WHERE archive_path IS NOT NULL AND list_contains(?, sha256)", [sorted(sources)]
    ).fetchall()} - gone
    if not kept or not (expired.post_ids or expired.keys):
        return []
    return _redact_archive(ws, expired, only=kept)


def _remove_released_archives(ws: Workspace, cons: list[duckdb.DuckDBPyConnection]) -> None:
    """Delete the archived files whose source no longer has an archive: after the commit, so that a kill
    in between leaves a file to delete again on the next run, never a store pointing at a missing file."""
    released = {r[0] for con in cons for r in con.execute(
        "SELECT sha256 FROM sources WHERE archive_path IS NULL AND redacted").fetchall()}
    for archive in ws.raw_dir.glob("*/*"):
        if archive.is_file() and archive.name.split(".", 1)[0] in released:
            archive.unlink()


def _delete_all_outputs(ws: Workspace, dry_run: bool) -> int:
    """Snapshots, reports and exports were built from rows that have just expired: they all go."""
    deleted = 0
    for folder in (ws.snapshots_dir, ws.reports_dir, ws.exports_dir):
        for f in folder.rglob("*"):
            if f.is_file():
                if not dry_run:
                    f.unlink()
                deleted += 1
    if not dry_run:
        shutil.rmtree(ws.root / "tmp", ignore_errors=True)
    return deleted


def expire(ws: Workspace, cutoff: datetime, *, dry_run: bool = False) -> RetentionResult:
    """Delete every record past its retention period, i.e. dated before ``cutoff`` (see the module
    docstring), from the store, a local Spark lake, the raw archive and the outputs. With ``dry_run``
    the same deletions run inside a transaction that is rolled back, and no file is touched."""
    from confiance.engine import lake_files

    if cutoff.tzinfo is None:
        raise ConfianceError("the retention cutoff needs a time zone")
    with ws.lock():
        with _store_and_lake(ws) as (con, lake_con, lake, lake_tables):
            cons = [c for c in (con, lake_con) if c is not None]
            before = _referenced_sources(cons)
            for c in cons:
                c.execute("BEGIN TRANSACTION")
            deleted, undated = _expire_rows(con, cutoff)
            if lake_con is not None:
                in_lake, undated_lake = _expire_rows(lake_con, cutoff)
                deleted.update({f"lake/{t}": n for t, n in in_lake.items() if t in lake_tables})
                undated.update({f"lake/{t}": n for t, n in undated_lake.items()})
            pruned, dropped = _prune_analyses(con) if deleted else ({}, [])
            deleted.update(pruned)
            if lake_con is not None and any(t.startswith("lake/") for t in deleted):
                # analyses the Spark engine wrote to the lake: emptied, so write_back removes their folders
                for table in set(store.derived_tables(lake_con)) & set(lake_tables):
                    lake_con.execute(f'DELETE FROM "{table}"')
                    dropped.append(f"lake/{table}")
            gone, kept = _expired_archives(cons, cutoff, before - _referenced_sources(cons))
            redacted: list[str] = []
            if dry_run:
                for c in cons:
                    c.execute("ROLLBACK")
            else:
                redacted = _redact_expired_from_kept_archives(ws, cons, set(gone))
                released = {}
                for c in cons:
                    _mark_redacted(c, redacted)
                    released[id(c)] = c.execute(
                        "UPDATE sources SET archive_path = NULL, redacted = true WHERE list_contains(?, sha256)",
                        [gone]).fetchall()[0][0]
                    c.execute("COMMIT")
                con.execute("CHECKPOINT")
                if lake_con is not None and (released[id(lake_con)] or any(t.startswith("lake/") for t in deleted)):
                    lake_files.write_back(lake_con, lake, lake_tables)
                    lake_files.remove_scratch(lake)
                _remove_released_archives(ws, cons)
        files = 0
        if deleted or gone:
            if not dry_run:
                _rewrite_database(ws)
            files = _delete_all_outputs(ws, dry_run)
    result = RetentionResult(cutoff, deleted, undated, len(gone), kept, dropped, files, dry_run, len(redacted))
    if not dry_run:
        ws.audit("retention", cutoff=cutoff.isoformat(), rows_deleted=deleted, undated_rows_kept=undated,
                 archives_deleted=len(gone), archives_kept=kept, archives_redacted=len(redacted),
                 analysis_tables_dropped=len(dropped), files_deleted=files)
    return result
