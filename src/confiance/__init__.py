"""confiance: influence and trust intelligence workbench."""

__version__ = "0.1.0"

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
