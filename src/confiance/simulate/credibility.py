"""The world's own domain-credibility list (``credibility.csv``): the planted low-credibility domains
rated ``low`` and the reputable ones rated ``high``, in the format ``confiance sources --credibility``
reads. The world's domains are invented or real news sites the shipped OpenSources list does not
rate, so without this list the credibility analyses have nothing to say about the world."""

from __future__ import annotations

from pathlib import Path

from confiance.simulate import vocabulary as V

#: The ``source`` column of every row: the ratings are the simulator's, not a fact-checker's.
SOURCE = "simulated-world"


def write_credibility(path: Path) -> None:
    """Write ``domain,rating,source`` for every domain the world links (not the brand's own site)."""
    rows = [(d, "low") for d in V.LOW_CREDIBILITY_DOMAINS] + [(d, "high") for d in V.REPUTABLE_DOMAINS]
    path.write_text("domain,rating,source\n" + "".join(f"{d},{r},{SOURCE}\n" for d, r in rows), encoding="utf-8")
