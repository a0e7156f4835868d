"""The report in French (``confiance report --lang fr``): every message of the report and of the dashboard
(``confiance serve --lang fr``, tested in tests/web/test_french.py) has a French translation in the shipped
catalogue, French plural rules, numbers and dates in French form, no English heading left, still fully
escaped, and an unknown language is a usage error."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from confiance import i18n
from confiance.campaign.brief import parse_brief
from confiance.cli import app
from confiance.influence.fit import run_fit
from confiance.pipeline import analyze
from confiance.report import build_report, environment
from confiance.report.sections import all_sections
from confiance.wording import counted, plural
from tests.web.hostile import PAYLOADS, hostile_world

ROOT = Path(__file__).parents[2]
#: The keywords of ``pybabel extract -k counted:2,3`` (see confiance.report's docstring).
KEYWORDS = {**DEFAULT_KEYWORDS, "counted": (2, 3)}
#: Steps of the simulated world that run in seconds (no embedding): enough for most sections.
QUICK_STEPS = ["overview", "graph", "communities", "polarization", "influence", "layout", "bots", "disclosure",
               "sources", "account_types", "coordination", "harm"]
NNBSP = "\u202f"  # the narrow no-break space of French numbers, before "%" and before ";", "!", "?"
NBSP = "\u00a0"  # the no-break space before ":" and inside « guillemets » (docs/glossaire.md)


def _extracted() -> dict[str, str | tuple[str, ...]]:
    """Every message id of the report's templates and Python code, as ``pybabel extract -F babel.cfg`` finds them."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    messages: dict[str, str | tuple[str, ...]] = {}
    for filename, lineno, message, _, _ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS):
        key = message if isinstance(message, str) else message[0]
        # a noun counted somewhere and shown alone elsewhere is one catalogue entry, with its plural
        if not isinstance(messages.get(key), tuple):
            messages[key] = message
    return messages


@pytest.fixture(scope="module")
def catalogue():
    with i18n.catalogue_path("fr").open("rb") as po:
        return read_po(po, locale="fr", domain=i18n.DOMAIN)


def test_every_report_message_has_a_french_translation_and_none_is_obsolete(catalogue):
    extracted = _extracted()
    assert len(extracted) > 300  # the templates and sections were found (a wrong mapping finds nothing)
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue if m.id}
    missing = sorted(set(extracted) - set(entries))
    assert not missing, f"not in the French catalogue: {missing[:10]}"
    obsolete = sorted(set(entries) - set(extracted))
    assert not obsolete, f"in the catalogue but used nowhere: {obsolete[:10]}"
    assert not catalogue.obsolete
    for key, message in extracted.items():
        entry = entries[key]
        assert not entry.fuzzy, key
        assert isinstance(message, tuple) == entry.pluralizable, f"{key!r}: plural in the code, not in the catalogue"
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert len(strings) == (2 if entry.pluralizable else 1) and all(s.strip() for s in strings), key
    # placeholders agree between English and French (Babel's python-format checker)
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert not problems, problems[:5]
    assert catalogue.plural_forms == "nplurals=2; plural=(n > 1);"


