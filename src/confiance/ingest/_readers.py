"""Bounded, streaming readers for the containers that platform files come in.

Each reader yields :class:`Item` (a parsed unit with its line number) or :class:`BadItem`
(a unit that could not be parsed: it becomes a reject, and reading goes on).
Limits: line length, CSV field size, JSON nesting depth, whole-document size.
Encodings: BOMs (UTF-8, UTF-16, UTF-32), BOM-less UTF-16, UTF-8, else cp1252/Latin-1.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import json
import lzma
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import orjson
import pyarrow as pa
import yaml

from confiance.errors import IngestError
from confiance.i18n import N_, Phrase


@dataclass(frozen=True)
class Limits:
    max_line_bytes: int = 64 << 20  # one twarc2 page is ~0.4 MB; 64 MB leaves room
    max_field_chars: int = 16 << 20
    max_depth: int = 1024  # orjson's own bound on JSON lines; checked explicitly for documents and YAML
    max_document_bytes: int = 1 << 30  # a single JSON object/YAML document read whole
    max_raw_chars: int = 4096  # how much of a rejected unit is kept in `rejects.raw`


DEFAULT_LIMITS = Limits()


@dataclass
class Item:
    line_no: int
    value: Any
    #: what a reject of this item adds to its reason: where it is, when ``line_no`` is not a line
    note: str = ""


@dataclass
class BadItem:
    line_no: int
    reason: str
    raw: str | None = None


Progress = Callable[[int], None]


def _noop(_: int) -> None:
    pass


_MAGIC = ((b"\x1f\x8b", "gzip"), (b"\xfd7zXZ\x00", "xz"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))


def compression_of(path: Path) -> str | None:
    with open(path, "rb") as fh:
        magic = fh.read(6)
    return _compression_kind(magic)


def _compression_kind(head: bytes) -> str | None:
    return next((name for prefix, name in _MAGIC if head.startswith(prefix)), None)


def decompress(data: bytes) -> bytes:
    """Bytes as stored, decompressed when they start with a gzip / xz / bz2 / zstd signature."""
    kind = _compression_kind(data)
    if kind is None:
        return data
    if kind == "zstd":
        try:
            return pa.CompressedInputStream(pa.BufferReader(data), "zstd").read()
        except (pa.ArrowException, OSError) as exc:
            raise OSError(f"invalid zstd data ({exc})") from None
    return {"gzip": gzip.decompress, "xz": lzma.decompress, "bz2": bz2.decompress}[kind](data)


class _ZstdReader(io.RawIOBase):
    """A zstd stream (pyarrow's codec: the standard library of Python 3.11 has none) as a raw file."""

    def __init__(self, raw: BinaryIO):
        self._stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        try:
            data = self._stream.read(len(target))
        except (pa.ArrowException, OSError) as exc:
            raise OSError(f"invalid zstd data ({exc})") from None
        target[: len(data)] = data
        return len(data)


def open_binary(path: Path) -> tuple[BinaryIO, Callable[[], int]]:
    """Open a file for binary reading, decompressing gzip / xz / bz2 / zstd transparently.
    Returns the stream and a function giving the position in the file on disk."""
    raw = open(path, "rb")
    kind = compression_of(path)
    if kind is None:
        return raw, raw.tell
    if kind == "zstd":
        stream: Any = io.BufferedReader(_ZstdReader(raw), 1 << 20)
    else:
        opener = {"gzip": gzip.GzipFile, "xz": lzma.LZMAFile, "bz2": bz2.BZ2File}[kind]
        stream = opener(fileobj=raw) if kind == "gzip" else opener(raw)
    original_close = stream.close

    def close() -> None:
        original_close()
        raw.close()

    stream.close = close  # type: ignore[method-assign]
    return stream, raw.tell  # type: ignore[return-value]


def logical_suffix(path: Path) -> str:
    """'.csv' for 'x.csv.xz': the suffix that names the container, under any compression suffix."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".xz", ".bz2", ".gzip", ".zst", ".zstd"):
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


@dataclass
class Opened:
    """What detection learnt about a file: encoding and container."""

    path: Path
    encoding: str  # a Python codec name
    bom: bytes = b""
    head: bytes = field(default=b"", repr=False)

    @property
    def is_utf8(self) -> bool:
        return self.encoding in ("utf-8", "utf-8-sig")

    def head_text(self) -> str:
        return self.head[len(self.bom):].decode(self.encoding, errors="replace")


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


#: how much of a file decides its encoding (:func:`sniff_encoding`)
ENCODING_HEAD_BYTES = 1 << 20


def sniff_encoding(path: Path, head_bytes: int = ENCODING_HEAD_BYTES) -> Opened:
    fh, _ = open_binary(path)
    chunks: list[bytes] = []
    size = 0
    try:  # in pieces: a compressed file cut short keeps the head it has, and reading names the line it breaks at
        while size < head_bytes and (chunk := fh.read(min(16 << 10, head_bytes - size))):
            chunks.append(chunk)
            size += len(chunk)
    except _READ_ERRORS as exc:
        if not chunks:
            raise _unreadable(path, 1, exc) from None
    finally:
        fh.close()
    head = b"".join(chunks)
    encoding, bom = encoding_of(head, complete=len(head) < head_bytes)
    return Opened(path, encoding, bom, head)


def encoding_of(head: bytes, complete: bool) -> tuple[str, bytes]:
    """(Python codec, BOM) of text that starts with ``head`` (``complete``: all of it, so a multi-byte
    character cut at its end is an error): a BOM, BOM-less UTF-16, UTF-8, else cp1252/Latin-1."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, bom
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le", b""
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return "utf-16-be", b""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
        return "utf-8", b""
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(head):
        return "utf-8", b""
    try:
        head.decode("cp1252")
        return "cp1252", b""
    except UnicodeDecodeError:
        return "latin-1", b""


def _mostly_utf8(head: bytes) -> bool:
    """UTF-8 text with a few stray bytes (a Latin-1 line in a concatenated export): more characters
    decode as multi-byte UTF-8 than fail. Read as UTF-8, only the stray lines suffer; read as
    cp1252, every accent and emoji of the file would turn into mojibake ('CafÃ©')."""
    text = head.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    return sum(ord(c) > 0x7F for c in text) - invalid > invalid


def _clip(raw: bytes | str | None, limits: Limits) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw[: limits.max_raw_chars * 4].decode("utf-8", errors="replace")
    return raw[: limits.max_raw_chars]


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Iterative nesting check, so a hostile document cannot exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


class _Utf8Recoder(io.RawIOBase):
    """Present a file in any encoding as a UTF-8 byte stream (for orjson and the JSON array reader)."""

    def __init__(self, path: Path, encoding: str, skip: int):
        self._raw, self.tell_source = open_binary(path)
        self._raw.read(skip)
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._buffer = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self._buffer and not self._eof:
            chunk = self._raw.read(1 << 20)
            if not chunk:
                self._eof = True
                self._buffer = self._decoder.decode(b"", final=True).encode("utf-8")
            else:
                self._buffer = self._decoder.decode(chunk).encode("utf-8")
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Source:
    """Binary UTF-8 view of a file plus the byte position in the original (for progress bars)."""

    def __init__(self, opened: Opened):
        if opened.is_utf8:
            self._fh, self.position = open_binary(opened.path)
            self._fh.read(len(opened.bom))
            self.stream: BinaryIO = self._fh
        else:
            recoder = _Utf8Recoder(opened.path, opened.encoding, len(opened.bom))
            self._fh = recoder  # type: ignore[assignment]
            self.position = recoder.tell_source
            self.stream = io.BufferedReader(recoder, 1 << 20)  # type: ignore[arg-type]

    def close(self) -> None:
        self._fh.close()


#: what reading a compressed file that is cut short or corrupt raises
_READ_ERRORS = (OSError, EOFError, lzma.LZMAError)


def _invalid_json(error: Exception) -> Phrase:
    """A reject for JSON the parser refuses, its message quoted as the parser wrote it."""
    return Phrase(N_("invalid JSON: %(error)s"), error=str(error))


def _unreadable(path: Path, line_no: int | None, exc: BaseException) -> IngestError:
    """The error naming the file and line where reading broke (EOFError alone would end the CLI
    with click's bare 'Aborted.')."""
    return IngestError(str(path), line_no, Phrase(N_("cannot read or decompress (%(error)s)"), error=str(exc)))


def _read_line(stream: BinaryIO, size: int, path: Path, line_no: int) -> bytes:
    """One line; a compressed file that is cut short or corrupt is an error naming the file and line."""
    try:
        return stream.readline(size)
    except _READ_ERRORS as exc:
        raise _unreadable(path, line_no, exc) from None


def bounded_lines(opened: Opened, limits: Limits = DEFAULT_LIMITS, progress: Progress = _noop) -> Iterator[tuple[int, bytes] | BadItem]:
    """Non-empty lines (UTF-8 bytes, stripped) with their numbers; an oversized line is skipped as a BadItem."""
    src = _Source(opened)
    try:
        stream = src.stream
        line_no = 0
        last_report = 0
        while True:
            line = _read_line(stream, limits.max_line_bytes + 1, opened.path, line_no + 1)
            if not line:
                break
            line_no += 1
            if len(line) > limits.max_line_bytes and not line.endswith(b"\n"):
                while True:  # skip the rest of the oversized line
                    rest = _read_line(stream, 1 << 20, opened.path, line_no)
                    if not rest or rest.endswith(b"\n"):
                        break
                yield BadItem(line_no, Phrase(N_("line longer than %(limit)s bytes"), limit=limits.max_line_bytes),
                              _clip(line, limits))
                continue
            stripped = line.strip()
            if stripped:
                yield line_no, stripped
            pos = src.position()
            if pos - last_report > (4 << 20):
                progress(pos - last_report)
                last_report = pos
        progress(src.position() - last_report)
    finally:
        src.close()


def line_chunks(lines: Iterable[tuple[int, bytes] | BadItem], max_bytes: int) -> Iterator[list[tuple[int, bytes] | BadItem]]:
    """Consecutive lines grouped into chunks of about ``max_bytes`` (a bad line counts 256 bytes)."""
    chunk: list[tuple[int, bytes] | BadItem] = []
    size = 0
    for entry in lines:
        chunk.append(entry)
        size += 256 if isinstance(entry, BadItem) else len(entry[1])
        if size >= max_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def parse_json_line(line_no: int, line: bytes, limits: Limits = DEFAULT_LIMITS) -> Item | BadItem:
    try:
        return Item(line_no, orjson.loads(line))  # orjson refuses nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        error = exc
    try:  # a line in cp1252 / Latin-1 among UTF-8 ones (see _mostly_utf8)
        line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return Item(line_no, orjson.loads(line.decode("cp1252", errors="replace")))
        except orjson.JSONDecodeError:
            pass
    return BadItem(line_no, _invalid_json(error), _clip(line, limits))


def read_jsonl(opened: Opened, limits: Limits = DEFAULT_LIMITS, progress: Progress = _noop) -> Iterator[Item | BadItem]:
    for entry in bounded_lines(opened, limits, progress):
        yield entry if isinstance(entry, BadItem) else parse_json_line(entry[0], entry[1], limits)


class _JsonBroken(Exception):
    """The array's JSON breaks at ``pos`` (of the buffer): no further item can be read."""

    def __init__(self, pos: int, reason: str):
        super().__init__(reason)
        self.pos, self.reason = pos, reason


_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: a string (possibly cut by the buffer's end: then it runs to the end) or a bracket
_SKIP_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]')
_DECODER = json.JSONDecoder()


class _JsonText:
    """A UTF-8 JSON byte stream as a sliding text buffer that knows the line of any position in it,
    so that each array item is parsed on its own (C speed, ``json.raw_decode``) and located."""

    def __init__(self, stream: BinaryIO, path: Path):
        self.stream, self.path = stream, path
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.line = 1  # the line of text[0]
        self.eof = False
        self._counted = (0, 1)  # (a position, its line): items come in order, so lines are counted once

    def more(self, size: int = 1 << 20) -> bool:
        """Append the next piece of the file; False at its end."""
        if self.eof:
            return False
        try:
            chunk = self.stream.read(size)
        except _READ_ERRORS as exc:
            raise _unreadable(self.path, self.line, exc) from None
        try:
            self.text += self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise _JsonBroken(len(self.text), Phrase(N_("not UTF-8 (%(reason)s)"), reason=exc.reason)) from None
        self.eof = not chunk
        return True

    def line_at(self, pos: int) -> int:
        start, line = self._counted if self._counted[0] <= pos else (0, self.line)
        line += self.text.count("\n", start, pos)
        self._counted = (pos, line)
        return line

    def char(self, pos: int) -> str:
        while pos >= len(self.text) and self.more():
            pass
        return self.text[pos] if pos < len(self.text) else ""

    def skip_space(self, pos: int) -> int:
        while True:
            pos = _WHITESPACE.match(self.text, pos).end()  # type: ignore[union-attr]
            if pos < len(self.text) or not self.more():
                return pos

    def expect(self, pos: int, chars: str) -> tuple[str, int]:
        pos = self.skip_space(pos)
        found = self.char(pos)
        if not found or found not in chars:
            shown = (Phrase(N_("%(first)s or %(second)s"), first=repr(chars[0]), second=repr(chars[1]))
                     if len(chars) == 2 else repr(chars))
            raise _JsonBroken(pos, Phrase(N_("expected %(expected)s, found %(found)s"), expected=shown, found=repr(found))
                               if found else Phrase(N_("expected %(expected)s: the file ends"), expected=shown))
        return found, pos + 1

    def value(self, pos: int) -> tuple[Any, int]:
        """The JSON value at ``pos`` and the position after it, reading on while the buffer cuts it."""
        size = 1 << 20
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, pos)
            except json.JSONDecodeError as exc:
                cut = exc.pos >= len(self.text) or exc.msg.startswith("Unterminated string")
                if cut and self.more(size):
                    size = min(size * 2, 64 << 20)
                    continue
                raise _JsonBroken(exc.pos, exc.msg) from None
            if end < len(self.text) or not self.more(size):  # a number cut by the buffer's end parses too
                return value, end
            size = min(size * 2, 64 << 20)

    def skip_value(self, pos: int) -> int:
        """The position after the object or array at ``pos``, by brackets alone (for a value the
        parser refuses: nested past its recursion limit, or an integer past Python's digit limit)."""
        if self.char(pos) not in ("[", "{"):
            raise _JsonBroken(pos, Phrase(N_("a value the parser refuses")))
        depth = 0
        while True:
            match = _SKIP_TOKEN.search(self.text, pos)
            token = match.group() if match else ""
            if match is None or (token[0] == '"' and (match.end() == len(self.text))):
                if not self.more():
                    raise _JsonBroken(len(self.text), Phrase(N_("the file ends inside a value")))
                if match is not None:
                    pos = match.start()
                continue
            pos = match.end()
            if token in "[{":
                depth += 1
            elif token in "]}":
                depth -= 1
                if depth == 0:
                    return pos

    def compact(self, pos: int) -> int:
        """Drop the text before ``pos`` once it is large; returns ``pos`` in the shortened buffer."""
        if pos < 1 << 20:
            return pos
        self.line = self.line_at(pos)
        self.text = self.text[pos:]
        self._counted = (0, self.line)
        return 0

    def enter(self, prefix: str) -> int:
        """The position just inside the array at ``prefix`` ("item", "orderedItems.item");
        -1 when an object on the way lacks the key (then the array has no items)."""
        pos = 0
        for key in prefix.split(".")[:-1]:
            _, pos = self.expect(pos, "{")
            while True:
                pos = self.skip_space(pos)
                if self.char(pos) == "}":
                    return -1
                name, pos = self.value(pos)
                _, pos = self.expect(pos, ":")
                pos = self.skip_space(pos)
                if name == key:
                    break
                _, pos = self.value(pos)
                found, pos = self.expect(pos, ",}")
                if found == "}":
                    return -1
        _, pos = self.expect(pos, "[")
        return pos


