"""Bluesky / AT Protocol repository export: one account's whole repository as a CAR v1 file.

This is what Bluesky's "Settings → Export my data" downloads and what researchers fetch with
``com.atproto.sync.getRepo`` (``curl '…/xrpc/com.atproto.sync.getRepo?did=did:plc:…' > repo.car``).
Layout (atproto "Repository" specification, https://atproto.com/specs/repository, and the IPLD CAR v1
specification):

- The file is ``varint(len) header`` then blocks ``varint(len) CID bytes``; varints are unsigned LEB128.
  The header is a DAG-CBOR map ``{version: 1, roots: [CID]}``; its first root is the signed commit.
  Every block is content-addressed: CIDv1, DAG-CBOR codec (0x71), sha2-256 multihash. Each block this
  reader uses is checked against its CID (the sha-256 of its bytes); blocks it does not need (records
  of other collections, earlier commits some exports carry) are framed but not hashed or decoded.
- The commit is ``{did, version (2 or 3), data: CID of the MST root, rev, sig, prev}``. The signature
  is not verified: that needs the DID document's signing key, which the file does not hold.
- The records sit in a Merkle Search Tree: each node is ``{l: CID | null, e: [{p, k, v, t}]}``, where
  ``l`` is the subtree left of every entry, and each entry's key is the first ``p`` bytes of the
  previous key *in the same node* followed by the suffix ``k`` (the node's first entry has ``p = 0``),
  ``v`` is the record's CID and ``t`` the subtree between this key and the next. Keys are
  ``collection/rkey``. The walk is iterative, in key order, and reads each node once.

Decoding is libipld's (``decode_dag_cbor``, ``encode_cid``); this module only frames the file and
walks the tree. A CID link decodes to its raw bytes.

Mapping: each record of ``app.bsky.feed.post``, ``app.bsky.feed.repost``, ``app.bsky.feed.like`` and
``app.bsky.graph.follow`` becomes the ``RepoRecord`` that com.atproto.repo.listRecords gives in the
``bluesky`` format (uri ``at://{did}/{collection}/{rkey}``, the record's CID as text) and goes
through that format's mapping, so a repository export and listRecords pages of the same account
land the same posts, interactions and accounts. ``app.bsky.actor.profile/self`` is a record too:
its one row is the owner's account with ``displayName`` and ``description`` as display name and
bio (``default_avatar`` when it sets no avatar; pinned post, website, pronouns and self-labels in
attributes). The handle is not in the repository: the account id is the DID, as everywhere on
Bluesky, and the handle stays empty until an AppView view names it. Other collections (blocks,
lists, threadgates, chat declarations, third-party lexicons) are not content: they are neither
decoded nor counted as read, as in the ``bluesky`` format.

Rejects name the record key and the block: ``rejects.line_no`` is the byte offset of the block in
the (decompressed) file, and the reason says so. A block that is missing, cut short, fails its
hash or does not decode rejects the record it holds; a missing or damaged tree node rejects itself
once (the records under it cannot be listed). A file cut short, or whose framing breaks, keeps
every record whose blocks came before the break, plus one reject at the byte where it breaks. A
file that is not a CAR v1, or whose commit cannot be read, is an error naming the file and the
block: nothing in it can be listed. The whole file is held in memory, within the reader's
``max_document_bytes``; a larger file is an error naming that limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import libipld

from confiance.errors import IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest import bluesky
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._readers import (BadItem, Item, Limits, Opened, Progress, _READ_ERRORS, _unreadable, depth_exceeds,
                                       logical_suffix, open_binary)
from confiance.ingest._sink import Sink

PROFILE = "app.bsky.actor.profile"
_READ = bluesky.COLLECTIONS | {PROFILE}
_DAG_CBOR = 0x71
_SHA2_256 = 0x12
_MAX_HEADER_BYTES = 1 << 16  # a header is ~60 bytes: a larger length is not a CAR
_SNIFF_BYTES = _MAX_HEADER_BYTES + 9  # the longest header with its length
#: what libipld raises on bytes that are not strict DAG-CBOR
_DECODE_ERRORS = (ValueError, RecursionError, OverflowError, TypeError)


class _Broken(Exception):
    """The file's framing breaks at ``offset``: no block after it can be located."""

    def __init__(self, offset: int, reason: str):
        super().__init__(reason)
        self.offset, self.reason = offset, reason


@dataclass(frozen=True)
class _Profile:
    """The repository's ``app.bsky.actor.profile/self`` record."""

    did: str
    value: dict


