"""`forget` redacts a CSV archive record by record, in the file's own encoding.

CrowdTangle exports hold multi-line messages and quotes written ``""``; a spreadsheet re-saves them in cp1252
(tab-separated UTF-16 for "Unicode text"). Alice (forgotten) wrote a two-line message with quotes; Carol quotes it
whole in a multi-line cell of her own; Dan mentions her; Bob and Eve write French text with « é à ç œ » and never
name her. After the forget (before or after the file comes in) no trace of Alice is left in the archive, read in
its encoding; Bob's and Eve's records are the same bytes; Carol keeps her own words and Dan his; the archive reads
back to as many records, with Carol's and Dan's cells as the store holds them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io

import pytest

from confiance.ingest._readers import Item, decompress, encoding_of, read_csv, sniff_encoding
from confiance.person import Person
from confiance.privacy import FORGOTTEN, _redact_bytes, _Redactor, forget
from tests.conftest import ingest, query

ALICE_ID, ALICE = "100077700011234", "alicezq9"
ALICE_POST = "345428873810999"
ALICE_TEXT = 'Le canari zq9 "chante" faux\nsous la pluie de Roubaix, disait-elle'
#: what names Alice: ids, handle, display name, and a piece of each line of her message
CANARIES = (ALICE_ID, ALICE, ALICE_POST, "alice zq", 'canari zq9 "chante"', 'canari zq9 ""chante""', "pluie de roubaix")
COLUMNS = ["Page Name", "User Name", "Facebook Id", "Likes", "Comments", "Shares", "Type", "Post Created", "URL",
           "Message"]
ACCENTS = "« é à ç œ »"


def _row(name: str, user: str, page_id: str, post_id: str, message: str) -> list[str]:
    return [name, user, page_id, "12", "3", "1", "Status", "2021-07-05 18:02:45 BRT",
            f"https://www.facebook.com/{page_id}/posts/{post_id}", message]


ROWS = {
    "alice": _row("Alice Zq", ALICE, ALICE_ID, ALICE_POST, ALICE_TEXT),
    "bob": _row("Bob Martin", "bobmartin", "100088800022345", "345428873811001", f"Bonjour {ACCENTS} à Lille"),
    "carol": _row("Carol Durand", "caroldurand", "100099900033456", "345428873811002",
                  f"Elle écrit « {ALICE_TEXT} »,\nje ne suis pas d'accord ; « œuvre » à suivre"),
    "dan": _row("Dan Petit", "danpetit", "100011100044567", "345428873811003", f"Merci @{ALICE} pour « ça », c'était drôle"),
    "eve": _row("Ève Lefèvre", "evelefevre", "100022200055678", "345428873811004",
                f'Réponse "citée" sur\ndeux lignes : {ACCENTS}'),
}


def _export(rows: list[str], delimiter: str) -> tuple[str, dict[str, str]]:
    """A CrowdTangle-style export (CRLF, as CrowdTangle and Excel write it) and each record's text."""
    records = {}
    for who in rows:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(ROWS[who])
        records[who] = out.getvalue()
    header = io.StringIO()
    csv.writer(header, delimiter=delimiter, lineterminator="\r\n").writerow(COLUMNS)
    return header.getvalue() + "".join(records.values()), records


#: (file name, codec, BOM, delimiter, compressed)
EXPORTS = {
    "utf8-bom": ("2021-07-05-22-49-20-BRT-search.csv", "utf-8", codecs.BOM_UTF8, ",", False),
    "cp1252-gz": ("2021-07-05-22-49-20-BRT-excel.csv.gz", "cp1252", b"", ";", True),
    "utf16-tsv": ("2021-07-05-22-49-20-BRT-unicode.txt", "utf-16-le", codecs.BOM_UTF16_LE, "\t", False),
}


def _write(path, text: str, encoding: str, bom: bytes, compressed: bool) -> None:
    data = bom + text.encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if compressed else data)


def _records(path) -> list:
    return list(read_csv(sniff_encoding(path)))


