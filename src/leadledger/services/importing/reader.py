"""Streaming CSV reader that keeps physical line numbers and survives bad lines.

Lines are decoded one block at a time; a line the codec cannot decode, a quote that is never
closed, or a row with the wrong number of fields becomes a `RawReject` and reading goes on with
the next physical line.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from leadledger.errors import ImportFailed

BLOCK_BYTES = 1 << 22
MAX_RECORD_LINES = 200  # a quoted field may span lines, but not more than this
SHOWN_CHARS = 200


@dataclass(frozen=True, slots=True)
class RawReject:
    """A line that could not be turned into a row."""

    line: int
    column: str
    value: str
    reason: str
    fields: list[str]


@dataclass(slots=True)
class Batch:
    """Up to `rows` parsed rows with their first physical line numbers, plus the lines rejected."""

    lines: list[int] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    rejects: list[RawReject] = field(default_factory=list)
    bytes_done: int = 0


@dataclass(frozen=True, slots=True)
class _Undecodable:
    raw: bytes
    error: UnicodeDecodeError


_Line = str | _Undecodable


class CsvSource:
    """A CSV file opened for streaming: `header`, then `batches()`."""

    def __init__(self, path: Path, encoding: str | None = None, batch_rows: int = 100_000) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self.explicit_encoding = encoding
        self.codec = _codec(encoding, path)
        try:
            self._file: BinaryIO = path.open("rb")
        except OSError as exc:
            raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
        self.total_bytes = path.stat().st_size
        self.bytes_done = 0
        self.undecodable = 0
        self._skip_bom()
        self._records = self._assemble()
        self.header, self.delimiter = self._read_header()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def _skip_bom(self) -> None:
        head = self._file.read(4)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                            codecs.BOM_UTF16_BE)):
            raise ImportFailed(
                f"{self.path} is UTF-16/UTF-32 encoded: save it as 'CSV UTF-8' and import again"
            )
        skip = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        self._file.seek(skip)
        self.bytes_done = skip

    # -- physical lines ------------------------------------------------------------------------

    def _blocks(self) -> Iterator[tuple[list[_Line], bool]]:
        """Decoded physical lines, one block at a time; the flag says whether it is the last."""
        tail = b""
        while True:
            data = self._file.read(BLOCK_BYTES)
            eof = not data
            buf = tail + data
            cut = len(buf) if eof else buf.rfind(b"\n") + 1
            if not eof and cut == 0:
                tail = buf
                continue
            block, tail = buf[:cut], buf[cut:]
            self.bytes_done += len(block)
            yield self._decode(block), eof
            if eof:
                return

    def _decode(self, block: bytes) -> list[_Line]:
        if not block:
            return []
        raws = block.split(b"\n")
        if block.endswith(b"\n"):
            raws.pop()
        try:
            text = block.decode(self.codec)
        except UnicodeDecodeError:
            return [self._decode_line(r) for r in raws]
        lines = text.replace("\r\n", "\n").split("\n")
        if text.endswith("\n"):
            lines.pop()
        return lines  # type: ignore[return-value]

    def _decode_line(self, raw: bytes) -> _Line:
        raw = raw.removesuffix(b"\r")
        try:
            return raw.decode(self.codec)
        except UnicodeDecodeError as exc:
            self.undecodable += 1
            return _Undecodable(raw, exc)

    # -- records -------------------------------------------------------------------------------

    def _assemble(self) -> Iterator[tuple[list[tuple[int, str]], list[tuple[int, _Line]]]]:
        """Per block: (records as (first line, text), bad lines as (line, content))."""
        pending: list[_Line] = []
        base = 1  # physical line number of pending[0]
        for lines, eof in self._blocks():
            buf = pending + lines if pending else lines
            records: list[tuple[int, str]] = []
            bad: list[tuple[int, _Line]] = []
            i, n = 0, len(buf)
            while i < n:
                line = buf[i]
                if isinstance(line, _Undecodable):
                    bad.append((base + i, line))
                    i += 1
                    continue
                if not line.count('"') & 1:
                    records.append((base + i, line))
                    i += 1
                    continue
                # An odd number of quotes opens a field that may close on a later line.
                j, quotes = i + 1, line.count('"')
                while j < n and quotes & 1 and j - i < MAX_RECORD_LINES:
                    nxt = buf[j]
                    if isinstance(nxt, _Undecodable):
                        break
                    quotes += nxt.count('"')
                    j += 1
                if quotes & 1 and j == n and not eof and j - i < MAX_RECORD_LINES:
                    break  # the closing quote may be in the next block
                if quotes & 1:
                    bad.append((base + i, line))
                    i += 1
                    continue
                records.append((base + i, "\n".join(buf[i:j])))  # type: ignore[arg-type]
                i = j
            pending = buf[i:]
            base += i
            yield records, bad

    def _read_header(self) -> tuple[list[str], str]:
        for records, bad in self._records:
            if bad and (not records or bad[0][0] < records[0][0]):
                raise ImportFailed(self._header_problem(bad[0][1]))
            if not records:
                continue
            text = records[0][1]
            delimiter = _sniff(text)
            try:
                header = next(csv.reader([text], delimiter=delimiter, strict=True))
            except (csv.Error, StopIteration) as exc:
                raise ImportFailed(f"{self.path}: cannot read the header line: {exc}") from exc
            if not any(h.strip() for h in header):
                raise ImportFailed(f"{self.path}: the first line must be a header naming the columns")
            self._first = (records[1:], bad)
            return [h.strip() for h in header], delimiter
        raise ImportFailed(f"{self.path} is empty: expected a header line and rows")

    def _header_problem(self, line: _Line) -> str:
        if isinstance(line, _Undecodable):
            return f"{self.path}: the header line is not valid {self.codec}: {self._encoding_hint()}"
        return f"{self.path}: the header line has an unterminated quote"

    def batches(self) -> Iterator[Batch]:
        """Parsed rows in batches of about `batch_rows`; bad lines come back as rejects."""
        batch = Batch()
        for records, bad in itertools.chain([self._first], self._records):
            self._parse(records, batch)
            batch.rejects.extend(self._reject_line(n, line) for n, line in bad)
            if len(batch.rows) >= self.batch_rows:
                batch.bytes_done = self.bytes_done
                yield batch
                batch = Batch()
        batch.bytes_done = self.bytes_done
        yield batch

    def _parse(self, records: list[tuple[int, str]], batch: Batch) -> None:
        """csv-parse `records` (one element each) into `batch`; a record csv rejects is skipped."""
        ncols = len(self.header)
        texts = [t for _, t in records]
        start = 0
        while start < len(texts):
            reader = csv.reader(itertools.islice(texts, start, None), delimiter=self.delimiter,
                                strict=True)
            k = 0  # rows produced by this reader
            try:
                for row in reader:
                    if reader.line_num != k + 1:
                        raise csv.Error("quote never closed")  # swallowed a following line
                    k += 1
                    line = records[start + k - 1][0]
                    if len(row) == ncols:
                        batch.lines.append(line)
                        batch.rows.append(row)
                    elif row and any(row):
                        batch.rejects.append(self._wrong_count(line, row))
                start = len(texts)
            except csv.Error as exc:
                line, text = records[start + k]
                batch.rejects.append(self._broken_quoting(line, text, str(exc)))
                start += k + 1

    # -- reject rows ---------------------------------------------------------------------------

    def _wrong_count(self, line: int, row: list[str]) -> RawReject:
        ncols = len(self.header)
        extra = self.delimiter.join(row[ncols:])
        return RawReject(
            line=line, column="", value=extra[:SHOWN_CHARS] if extra else f"{len(row)} fields",
            reason=f"wrong number of fields: expected {ncols} (as in the header), found {len(row)}",
            fields=row[:ncols],
        )

    def _broken_quoting(self, line: int, text: str, detail: str) -> RawReject:
        return RawReject(
            line=line, column="", value=text[:SHOWN_CHARS],
            reason=f"broken quoting ({detail}): this line was skipped, the next lines were read",
            fields=self._loose_fields(text),
        )

    def _reject_line(self, line: int, content: _Line) -> RawReject:
        if isinstance(content, str):
            return RawReject(
                line=line, column="", value=content[:SHOWN_CHARS],
                reason="broken quoting: a quote opened on this line is never closed; "
                "this line was skipped, the next lines were read",
                fields=self._loose_fields(content),
            )
        shown = content.raw.decode("cp1252", errors="replace")
        fields = self._loose_fields(shown)
        column, value = "", shown[:SHOWN_CHARS]
        for i, raw_field in enumerate(self._loose_fields(content.raw.decode("latin-1"))):
            try:
                raw_field.encode("latin-1").decode(self.codec)
            except UnicodeDecodeError:
                if i < len(self.header):
                    column, value = self.header[i], fields[i] if i < len(fields) else value
                break
        bad_byte = content.raw[content.error.start]
        return RawReject(
            line=line, column=column, value=value,
            reason=f"not valid {self.codec} (byte 0x{bad_byte:02x}): {self._encoding_hint()}",
            fields=fields,
        )

    def _encoding_hint(self) -> str:
        if self.explicit_encoding:
            return f"the file is not in the encoding you gave ({self.explicit_encoding})"
        return "if the file comes from Excel or an older system, pass --encoding latin-1 (or cp1252)"

    def _loose_fields(self, text: str) -> list[str]:
        try:
            return next(csv.reader([text], delimiter=self.delimiter), [])[: len(self.header)]
        except csv.Error:
            return [text]


def _codec(encoding: str | None, path: Path) -> str:
    name = encoding or "utf-8"
    try:
        info = codecs.lookup(name)
    except LookupError as exc:
        raise ImportFailed(f"unknown encoding {name!r} for {path}") from exc
    if info.name.startswith(("utf-16", "utf-32")):
        raise ImportFailed(f"{path}: {name} files are not supported; save the file as 'CSV UTF-8'")
    return "utf-8" if info.name == "utf-8-sig" else info.name


def _sniff(header_line: str) -> str:
    """',' unless the header clearly uses ';', tab or '|' (European Excel, TSV exports)."""
    if "," in header_line:
        return ","
    counts = {d: header_line.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
