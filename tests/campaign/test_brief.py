"""Campaign brief: the documented example validates, and every kind of bad input names its file,
line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from confiance.campaign.brief import MAX_BRIEF_BYTES, AccountRef, BriefFileError, load_brief, parse_brief
from confiance.errors import BriefError, ConfianceError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "brief.yaml"


def test_the_documented_example_validates_with_every_field():
    brief = load_brief(EXAMPLE)
    assert brief.brand.name == "Vélo Verde"
    assert "durabilité" in brief.brand.values
    assert brief.topics.embrace[0] == "cycling" and "gambling" in brief.topics.avoid
    assert brief.reference_accounts[0] == AccountRef("x", handle="velo_paris")
    assert brief.reference_accounts[1] == AccountRef("bluesky", handle="greenwheels.example")
    assert brief.languages == ("fr", "en") and brief.markets == ("FR", "BE", "GB")
    first, second = brief.segments
    assert first.audience.languages == ("fr",) and first.audience.age == ("18-24", "25-34")
    assert second.audience.communities == (4, 5) and second.weight == 1.0
    assert brief.budget.total == 20000 and brief.budget.currency == "EUR"
    cost = brief.budget.cost
    assert cost.model == "tiers"
    assert [cost.price(f) for f in (None, 500, 1000, 1001, 10_000, 10_001, 2_000_000)] == [100, 100, 100, 800, 800, 4000, 4000]
    assert cost.overrides == ((AccountRef("x", handle="velo_paris"), 2500.0),)
    assert brief.exclusions.bots is True
    assert brief.exclusions.accounts == (AccountRef("mastodon", handle="spam@toot.example"),)
    assert brief.stance is not None and brief.stance.desired == "favour"
    assert brief.source == str(EXAMPLE)


def test_minimal_brief_and_short_forms():
    brief = parse_brief("brand: Acme\nbudget: 500\nstance: Acme\nsegments:\n  - name: all\n")
    assert brief.brand.name == "Acme" and brief.budget.total == 500
    assert brief.segments[0].weight == 1.0 and brief.segments[0].audience.is_empty()
    assert brief.stance.target == "Acme" and brief.stance.desired == "favour"
    cpm = parse_brief("brand: a\nbudget:\n  total: 10\n  cost: {cpm: 12, minimum: 50}\n").budget.cost
    assert cpm.model == "cpm" and cpm.price(10_000) == 120 and cpm.price(100) == 50
    assert parse_brief("brand: a\nreference_accounts: x:123\n").reference_accounts == (AccountRef("x", account_id="123"),)


@pytest.mark.parametrize("text, line, field, words", [
    ("segments: []\n", 1, "brand", "required"),
    ("brand: a\nbrnad: b\n", 2, "brnad", "unknown field"),
    ("brand: a\nsegments:\n  - name: s\n    weight: high\n", 4, "segments[0].weight", "must be a number"),
    ("brand: a\nsegments:\n  - name: s\n    weight: 0\n", 4, "segments[0].weight", "> 0"),
    ("brand: a\nsegments:\n  - name: s\n  - name: s\n", 4, "segments[1].name", "used twice"),
    ("brand: a\nsegments:\n  - name: s\n    audience:\n      communities: [one]\n", 5,
     "segments[0].audience.communities[0]", "integer"),
    ("brand: a\nsegments:\n  - name: s\n    audience: {age: [18-24], hobbies: [x]}\n", 4,
     "segments[0].audience.hobbies", "unknown field"),
    ("brand: a\nbudget:\n  total: -5\n", 3, "budget.total", "> 0"),
    ("brand: a\nbudget:\n  cost: {model: auction}\n", 3, "budget.cost.model", "fixed, cpm, tiers"),
    ("brand: a\nbudget:\n  cost: {model: cpm}\n", 3, "budget.cost.cpm", "required"),
    ("brand: a\nbudget:\n  cost:\n    tiers:\n      - {max_followers: 100, cost: 1}\n", 5, "budget.cost.tiers", "open-ended"),
    ("brand: a\nbudget:\n  cost:\n    tiers:\n      - {max_followers: 100, cost: 1}\n      - {max_followers: 50, cost: 2}\n"
     "      - {cost: 3}\n", 6, "budget.cost.tiers[1].max_followers", "increasing"),
    ("brand: a\nexclusions:\n  accounts: [justaname]\n", 3, "exclusions.accounts[0]", "platform:account_id"),
    ("brand: a\nexclusions:\n  bots: maybe\n", 3, "exclusions.bots", "true or false"),
    ("brand: a\nstance:\n  target: a\n  desired: love\n", 4, "stance.desired", "favour"),
    ("brand: a\ntopics:\n  embrace: [vélo]\n  avoid: [Vélo]\n", 3, "topics", "both embraced and avoided"),
    ("brand: a\nreference_accounts:\n  - {platform: x, account_id: '1', handle: h}\n", 3, "reference_accounts[0]",
     "exactly one"),
    ("brand: {description: no name}\n", 1, "brand.name", "required"),
    # an infinite budget would lift every limit (the planner then briefed every candidate)
    ("brand: a\nbudget: .inf\n", 2, "budget", "must be a number"),
    ("brand: a\nsegments:\n  - name: s\n    weight: .inf\n", 4, "segments[0].weight", "must be a number"),
    # an unknown language code left only the accounts of unknown language as candidates
    ("brand: a\nlanguages: [fr, xx-YY]\n", 2, "languages[1]", "two-letter language code"),
    ("brand: a\nlanguages: French\n", 2, "languages[0]", "'french'"),
    ("brand: a\nsegments:\n  - name: s\n    audience: {languages: [fr-FR]}\n", 4,
     "segments[0].audience.languages[0]", "such as fr or en"),
    # all-zero fit weights were accepted here and failed later in `match` without the file or line
    ("brand: a\nfit:\n  weights: {editorial: 0, style: 0, audience: 0, trust: 0}\n", 3, "fit.weights", "> 0"),
])
def test_bad_fields_name_file_line_and_field(text, line, field, words):
    with pytest.raises(BriefFileError) as caught:
        parse_brief(text, "brief.yaml")
    error = caught.value
    assert (error.file, error.line, error.field) == ("brief.yaml", line, field)
    assert words in str(error)
    assert str(error).startswith(f"brief.yaml:{line}: field {field!r}")
    assert isinstance(error, BriefError) and isinstance(error, ConfianceError)


def test_yaml_syntax_errors_and_empty_documents(tmp_path):
    with pytest.raises(BriefFileError, match=r"^b\.yaml:3: not valid YAML"):
        parse_brief("brand: a\nsegments:\n\t- name: s\n", "b.yaml")
    with pytest.raises(BriefFileError, match="empty"):
        parse_brief("# nothing\n", "b.yaml")
    with pytest.raises(BriefFileError, match="must be a mapping"):
        parse_brief("- a\n- b\n", "b.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("brand: caf\xe9\n".encode("latin-1"))
    with pytest.raises(BriefFileError, match="not UTF-8"):
        load_brief(bad)
    with pytest.raises(BriefFileError, match="cannot read"):
        load_brief(tmp_path / "missing.yaml")


def test_unsafe_yaml_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\n"
    with pytest.raises(BriefFileError, match="aliases"):
        parse_brief(bomb, "bomb.yaml")
    with pytest.raises(BriefFileError, match=r"^evil\.yaml:1: field 'brand': YAML tag .*python/object/apply"):
        parse_brief("brand: !!python/object/apply:os.system ['true']\n", "evil.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("brand: a\n" + "# padding\n" * (MAX_BRIEF_BYTES // 10 + 1))
    with pytest.raises(BriefFileError, match="larger than"):
        load_brief(big)


def test_the_simulated_worlds_brief_names_the_worlds_brand_accounts(sim_world):
    """examples/brief-solvane.yaml (run by `make demo`) validates; its reference accounts are the simulated
    brand's own accounts, which it also excludes, and its stance target is the one of examples/stance-solvane.yaml."""
    import yaml

    _, _, truth = sim_world
    brand = {AccountRef(a["platform"], handle=a["handle"].lower()) for a in truth["accounts"] if a["is_brand"]}
    brief = load_brief(EXAMPLE.with_name("brief-solvane.yaml"))
    lowered = {AccountRef(r.platform, handle=r.handle.lower()) for r in brief.reference_accounts}
    assert lowered and lowered <= brand
    assert {AccountRef(r.platform, handle=r.handle.lower()) for r in brief.exclusions.accounts} == brand
    stance = yaml.safe_load(EXAMPLE.with_name("stance-solvane.yaml").read_text(encoding="utf-8"))
    assert brief.stance.target == stance["target"] and brief.brand.name.lower() == stance["target"]
