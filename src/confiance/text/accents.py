"""French words compared whatever their accents: ``"Génial"`` → ``"Genial"``.

The sentiment lexicons, the negation idioms and the topics' stop words all compare folded words.
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


@lru_cache(maxsize=1)
def _nonspacing_marks() -> dict[int, None]:
    """``str.translate`` table deleting every nonspacing mark (category Mn): one C call per text."""
    return {point: None for point in range(sys.maxunicode + 1) if unicodedata.category(chr(point)) == "Mn"}
