"""French typography of the shipped catalogue, checked mechanically on every translation (the rules are
those of docs/glossaire.md): no three dots for an ellipsis, a no-break space before « : ; ! ? » and
inside « guillemets », one apostrophe, and the placeholders and markup of the English message kept."""

from __future__ import annotations

import re
from collections import Counter

from babel.messages.pofile import read_po

from confiance import i18n

NBSP, NNBSP = "\u00a0", "\u202f"
#: Code and markup keep their own characters: a command's "?" or ":" takes no space.
CODE_OR_MARKUP = re.compile(r"`[^`]*`|<code>.*?</code>|<[^>]+>", re.S)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|\{[A-Za-z_]+\}")
TAG = re.compile(r"</?[a-z]+\b[^>]*>")


def _pairs() -> list[tuple[str, str]]:
    """(English, French) for every singular and plural form of the catalogue."""
    with i18n.catalogue_path("fr").open("rb") as po:
        catalogue = read_po(po, locale="fr", domain=i18n.DOMAIN)
    pairs = []
    for message in catalogue:
        if not message.id:
            continue
        if isinstance(message.id, str):
            pairs.append((message.id, message.string))
        else:
            pairs += [(message.id[min(i, 1)], form) for i, form in enumerate(message.string)]
    return pairs


PAIRS = _pairs()


def _prose(text: str) -> str:
    return CODE_OR_MARKUP.sub(" ", text)


def typography_problems(french: str) -> list[str]:
    """What breaks the catalogue's French typography in one translation (empty when it is right)."""
    prose = _prose(french)
    problems = []
    if "..." in prose:
        problems.append("three dots instead of '…'")
    if "\u2019" in french:
        problems.append("typographic apostrophe (the catalogue uses ')")
    for match in re.finditer(r"[:;!?]", prose):
        before = prose[match.start() - 1] if match.start() else ""
        wanted = NBSP if match.group() == ":" else NNBSP
        if before != wanted:
            problems.append(f"{match.group()!r} at {match.start()} not after U+{ord(wanted):04X}")
    problems += [f"'«' at {m.start()} without a no-break space" for m in re.finditer(r"«(?!\u00a0)", prose)]
    problems += [f"'»' at {m.start()} without a no-break space" for m in re.finditer(r"(?<!\u00a0)»", prose)]
    return problems


def test_the_checker_finds_each_fault():
    assert typography_problems(f"Rien à afficher{NBSP}: lancez `confiance sov a:b?`{NNBSP}; «{NBSP}oui{NBSP}»") == []
    assert typography_problems("<code>/map?max_nodes=N</code> et `x...`") == []  # code keeps its characters
    assert len(typography_problems("note : voir...")) == 2
    assert typography_problems(f"note{NNBSP}: x") == ["':' at 5 not after U+00A0"]
    assert typography_problems("a;b") == ["';' at 1 not after U+202F"]
    assert len(typography_problems("« oui »")) == 2 and len(typography_problems("d\u2019autres")) == 1


def test_the_catalogue_holds_every_message():
    assert len(PAIRS) > 600


def test_every_translation_follows_french_typography():
    faults = [(english, french, problems) for english, french in PAIRS if (problems := typography_problems(french))]
    assert not faults, faults[:5]


def test_every_translation_keeps_the_placeholders_markup_and_commands_of_its_message():
    """Placeholders and tags exactly; as many commands in backticks (their metavariables may be French)."""
    faults = [(english, french) for english, french in PAIRS
              if Counter(PLACEHOLDER.findall(french)) != Counter(PLACEHOLDER.findall(english))
              or TAG.findall(french) != TAG.findall(english)
              or len(re.findall(r"`[^`]*`", french)) != len(re.findall(r"`[^`]*`", english))]
    assert not faults, faults[:5]