@pytest.mark.parametrize("order", ["forget-after", "forget-before"])
@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_forget_redacts_a_csv_archive_record_by_record_in_its_encoding(workspace, tmp_path, export, order):
    name, encoding, bom, delimiter, compressed = EXPORTS[export]
    text, records = _export(list(ROWS), delimiter)
    _write(tmp_path / name, text, encoding, bom, compressed)
    if order == "forget-before":  # Alice known from a file of her own, forgotten before the export comes in
        alone, _ = _export(["alice"], delimiter)
        _write(tmp_path / "alice.csv", alone, encoding, bom, False)
        ingest(workspace, tmp_path / "alice.csv")
        forget(workspace, f"facebook:{ALICE_ID}")
        ingest(workspace, tmp_path / name)
    else:
        [result] = ingest(workspace, tmp_path / name)
        assert result.format == "crowdtangle" and result.stored > 0 and result.encoding == encoding
        forget(workspace, f"facebook:{ALICE_ID}")
    [(sha,)] = query(workspace, "SELECT sha256 FROM sources WHERE path LIKE ?", [f"%{name}"])
    archived = decompress(decompress(workspace.archive_path(sha).read_bytes()))

    # the same encoding and BOM, read as the ingest reads it
    assert encoding_of(archived[:1 << 20], complete=True) == (encoding, bom)
    archived_text = archived[len(bom):].decode(encoding)
    assert "\ufffd" not in archived_text
    lowered = archived_text.lower()
    assert [c for c in CANARIES if c.lower() in lowered] == []
    # the header and the records that never name Alice keep their bytes
    assert archived.startswith(bom + text[:text.index("\r\n") + 2].encode(encoding))
    for who in ("bob", "eve"):
        assert records[who].encode(encoding) in archived, who

    restored = tmp_path / "restored.csv"
    restored.write_bytes(archived)
    before, after = _records(tmp_path / name), _records(restored)
    assert len(after) == len(before) == len(ROWS)
    assert all(isinstance(r, Item) and list(r.value) == COLUMNS for r in after)
    cells = {r.value["User Name"]: r.value for r in after}
    stored = dict(query(workspace, "SELECT handle, text FROM posts p JOIN accounts a USING (platform, account_id)"))
    assert ALICE not in stored
    assert cells["caroldurand"]["Message"] == stored["caroldurand"] == ROWS["carol"][-1].replace(ALICE_TEXT, FORGOTTEN)
    assert cells["danpetit"]["Message"] == stored["danpetit"] == ROWS["dan"][-1].replace(ALICE, FORGOTTEN)
    assert cells["bobmartin"]["Message"] == stored["bobmartin"] == ROWS["bob"][-1]
    # Alice's own record keeps its place and its non-personal cells (Likes, Type, Post Created)
    [own] = [r.value for r in after if r.value["User Name"] == FORGOTTEN]
    assert own["Message"] == FORGOTTEN and own["Likes"] == "12" and own["Post Created"] == ROWS["alice"][7]
    # an ingest of the redacted copy reads every record again
    assert ingest(workspace, restored)[0].records_read == len(ROWS)


ALICE_PERSON = Person(keys=[("facebook", ALICE_ID)], handles={ALICE}, names={"Alice Zq"}, post_ids={ALICE_POST},
                      post_texts={ALICE_TEXT})


def _redact(data: bytes) -> bytes:
    redactor = _Redactor(ALICE_PERSON)
    redacted = _redact_bytes(data, redactor, redactor.needles(texts=True))
    assert redacted is not None
    return redacted


@pytest.mark.parametrize("encoding,bom", [("cp1252", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
                                          ("utf-16-be", b"")])
def test_json_and_yaml_archives_keep_their_encoding_and_others_accents(encoding, bom):
    lines = [f'{{"user": {{"id": "{ALICE_ID}", "name": "Alice Zq"}}, "text": "chez Zoé"}}',
             f'{{"user": {{"id": "200"}}, "text": "{ACCENTS} @{ALICE}"}}']
    yaml_doc = f"interactions:\n- user: {ALICE}\n  text: Zoé\n- user: bob\n  text: {ACCENTS}\n"
    for text in ("\n".join(lines) + "\n", yaml_doc):
        out = _redact(bom + text.encode(encoding))
        assert out.startswith(bom)
        decoded = out[len(bom):].decode(encoding)  # strict: every byte is in the file's encoding
        assert ACCENTS in decoded and "Zoé" in decoded and "\ufffd" not in decoded
        assert ALICE_ID not in decoded and ALICE not in decoded and "Alice Zq" not in decoded


def test_a_csv_that_does_not_parse_is_redacted_line_by_line_and_stray_bytes_stay():
    """A record of another width (ingest rejects it) sends the file to line-by-line redaction; a byte that is not
    UTF-8 in a UTF-8 file (a Latin-1 line in a concatenated export) comes back as it was."""
    data = ("a,b,c\n1,été,3\n" f"{ALICE},{ALICE_ID}\n" "4,5,déjà\n").encode() + "x,Zoé,\n".encode("latin-1")
    out = _redact(data)
    assert out == data.replace(ALICE.encode(), FORGOTTEN.encode()).replace(ALICE_ID.encode(), FORGOTTEN.encode())
