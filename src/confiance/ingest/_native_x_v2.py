"""X API v2 pages (twarc2 JSON lines) staged by DuckDB SQL: the fast path of ``twitter_v2``.

The Python mapper (:mod:`confiance.ingest.twitter_v2`) stays the definition of the canonical rows;
this module produces exactly the same staged rows for the lines whose shape it can prove it maps
the same way, and hands every other line to that mapper, in file order:

1. Python reads bounded lines (line-length limit, any encoding, compression) and lays a chunk of
   them out as an Arrow column.
2. DuckDB parses each line twice, in parallel: ``json_structure`` (the merged type of every key)
   and ``from_json`` with the typed page structure below. A line is *fast* when its structure
   conforms to :data:`SHAPE` (every key the mapper reads has the type the SQL expects; ids are JSON
   strings, counts JSON integers within BIGINT), and none of the per-record conditions under which
   the mapper behaves specially holds (a record without id, an empty id, duplicate ``includes``
   entries, explicit ``null`` values, trailing commas, escaped control characters…).
3. Other lines (invalid JSON, too deep: ``json_structure`` fails there before orjson's limit,
   flattened tweets, odd types) go through the Python mapper, which rejects with line and reason.
4. Fast lines get the sequence numbers a serial read gives their records, so "first in the file
   wins" and "latest snapshot wins" tie-break exactly as in the Python path. The rows land in the
   engine's staging tables; suppression, accounting, merge and archive stay the engine's.

Text functions whose results depend on Python's Unicode rules (``str.lower`` on handles and tags,
``urlsplit`` for domains) are computed by SQL only for plain ASCII input and by the Python helpers
otherwise, through scalar functions registered on the connection.

Known difference: a JSON object with the same key twice keeps the first value in DuckDB and the
last in orjson (RFC 8259 leaves it undefined); such input is not detected.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa

from confiance.ingest._format import domain_of, parse_timestamp
from confiance.ingest._readers import BadItem, bounded_lines, line_chunks

#: lines per SQL pass are gathered up to this many bytes (bounds memory on any file size)
CHUNK_BYTES = 64 << 20
#: the lines of a chunk are parsed in this many slices, in parallel
PARSE_BATCHES = 16

_S, _I, _B = "VARCHAR", "HUGEINT", "BOOLEAN"
_METRICS = ("like_count", "retweet_count", "reply_count", "quote_count", "impression_count")
_USER_METRICS = ("followers_count", "following_count", "tweet_count", "listed_count")
_TWEET = {
    "id": _S, "author_id": _S, "created_at": _S, "text": _S, "lang": _S, "conversation_id": _S,
    "in_reply_to_user_id": _S,
    "referenced_tweets": [{"type": _S, "id": _S}],
    "entities": {"urls": [{"url": _S, "expanded_url": _S, "unwound_url": _S}], "hashtags": [{"tag": _S}],
                 "mentions": [{"username": _S, "id": _S}]},
    "public_metrics": {k: _I for k in _METRICS},
    "attachments": {"media_keys": [_S]},
    "note_tweet": {"text": _S},
    "source": _S, "possibly_sensitive": _B, "reply_settings": _S, "edit_history_tweet_ids": [_S],
}
_USER = {
    "id": _S, "username": _S, "name": _S, "description": _S, "url": _S, "location": _S, "created_at": _S,
    "public_metrics": {k: _I for k in _USER_METRICS}, "verified": _B, "profile_image_url": _S,
    "entities": {"url": {"urls": [{"expanded_url": _S}]}},
    "protected": _B, "verified_type": _S, "pinned_tweet_id": _S,
}
#: the typed structure ``from_json`` reads a page into
PAGE = {"data": [_TWEET], "includes": {"users": [_USER], "tweets": [_TWEET]}, "__twarc": {"retrieved_at": _S}}

#: keys the Python mapper reads that this path does not map: their presence sends a line to it
_UNMAPPED = {"author", "in_reply_to_user"}
_JSON_TYPES = {_S: {"VARCHAR"}, _I: {"UBIGINT", "BIGINT"}, _B: {"BOOLEAN"}}


def _conforms(shape: Any, spec: Any) -> bool:
    """Whether a ``json_structure`` result only uses the types ``spec`` reads (other keys are ignored:
    the mapper never reads them; an empty list's element type is NULL)."""
    if isinstance(spec, dict):
        if not isinstance(shape, dict):
            return False
        for key, sub in shape.items():
            if key in _UNMAPPED:
                return False
            if key in spec and not _conforms(sub, spec[key]):
                return False
        return True
    if isinstance(spec, list):
        return isinstance(shape, list) and (shape == ["NULL"] or _conforms(shape[0], spec[0]))
    return isinstance(shape, str) and shape in _JSON_TYPES[spec]


def _page_conforms(shape_text: str) -> bool:
    try:
        shape = orjson.loads(shape_text)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(shape, dict) or "data" not in shape:
        return False  # pages only; flattened tweets and metadata-only lines go to the mapper
    return _conforms(shape, PAGE)


def _python_lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _register_functions(con) -> None:
    for name, fn in (("confiance_py_lower", _python_lower), ("confiance_py_domain", domain_of)):
        try:
            con.create_function(name, fn, ["VARCHAR"], "VARCHAR", null_handling="special", side_effects=False)
        except Exception as exc:  # already registered on this connection
            if "already" not in str(exc).lower():
                raise


# Python's str.lower for ASCII is SQL lower(); other text goes through Python itself.
_LOWER = "(CASE WHEN strlen({0}) = length({0}) THEN lower({0}) ELSE confiance_py_lower({0}) END)"
# domain_of for plain http(s) URLs (host of letters, digits, dots, hyphens), else Python's.
_DOMAIN = ("(CASE WHEN regexp_matches({0}, '^(?i)https?://[A-Za-z0-9.-]+([/?#].*)?$', 's') THEN "
           "nullif(regexp_replace(rtrim(lower(regexp_extract({0}, '^(?i)https?://([A-Za-z0-9.-]+)', 1)), '.'), "
           "'^www\\.', ''), '') ELSE confiance_py_domain({0}) END)")


def _dedup(expr: str) -> str:
    """A list without repeats, first occurrence kept (``dict.fromkeys``)."""
    return f"list_filter({expr}, lambda x, i: list_position({expr}, x) = i)"


def _full_text(t: str) -> str:
    return f"coalesce(nullif({t}.note_tweet.text, ''), {t}.text, '')"


def _attributes(t: str, keys: tuple[str, ...]) -> str:
    """orjson.dumps({k: record[k] for k in keys if k in record}) or NULL (no explicit nulls reach here)."""
    parts = ", ".join(f"CASE WHEN {t}.{k} IS NOT NULL THEN '\"{k}\":' || to_json({t}.{k}) END" for k in keys)
    return f"nullif('{{' || concat_ws(',', {parts}) || '}}', '{{}}')"


_TWEET_ATTRIBUTES = ("source", "possibly_sensitive", "reply_settings", "edit_history_tweet_ids")
_USER_ATTRIBUTES = ("protected", "verified_type", "pinned_tweet_id")

_INT64 = "BETWEEN -9223372036854775808 AND 9223372036854775807"


def _raw_suspect_sql() -> str:
    """Per line, from its text: explicit nulls (the mapper tells a null key from a missing one),
    trailing commas (DuckDB accepts them, orjson does not), escaped control characters (orjson and
    DuckDB escape them differently in ``attributes``). Each test is cheap; false alarms only cost
    the Python mapper."""
    return (
        "(contains(line, 'null') AND regexp_matches(line, '[\\[:,]\\s*null'))"
        " OR ((contains(line, ',]') OR contains(line, ',}') OR contains(line, ', ') OR contains(line, e',\\t') "
        "     OR contains(line, e',\\r')) AND regexp_matches(line, ',\\s*[\\]}]'))"
        " OR contains(line, '\\u000') OR contains(line, '\\u001')"
    )


def _bad_tweet_sql(t: str) -> str:
    """A tweet the SQL would not map as the mapper does: no or empty id, empty author, reference
    without id or type, mention without id (the mapper then looks the handle up), count beyond BIGINT."""
    metrics = " AND ".join(f"coalesce({t}.public_metrics.{m} {_INT64}, true)" for m in _METRICS)
    return (
        f"NOT (coalesce({t}.id, '') <> '' AND coalesce({t}.author_id, 'x') <> '' AND coalesce({t}.in_reply_to_user_id, 'x') <> '' "
        f"AND coalesce(list_bool_and(list_transform({t}.referenced_tweets, lambda r: coalesce(r.id, '') <> '' AND r.type IS NOT NULL)), true) "
        f"AND coalesce(list_bool_and(list_transform({t}.entities.mentions, lambda m: coalesce(m.id, '') <> '')), true) "
        f"AND {metrics})"
    )


def _bad_user_sql(u: str) -> str:
    metrics = " AND ".join(f"coalesce({u}.public_metrics.{m} {_INT64}, true)" for m in _USER_METRICS)
    return f"NOT (coalesce({u}.id, 'None') NOT IN ('', 'None') AND {metrics})"


def _utf8_column(texts: list[bytes]) -> pa.Array:
    """The lines as an Arrow string column; a line that is not valid UTF-8 is NULL (the mapper
    rejects it with orjson's reason). Built as binary then cast, which validates the UTF-8: far
    cheaper than building a string array from bytes objects."""
    try:
        return pa.array(texts, pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        return pa.array([t if _is_utf8(t) else None for t in texts], pa.binary()).cast(pa.string())


def _is_utf8(text: bytes) -> bool:
    try:
        text.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def stage(run: Any) -> None:
    """Stage a twarc2 / API v2 JSON-lines file into ``run``'s staging tables (see the module doc)."""
    con = run.con
    _register_functions(con)
    for chunk in line_chunks(bounded_lines(run.opened, run.limits, run.progress), CHUNK_BYTES):
        _stage_chunk(run, con, chunk)


def _stage_chunk(run: Any, con: Any, chunk: list[tuple[int, bytes] | BadItem]) -> None:
    good = [entry for entry in chunk if not isinstance(entry, BadItem)]
    lines = pa.table({"line_no": pa.array([n for n, _ in good], pa.int64()),
                      "line": _utf8_column([text for _, text in good])})
    # DuckDB scans an Arrow table one batch per thread: a few hundred long lines would be one batch
    lines = pa.Table.from_batches(lines.to_batches(max_chunksize=max(1, -(-len(good) // PARSE_BATCHES))),
                                  lines.schema)
    con.register("_xv2_lines", lines)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _xv2_parsed AS "
            f"SELECT line_no, shape, CASE WHEN starts_with(shape, '{{') THEN from_json(line, '{orjson.dumps(PAGE).decode()}') END AS p "
            "FROM (SELECT line_no, line, try(json_structure(line)) AS shape FROM _xv2_lines WHERE line IS NOT NULL)"
        )
        # a query of its own: inside the parsing one, these tests cost twice as much
        raw_suspects = {n for (n,) in con.execute(
            f"SELECT line_no FROM _xv2_lines WHERE line IS NOT NULL AND ({_raw_suspect_sql()})").fetchall()}
    finally:
        con.unregister("_xv2_lines")
    for sql in (
        # the `includes` of every parsed page, flat (users and tweets by id); records are unnested
        # for the fast pages only (a table of every page's records would be one more copy of them)
        "CREATE OR REPLACE TEMP TABLE _xv2_user AS SELECT line_no, u.id AS id, u FROM "
        "(SELECT line_no, unnest(p.includes.users) AS u FROM _xv2_parsed WHERE p IS NOT NULL)",
        "CREATE OR REPLACE TEMP TABLE _xv2_inc AS SELECT line_no, t.id AS id, t FROM "
        "(SELECT line_no, unnest(p.includes.tweets) AS t FROM _xv2_parsed WHERE p IS NOT NULL)",
    ):
        con.execute(sql)
    suspects = (
        f"SELECT line_no FROM _xv2_parsed WHERE list_bool_or(list_transform(p.data, lambda t: {_bad_tweet_sql('t')})) "
        f"UNION SELECT line_no FROM _xv2_inc GROUP BY line_no HAVING bool_or({_bad_tweet_sql('t')}) OR count(DISTINCT id) <> count(*) "
        f"UNION SELECT line_no FROM _xv2_user GROUP BY line_no HAVING bool_or({_bad_user_sql('u')}) OR count(DISTINCT id) <> count(*)"
    )
    rows = con.execute(
        f"WITH s AS ({suspects}) SELECT line_no, shape, p.__twarc.retrieved_at, len(p.data), "
        "line_no IN (SELECT line_no FROM s) FROM _xv2_parsed"
    ).fetchall()
    facts = {line_no: (shape, retrieved_at, n, suspect or line_no in raw_suspects)
             for line_no, shape, retrieved_at, n, suspect in rows}
    conforming: dict[str, bool] = {}
    collected: dict[str | None, str | None] = {None: run.ctx.collected_at, "": run.ctx.collected_at}
    fast_lines, fast_seq, fast_observed = [], [], []
    for entry in chunk:
        fact = None if isinstance(entry, BadItem) else facts.get(entry[0])
        fast = False
        if fact is not None and fact[0] is not None and fact[3] is False and fact[2] is not None:
            shape, retrieved_at = fact[0], fact[1]
            if shape not in conforming:
                conforming[shape] = _page_conforms(shape)
            if retrieved_at not in collected:
                try:
                    collected[retrieved_at] = parse_timestamp(retrieved_at) or run.ctx.collected_at
                except Exception:
                    collected[retrieved_at] = None  # the mapper rejects the page, with its reason
            fast = conforming[shape] and collected[retrieved_at] is not None
        if fast:
            fast_lines.append(entry[0])
            fast_seq.append(run.records)
            fast_observed.append(collected[fact[1]])
            run.records += fact[2]
        else:
            run.map_line(entry)
    if fast_lines:
        con.register("_xv2_fast_rows", pa.table({"line_no": pa.array(fast_lines, pa.int64()),
                                                "seq_base": pa.array(fast_seq, pa.int64()),
                                                "observed_at": pa.array(fast_observed, pa.string())}))
        try:
            _map_pages(run, con)
        finally:
            con.unregister("_xv2_fast_rows")
    for table in ("_xv2_parsed", "_xv2_user", "_xv2_inc"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _map_pages(run: Any, con: Any) -> None:
    posts, accounts, interactions = (run.ensure_stage(t) for t in ("posts", "accounts", "interactions"))
    statements = [
        # records of fast pages, numbered as a serial read numbers them
        "CREATE OR REPLACE TEMP TABLE _xv2_record AS SELECT line_no, observed_at, seq_base + i AS seq, i - 1 AS item, t FROM "
        "(SELECT line_no, generate_subscripts(p.data, 1) AS i, unnest(p.data) AS t FROM _xv2_parsed) JOIN _xv2_fast_rows USING (line_no)",
        # context tweets: those `includes` holds within three references of the record's tweet
        "CREATE OR REPLACE TEMP TABLE _xv2_context AS "
        "WITH RECURSIVE hop(line_no, seq, root, id, depth) AS ("
        "  SELECT r.line_no, r.seq, r.root, i.id, 1 FROM "
        "    (SELECT line_no, seq, t.id AS root, unnest(t.referenced_tweets).id AS ref FROM _xv2_record) r "
        "    JOIN _xv2_inc i ON i.line_no = r.line_no AND i.id = r.ref "
        "  UNION "
        "  SELECT h.line_no, h.seq, h.root, i.id, h.depth + 1 FROM "
        "    (SELECT h.*, unnest(c.t.referenced_tweets).id AS ref FROM hop h JOIN _xv2_inc c ON c.line_no = h.line_no AND c.id = h.id "
        "     WHERE h.depth < 3 AND h.id <> h.root) h JOIN _xv2_inc i ON i.line_no = h.line_no AND i.id = h.ref"
        ") SELECT DISTINCT line_no, seq, id FROM hop WHERE id <> root",
    ]
    for sql in statements:
        con.execute(sql)
    # every tweet emitted, the record's own (primary) and its context tweets, as flat columns
    emitted = ("SELECT line_no, seq, item, true AS is_primary, observed_at, t FROM _xv2_record "
               "UNION ALL SELECT c.line_no, c.seq, r.item, false, r.observed_at, i.t FROM _xv2_context c "
               "JOIN _xv2_record r ON r.line_no = c.line_no AND r.seq = c.seq "
               "JOIN _xv2_inc i ON i.line_no = c.line_no AND i.id = c.id")
    refs = "list_filter(coalesce(t.referenced_tweets, []), lambda r: r.type IN ('retweeted', 'replied_to', 'quoted'))"
    kind = ("CASE WHEN list_contains(types, 'retweeted') THEN 'repost' WHEN list_contains(types, 'replied_to') THEN 'reply' "
            "WHEN list_contains(types, 'quoted') THEN 'quote' ELSE 'post' END")
    parent_id = ("CASE kind WHEN 'repost' THEN list_filter(refs, lambda r: r.type = 'retweeted')[1].id "
                 "WHEN 'reply' THEN list_filter(refs, lambda r: r.type = 'replied_to')[1].id "
                 "WHEN 'quote' THEN list_filter(refs, lambda r: r.type = 'quoted')[1].id END")
    urls = ("list_filter(list_transform(coalesce(t.entities.urls, []), lambda u: coalesce(nullif(u.unwound_url, ''), "
            "nullif(u.expanded_url, ''), nullif(u.url, ''))), lambda u: u IS NOT NULL)")
    hashtags = ("list_transform(list_filter(coalesce(t.entities.hashtags, []), lambda h: coalesce(h.tag, '') <> ''), "
                f"lambda h: {_LOWER.format('h.tag')})")
    mentions = ("list_transform(list_filter(coalesce(t.entities.mentions, []), lambda m: coalesce(m.username, '') <> ''), "
                f"lambda m: {_LOWER.format('m.username')})")
    parent_handle = "pu.u.username"
    text = (f"CASE WHEN kind = 'repost' AND par.id IS NOT NULL THEN "
            f"CASE WHEN coalesce({parent_handle}, '') <> '' THEN 'RT @' || {parent_handle} || ': ' || {_full_text('par.t')} "
            f"ELSE {_full_text('par.t')} END ELSE {_full_text('e.t')} END")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _xv2_emit AS "
        "SELECT e.line_no, e.seq, e.item, e.is_primary, e.observed_at, e.t.id AS post_id, e.t.author_id AS author, "
        "nullif(e.t.created_at, '') AS created_at, e.kind, e.parent_id, "
        "CASE WHEN e.kind = 'reply' AND e.t.in_reply_to_user_id IS NOT NULL THEN e.t.in_reply_to_user_id ELSE par.t.author_id END "
        f"AS parent_author, {text} AS text, e.t.lang AS lang, e.t.conversation_id AS root_post_id, e.urls, e.hashtags, e.mentions, "
        "coalesce(len(e.t.attachments.media_keys), 0) AS media_count, e.t.public_metrics AS metrics, "
        f"{_attributes('e.t', _TWEET_ATTRIBUTES)} AS attributes, e.t.in_reply_to_user_id AS reply_to, e.refs, "
        "e.t.entities.mentions AS mentioned FROM ("
        f"  SELECT *, {parent_id} AS parent_id FROM (SELECT *, {kind} AS kind FROM ("
        f"    SELECT *, list_transform(refs, lambda r: r.type) AS types FROM ("
        f"      SELECT *, {refs} AS refs, {urls} AS urls, {hashtags} AS hashtags, {mentions} AS mentions FROM ({emitted}))))) e "
        "LEFT JOIN _xv2_inc par ON par.line_no = e.line_no AND par.id = e.parent_id "
        "LEFT JOIN _xv2_user pu ON pu.line_no = e.line_no AND pu.id = par.t.author_id"
    )
    con.execute(
        f"INSERT INTO {posts} (platform, post_id, account_id, created_at, text, lang, kind, parent_post_id, parent_account_id, "
        "root_post_id, url, urls, domains, hashtags, mentions, media_count, likes, reposts, replies, quotes, views, attributes, "
        "observed_at, _seq, _line, _item, _primary) "
        "SELECT 'x', post_id, author, created_at, text, lang, kind, parent_id, parent_author, root_post_id, "
        f"'https://x.com/i/status/' || post_id, urls, {_dedup('domains')}, {_dedup('hashtags')}, {_dedup('mentions')}, media_count, "
        "metrics.like_count, metrics.retweet_count, metrics.reply_count, metrics.quote_count, metrics.impression_count, "
        "attributes, observed_at, seq, line_no, item, is_primary FROM ("
        f"  SELECT *, list_filter(list_transform(urls, lambda u: {_DOMAIN.format('u')}), lambda d: d IS NOT NULL) AS domains "
        "  FROM _xv2_emit)"
    )
    # interactions: references (reply targets named by in_reply_to_user_id), then mentions
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _xv2_edge AS "
        "SELECT r.line_no, r.seq, r.item, r.author AS src, "
        "  coalesce(CASE WHEN r.ref.type = 'replied_to' THEN r.reply_to END, i.t.author_id) AS dst, "
        "  CASE r.ref.type WHEN 'retweeted' THEN 'repost' WHEN 'quoted' THEN 'quote' ELSE 'reply' END AS kind, r.post_id, r.created_at "
        "FROM (SELECT line_no, seq, item, author, reply_to, post_id, created_at, unnest(refs) AS ref "
        "      FROM _xv2_emit WHERE author IS NOT NULL) r "
        "LEFT JOIN _xv2_inc i ON i.line_no = r.line_no AND i.id = r.ref.id "
        "UNION ALL "
        "SELECT line_no, seq, item, author, m.id, 'mention', post_id, created_at FROM ("
        "  SELECT line_no, seq, item, author, post_id, created_at, kind, parent_author, unnest(mentioned) AS m "
        "  FROM _xv2_emit WHERE author IS NOT NULL) "
        "WHERE NOT (kind = 'repost' AND m.id IS NOT DISTINCT FROM parent_author)"
    )
    con.execute(
        f"INSERT INTO {interactions} (platform, src, dst, kind, post_id, created_at, _seq, _line, _item, _primary) "
        "SELECT 'x', src, dst, kind, post_id, created_at, seq, line_no, item, false FROM _xv2_edge WHERE dst IS NOT NULL"
    )
    # accounts: each user a page's records name (authors, reference targets, mentions), once per page
    avatar = "nullif(u.profile_image_url, '')"
    con.execute(
        f"INSERT INTO {accounts} (platform, account_id, handle, display_name, bio, url, location, created_at, followers, "
        "following, posts_count, listed, verified, default_avatar, attributes, observed_at, _seq, _line, _item, _primary) "
        f"SELECT 'x', a.id, nullif({_LOWER.format('u.username')}, ''), u.name, u.description, "
        "coalesce(nullif(u.entities.url.urls[1].expanded_url, ''), nullif(u.url, '')), u.location, nullif(u.created_at, ''), "
        "u.public_metrics.followers_count, u.public_metrics.following_count, u.public_metrics.tweet_count, "
        f"u.public_metrics.listed_count, u.verified, CASE WHEN {avatar} IS NOT NULL THEN contains({avatar}, 'default_profile_images') END, "
        f"{_attributes('u', _USER_ATTRIBUTES)}, f.observed_at, a.seq, a.line_no, a.item, false "
        "FROM (SELECT line_no, id, min(seq) AS seq, arg_min(item, seq) AS item FROM ("
        "  SELECT line_no, seq, item, author AS id FROM _xv2_emit WHERE author IS NOT NULL "
        "  UNION ALL SELECT line_no, seq, item, dst FROM _xv2_edge WHERE dst IS NOT NULL) GROUP BY line_no, id) a "
        "JOIN _xv2_fast_rows f ON f.line_no = a.line_no "
        "LEFT JOIN (SELECT line_no AS u_line, id AS u_id, u FROM _xv2_user) ON u_line = a.line_no AND u_id = a.id"
    )
    for table in ("_xv2_record", "_xv2_context", "_xv2_emit", "_xv2_edge"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
