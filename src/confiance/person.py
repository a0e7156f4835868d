"""A person as GDPR tools know them: everything that names one person in the store or in a file's rows.

``forget`` fills one from the store (``confiance.privacy.find_person``) and removes it from every table and
the raw archive; an ingest after a forget fills one per file from the rows the suppression list dropped
(``_Run.apply_suppressions`` of either engine) and redacts that file's archive of it. The suppression list
keeps only hashes (:func:`key_hash`): ``platform:account_id``, ``platform:handle:handle``, ``platform:alias:alias``
(a Mastodon instance's numeric id, an actor URI) and ``platform:post:post_id``, each for every platform the person
has an account on: ``alice`` on X and ``alice`` on Reddit are two people. Lists written before handles were
scoped hold the bare handle's hash, which ingest still matches on every platform.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def key_hash(value: str) -> str:
    """The suppression list's form of an id, handle or post key: sha256 of its lower-case text."""
    return hashlib.sha256(value.lower().encode()).hexdigest()


@dataclass
class Person:
    """Everything that names one person in the store."""

    keys: list[tuple[str, str]] = field(default_factory=list)  # (platform, account_id)
    handles: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # display names
    post_ids: set[str] = field(default_factory=set)  # their posts, and those of theirs that others answered
    post_texts: set[str] = field(default_factory=set)
    #: other ids that name the account in raw records: a Mastodon instance's numeric id and actor URI
    aliases: set[str] = field(default_factory=set)

    @property
    def ids(self) -> set[str]:
        return {account_id for _, account_id in self.keys}

    def add(self, platform: str, account_id: str | None, handle: str | None = None, name: str | None = None,
            post_id: str | None = None) -> None:
        """One row's worth of what names the person (an ingest reads them from the rows it drops)."""
        if account_id and (platform, account_id) not in self.keys:
            self.keys.append((platform, account_id))
        for values, value in ((self.handles, handle), (self.names, name), (self.post_ids, post_id)):
            if value:
                values.add(value)

    def named(self) -> bool:
        """Whether anything names the person: an account, a handle or a post id."""
        return bool(self.keys or self.handles or self.post_ids)

    @property
    def platforms(self) -> set[str]:
        return {platform for platform, _ in self.keys}

    def hashes(self) -> set[str]:
        """The account's keys, and its handles and aliases scoped by each of the person's platforms."""
        out = {key_hash(f"{platform}:{account_id}") for platform, account_id in self.keys}
        for platform in self.platforms:
            out |= {key_hash(f"{platform}:handle:{h}") for h in self.handles}
            out |= {key_hash(f"{platform}:alias:{a}") for a in self.aliases}
        return out

    def post_hashes(self) -> set[str]:
        """``platform:post:post_id`` hashed, kept in the suppression list beside the account's: an ingest can
        then recognise a reference to one of these posts without the store keeping the ids."""
        return {key_hash(f"{platform}:post:{post_id}") for platform in self.platforms for post_id in self.post_ids}
