"""FiveThirtyEight troll-tweet CSV: the real per-author re-split (.csv.xz) checked against an independent
csv+lzma reading, and the original FiveThirtyEight columns on a small fixture."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from confiance.ingest import detect, ingest_paths
from confiance.workspace import Workspace
from tests.conftest import REAL, ingest, query, scalar

IRA = REAL / "ira-russian-troll-tweets" / "ira_tweets_en_2016-10-01_to_2016-11-15.csv.xz"
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "troll-tweets" / "IRAhandle_tweets_sample.csv"
UTC = timezone.utc

MENTION = re.compile(r"(?:^|[^\w@])@([A-Za-z0-9_]+)")
RT = re.compile(r"^\s*RT\s*@([A-Za-z0-9_]+)")
KINDS = {"R": "repost", "RETWEET": "repost", "Q": "quote", "QUOTE_TWEET": "quote", "": "post"}


def _when(text):
    for fmt in ("%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    raise ValueError(text)


def _derived(handle, published, content):
    """The derived id the module docstring documents."""
    key = f"{handle}|{_when(published).isoformat()}|{content}"
    return "troll:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def _rows(path):
    with lzma.open(path, "rt", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def ira(tmp_path_factory):
    """The real file, ingested once for the tests below (about 15 s)."""
    ws = Workspace.init(tmp_path_factory.mktemp("ira") / "ws")
    [result] = ingest_paths(ws, [IRA])
    return ws, result, _rows(IRA)


def test_detection():
    assert detect(IRA) == "troll-tweets"
    assert detect(FIXTURE) == "troll-tweets"


def test_real_file_counts_match_raw(ira):
    ws, result, rows = ira
    assert len(rows) == 128_919
    posts, accounts, interactions = {}, set(), set()
    for row in rows:
        author = row["author_id"].lower()
        post_id = _derived(author, row["publish_date"], row["content"])
        kind = KINDS[row["post_type"]]
        posts.setdefault(post_id, (row, kind))
        accounts.add(author)
        target = RT.match(row["content"]) if kind == "repost" else None
        if target:
            interactions.add((author, target.group(1).lower(), "repost", post_id))
            accounts.add(target.group(1).lower())
        for handle in {m.lower() for m in MENTION.findall(row["content"])}:
            accounts.add(handle)
            if not (target and handle == target.group(1).lower()):
                interactions.add((author, handle, "mention", post_id))
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (
        len(rows), len(posts), len(rows) - len(posts), 0)
    assert scalar(ws, "SELECT count(*) FROM posts") == len(posts)
    assert {a for (a,) in query(ws, "SELECT account_id FROM accounts")} == accounts
    got = set(query(ws, "SELECT src, dst, kind, post_id FROM interactions"))
    assert len(got) == len(interactions) and got == interactions
    kinds = dict(query(ws, "SELECT kind, count(*) FROM posts GROUP BY kind"))
    expected_kinds = {}
    for _, kind in posts.values():
        expected_kinds[kind] = expected_kinds.get(kind, 0) + 1
    assert kinds == expected_kinds


def test_real_file_fields(ira):
    ws, _, rows = ira
    for row in (rows[0], rows[2], rows[len(rows) // 2], rows[-1]):
        post_id = _derived(row["author_id"].lower(), row["publish_date"], row["content"])
        got = query(ws, "SELECT account_id, text, created_at, kind, lang, parent_post_id FROM posts WHERE post_id = ?",
                    [post_id])
        assert got == [(row["author_id"].lower(), row["content"], _when(row["publish_date"]),
                        KINDS[row["post_type"]], "en", None)]
    last = rows[-1]
    followers, posts_count = query(ws, "SELECT followers, posts_count FROM accounts WHERE account_id = ?",
                                   [last["author_id"].lower()])[0]
    # the account row holds the latest harvest of that author (several rows may share that harvest time)
    mine = [r for r in rows if r["author_id"] == last["author_id"]]
    newest = max(_when(r["harvested_date"]) for r in mine)
    latest = {(int(r["followers"]), int(r["updates"])) for r in mine if _when(r["harvested_date"]) == newest}
    assert (followers, posts_count) in latest
    hashtags = scalar(ws, "SELECT hashtags FROM posts WHERE post_id = ?",
                      [_derived(rows[0]["author_id"].lower(), rows[0]["publish_date"], rows[0]["content"])])
    assert hashtags == [h.lower() for h in re.findall(r"#(\w+)", rows[0]["content"])]


def _fixture_rows():
    with open(FIXTURE, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_original_columns(workspace):
    [result] = ingest(workspace, FIXTURE)
    rows = _fixture_rows()
    ids = [r["tweet_id"] or _derived(r["author"].lower(), r["publish_date"], r["content"]) for r in rows]
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (
        len(rows), len(set(ids)), len(rows) - len(set(ids)), 0)
    got = {r[0]: r[1:] for r in query(
        workspace, "SELECT post_id, account_id, created_at, kind, parent_post_id, parent_account_id, lang, urls, url "
                   "FROM posts")}
    assert set(got) == set(ids)
    for row, post_id in zip(rows, ids):
        account, created, kind, _, _, _, urls, url = got[post_id]
        assert (account, created, kind) == (row["author"].lower(), _when(row["publish_date"]), KINDS[row["post_type"]])
        expanded = [row[f"tco{i}_step1"] for i in (1, 2, 3) if row[f"tco{i}_step1"]]
        assert urls == (expanded or re.findall(r"https?://\S+", row["content"]))
        assert url == (row["article_url"] or None)
    by_lang = {row["language"]: got[post_id][5] for row, post_id in zip(rows, ids)}
    assert by_lang == {"English": "en", "Russian": "ru", "LANGUAGE UNDEFINED": None}
    # "RT @realDonaldTrump: …" names the repost target by handle; a quote's parent comes from its tweet link
    retweet = next(i for r, i in zip(rows, ids) if r["content"].startswith("RT @"))
    assert got[retweet][3:5] == (None, "realdonaldtrump")
    quote = next(i for r, i in zip(rows, ids) if r["post_type"] == "QUOTE_TWEET")
    link = next(r["tco1_step1"] for r in rows if r["post_type"] == "QUOTE_TWEET")
    assert got[quote][3:5] == (link.rsplit("/", 1)[1], link.split("/")[3].lower())
    edges = set(query(workspace, "SELECT src, dst, kind FROM interactions"))
    assert ("ten_gop", "realdonaldtrump", "repost") in edges
    assert ("ten_gop", "realdonaldtrump", "mention") not in edges
    assert ("ten_gop", "foxnews", "quote") in edges and ("ten_gop", "foxnews", "mention") in edges
    # the row without tweet_id gets the documented derived id
    assert any(i.startswith("troll:") for i in ids)
    attrs = json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = '10_gop'"))
    assert attrs["account_category"] == "RightTroll" and attrs["account_type"] == "Right"
    assert attrs["alt_external_id"] == "905874659358453760"


def test_reingest_adds_nothing(workspace, tmp_path):
    ingest(workspace, FIXTURE)
    before = {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in ("posts", "accounts", "interactions")}
    copy = tmp_path / "copy.csv"
    copy.write_text(FIXTURE.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # other bytes, same rows
    [again] = ingest(workspace, copy)
    assert again.stored == 0 and again.rejected == 0
    assert {t: scalar(workspace, f"SELECT count(*) FROM {t}") for t in before} == before


def test_bad_rows_become_rejects(workspace, tmp_path):
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    rows = list(csv.reader(io.StringIO("\n".join(lines[1:3]))))
    rows[0][5] = "not a date"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(lines[0].split(","))
    writer.writerow(rows[0])
    out.write("1,2,3\n")
    writer.writerow(rows[1])
    f = tmp_path / "broken.csv"
    f.write_text(out.getvalue(), encoding="utf-8")
    [result] = ingest(workspace, f, format_name="troll-tweets")
    assert (result.records_read, result.stored, result.rejected) == (3, 1, 2)
    rejects = dict(query(workspace, "SELECT line_no, reason FROM rejects"))
    assert rejects[2].startswith("unrecognised timestamp")
    assert rejects[3].startswith("expected 21 fields")
    assert query(workspace, "SELECT post_id FROM posts") == [(rows[1][16],)]


def test_links_cut_by_an_ellipsis_are_not_links(workspace, tmp_path):
    """A retweet shortened to 140 characters ends in a cut link ("https://t…"): neither its URL nor a
    domain "t" is stored; the whole link of the same text is."""
    header, first = FIXTURE.read_text(encoding="utf-8").splitlines()[:2]
    row = next(csv.reader([first]))
    row[2] = "RT @a: Vote today https://t.co/AbCdEf1234 and read https://t…"
    row[17:21] = ["", "", "", ""]  # no article URL or expanded links: the text's links are all there is
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header.split(","), row])
    f = tmp_path / "cut.csv"
    f.write_text(out.getvalue(), encoding="utf-8")
    [result] = ingest(workspace, f, format_name="troll-tweets")
    assert result.stored == 1
    assert query(workspace, "SELECT urls, domains FROM posts") == [(["https://t.co/AbCdEf1234"], ["t.co"])]


def _one_row(tmp_path, content):
    """The fixture's first row with ``content`` as its text and no expanded links, as a file."""
    header, first = FIXTURE.read_text(encoding="utf-8").splitlines()[:2]
    row = next(csv.reader([first]))
    row[2] = content
    row[17:21] = ["", "", "", ""]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header.split(","), row])
    f = tmp_path / "row.csv"
    f.write_text(out.getvalue(), encoding="utf-8")
    return f