def test_the_dashboards_messages_are_extracted_into_the_same_catalogue(catalogue):
    """babel.cfg maps the dashboard's templates and Python code too (the test above then covers them)."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {Path(filename).as_posix() for filename, *_ in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)}
    web = ROOT / "src" / "confiance" / "web"
    templates = {p.relative_to(ROOT).as_posix() for p in (web / "templates").glob("*.html") if p.name != "_cell.html"}
    modules = {f"src/confiance/web/{name}.py" for name in ("app", "views", "map", "evidence")}
    assert templates and templates | modules <= found, sorted(templates | modules - found)
    with i18n.using("fr"):
        assert i18n.translate("What the store holds") == "Contenu de la base"
        assert i18n.translate("Engagement rate") == "Taux d'engagement"


#: What a dashboard template may write outside its messages: the product's name, formats, signs.
WEB_TEMPLATE_LITERALS = {"confiance", "CSV", "JSON", "%", "–", "·", "."}


@pytest.mark.parametrize("template", sorted(p.name for p in (ROOT / "src/confiance/web/templates").glob("*.html")))
def test_the_dashboard_templates_write_no_words_outside_their_messages(template):
    text = (ROOT / "src/confiance/web/templates" / template).read_text(encoding="utf-8")
    text = re.sub(r"{% trans\b.*?%}.*?{% endtrans %}", " ", text, flags=re.S)
    text = re.sub(r"{{.*?}}|{%.*?%}|{#.*?#}", " ", text, flags=re.S)
    attributes = [a for a in re.findall(r'\b(?:placeholder|aria-label|title|alt)="([^"]*)"', text) if a.strip()]
    assert not attributes, attributes
    words = set(re.findall(r"\S+", re.sub(r"<[^>]*>", " ", text))) - WEB_TEMPLATE_LITERALS
    assert not words, words


def test_the_french_catalogue_is_loaded_without_a_compile_step():
    assert i18n.catalogue_path("fr").name == "confiance.po"
    assert not list(i18n.catalogue_path("fr").parent.glob("*.mo"))  # only the .po ships
    with i18n.using("fr"):
        assert i18n.gettext("Communities") == "Communautés"
        assert i18n.gettext("account") == "compte"  # a noun held with its plural is found alone too
    assert i18n.gettext("Communities") == "Communities"  # English outside the block


@pytest.mark.parametrize(("n", "expected"), [(0, "0 compte"), (1, "1 compte"), (2, "2 comptes"),
                                             (1_234, f"1{NNBSP}234 comptes"), (None, "– comptes")])
def test_french_plural_counts_zero_and_one_as_singular(n, expected):
    assert counted(n, "account", "accounts", language="fr") == expected


def test_english_counts_are_unchanged_and_french_plurals_come_from_the_catalogue():
    assert [counted(n, "community") for n in (0, 1, 2)] == ["0 communities", "1 community", "2 communities"]
    assert counted(1_234, "account") == "1,234 accounts"
    assert [counted(n, "community", language="fr") for n in (0, 1, 2)] == ["0 communauté", "1 communauté", "2 communautés"]
    assert counted(1, "is a single account", "are single accounts", language="fr") == "1 est un compte isolé"
    assert plural("community", language="fr") == "communautés" and plural("community") == "communities"


def test_template_plurals_and_numbers_follow_the_french_rules():
    template = environment().from_string(
        '{{ ngettext("account", "accounts", n) }}|'
        '{{ counted(n, "bursting day", "bursting days") }}|{{ x | num(1) }}|{{ x | percent(1) }}')
    with i18n.using("fr"):
        rendered = [template.render(n=n, x=1234.5) for n in (0, 1, 2)]
    assert rendered == [f"compte|0 jour de pic|1{NNBSP}234,5|1{NNBSP}234,5{NNBSP}%",
                        f"compte|1 jour de pic|1{NNBSP}234,5|1{NNBSP}234,5{NNBSP}%",
                        f"comptes|2 jours de pic|1{NNBSP}234,5|1{NNBSP}234,5{NNBSP}%"]
    assert template.render(n=2, x=1234.5) == "accounts|2 bursting days|1,234.5|1,234.5%"


def _headings(html: str, tag: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(rf"<{tag}(?: [^>]*)?>(.*?)</{tag}>", html, re.S)]


#: A brand brief of the simulated world (the brand-fit shortlist: its explanations are rendered in French).
BRIEF = """brand:
  name: Marque test
  description: "Notre marque parle de vélo et de mobilité douce en ville."
topics:
  embrace: ["vélo"]
  avoid: ["politique"]
segments:
  - name: francophones
    audience: {languages: [fr]}
