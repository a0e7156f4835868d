"""KPI, survey and audience CSVs: rows checked against an independent reading of each file with the
csv module (encoding and delimiter given explicitly here, not detected)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from confiance.ingest import detect
from tests.conftest import REAL, ingest, query, scalar

TABLES = Path(__file__).resolve().parents[1] / "data" / "tables"
ARMA = REAL / "causalimpact-arma" / "arma_data.csv"


def _rows(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[dict[str, str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def _fr_number(text: str) -> float:
    return float(text.replace(" ", "").replace(",", "."))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kpi_long.csv", "kpi-csv"),
        ("kpi_wide_fr.csv", "kpi-csv"),
        ("survey_long_utf16.csv", "survey-csv"),
        ("survey_wide.csv", "survey-csv"),
        ("audience.csv", "audience-csv"),
        ("audience_latin1.csv", "audience-csv"),
    ],
)
def test_detection(name, expected):
    assert detect(TABLES / name) == expected


def test_arma_is_detected_as_kpi():
    assert detect(ARMA) == "kpi-csv"


# -- KPI ------------------------------------------------------------------------------------------
def test_arma_series_by_row_index(workspace):
    rows = _rows(ARMA)
    [result] = ingest(workspace, ARMA)
    cells = len(rows) * len(rows[0])
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (cells, cells, 0, 0)
    for column in rows[0]:
        got = query(workspace, "SELECT ts::DATE, value FROM kpis WHERE series = ? ORDER BY ts", [column])
        want = [(date(2000, 1, 1) + timedelta(days=i), float(r[column])) for i, r in enumerate(rows)]
        assert got == want
    assert scalar(workspace, "SELECT count(DISTINCT series) FROM kpis") == len(rows[0])


def test_kpi_long_form(workspace):
    path = TABLES / "kpi_long.csv"
    rows = _rows(path)
    keys = {(r["series"], r["ts"]) for r in rows}
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(keys), len(rows) - len(keys), 0)
    visits = [_fr_number(r["value"]) for r in rows if r["series"] == "visits"][:3]
    got = query(workspace, "SELECT value, unit FROM kpis WHERE series = 'visits' ORDER BY ts")
    assert got == [(v, "sessions") for v in visits]
    # '+01:00' is converted to UTC
    assert scalar(workspace, "SELECT max(ts) FROM kpis WHERE series = 'visits'").hour == 11
    assert query(workspace, "SELECT value, unit FROM kpis WHERE series = 'conversion'") == [(2.9, "%")]
    assert scalar(workspace, "SELECT unit FROM kpis WHERE series = 'signups' LIMIT 1") is None


def test_kpi_wide_semicolon_decimal_comma(workspace):
    path = TABLES / "kpi_wide_fr.csv"
    rows = _rows(path, delimiter=";")
    cells = [(name, r["date"], value) for r in rows for name, value in r.items() if name != "date" and value.strip()]
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (len(cells), len(cells), 0)
    got = {(s, ts.strftime("%Y-%m-%d"), v) for s, ts, v in query(workspace, "SELECT series, ts, value FROM kpis")}
    month_start = {r["date"]: (r["date"] + "-01" if len(r["date"]) == 7 else r["date"]) for r in rows}
    assert got == {(s, month_start[d], _fr_number(v)) for s, d, v in cells}
    assert scalar(workspace, "SELECT value FROM kpis WHERE series = 'ventes (€)' AND ts = '2024-01-01'") == 1234.5


def test_kpi_bad_cells_are_rejected_and_reingest_adds_nothing(workspace, tmp_path):
    path = tmp_path / "kpi.csv"
    path.write_text("series,date,value\nvisits,2024-01-01,10\nvisits,not a date,11\nvisits,2024-01-03,n/a\nvisits,2024-01-04,12\n")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (4, 2, 2)
    assert sorted(r[0] for r in query(workspace, "SELECT line_no FROM rejects")) == [3, 4]
    [again] = ingest(workspace, path)
    assert again.stored == 0
    assert scalar(workspace, "SELECT count(*) FROM kpis") == 2


def test_kpi_dayfirst_option(workspace, tmp_path):
    path = tmp_path / "kpi.csv"
    path.write_text("date;visites\n05/01/2024;10\n13/01/2024;12\n")
    ingest(workspace, path, options={"dayfirst": True})
    got = [ts.strftime("%Y-%m-%d") for (ts,) in query(workspace, "SELECT ts FROM kpis ORDER BY ts")]
    assert got == ["2024-01-05", "2024-01-13"]


# -- surveys --------------------------------------------------------------------------------------
_EXPOSED = {"oui": True, "non": False, "true": True, "false": False, "1": True, "0": False, "": None}


def test_survey_long_utf16(workspace):
    path = TABLES / "survey_long_utf16.csv"
    rows = _rows(path, encoding="utf-16")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (len(rows), len(rows), 0)
    got = set(query(workspace, "SELECT wave, respondent, question, answer, segment, weight, exposed FROM surveys"))
    want = {
        (r["wave"], r["respondent"], r["question"], r["answer"] or None, r["segment"],
         _fr_number(r["weight"]) if r["weight"] else None, _EXPOSED[r["exposed"]])
        for r in rows
    }
    assert got == want
    assert ("W1", "r001", "favorability", "Très favorable") in {g[:4] for g in got}


def test_survey_wide_one_record_per_question_cell(workspace):
    path = TABLES / "survey_wide.csv"
    rows = _rows(path)
    meta = {"wave", "respondent", "segment", "weight", "exposed"}
    answers = {(r["wave"], r["respondent"], q, a or None) for r in rows for q, a in r.items() if q not in meta}
    assert any(a is None for *_, a in answers)  # the fixture has empty cells: stored as NULL answers
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (len(answers), len(answers), 0)
    assert set(query(workspace, "SELECT wave, respondent, question, answer FROM surveys")) == answers
    exposed = {(r["wave"], r["respondent"]): _EXPOSED[r["exposed"]] for r in rows}
    got = dict(((w, r), e) for w, r, e in query(workspace, "SELECT DISTINCT wave, respondent, exposed FROM surveys"))
    assert got == exposed


def test_survey_bad_exposed_is_rejected(workspace, tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text("wave,respondent,question,answer,exposed\nW1,a,q1,yes,1\nW1,b,q1,no,peut-être\nW1,c,q1,yes,0\n")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (3, 2, 1)
    assert scalar(workspace, "SELECT line_no FROM rejects") == 3


# -- audience reports -----------------------------------------------------------------------------
def test_audience_utf8_fractions(workspace):
    path = TABLES / "audience.csv"
    rows = _rows(path)
    keys = {(r["platform"], r["account_id"], r["dimension"], r["category"]) for r in rows}
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(keys), len(rows) - len(keys), 0)
    got = set(query(workspace, "SELECT platform, account_id, dimension, category, share, source FROM audience_reports"))
    fold = {"interests": "interest"}
    assert got == {(r["platform"], r["account_id"], fold.get(r["dimension"], r["dimension"]), r["category"],
                    float(r["share"]), r["source"]) for r in rows}
    accounts = set(query(workspace, "SELECT platform, account_id, handle FROM accounts"))
    assert accounts == {(r["platform"], r["account_id"], r["handle"]) for r in rows}


def test_audience_latin1_percent_shares(workspace):
    path = TABLES / "audience_latin1.csv"
    rows = _rows(path, encoding="latin-1", delimiter=";")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (len(rows), len(rows), 0)
    got = {(p, a, d, c): s for p, a, d, c, s in query(
        workspace, "SELECT platform, account_id, dimension, category, share FROM audience_reports")}
    dimensions = {"âge": "age", "sexe": "gender", "région": "region", "pays": "country", "langue": "language"}
    platforms = {"instagram": "instagram", "twitter": "x"}
    want = {}
    for r in rows:
        text = r["Part"].replace("%", "")
        share = _fr_number(text)
        share = share / 100 if "%" in r["Part"] or share > 1 else share
        key = (platforms[r["Platform"].lower()], r["Handle"].lstrip("@").lower(), dimensions[r["Dimension"].lower()], r["Catégorie"])
        want[key] = share
    assert got.keys() == want.keys()
    for key, share in want.items():
        assert got[key] == pytest.approx(share)
    assert ("instagram", "léavoyage", "region", "Île-de-France") in got
    assert scalar(workspace, "SELECT count(*) FROM accounts") == 0  # handles only: no account ids


def test_audience_out_of_range_share_is_rejected(workspace, tmp_path):
    path = tmp_path / "audience.csv"
    path.write_text("platform,handle,dimension,category,share\ntiktok,a,age,18-24,40%\ntiktok,a,age,25-34,140%\n")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (2, 1, 1)
    assert scalar(workspace, "SELECT line_no FROM rejects") == 3


def test_audience_groups_not_summing_to_one_are_stored_and_named(workspace, tmp_path):
    from confiance.overview import workspace_status

    path = tmp_path / "audience.csv"
    path.write_text("platform,account_id,handle,dimension,category,share\n"
                    "x,1,a,age,18-24,0.34\nx,1,a,age,25-34,0.66\n"  # sums to 1
                    "x,1,a,gender,female,0.333\nx,1,a,gender,male,0.333\nx,1,a,gender,other,0.333\n"  # rounding: 0.999
                    "x,1,a,country,FR,0.5\nx,1,a,country,BE,0.33\n"  # a partial report: 0.83
                    "x,1,a,country,BE,0.33\n"  # a repeated category counts once
                    "tiktok,2,b,age,18-24,40%\ntiktok,2,b,age,25-34,70%\n", encoding="utf-8")  # 110%
    rows = _rows(path)
    sums: dict = {}
    for r in rows:
        share = float(r["share"].rstrip("%")) / (100 if r["share"].endswith("%") else 1)
        sums.setdefault((r["platform"], r["account_id"], r["dimension"]), {}).setdefault(r["category"], share)
    off = {key: sum(v.values()) for key, v in sums.items() if abs(sum(v.values()) - 1) > 0.02}
    assert set(off) == {("x", "1", "country"), ("tiktok", "2", "age")}
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(rows) - 1, 1, 0)
    (note,) = result.notes
    assert "2 (account, dimension) groups" in note
    assert "x:1 country shares sum to 0.83 (83%)" in note and "tiktok:2 age shares sum to 1.10 (110%)" in note
    assert "gender" not in note and " age shares sum to 1.00" not in note
    with workspace.reader() as con:
        status = workspace_status(con)
    assert {g["sha256"] for g in status["audience_groups_not_summing"]} == {result.sha256}
    assert {(g["platform"], g["account_id"], g["dimension"]): g["share_sum"]
            for g in status["audience_groups_not_summing"]} == pytest.approx(off)


def test_an_empty_answer_is_the_same_null_in_both_survey_shapes_and_the_analysis_leaves_it_out(tmp_path):
    from confiance.campaign.surveys import survey_shares
    from confiance.workspace import Workspace

    long = tmp_path / "long.csv"
    long.write_text("wave,respondent,question,answer,weight\n"
                    "pre,a,fav,4,1\npre,a,buy,yes,1\npre,b,fav,,2\npre,b,buy,no,2\npre,c,fav,2,1\npre,c,buy,,1\n")
    wide = tmp_path / "wide.csv"
    wide.write_text("wave,respondent,weight,fav,buy\npre,a,1,4,yes\npre,b,2,,no\npre,c,1,2,\n")
    answered = tmp_path / "answered.csv"  # the same survey without the empty answers
    answered.write_text("wave,respondent,question,answer,weight\npre,a,fav,4,1\npre,a,buy,yes,1\n"
                        "pre,b,buy,no,2\npre,c,fav,2,1\n")
    stored, shares = {}, {}
    for path in (long, wide, answered):
        ws = Workspace.init(tmp_path / f"ws-{path.stem}")
        [result] = ingest(ws, path)
        # one record per answer or empty answer: 6 in both shapes, 4 without the empty ones
        assert (result.records_read, result.rejected) == ({"answered": 4}.get(path.stem, 6), 0)
        stored[path.stem] = set(query(ws, "SELECT wave, respondent, question, answer, weight FROM surveys"))
        with ws.reader() as con:
            frame = con.execute("SELECT wave, respondent, question, answer, segment, weight, exposed FROM surveys").df()
        shares[path.stem] = survey_shares(frame).sort_values(["question", "answer", "segment", "exposed"],
                                                             na_position="first").reset_index(drop=True)
    assert stored["long"] == stored["wide"]
    assert {(r, q) for _, r, q, a, _ in stored["wide"] if a is None} == {("b", "fav"), ("c", "buy")}
    pd.testing.assert_frame_equal(shares["long"], shares["answered"])
    pd.testing.assert_frame_equal(shares["wide"], shares["answered"])
    fav = shares["wide"].query("question == 'fav' and segment == 'all' and exposed == 'all'")
    assert fav["estimate"].tolist() == [3.0] and fav["respondents"].tolist() == [2]  # (4 + 2) / 2: b did not answer
