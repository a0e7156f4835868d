"""French words compared whatever their accents: ``"Génial"`` → ``"Genial"``.

The sentiment lexicons, the negation idioms, the topics' stop words and the campaign plan's interests
compare folded words. Free text typed in profiles and captions (a declared location, a display name, a
post searched for words to avoid) also uses stylised letters that only compatibility decomposition
reads: :func:`fold_compatibility`.
(The share-of-voice query language folds as DuckDB's ``strip_accents`` does, on both sides of one SQL
comparison: :func:`confiance.text.trends.fold`.)
"""

from __future__ import annotations

import sys
import unicodedata
from functools import lru_cache


def fold_accents(text: str) -> str:
    """``"Génial"`` → ``"Genial"``: canonical decomposition, nonspacing marks removed."""
    if text.isascii():  # nothing to decompose
        return text
    return unicodedata.normalize("NFD", text).translate(_nonspacing_marks())


def fold_compatibility(text: str) -> str:
    """``"𝐋𝐲𝐨𝐧, Ｆｒａｎｃｅ"`` → ``"Lyon, France"``: :func:`fold_accents` that also reads compatibility forms.

    Compatibility decomposition (NFKD) turns mathematical and full-width letters, ligatures (``ﬁ``),
    superscripts (``²`` → ``2``), symbols (``™`` → ``TM``) and no-break spaces into their plain
    characters. The result can be longer or shorter than the text: never use its offsets on the text.
    """
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_nonspacing_marks())


@lru_cache(maxsize=1)
def _nonspacing_marks() -> dict[int, None]:
    """``str.translate`` table deleting every nonspacing mark (category Mn): one C call per text."""
    return {point: None for point in range(sys.maxunicode + 1) if unicodedata.category(chr(point)) == "Mn"}