@dataclass(frozen=True)
class _Block:
    offset: int  # of the block's section (its length varint) in the file
    start: int  # of the block's data
    end: int
    codec: int
    hash_code: int
    digest: bytes


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at ``pos`` (multiformats allow 9 bytes): (value, position after)."""
    value = shift = 0
    for i in range(9):
        if pos + i >= len(data):
            raise _Broken(pos, Phrase(N_("the file ends inside a length")))
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + i + 1
        shift += 7
    raise _Broken(pos, Phrase(N_("a length longer than 9 bytes")))


def _cid_at(section: bytes, offset: int) -> tuple[bytes, int, int, bytes, int]:
    """(CID bytes, codec, hash code, digest, length of the CID) at the start of a block section."""
    if section[:2] == b"\x12\x20":  # CIDv0: a bare sha2-256 multihash, dag-pb
        if len(section) < 34:
            raise _Broken(offset, Phrase(N_("a CIDv0 cut short")))
        return section[:34], 0x70, _SHA2_256, section[2:34], 34
    try:
        version, pos = _varint(section, 0)
        codec, pos = _varint(section, pos)
        hash_code, pos = _varint(section, pos)
        size, pos = _varint(section, pos)
    except _Broken:
        raise _Broken(offset, Phrase(N_("a block whose CID is cut short or malformed"))) from None
    if version != 1:
        raise _Broken(offset, Phrase(N_("a block whose CID has version %(version)s"), version=version))
    if pos + size > len(section):
        raise _Broken(offset, Phrase(N_("a CID cut short")))
    return section[:pos + size], codec, hash_code, section[pos:pos + size], pos + size


def _header(data: bytes) -> tuple[list[bytes], int]:
    """The header's roots and the position after it; ValueError when the bytes are not a CAR v1 header."""
    try:
        length, pos = _varint(data, 0)
    except _Broken as exc:
        raise ValueError(exc.reason) from None
    if not 0 < length <= _MAX_HEADER_BYTES or pos + length > len(data):
        raise ValueError(Phrase(N_("a header of %(length)s bytes"), length=length))
    try:
        header = libipld.decode_dag_cbor(data[pos:pos + length])
    except _DECODE_ERRORS as exc:
        raise ValueError(Phrase(N_("the header is not DAG-CBOR (%(error)s)"), error=str(exc))) from None
    if not isinstance(header, dict) or header.get("version") != 1:
        raise ValueError(Phrase(N_("the header is not a map with version 1")))
    roots = header.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, bytes) for r in roots):
        raise ValueError(Phrase(N_("the header names no root CID")))
    return roots, pos + length


def is_car(head: bytes) -> bool:
    """Whether bytes start with a CAR v1 header (only the header is read)."""
    try:
        _header(head)
    except ValueError:
        return False
    return True


def _frame(data: bytes, pos: int) -> tuple[dict[bytes, _Block], _Broken | None]:
    """Every block section from ``pos`` on (the first of duplicate CIDs wins), and where framing broke."""
    blocks: dict[bytes, _Block] = {}
    while pos < len(data):
        offset = pos
        try:
            length, start = _varint(data, pos)
            if length == 0:
                raise _Broken(offset, Phrase(N_("an empty block section")))
            if start + length > len(data):
                raise _Broken(offset, Phrase(N_("a block section of %(length)s bytes runs past the end of the file "
                                                "(%(size)s bytes): the file is cut short"), length=length, size=len(data)))
            cid, codec, hash_code, digest, cid_length = _cid_at(data[start:start + min(length, 128)], offset)
        except _Broken as exc:
            return blocks, exc
        pos = start + length
        blocks.setdefault(cid, _Block(offset, start + cid_length, pos, codec, hash_code, digest))
    return blocks, None


