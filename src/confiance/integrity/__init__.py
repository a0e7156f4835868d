"""Trust and integrity: bots, coordinated behaviour, source credibility, commercial disclosure."""