@pytest.mark.parametrize("content, link, domains", [
    ("Here's an album for you Summer Hits by Producer 9-0 https://open.s", "https://open.s", []),
    ("Being Black in public - (Rebroadcast) --https://w https://t.co/KtqoNhOrfY", "https://w", ["t.co"]),
    # cut at X's 140 characters with no "…": the host may be cut ("nytim"), so no domain
    ("x" * 122 + " https://www.nytim", "https://www.nytim", []),
    ("x" * 50 + " https://www.nytimes.com", "https://www.nytimes.com", ["nytimes.com"]),
])
def test_links_cut_without_an_ellipsis_keep_their_text_but_give_no_domain(workspace, tmp_path, content, link,
                                                                            domains):
    [result] = ingest(workspace, _one_row(tmp_path, content), format_name="troll-tweets")
    assert result.stored == 1
    urls, stored = query(workspace, "SELECT urls, domains FROM posts")[0]
    assert link in urls and stored == domains


def test_the_real_file_has_no_domain_from_a_cut_link(ira):
    ws, _, _ = ira
    assert scalar(ws, "SELECT count(*) FROM posts, unnest(urls) u(u) WHERE u.u = 'https://open.s'") > 0
    assert scalar(ws, "SELECT count(*) FROM posts, unnest(domains) d(d) "
                      "WHERE NOT regexp_full_match(d.d, '.+\\.([a-z]{2,}|xn--[a-z0-9-]+)')") == 0


def test_engagement_the_files_do_not_carry_is_unknown_not_zero(workspace):
    """The troll files carry no like, repost, reply or quote counts: the overview leaves the authors'
    engagement unknown (NULL, "–" in the report), not 0 and "0.00 %"."""
    from confiance import i18n
    from confiance.overview import corpus_overview
    from confiance.report import environment
    from confiance.report.sections import collect_accounts

    ingest(workspace, FIXTURE)
    with workspace.writer() as con:
        corpus_overview(con, "run")
    authors = query(workspace, "SELECT engagement, engagement_per_post, engagement_rate FROM overview_accounts "
                               "WHERE posts > 0")
    assert authors and set(authors) == {(None, None, None)}
    with workspace.reader() as con:
        data = collect_accounts(con)
    with i18n.using("fr"):
        html = environment().get_template("sections/accounts.html").render(data=data)
    assert "0,00" not in html and "–</td>" in html and "<td class=\"n\"></td>" not in html