class _Repo:
    """Blocks of one CAR file, decoded on demand and checked against their CIDs."""

    def __init__(self, data: bytes, blocks: dict[bytes, _Block], limits: Limits):
        self.data, self.blocks, self.limits = data, blocks, limits

    def offset_of(self, cid: Any, default: int) -> int:
        """Where the block of ``cid`` starts; ``default`` when the file lacks it or ``cid`` is no CID."""
        block = self.blocks.get(cid) if isinstance(cid, bytes) else None
        return block.offset if block is not None else default

    def get(self, cid: Any, what: str) -> tuple[Any, int]:
        """(decoded block, its offset); RecordError naming the block when it cannot be used."""
        if not isinstance(cid, bytes):
            raise RecordError(f"{what}: the link is not a CID")
        name = _cid_text(cid)
        block = self.blocks.get(cid)
        if block is None:
            raise RecordError(f"{what}: block {name} is missing from the file")
        where = f"{what}: block {name} at byte {block.offset}"
        body = self.data[block.start:block.end]
        if block.hash_code != _SHA2_256 or len(block.digest) != 32:
            raise RecordError(f"{where} is not hashed with sha2-256 (multihash 0x{block.hash_code:x})")
        if hashlib.sha256(body).digest() != block.digest:
            raise RecordError(f"{where} does not match its CID (sha-256 differs): the file is damaged")
        if block.codec != _DAG_CBOR:
            raise RecordError(f"{where} is not DAG-CBOR (codec 0x{block.codec:x})")
        try:
            value = libipld.decode_dag_cbor(body)
        except _DECODE_ERRORS as exc:
            raise RecordError(f"{where} is not valid DAG-CBOR ({str(exc)[:200]})") from None
        if isinstance(value, (dict, list)) and depth_exceeds(value, self.limits.max_depth):
            raise RecordError(f"{where} is nested deeper than {self.limits.max_depth}")
        return value, block.offset


def _cid_text(cid: bytes) -> str:
    try:
        return libipld.encode_cid(cid)
    except ValueError:
        return cid.hex()


def _commit(repo: _Repo, root: bytes) -> tuple[str, bytes]:
    """(DID, MST root CID) of the signed commit."""
    commit, _ = repo.get(root, "commit")
    if not isinstance(commit, dict):
        raise RecordError("commit: not a map")
    did, version, data = commit.get("did"), commit.get("version"), commit.get("data")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise RecordError("commit: no DID")
    if version not in (2, 3):
        raise RecordError(f"commit: repository version {version!r} (2 or 3 are read)")
    if not isinstance(data, bytes):
        raise RecordError("commit: no MST root CID")
    return did, data


def _entries(node: Any) -> tuple[Any, list[tuple[str, Any, Any]]]:
    """(left subtree, [(key, record CID, right subtree)]) of an MST node, keys rebuilt from their prefixes."""
    if not isinstance(node, dict) or not isinstance(node.get("e"), list):
        raise RecordError("not an MST node (a map with an entry list)")
    entries, previous = [], b""
    for n, entry in enumerate(node["e"]):
        prefix = entry.get("p") if isinstance(entry, dict) else None
        suffix = entry.get("k") if isinstance(entry, dict) else None
        if not isinstance(prefix, int) or not isinstance(suffix, bytes) or not 0 <= prefix <= len(previous):
            raise RecordError(f"MST entry {n} has no valid prefix length and key suffix")
        previous = previous[:prefix] + suffix
        try:
            key = previous.decode("ascii")
        except UnicodeDecodeError:
            raise RecordError(f"MST entry {n}: key is not ASCII") from None
        entries.append((key, entry.get("v"), entry.get("t")))
    return node.get("l"), entries


@dataclass(frozen=True)
class _Subtree:
    cid: Any  # a link as decoded: bytes when the node is sound
    where: str


@dataclass(frozen=True)
class _Leaf:
    key: str
    cid: Any
    node_offset: int


def _walk(repo: _Repo, did: str, mst_root: bytes) -> Iterator[Item | BadItem]:
    """The records of the collections read, in key order; a node or record that cannot be read is a BadItem."""
    # subtrees to open and leaves to read, pushed in reverse so that they pop in key order
    stack: list[_Subtree | _Leaf] = [_Subtree(mst_root, "the MST root")]
    seen: set[bytes] = set()
    while stack:
        top = stack.pop()
        if isinstance(top, _Subtree):
            located = repo.offset_of(top.cid, 0)
            if isinstance(top.cid, bytes) and top.cid in seen:
                yield BadItem(located, f"MST node ({top.where}) {_cid_text(top.cid)} is linked twice: the tree is "
                                       "malformed; it is read once")
                continue
            try:
                node, offset = repo.get(top.cid, f"MST node ({top.where})")
                left, entries = _entries(node)
            except RecordError as exc:
                yield BadItem(located, f"{exc}; the records under it are not read (line_no is the byte offset)")
                continue
            seen.add(top.cid)
            for key, value, right in reversed(entries):
                if right is not None:
                    stack.append(_Subtree(right, f"subtree after {key}"))
                stack.append(_Leaf(key, value, offset))
            if left is not None:
                stack.append(_Subtree(left, f"subtree before {entries[0][0]}" if entries else "left subtree"))
            continue
        collection, _, rkey = top.key.partition("/")
        if collection not in _READ:
            continue
        if not rkey or "/" in rkey:
            yield BadItem(top.node_offset, f"record key {top.key!r} is not collection/rkey (MST node at byte "
                                           f"{top.node_offset})")
            continue
        try:
            value, offset = repo.get(top.cid, f"record {top.key}")
        except RecordError as exc:
            yield BadItem(repo.offset_of(top.cid, top.node_offset), f"{exc} (line_no is the byte offset)")
            continue
        note = f" (record {top.key}, block at byte {offset}: line_no is the byte offset)"
        if not isinstance(value, dict):
            yield BadItem(offset, f"record {top.key}: not a map (a {type(value).__name__}){note}")
        elif collection == PROFILE:
            yield Item(offset, _Profile(did, value), note)
        else:
            yield Item(offset, bluesky.RepoRecord(did, collection, rkey, value, _cid_text(top.cid), None), note)


