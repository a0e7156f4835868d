"""The dashboard's tables: one registered :class:`TableView` per analysis output.

A view is a SQL query over the store plus typed columns. The same view serves the HTML table, its
JSON API route and its CSV download, so the three always agree. Sorting and filtering run in DuckDB
on whitelisted column names with bound parameters; pages are bounded. Later analyses add theirs with
:func:`register_view`.

Titles, descriptions and column labels are English messages marked with ``N_``: pages show them in
their reader's language (the ``translate`` filter), the JSON API and the CSV as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import duckdb

from confiance.i18n import N_
from confiance.report.coordination import kind_label
from confiance.report.disclosure import disclosure_label, verdict_label
from confiance.report.trust import rating_label, type_label
from confiance.store import has_table

MAX_PAGE = 500
DEFAULT_PAGE = 50
#: Bounds of a page request (beyond DuckDB's BIGINT an OFFSET is an error, not an empty page).
MAX_OFFSET = 10_000_000
MAX_QUERY = 200
#: Column kinds: how a cell renders (text is always escaped; links only for http(s) URLs; a share in
#: [0, 1] reads as a percentage on the page, and stays the stored fraction in the JSON and CSV; evidence
#: JSON reads as text on the page (accounts by handle, as on the account page) and stays JSON in the API).
#: A probability reads to 3 decimals, never as a certainty ("> 0.999").
KINDS = ("text", "number", "share", "probability", "account", "list", "url", "time", "evidence")
#: Kinds that sort as numbers (largest first) and align right.
NUMERIC_KINDS = ("number", "share", "probability")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str = "text"
    #: personal data hidden in pseudonymised mode (display names, bios, free text, post ids: a post id
    #: names its author on the platform)
    personal: bool = False
    #: how the page names a stored code (an analysis's enumeration: verdict, kind, type) in the reader's
    #: language; the filter, the sort, the CSV and the API keep the code
    labels: Callable[[str], str] | None = None


@dataclass(frozen=True)
class TableView:
    key: str
    title: str
    requires: str
    #: the query, or a function of the connection for views that join what this snapshot has
    sql: str | Callable[[duckdb.DuckDBPyConnection], str]
    columns: tuple[Column, ...]
    default_sort: str
    description: str = ""
    descending: bool = True

    def available(self, con: duckdb.DuckDBPyConnection) -> bool:
        return has_table(con, self.requires)

    def query(self, con: duckdb.DuckDBPyConnection) -> str:
        return self.sql(con) if callable(self.sql) else self.sql

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


_VIEWS: dict[str, TableView] = {}


def register_view(view: TableView) -> TableView:
    unknown = [c.kind for c in view.columns if c.kind not in KINDS]
    if unknown:
        raise ValueError(f"view {view.key}: unknown column kinds {unknown}")
    _VIEWS[view.key] = view
    return view


def all_views() -> list[TableView]:
    return list(_VIEWS.values())


def view_named(key: str) -> TableView | None:
    return _VIEWS.get(key)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    sort: str
    descending: bool
    query: str


def _filtered(con: duckdb.DuckDBPyConnection, view: TableView, query: str, hide_personal: bool) -> tuple[str, list[Any]]:
    sql = f"SELECT * FROM ({view.query(con)}) v"
    if not query:
        return sql, []
    # pseudonymised: no search on real handles either (typing a handle would reveal its pseudonym)
    searchable = [c.name for c in view.columns if c.kind in ("text", "account", "list", "evidence")
                  and not (hide_personal and (c.personal or c.kind == "account"))]
    if not searchable:
        return sql, []
    clauses = [f"CAST(v.\"{name}\" AS VARCHAR) ILIKE ?" for name in searchable]
    params: list[Any] = [f"%{query}%"] * len(searchable)
    # a stored code is also found by the label the reader sees ("catégorie interdite" for banned_category)
    for column in view.columns:
        if column.labels and column.name in searchable:
            codes = [code for (code,) in con.execute(f"SELECT DISTINCT \"{column.name}\" FROM ({view.query(con)}) v "
                                                     f"WHERE \"{column.name}\" IS NOT NULL").fetchall()
                     if query.casefold() in str(column.labels(code)).casefold()]
            if codes:
                clauses.append(f"v.\"{column.name}\" IN (SELECT unnest(?))")
                params.append(codes)
    return f"{sql} WHERE {' OR '.join(clauses)}", params


def page(con: duckdb.DuckDBPyConnection, view: TableView, *, sort: str | None = None, descending: bool | None = None,
         query: str = "", offset: int = 0, limit: int = DEFAULT_PAGE, hide_personal: bool = False) -> Page:
    """One bounded, sorted, filtered page of ``view`` (unknown sort columns fall back to the default)."""
    sort = sort if sort and view.column(sort) else view.default_sort
    descending = view.descending if descending is None else descending
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    sql, params = _filtered(con, view, query, hide_personal)
    total = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()[0][0]
    order = f"\"{sort}\" {'DESC' if descending else 'ASC'} NULLS LAST"
    cursor = con.execute(f"{sql} ORDER BY {order} LIMIT {limit} OFFSET {offset}", params)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    return Page(rows, total, offset, limit, sort, descending, query)


def all_rows(con: duckdb.DuckDBPyConnection, view: TableView, *, sort: str | None = None, descending: bool | None = None,
             query: str = "", hide_personal: bool = False, batch: int = 10_000) -> Iterator[dict[str, Any]]:
    """Every row of the filtered view in the page's order, streamed in batches (the CSV download)."""
    sort = sort if sort and view.column(sort) else view.default_sort
    descending = view.descending if descending is None else descending
    sql, params = _filtered(con, view, query, hide_personal)
    cursor = con.execute(f"{sql} ORDER BY \"{sort}\" {'DESC' if descending else 'ASC'} NULLS LAST", params)
    names = [d[0] for d in cursor.description]
    while chunk := cursor.fetchmany(batch):
        for row in chunk:
            yield dict(zip(names, row))


