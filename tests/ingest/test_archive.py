"""The raw archive is zstd; gzip archives written by earlier versions stay readable and redactable,
and zstd input files are read like gzip ones."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from confiance.ingest._readers import decompress
from confiance.privacy import forget
from tests.conftest import FORMATS, ingest, scalar

HANDLE = "zstdcanary71"
USER_ID = "1234567890123456789"


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


def _page(tmp_path):
    users = [{"id": USER_ID, "username": HANDLE, "name": "Zstd Canary"}, {"id": "42", "username": "someone"}]
    data = [{"id": "501", "author_id": USER_ID, "text": f"hello from {HANDLE}", "created_at": "2024-02-01T10:00:00Z"},
            {"id": "502", "author_id": "42", "text": "an unrelated post", "created_at": "2024-02-01T11:00:00Z"}]
    f = tmp_path / "page.jsonl"
    f.write_text(json.dumps({"data": data, "includes": {"users": users}}) + "\n")
    return f


def test_archives_are_zstd_and_round_trip(workspace, tmp_path):
    f = _page(tmp_path)
    [r] = ingest(workspace, f)
    target = workspace.archive_path(r.sha256)
    assert target.suffix == ".zst" and target.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    assert decompress(target.read_bytes()) == f.read_bytes()
    assert scalar(workspace, "SELECT archive_path FROM sources") == str(target.relative_to(workspace.root))
    assert not list(workspace.raw_dir.glob(".incoming-*"))


def test_zstd_input_is_read_transparently(workspace, tmp_path):
    f = tmp_path / "pages.jsonl.zst"
    f.write_bytes(_zstd((FORMATS / "twitter-v2-json" / "brexit.jsonl").read_bytes()))
    assert detect(f) == "twitter-v2"
    [r] = ingest(workspace, f)
    assert (r.stored, r.rejected) == (100, 0)


@pytest.mark.parametrize("suffix, compress", [(".zst", _zstd), (".gz", gzip.compress)])
def test_truncated_compressed_input_is_an_error_naming_the_file(workspace, tmp_path, suffix, compress):
    whole = compress((FORMATS / "twitter-v2-json" / "brexit.jsonl").read_bytes())
    f = tmp_path / f"cut.jsonl{suffix}"
    f.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(IngestError, match=f"cut.jsonl\\{suffix}:1: cannot read or decompress"):
        ingest(workspace, f, format_name="twitter-v2")
    assert scalar(workspace, "SELECT count(*) FROM sources") == 0
    assert not list(workspace.raw_dir.glob(".incoming-*"))


def test_forget_redacts_older_gzip_archives_too(workspace, tmp_path):
    [r] = ingest(workspace, _page(tmp_path))
    # turn the archive into what an earlier version wrote: gzip, named .gz
    current = workspace.archive_path(r.sha256)
    old = current.with_suffix(".gz")
    old.write_bytes(gzip.compress(decompress(current.read_bytes())))
    current.unlink()
    assert HANDLE.encode() in gzip.decompress(old.read_bytes())

    forget(workspace, HANDLE)

    kept = gzip.decompress(old.read_bytes())  # still gzip, still under its name
    assert HANDLE.encode() not in kept.lower() and USER_ID.encode() not in kept
    assert b"an unrelated post" in kept
