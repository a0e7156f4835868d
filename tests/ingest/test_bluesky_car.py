"""Bluesky repository exports (CAR v1): a repository built here with libipld (a real multi-level Merkle
Search Tree with prefix-compressed keys, real post records from the shared Bluesky sample) lands the
same rows as the same records read as com.atproto.repo.listRecords pages; damaged files give rejects
or errors that name the file, the block and the record, and the accounting invariant holds."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import libipld
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confiance.errors import IngestError
from confiance.ingest import detect, ingest_paths
from confiance.ingest._readers import Limits
from confiance.workspace import Workspace
from tests.conftest import FORMATS, ingest, query, scalar

DID = "did:plc:car4test7owner2repo5export"
OTHER = "did:plc:someoneelse3followed"
POSTS_SAMPLE = FORMATS / "bluesky-atproto" / "bluesky-posts.json"
MTIME = 1_764_000_000  # both files of a comparison claim the same collection time


# ---------------------------------------------------------------------------------------------
# Building repositories: DAG-CBOR blocks, CIDs, the MST, CAR framing
# ---------------------------------------------------------------------------------------------


def cid_of(block: bytes) -> bytes:
    """CIDv1, dag-cbor (0x71), sha2-256 multihash, as raw bytes."""
    return b"\x01\x71\x12\x20" + hashlib.sha256(block).digest()


def cid_text(cid: bytes) -> str:
    return libipld.encode_cid(cid)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def to_ipld(value):
    """The atproto JSON data model as DAG-CBOR values: {"$link"} -> CID bytes, {"$bytes"} -> bytes."""
    if isinstance(value, dict):
        if set(value) == {"$link"}:
            return libipld.decode_multibase(value["$link"])[1]
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"] + "==")
        return {k: to_ipld(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_ipld(v) for v in value]
    return value


def height(key: str) -> int:
    """MST layer of a key: leading zero bits of its sha-256, counted in pairs (fanout 4)."""
    zeros = 0
    for byte in hashlib.sha256(key.encode()).digest():
        if byte == 0:
            zeros += 4
            continue
        zeros += (byte < 64) + (byte < 16) + (byte < 4)
        break
    return zeros


@dataclass
class Repo:
    """A repository's blocks as written to the CAR, with where each record and node landed."""

    data: bytes = b""
    record_offsets: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (section start, end)
    node_cids: list[bytes] = field(default_factory=list)  # root first
    node_blocks: list[bytes] = field(default_factory=list)
    record_cids: dict[str, bytes] = field(default_factory=dict)
    layers: int = 0


def _node(items: list[tuple[str, bytes]], layer: int, nodes: list[tuple[bytes, bytes]]) -> bytes:
    """The MST node of ``items`` (sorted, none above ``layer``) at ``layer``; its CID (nodes collects blocks)."""
    left, entries, pending = None, [], []

    def attach() -> None:
        nonlocal left
        sub = _node(pending, layer - 1, nodes) if pending else None
        if entries:
            entries[-1][3] = sub
        else:
            left = sub
        pending.clear()

    for key, cid in items:
        if height(key) == layer:
            attach()
            entries.append([key, cid, None, None])
        else:
            pending.append((key, cid))
    attach()
    encoded, previous = [], ""
    for key, cid, _, right in entries:
        common = len(os.path.commonprefix([previous, key]))
        encoded.append({"p": common, "k": key[common:].encode(), "v": cid, "t": right})
        previous = key
    block = libipld.encode_dag_cbor({"l": left, "e": encoded})
    cid = cid_of(block)
    nodes.append((cid, block))
    return cid


