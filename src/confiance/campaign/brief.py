"""Campaign brief: the YAML file a brand team writes, validated into typed values.

The schema is documented field by field in ``docs/brief.md`` (example: ``examples/brief.yaml``).
:func:`load_brief` reads a file, :func:`parse_brief` a string; both return a :class:`Brief` or raise
:class:`BriefError` naming the file, the line and the field (``brief.yaml:12: field
'segments[1].weight': must be a number > 0, found 'high'``).

Reading is safe: ``yaml.SafeLoader`` (no Python objects), anchors and aliases refused (no
"billion laughs" expansion), a size limit on the file, and unknown keys rejected so that a typo never
passes silently.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from confiance.errors import BriefError

__all__ = [
    "AccountRef", "Audience", "Brand", "Brief", "BriefFileError", "Budget", "CostModel", "CostTier", "Exclusions", "Segment",
    "Stance", "Topics", "load_brief", "parse_brief", "MAX_BRIEF_BYTES",
]

#: A brief is a page of settings; anything larger is a mistake or an attack.
MAX_BRIEF_BYTES = 1_000_000
STANCES = ("favour", "neutral", "against")
COST_MODELS = ("fixed", "cpm", "tiers")


@dataclass(frozen=True)
class AccountRef:
    """An account named in a brief: ``platform:account_id``, ``platform:@handle`` or a mapping."""

    platform: str
    account_id: str | None = None
    handle: str | None = None

    def __str__(self) -> str:
        return f"{self.platform}:{self.account_id if self.account_id is not None else '@' + str(self.handle)}"


@dataclass(frozen=True)
class Brand:
    name: str
    description: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topics:
    embrace: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()


@dataclass(frozen=True)
class Audience:
    """Target audience of a segment; an empty criterion means 'anyone'."""

    age: tuple[str, ...] = ()
    gender: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    communities: tuple[int, ...] = ()
    languages: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not any((self.age, self.gender, self.country, self.interests, self.communities, self.languages))


@dataclass(frozen=True)
class Segment:
    name: str
    weight: float
    audience: Audience = field(default_factory=Audience)
    description: str = ""


@dataclass(frozen=True)
class CostTier:
    cost: float
    max_followers: int | None = None  # None: the open-ended last tier


@dataclass(frozen=True)
class CostModel:
    """Cost of one influencer: ``fixed`` (same price), ``cpm`` (per 1,000 followers) or ``tiers``.

    ``minimum`` is the floor of any price; ``overrides`` are quoted prices for named accounts.
    """

    model: str = "fixed"
    per_influencer: float = 1.0
    cpm: float = 0.0
    minimum: float = 0.0
    tiers: tuple[CostTier, ...] = ()
    overrides: tuple[tuple[AccountRef, float], ...] = ()

    def price(self, followers: int | None) -> float:
        """The price of an account with ``followers`` (None: unknown audience → the floor or first tier)."""
        if self.model == "fixed":
            base = self.per_influencer
        elif self.model == "cpm":
            base = self.cpm * (followers or 0) / 1000.0
        else:
            base = next(t.cost for t in self.tiers
                        if t.max_followers is None or (followers or 0) <= t.max_followers)
        return max(float(base), self.minimum)


@dataclass(frozen=True)
class Budget:
    total: float | None = None
    currency: str = ""
    cost: CostModel = field(default_factory=CostModel)


@dataclass(frozen=True)
class Exclusions:
    accounts: tuple[AccountRef, ...] = ()
    platforms: tuple[str, ...] = ()
    bots: bool = False  # drop accounts the bot detector labels as bots (when ``bot_scores`` exists)


@dataclass(frozen=True)
class Stance:
    target: str
    desired: str = "favour"


@dataclass(frozen=True)
class Brief:
    brand: Brand
    topics: Topics = field(default_factory=Topics)
    reference_accounts: tuple[AccountRef, ...] = ()
    languages: tuple[str, ...] = ()
    markets: tuple[str, ...] = ()
    segments: tuple[Segment, ...] = ()
    budget: Budget = field(default_factory=Budget)
    exclusions: Exclusions = field(default_factory=Exclusions)
    stance: Stance | None = None
    fit_weights: tuple[tuple[str, float], ...] = ()  # ``fit.weights``: overrides of the brand-fit part weights
    source: str = "<brief>"


# --------------------------------------------------------------------------- reading


class BriefFileError(BriefError):
    """A brief error located in its file: ``brief.yaml:12: field 'segments[1].weight': reason``."""

    def __init__(self, file: str, line: int | None, field: str, reason: str):
        super().__init__(field or "(document)", reason)
        self.file = file
        self.line = line
        where = f"{file}:{line}" if line else file
        self.args = (f"{where}: field {self.field!r}: {reason}" if field else f"{where}: {reason}",)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "anchors and aliases are not accepted in a brief",
                                              event.start_mark)
        return super().compose_node(parent, index)


class _Reader:
    """Walks the composed YAML nodes, so that every error can name its line."""

    def __init__(self, source: str, loader: _NoAliasLoader):
        self.source = source
        self.loader = loader

    def fail(self, node: yaml.Node | None, path: str, reason: str) -> BriefFileError:
        return BriefFileError(self.source, node.start_mark.line + 1 if node is not None else None, path, reason)

    def scalar(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: yaml.Node | None, path: str, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, "must be a mapping of fields")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node)
            name = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or key not in allowed:
                raise self.fail(key_node, name, f"unknown field; expected one of {', '.join(allowed)}")
            if key in out:
                raise self.fail(key_node, name, "given twice")
            out[key] = value_node
        for key in required:
            if key not in out:
                raise self.fail(node, f"{path}.{key}" if path else key, "is required")
        return out

    def text(self, node: yaml.Node, path: str, *, allow_empty: bool = False) -> str:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise self.fail(node, path, f"must be text, found {_shown(node)}")
        text = str(value).strip()
        if not text and not allow_empty:
            raise self.fail(node, path, "must not be empty")
        return text

    def number(self, node: yaml.Node, path: str, *, positive: bool = False) -> float:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(node, path, f"must be a number, found {_shown(node)}")
        if value < 0 or (positive and value == 0):
            raise self.fail(node, path, f"must be a number {'> 0' if positive else '>= 0'}, found {value}")
        return float(value)

    def flag(self, node: yaml.Node, path: str) -> bool:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise self.fail(node, path, f"must be true or false, found {_shown(node)}")
        return value

    def items(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        """A list; a single scalar is accepted as a list of one."""
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is not None:
            return [node]
        raise self.fail(node, path, f"must be a list, found {_shown(node)}")

    def texts(self, node: yaml.Node, path: str, *, lower: bool = False) -> tuple[str, ...]:
        out = [self.text(item, f"{path}[{i}]") for i, item in enumerate(self.items(node, path))]
        return tuple(x.lower() for x in out) if lower else tuple(out)

    def languages(self, node: yaml.Node, path: str) -> tuple[str, ...]:
        """ISO 639-1 codes, as the language step and the platforms write them ('fr', not 'fr-FR' or 'French')."""
        codes = self.texts(node, path, lower=True)
        for i, (item, code) in enumerate(zip(self.items(node, path), codes)):
            if not re.fullmatch(r"[a-z]{2}", code):
                raise self.fail(item, f"{path}[{i}]", f"must be a two-letter language code such as fr or en, found {code!r}")
        return codes

    def account(self, node: yaml.Node, path: str) -> AccountRef:
        if isinstance(node, yaml.MappingNode):
            fields = self.mapping(node, path, ("platform", "account_id", "handle"), ("platform",))
            platform = self.text(fields["platform"], f"{path}.platform").lower()
            if ("account_id" in fields) == ("handle" in fields):
                raise self.fail(node, path, "give exactly one of account_id or handle")
            if "account_id" in fields:
                return AccountRef(platform, account_id=self.text(fields["account_id"], f"{path}.account_id"))
            return AccountRef(platform, handle=self.text(fields["handle"], f"{path}.handle").lstrip("@").lower())
        text = self.text(node, path)
        platform, sep, rest = text.partition(":")
        if not sep or not platform.strip() or not rest.strip():
            raise self.fail(node, path, f"an account is 'platform:account_id' or 'platform:@handle', found {text[:60]!r}")
        rest = rest.strip()
        if rest.startswith("@"):
            return AccountRef(platform.strip().lower(), handle=rest[1:].lower())
        return AccountRef(platform.strip().lower(), account_id=rest)

    def accounts(self, node: yaml.Node, path: str) -> tuple[AccountRef, ...]:
        return tuple(self.account(item, f"{path}[{i}]") for i, item in enumerate(self.items(node, path)))


def _shown(node: yaml.Node | None) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node is None or node.value in ("", "~", "null"):
        return "nothing"
    return repr(str(node.value)[:60])


# --------------------------------------------------------------------------- sections


def _brand(r: _Reader, node: yaml.Node) -> Brand:
    if isinstance(node, yaml.ScalarNode):
        return Brand(name=r.text(node, "brand"))
    f = r.mapping(node, "brand", ("name", "description", "values"), ("name",))
    return Brand(
        name=r.text(f["name"], "brand.name"),
        description=r.text(f["description"], "brand.description", allow_empty=True) if "description" in f else "",
        values=r.texts(f["values"], "brand.values") if "values" in f else (),
    )


def _topics(r: _Reader, node: yaml.Node) -> Topics:
    f = r.mapping(node, "topics", ("embrace", "avoid"))
    embrace = r.texts(f["embrace"], "topics.embrace") if "embrace" in f else ()
    avoid = r.texts(f["avoid"], "topics.avoid") if "avoid" in f else ()
    both = {t.lower() for t in embrace} & {t.lower() for t in avoid}
    if both:
        raise r.fail(node, "topics", f"topic(s) both embraced and avoided: {', '.join(sorted(both))}")
    return Topics(embrace, avoid)


def _audience(r: _Reader, node: yaml.Node, path: str) -> Audience:
    f = r.mapping(node, path, ("age", "gender", "country", "region", "interests", "communities", "languages"))
    if "country" in f and "region" in f:
        raise r.fail(node, path, "give country or region, not both (region is a synonym)")
    communities = []
    if "communities" in f:
        for i, item in enumerate(r.items(f["communities"], f"{path}.communities")):
            value = r.scalar(item) if isinstance(item, yaml.ScalarNode) else None
            if isinstance(value, bool) or not isinstance(value, int):
                raise r.fail(item, f"{path}.communities[{i}]", f"a community id is an integer, found {_shown(item)}")
            communities.append(value)
    country = f.get("country", f.get("region"))
    return Audience(
        age=r.texts(f["age"], f"{path}.age") if "age" in f else (),
        gender=r.texts(f["gender"], f"{path}.gender", lower=True) if "gender" in f else (),
        country=r.texts(country, f"{path}.country") if country is not None else (),
        interests=r.texts(f["interests"], f"{path}.interests", lower=True) if "interests" in f else (),
        communities=tuple(communities),
        languages=r.languages(f["languages"], f"{path}.languages") if "languages" in f else (),
    )


def _segments(r: _Reader, node: yaml.Node) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for i, item in enumerate(r.items(node, "segments")):
        path = f"segments[{i}]"
        f = r.mapping(item, path, ("name", "description", "weight", "audience"), ("name",))
        name = r.text(f["name"], f"{path}.name")
        if any(s.name == name for s in out):
            raise r.fail(f["name"], f"{path}.name", f"segment name {name!r} is used twice")
        out.append(Segment(
            name=name,
            weight=r.number(f["weight"], f"{path}.weight", positive=True) if "weight" in f else 1.0,
            audience=_audience(r, f["audience"], f"{path}.audience") if "audience" in f else Audience(),
            description=r.text(f["description"], f"{path}.description", allow_empty=True) if "description" in f else "",
        ))
    return tuple(out)


def _cost(r: _Reader, node: yaml.Node) -> CostModel:
    path = "budget.cost"
    f = r.mapping(node, path, ("model", "per_influencer", "cpm", "minimum", "tiers", "overrides"))
    model = r.text(f["model"], f"{path}.model").lower() if "model" in f else (
        "tiers" if "tiers" in f else "cpm" if "cpm" in f else "fixed")
    if model not in COST_MODELS:
        raise r.fail(f["model"], f"{path}.model", f"must be one of {', '.join(COST_MODELS)}, found {model!r}")
    needs = {"fixed": "per_influencer", "cpm": "cpm", "tiers": "tiers"}[model]
    if needs not in f:
        raise r.fail(node, f"{path}.{needs}", f"is required by cost model {model!r}")
    tiers: list[CostTier] = []
    if "tiers" in f:
        for i, item in enumerate(r.items(f["tiers"], f"{path}.tiers")):
            tf = r.mapping(item, f"{path}.tiers[{i}]", ("max_followers", "cost"), ("cost",))
            limit = None
            if "max_followers" in tf:
                limit = int(r.number(tf["max_followers"], f"{path}.tiers[{i}].max_followers"))
                if tiers and (tiers[-1].max_followers is None or limit <= tiers[-1].max_followers):
                    raise r.fail(tf["max_followers"], f"{path}.tiers[{i}].max_followers",
                                 "tiers must be in increasing max_followers order, the open-ended one last")
            elif i != len(f["tiers"].value) - 1:
                raise r.fail(item, f"{path}.tiers[{i}]", "only the last tier may omit max_followers")
            tiers.append(CostTier(cost=r.number(tf["cost"], f"{path}.tiers[{i}].cost"), max_followers=limit))
        if model == "tiers" and tiers[-1].max_followers is not None:
            raise r.fail(f["tiers"], f"{path}.tiers", "the last tier must be open-ended (no max_followers)")
    overrides = []
    if "overrides" in f:
        for i, item in enumerate(r.items(f["overrides"], f"{path}.overrides")):
            of = r.mapping(item, f"{path}.overrides[{i}]", ("account", "cost"), ("account", "cost"))
            overrides.append((r.account(of["account"], f"{path}.overrides[{i}].account"),
                              r.number(of["cost"], f"{path}.overrides[{i}].cost")))
    return CostModel(
        model=model,
        per_influencer=r.number(f["per_influencer"], f"{path}.per_influencer") if "per_influencer" in f else 1.0,
        cpm=r.number(f["cpm"], f"{path}.cpm") if "cpm" in f else 0.0,
        minimum=r.number(f["minimum"], f"{path}.minimum") if "minimum" in f else 0.0,
        tiers=tuple(tiers),
        overrides=tuple(overrides),
    )


def _budget(r: _Reader, node: yaml.Node) -> Budget:
    if isinstance(node, yaml.ScalarNode):
        return Budget(total=r.number(node, "budget", positive=True))
    f = r.mapping(node, "budget", ("total", "currency", "cost"))
    return Budget(
        total=r.number(f["total"], "budget.total", positive=True) if "total" in f else None,
        currency=r.text(f["currency"], "budget.currency") if "currency" in f else "",
        cost=_cost(r, f["cost"]) if "cost" in f else CostModel(),
    )


def _exclusions(r: _Reader, node: yaml.Node) -> Exclusions:
    f = r.mapping(node, "exclusions", ("accounts", "platforms", "bots"))
    return Exclusions(
        accounts=r.accounts(f["accounts"], "exclusions.accounts") if "accounts" in f else (),
        platforms=r.texts(f["platforms"], "exclusions.platforms", lower=True) if "platforms" in f else (),
        bots=r.flag(f["bots"], "exclusions.bots") if "bots" in f else False,
    )


def _stance(r: _Reader, node: yaml.Node) -> Stance:
    if isinstance(node, yaml.ScalarNode):
        return Stance(target=r.text(node, "stance"))
    f = r.mapping(node, "stance", ("target", "desired"), ("target",))
    desired = r.text(f["desired"], "stance.desired").lower() if "desired" in f else "favour"
    desired = "favour" if desired == "favor" else desired
    if desired not in STANCES:
        raise r.fail(f["desired"], "stance.desired", f"must be one of {', '.join(STANCES)}, found {desired!r}")
    return Stance(target=r.text(f["target"], "stance.target"), desired=desired)


FIT_PARTS = ("editorial", "style", "audience", "trust")


def _fit(r: _Reader, node: yaml.Node) -> tuple[tuple[str, float], ...]:
    f = r.mapping(node, "fit", ("weights",), ("weights",))
    weights = r.mapping(f["weights"], "fit.weights", FIT_PARTS)
    parsed = tuple((part, r.number(value, f"fit.weights.{part}")) for part, value in weights.items())
    # parts left out keep their positive defaults, so only a full set of zeros leaves nothing to rank by
    if len(parsed) == len(FIT_PARTS) and not any(w for _, w in parsed):
        raise r.fail(f["weights"], "fit.weights", "at least one weight must be > 0")
    return parsed


_CORE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))


def _refuse_tags(reader: _Reader, node: yaml.Node, path: str) -> None:
    """Only the core schema's tags: ``!!python/...`` and custom tags are refused before construction."""
    if node.tag not in _CORE_TAGS:
        raise reader.fail(node, path, f"YAML tag {node.tag[:60]!r} is not accepted")
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            _refuse_tags(reader, key, path)
            _refuse_tags(reader, value, f"{path}.{name}" if path else name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _refuse_tags(reader, item, f"{path}[{i}]")


_TOP = ("brand", "topics", "reference_accounts", "languages", "markets", "segments", "budget", "exclusions", "stance", "fit")


def parse_brief(text: str, source: str = "<brief>") -> Brief:
    """Validate a brief given as YAML text; ``source`` names it in errors."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BRIEF_BYTES:
        raise BriefFileError(source, None, "", f"larger than {MAX_BRIEF_BYTES} bytes")
    loader = _NoAliasLoader(text)
    reader = _Reader(source, loader)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BriefFileError(source, mark.line + 1 if mark is not None else None, "", f"not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if root is None:
        raise reader.fail(None, "", "the brief is empty")
    _refuse_tags(reader, root, "")
    f = reader.mapping(root, "", _TOP, ("brand",))
    return Brief(
        brand=_brand(reader, f["brand"]),
        topics=_topics(reader, f["topics"]) if "topics" in f else Topics(),
        reference_accounts=reader.accounts(f["reference_accounts"], "reference_accounts") if "reference_accounts" in f else (),
        languages=reader.languages(f["languages"], "languages") if "languages" in f else (),
        markets=reader.texts(f["markets"], "markets") if "markets" in f else (),
        segments=_segments(reader, f["segments"]) if "segments" in f else (),
        budget=_budget(reader, f["budget"]) if "budget" in f else Budget(),
        exclusions=_exclusions(reader, f["exclusions"]) if "exclusions" in f else Exclusions(),
        stance=_stance(reader, f["stance"]) if "stance" in f else None,
        fit_weights=_fit(reader, f["fit"]) if "fit" in f else (),
        source=source,
    )


def load_brief(path: Path | str) -> Brief:
    """Read and validate a brief file (UTF-8, at most :data:`MAX_BRIEF_BYTES`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BriefFileError(str(path), None, "", f"cannot read: {exc.strerror}") from None
    if size > MAX_BRIEF_BYTES:
        raise BriefFileError(str(path), None, "", f"larger than {MAX_BRIEF_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BriefFileError(str(path), None, "", f"not UTF-8 text (byte {exc.start})") from None
    return parse_brief(text, source=str(path))
