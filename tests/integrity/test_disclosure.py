"""Commercial disclosure audit (French law): the labelled FR/EN posts, the simulated world's planted
sponsored posts, platform flags from real importer samples, user rule sets, CLI and report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.integrity.disclosure import (
    KINDS, RuleSetError, audit_post, default_rules_text, disclosure_listing, load_rules, run_disclosure,
)
from confiance.pipeline import analyze, rerun
from confiance.report import build_report
from tests.conftest import FORMATS, ingest
from tests.integrity.disclosure_labelled import audit_item, labelled_posts, score, simulated_world_figures, user_brands

# Floors for each half of the labelled set (measured figures are printed; see benchmarks/disclosure.py).
MIN_COMMERCIAL_ACCURACY = 0.95
MIN_VERDICT_ACCURACY = 0.85
MIN_MICRO_PRECISION = 0.9
MIN_MICRO_RECALL = 0.9
#: Each rule with at least two expected posts in a half must find at least half of them.
MIN_RULE_RECALL = 0.5
# Simulated world (issue 5 acceptance: recall >= 0.95 for planted undisclosed sponsored posts).
MIN_UNDISCLOSED_RECALL = 0.95
MIN_UNDISCLOSED_PRECISION = 0.9
MIN_BANNED_RECALL = 0.9


@pytest.fixture(scope="module")
def rules():
    return load_rules(brands=user_brands())


# -- the rule set -----------------------------------------------------------------------------------
def test_rule_set_is_versioned_and_every_rule_has_a_legal_reference(rules):
    assert rules.name == "fr-influence" and rules.version
    for rule in rules.rules.values():
        assert rule.kind in KINDS
        assert rule.description and rule.legal_reference, rule.id
    cited = " ".join(text for r in rules.rules.values() for text in r.legal_reference.values())
    assert "2023-451" in cited and "2024-978" in cited and "art. 4" in cited and "art. 5" in cited


def test_labelled_set_covers_every_rule_with_compliant_and_non_compliant_posts(rules):
    posts = labelled_posts()
    assert len(posts) >= 60
    assert {p["lang"] for p in posts} == {"fr", "en"}
    assert {p["split"] for p in posts} == {"dev", "heldout"}
    expected = {r for p in posts for r in p["rules"]}
    # image markers are reported through image.notice_missing, never alone
    reported = {r.id for r in rules.rules.values() if r.kind != "image_marker"}
    assert reported <= expected, f"rules without a labelled post: {sorted(reported - expected)}"
    verdicts = {p["verdict"] for p in posts}
    assert {"not_commercial", "compliant", "missing_disclosure", "unclear_disclosure", "banned_category",
            "restricted_category", "missing_image_notice", "advertiser_content"} <= verdicts


@pytest.mark.parametrize("split", ["dev", "heldout"])
def test_labelled_posts_rule_precision_and_recall(rules, split):
    result = score(labelled_posts(split), rules)
    precision, recall = result.micro()
    print(f"\n[{split}] {result.items} posts: commercial accuracy {result.commercial_accuracy:.3f}, "
          f"verdict accuracy {result.verdict_accuracy:.3f}, micro precision {precision:.3f}, recall {recall:.3f}")
    for rule, (tp, fp, fn) in result.rules.items():
        p, r = result.precision(rule), result.recall(rule)
        print(f"  {rule:34s} tp {tp:2d} fp {fp:2d} fn {fn:2d}  precision "
              f"{'-' if p is None else f'{p:.2f}'}  recall {'-' if r is None else f'{r:.2f}'}")
    for line in result.errors:
        print("  error:", line)
    assert result.commercial_accuracy >= MIN_COMMERCIAL_ACCURACY
    assert result.verdict_accuracy >= MIN_VERDICT_ACCURACY
    assert precision >= MIN_MICRO_PRECISION and recall >= MIN_MICRO_RECALL
    for rule, (tp, _, fn) in result.rules.items():
        if tp + fn >= 2:
            assert tp / (tp + fn) >= MIN_RULE_RECALL, rule


# -- behaviour on single posts --------------------------------------------------------------------------
def test_finding_spans_point_at_the_evidence(rules):
    text = "Les sachets Bioflore sont top, code BIO20 🌿 #pub"
    audit = audit_post(text, rules=rules)
    assert audit.commercial and audit.verdict == "unclear_disclosure" and audit.disclosure == "equivalent"
    for finding in audit.findings:
        if finding.span:
            assert text[finding.span[0]:finding.span[1]].strip() == finding.text
    assert {"code BIO20", "Bioflore", "#pub"} <= {f.text for f in audit.findings}


def test_spans_point_at_the_original_characters_of_stylised_and_decomposed_text(rules):
    # accents as separate code points, emoji (a ZWJ sequence, a variation selector), a ligature,
    # mathematical bold letters, a narrow no-break space, full-width letters: the patterns read the
    # composed, plain form, and each span still points at the characters as written
    text = ("Publicite\u0301 | 👩\u200d👩\u200d👧 Le ﬁlm de l\u2019e\u0301te\u0301 ❤\ufe0f, "
            "𝐜𝐨𝐝𝐞 𝐋𝐄𝐀𝟐𝟎 pour -20\u202f% chez Lanco\u0302me™ 💄 ＃ｐｕｂ")
    audit = audit_post(text, rules=rules, language="fr")
    assert audit.verdict == "compliant" and audit.disclosure == "statutory"
    found = {f.rule: f for f in audit.findings}
    written = {rule: text[f.span[0]:f.span[1]] for rule, f in found.items() if f.span}
    assert written == {"disclosure.statutory": "Publicite\u0301", "signal.promo_code": "𝐜𝐨𝐝𝐞 𝐋𝐄𝐀𝟐𝟎",
                       "signal.brand_mention": "Lanco\u0302me"}
    assert all(found[rule].text == span for rule, span in written.items())
    # the patterns are read in the same form: "DALL‑E" with a no-break hyphen (U+2011, NFKC U+2010)
    image = audit_post("Publicité | Mon portrait fait avec DALL\u2011E, code ART10 pour -10%", rules=rules)
    assert image.verdict == "missing_image_notice"
    assert [f.text for f in image.findings if f.rule == "image.notice_missing"] == ["DALL\u2011E"]


def test_crypto_tokens_need_crypto_context(rules):
    """"Jeton" / "token" is a crypto-asset only with crypto context in its sentence (labelled posts)."""
    tokens = [p for p in labelled_posts() if any(w in p["text"].lower() for w in ("jeton", "token"))]
    assert {p["lang"] for p in tokens} == {"fr", "en"}
    expected = {p["id"]: "category.crypto_assets" in p["rules"] for p in tokens}
    assert set(expected.values()) == {True, False}
    assert {p["id"]: "category.crypto_assets" in audit_item(p, rules).rules() for p in tokens} == expected
    context = audit_post("Publicité | Les jetons du jeu sont en bois. Mon portefeuille numérique de jetons, code BOIS10 "
                         "pour -10%", rules=rules)
    assert [f.text for f in context.findings if f.rule == "category.crypto_assets"] == [
        "portefeuille numérique de jetons"]


def test_the_statutory_label_may_follow_a_leading_emoji(rules):
    """"🎁 Publicité | …" is the label at the start of the post; "😡 publicité partout…" is no label."""
    posts = {p["id"]: p for p in labelled_posts() if p["id"] in ("qa-41", "qa-42", "qa-43", "qa-44")}
    assert len(posts) == 4
    for post in posts.values():
        audit = audit_item(post, rules)
        assert ("disclosure.statutory" in audit.rules()) == ("disclosure.statutory" in post["rules"]), post["id"]
        assert audit.verdict == post["verdict"], post["id"]
    mention = [f for f in audit_item(posts["qa-41"], rules).findings if f.rule == "disclosure.statutory"]
    assert [posts["qa-41"]["text"][slice(*f.span)].strip() for f in mention] == ["🎁 Publicité"]
    assert "disclosure.statutory" not in audit_post("@publicite partenaire de l'événement", rules=rules).rules()


def test_statutory_mention_buried_after_hashtags_is_unclear(rules):
    body = "Une journée à la plage avec ma famille, le soleil, les glaces et les jeux. " * 3
    tags = " #plage #famille #ete #soleil #vacances"
    first = audit_post("Publicité | " + body + "Mon maillot vient de chez Zara, code ETE10." + tags, rules=rules)
    last = audit_post(body + "Mon maillot vient de chez Zara, code ETE10." + tags + " #publicité", rules=rules)
    assert (first.verdict, first.disclosure) == ("compliant", "statutory")
    assert (last.verdict, last.disclosure) == ("unclear_disclosure", "buried")
    assert "disclosure.placement" in last.rules()


def test_a_brand_mention_alone_is_not_commercial_but_two_weak_signals_are(rules):
    assert not audit_post("Quelqu'un a testé les chaussures Nike pour le trail ?", rules=rules).commercial
    both = audit_post("Les chaussures Nike du moment, lien en bio", rules=rules)
    assert both.commercial and both.verdict == "missing_disclosure"


def test_categories_and_image_notices_are_checked_on_commercial_posts_only(rules):
    story = audit_post("Ma rhinoplastie il y a un an, retouchée avec Facetune pour la lumière", rules=rules)
    assert not story.commercial and story.verdict == "not_commercial"
    assert not {"category.aesthetic_procedures", "image.notice_missing"} & story.rules()


def test_french_only_patterns_follow_the_posts_language(rules):
    assert rules.rules["disclosure.equivalent"].language_specific == ("fr",)
    text = "Soirée entre amis, la veste vient de chez Sézane #pub"
    # the recorded language (post_language or the platform's tag) decides; "und" lets the prose decide
    assert audit_post(text, rules=rules, language="fr-FR").verdict == "unclear_disclosure"
    assert audit_post(text, rules=rules, language="und").verdict == "unclear_disclosure"
    english = "Sunday quiz night with the whole team at our local #pub"
    assert not audit_post(english, rules=rules, language="en").commercial
    assert not audit_post(english, rules=rules).commercial  # identified from the prose
    # a French caption followed by English hashtags is French: its prose decides even if recorded as English
    tagged = "Ma tenue du jour, la veste vient de chez Sézane #pub #ootd #fashion #style #outfit"
    assert audit_post(tagged, rules=rules, language="en").verdict == "unclear_disclosure"
    # nothing recorded and too little prose to tell: every pattern applies
    assert audit_post("#pub", rules=rules).verdict == "unclear_disclosure"
    # patterns of other languages are not language-specific: "#ad" in a French post still counts
    assert audit_post("Les chaussures Nike du moment, lien en bio #ad", rules=rules, language="fr").verdict == \
        "unclear_disclosure"


def test_run_disclosure_reads_the_posts_language(workspace):
    text = "Great night out at the brewery with the whole team, trying the new Nike kit for the quiz #pub"
    with workspace.writer() as con:
        con.execute("INSERT INTO posts (platform, post_id, account_id, text, kind, lang) VALUES "
                    "('x', 'tagged-fr', 'a', ?, 'post', 'fr'), ('x', 'tagged-en', 'a', ?, 'post', 'en'), "
                    "('x', 'untagged', 'a', ?, 'post', NULL)", [text] * 3)
        run_disclosure(con, "r1", load_rules())
        verdicts = dict(con.execute("SELECT post_id, verdict FROM disclosure_posts").fetchall())
        assert verdicts == {"tagged-fr": "unclear_disclosure", "tagged-en": "not_commercial",
                            "untagged": "not_commercial"}
        # the language step's table comes before the platform's tag
        con.execute("CREATE TABLE post_language AS SELECT 'r0' AS run_id, 'x' AS platform, 'tagged-en' AS post_id, "
                    "'fr' AS lang, 0.99 AS probability, 'text' AS basis")
        run_disclosure(con, "r2", load_rules())
        verdicts = dict(con.execute("SELECT post_id, verdict FROM disclosure_posts").fetchall())
        assert verdicts["tagged-en"] == "unclear_disclosure" and verdicts["untagged"] == "not_commercial"


# -- user rule sets -----------------------------------------------------------------------------------
def test_user_rules_extend_merge_and_disable_by_id(tmp_path: Path):
    extra = tmp_path / "agency.yaml"
    extra.write_text("""