"""


@pytest.fixture(scope="module")
def quick_world(sim_world_base, tmp_path_factory):
    """The simulated world after its quick steps and a brand-fit match."""
    from tests.conftest import copy_workspace

    ws = copy_workspace(sim_world_base[1], tmp_path_factory.mktemp("french-report") / "ws")
    analyze(ws, only=QUICK_STEPS)
    with ws.writer() as con:
        run_fit(con, "test-fr", parse_brief(BRIEF), candidates=20, posts=5)
    return ws


@pytest.fixture(scope="module")
def reports(quick_world, tmp_path_factory):
    """The quick world reported in English and in French."""
    root = tmp_path_factory.mktemp("french-report-html")
    return (build_report(quick_world, root / "en.html").read_text(encoding="utf-8"),
            build_report(quick_world, root / "fr.html", language="fr").read_text(encoding="utf-8"))


def test_the_french_report_is_in_french(reports):
    english, french = reports
    assert '<html lang="fr">' in french and '<html lang="en">' in english
    # every section title translated, in the registered order
    titles = [s.title for s in all_sections()]
    assert _headings(english, "h2") == titles
    french_titles = _headings(french, "h2")
    assert len(french_titles) == len(titles) and not set(french_titles) & set(titles)
    assert {"Communautés", "Influenceurs", "Comportement coordonné", "Fiabilité des sources et cascades de liens",
            "Mention publicitaire (droit français)"} <= set(french_titles)
    # no English sub-heading left, but those spelled alike in both languages
    same_in_both = {"Tables", "Verdicts"}
    left = set(_headings(english, "h3")) & set(_headings(french, "h3")) - same_in_both
    assert not left, left
    english_columns = set(_headings(english, "th")) - set(_headings(french, "th"))
    assert {"account", "followers", "engagement rate", "probability", "evidence (post ids)"} <= english_columns
    assert {"abonnés", "taux d'engagement", "probabilité"} <= set(_headings(french, "th"))
    # sections without data say so in French, keeping the command
    assert f"Rien à afficher pour le moment{NBSP}: lancez `confiance analyze --only sentiment`." in french
    assert "Nothing to show yet" not in french and "Nothing to show yet" in english


def test_the_french_report_writes_numbers_percentages_and_dates_the_french_way(reports):
    english, french = reports
    # 2,000 accounts in the sources table
    assert "<td>accounts</td><td class=\"n\">2,000</td>" in english
    assert f"<td>comptes</td><td class=\"n\">2{NNBSP}000</td>" in french
    cells = re.findall(r'<td class="n">([^<]*)</td>', french)
    assert any(re.fullmatch(r"\d+,\d+", c) for c in cells)  # decimal commas
    assert not [c for c in cells if re.search(r"\d\.\d", c)]  # no decimal point left
    assert re.search(r"<td class=\"n\">\d+,\d+&nbsp;%</td>", french)  # percentages with a decimal comma
    # chart ticks: French dates and numbers
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', french)
    assert any(re.fullmatch(r"\d{1,2}(?:er)? (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? \d{4}", t) for t in ticks)
    assert not any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in ticks)
    assert re.search(r"\d{4}-\d{2}-\d{2}", " ".join(re.findall(r'text-anchor="middle">([^<]+)</text>', english)))


#: Words of the analyses' English explanations that their French never uses.
ENGLISH_EXPLANATION_WORDS = ("strongest", "reach p", " p9", " p8", " of its leader", "leads community", "in community",
                             "next account", "owned account", "typed ", "likely automated", "bot score", "confidence",
                             "profile:", "own_domain_links", "best post", "cosine", "weakest", "distance",
                             "most different", "avoided-topic", "nothing to judge", "editorial", "trust ", "bot_scores",
                             "bot likelihood")


def _section(html: str, key: str) -> str:
    return html.split(f'<section id="{key}">', 1)[1].split("</section>", 1)[0]


def _influencer_reasons(html: str, why: str) -> list[str]:
    return [r.strip() for r in re.findall(re.escape(why) + r"</span> ([^<]*)", _section(html, "influencers"))]


def _fit_explanations(html: str) -> list[str]:
    rows = re.findall(r"<tr><td class=\"n\">\d+</td>.*?</tr>", _section(html, "fit"), re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", re.findall(r"<td>(.*?)</td>", row, re.S)[-1]).strip() for row in rows]


def test_the_analyses_explanations_in_the_french_report_are_french(reports):
    english, french = reports
    reasons_en, reasons_fr = _influencer_reasons(english, "why:"), _influencer_reasons(french, f"pourquoi{NBSP}:")
    fit_en, fit_fr = _fit_explanations(english), _fit_explanations(french)
    assert len(reasons_fr) == len(reasons_en) >= 20 and len(fit_fr) == len(fit_en) >= 5
    # the English report shows the analyses' English words (the list below can find them)
    assert all(r.startswith(("strongest: ", "not ranked as an influencer: ")) for r in reasons_en)
    assert all(r.startswith("editorial ") for r in fit_en)
    for text in reasons_fr + fit_fr:
        left = [w for w in ENGLISH_EXPLANATION_WORDS if w in text]
        assert not left, (left, text)
    assert all(r.startswith((f"points forts{NBSP}: ", f"non classé parmi les influenceurs{NBSP}: ")) for r in reasons_fr)
    assert any("centile" in r for r in reasons_fr) and any("tête de file de la communauté" in r for r in reasons_fr)
    assert any("compte détenu par une marque, classé marque (confiance " in r for r in reasons_fr)
    assert all(r.startswith("éditorial ") and " ; confiance " in r for r in fit_fr)  # plain spaces: see _fit_explanations
    assert any(re.search(r"éditorial \d,\d\d \(centile parmi les candidats ; publication la plus proche \S+, "
                         r"similarité cosinus brute \d,\d+\)", r) for r in fit_fr)


def _rule_texts(section: str) -> tuple[list[str], list[str]]:
    """The legal references under the evidence table's rules, and the descriptions of the rules table."""
    references = [html.unescape(r) for r in re.findall(r'</code><br><span class="muted">([^<]*)</span></td>', section)]
    rules = section.rsplit("<h3>", 1)[-1]
    descriptions = [html.unescape(d) for d in re.findall(r"<tr><td><code>[^<]*</code></td><td>([^<]*)</td><td>", rules)]
    return references, descriptions


