"""Commercial disclosure audit under French influencer law (loi n° 2023-451, as amended by
ordonnance n° 2024-978).

For each post (reposts excepted: they are someone else's words) the audit decides whether it is
commercial, from signals of a versioned YAML rule set: promo codes, affiliate and UTM links,
"lien en bio", gifted or partnership wording, brand mentions and the platforms' paid-partnership
flags found in ``posts.attributes``. A commercial post is then checked for the disclosure (the
mention « Publicité » or « Collaboration commerciale », placed clearly), the image notices
(« Images retouchées » / « Images virtuelles ») and banned or restricted categories. Every finding
names its rule and the text span (or the URL, attribute or account) it rests on. The patterns read the
text with its accents composed and its stylised letters, digits and spaces in plain form (NFKC: "𝐏𝐮𝐛",
"＃ｐｕｂ", "e" + U+0301); spans and evidence point at the post as written.

Some patterns only make sense in one language ("#pub" is the French advertising label but an English
bar): a rule lists those pattern languages under ``language_specific``, and they are matched only on
posts in that language. A post is in a language when its recorded language (the ``language`` step's
``post_language`` table, else the platform's tag ``posts.lang``) says so, or when its prose does: the
text without its trailing block of hashtags, identified only once such a pattern has matched (a French
caption followed by thirty English hashtags is French). A post whose language is undetermined
(``und``, or nothing recorded and too little prose) gets every pattern.

The rules live in ``rules/fr-influence.yaml`` (package data), which documents the legal reading,
the operational proxies and the points still to verify. Users extend it with their own YAML
files (:func:`load_rules`): a rule with a known id updates that rule, a new id adds one. A run records
the rules it applied, with their texts, in ``disclosure_rules``: reports and listings describe the
findings with those texts (:func:`recorded_rules`), not with the shipped rule set of the day.

Verdicts, most severe first: ``banned_category``, ``advertiser_content`` (the brand's own account:
the intention follows from the context), ``missing_disclosure``, ``unclear_disclosure`` (only an
equivalent mention, or the statutory one buried), ``restricted_category``, ``missing_image_notice``,
``compliant``; ``not_commercial`` otherwise.

References
----------
Loi n° 2023-451 du 9 juin 2023 visant à encadrer l'influence commerciale et à lutter contre les
dérives des influenceurs sur les réseaux sociaux, art. 1er, 4, 5 and 5-2, as amended by ordonnance
n° 2024-978 du 6 novembre 2024 (JORF n° 0264 du 7 novembre 2024).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import duckdb
import orjson
import pyarrow as pa
import yaml

from confiance import i18n
from confiance.errors import ConfianceError
from confiance.pipeline import Step, register_step
from confiance.store import has_table
from confiance.text.accents import fold_compatibility
from confiance.text.language import UNKNOWN, identify

__all__ = [
    "SHIPPED", "VERDICTS", "Finding", "PostAudit", "RecordedRules", "Rule", "RuleSet", "RuleSetError", "audit_post",
    "default_rules_text", "disclosure_listing", "load_rules", "record_rules", "recorded_rules", "run_disclosure",
]

DEFAULT_RULES = "fr-influence.yaml"
#: The source of a rule that no user file defined or changed.
SHIPPED = "shipped"
KINDS = frozenset({"signal", "link", "attribute", "brand", "statutory_mention", "equivalent_mention",
                   "image_marker", "image_notice", "category", "derived"})
SEVERITIES = ("info", "low", "medium", "high")
STRENGTHS = ("strong", "weak")
STATUSES = ("banned", "restricted")
#: The rules the engine itself emits; a rule set must define them (for their legal reference).
DERIVED = ("disclosure.missing", "disclosure.placement", "context.advertiser_account", "image.notice_missing")
RULE_FIELDS = frozenset({"id", "kind", "description", "legal_reference", "severity", "strength", "status",
                         "patterns", "language_specific", "url_patterns", "attributes", "enabled"})
TOP_FIELDS = frozenset({"name", "version", "jurisdiction", "law", "description", "notes", "parameters",
                        "sources", "brands", "rules"})
PARAMETERS = {"lead_chars": 100, "short_post_chars": 200, "buried_after_tags": 3}
VERDICTS = ("not_commercial", "compliant", "missing_image_notice", "restricted_category", "unclear_disclosure",
            "missing_disclosure", "advertiser_content", "banned_category")
#: Posts read per batch: bounded memory on corpora of millions of posts.
BATCH_POSTS = 20_000
_FOLD = {"a": "aàâäáã", "e": "eéèêë", "i": "iîïíì", "o": "oôöóòõ", "u": "uùûüú", "c": "cç", "n": "nñ", "y": "yÿ"}
_TAG = re.compile(r"[#@][\w\-]+")
_TRAILING_TAGS = re.compile(r"(?:\s*[#@][\w\-]+)+\s*$")
#: Text just before a mention that shows it is quoted or talked about ("la mention « Publicité »",
#: "oublient le hashtag #ad", "n'indiquent pas #pub"), as journalists and regulators write, not a label.
_CITED_BEFORE = re.compile(
    r"(?:[«\"“‘]\s*|\b(?:mentions?|hashtags?|mots?|termes?|labels?|[ée]tiquettes?|words?|terms?|tags?|indiqu\w*|"
    r"[ée]crire|affich\w*|oubli\w*|forg[eo]t\w*|without|sans)\s+(?:\w+\s+)?(?:[«\"“‘]\s*)?)$", re.IGNORECASE)
#: How far back the citing words are looked for.
_CITED_WINDOW = 30


class RuleSetError(ConfianceError):
    """A rule set file is invalid: the message names the file and the field."""

    def __init__(self, file: str, field_path: str, reason: str):
        self.file = file
        self.field = field_path
        super().__init__(f"{file}: {field_path}: {reason}")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    #: What the rule detects, per language of the report (``{"fr": …, "en": …}``; see :meth:`described`).
    description: dict[str, str]
    #: The legal reference, per language as ``description`` (see :meth:`referenced`).
    legal_reference: dict[str, str]
    severity: str
    strength: str | None = None
    status: str | None = None
    patterns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Pattern languages matched only on posts in that language (the others apply to every post).
    language_specific: tuple[str, ...] = ()
    url_patterns: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    enabled: bool = True

    def described(self, language: str | None = None) -> str:
        """The description in ``language`` (default: that of :func:`i18n.using`), else in the other language."""
        return _in_language(self.description, language)

    def referenced(self, language: str | None = None) -> str:
        """The legal reference in ``language`` (default: that of :func:`i18n.using`), else in the other language."""
        return _in_language(self.legal_reference, language)

    def compiled(self) -> list[tuple[str | None, re.Pattern]]:
        """The rule's text patterns as alternations: one for every post (language ``None``), then one
        per language-specific pattern language; one scan of the text each."""
        def alternation(patterns: list[str]) -> re.Pattern:
            # in the form of the text they read (see _matchable): "DALL‑E" with U+2011 is read with U+2010
            return re.compile(unicodedata.normalize("NFKC", "|".join(f"(?:{p})" for p in patterns)), re.IGNORECASE)

        general = [p for lang in sorted(self.patterns) if lang not in self.language_specific
                   for p in self.patterns[lang]]
        out = [(None, alternation(general))] if general else []
        return out + [(lang, alternation(list(self.patterns[lang])))
                      for lang in sorted(self.language_specific) if self.patterns.get(lang)]


@dataclass(frozen=True)
class RuleSet:
    name: str
    version: str
    rules: dict[str, Rule]
    brands: tuple[str, ...]
    parameters: dict[str, int]
    files: tuple[str, ...]
    #: Per rule id: ``shipped``, or the name (no folder) of the last user file that defined or changed the rule.
    rule_sources: dict[str, str] = field(default_factory=dict)
    #: The merged files by name (no folder: paths can hold a user name) and ``@version`` when they give one,
    #: shipped first.
    file_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    text: str
    span: tuple[int, int] | None = None
    field: str = "text"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "field": self.field,
                "span": list(self.span) if self.span else None, "text": self.text}


@dataclass(frozen=True)
class PostAudit:
    commercial: bool
    verdict: str
    #: statutory | buried | equivalent | none (None when the post is not commercial)
    disclosure: str | None
    findings: tuple[Finding, ...]

    def rules(self) -> set[str]:
        return {f.rule for f in self.findings}


# -- rule sets --------------------------------------------------------------------------------------
def default_rules_text() -> str:
    """The shipped rule set (YAML text)."""
    return resources.files("confiance.integrity").joinpath("rules", DEFAULT_RULES).read_text(encoding="utf-8")


def _in_language(texts: Mapping[str, str], language: str | None) -> str:
    """``texts`` in ``language`` (default: the report's), else in the first language of the report it has."""
    language = language or i18n.current()
    return texts.get(language) or next(texts[lang] for lang in i18n.LANGUAGES if lang in texts)


def _texts(value: Any, file: str, where: str) -> dict[str, str]:
    """A rule's text per language: a mapping ``{fr: …, en: …}`` (at least one of the report's languages), or a
    plain string, which serves every language."""
    if isinstance(value, str):
        value = {lang: value for lang in i18n.LANGUAGES}
    if not isinstance(value, dict) or not value:
        raise RuleSetError(file, where, f"expected a text, or a mapping of language ({', '.join(i18n.LANGUAGES)}) "
                                        "to a text")
    texts = {}
    for lang, text in value.items():
        if lang not in i18n.LANGUAGES:
            raise RuleSetError(file, f"{where}.{lang}", f"unknown language; known: {', '.join(i18n.LANGUAGES)}")
        if not isinstance(text, str) or not text.strip():
            raise RuleSetError(file, f"{where}.{lang}", f"expected a non-empty string, not {text!r}")
        texts[lang] = text.strip()
    return texts


def _str_list(value: Any, file: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleSetError(file, where, "expected a list of non-empty strings")
    return tuple(value)


def _check_regexes(values: Iterable[str], file: str, where: str) -> None:
    for j, pattern in enumerate(values):
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise RuleSetError(file, f"{where}[{j}]", f"invalid regular expression {pattern!r}: {exc}") from None


def _rule_fields(raw: Mapping[str, Any], file: str, where: str) -> dict[str, Any]:
    """The validated fields a rule entry names (not yet merged with an existing rule)."""
    unknown = set(raw) - RULE_FIELDS
    if unknown:
        raise RuleSetError(file, f"{where}.{sorted(unknown)[0]}", f"unknown field; known: {', '.join(sorted(RULE_FIELDS))}")
    out: dict[str, Any] = {}
    for key in ("description", "legal_reference"):
        if key in raw:
            out[key] = _texts(raw[key], file, f"{where}.{key}")
    for key, allowed in (("kind", KINDS), ("severity", SEVERITIES), ("strength", STRENGTHS), ("status", STATUSES)):
        if key in raw:
            if raw[key] not in allowed:
                raise RuleSetError(file, f"{where}.{key}", f"{raw[key]!r} is not one of {', '.join(sorted(allowed))}")
            out[key] = raw[key]
    if "enabled" in raw:
        if not isinstance(raw["enabled"], bool):
            raise RuleSetError(file, f"{where}.enabled", "expected true or false")
        out["enabled"] = raw["enabled"]
    if "patterns" in raw:
        patterns = raw["patterns"]
        if not isinstance(patterns, dict) or not patterns:
            raise RuleSetError(file, f"{where}.patterns", "expected a mapping of language to a list of regexes")
        out["patterns"] = {}
        for lang, values in patterns.items():
            values = _str_list(values, file, f"{where}.patterns.{lang}")
            _check_regexes(values, file, f"{where}.patterns.{lang}")
            out["patterns"][str(lang)] = values
    if "language_specific" in raw:
        out["language_specific"] = _str_list(raw["language_specific"], file, f"{where}.language_specific")
    if "url_patterns" in raw:
        out["url_patterns"] = _str_list(raw["url_patterns"], file, f"{where}.url_patterns")
        _check_regexes(out["url_patterns"], file, f"{where}.url_patterns")
    if "attributes" in raw:
        out["attributes"] = _str_list(raw["attributes"], file, f"{where}.attributes")
    return out


def _merge(rules: dict[str, Rule], raw_rules: Any, file: str, sources: dict[str, str], source: str) -> None:
    """Merge a file's rule entries into ``rules``, noting ``source`` as the origin of each rule it names."""
    if not isinstance(raw_rules, list):
        raise RuleSetError(file, "rules", "expected a list of rules")
    for i, raw in enumerate(raw_rules):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"].strip():
            raise RuleSetError(file, f"rules[{i}].id", "each rule needs an id (a non-empty string)")
        where = f"rules[{i}] (id={raw['id']})"
        fields = _rule_fields(raw, file, where)
        old = rules.get(raw["id"])
        if old is None:
            missing = [k for k in ("kind", "description", "legal_reference", "severity") if k not in fields]
            if missing:
                raise RuleSetError(file, f"{where}.{missing[0]}", "required for a new rule")
            rule = Rule(id=raw["id"], **{k: v for k, v in fields.items()})
        else:
            merged = dict(old.__dict__)
            for key, value in fields.items():
                if key == "patterns":  # a user's patterns add to the rule's, language by language
                    merged["patterns"] = {**old.patterns, **{lang: old.patterns.get(lang, ()) + v for lang, v in value.items()}}
                elif key in ("url_patterns", "attributes"):
                    merged[key] = getattr(old, key) + value
                elif key in ("description", "legal_reference"):  # a mapping updates the languages it names
                    merged[key] = {**getattr(old, key), **value}
                else:
                    merged[key] = value
            rule = Rule(**merged)
        _check_rule(rule, file, where)
        rules[rule.id] = rule
        sources[rule.id] = source


def _check_rule(rule: Rule, file: str, where: str) -> None:
    if rule.kind in ("signal", "link", "attribute", "brand") and rule.strength is None:
        raise RuleSetError(file, f"{where}.strength", "a signal rule needs strength: strong or weak")
    if rule.kind == "category" and rule.status is None:
        raise RuleSetError(file, f"{where}.status", "a category rule needs status: banned or restricted")
    if rule.kind == "link" and not (rule.url_patterns or rule.patterns):
        raise RuleSetError(file, f"{where}.url_patterns", "a link rule needs url_patterns or patterns")
    unknown = [lang for lang in rule.language_specific if lang not in rule.patterns]
    if unknown:
        raise RuleSetError(file, f"{where}.language_specific", f"{unknown[0]!r} names no pattern language of the rule "
                           f"(patterns: {', '.join(sorted(rule.patterns)) or 'none'})")
    if rule.kind == "attribute" and not rule.attributes:
        raise RuleSetError(file, f"{where}.attributes", "an attribute rule needs attribute names")
    if rule.kind in ("signal", "statutory_mention", "equivalent_mention", "image_marker", "image_notice",
                     "category") and not rule.patterns:
        raise RuleSetError(file, f"{where}.patterns", f"a {rule.kind} rule needs patterns")


def _read_yaml(text: str, file: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise RuleSetError(file, where, f"not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise RuleSetError(file, "(top)", "expected a mapping with a `rules` list")
    unknown = set(data) - TOP_FIELDS
    if unknown:
        raise RuleSetError(file, sorted(unknown)[0], f"unknown field; known: {', '.join(sorted(TOP_FIELDS))}")
    return data


def load_rules(extra: Sequence[str | Path] = (), brands: Sequence[str] = ()) -> RuleSet:
    """The shipped rule set, extended by the user's YAML files (in order) and brand names.

    A user file has the shipped file's shape; every key is optional. ``rules`` entries with a known
    id update that rule (their patterns add to the rule's; a ``description`` or ``legal_reference``
    mapping updates the languages it names, a plain string serves every language; other fields
    replace), new ids add rules (then kind, description, legal_reference and severity are required);
    ``enabled: false`` switches a rule off; ``brands`` add to the list; ``parameters`` replace the
    named ones.

    Raises
    ------
    RuleSetError
        naming the file and the offending field (``rules[3] (id=…).patterns.fr[1]``…).
    """
    rules: dict[str, Rule] = {}
    parameters = dict(PARAMETERS)
    all_brands: list[str] = []
    name, version = "", ""
    files: list[str] = []
    file_names: list[str] = []
    rule_sources: dict[str, str] = {}
    # (file as errors name it, text, file name as a run records it: no folder, paths can hold a user name)
    sources = [(f"{DEFAULT_RULES} (package)", default_rules_text(), DEFAULT_RULES)]
    for path in extra:
        try:
            sources.append((str(path), Path(path).read_text(encoding="utf-8"), Path(path).name))
        except OSError as exc:
            raise RuleSetError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    for i, (file, text, file_name) in enumerate(sources):
        data = _read_yaml(text, file)
        files.append(f"{file}@{data.get('version', '?')}")
        file_names.append(f"{file_name}@{data['version']}" if "version" in data else file_name)
        name = name or str(data.get("name", ""))
        version = version or str(data.get("version", ""))
        if "parameters" in data:
            if not isinstance(data["parameters"], dict):
                raise RuleSetError(file, "parameters", "expected a mapping")
            for key, value in data["parameters"].items():
                if key not in PARAMETERS:
                    raise RuleSetError(file, f"parameters.{key}", f"unknown parameter; known: {', '.join(PARAMETERS)}")
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise RuleSetError(file, f"parameters.{key}", "expected a non-negative integer")
                parameters[key] = value
        if "brands" in data:
            all_brands.extend(_str_list(data["brands"], file, "brands"))
        if "rules" in data:
            _merge(rules, data["rules"], file, rule_sources, file_name if i else SHIPPED)
    for rule_id in DERIVED:
        if rule_id not in rules:
            raise RuleSetError(sources[-1][0], "rules", f"the rule set must define {rule_id!r}")
    all_brands.extend(b.strip() for b in brands if b and b.strip())
    return RuleSet(name, version, rules, tuple(dict.fromkeys(all_brands)), parameters, tuple(files), rule_sources,
                   tuple(file_names))


# -- matching ---------------------------------------------------------------------------------------
def _fold(text: str) -> str:
    """A brand or an account name whatever its case, accents and stylised letters (𝐒𝐞𝐩𝐡𝐨𝐫𝐚)."""
    return fold_compatibility(text).lower()


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


def _matchable(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """The text the patterns read and, for each of its characters, the characters of ``text`` it comes from.

    Accents typed as separate code points are composed (``e`` + U+0301 → ``é``) and letters, digits,
    punctuation and spaces are read in their compatibility form (NFKC: ``𝐏𝐮𝐛𝐥𝐢𝐜𝐢𝐭𝐞́``, ``＃ｐｕｂ``, ``ﬁ``,
    no-break spaces), so that the rules' plain patterns see them; symbols keep their form (``Dyson™``
    stays a brand, emoji stay emoji). The origins are None when the text already is in that form (most
    posts): its offsets are the text's own.
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text, None
    parts: list[str] = []
    origins: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = start + 1  # a character and the marks that follow it are read together
        while end < len(text) and unicodedata.category(text[end]).startswith("M"):
            end += 1
        form = "NFKC" if unicodedata.category(text[start])[0] in "LNPZ" else "NFC"
        read = unicodedata.normalize(form, text[start:end])
        parts.append(read)
        origins.extend([(start, end)] * len(read))
        start = end
    return "".join(parts), origins


def _as_written(findings: Iterable[Finding], original: str, origins: list[tuple[int, int]] | None
                ) -> tuple[Finding, ...]:
    """Findings whose spans and text point at the post as written, not at the text the patterns read."""
    if origins is None:
        return tuple(findings)
    out = []
    for f in findings:
        if f.span is not None and f.span[1] > f.span[0]:
            span = (origins[f.span[0]][0], origins[f.span[1] - 1][1])
            f = replace(f, span=span, text=original[span[0]:span[1]].strip())
        out.append(f)
    return tuple(out)


def _brand_regex(brand: str) -> str:
    """A brand spelt with or without accents, spaces, hyphens or apostrophes (so also as a handle)."""
    parts = []
    for char in _fold(brand):
        if char.isspace() or char in "-'’._":
            parts.append(r"[\s\-'’._]*")
        elif char in _FOLD:
            parts.append(f"[{_FOLD[char]}]")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


#: Rule kinds that decide whether a post is commercial; the others are only checked on commercial posts.
_FIRST_PASS = frozenset({"signal", "link", "attribute", "brand", "statutory_mention", "equivalent_mention"})


@dataclass
class _Compiled:
    """A rule set's regexes, compiled once per audit, split by the pass that needs them."""

    rules: RuleSet
    #: (rule, language the pattern is restricted to or None, pattern)
    first_pass: list[tuple[Rule, str | None, re.Pattern]]
    second_pass: list[tuple[Rule, str | None, re.Pattern]]
    url_rules: list[tuple[Rule, list[re.Pattern]]]
    kinds: dict[str, list[Rule]]
    brand: re.Pattern | None
    brand_rule: Rule | None

    @classmethod
    def of(cls, rules: RuleSet) -> "_Compiled":
        enabled = [r for r in rules.rules.values() if r.enabled]
        text_rules = [(r, lang, p) for r in enabled for lang, p in r.compiled()]
        kinds = {kind: [r for r in enabled if r.kind == kind] for kind in KINDS}
        brand = None
        if kinds["brand"] and rules.brands:
            names = sorted(rules.brands, key=len, reverse=True)
            brand = re.compile(r"(?<!\w)(?:" + "|".join(_brand_regex(b) for b in names) + r")(?!\w)", re.IGNORECASE)
        return cls(rules,
                   [t for t in text_rules if t[0].kind in _FIRST_PASS],
                   [t for t in text_rules if t[0].kind not in _FIRST_PASS],
                   [(r, [re.compile(p, re.IGNORECASE) for p in r.url_patterns]) for r in enabled if r.url_patterns],
                   kinds, brand, kinds["brand"][0] if kinds["brand"] else None)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "none", "null", "n/a", "-")
    return bool(value)


def _is_clear(start: int, text: str, parameters: Mapping[str, int]) -> bool:
    """The operational proxy for a clear mention (documented in the rule set's notes)."""
    if start < parameters["lead_chars"]:
        return True
    if len(text) > parameters["short_post_chars"]:
        return False
    trailing = _TRAILING_TAGS.search(text)
    if trailing and start >= trailing.start():
        return len(_TAG.findall(trailing.group(0))) < parameters["buried_after_tags"]
    return True


def _is_cited(finding: Finding, text: str) -> bool:
    """A mention quoted or talked about (not the post's own label); a quote opening the post is a label."""
    if finding.span is None:
        return False
    start = finding.span[0] + len(text[finding.span[0]:finding.span[1]]) - len(text[finding.span[0]:finding.span[1]].lstrip())
    before = text[max(0, start - _CITED_WINDOW):start]
    return bool(before.strip()) and _CITED_BEFORE.search(before) is not None


def _language_tag(language: str | None) -> str | None:
    """``fr`` for ``fr``, ``FR`` or ``fr-FR``; None when not given."""
    tag = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return tag or None


def _audit(compiled: _Compiled, text: str, urls: Sequence[str], attributes: Mapping[str, Any] | None,
           account_names: Sequence[str], language: str | None = None) -> PostAudit:
    rules, params = compiled.rules, compiled.rules.parameters
    original = text or ""
    text, origins = _matchable(original)
    hits: dict[str, list[Finding]] = {}
    recorded = _language_tag(language)
    prose: list[str] = []  # identified once, and only when a language-specific pattern has matched

    def in_language(lang: str | None) -> bool:
        """A language-specific pattern applies to posts in its language, or of undetermined language."""
        if lang is None or recorded == lang:
            return True
        if not prose:
            trailing = _TRAILING_TAGS.search(text)
            prose.append(identify([text[:trailing.start()] if trailing else text])[0][0])
        return prose[0] == lang or (prose[0] == UNKNOWN and recorded in (None, UNKNOWN))

    def add(rule: Rule, finding_text: str, span: tuple[int, int] | None, where: str = "text") -> None:
        hits.setdefault(rule.id, []).append(Finding(rule.id, rule.severity, finding_text, span, where))

    def scan(passes: list[tuple[Rule, str | None, re.Pattern]]) -> None:
        for rule, lang, pattern in passes:
            found = [m for m in pattern.finditer(text) if m.group(0).strip()]
            if found and in_language(lang):
                for m in found:
                    add(rule, m.group(0).strip(), (m.start(), m.end()))

    scan(compiled.first_pass)
    for rule, patterns in compiled.url_rules:
        for i, url in enumerate(urls or ()):
            if isinstance(url, str) and any(p.search(url) for p in patterns):
                add(rule, url, None, f"urls[{i}]")
    for rule in compiled.kinds["attribute"]:
        for key in rule.attributes:
            if attributes and key in attributes and _truthy(attributes[key]):
                add(rule, f"{key}={attributes[key]}", None, "attributes")
    brands_here: set[str] = set()
    if compiled.brand is not None and compiled.brand_rule is not None:
        for m in compiled.brand.finditer(text):
            add(compiled.brand_rule, m.group(0), (m.start(), m.end()))
            brands_here.add(_compact(m.group(0)))

    kinds = compiled.kinds
    signals = kinds["signal"] + kinds["link"] + kinds["attribute"] + kinds["brand"]
    strong = any(r.id in hits for r in signals if r.strength == "strong")
    weak = sum(1 for r in signals if r.strength == "weak" and r.id in hits)
    mentions = [f for r in kinds["statutory_mention"] for f in hits.get(r.id, []) if not _is_cited(f, text)]
    equivalents = [f for r in kinds["equivalent_mention"] for f in hits.get(r.id, []) if not _is_cited(f, text)]
    flagged = any(r.id in hits for r in kinds["attribute"])
    commercial = strong or weak >= 2 or bool(mentions) or bool(equivalents)

    findings: list[Finding] = [f for r in signals for f in hits.get(r.id, [])]
    if not commercial:
        return PostAudit(False, "not_commercial", None, _as_written(findings, original, origins))
    scan(compiled.second_pass)

    # the advertiser's own account: its handle is the brand, or its display name names it
    advertiser = next((n for n in account_names if _compact(n) in brands_here or (
        compiled.brand is not None and any(_compact(m.group(0)) in brands_here for m in compiled.brand.finditer(n)))),
        None)
    clear = [f for f in mentions if f.span and _is_clear(f.span[0], text, params)]
    if advertiser is not None:
        disclosure = "statutory" if clear else "context"
        findings.append(Finding("context.advertiser_account", rules.rules["context.advertiser_account"].severity,
                                advertiser, None, "account"))
    elif clear:
        disclosure = "statutory"
        findings.extend(clear)
    elif mentions:
        disclosure = "buried"
        rule = rules.rules["disclosure.placement"]
        findings.extend(Finding(rule.id, rule.severity, f.text, f.span) for f in mentions)
    elif equivalents or flagged:
        disclosure = "equivalent"
        rule_id = next(r.id for r in kinds["equivalent_mention"]) if kinds["equivalent_mention"] else None
        findings.extend(equivalents)
        if flagged and not equivalents and rule_id:
            flag = next(f for r in kinds["attribute"] for f in hits.get(r.id, []))
            findings.append(Finding(rule_id, rules.rules[rule_id].severity, flag.text, None, "attributes"))
    else:
        disclosure = "none"
        rule = rules.rules["disclosure.missing"]
        findings.append(Finding(rule.id, rule.severity, "no « Publicité » / « Collaboration commerciale » mention", None))

    markers = [f for r in kinds["image_marker"] for f in hits.get(r.id, [])]
    notices = [f for r in kinds["image_notice"] for f in hits.get(r.id, [])]
    if notices:
        findings.extend(notices)
    elif markers:
        rule = rules.rules["image.notice_missing"]
        findings.extend(Finding(rule.id, rule.severity, f.text, f.span) for f in markers)
    categories = [(r, f) for r in kinds["category"] for f in hits.get(r.id, [])]
    findings.extend(f for _, f in categories)
    statuses = {r.status for r, _ in categories}

    if "banned" in statuses:
        verdict = "banned_category"
    elif advertiser is not None:
        verdict = "advertiser_content"
    elif disclosure == "none":
        verdict = "missing_disclosure"
    elif disclosure in ("buried", "equivalent"):
        verdict = "unclear_disclosure"
    elif "restricted" in statuses:
        verdict = "restricted_category"
    elif markers and not notices:
        verdict = "missing_image_notice"
    else:
        verdict = "compliant"
    return PostAudit(True, verdict, disclosure, _as_written(findings, original, origins))


def audit_post(text: str, urls: Sequence[str] = (), attributes: Mapping[str, Any] | None = None,
               account_names: Sequence[str] = (), rules: RuleSet | None = None,
               language: str | None = None) -> PostAudit:
    """Audit one post: is it commercial, which verdict, and the findings with their spans.

    ``account_names`` are the author's handle and display name (they reveal the advertiser's own
    account). ``language`` is the post's recorded language (``fr``, ``en-GB``…; ``und`` or None when
    unknown): rules' language-specific patterns only match posts in their language (recorded, or
    that of the post's prose; see the module docstring). For many posts, :func:`run_disclosure` compiles the rule set once.
    """
    return _audit(_Compiled.of(rules or load_rules()), text, urls, attributes, account_names, language)


# -- the step ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DisclosureResult:
    posts: int
    commercial: int
    verdicts: dict[str, int]
    rule_set: str


_POSTS_SCHEMA = pa.schema([("platform", pa.string()), ("post_id", pa.string()), ("account_id", pa.string()),
                           ("commercial", pa.bool_()), ("verdict", pa.string()), ("disclosure", pa.string()),
                           ("findings", pa.string())])


def _batches(con: duckdb.DuckDBPyConnection, size: int) -> Iterable[list[tuple]]:
    """Audited posts in keyset batches (reposts carry someone else's words and are skipped), with the
    post's language: the ``language`` step's when it has one, else the platform's tag."""
    has_accounts = has_table(con, "accounts")
    names = ("a.handle, a.display_name" if has_accounts else "NULL, NULL")
    join = ("LEFT JOIN accounts a ON a.platform = p.platform AND a.account_id = p.account_id" if has_accounts else "")
    language = "p.lang"
    if has_table(con, "post_language"):
        language = f"coalesce(nullif(l.lang, '{UNKNOWN}'), p.lang, l.lang)"
        join += " LEFT JOIN post_language l ON l.platform = p.platform AND l.post_id = p.post_id"
    last: tuple[str, str] | None = None
    while True:
        where = "" if last is None else "AND (p.platform > ? OR (p.platform = ? AND p.post_id > ?))"
        params = [] if last is None else [last[0], last[0], last[1]]
        rows = con.execute(
            f"SELECT p.platform, p.post_id, p.account_id, p.text, p.urls, CAST(p.attributes AS VARCHAR), {names}, "
            f"{language} "
            f"FROM posts p {join} WHERE coalesce(p.kind, 'post') <> 'repost' {where} "
            f"ORDER BY p.platform, p.post_id LIMIT {int(size)}", params).fetchall()
        if not rows:
            return
        yield rows
        last = (rows[-1][0], rows[-1][1])


def run_disclosure(con: duckdb.DuckDBPyConnection, run_id: str, rules: RuleSet | None = None,
                   batch_size: int = BATCH_POSTS) -> DisclosureResult:
    """Audit every post and write ``disclosure_posts``, ``disclosure_accounts`` and ``disclosure_rules``
    (the rules applied, see :func:`record_rules`).

    ``disclosure_accounts``: per account, audited posts, commercial posts, undisclosed posts (no
    mention at all), unclear and banned-category posts, ``paid_share`` = commercial / posts and
    ``undisclosed_share`` = undisclosed / commercial (NULL without commercial posts).
    """
    rules = rules or load_rules()
    compiled = _Compiled.of(rules)
    con.execute("CREATE OR REPLACE TABLE disclosure_posts (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
                "account_id VARCHAR, commercial BOOLEAN, verdict VARCHAR, disclosure VARCHAR, findings JSON)")
    verdicts: dict[str, int] = {}
    total = commercial = 0
    for rows in _batches(con, batch_size):
        columns: dict[str, list] = {name: [] for name in _POSTS_SCHEMA.names}
        for platform, post_id, account_id, text, urls, attributes, handle, display_name, language in rows:
            attrs = orjson.loads(attributes) if attributes else None
            result = _audit(compiled, text or "", urls or (), attrs if isinstance(attrs, dict) else None,
                            [n for n in (handle, display_name) if n], language)
            for name, value in zip(_POSTS_SCHEMA.names, (
                    platform, post_id, account_id, result.commercial, result.verdict, result.disclosure,
                    orjson.dumps([f.as_dict() for f in result.findings]).decode())):
                columns[name].append(value)
            verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
            commercial += result.commercial
        total += len(rows)
        con.register("_disclosure_batch", pa.table(columns, schema=_POSTS_SCHEMA))
        con.execute("INSERT INTO disclosure_posts SELECT ?, platform, post_id, account_id, commercial, verdict, "
                    "disclosure, findings::JSON FROM _disclosure_batch", [run_id])
        con.unregister("_disclosure_batch")
    con.execute(
        "CREATE OR REPLACE TABLE disclosure_accounts AS SELECT ? AS run_id, platform, account_id, "
        "count(*) AS posts, count(*) FILTER (WHERE commercial) AS commercial_posts, "
        "count(*) FILTER (WHERE commercial AND disclosure = 'none') AS undisclosed_posts, "
        "count(*) FILTER (WHERE verdict = 'unclear_disclosure') AS unclear_posts, "
        "count(*) FILTER (WHERE verdict = 'banned_category') AS banned_posts, "
        "count(*) FILTER (WHERE commercial)::DOUBLE / count(*) AS paid_share, "
        "CASE WHEN count(*) FILTER (WHERE commercial) > 0 THEN count(*) FILTER (WHERE commercial AND disclosure = 'none')"
        "::DOUBLE / count(*) FILTER (WHERE commercial) END AS undisclosed_share "
        "FROM disclosure_posts WHERE account_id IS NOT NULL GROUP BY platform, account_id", [run_id])
    record_rules(con, run_id, rules)
    return DisclosureResult(total, commercial, dict(sorted(verdicts.items())), ", ".join(rules.files))


def record_rules(con: duckdb.DuckDBPyConnection, run_id: str, rules: RuleSet) -> None:
    """Write ``disclosure_rules``: every rule of ``rules`` (enabled or not) with its texts as the run applied them.

    Columns: ``rule_id``, ``kind``, ``severity``, ``strength``, ``status``, ``enabled``, ``description`` and
    ``legal_reference`` (JSON ``{"en": …, "fr": …}``, the languages the rule set gives), ``source`` (``shipped``
    or the user file's name, without its folder), and the rule set's ``rule_set_name``, ``rule_set_version``
    and ``rule_set_files`` (every merged file by name, ``@version`` when it gives one). Patterns and brands
    are not kept: the texts are what reports show. No personal data: rule texts and file names only.
    """
    con.execute("CREATE OR REPLACE TABLE disclosure_rules (run_id VARCHAR, rule_id VARCHAR, kind VARCHAR, "
                "severity VARCHAR, strength VARCHAR, status VARCHAR, enabled BOOLEAN, description JSON, "
                "legal_reference JSON, source VARCHAR, rule_set_name VARCHAR, rule_set_version VARCHAR, "
                "rule_set_files VARCHAR[])")
    con.executemany(
        "INSERT INTO disclosure_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?::JSON, ?::JSON, ?, ?, ?, ?)",
        [[run_id, rule.id, rule.kind, rule.severity, rule.strength, rule.status, rule.enabled,
          orjson.dumps(rule.description).decode(), orjson.dumps(rule.legal_reference).decode(),
          rules.rule_sources.get(rule.id, SHIPPED), rules.name, rules.version, list(rules.file_names)]
         for rule in sorted(rules.rules.values(), key=lambda r: r.id)])


@dataclass(frozen=True)
class RecordedRules:
    """The rules a disclosure run applied, as ``disclosure_rules`` recorded them (texts, kind, severity; no
    patterns: these rules describe findings, they cannot audit posts)."""

    name: str
    version: str
    #: Every file merged into the rule set by name (``@version`` when it gives one), shipped first.
    files: tuple[str, ...]
    rules: dict[str, Rule]
    #: Per rule id: ``shipped`` or the user file's name.
    sources: dict[str, str]
    #: False for a store written before runs recorded their rules: the shipped rule set's texts stand in.
    recorded: bool = True

    def label(self) -> str:
        """``fr-influence 2026.1``, then each user file with its version: ``+ agency.yaml agency-1``."""
        return " + ".join([f"{self.name} {self.version}".strip()]
                          + [" ".join(filter(None, file.rpartition("@")[::2])) for file in self.files[1:]])


def recorded_rules(con: duckdb.DuckDBPyConnection) -> RecordedRules:
    """The rules of the stored disclosure run (``disclosure_rules``); the shipped rule set when the store
    predates that table."""
    if not has_table(con, "disclosure_rules"):
        shipped = load_rules()
        return RecordedRules(shipped.name, shipped.version, shipped.file_names, shipped.rules,
                             {rule_id: SHIPPED for rule_id in shipped.rules}, recorded=False)
    rows = con.execute("SELECT rule_id, kind, severity, strength, status, enabled, CAST(description AS VARCHAR), "
                       "CAST(legal_reference AS VARCHAR), source, rule_set_name, rule_set_version, rule_set_files "
                       "FROM disclosure_rules ORDER BY rule_id").fetchall()
    rules = {rule_id: Rule(rule_id, kind, orjson.loads(description), orjson.loads(reference), severity, strength,
                           status, enabled=enabled)
             for rule_id, kind, severity, strength, status, enabled, description, reference, *_ in rows}
    name, version, files = rows[0][9:12] if rows else ("", "", [])
    return RecordedRules(name, version, tuple(files), rules, {row[0]: row[8] for row in rows})


def disclosure_listing(con: duckdb.DuckDBPyConnection, accounts: bool = False,
                       include_not_commercial: bool = False) -> list[dict[str, Any]]:
    """Rows of ``disclosure_posts`` (commercial posts unless asked) or ``disclosure_accounts``.

    Each finding of a post row is the stored one (rule, severity, field, span, text) with its rule's
    ``description`` and ``legal_reference`` in every language (``{"fr": …, "en": …}``, whatever the reader's
    language), as the run applied them (:func:`recorded_rules`); None for a rule the run did not define.
    """
    table = "disclosure_accounts" if accounts else "disclosure_posts"
    if not has_table(con, table):
        raise ConfianceError("no disclosure audit yet: run `confiance analyze --only disclosure`")
    if accounts:
        sql = ("SELECT platform, account_id, posts, commercial_posts, undisclosed_posts, unclear_posts, banned_posts, "
               "paid_share, undisclosed_share FROM disclosure_accounts WHERE commercial_posts > 0 "
               "ORDER BY undisclosed_posts DESC, commercial_posts DESC, platform, account_id")
    else:
        where = "" if include_not_commercial else "WHERE commercial"
        sql = (f"SELECT platform, post_id, account_id, commercial, verdict, disclosure, CAST(findings AS VARCHAR) AS findings "
               f"FROM disclosure_posts {where} ORDER BY platform, post_id")
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    texts = {rule.id: {"description": rule.description, "legal_reference": rule.legal_reference}
             for rule in recorded_rules(con).rules.values()} if not accounts else {}
    for row in rows:
        if "findings" in row:
            row["findings"] = [{**f, **texts.get(f["rule"], {"description": None, "legal_reference": None})}
                               for f in (orjson.loads(row["findings"]) if row["findings"] else [])]
    return rows


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """The step's summary for ``confiance analyze``: audited and commercial posts, posts per verdict."""
    result = run_disclosure(con, run_id)
    return {"posts": result.posts, "commercial": result.commercial, **result.verdicts}


register_step(Step("disclosure", _step, after=("language",),
                   description="commercial posts and their disclosure under French law "
                   "(disclosure_posts, disclosure_accounts, disclosure_rules)", parameters={"rules": DEFAULT_RULES}))
