"""The two accent foldings: canonical (as DuckDB's strip_accents) and compatibility (stylised letters)."""

from __future__ import annotations

import duckdb
import pytest

from confiance.text.accents import fold_accents, fold_compatibility

TEXTS = ["Génial", "ve\u0301lo", "İstanbul", "Œuvre", "ﬁlm", "m²", "𝐏𝐚𝐫𝐢𝐬", "ＰＡＲＩＳ", "a\u00a0b", "Dyson™", "🇫🇷 ça"]


@pytest.mark.parametrize("text", TEXTS)
def test_fold_accents_folds_as_duckdb_strip_accents(text):
    # the campaign plan compares its folded interests with strip_accents(lower(hashtag)) in SQL
    con = duckdb.connect()
    assert fold_accents(text.lower()) == con.execute("SELECT strip_accents(lower(?))", [text]).fetchall()[0][0]


def test_fold_compatibility_reads_stylised_letters_and_keeps_what_fold_accents_keeps():
    assert fold_compatibility("𝐋𝐲𝐨𝐧, Ｆｒａｎｃｅ") == "Lyon, France"
    assert fold_compatibility("ﬁlm, m², a\u00a0b, Dyson™") == "film, m2, a b, DysonTM"
    assert fold_compatibility("Sai\u0308d, Saint-Étienne, Œuvre") == "Said, Saint-Etienne, Œuvre"
    for text in TEXTS:
        assert fold_compatibility(text) == fold_compatibility(fold_accents(text))
