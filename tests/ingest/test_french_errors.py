"""Every reader's refusal of a bad file, and the audience note, in French through the command line
(``--lang fr``): a French frame that keeps the file and the line; what a parser quoted stays as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from confiance.workspace import Workspace

CROWDTANGLE = Path("/work/shared/data/formats/crowdtangle-csv/2021-07-05-22-49-20-BRT-search-csv-export.csv")


def _x_archive(folder: Path) -> tuple[list[str], Path, int]:
    (folder / "tweets.js").write_text('window.YTD.tweets.part0 = [{"tweet": {"id_str": "1"}}]\n', encoding="utf-8")
    account = folder / "account.js"
    account.write_text('window.YTD.account.part0 = [\n  {"account": {"username": "alice", }}\n]\n', encoding="utf-8")
    return [str(folder / "tweets.js")], account, 2


def _mastodon_archive(folder: Path) -> tuple[list[str], Path, int]:
    (folder / "outbox.json").write_text('{"id": "outbox.json", "type": "OrderedCollection", "orderedItems": []}',
                                        encoding="utf-8")
    actor = folder / "actor.json"
    actor.write_text('{\n"preferredUsername": "alice",\n"id": ,\n}\n', encoding="utf-8")
    return [str(folder / "outbox.json")], actor, 3


def _cut_json_lines(folder: Path) -> tuple[list[str], Path, int]:
    posts = folder / "posts.jsonl"
    posts.write_text('{"id": "1", "text": "Alice Martin wrote', encoding="utf-8")  # a download cut short
    return [str(posts)], posts, 1


def _generic_csv_mapping(folder: Path) -> tuple[list[str], Path, int]:
    (folder / "posts.csv").write_text("id,text\n1,hello\n", encoding="utf-8")
    mapping = folder / "mapping.yaml"
    mapping.write_text("columns:\n  post_id: id\n  bogus: text\n", encoding="utf-8")
    return ["--format", "generic-csv", "--mapping", str(mapping), str(folder / "posts.csv")], mapping, 3


def _bluesky_car(folder: Path) -> tuple[list[str], Path, None]:
    car = folder / "repo.car"
    car.write_bytes(b"\x64not a repository export")  # a binary file: no line, its byte offsets are not lines
    return ["--format", "bluesky-car", str(car)], car, None


def _crowdtangle_zone(folder: Path) -> tuple[list[str], Path, None]:
    export = folder / "export.csv"
    shutil.copy(CROWDTANGLE, export)
    return ["--option", "timezone=Mars/Olympus", str(export)], export, None


def _audience_note(folder: Path) -> tuple[list[str], Path, None]:
    report = folder / "audience.csv"
    report.write_text("platform,account_id,dimension,category,share\nx,1,country,FR,0.5\nx,1,country,BE,0.33\n",
                      encoding="utf-8")
    return [str(report)], report, None


#: (bad file, French frame, English frame words that must not be left in the French line)
CASES = {
    "twitter_archive": (_x_archive, "JSON invalide\u00a0: ", ["invalid JSON"]),
    "mastodon_archive": (_mastodon_archive, "JSON invalide\u00a0: ", ["invalid JSON"]),
    "readers": (_cut_json_lines, "JSON invalide\u00a0: ", ["invalid JSON"]),
    "generic_csv": (_generic_csv_mapping, "fichier --mapping\u00a0: champ inconnu 'bogus' dans columns",
                    ["mapping:", "unknown field", "known fields"]),
    "bluesky_car": (_bluesky_car, "pas un fichier CAR v1\u00a0: un en-tête de 100 octets", ["not a CAR", "header", "bytes"]),
    "crowdtangle": (_crowdtangle_zone, "--option timezone='Mars/Olympus' n'est pas un nom de fuseau IANA",
                    ["is not an IANA", " or UTC"]),
    "audience": (_audience_note, "stocké, mais 1 groupe (compte, dimension) dont la somme n'est pas 100\u202f% "
                 "±2\u202f%\u00a0: x:1, parts de country de somme 0,83 (83\u202f%)", ["stored, but", "shares sum to"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_file_is_refused_in_french_naming_its_file_and_line(case, tmp_path):
    write, frame, english = CASES[case]
    args, where, line = write(tmp_path)
    ws = Workspace.init(tmp_path / "ws").root
    said = subprocess.run([sys.executable, "-m", "confiance", "-w", str(ws), "--lang", "fr", "ingest", *args],
                          capture_output=True, text=True, env={**os.environ, "CONFIANCE_LANG": "en"})
    [message] = [row for row in said.stderr.splitlines() if row.startswith(("erreur", str(where)))]
    assert message.startswith((f"erreur\u00a0: {where}{f':{line}' if line else ''}: ", f"{where}\u00a0: ")), message
    assert frame in message, message
    assert not [word for word in english if word in message], message
    assert "Alice" not in message and "alice" not in message  # values of the file never in the message
