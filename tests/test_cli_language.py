"""The command line's language (--lang, else $CONFIANCE_LANG, else English): ingest's errors and notes in French,
file and line kept; --json and the stored text stay English."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from confiance import i18n
from confiance.errors import IngestError
from confiance.i18n import N_, Phrase


def _confiance(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "confiance", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_an_unrecognised_file_is_refused_in_french_naming_the_file(tmp_path):
    ws = tmp_path / "ws"
    notes = tmp_path / "notes.md"
    notes.write_text("# Réunion avec Alice Martin\n\nSome text, with a comma.\n", encoding="utf-8")
    assert _confiance("-w", str(ws), "init").returncode == 0
    said = _confiance("-w", str(ws), "--lang", "fr", "ingest", str(notes))
    assert said.returncode == 1
    assert said.stderr.startswith(f"erreur\u00a0: {notes}: format non reconnu (texte lu comme CSV, 1 colonne")
    message = said.stderr.replace(str(notes), "")
    assert "Alice" not in message and "unrecognised" not in message
    # the same from the environment; --json keeps the English a script reads
    scripted = _confiance("-w", str(ws), "ingest", "--json", str(notes), env={"CONFIANCE_LANG": "fr"})
    assert "format non reconnu" in scripted.stderr
    assert "unrecognised format (text read as CSV" in json.loads(scripted.stdout)[-1]["error"]


def test_a_phrase_is_english_text_said_again_in_french_with_its_line():
    error = IngestError("posts.jsonl", 3, Phrase(N_("%(reason)s: the file looks cut short or damaged, so its format "
                                                    "cannot be recognised"), reason="invalid JSON"))
    assert str(error) == "posts.jsonl:3: invalid JSON: the file looks cut short or damaged, so its format cannot be recognised"
    with i18n.using("fr"):
        assert error.said().startswith("posts.jsonl:3: invalid JSON\u00a0: le fichier semble")
