"""One error hierarchy: every user-facing failure derives from ``ConfianceError``."""

from __future__ import annotations


class ConfianceError(Exception):
    """Base class: the CLI prints the message on one line and exits with 1."""

    def said(self) -> str:
        """The message as the reader's language writes it: an ``i18n.Phrase`` message translated, any other as it is."""
        from confiance.i18n import said

        return said(self.args[0]) if len(self.args) == 1 else str(self)


class WorkspaceError(ConfianceError):
    """The workspace is missing, unreadable or at the wrong schema version."""


class WorkspaceLocked(WorkspaceError):
    """Another process holds the writer lock."""

    def __init__(self, lock_path: str, holder_pid: int | None):
        self.lock_path = lock_path
        self.holder_pid = holder_pid
        who = f"process {holder_pid}" if holder_pid else "another process"
        super().__init__(f"workspace is locked by {who} ({lock_path}); wait for it to finish")


class IngestError(ConfianceError):
    """A whole file cannot be ingested (unknown format, unreadable, bad mapping file)."""

    def __init__(self, file: str, line: int | None, reason: str):
        self.file = file
        self.line = line
        self.reason = reason
        super().__init__(f"{self.where}: {reason}")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def said(self) -> str:
        """The message in the language of :func:`confiance.i18n.using` (its reason, an ``i18n.Phrase``, translated)."""
        from confiance.i18n import said

        return f"{self.where}: {said(self.reason)}"


class RecordError(ConfianceError):
    """One record cannot be mapped; it goes to ``rejects`` and the file goes on."""


class BriefError(ConfianceError):
    """A campaign brief field is invalid."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"brief field {field!r}: {reason}")


class AnalysisError(ConfianceError):
    """Steps of an ``analyze`` run failed; the others ran and are committed. ``results`` holds every
    step's outcome (a :class:`confiance.pipeline.StepFailure` for the failed and the skipped ones)."""

    def __init__(self, message: str, results: dict):
        self.results = results
        super().__init__(message)
