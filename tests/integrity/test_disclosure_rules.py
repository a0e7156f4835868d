"""The rules a disclosure run applied are kept with it (``disclosure_rules``): the report, the dashboard and
``confiance disclosure --json`` describe the findings with the texts the run used (a user's rule file included),
not with the shipped rule set of the day; a store written before that table still renders."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from confiance import i18n
from confiance.cli import app
from confiance.integrity import disclosure
from confiance.integrity.disclosure import SHIPPED, disclosure_listing, load_rules, recorded_rules, run_disclosure
from confiance.pipeline import rerun
from confiance.privacy import expire, forget
from confiance.report import build_report
from confiance.workspace import Workspace
from tests.report.test_french import _rule_texts, _section, _section_page

#: A user's rule file: a new rule with its texts in both languages, a shipped rule's description redefined in both
#: and its legal reference in French only.
USER_RULES = """
name: agency-overrides
version: "agency-7"
rules:
  - id: category.energy_drinks
    kind: category
    status: restricted
    severity: medium
    description:
      en: "Energy drinks: agency policy."
      fr: "Boissons énergisantes : politique de l'agence."
    legal_reference:
      en: "Agency policy, clause 4"
      fr: "Politique de l'agence, clause 4"
    patterns:
      fr: ["\\\\bboissons?\\\\s+[ée]nergisantes?\\\\b"]
  - id: disclosure.missing
    description:
      en: "No advertising mention (agency wording)."
      fr: "Aucune mention publicitaire (formulation de l'agence)."
    legal_reference:
      fr: "Référence de l'agence, article 1"
