"""Platform identifiers derived deterministically from a post's time and index.

- X: 19-digit snowflakes, ``(ms - 1288834974657) << 22 | (index mod 2**22)``, so an id sorts by time
  and encodes ``created_at`` the way real tweet ids do.
- Bluesky: DIDs ``did:plc:`` + 24 base32 characters, record keys as TIDs (13 sortable base32
  characters from microseconds and a clock id), CIDs ``bafyrei`` + 52 base32 characters.
- Mastodon: ``(ms << 16) | (index mod 2**16)`` (Mastodon's own id layout).
"""

from __future__ import annotations

import hashlib

TWITTER_EPOCH_MS = 1288834974657
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_TID = "234567abcdefghijklmnopqrstuvwxyz"


def snowflake(ms: int, index: int) -> int:
    return ((ms - TWITTER_EPOCH_MS) << 22) | (index & 0x3FFFFF)


def mastodon_id(ms: int, index: int) -> int:
    return (ms << 16) | (index & 0xFFFF)


def _b32(data: bytes, length: int) -> str:
    value = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(out)


def did(seed: int, account: int) -> str:
    return "did:plc:" + _b32(hashlib.blake2b(f"did/{seed}/{account}".encode(), digest_size=16).digest(), 24)


def cid(seed: int, kind: str, index: int) -> str:
    return "bafyrei" + _b32(hashlib.blake2b(f"cid/{seed}/{kind}/{index}".encode(), digest_size=33).digest(), 52)


def tid(time_us: int, clock: int) -> str:
    """AT Protocol timestamp identifier: 53 bits of microseconds, 10 bits of clock id."""
    value = (time_us << 10) | (clock & 0x3FF)
    out = []
    for _ in range(13):
        out.append(_TID[value & 31])
        value >>= 5
    return "".join(reversed(out))