# -- built-in views ---------------------------------------------------------------------------------
def _accounts_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Accounts joined with the analyses this snapshot has (absent ones read as NULL)."""
    select = ["a.platform", "a.account_id", "a.handle", "a.display_name", "a.followers", "a.posts_count"]
    joins = []
    for table, alias, columns in (("overview_accounts", "o", ("posts AS posts_seen", "unique_engagers")),
                                  ("communities", "c", ("community",)),
                                  ("influence_scores", "i", ("influence",))):
        if has_table(con, table):
            joins.append(f"LEFT JOIN {table} {alias} USING (platform, account_id)")
            select += [f"{alias}.{c}" for c in columns]
        else:
            select += [f"NULL AS {c.split(' AS ')[-1]}" for c in columns]
    return f"SELECT {', '.join(select)} FROM accounts a {' '.join(joins)}"


register_view(TableView(
    key="accounts", title=N_("Accounts"), requires="accounts",
    description=N_("Every account, with its community and influence when the analyses have run."),
    sql=_accounts_sql,
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("display_name", N_("Name"), personal=True), Column("followers", N_("Followers"), "number"),
             Column("posts_seen", N_("Posts"), "number"), Column("unique_engagers", N_("Engagers"), "number"),
             Column("community", N_("Community"), "number"), Column("influence", N_("Influence"), "number")),
    default_sort="followers",
))
register_view(TableView(
    key="influencers", title=N_("Influencers"), requires="influence_scores",
    description=N_("Influence: weighted mean of followers, engagers, engagement per post, amplification and authority, "
                   "each on a log scale relative to the platform's top account; the report explains each rank."),
    sql="""SELECT platform, account_id, handle, rank, influence, followers, unique_engagers, amplification, authority,
                  engagement_rate, coreness FROM influence_scores""",
    columns=(Column("rank", N_("Rank"), "number"), Column("platform", N_("Platform")),
             Column("handle", N_("Account"), "account"),
             Column("influence", N_("Influence"), "number"), Column("followers", N_("Followers"), "number"),
             Column("unique_engagers", N_("Engagers"), "number"),
             Column("amplification", N_("Amplification"), "number"),
             Column("authority", N_("Authority"), "number"), Column("engagement_rate", N_("Engagement rate"), "share"),
             Column("coreness", N_("Coreness"), "number")),
    default_sort="rank", descending=False,
))
register_view(TableView(
    key="communities", title=N_("Communities"), requires="community_profiles",
    description=N_("Communities found by Leiden, with what characterises each."),
    sql="""SELECT community, size, top_accounts[1:5] AS top_accounts, top_hashtags, top_domains, top_terms, first_post,
                  last_post FROM community_profiles""",
    columns=(Column("community", N_("Community"), "number"), Column("size", N_("Accounts"), "number"),
             # handles, not pseudonymised one by one: hidden in pseudonymised mode
             Column("top_accounts", N_("Top accounts"), "list", personal=True),
             Column("top_hashtags", N_("Hashtags"), "list"), Column("top_domains", N_("Domains"), "list"),
             Column("top_terms", N_("Terms"), "list", personal=True), Column("first_post", N_("First post"), "time"),
             Column("last_post", N_("Last post"), "time")),
    default_sort="size",
))
register_view(TableView(
    key="sources", title=N_("Sources"), requires="sources",
    description=N_("Ingested files, each checked against its accounting: read = stored + duplicates + rejected."),
    sql="SELECT format, records_read, stored, duplicates, rejected, ingested_at, sha256 FROM sources",
    columns=(Column("format", N_("Format")), Column("records_read", N_("Read"), "number"),
             Column("stored", N_("Stored"), "number"),
             Column("duplicates", N_("Duplicates"), "number"), Column("rejected", N_("Rejected"), "number"),
             Column("ingested_at", N_("Ingested"), "time"), Column("sha256", N_("SHA-256"))),
    default_sort="ingested_at",
))


# -- integrity --------------------------------------------------------------------------------------
register_view(TableView(
    key="bots", title=N_("Bot likelihood"), requires="bot_scores",
    description=N_("Calibrated bot probability per account (read it as a ranking); evidence: each feature's contribution."),
    sql="""SELECT b.platform, b.account_id, a.handle, b.score, b.label, CAST(b.evidence AS VARCHAR) AS evidence
           FROM bot_scores b LEFT JOIN accounts a USING (platform, account_id)""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("score", N_("Bot probability"), "probability"),
             Column("label", N_("Flagged")), Column("evidence", N_("Evidence"), "evidence")),
    default_sort="score",
))
register_view(TableView(
    key="disclosure-accounts", title=N_("Disclosure by account"), requires="disclosure_accounts",
    description=N_("French influencer law: paid share and undisclosed share of each account's posts."),
    sql="""SELECT d.platform, d.account_id, a.handle, d.posts, d.commercial_posts, d.undisclosed_posts, d.unclear_posts,
                  d.banned_posts, d.paid_share, d.undisclosed_share
           FROM disclosure_accounts d LEFT JOIN accounts a USING (platform, account_id)""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("posts", N_("Posts"), "number"),
             Column("commercial_posts", N_("Commercial"), "number"),
             Column("undisclosed_posts", N_("Undisclosed"), "number"),
             Column("unclear_posts", N_("Unclear"), "number"), Column("banned_posts", N_("Banned category"), "number"),
             Column("paid_share", N_("Paid share"), "share"),
             Column("undisclosed_share", N_("Undisclosed share"), "share")),
    default_sort="undisclosed_posts",
))
register_view(TableView(
    key="disclosure-posts", title=N_("Disclosure audit"), requires="disclosure_posts",
    description=N_("Commercial posts with their verdict, the rule and the text span behind it."),
    sql="""SELECT d.platform, d.account_id, a.handle, d.post_id, d.verdict, d.disclosure, p.text,
                  CAST(d.findings AS VARCHAR) AS findings
           FROM disclosure_posts d LEFT JOIN accounts a USING (platform, account_id)
           LEFT JOIN posts p USING (platform, post_id) WHERE d.commercial""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("post_id", N_("Post"), personal=True),
             Column("verdict", N_("Verdict"), labels=verdict_label),
             Column("disclosure", N_("Mention"), labels=disclosure_label),
             Column("text", N_("Text"), personal=True),
             Column("findings", N_("Evidence"), "evidence", personal=True)),
    default_sort="verdict", descending=False,
))
register_view(TableView(
    key="coordination", title=N_("Coordinated behaviour"), requires="coordination_edges",
    description=N_("Pairs of accounts that repeatedly acted on the same object within the window; evidence: the posts."),
    sql="""SELECT e.platform, e.a AS account_id, a.handle, e.b, b.handle AS b_handle, e.kind, e.weight,
                  array_to_string(e.evidence[1:10], ' ') AS evidence
           FROM coordination_edges e LEFT JOIN accounts a ON a.platform = e.platform AND a.account_id = e.a
           LEFT JOIN accounts b ON b.platform = e.platform AND b.account_id = e.b""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("b_handle", N_("With"), personal=True),
             Column("kind", N_("Kind"), labels=kind_label), Column("weight", N_("Shared objects"), "number"),
             Column("evidence", N_("Evidence posts"), personal=True)),
    default_sort="weight",
))
register_view(TableView(
    key="harm", title=N_("Harmful-influence profiles"), requires="harm_profiles",
    description=N_("Bot amplification of the audience, coordinated group, low-credibility links, undisclosed ads "
                "(polarisation positions are shown only in aggregate)."),
    sql="""SELECT platform, account_id, handle, engagements, bot_amplification_share, coordinated_group,
                  low_credibility_share, undisclosed_share FROM harm_profiles""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"),
             Column("engagements", N_("Engagements"), "number"),
             Column("bot_amplification_share", N_("Bot amplification"), "share"),
             Column("coordinated_group", N_("Coordinated group")),
             Column("low_credibility_share", N_("Low-credibility links"), "share"),
             Column("undisclosed_share", N_("Undisclosed ads"), "share")),
    default_sort="engagements",
))
register_view(TableView(
    key="account-types", title=N_("Account types"), requires="account_types",
    description=N_("Individual expert, professional creator, media, brand, institution or other, with the cues that fired."),
    sql="""SELECT platform, account_id, handle, type, confidence, CAST(evidence AS VARCHAR) AS evidence FROM account_types""",
    columns=(Column("platform", N_("Platform")), Column("handle", N_("Account"), "account"), Column("type", N_("Type"), labels=type_label),
             Column("confidence", N_("Confidence"), "number"),
             Column("evidence", N_("Evidence"), "evidence", personal=True)),
    default_sort="confidence",
))
register_view(TableView(
    key="url-cascades", title=N_("Link cascades"), requires="url_cascades",
    description=N_("Each shared URL: credibility of its domain, who shared it first, reach and the shape of its repost trees."),
    sql="""SELECT platform, url, domain, rating, first_account_id AS account_id, first_handle, accounts, posts, reposts,
                  followers_reach, depth, structural_virality FROM url_cascades""",
    columns=(Column("domain", N_("Domain")), Column("url", N_("URL"), "url"), Column("rating", N_("Credibility"), labels=rating_label),
             Column("first_handle", N_("First sharer"), "account"), Column("accounts", N_("Accounts"), "number"),
             Column("reposts", N_("Reposts"), "number"), Column("followers_reach", N_("Follower reach"), "number"),
             Column("depth", N_("Depth"), "number"),
             Column("structural_virality", N_("Structural virality"), "number")),
    default_sort="accounts",
))