def array_items(stream: BinaryIO, prefix: str, limits: Limits, path: Path, what: str = N_("item"),
                one_line: bool = False) -> Iterator[Item | BadItem]:
    """The items of the JSON array at ``prefix`` ("item": the document is the array;
    "orderedItems.item": the array under that key), streamed, each with the 1-based line where it
    starts. ``one_line``: the whole file is one line, so each item is given its 1-based position
    in the array instead, and its rejects say so. A break in the JSON ends the items with one
    reject, at the line where the broken item starts (else where the JSON breaks)."""
    text = _JsonText(stream, path)
    n = 0
    start: int | None = None  # where the item being read starts

    def where(pos: int) -> tuple[int, str]:
        if one_line:
            return n + 1, Phrase(N_(" (%(what)s %(n)s of the array: the file is one line)"), what=Phrase(what), n=n + 1)
        return text.line_at(pos), ""

    # the parser refuses (RecursionError) what nests deeper than the interpreter's recursion limit:
    # the explicit walk is needed only for a lower limit
    check_depth = limits.max_depth < sys.getrecursionlimit()
    pos = 0
    try:
        pos = text.enter(prefix)
        if pos < 0:
            return
        pos = text.skip_space(pos)
        if text.char(pos) == "]":
            return
        while True:
            start = pos
            line_no, note = where(pos)
            try:
                value, pos = text.value(pos)
                refused = (f"JSON nested deeper than {limits.max_depth}"
                           if check_depth and isinstance(value, (dict, list)) and depth_exceeds(value, limits.max_depth)
                           else None)
            except RecursionError:  # deeper than the parser's stack allows
                pos, refused = text.skip_value(pos), f"JSON nested deeper than {limits.max_depth}"
            except ValueError as exc:  # an integer past Python's digit limit (parse errors are _JsonBroken)
                pos, refused = text.skip_value(pos), f"invalid JSON: {exc}"[:300]
            n += 1
            yield Item(line_no, value, note) if refused is None else BadItem(line_no, refused + note)
            start = None
            found, pos = text.expect(pos, ",]")
            if found == "]":
                return
            pos = text.compact(text.skip_space(pos))
    except _JsonBroken as exc:
        line_no, note = where(exc.pos if start is None else start)  # a cut item: where it starts
        yield BadItem(line_no, Phrase(N_("invalid JSON after %(what)s %(n)s: %(reason)s%(note)s"), what=Phrase(what), n=n,
                                      reason=exc.reason, note=note))