def _load(opened: Opened, limits: Limits) -> tuple[bytes, Callable[[], int]]:
    """The file's bytes (decompressed), within ``max_document_bytes``."""
    stream, position = open_binary(opened.path)
    try:
        data = stream.read(limits.max_document_bytes + 1)
        done = position()
    except _READ_ERRORS as exc:
        raise _unreadable(opened.path, None, exc) from None
    finally:
        stream.close()
    if len(data) > limits.max_document_bytes:
        raise IngestError(str(opened.path), None, Phrase(N_(
            "CAR file larger than %(limit)s bytes (the reader limit max_document_bytes): a repository export is read "
            "whole, so it is not read"), limit=limits.max_document_bytes))
    return data, lambda: done


def read_car(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    """The repository's records (see the module docstring), each located by its block's byte offset."""
    data, position = _load(opened, limits)
    path = str(opened.path)
    try:
        roots, pos = _header(data)
    except ValueError as exc:
        raise IngestError(path, None, Phrase(N_("not a CAR v1 file: %(reason)s"), reason=exc.args[0])) from None
    blocks, broken = _frame(data, pos)
    repo = _Repo(data, blocks, limits)
    try:
        did, mst_root = _commit(repo, roots[0])
    except RecordError as exc:
        if broken is None:
            raise IngestError(path, None, Phrase(N_("the repository's %(problem)s: no record can be listed"),
                                                 problem=str(exc))) from None
        raise IngestError(path, None, Phrase(N_("the repository's %(problem)s; the file breaks at byte %(offset)s "
                                                "(%(reason)s): no record can be listed"),
                                             problem=str(exc), offset=broken.offset, reason=broken.reason)) from None
    if broken is not None:
        yield BadItem(broken.offset, Phrase(N_("CAR framing breaks at byte %(offset)s: %(reason)s; records whose blocks "
                                               "come after it are missing (line_no is the byte offset)"),
                                            offset=broken.offset, reason=broken.reason))
    yield from _walk(repo, did, mst_root)
    progress(position())


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------


def _map_profile(profile: _Profile, sink: Sink, ctx: Context) -> None:
    value = profile.value
    pinned = value.get("pinnedPost")
    attributes = {
        "self_labels": bluesky.label_values(value.get("labels")) or None,
        "pinned_post": pinned.get("uri") if isinstance(pinned, dict) and isinstance(pinned.get("uri"), str) else None,
        "website": value.get("website") if isinstance(value.get("website"), str) else None,
        "pronouns": value.get("pronouns") if isinstance(value.get("pronouns"), str) else None,
        "profile_created_at": bluesky.record_timestamp(value.get("createdAt")),
    }
    sink.account(
        primary=True,
        platform=bluesky.PLATFORM,
        account_id=profile.did,
        display_name=value.get("displayName") or None,
        bio=value.get("description") or None,
        default_avatar=not value.get("avatar"),
        attributes={k: v for k, v in attributes.items() if v} or None,
        observed_at=ctx.collected_at,
    )


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if isinstance(record, _Profile):
        _map_profile(record, sink, ctx)
    elif isinstance(record, bluesky.RepoRecord):
        bluesky.map_record(record, sink, ctx)
    else:
        raise RecordError("not a repository record")


def sniff(sample: Sample) -> int:
    """By content: a CAR v1 header (varint length, DAG-CBOR ``{version: 1, roots}``); a ``.car`` file
    without one is still offered, so that reading it says what is wrong."""
    if is_car(sample.head[:_SNIFF_BYTES]):
        return 100
    return 40 if logical_suffix(sample.path) == ".car" else 0


FORMAT = Format(
    name="bluesky-car",
    description="Bluesky / AT Protocol repository export (CAR v1: Export my data, com.atproto.sync.getRepo)",
    containers=("binary",),
    sniff=sniff,
    map=map_record,
    read=read_car,
    aliases=("atproto-car", "car"),
)