"""
POSTS = [("p-energy", "Ma boisson énergisante préférée, code FORME10 pour -10 % sur la boutique"),
         ("p-plain", "Une belle journée au parc avec les enfants")]


def _workspace(root: Path) -> Workspace:
    ws = Workspace.init(root / "ws")
    with ws.writer() as con:
        con.execute("INSERT INTO accounts (platform, account_id, handle) VALUES ('x', 'a1', 'lea_sport')")
        con.executemany("INSERT INTO posts (platform, post_id, account_id, text, kind, lang, created_at) "
                        "VALUES ('x', ?, 'a1', ?, 'post', 'fr', TIMESTAMPTZ '2020-01-02 10:00:00+00')", POSTS)
    return ws


@pytest.fixture(scope="module")
def user_file(tmp_path_factory) -> Path:
    """The user's rule file, kept in a folder named after its owner."""
    path = tmp_path_factory.mktemp("rules-table") / "jeanne.dupont" / "agency-rules.yaml"
    path.parent.mkdir()
    path.write_text(USER_RULES, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def audited(user_file, tmp_path_factory):
    """A workspace audited through the CLI with the user's rule file, and the `--json` rows."""
    ws = _workspace(tmp_path_factory.mktemp("rules-table-ws"))
    out = CliRunner().invoke(app, ["--workspace", str(ws.root), "disclosure", "--rules", str(user_file), "--json"])
    assert out.exit_code == 0, out.output
    return ws, orjson.loads(out.stdout)


@pytest.fixture(scope="module")
def pages(audited, tmp_path_factory):
    """The disclosure section of the report and of the dashboard, per language."""
    from fastapi.testclient import TestClient

    from confiance.web.app import Settings, create_app

    ws, _ = audited
    root = tmp_path_factory.mktemp("rules-table-html")
    snapshot = ws.publish_snapshot()
    out = {}
    for lang in i18n.LANGUAGES:
        report = build_report(ws, root / f"{lang}.html", language=lang).read_text(encoding="utf-8")
        client = TestClient(create_app(Settings(snapshot=snapshot, language=lang)), base_url="http://127.0.0.1:8765")
        out[lang] = (_section(report, "disclosure"), _section_page(client.get("/sections/disclosure").text))
    return out


def test_the_run_records_the_rules_it_applied_without_the_users_folder(audited, user_file):
    ws, _ = audited
    with ws.reader() as con:
        rows = con.execute("SELECT rule_id, source, rule_set_name, rule_set_version, rule_set_files, "
                           "CAST(description AS VARCHAR) FROM disclosure_rules").fetchall()
        stored = str(con.execute("SELECT * FROM disclosure_rules").fetchall())
        recorded = str(con.execute("SELECT parameters FROM analysis_runs WHERE step = 'disclosure'").fetchall())
        run_ids = con.execute("SELECT DISTINCT d.run_id, r.run_id FROM disclosure_rules d, analysis_runs r "
                              "WHERE r.step = 'disclosure'").fetchall()
    sources = {rule_id: source for rule_id, source, *_ in rows}
    shipped = load_rules()
    assert set(sources) == set(shipped.rules) | {"category.energy_drinks"}
    assert sources["category.energy_drinks"] == sources["disclosure.missing"] == "agency-rules.yaml"
    assert {s for r, s in sources.items() if r not in ("category.energy_drinks", "disclosure.missing")} == {SHIPPED}
    # the rule set's name and version are the shipped file's; every merged file is named, its folder is not
    assert {row[2:4] for row in rows} == {(shipped.name, shipped.version)}
    assert {tuple(row[4]) for row in rows} == {(f"fr-influence.yaml@{shipped.version}", "agency-rules.yaml@agency-7")}
    assert "jeanne.dupont" not in stored and str(user_file.parent) not in stored
    assert "agency-rules.yaml@agency-7" in recorded and "jeanne.dupont" not in recorded  # the run's parameters too
    assert len(run_ids) == 1 and run_ids[0][0] == run_ids[0][1]


def test_json_gives_the_texts_the_run_applied(audited):
    _, rows = audited
    shipped = load_rules().rules["disclosure.missing"]
    post = next(r for r in rows if r["post_id"] == "p-energy")
    findings = {f["rule"]: f for f in post["findings"]}
    assert post["verdict"] == "missing_disclosure"
    energy, missing = findings["category.energy_drinks"], findings["disclosure.missing"]
    assert energy["description"] == {"en": "Energy drinks: agency policy.",
                                     "fr": "Boissons énergisantes : politique de l'agence."}
    assert energy["legal_reference"] == {"en": "Agency policy, clause 4", "fr": "Politique de l'agence, clause 4"}
    assert missing["description"] == {"en": "No advertising mention (agency wording).",
                                      "fr": "Aucune mention publicitaire (formulation de l'agence)."}
    # the language the user did not give keeps the shipped text
    assert missing["legal_reference"] == {"en": shipped.legal_reference["en"], "fr": "Référence de l'agence, article 1"}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_report_and_dashboard_show_the_users_texts_and_the_recorded_rule_set(pages, user_file, lang):
    user = load_rules([user_file]).rules
    shipped = load_rules()
    own = {"en": ("Energy drinks: agency policy.", "No advertising mention (agency wording)."),
           "fr": ("Boissons énergisantes : politique de l'agence.", "Aucune mention publicitaire (formulation de l'agence).")}
    for page in pages[lang]:
        references, descriptions = _rule_texts(page)
        cited = re.findall(r"<tr><td><code>([a-z_.]+)</code></td>", page.rsplit("<h3>", 1)[-1])
        assert {"category.energy_drinks", "disclosure.missing"} <= set(cited), cited
        assert descriptions == [user[r].described(lang) for r in cited] and set(own[lang]) <= set(descriptions)
        assert user["category.energy_drinks"].legal_reference[lang] in references
        assert user["disclosure.missing"].referenced(lang) in references
        defined_by = dict(re.findall(r"<tr><td><code>([a-z_.]+)</code></td><td>[^<]*</td><td>([^<]*)</td></tr>", page))
        assert defined_by["category.energy_drinks"] == defined_by["disclosure.missing"] == "agency-rules.yaml"
        assert f"{shipped.name} {shipped.version} + agency-rules.yaml agency-7" in html.unescape(page)


def _audit(ws: Workspace, extra: tuple[Path, ...] = ()) -> None:
    rules = load_rules(extra)
    rerun(ws, "disclosure", {"rules": list(rules.file_names)}, lambda con, run_id: run_disclosure(con, run_id, rules))


def _upgraded_shipped_rules(monkeypatch) -> str:
    """Replace the shipped rule set by a later version that words ``disclosure.missing`` otherwise; its version."""
    text, found = re.subn(r'^version: ".*"$', 'version: "2099.1"', disclosure.default_rules_text(), flags=re.M)
    text, worded = re.subn(r"^(\s+en: )A commercial post with no disclosure at all\b.*$",
                           r"\1Upgraded wording of the missing mention.", text, flags=re.M)
    assert found == worded == 1
    monkeypatch.setattr(disclosure, "default_rules_text", lambda: text)
    return "2099.1"


def _report(ws: Workspace, path: Path) -> str:
    return html.unescape(_section(build_report(ws, path).read_text(encoding="utf-8"), "disclosure"))


def test_after_an_upgrade_the_run_is_described_with_its_own_rules_and_an_older_store_still_renders(
        tmp_path, monkeypatch):
    ws = _workspace(tmp_path)
    shipped = load_rules()
    _audit(ws)
    upgraded = _upgraded_shipped_rules(monkeypatch)
    assert load_rules().version == upgraded
    section = _report(ws, tmp_path / "after-upgrade.html")
    assert f"against the rule set {shipped.name} {shipped.version}" in section
    assert shipped.rules["disclosure.missing"].description["en"] in section
    assert "Upgraded wording" not in section and "stored before runs recorded their rules" not in section
    with ws.reader() as con:
        finding = next(f for row in disclosure_listing(con) for f in row["findings"] if f["rule"] == "disclosure.missing")
    assert finding["description"] == shipped.rules["disclosure.missing"].description
    # a store written before runs recorded their rules: the shipped rule set of the day stands in, and says so
    with ws.writer() as con:
        con.execute("DROP TABLE disclosure_rules")
        assert not recorded_rules(con).recorded
    section = _report(ws, tmp_path / "older-store.html")
    assert f"against the rule set {shipped.name} {upgraded}" in section and "Upgraded wording" in section
    assert "stored before runs recorded their rules" in section
    with ws.reader() as con:
        finding = next(f for row in disclosure_listing(con) for f in row["findings"] if f["rule"] == "disclosure.missing")
    assert finding["description"]["en"] == "Upgraded wording of the missing mention."


def test_a_later_run_replaces_the_recorded_rules(tmp_path, user_file):
    ws = _workspace(tmp_path)
    _audit(ws, (user_file,))
    _audit(ws)
    with ws.reader() as con:
        run_ids = {r for (r,) in con.execute("SELECT DISTINCT run_id FROM disclosure_rules").fetchall()}
        latest = con.execute("SELECT run_id FROM analysis_runs WHERE step = 'disclosure' "
                             "ORDER BY started_at DESC LIMIT 1").fetchall()[0][0]
        recorded = recorded_rules(con)
        findings = {f["rule"]: f for row in disclosure_listing(con) for f in row["findings"]}
    assert run_ids == {latest}
    assert "category.energy_drinks" not in recorded.rules and set(recorded.sources.values()) == {SHIPPED}
    assert recorded.files == (f"fr-influence.yaml@{recorded.version}",)
    assert "category.energy_drinks" not in findings
    assert findings["disclosure.missing"]["description"] == load_rules().rules["disclosure.missing"].description


def test_forgetting_a_person_keeps_the_rules_and_retention_drops_them_with_the_audit(tmp_path, user_file):
    ws = _workspace(tmp_path)
    _audit(ws, (user_file,))
    with ws.reader() as con:
        before = con.execute("SELECT * FROM disclosure_rules ORDER BY rule_id").fetchall()
    forget(ws, "lea_sport")
    with ws.reader() as con:  # rule texts and file names hold no personal data: nothing to remove
        assert con.execute("SELECT * FROM disclosure_rules ORDER BY rule_id").fetchall() == before
        assert con.execute("SELECT count(*) FROM disclosure_posts").fetchall()[0][0] == 0
    expiring = _workspace(tmp_path / "expiring")
    _audit(expiring, (user_file,))
    result = expire(expiring, datetime(2021, 1, 1, tzinfo=timezone.utc))
    assert {"disclosure_posts", "disclosure_rules"} <= set(result.analysis_tables_dropped)
