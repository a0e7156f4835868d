"""Account graphs: building them from interactions (``build``), communities, polarisation."""