def test_the_disclosure_section_cites_the_rules_in_the_readers_language(reports, quick_world):
    """Report and dashboard: the evidence's legal references and the rules' descriptions come from the rule set in
    the reader's language (French as Légifrance writes it), English as the rule set writes it."""
    from fastapi.testclient import TestClient

    from confiance.integrity.disclosure import load_rules
    from confiance.web.app import Settings, create_app

    english, french = (_section(page, "disclosure") for page in reports)
    rules = load_rules().rules
    cited = sorted(set(re.findall(r"<tr><td><code>([a-z_.]+)</code></td>", english)))
    assert len(cited) >= 3 and cited == sorted(set(re.findall(r"<tr><td><code>([a-z_.]+)</code></td>", french)))
    snapshot = quick_world.publish_snapshot()
    dashboard = {lang: _section_page(TestClient(create_app(Settings(snapshot=snapshot, language=lang)),
                                                base_url="http://127.0.0.1:8765").get("/sections/disclosure").text)
                 for lang in i18n.LANGUAGES}
    for lang, page in (("en", english), ("fr", french), ("en", dashboard["en"]), ("fr", dashboard["fr"])):
        references, descriptions = _rule_texts(page)
        assert references and descriptions == [rules[r].description[lang] for r in cited], lang
        assert set(references) <= {rules[r].legal_reference[lang] for r in rules}, lang
    references, descriptions = _rule_texts(french)
    assert all(r.startswith("Loi n° 2023-451 du 9 juin 2023, art. ") for r in references)
    assert not [r for r in references if re.search(r"\b(?:as amended|as inserted|products)\b", r)]
    assert any("tel que modifié par l'ordonnance n° 2024-978 du 6 novembre 2024" in r for r in references)
    assert "Règles relevées dans les éléments de preuve" in french and "Rules behind the evidence" in english


def _section_page(page: str) -> str:
    return page.split("<main", 1)[1]


def test_quotes_and_semicolon_lists_in_cells_follow_the_language(reports):
    english, french = reports
    # the most engaged post quoted with the language's marks
    excerpts_en = re.findall(r"</span> (“[^”<]*”)", _section(english, "influencers"))
    excerpts_fr = re.findall(r"</span> («[^»<]*»)", _section(french, "influencers"))
    assert len(excerpts_fr) == len(excerpts_en) >= 10 and "“" not in _section(french, "influencers")
    assert all(e.startswith(f"«{NBSP}") and e.endswith(f"{NBSP}»") for e in excerpts_fr)
    # the bots' other telltales and the account types' cues: "a; b" in English, "a ; b" in French
    for key in ("bots", "account-types"):
        cells_en, cells_fr = ([c for c in map(html.unescape, re.findall(r"<td[^>]*>([^<]*)</td>", _section(page, key)))
                               if ";" in c] for page in (english, french))
        assert len(cells_en) == len(cells_fr) >= 1, key
        assert all(c.count(f"{NNBSP}; ") == c.count(";") for c in cells_fr), key
        assert not [c for c in cells_en if " ;" in c or NNBSP in c], key
    template = environment().from_string("{{ text | quoted }}|{{ items | clauses }}")
    values = {"text": "<b>Pub</b>", "items": ["un", "deux & trois"]}
    assert template.render(**values) == "“&lt;b&gt;Pub&lt;/b&gt;”|un; deux &amp; trois"
    with i18n.using("fr"):
        assert template.render(**values) == f"«{NBSP}&lt;b&gt;Pub&lt;/b&gt;{NBSP}»|un{NNBSP}; deux &amp; trois"


