"""The world's own domain-credibility list (``credibility.csv``): the planted low-credibility domains
rated ``low`` and the reputable ones rated ``high``, in the format ``confiance sources --credibility``
reads. The world's domains are invented or real news sites the shipped OpenSources list does not
rate, so without this list the credibility analyses have nothing to say about the world."""

from __future__ import annotations

from pathlib import Path

from confiance.simulate import vocabulary as V

#: The ``source`` column of every row: the ratings are the simulator's, not a fact-checker's.
SOURCE = "simulated-world"


def write_credibility(path: Path) -> list[dict[str, str]]:
    """Write ``domain,rating,source`` for every domain the world links; return the rows."""
    rows = ([{"domain": d, "rating": "low", "source": SOURCE} for d in V.LOW_CREDIBILITY_DOMAINS]
            + [{"domain": d, "rating": "high", "source": SOURCE} for d in V.REPUTABLE_DOMAINS])
    lines = ["domain,rating,source"] + [f"{r['domain']},{r['rating']},{r['source']}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rows
