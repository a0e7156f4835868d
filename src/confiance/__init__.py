"""confiance: influence and trust intelligence workbench."""

import os

__version__ = "0.1.0"

# OpenMP workers (scikit-learn's k-means, networkit) sleep instead of spinning while they wait: spinning
# made the topic step 4-25x slower whenever other processes shared the cores. Read once, when the
# OpenMP runtime loads, so it is set before anything imports it; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from confiance.errors import BriefError, ConfianceError, IngestError, RecordError, WorkspaceError, WorkspaceLocked  # noqa: E402
from confiance.workspace import Workspace  # noqa: E402

__all__ = [
    "__version__",
    "Workspace",
    "ConfianceError",
    "WorkspaceError",
    "WorkspaceLocked",
    "IngestError",
    "RecordError",
    "BriefError",
]