def test_brand_fit_explanations_are_stored_in_english_and_rendered_again_from_their_fields(reports):
    """The stored explanation stays English (``match`` output); the report renders the same fields per language."""
    english, french = reports
    fit_en, fit_fr = _fit_explanations(english), _fit_explanations(french)
    for en, fr in zip(fit_en, fit_fr):
        numbers = re.findall(r"\d+[.,]\d+", en)
        assert [n.replace(".", ",") for n in numbers] == re.findall(r"\d+[.,]\d+", fr), (en, fr)


def test_notes_and_reasons_the_analyses_store_in_english_are_written_again_in_french():
    from confiance.campaign.impact import ImpactModel, model_description
    from confiance.campaign.plan import NOTE_DIMENSION_IGNORED, NOTE_RR_CAPPED, NOTES
    from confiance.graph.polarization import component_inadequacy
    from confiance.influence.accounts import cue_label, cue_value
    from confiance.integrity.harm import MISSING_NOTES
    from confiance.text.trends import METHOD

    stored = [NOTE_DIMENSION_IGNORED % {"segment": "'fr speakers'", "dimension": "age"},
              NOTE_RR_CAPPED % {"entries": 20_000_000}, "a note of another version"]
    model = ImpactModel(trend=True, seasonal=7, autoregressive=True, level_prior=(0.5, 3.0)).describe()
    assert model == "local linear trend + seasonal (7 periods) + AR(1), level sd prior 0.5 (weight 3)"
    assert model_description(model) == model
    reason = component_inadequacy(12, 100, k=10)
    assert reason == ("the largest connected component has 12 accounts, fewer than 40 (4 x k, with k = 10 absorbing "
                      "accounts per side): too few to measure two sides and holds 12 of the 100 accounts with "
                      "interactions (12%, under 50%): the graph is fragmented, and one fragment does not show the "
                      "conversation's sides")
    assert [i18n.written_again(note, NOTES) for note in stored] == stored  # English: as stored
    with i18n.using("fr"):
        assert [i18n.written_again(note, NOTES) for note in stored] == [
            f"segment 'fr speakers'{NBSP}: critère age ignoré (aucun rapport d'audience)",
            f"ensembles RR plafonnés à 20{NNBSP}000{NNBSP}000 entrées{NBSP}: la garantie d'approximation ne tient plus",
            "a note of another version"]
        assert component_inadequacy(12, 100, k=10).startswith(
            "la plus grande composante connexe compte 12 comptes, moins de 40 (4 × k, avec k = 10 comptes absorbants")
        assert f"(12{NNBSP}%, moins de 50{NNBSP}%)" in component_inadequacy(12, 100, k=10)
        assert i18n.translate(MISSING_NOTES["bot_scores"]) == f"non calculé{NBSP}: aucun score de bot (étape bots)"
        assert i18n.translate(METHOD) == "z-score de queue binomiale négative sur fenêtre glissante"
        assert model_description(model) == ("tendance linéaire locale + saisonnalité (7 périodes) + AR(1), a priori "
                                            "sur l'écart type du niveau 0,5 (poids 3)")
        assert (cue_label("profile: journalist"), cue_label("own_domain_links"), cue_value(True), cue_value(0.25)) == \
            (f"profil{NBSP}: journaliste", "liens vers son propre site", "oui", "0,25")
    assert (cue_label("profile: journalist"), cue_value(True), cue_value(0.25)) == ("profile: journalist", True, 0.25)


