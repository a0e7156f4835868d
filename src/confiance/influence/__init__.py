"""Influence: who reaches, amplifies and anchors conversations, with the evidence behind each score."""

from confiance.influence.scores import (COMPONENTS, DEFAULT_WEIGHTS, compute_influence, coreness, in_strength,
                                        influencers, pagerank, percentile_ranks, run_influence)

__all__ = ["COMPONENTS", "DEFAULT_WEIGHTS", "compute_influence", "coreness", "in_strength", "influencers",
           "pagerank", "percentile_ranks", "run_influence"]