def build_car(records: dict[str, object], *, drop: frozenset[str] = frozenset(), damage: frozenset[str] = frozenset(),
              drop_node: int | None = None, did: str = DID) -> Repo:
    """A CAR v1 of a repository: header, commit, MST nodes (root first), then the records in key order.
    ``drop`` leaves record blocks out, ``damage`` changes one byte of theirs, ``drop_node`` leaves out
    the n-th node after the root."""
    blocks = {key: libipld.encode_dag_cbor(to_ipld(value)) for key, value in records.items()}
    cids = {key: cid_of(block) for key, block in blocks.items()}
    items = sorted(cids.items())
    top = max(height(key) for key, _ in items)
    nodes: list[tuple[bytes, bytes]] = []
    root = _node(items, top, nodes)
    nodes.reverse()  # the root was made last
    commit = libipld.encode_dag_cbor({"did": did, "version": 3, "data": root, "rev": "3lcarrev0000a", "prev": None,
                                      "sig": b"\x00" * 64})
    commit_cid = cid_of(commit)
    header = libipld.encode_dag_cbor({"roots": [commit_cid], "version": 1})
    out = bytearray(varint(len(header)) + header)
    repo = Repo(node_cids=[cid for cid, _ in nodes], node_blocks=[block for _, block in nodes], record_cids=cids,
                layers=top + 1)

    def section(cid: bytes, block: bytes) -> None:
        out.extend(varint(len(cid) + len(block)) + cid + block)

    section(commit_cid, commit)
    for n, (cid, block) in enumerate(nodes):
        if drop_node is None or n != drop_node + 1:
            section(cid, block)
    for key, _ in items:
        if key in drop:
            continue
        block = blocks[key]
        if key in damage:
            block = block[:-1] + bytes([block[-1] ^ 0x01])
        start = len(out)
        section(cids[key], block)
        repo.record_offsets[key] = (start, len(out))
    repo.data = bytes(out)
    return repo


# ---------------------------------------------------------------------------------------------
# The repository: real post records plus a repost, a like, a follow, a profile and a block
# ---------------------------------------------------------------------------------------------


def _sample_posts(limit: int | None = None) -> dict[str, dict]:
    """rkey -> post record (JSON form) of the shared sample's post views."""
    posts: dict[str, dict] = {}
    for item in json.loads(POSTS_SAMPLE.read_text(encoding="utf-8")):
        view = item["post"] if isinstance(item.get("post"), dict) else item
        posts.setdefault(view["uri"].rsplit("/", 1)[1], view["record"])
    return dict(list(posts.items())[:limit])


def _records(limit: int | None = None) -> dict[str, dict]:
    """MST key -> record (JSON data model)."""
    subject = {"uri": "at://did:plc:quotedauthor/app.bsky.feed.post/3kquoted", "cid": cid_text(cid_of(b"subject"))}
    records = {f"app.bsky.feed.post/{rkey}": record for rkey, record in _sample_posts(limit).items()}
    records.update({
        "app.bsky.feed.repost/3lrepost00001": {"$type": "app.bsky.feed.repost", "subject": subject,
                                               "createdAt": "2025-11-02T08:00:00.000Z"},
        "app.bsky.feed.like/3llike0000001": {"$type": "app.bsky.feed.like", "subject": subject,
                                             "createdAt": "2025-11-02T08:01:00.000Z"},
        "app.bsky.graph.follow/3lfollow00001": {"$type": "app.bsky.graph.follow", "subject": OTHER,
                                                "createdAt": "2025-11-03T09:00:00.000Z"},
        "app.bsky.graph.block/3lblock000001": {"$type": "app.bsky.graph.block", "subject": "did:plc:blocked",
                                               "createdAt": "2025-11-03T09:00:00.000Z"},
        "app.bsky.actor.profile/self": {
            "$type": "app.bsky.actor.profile", "displayName": "Camille Été", "description": "Journaliste — données",
            "avatar": {"$type": "blob", "ref": {"$link": cid_text(cid_of(b"avatar"))}, "mimeType": "image/jpeg",
                       "size": 1234},
            "createdAt": "2023-05-01T10:00:00.000Z"},
    })
    return records


def _list_records(records: dict[str, dict]) -> dict:
    """The same repository as a com.atproto.repo.listRecords response (every collection on one page)."""
    return {"records": [
        {"uri": f"at://{DID}/{key}", "cid": cid_text(cid_of(libipld.encode_dag_cbor(to_ipld(value)))), "value": value}
        for key, value in sorted(records.items())
    ]}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))
    return path