def test_the_french_report_escapes_hostile_data(tmp_path):
    ws = hostile_world(tmp_path / "hostile")
    html = build_report(ws, tmp_path / "fr.html", language="fr").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "Communautés" in html
    assert "<script" not in html and "<iframe" not in html and "<img" not in html
    for payload in PAYLOADS:
        if "<" in payload:
            assert payload not in html, payload
    assert "&lt;script&gt;" in html


def test_an_unknown_language_is_a_usage_error_naming_the_supported_ones(workspace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "report", "-o", "r.html", "--lang", "de"])
    assert result.exit_code == 2
    assert "'de'" in result.output and "en or fr" in result.output
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(ValueError, match="en, fr"):
        build_report(workspace, tmp_path / "r.html", language="de")


def test_the_cli_writes_the_french_report(workspace, tmp_path):
    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "report", "--lang", "fr",
                                      "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "lancez `confiance analyze`" in html


def test_labels_the_report_repeats_from_the_analyses_stay_in_step():
    """The report keeps the messages of some analysis constants for the catalogue: they must not drift."""
    from confiance.campaign.impact import ASSUMPTIONS
    from confiance.influence.accounts import TYPE_LABELS
    from confiance.influence.fit import PARTS
    from confiance.influence.scores import COMPONENTS
    from confiance.integrity.coordination import KINDS
    from confiance.integrity.bots import FEATURES
    from confiance.integrity.disclosure import VERDICTS
    from confiance.report import bots, campaign, coordination, disclosure, fit, network, trust

    assert campaign.IMPACT_ASSUMPTION_MESSAGES == ASSUMPTIONS
    assert trust.TYPE_LABEL_MESSAGES == TYPE_LABELS
    assert set(fit.PART_LABELS) == set(PARTS)
    assert set(network.COMPONENT_LABELS) == set(COMPONENTS)
    assert set(coordination.KIND_LABELS) == set(KINDS)
    assert set(disclosure.VERDICT_LABELS) == set(VERDICTS)
    assert set(bots.FEATURE_LABELS) == set(FEATURES)


def test_the_topics_outliers_row_is_named_in_the_readers_language():
    """Topic -1 is stored with the label 'outliers'; the French report named it so, in English."""
    template = environment().get_template("sections/topics.html")
    data = {"topics": [{"topic": 0, "label": "vélo, ville", "size": 8, "share": 0.8, "terms": ["vélo"],
                        "languages": "fr 100 %", "posts": []},
                       {"topic": -1, "label": "outliers", "size": 2, "share": 0.2, "terms": [], "languages": "",
                        "posts": []}], "weekly": None}
    with i18n.using("fr"):
        french = template.render(data=data)
    assert "outliers" not in french and "non classées (proches d'aucun sujet)" in french
    assert "<strong>vélo, ville</strong>" in french
    assert "outliers (close to no topic)" in template.render(data=data)


def test_an_exclusion_reason_names_the_bot_model_not_its_table():
    """The French report read « probablement automatisé : score de bot 0,91 (bot_scores) »: a table's name."""
    from confiance.influence.scores import _exclusion_reason

    with i18n.using("fr"):
        french = _exclusion_reason(None, None, None, 0.91)
    english = _exclusion_reason(None, None, None, 0.91)
    assert "_" not in french and "_" not in english, (french, english)
    assert french == f"probablement automatisé{NBSP}: probabilité de bot 0,91 (modèle de détection des bots)"


def test_the_first_of_the_month_is_written_1er_in_french():
    """French dates read « 1 juin »: the first of a month is « 1er juin » (the other days stay cardinal)."""
    from datetime import date, datetime, timezone

    with i18n.using("fr"):
        assert i18n.day(date(2025, 6, 1)) == "1er juin 2025"
        assert i18n.day(date(2025, 6, 2)) == "2 juin 2025" and i18n.day(date(2025, 6, 11)) == "11 juin 2025"
        assert i18n.day(date(2025, 6, 21)) == "21 juin 2025"
        assert i18n.moment(datetime(2025, 3, 1, 9, 5, 0, tzinfo=timezone.utc)) == "1er mars 2025 09:05:00 UTC"
        assert i18n.moment("2025-01-01") == "1er janv. 2025"  # an ISO day held as text
    assert i18n.day(date(2025, 6, 1)) == "2025-06-01"
