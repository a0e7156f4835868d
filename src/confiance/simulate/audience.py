"""Supplied audience reports (media kits, platform insights) for the top influencers: the true
demographics with reporting noise; creator-supplied kits flatter their audience (they shift
share toward the 25-34 band)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from confiance.simulate.model import _round_shares


def write_audience(path: Path, rng: np.random.Generator, influencers: list[tuple[str, str, dict, int]],
                   top: int = 50) -> list[dict]:
    """``influencers``: (platform, account_id, true audience, followers). Returns what was reported."""
    ranked = sorted(influencers, key=lambda x: (-x[3], x[0], x[1]))[:top]
    lines = ["platform,account_id,dimension,category,share,source"]
    reported = []
    for platform, account_id, audience, _ in ranked:
        source = "creator" if rng.random() < 0.3 else "platform_insights"
        for dimension, shares in audience.items():
            cats = tuple(shares)
            values = np.array([shares[c] for c in cats]) * rng.lognormal(0, 0.08, len(cats))
            if source == "creator" and dimension == "age":
                values[cats.index("25-34")] *= 1.3
            rounded = _round_shares(cats, values / values.sum())
            for c in cats:
                lines.append(f"{platform},{account_id},{dimension},{c},{rounded[c]:.4f},{source}")
        reported.append({"platform": platform, "account_id": account_id, "source": source})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return reported
