"""Language identification per post (py3langid, restricted to a configurable language set).

Very short texts carry too little signal: below ``min_chars`` letters, or when the winning language's
probability is under ``min_confidence``, the outcome is ``"und"`` (undetermined, the BCP 47 code).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

DEFAULT_LANGUAGES: tuple[str, ...] = ("fr", "en", "de", "es", "it", "pt", "nl", "ar")
UNKNOWN = "und"


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    return identifier


def identify(texts: Sequence[str], *, languages: Sequence[str] = DEFAULT_LANGUAGES, min_chars: int = 12,
             min_confidence: float = 0.5) -> list[tuple[str, float]]:
    """``(language, probability)`` per text; ``("und", 0.0)`` when the text is too short to tell."""
    identifier = _identifier(tuple(languages))
    out: list[tuple[str, float]] = []
    for text in texts:
        if sum(ch.isalpha() for ch in text or "") < min_chars:
            out.append((UNKNOWN, 0.0))
            continue
        language, probability = identifier.classify(text)
        out.append((language, float(probability)) if probability >= min_confidence else (UNKNOWN, float(probability)))
    return out
