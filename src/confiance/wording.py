"""How counts and accounts read in running text: "1 community", "3 communities", "@handle" (the report,
the dashboard and the CLI)."""

from __future__ import annotations

import duckdb

#: Nouns whose plural is not the singular + "s".
_IRREGULAR = {"community": "communities", "day": "days", "reply": "replies", "entry": "entries",
              "category": "categories", "identity": "identities", "query": "queries"}


def plural(noun: str) -> str:
    """The English plural of ``noun`` (the last word only: "link share" → "link shares")."""
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    elif last.endswith(("s", "x", "ch", "sh")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def counted(n: int | float | None, noun: str, plural_form: str | None = None, digits: int = 0) -> str:
    """``n`` with its noun agreeing: singular for exactly 1, plural otherwise (0 accounts, 2 accounts).

    ``plural_form`` overrides the guessed plural (a noun phrase whose last word is not the head).
    """
    if n is None:
        return f"– {plural_form or plural(noun)}"
    shown = f"{n:,.{digits}f}" if isinstance(n, float) else f"{n:,}"
    return f"{shown} {noun if n == 1 else (plural_form or plural(noun))}"


def account_name(handle: str | None, account_id: str | None = None) -> str:
    """An account as running text names it: ``@handle``; without a handle its id, without "@".

    Sections that fall back to the id in SQL (``coalesce(handle, account_id)``) pass that value as
    ``handle``: a Bluesky DID (``did:plc:…``) is an identifier, not a handle, so it gets no "@".
    """
    if handle and not handle.startswith("did:"):
        return f"@{handle}"
    return handle or account_id or ""


def handles_of(con: duckdb.DuckDBPyConnection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The handle of each (platform, account_id) that has one, for naming accounts kept by id in evidence."""
    if not keys:
        return {}
    platforms, ids = zip(*sorted(keys))
    return {(p, a): h for p, a, h in con.execute(
        "SELECT k.platform, k.account_id, any_value(a.handle) FROM (SELECT unnest(?) AS platform, unnest(?) AS account_id) k "
        "JOIN accounts a USING (platform, account_id) WHERE a.handle IS NOT NULL AND a.handle <> '' GROUP BY ALL",
        [list(platforms), list(ids)]).fetchall()}
