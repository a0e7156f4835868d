"""How counts and accounts read in running text: "1 community", "3 communities", "@handle" (the report,
the dashboard and the CLI).

English is the default and needs no catalogue. Another language (``language="fr"``, the report's
``--lang``) takes the noun from the report's gettext catalogue with ``ngettext(noun, plural, n)``, so
the catalogue holds each noun pair (French: 0 and 1 take the singular), and writes the number in that
language's form ("1 234 comptes").
"""

from __future__ import annotations

import duckdb

#: Nouns whose plural is not the singular + "s".
_IRREGULAR = {"community": "communities", "day": "days", "reply": "replies", "entry": "entries",
              "category": "categories", "identity": "identities", "query": "queries"}


def plural(noun: str, language: str = "en") -> str:
    """The plural of ``noun``: English guessed from its last word ("link share" → "link shares"); in
    another language, the catalogue's plural of the English noun."""
    if language != "en":
        from confiance import i18n

        return i18n.translations(language).ngettext(noun, plural(noun), 2)
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


def counted(n: int | float | None, noun: str, plural_form: str | None = None, digits: int = 0,
            language: str = "en") -> str:
    """``n`` with its noun agreeing: singular for exactly 1, plural otherwise (0 accounts, 2 accounts).

    ``plural_form`` overrides the guessed plural (a noun phrase whose last word is not the head). In
    another ``language`` the noun is the catalogue's, agreeing by that language's plural rule (French:
    "0 compte", "1 compte", "2 comptes"), and the number is written in that language's form.
    """
    if language != "en":
        from confiance import i18n

        words = i18n.translations(language).ngettext(noun, plural_form or plural(noun), i18n.plural_count(n))
        with i18n.using(language):
            return f"{'–' if n is None else i18n.number(n, digits if isinstance(n, float) else 0)} {words}"
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