@pytest.fixture(scope="module")
def records() -> dict[str, dict]:
    return _records()


@pytest.fixture(scope="module")
def repo(records) -> Repo:
    return build_car(records)


@pytest.fixture(scope="module")
def both(records, repo, tmp_path_factory):
    """(CAR workspace, listRecords workspace, CAR result, JSON result)."""
    root = tmp_path_factory.mktemp("car")
    car_ws, json_ws = Workspace.init(root / "car-ws"), Workspace.init(root / "json-ws")
    car_path = _write(root / "repo.car", repo.data)
    json_path = _write(root / "records.json", json.dumps(_list_records(records)).encode())
    [car_result] = ingest(car_ws, car_path)
    [json_result] = ingest(json_ws, json_path)
    return car_ws, json_ws, car_result, json_result, car_path


def _rows(ws: Workspace, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    columns = [c for (c,) in query(ws, "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                       "ORDER BY ordinal_position", [table])
               if c not in ("source_sha256", *exclude)]
    return query(ws, f"SELECT {', '.join(columns)} FROM {table} ORDER BY ALL")


# ---------------------------------------------------------------------------------------------
# A sound repository
# ---------------------------------------------------------------------------------------------


def test_the_fixture_is_a_real_multi_level_repository(records, repo):
    posts = [r for k, r in records.items() if k.startswith("app.bsky.feed.post/")]
    features = {f["$type"] for r in posts for facet in r.get("facets", ()) for f in facet["features"]}
    assert {"app.bsky.richtext.facet#mention", "app.bsky.richtext.facet#link", "app.bsky.richtext.facet#tag"} <= features
    assert any("reply" in r for r in posts)
    assert any(r.get("embed", {}).get("$type") == "app.bsky.embed.record" for r in posts)
    assert repo.layers >= 3 and len(repo.node_cids) > 10
    # prefix compression is in use: some entry shares a prefix with the key before it in its node
    assert any(entry["p"] > 0 for block in repo.node_blocks for entry in libipld.decode_dag_cbor(block)["e"])


def test_detected_by_content_not_by_name(repo, tmp_path):
    plain = _write(tmp_path / "export-sans-extension", repo.data)
    packed = _write(tmp_path / "repo.bin.gz", gzip.compress(repo.data))
    assert detect(plain) == "bluesky-car"
    assert detect(packed) == "bluesky-car"


def test_rows_equal_the_same_records_read_through_list_records(both, records):
    car_ws, json_ws, car_result, json_result, _ = both
    read = {k for k in records if k.split("/")[0] in ("app.bsky.feed.post", "app.bsky.feed.repost",
                                                          "app.bsky.feed.like", "app.bsky.graph.follow")}
    assert json_result.records_read == len(read) and json_result.rejected == 0
    assert car_result.records_read == len(read) + 1  # and the profile; the block is not content
    assert car_result.rejected == 0 and car_result.stored == car_result.records_read
    for table in ("posts", "interactions", "observations"):
        assert _rows(car_ws, table) == _rows(json_ws, table), table
    profile = ("display_name", "bio", "default_avatar", "attributes")
    assert _rows(car_ws, "accounts", profile) == _rows(json_ws, "accounts", profile)
    assert scalar(car_ws, "SELECT count(*) FROM posts") == sum(k.startswith("app.bsky.feed.post/") for k in records)
    assert scalar(car_ws, "SELECT count(*) FROM interactions WHERE kind = 'follow' AND dst = ?", [OTHER]) == 1


def test_fields_of_posts_and_edges(both, records):
    car_ws = both[0]
    uri_of = {f"at://{DID}/{key}": value for key, value in records.items() if key.startswith("app.bsky.feed.post/")}
    rows = query(car_ws, "SELECT post_id, account_id, text, kind, parent_post_id, hashtags, mentions, urls, "
                         "json_extract_string(attributes, '$.cid') FROM posts")
    assert len(rows) == len(uri_of)
    mentioned: dict[str, set[str]] = {}
    for post_id, dst in query(car_ws, "SELECT post_id, dst FROM interactions WHERE kind = 'mention'"):
        mentioned.setdefault(post_id, set()).add(dst)
    for post_id, account, text, kind, parent, hashtags, mentions, urls, cid in rows:
        record = uri_of[post_id]
        assert account == DID and text == record.get("text", "")
        assert cid == cid_text(cid_of(libipld.encode_dag_cbor(to_ipld(record))))
        reply = record.get("reply", {}).get("parent", {}).get("uri")
        embed = record.get("embed", {})
        ref = {"app.bsky.embed.record": embed.get("record"),
               "app.bsky.embed.recordWithMedia": embed.get("record", {}).get("record")}.get(embed.get("$type"))
        quoted = ref.get("uri") if ref else None
        if reply:
            assert (kind, parent) == ("reply", reply)
        elif quoted and "/app.bsky.feed.post/" in quoted:
            assert (kind, parent) == ("quote", quoted)
        else:
            assert kind == "post"
        tags = {f["tag"].strip().lstrip("#").lower() for facet in record.get("facets", ()) for f in facet["features"]
                if f["$type"] == "app.bsky.richtext.facet#tag"}
        assert tags <= set(hashtags)
        links = {f["uri"] for facet in record.get("facets", ()) for f in facet["features"]
                 if f["$type"] == "app.bsky.richtext.facet#link"}
        assert links <= set(urls)
        dids = {f["did"] for facet in record.get("facets", ()) for f in facet["features"]
                if f["$type"] == "app.bsky.richtext.facet#mention"}
        assert mentioned.get(post_id, set()) == dids
        assert set(mentions) == _shown_handles(record)
    assert query(car_ws, "SELECT src, dst, post_id FROM interactions WHERE kind IN ('repost', 'like') ORDER BY kind") == [
        (DID, "did:plc:quotedauthor", "at://did:plc:quotedauthor/app.bsky.feed.post/3kquoted")] * 2


def _shown_handles(record: dict) -> set[str]:
    """The '@handle' spans of the mention facets, sliced by UTF-8 byte offsets (a span that is not a
    handle, as some clients write, names none)."""
    text, shown = record.get("text", "").encode(), set()
    for facet in record.get("facets", ()):
        if any(f["$type"] == "app.bsky.richtext.facet#mention" for f in facet["features"]):
            span = text[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode(errors="replace").strip()
            if span.startswith("@") and "." in span:
                shown.add(span[1:].lower())
    return shown


def test_profile_gives_the_owner_display_name_and_bio(both):
    car_ws = both[0]
    assert query(car_ws, "SELECT handle, display_name, bio, default_avatar FROM accounts WHERE account_id = ?", [DID]) == [
        (None, "Camille Été", "Journaliste — données", False)]


def test_reingest_adds_nothing(both):
    car_ws, _, _, _, car_path = both
    before = [scalar(car_ws, f"SELECT count(*) FROM {t}") for t in ("posts", "interactions", "accounts")]
    [again] = ingest(car_ws, car_path)
    assert again.stored == 0 and again.already_ingested
    renamed = _write(car_path.with_name("same-bytes-again.car"), car_path.read_bytes())
    [third] = ingest(car_ws, renamed)
    assert third.stored == 0
    assert [scalar(car_ws, f"SELECT count(*) FROM {t}") for t in ("posts", "interactions", "accounts")] == before


# ---------------------------------------------------------------------------------------------
# Damaged files
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> dict[str, dict]:
    return _records(limit=30)


def _rejects(ws: Workspace) -> list[tuple[int, str]]:
    return query(ws, "SELECT line_no, reason FROM rejects ORDER BY line_no")


def _invariant(result) -> None:
    assert result.records_read == result.stored + result.duplicates + result.rejected


def test_truncated_file_keeps_the_records_before_the_cut(small, workspace, tmp_path):
    repo = build_car(small)
    posts = sorted(k for k in repo.record_offsets if k.startswith("app.bsky.feed.post/"))
    start, end = repo.record_offsets[posts[len(posts) // 2]]
    cut = _write(tmp_path / "cut.car", repo.data[:start + (end - start) // 2])
    [result] = ingest(workspace, cut)
    _invariant(result)
    whole = [k for k, (_, e) in repo.record_offsets.items() if e <= len(cut.read_bytes()) and not k.startswith("app.bsky.graph.block")]
    assert result.stored == len(whole)
    rejects = _rejects(workspace)
    assert any(line == start and "cut short" in reason and f"byte {start}" in reason for line, reason in rejects)
    lost = [k for k, (s, _) in repo.record_offsets.items() if s >= start and not k.startswith("app.bsky.graph.block")]
    assert result.rejected == len(lost) + 1
    assert all(any(key in reason and "missing" in reason for _, reason in rejects) for key in lost)


def test_missing_and_damaged_blocks_reject_their_record(small, workspace, tmp_path):
    posts = sorted(k for k in small if k.startswith("app.bsky.feed.post/"))
    gone, bad = posts[3], posts[7]
    repo = build_car(small, drop=frozenset({gone}), damage=frozenset({bad}))
    [result] = ingest(workspace, _write(tmp_path / "damaged.car", repo.data))
    _invariant(result)
    assert result.rejected == 2 and result.stored == result.records_read - 2
    rejects = _rejects(workspace)
    missing = [r for _, r in rejects if gone in r]
    assert missing and "missing" in missing[0] and cid_text(repo.record_cids[gone]) in missing[0]
    offset = repo.record_offsets[bad][0]
    assert [(line, "does not match its CID" in r) for line, r in rejects if bad in r] == [(offset, True)]
    assert scalar(workspace, "SELECT count(*) FROM posts WHERE post_id IN (?, ?)",
                  [f"at://{DID}/{gone}", f"at://{DID}/{bad}"]) == 0


def test_record_that_is_not_a_map_is_rejected_by_key(small, workspace, tmp_path):
    records = dict(small)
    key = sorted(k for k in records if k.startswith("app.bsky.feed.post/"))[0]
    records[key] = ["not", "a", "record"]
    repo = build_car(records)
    [result] = ingest(workspace, _write(tmp_path / "list-record.car", repo.data))
    _invariant(result)
    assert result.rejected == 1
    [(line, reason)] = _rejects(workspace)
    assert line == repo.record_offsets[key][0] and key in reason and "not a map" in reason


def test_missing_tree_node_rejects_itself_once(small, workspace, tmp_path):
    repo = build_car(small, drop_node=0)
    [result] = ingest(workspace, _write(tmp_path / "no-node.car", repo.data))
    _invariant(result)
    node_rejects = [r for _, r in _rejects(workspace) if "MST node" in r]
    assert len(node_rejects) == 1 and "missing" in node_rejects[0] and cid_text(repo.node_cids[1]) in node_rejects[0]
    assert 0 < result.stored < len(small)


def test_files_that_cannot_be_listed_are_errors_naming_the_file(small, workspace, tmp_path):
    repo = build_car(small)
    not_car = _write(tmp_path / "garbage.car", b"\x05hello world, not a repository")
    with pytest.raises(IngestError, match="not a CAR v1 file") as info:
        ingest(workspace, not_car)
    assert str(not_car) in str(info.value)
    header_only = _write(tmp_path / "header-only.car", repo.data[:1 + repo.data[0]])
    with pytest.raises(IngestError, match="commit") as info:
        ingest(workspace, header_only, format_name="bluesky-car")
    assert str(header_only) in str(info.value)
    with pytest.raises(IngestError, match="max_document_bytes") as info:
        ingest(workspace, _write(tmp_path / "big.car", repo.data), limits=Limits(max_document_bytes=1000))
    assert "big.car" in str(info.value)
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0


# ---------------------------------------------------------------------------------------------
# Fuzz: truncated and mutated CAR bytes
# ---------------------------------------------------------------------------------------------

_FUZZ_REPO = build_car(_records(limit=12))
_fuzz_workspace: list[Workspace] = []

mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), min_size=1, max_size=6)),
    st.tuples(st.just("delete"), st.floats(0.0, 1.0), st.integers(1, 200)),
)


def _mutate(data: bytes, change) -> bytes:
    if change[0] == "truncate":
        return data[: int(len(data) * change[1])]
    if change[0] == "flip":
        out = bytearray(data)
        for where, value in change[1]:
            out[min(int(len(out) * where), len(out) - 1)] = value
        return bytes(out)
    at = int(len(data) * change[1])
    return data[:at] + data[at + change[2]:]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(change=mutation)
def test_mutated_car_never_crashes_and_invariant_holds(change):
    if not _fuzz_workspace:
        _fuzz_workspace.append(Workspace.init(Path(tempfile.mkdtemp(prefix="car-fuzz-")) / "ws"))
    ws = _fuzz_workspace[0]
    target = Path(tempfile.mkdtemp(prefix="car-m-")) / "mutated.car"
    target.write_bytes(_mutate(_FUZZ_REPO.data, change))
    try:
        [result] = ingest_paths(ws, [target], format_name="bluesky-car")
    except IngestError as exc:  # nothing could be listed: an error naming the file
        assert str(target) in str(exc)
        return
    _invariant(result)
    if not result.already_ingested:
        rejects = scalar(ws, "SELECT count(*) FROM rejects WHERE source_sha256 = ?", [result.sha256])
        assert rejects == result.rejected


# ---------------------------------------------------------------------------------------------
# forget: the raw archive of a CAR keeps no trace of the person
# ---------------------------------------------------------------------------------------------


def _archive_hits(ws: Workspace, needle: str) -> list[str]:
    from confiance.ingest._readers import decompress

    hits = []
    for path in ws.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            data = decompress(data) if path.suffix in (".gz", ".zst") else data
            if needle.lower().encode() in data.lower():
                hits.append(str(path.relative_to(ws.root)))
    return hits


def test_forget_leaves_no_trace_of_the_owner_in_car_archives(small, workspace, tmp_path):
    from confiance.privacy import forget

    ingest(workspace, _write(tmp_path / "repo.car", build_car(small).data))
    assert _archive_hits(workspace, DID)
    forget(workspace, DID)
    ingest(workspace, _write(tmp_path / "later.car", build_car(_records(limit=33)).data))  # after forget: suppressed
    assert _archive_hits(workspace, DID) == [] and _archive_hits(workspace, "Camille") == []


def test_a_hostile_tree_whose_blocks_hash_well_is_read_without_crashing(workspace, tmp_path):
    """Sound blocks, unsound tree: links that are no CIDs, a node linked twice, a key without rkey."""
    post = libipld.encode_dag_cbor({"$type": "app.bsky.feed.post", "text": "même texte", "createdAt": "2025-01-01T00:00:00Z"})
    post_cid = cid_of(post)

    def entry(key: str, value, right=None) -> dict:
        return {"p": 0, "k": key.encode(), "v": value, "t": right}

    child = libipld.encode_dag_cbor({"l": None, "e": [entry("app.bsky.feed.post/a1", post_cid)]})
    root = libipld.encode_dag_cbor({"l": 42, "e": [
        entry("app.bsky.feed.post/a", post_cid, cid_of(child)),
        entry("app.bsky.feed.post/b", post_cid, cid_of(child)),
        entry("app.bsky.feed.post/", post_cid),
        entry("app.bsky.feed.post/c", "not a link"),
    ]})
    commit = libipld.encode_dag_cbor({"did": DID, "version": 3, "data": cid_of(root), "rev": "r", "prev": None,
                                      "sig": b"\x00"})
    header = libipld.encode_dag_cbor({"roots": [cid_of(commit)], "version": 1})
    data = varint(len(header)) + header + b"".join(
        varint(36 + len(block)) + cid_of(block) + block for block in (commit, root, child, post))
    [result] = ingest(workspace, _write(tmp_path / "hostile.car", data))
    _invariant(result)
    assert (result.stored, result.rejected) == (3, 4)
    reasons = " | ".join(r for _, r in _rejects(workspace))
    assert "the link is not a CID" in reasons and "linked twice" in reasons and "is not collection/rkey" in reasons
    assert "record app.bsky.feed.post/c" in reasons
