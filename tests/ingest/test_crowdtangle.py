"""CrowdTangle CSV (and Meta Content Library CSV): checked against an independent reading of the raw CSV."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone

from confiance.errors import IngestError
from confiance.ingest import detect
from confiance.ingest._readers import csv_header, read_csv, sniff_encoding
from tests.conftest import FORMATS, ingest, query, scalar

CT = FORMATS / "crowdtangle-csv"
SAMPLE = CT / "2021-07-05-22-49-20-BRT-search-csv-export.csv"
BRT = timezone(timedelta(hours=-3))


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _brt(text):
    return datetime.strptime(text.removesuffix(" BRT"), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BRT)


def _post_id(url):
    return [seg for seg in url.split("/") if seg.isdigit()][-1]


def test_detection_picks_crowdtangle():
    assert detect(SAMPLE) == "crowdtangle"


def test_sample_matches_raw(workspace):
    rows = _rows(SAMPLE)
    [result] = ingest(workspace, SAMPLE)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(rows), 0, 0)
    assert scalar(workspace, "SELECT count(*) FROM posts") == len({_post_id(r["URL"]) for r in rows})
    assert {r[0] for r in query(workspace, "SELECT account_id FROM accounts")} == {r["Facebook Id"] for r in rows}
    assert scalar(workspace, "SELECT count(*) FROM interactions") == 0
    assert {p for (p,) in query(workspace, "SELECT DISTINCT platform FROM posts")} == {"facebook"}
    collected = datetime(2021, 7, 5, 22, 49, 20, tzinfo=BRT)  # from the file name
    for r in rows:
        pid = _post_id(r["URL"])
        got = query(workspace, "SELECT account_id, created_at, text, kind, likes, reposts, replies, url, urls, "
                               "attributes FROM posts WHERE post_id = ?", [pid])[0]
        assert got[:8] == (r["Facebook Id"], _brt(r["Post Created"]), r["Message"], "post", int(r["Likes"]),
                           int(r["Shares"]), int(r["Comments"]), r["URL"])
        assert r["Link"] in got[8]
        attrs = json.loads(got[9])
        assert attrs["total_interactions"] == int(r["Total Interactions"].replace(".", ""))
        assert attrs["overperforming_score"] == float(r["Overperforming Score"].replace(",", "."))
        assert attrs["love"] == int(r["Love"]) and attrs["care"] == int(r["Care"])
        assert attrs["page_category"] == r["Page Category"] and attrs["media_type"] == r["Type"]
        video = "Video" in r["Type"]
        views = scalar(workspace, "SELECT views FROM posts WHERE post_id = ?", [pid])
        assert views == (int(r["Post Views"]) if video else None)
        obs = query(workspace, "SELECT collected_at, likes FROM observations WHERE post_id = ?", [pid])
        assert obs == [(collected, int(r["Likes"]))]
        account = query(workspace, "SELECT handle, display_name, followers, last_seen, created_at, bio FROM accounts "
                                   "WHERE account_id = ?", [r["Facebook Id"]])[0]
        page_created = datetime.fromisoformat(r["Page Created"]).replace(tzinfo=BRT)
        assert account == (r["User Name"].lower(), r["Page Name"], int(r["Followers at Posting"]),
                           _brt(r["Post Created"]), page_created, r["Page Description"].strip())


def test_hashtags_and_image_text(workspace):
    ingest(workspace, SAMPLE)
    for r in _rows(SAMPLE):
        pid = _post_id(r["URL"])
        hashtags, attrs = query(workspace, "SELECT hashtags, attributes FROM posts WHERE post_id = ?", [pid])[0]
        assert hashtags == list(dict.fromkeys(h.lower() for h in re.findall(r"#(\w+)", r["Message"])))
        if r["Image Text"]:
            assert json.loads(attrs)["image_text"] == r["Image Text"]


HEADER_IG = "Account,User Name,Followers at Posting,Post Created,Type,Likes,Comments,Views,URL,Link,Photo,Title,Description,Image Text,Sponsor Id,Sponsor Name,Total Interactions,Overperforming Score"


def test_instagram_export_offsets_and_localised_numbers(workspace, tmp_path):
    f = tmp_path / "ig.csv"
    f.write_text(HEADER_IG + "\n"
                 'Some Brand,somebrand,"1,234,567",2021-07-05 22:31:54 -0300,Album,"1,234",56,0,'
                 'https://www.instagram.com/p/CQ1abcDEF/,https://www.instagram.com/p/CQ1abcDEF/,,,'
                 '"Summer #Sale with @partner",,123,Partner Co,"1.290","-2,5"\n'
                 'Some Brand,somebrand,"1,234,600",2021-07-06 10:00:00 CEST,Video,10,1,"2.500",'
                 'https://www.instagram.com/reel/CQ2xyz/,,,,Clip,,,,11,"1,0"\n', encoding="utf-8")
    assert detect(f) == "crowdtangle"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (2, 2, 0)
    rows = query(workspace, "SELECT platform, post_id, account_id, created_at, text, likes, views, mentions, attributes "
                            "FROM posts ORDER BY created_at")
    first, second = rows
    assert first[:8] == ("instagram", "CQ1abcDEF", "somebrand", datetime(2021, 7, 6, 1, 31, 54, tzinfo=timezone.utc),
                         "Summer #Sale with @partner", 1234, None, ["partner"])
    attrs = json.loads(first[8])
    assert (attrs["sponsor_id"], attrs["sponsor_name"], attrs["overperforming_score"]) == ("123", "Partner Co", -2.5)
    assert second[1:4] == ("CQ2xyz", "somebrand", datetime(2021, 7, 6, 8, 0, tzinfo=timezone.utc))
    assert second[6] == 2500
    assert query(workspace, "SELECT followers FROM accounts") == [(1234600,)]


def test_meta_content_library_csv(workspace, tmp_path):
    f = tmp_path / "mcl.csv"
    f.write_text("id,creation_time,text,lang,post_owner.id,post_owner.name,post_owner.type,statistics.reaction_count,"
                 "statistics.share_count,statistics.comment_count,statistics.views,is_branded_content,link_attachment.link\n"
                 "987654321098765,2024-03-01T10:00:00+0000,Hello #world,en,112233,A Page,page,1500,20,3,,false,"
                 "https://news.example/a\n", encoding="utf-8")
    assert detect(f) == "crowdtangle"
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (1, 1, 0)
    assert query(workspace, "SELECT platform, post_id, account_id, created_at, likes, reposts, replies, views, urls, domains "
                            "FROM posts") == [("facebook", "987654321098765", "112233",
                                               datetime(2024, 3, 1, 10, tzinfo=timezone.utc), 1500, 20, 3, None,
                                               ["https://news.example/a"], ["news.example"])]
    assert query(workspace, "SELECT account_id, display_name FROM accounts") == [("112233", "A Page")]
    assert json.loads(scalar(workspace, "SELECT attributes FROM posts")) == {"post_owner.type": "page",
                                                                            "is_branded_content": "false"}


def test_corrupted_rows_are_rejected_with_their_lines(workspace, tmp_path):
    raw = SAMPLE.read_text(encoding="utf-8-sig")
    header, rest = raw.split("\n", 1)
    bad_zone = rest.replace(" BRT,", " XYZ,", 1)  # first data row: unknown zone abbreviation
    f = tmp_path / "broken.csv"
    f.write_text(header + "\n" + bad_zone + "only,three,fields\n", encoding="utf-8")
    rows = _rows(SAMPLE)
    [result] = ingest(workspace, f)
    assert (result.records_read, result.stored, result.rejected) == (len(rows) + 1, len(rows) - 1, 2)
    rejects = query(workspace, "SELECT line_no, reason FROM rejects ORDER BY line_no")
    assert rejects[0][0] == 2 and "XYZ" in rejects[0][1]
    assert rejects[1][0] == raw.count("\n") + 1  # the appended short row's physical line


def test_reingest_adds_nothing(workspace):
    ingest(workspace, CT)
    tables = ("posts", "accounts", "interactions", "observations")
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables}
    results = ingest(workspace, CT)
    assert results and all(r.stored == 0 for r in results)
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in tables} == before


def test_a_lone_cr_in_the_header_ends_the_line_as_the_reader_does(workspace, tmp_path):
    # found by tests/test_fuzz_ingest.py: the header sniff handed a line with a CR inside to the csv
    # module, which raised its own error instead of a result or an IngestError naming the file
    raw = SAMPLE.read_bytes()
    cut = raw.index(b",", raw.index(b",") + 1)  # after the second column name
    f = tmp_path / "cr-in-header.csv"
    f.write_bytes(raw[:cut] + b"\r" + raw[cut:])
    opened = sniff_encoding(f)
    names = [h.strip() for h in next(csv.reader([raw[:cut].decode("utf-8-sig")]))]
    assert csv_header(opened) == names
    first = next(read_csv(opened))  # the reader's header has the same two columns: line 2 has too many
    assert (first.line_no, first.reason.split(",")[0]) == (2, f"expected {len(names)} fields")
    try:
        [result] = ingest(workspace, f, format_name="crowdtangle")
    except IngestError as exc:
        assert str(f) in str(exc)
    else:
        assert result.records_read == result.stored + result.duplicates + result.rejected


def _cli(*args, workspace):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace), *args],
                          capture_output=True, text=True)


def test_dates_that_lost_their_zone_are_read_as_utc_or_in_the_timezone_option_and_the_summary_says_so(tmp_path):
    from zoneinfo import ZoneInfo

    from confiance.workspace import Workspace

    rows = _rows(SAMPLE)[:3]
    resaved = tmp_path / "resaved.csv"  # what a spreadsheet writes back: the same times without " BRT"
    with open(resaved, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "Post Created": row["Post Created"].removesuffix(" BRT")} for row in rows)
    naive = {_post_id(r["URL"]): datetime.strptime(r["Post Created"].removesuffix(" BRT"), "%Y-%m-%d %H:%M:%S") for r in rows}
    for extra, zone in (((), timezone.utc), (("--option", "timezone=Europe/Paris"), ZoneInfo("Europe/Paris"))):
        ws = tmp_path / f"ws-{len(extra)}"
        assert _cli("init", workspace=ws).returncode == 0
        out = _cli("ingest", str(resaved), *extra, workspace=ws)
        assert out.returncode == 0, out.stderr
        (line,) = [line for line in out.stderr.splitlines() if "resaved.csv" in line]
        if zone is timezone.utc:
            assert "dates without zone read as UTC; pass --option timezone=" in line
        else:
            assert "dates without zone read in Europe/Paris" in line
        stored = dict(query(Workspace.open(ws), "SELECT post_id, created_at FROM posts"))
        assert stored == {post_id: when.replace(tzinfo=zone) for post_id, when in naive.items()}
    assert _cli("init", workspace=tmp_path / "ws-bad").returncode == 0
    bad = _cli("ingest", str(resaved), "--option", "timezone=Europe/Nantes", workspace=tmp_path / "ws-bad")
    assert bad.returncode == 1 and "Europe/Nantes" in bad.stderr and "IANA" in bad.stderr


def test_dates_with_their_zone_need_no_summary_note(workspace):
    (result,) = ingest(workspace, SAMPLE)
    assert result.notes == ()