version: "agency-1"
brands: [Velorama]
parameters: {lead_chars: 20}
rules:
  - id: signal.promo_code
    patterns:
      fr: ["\\\\bbon\\\\s+de\\\\s+r[ée]duction\\\\b"]
  - id: signal.link_in_bio
    enabled: false
  - id: category.energy_drinks
    kind: category
    status: restricted
    severity: low
    description: Energy drinks (agency policy, not French law).
    legal_reference: "Agency policy (no legal basis)"
    patterns:
      fr: ["\\\\bboissons?\\\\s+[ée]nerg[ée]tiques?\\\\b"]
""", encoding="utf-8")
    rules = load_rules([extra])
    assert rules.parameters["lead_chars"] == 20 and "Velorama" in rules.brands
    assert rules.rules["signal.promo_code"].patterns["fr"][-1].startswith("\\bbon")
    shipped = load_rules().rules["signal.promo_code"].patterns["fr"]
    assert rules.rules["signal.promo_code"].patterns["fr"] == shipped + (rules.rules["signal.promo_code"].patterns["fr"][-1],)
    audit = audit_post("Publicité | Ma boisson énergétique Velorama, bon de réduction dans la boutique", rules=rules)
    assert audit.verdict == "restricted_category"
    assert {"signal.promo_code", "category.energy_drinks", "signal.brand_mention"} <= audit.rules()
    in_bio = audit_post("Le vélo Velorama, lien en bio", rules=rules)
    assert "signal.link_in_bio" not in in_bio.rules() and not in_bio.commercial
    assert any(f.startswith(str(extra)) and f.endswith("@agency-1") for f in rules.files)


@pytest.mark.parametrize("content, field", [
    ("rules:\n  - id: signal.promo_code\n    patterns:\n      fr: ['code (']\n", "rules[0] (id=signal.promo_code).patterns.fr[0]"),
    ("rules:\n  - id: category.new\n    kind: category\n    status: banned\n    severity: high\n"
     "    description: x\n    patterns: {fr: [x]}\n", "rules[0] (id=category.new).legal_reference"),
    ("rules:\n  - id: signal.promo_code\n    severity: fatal\n", "rules[0] (id=signal.promo_code).severity"),
    ("rules:\n  - id: signal.promo_code\n    pattern: [x]\n", "rules[0] (id=signal.promo_code).pattern"),
    ("rules:\n  - kind: signal\n", "rules[0].id"),
    ("colour: red\n", "colour"),
    ("parameters: {lead_chars: -1}\n", "parameters.lead_chars"),
    ("rules: [\n", "line 2"),
    ("rules:\n  - id: disclosure.equivalent\n    language_specific: [de]\n",
     "rules[0] (id=disclosure.equivalent).language_specific"),
])
def test_invalid_user_rules_name_the_file_and_field(tmp_path: Path, content: str, field: str):
    bad = tmp_path / "bad-rules.yaml"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        load_rules([bad])
    assert str(caught.value).startswith(f"{bad}: {field}"), str(caught.value)


def test_missing_rules_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RuleSetError, match="no-such.yaml: \\(file\\): cannot read"):
        load_rules([tmp_path / "no-such.yaml"])


def test_shipped_rules_are_package_data():
    assert "version:" in default_rules_text() and "2023-451" in default_rules_text()


# -- platform paid-partnership flags from the importers -----------------------------------------------------
def test_tiktok_is_ad_flag_from_zeeschuimer(workspace, tmp_path: Path):
    lines = (FORMATS / "zeeschuimer-ndjson" / "tiktok-test.ndjson").read_text(encoding="utf-8").splitlines()
    assert all('"isAd":false' in line for line in lines if '"isAd"' in line)
    flagged = tmp_path / "tiktok-flagged.ndjson"
    flagged.write_text("\n".join([lines[0].replace('"isAd":false', '"isAd":true', 1)] + lines[1:]) + "\n",
                       encoding="utf-8")
    ingest(workspace, flagged)
    rerun(workspace, "disclosure", {}, run_disclosure)
    with workspace.reader() as con:
        rows = {r["post_id"]: r for r in disclosure_listing(con, include_not_commercial=True)}
        flagged_ids = [r[0] for r in con.execute(
            "SELECT post_id FROM posts WHERE json_extract(attributes, '$.is_ad')::BOOLEAN").fetchall()]
    assert len(flagged_ids) == 1
    post = rows[flagged_ids[0]]
    assert post["commercial"] and post["verdict"] in ("unclear_disclosure", "compliant", "banned_category",
                                                      "restricted_category", "missing_image_notice")
    assert any(f["rule"] == "signal.platform_flag" and f["text"] == "is_ad=True" for f in post["findings"])
    # isAd false on the other real posts is not a flag
    assert not any(f["rule"] == "signal.platform_flag" for pid, r in rows.items() if pid != flagged_ids[0]
                   for f in r["findings"])


# -- the simulated world ----------------------------------------------------------------------------
def test_simulated_world_planted_sponsored_posts(sim_world):
    _, ws, truth = sim_world
    summary = analyze(ws, only=["disclosure"])["disclosure"]  # the step `confiance analyze` runs
    with ws.reader() as con:
        figures = simulated_world_figures(con, truth)
        accounts = {(r[0], r[1]): r[2:] for r in con.execute(
            "SELECT platform, account_id, undisclosed_posts, undisclosed_share, paid_share FROM disclosure_accounts").fetchall()}
        reposts_audited = con.execute("SELECT count(*) FROM disclosure_posts d JOIN posts p USING (platform, post_id) "
                                      "WHERE p.kind = 'repost'").fetchall()[0][0]
    print("\n" + json.dumps(figures, indent=1, ensure_ascii=False))
    assert summary["posts"] > 0 and summary["commercial"] == sum(v for k, v in summary.items()
                                                               if k not in ("posts", "commercial", "not_commercial"))
    assert figures["planted_undisclosed"] >= 20
    assert reposts_audited == 0  # a repost carries someone else's words
    assert figures["undisclosed_recall"] >= MIN_UNDISCLOSED_RECALL
    assert figures["undisclosed_precision"] >= MIN_UNDISCLOSED_PRECISION
    assert figures["banned_recall"] >= MIN_BANNED_RECALL
    # #pub, #ad and "Paid partnership" are never counted as compliant; the statutory words are never missing
    for label in ("#pub", "#ad", "Paid partnership"):
        assert "compliant" not in figures["verdicts_by_label"].get(label, {})
    for label in ("Publicité", "Collaboration commerciale"):
        assert not {"missing_disclosure", "unclear_disclosure"} & set(figures["verdicts_by_label"].get(label, {}))
    # every account with a planted undisclosed post shows it in its summary
    for s in truth["sponsored_posts"]:
        if not s["labelled"]:
            undisclosed, share, paid = accounts[(s["platform"], s["account_id"])]
            assert undisclosed >= 1 and share > 0 and paid > 0


def test_cli_and_report_on_the_simulated_world(sim_world, tmp_path: Path):
    _, ws, _ = sim_world
    with ws.writer() as con:  # a hostile post: the report must escape it
        con.execute("INSERT INTO posts (platform, post_id, account_id, text, kind) VALUES "
                    "('x', 'evil-1', 'evil', '<script>alert(1)</script> Ma rhinoplastie chez Nasaline, code EVIL10', 'post')")
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(ws.root), "disclosure", "--json"])
    assert out.exit_code == 0, out.output
    rows = orjson.loads(out.stdout)
    assert rows and all(r["commercial"] for r in rows)
    evil = next(r for r in rows if r["post_id"] == "evil-1")
    assert evil["verdict"] == "banned_category"
    assert {"signal.promo_code", "disclosure.missing", "category.aesthetic_procedures"} <= {f["rule"] for f in evil["findings"]}
    # each finding with its rule's texts in both languages, whatever the reader's (a stable shape)
    assert all(set(f["description"]) == set(f["legal_reference"]) == {"en", "fr"} for f in evil["findings"])
    out = runner.invoke(app, ["--workspace", str(ws.root), "disclosure", "--accounts", "--csv"])
    assert out.exit_code == 0 and out.stdout.splitlines()[0].startswith("platform,account_id,posts,commercial_posts")
    html = build_report(ws, tmp_path / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="disclosure">'):]
    section = section[:section.index("</section>")]
    assert "<mark>" in section and "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cli_bad_rules_file_exits_1_with_one_line(workspace, tmp_path: Path):
    ws = workspace
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: signal.promo_code\n    severity: fatal\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", "from confiance.cli import main; main()", "--workspace", str(ws.root),
                           "disclosure", "--rules", str(bad), "--json"], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and f"{bad}: rules[0] (id=signal.promo_code).severity" in proc.stderr