def one_line(opened: Opened) -> bool:
    """The file is one line, as far as its first MiB shows (items of its arrays are then located by
    their position, see :func:`array_items`)."""
    return "\n" not in opened.head_text().rstrip()


def read_json(opened: Opened, limits: Limits = DEFAULT_LIMITS, progress: Progress = _noop) -> Iterator[Item | BadItem]:
    """A JSON document: a top-level array streams item by item (line_no = the line where the item
    starts, or its 1-based position when the file is one line);
    a top-level object is one item (line 1)."""
    first = opened.head_text().lstrip()[:1]
    src = _Source(opened)
    try:
        if first == "[":
            yield from array_items(src.stream, "item", limits, opened.path, one_line=one_line(opened))
        else:
            try:
                data = src.stream.read(limits.max_document_bytes + 1)
            except _READ_ERRORS as exc:
                raise _unreadable(opened.path, 1, exc) from None
            if len(data) > limits.max_document_bytes:
                yield BadItem(1, Phrase(N_("JSON document larger than %(limit)s bytes"), limit=limits.max_document_bytes))
                return
            try:
                value = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                yield BadItem(1, _invalid_json(exc), _clip(data, limits))
                return
            if isinstance(value, (dict, list)) and depth_exceeds(value, limits.max_depth):
                yield BadItem(1, Phrase(N_("JSON nested deeper than %(limit)s"), limit=limits.max_depth))
                return
            yield Item(1, value)
        progress(src.position())
    finally:
        src.close()


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(opened: Opened, limits: Limits = DEFAULT_LIMITS, progress: Progress = _noop) -> Iterator[Item | BadItem]:
    """RFC-4180 CSV with a header row; each row is a dict (line_no = the row's first physical line)."""
    csv.field_size_limit(limits.max_field_chars)
    binary, position = open_binary(opened.path)
    with io.TextIOWrapper(binary, encoding=opened.encoding, errors="replace", newline="") as fh:  # type: ignore[arg-type]
        first_line = fh.readline()
        if first_line.startswith("\ufeff"):
            first_line = first_line[1:]
        delimiter = sniff_delimiter(first_line)
        header = next(csv.reader([first_line], delimiter=delimiter), [])
        header = [h.strip() for h in header]
        if not header or not any(header):
            yield BadItem(1, Phrase(N_("missing CSV header row")))
            return
        reader = csv.reader(fh, delimiter=delimiter)
        start = 2
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except _READ_ERRORS as exc:
                raise _unreadable(opened.path, start, exc) from None
            except csv.Error as exc:
                yield BadItem(start, Phrase(N_("CSV error: %(error)s"), error=str(exc)))
                start = reader.line_num + 2
                continue
            line_no = start
            start = reader.line_num + 2
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                yield BadItem(line_no, Phrase(N_("expected %(expected)s fields, found %(found)s"), expected=len(header),
                                              found=len(row)), _clip(",".join(row), limits))
                continue
            yield Item(line_no, dict(zip(header, row)))
        progress(position())


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors/aliases: no billion-laughs expansion."""

    def compose_node(self, parent, index):  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "YAML aliases are not accepted", event.start_mark)
        return super().compose_node(parent, index)


def read_yaml(opened: Opened, limits: Limits = DEFAULT_LIMITS, progress: Progress = _noop) -> Iterator[Item | BadItem]:
    size = opened.path.stat().st_size
    if size > limits.max_document_bytes:
        yield BadItem(1, Phrase(N_("YAML document larger than %(limit)s bytes"), limit=limits.max_document_bytes))
        return
    binary, _ = open_binary(opened.path)
    with io.TextIOWrapper(binary, encoding=opened.encoding, errors="replace") as fh:  # type: ignore[arg-type]
        try:
            for n, doc in enumerate(yaml.load_all(fh, Loader=_NoAliasLoader), start=1):
                if doc is None:
                    continue
                if isinstance(doc, (dict, list)) and depth_exceeds(doc, limits.max_depth):
                    yield BadItem(n, Phrase(N_("YAML nested deeper than %(limit)s"), limit=limits.max_depth))
                    continue
                yield Item(n, doc)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            yield BadItem((mark.line + 1) if mark else 1, Phrase(N_("invalid YAML: %(error)s"), error=str(exc).splitlines()[0]))
        except _READ_ERRORS as exc:
            raise _unreadable(opened.path, None, exc) from None
    progress(size)


READERS = {"jsonl": read_jsonl, "json": read_json, "csv": read_csv, "yaml": read_yaml}


def guess_container(opened: Opened) -> str:
    """Container from content first, file suffix second."""
    suffix = logical_suffix(opened.path)
    if suffix == ".car" or _is_binary(opened):
        return "binary"
    text = opened.head_text().lstrip()
    if suffix == ".js":  # JavaScript: an X archive's data file (``window.YTD.… = [``), never CSV
        return "js"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix in (".graphml", ".gexf", ".xml") or text.startswith("<"):
        return "xml"
    if suffix == ".gml":
        return "gml"
    if text.startswith("{"):
        first_line = text.split("\n", 1)[0].strip()
        try:
            orjson.loads(first_line)
            return "jsonl"
        except orjson.JSONDecodeError:
            # a bad first line (cut short, hand-edited) does not make JSON lines one document
            return "jsonl" if suffix in (".jsonl", ".ndjson") or _later_lines_parse(text) else "json"
    if text.startswith("["):
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    return "csv"


def _is_binary(opened: Opened) -> bool:
    """A NUL byte near the start of a file that is not UTF-16/32: binary data (a CAR archive), not text
    (a stray NUL further into a text file leaves it text, to land with rejects)."""
    return not opened.encoding.startswith(("utf-16", "utf-32")) and b"\0" in opened.head[:_BINARY_PROBE_BYTES]


#: how far :func:`_is_binary` looks for a NUL byte
_BINARY_PROBE_BYTES = 512


def _later_lines_parse(text: str, sample_lines: int = 20) -> bool:
    """The complete lines after the first (up to ``sample_lines``) are each a JSON object on their own:
    JSON lines, as no line of an indented document is."""
    lines = text.split("\n")[1:-1]  # the last piece may be cut by the head's end
    later = [line.strip() for line in lines[:sample_lines] if line.strip()]
    if not later:
        return False
    try:
        return all(isinstance(orjson.loads(line), dict) for line in later)
    except orjson.JSONDecodeError:
        return False


def first_item(opened: Opened, container: str) -> Any:
    """The first parsable unit, for format detection (bounded work). JSON and JSON lines: a
    :class:`BadItem` when the first unit cannot be parsed (JSON lines: no complete line of the head
    parses), so that detection can say why rather than call a file cut short an unknown format."""
    if container == "jsonl":
        lines = opened.head_text().split("\n")
        if len(opened.head) >= ENCODING_HEAD_BYTES:
            lines = lines[:-1]  # the head's last piece may be a line cut by the head's end, not by the file's
        bad: BadItem | None = None
        for line_no, line in enumerate(lines[:50], start=1):
            line = line.strip()
            if line:
                try:
                    return orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    bad = bad or BadItem(line_no, _invalid_json(exc))
        return bad
    if container == "json":
        if opened.head_text().lstrip().startswith("[") or opened.path.stat().st_size <= 64 << 20:
            for item in read_json(opened):
                return item.value if isinstance(item, Item) else item
        return None
    if container == "yaml":
        for item in read_yaml(opened):
            return item.value if isinstance(item, Item) else None
        return None
    if container == "csv":
        for item in read_csv(opened):
            return item.value if isinstance(item, Item) else None
        return None
    return None


def csv_header(opened: Opened) -> list[str]:
    # the line ends :func:`read_csv`'s reader knows (a lone CR too: the csv module rejects one inside a line)
    first_line = re.split(r"\r\n?|\n", opened.head_text(), maxsplit=1)[0].lstrip("\ufeff")
    return [h.strip() for h in next(csv.reader([first_line], delimiter=sniff_delimiter(first_line)), [])]
