"""The disclosure rule set in French and English: every shipped rule describes itself and cites the law in both
languages (the French as Légifrance writes it, French typography), the reader's language is shown and the other
one stands in, a user's plain string serves both, and a malformed text mapping is an error naming file and rule."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from confiance import i18n
from confiance.integrity.disclosure import RuleSetError, disclosure_listing, load_rules, record_rules
from tests.report.test_catalogue_typography import typography_problems

#: English legal wording that a French reference must not keep.
ENGLISH_WORDS = re.compile(r"\b(?:as amended|as inserted|to verify|before it|and|of the|indication only|products?)\b")


@pytest.fixture(scope="module")
def shipped():
    return load_rules()


def test_every_shipped_rule_is_described_and_referenced_in_french_and_english(shipped):
    for rule in shipped.rules.values():
        for texts in (rule.description, rule.legal_reference):
            assert set(texts) == set(i18n.LANGUAGES), rule.id
            assert texts["fr"] != texts["en"], rule.id
        french_reference = rule.legal_reference["fr"]
        assert not typography_problems(rule.description["fr"]), (rule.id, typography_problems(rule.description["fr"]))
        assert not typography_problems(french_reference), (rule.id, typography_problems(french_reference))
        assert not ENGLISH_WORDS.search(french_reference), (rule.id, french_reference)
        # cited as Légifrance does: the law and the ordonnance with their dates
        if "2023-451" in rule.legal_reference["en"]:
            assert re.search(r"\b[Ll]oi n° 2023-451 du 9 juin 2023, art\. ", french_reference), rule.id
        if "2024-978" in rule.legal_reference["en"]:
            assert "l'ordonnance n° 2024-978 du 6 novembre 2024" in french_reference, rule.id
        # what could not be checked is said so in both languages
        assert ("to verify" in rule.legal_reference["en"]) == ("à vérifier" in french_reference), rule.id
    assert shipped.version != "2025.4"  # the texts changed: a new version of the rule set


def test_the_readers_language_is_shown_and_the_other_stands_in(shipped):
    rule = shipped.rules["disclosure.placement"]
    assert rule.referenced() == rule.legal_reference["en"] == rule.referenced("en")
    with i18n.using("fr"):
        assert rule.referenced() == rule.legal_reference["fr"]
        assert rule.described().startswith("La mention prévue par la loi est présente")
    assert rule.described() == rule.description["en"]


def _user_rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agency.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_rule_set_with_plain_strings_serves_both_languages(tmp_path: Path, shipped):
    rules = load_rules([_user_rules(tmp_path, """
rules:
  - id: category.energy_drinks
    kind: category
    status: restricted
    severity: medium
    description: Boissons énergisantes (politique de l'agence).
    legal_reference: "Politique de l'agence"
    patterns: {fr: ["\\\\bboissons?\\\\s+[ée]nergisantes?\\\\b"]}
  - id: disclosure.missing
    legal_reference: {fr: "Référence de l'agence"}
  - id: signal.utm_link
    description: Lien de campagne suivi.
""")])
    energy = rules.rules["category.energy_drinks"]
    assert [energy.described(lang) for lang in i18n.LANGUAGES] == ["Boissons énergisantes (politique de l'agence)."] * 2
    assert [energy.referenced(lang) for lang in i18n.LANGUAGES] == ["Politique de l'agence"] * 2
    # a mapping updates the languages it names; a plain string replaces every language
    missing = rules.rules["disclosure.missing"]
    assert missing.referenced("fr") == "Référence de l'agence"
    assert missing.referenced("en") == shipped.rules["disclosure.missing"].legal_reference["en"]
    assert rules.rules["signal.utm_link"].description == {"en": "Lien de campagne suivi.", "fr": "Lien de campagne suivi."}
    # `confiance disclosure --json` gives each finding its rule's texts in every language
    con = duckdb.connect()
    con.execute("CREATE TABLE disclosure_posts AS SELECT 'x' AS platform, 'p1' AS post_id, 'a1' AS account_id, "
                "true AS commercial, 'restricted_category' AS verdict, 'statutory' AS disclosure, "
                "'[{\"rule\": \"category.energy_drinks\", \"severity\": \"medium\", \"field\": \"text\", \"span\": [0, 8], "
                "\"text\": \"Boissons\"}, {\"rule\": \"gone.rule\", \"severity\": \"info\", \"field\": \"text\", "
                "\"span\": null, \"text\": \"x\"}]'::JSON AS findings")
    record_rules(con, "r1", rules)  # as the run does: the listing gives the texts it recorded
    found, unknown = disclosure_listing(con)[0]["findings"]
    assert found["description"] == {"en": energy.description["en"], "fr": energy.description["en"]}
    assert found["legal_reference"] == {"en": "Politique de l'agence", "fr": "Politique de l'agence"}
    assert (found["rule"], found["span"], found["text"]) == ("category.energy_drinks", [0, 8], "Boissons")
    assert unknown["description"] is None and unknown["legal_reference"] is None


@pytest.mark.parametrize("text, field, reason", [
    ("description: {de: Werbung}", "description.de", "unknown language; known: en, fr"),
    ("description: {fr: [Publicité]}", "description.fr", "expected a non-empty string, not ['Publicité']"),
    ("description: {fr: '  '}", "description.fr", "expected a non-empty string"),
    ("legal_reference: {}", "legal_reference", "expected a text, or a mapping of language (en, fr) to a text"),
    ("legal_reference: 2023", "legal_reference", "expected a text, or a mapping"),
])
def test_a_malformed_text_mapping_names_the_file_and_the_rule(tmp_path: Path, text: str, field: str, reason: str):
    path = _user_rules(tmp_path, f"rules:\n  - id: disclosure.missing\n    {text}\n")
    with pytest.raises(RuleSetError) as caught:
        load_rules([path])
    assert str(caught.value).startswith(f"{path}: rules[0] (id=disclosure.missing).{field}: {reason}"), str(caught.value)
