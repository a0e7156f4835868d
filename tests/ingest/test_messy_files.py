"""Files as users really bring them: re-saved, cut short, compressed, zipped, empty, with a header
line where none was expected. Built from the real samples in ``shared/data/formats``; each test
checks the accounting, the rejects (file, line, reason) and that re-ingesting adds nothing."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from tests.conftest import FORMATS, ingest, query, scalar

REDDIT_COMMENTS = FORMATS / "reddit-pushshift-ndjson" / "test_comments.json"
REDDIT_SUBMISSIONS = FORMATS / "reddit-pushshift-ndjson" / "test_submissions.json"


def _lines(path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rejects(ws) -> list[tuple]:
    return query(ws, "SELECT s.path, r.line_no, r.reason FROM rejects r JOIN sources s ON s.sha256 = r.source_sha256 "
                     "ORDER BY r.line_no")


@pytest.mark.parametrize("name, first", [("comments.ndjson", "cut"), ("comments.json", "cut"),
                                         ("comments.jsonl", "stray")])
def test_json_lines_with_a_bad_first_line_land_all_other_lines(workspace, tmp_path, name, first):
    lines = _lines(REDDIT_COMMENTS)
    f = tmp_path / name
    head = lines[0][:300] if first == "cut" else '{"broken": '
    body = lines[1:] if first == "cut" else lines
    f.write_text("\n".join([head, *body]) + "\n", encoding="utf-8")
    assert detect(f) == "reddit"
    [r] = ingest(workspace, f)
    assert (r.records_read, r.stored, r.duplicates, r.rejected) == (len(body) + 1, len(body), 0, 1)
    [(path, line, reason)] = _rejects(workspace)
    assert path == str(f) and line == 1 and reason.startswith("invalid JSON")
    [again] = ingest(workspace, f)
    assert again.stored == 0 and scalar(workspace, "SELECT count(*) FROM posts") == len(body)


def test_truncated_small_gzip_names_the_line_where_it_breaks(workspace, tmp_path):
    whole = gzip.compress(REDDIT_SUBMISSIONS.read_bytes())
    f = tmp_path / "RS_cut.json.gz"
    f.write_bytes(whole[:-200])
    with pytest.raises(IngestError, match=r"RS_cut\.json\.gz:\d+: cannot read or decompress"):
        ingest(workspace, f)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0


@pytest.mark.parametrize("suffix", [".json.gz", ".csv.gz"])
def test_truncated_large_gzip_document_or_csv_is_an_error_not_a_bare_abort(workspace, tmp_path, suffix):
    """Over the detection head (1 MB), the JSON-array and CSV readers meet the cut themselves: an
    EOFError escaping them ended the CLI with click's bare 'Aborted.'."""
    comments = [json.loads(line) for line in _lines(REDDIT_COMMENTS)]
    if suffix == ".json.gz":
        items = [dict(c, id=f"{c['id']}x{i}", name=None) for i in range(200) for c in comments]
        data = json.dumps(items).encode()
    else:
        crowdtangle = FORMATS / "crowdtangle-csv" / "2021-07-05-22-49-20-BRT-search-csv-export.csv"
        header, *rows = crowdtangle.read_text(encoding="utf-8-sig").split("\n", 1)
        data = (header + "\n" + rows[0] * 400).encode()
    assert len(data) > 2 << 20
    packed = gzip.compress(data)
    f = tmp_path / f"big{suffix}"
    f.write_bytes(packed[: len(packed) * 4 // 5])
    with pytest.raises(IngestError, match=rf"big\{suffix[:-3]}\.gz:\d+: cannot read or decompress"):
        ingest(workspace, f)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0


def test_zip_archive_and_empty_files_are_named_as_such(workspace, tmp_path):
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("RS_2024.json", REDDIT_SUBMISSIONS.read_bytes())
    with pytest.raises(IngestError, match="export.zip: a zip archive: extract it"):
        ingest(workspace, archive)
    with pytest.raises(IngestError, match="a zip archive"):
        ingest(workspace, archive, format_name="reddit")
    for name, content in (("empty.csv", b""), ("bom.csv", b"\xef\xbb\xbf\r\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IngestError, match=f"{name}: empty file"):
            ingest(workspace, tmp_path / name)
    # inside a folder they are skipped, with the reason, and the data files land
    folder = tmp_path / "dossier été"
    folder.mkdir()
    for name in ("export.zip", "empty.csv"):
        (folder / name).write_bytes((tmp_path / name).read_bytes())
    (folder / "RS 2024 (copie).json").write_bytes(REDDIT_SUBMISSIONS.read_bytes())
    skipped: list[tuple[str, str]] = []
    [r] = ingest(workspace, folder, on_skip=lambda p, why: skipped.append((p.name, why)))
    assert r.stored == len(_lines(REDDIT_SUBMISSIONS))
    assert sorted(skipped) == [("empty.csv", "empty file: nothing to ingest"),
                               ("export.zip", "a zip archive: extract it and ingest the folder "
                                              "(gzip, xz, bz2 and zstd files are read as they are)")]


def test_binary_files_are_named_binary_and_a_late_nul_byte_leaves_a_csv_text(workspace, tmp_path):
    parquet = tmp_path / "posts.parquet"
    parquet.write_bytes(b"PAR1\x15\x00\x15\x1c" + bytes(range(256)))
    with pytest.raises(IngestError, match=r"posts.parquet: unrecognised format \(binary\)"):
        ingest(workspace, parquet)
    # a scraped CSV with a stray NUL inside a cell, past the first bytes: still a CSV, the rest lands
    rows = "".join(f"e{i},f{i}\n" for i in range(200))
    edges = tmp_path / "edges.csv"
    edges.write_bytes(("source,target\n" + rows).encode() + b"x\x00y,z\n")
    [result] = ingest(workspace, edges)
    assert result.format == "edges-csv" and result.records_read == result.stored + result.duplicates + result.rejected
    assert result.stored >= 200


def test_whitespace_edge_list_with_a_header_line_is_an_edge_list(workspace, tmp_path):
    """'source target' over integer edges was taken for a KPI series named 'source target' (values
    12, 23, 31: the cells '1 2', '2 3', '3 1' read as numbers with thousands spaces)."""
    f = tmp_path / "edges.txt"
    f.write_text("source target\n1 2\n2 3\n3 1\n", encoding="utf-8")
    assert detect(f) == "edges-txt"
    [r] = ingest(workspace, f)
    assert (r.records_read, r.stored, r.rejected) == (3, 3, 0)  # '1 2' is an edge, not an 'n m' size line
    assert sorted(query(workspace, "SELECT src, dst FROM interactions")) == [("1", "2"), ("2", "3"), ("3", "1")]
    assert scalar(workspace, "SELECT count(*) FROM kpis") == 0


def test_number_cells_with_spaces_only_group_thousands(workspace, tmp_path):
    f = tmp_path / "kpi.csv"
    f.write_text("date;visites\n2026-11-01;1 234\n2026-11-02;12 15\n", encoding="utf-8")
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (1, 1)
    assert query(workspace, "SELECT value FROM kpis") == [(1234.0,)]
    [(_, line, reason)] = _rejects(workspace)
    assert line == 3 and "not a number: '12 15'" in reason


def test_kpi_export_with_a_trailing_separator(workspace, tmp_path):
    """Spreadsheets often end every line with the separator: an unnamed, empty last column."""
    f = tmp_path / "kpi.csv"
    f.write_bytes("\ufeffdate;visites;ventes (€);\r\n2026-11-01;120;1 234,5;\r\n2026-11-02;130;;\r\n".encode("utf-8"))
    assert detect(f) == "kpi-csv"
    [r] = ingest(workspace, f)
    assert (r.records_read, r.stored, r.rejected) == (3, 3, 0)
    assert sorted(query(workspace, "SELECT series, value FROM kpis")) == [
        ("ventes (€)", 1234.5), ("visites", 120.0), ("visites", 130.0)]


def test_kpi_day_first_dates_read_one_way_for_the_whole_file(workspace, tmp_path):
    """Without the option, '05/11/2026' was read as 11 May while '13/11/2026' was 13 November."""
    f = tmp_path / "kpi.csv"
    f.write_text("date;visites\n05/11/2026;10\n12/11/2026;11\n13/11/2026;12\n30/11/2026 14:05;13\n", encoding="utf-8")
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (4, 0)
    got = [ts.isoformat() for (ts,) in query(workspace, "SELECT ts FROM kpis ORDER BY value")]
    assert got == ["2026-11-05T00:00:00+00:00", "2026-11-12T00:00:00+00:00", "2026-11-13T00:00:00+00:00",
                   "2026-11-30T14:05:00+00:00"]


def test_kpi_month_first_dates_stay_month_first(workspace, tmp_path):
    f = tmp_path / "kpi.csv"
    f.write_text("date,visits\n11/05/2026,10\n11/30/2026,13\n", encoding="utf-8")
    ingest(workspace, f)
    got = [ts.strftime("%Y-%m-%d") for (ts,) in query(workspace, "SELECT ts FROM kpis ORDER BY value")]
    assert got == ["2026-11-05", "2026-11-30"]


def test_twarc2_file_with_a_truncated_last_page(workspace, tmp_path):
    quoted = (FORMATS / "twitter-v2-json" / "quoted_edit.jsonl").read_bytes().strip()
    brexit = (FORMATS / "twitter-v2-json" / "brexit.jsonl").read_bytes().strip()
    f = tmp_path / "search.jsonl"
    f.write_bytes(quoted + b"\n" + brexit[: len(brexit) // 2])
    [r] = ingest(workspace, f)
    assert r.rejected == 1 and r.records_read == r.stored + r.duplicates + r.rejected
    [(path, line, reason)] = _rejects(workspace)
    assert (path, line) == (str(f), 2) and reason.startswith("invalid JSON")
    whole = scalar(workspace, "SELECT count(*) FROM posts")
    assert whole > 0 and ingest(workspace, f)[0].stored == 0 and scalar(workspace, "SELECT count(*) FROM posts") == whole


def test_excel_resaved_crowdtangle_keeps_ids_text_and_times(workspace, tmp_path):
    """Re-saved by a French spreadsheet: ';' separator, CRLF, BOM, thousands with no-break spaces."""
    import csv

    source = FORMATS / "crowdtangle-csv" / "2021-07-05-22-49-20-BRT-search-csv-export.csv"
    rows = list(csv.DictReader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(dict(row, **{"Followers at Posting": f"{int(row['Followers at Posting']):,}".replace(",", "\u00a0")}))
    f = tmp_path / "export réenregistré.csv"
    f.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    [r] = ingest(workspace, f)
    assert (r.records_read, r.stored, r.rejected) == (len(rows), len(rows), 0)
    first = rows[0]
    post_id = first["URL"].rstrip("/").rsplit("/", 1)[1]
    [(account_id, text, created)] = query(
        workspace, "SELECT account_id, text, created_at FROM posts WHERE post_id = ?", [post_id])
    assert account_id == first["Facebook Id"] and text == first["Message"]
    assert created.isoformat() == "2021-07-05T21:02:45+00:00"  # 18:02:45 BRT (UTC-3)
    assert scalar(workspace, "SELECT followers FROM accounts WHERE account_id = ?", [account_id]) == int(
        first["Followers at Posting"])


_CT_HEADER = ("Page Name;User Name;Facebook Id;Page Category;Likes at Posting;Followers at Posting;Post Created;Type;"
              "Total Interactions;Likes;Comments;Shares;URL;Message\r\n")


def test_crowdtangle_page_id_rounded_by_a_spreadsheet_is_not_an_id(workspace, tmp_path):
    """French Excel shows 15-digit ids as '1,00050E+14' and saves them so: the page id comes back from
    the post URL when it rounds to the same value, else the user name stands in (as without the column)."""
    f = tmp_path / "ct.csv"
    f.write_text(_CT_HEADER
                 + "Alice;alice;1,00050E+14;PERSON;10;20;2021-07-05 18:02:45 CEST;Photo;5;1;2;3;"
                   "https://www.facebook.com/100050295107499/posts/345428873810280;Salut\r\n"
                 + "Bob;Bob.Page;2,1186E+14;PERSON;10;20;2021-07-05 18:02:45 CEST;Photo;5;1;2;3;"
                   "https://www.facebook.com/bob.page/videos/798585124163833/;Salut\r\n"
                 + "Chloé;chloe;1,00050E+14;PERSON;10;20;2021-07-05 18:02:45 CEST;Photo;5;1;2;3;"
                   "https://www.facebook.com/999999999999999/posts/12;Salut\r\n", encoding="utf-8")
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (3, 0)
    assert sorted(query(workspace, "SELECT post_id, account_id FROM posts")) == [
        ("12", "chloe"), ("345428873810280", "100050295107499"), ("798585124163833", "bob.page")]
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE account_id LIKE '%E+%'") == 0


def test_generic_csv_ids_rounded_by_a_spreadsheet_are_rejected(workspace, tmp_path):
    from tests.conftest import REPO

    data = REPO / "tests" / "data" / "generic-csv"
    lines = (data / "posts.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("1001,501,")
    f = tmp_path / "posts.csv"
    f.write_text(lines[0] + "1.57699E+18,501," + lines[1][len("1001,501,"):] + "".join(lines[2:]), encoding="utf-8")
    [r] = ingest(workspace, f, format_name="generic-csv", options={"mapping": str(data / "mapping.yaml")})
    assert r.rejected == 1 and r.records_read == r.stored + r.duplicates + r.rejected
    [(path, line, reason)] = _rejects(workspace)
    assert (path, line) == (str(f), 2) and reason.startswith("id '1.57699E+18' was rounded by a spreadsheet")
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE post_id LIKE '%E+%'") == 0


def test_one_latin1_line_does_not_turn_a_utf8_file_into_mojibake(workspace, tmp_path):
    """Exports concatenated from two tools: the whole file used to be read as Latin-1 ('CafÃ©')."""
    def comment(i: int, body: str) -> dict:
        return {"id": f"c{i}", "author": "léa", "subreddit": "france", "body": body, "created_utc": 1700000000 + i,
                "parent_id": "t3_a", "link_id": "t3_a"}

    utf8 = [json.dumps(comment(i, f"Café crème 🥐 numéro {i}"), ensure_ascii=False).encode() for i in range(4)]
    latin1 = json.dumps(comment(9, "Déjà vu, à bientôt"), ensure_ascii=False).encode("latin-1")
    f = tmp_path / "RC_concat.ndjson"
    f.write_bytes(b"\n".join(utf8[:2] + [latin1] + utf8[2:]) + b"\n")
    [r] = ingest(workspace, f)
    assert (r.records_read, r.stored, r.rejected) == (5, 5, 0)
    texts = dict(query(workspace, "SELECT post_id, text FROM posts"))
    assert texts == {**{f"t1_c{i}": f"Café crème 🥐 numéro {i}" for i in range(4)}, "t1_c9": "Déjà vu, à bientôt"}
    assert scalar(workspace, "SELECT count(*) FROM accounts WHERE handle = 'léa'") == 1


def test_crowdtangle_times_resaved_day_first_read_one_way_for_the_file(workspace, tmp_path):
    """A French spreadsheet rewrites '2010-09-20 19:02:58' as '20/09/2010 19:02': '05/07/2021 18:02'
    was read as 7 May (month first) while '20/09/2010' could only be 20 September."""
    f = tmp_path / "ct.csv"
    f.write_text(_CT_HEADER.replace("Post Created;", "Post Created;Page Created;")
                 + "Alice;alice;100050295107499;PERSON;10;20;05/07/2021 18:02;20/09/2010 19:02;Photo;5;1;2;3;"
                   "https://www.facebook.com/100050295107499/posts/1;Salut\r\n"
                 + "Bob;bob;211857482296579;PERSON;10;20;30/11/2026 14:05;03/02/2013 10:00;Photo;5;1;2;3;"
                   "https://www.facebook.com/211857482296579/posts/2;Salut\r\n", encoding="utf-8")
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (2, 0)
    posts = {p: ts.isoformat() for p, ts in query(workspace, "SELECT post_id, created_at FROM posts")}
    assert posts == {"1": "2021-07-05T18:02:00+00:00", "2": "2026-11-30T14:05:00+00:00"}
    pages = {a: ts.strftime("%Y-%m-%d") for a, ts in query(workspace, "SELECT account_id, created_at FROM accounts")}
    assert pages == {"100050295107499": "2010-09-20", "211857482296579": "2013-02-03"}


@pytest.mark.parametrize("name, header, fmt", [
    ("kpi.csv", "date;visites;ventes\r\n", "kpi-csv"),
    ("survey.csv", "wave,respondent,question,answer\n", "survey-csv"),
    ("ct.csv", _CT_HEADER, "crowdtangle"),
])
def test_a_file_of_only_a_header_reads_zero_records(workspace, tmp_path, name, header, fmt):
    """An export of a period with no data: its format is known from the header, nothing is stored."""
    f = tmp_path / name
    f.write_bytes(b"\xef\xbb\xbf" + header.encode("utf-8"))
    assert detect(f) == fmt
    [r] = ingest(workspace, f)
    assert (r.format, r.records_read, r.stored, r.duplicates, r.rejected) == (fmt, 0, 0, 0, 0)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 1
    [again] = ingest(workspace, f)
    assert again.already_ingested and scalar(workspace, "SELECT count(*) FROM sources") == 1


@pytest.mark.parametrize("sample, name", [("twitter-v1.1-json/get_search_raw.json", "search.json"),
                                          ("twitter-v2-json/brexit.jsonl", "page.jsonl")])
def test_a_json_file_cut_short_is_named_so_rather_than_an_unknown_format(workspace, tmp_path, sample, name):
    """One JSON document (or one twarc page on one line) cut by an interrupted download: nothing parses,
    and the error says so, with the line, instead of sending the user to --format."""
    cut = tmp_path / name
    cut.write_bytes((FORMATS / sample).read_bytes()[:30000])
    with pytest.raises(IngestError, match=rf"{name}:1: invalid JSON: unexpected end of data.*cut short or damaged"):
        ingest(workspace, cut)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0


@pytest.mark.parametrize("name, content, said, person", [
    ("notes.md", "# Réunion avec Alice Martin\n\nSome text, with a comma.\n",
     r"notes.md: unrecognised format \(text read as CSV, 1 column on its first line\); pass --format NAME", "Alice"),
    ("export.jsonl", '{"auteur": "alice", "texte": "bonjour", "quand": 1}\n',
     r"unrecognised format \(JSON lines, first record's keys auteur, quand, texte\)", "alice"),
])
def test_an_unrecognised_file_is_refused_with_what_was_read_and_no_values(workspace, tmp_path, name, content, said,
                                                                           person):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(IngestError, match=said) as refused:
        ingest(workspace, path)
    assert person not in str(refused.value)
