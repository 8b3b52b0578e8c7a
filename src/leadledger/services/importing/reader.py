"""Streaming CSV reader that keeps physical line numbers and survives bad lines.

Lines are decoded one block at a time; a line the codec cannot decode, a quote that is never
closed, or a row with the wrong number of fields becomes a `RawReject` and reading goes on with
the next physical line.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import polars as pl

from leadledger.errors import ImportFailed

LINE = "__line"

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
    """Parsed rows (`__line` plus text columns c0…cN) and the lines rejected while reading."""

    frame: pl.DataFrame
    rejects: list[RawReject] = field(default_factory=list)
    bytes_done: int = 0


@dataclass(frozen=True, slots=True)
class _Undecodable:
    raw: bytes
    error: UnicodeDecodeError


_Line = str | _Undecodable


@dataclass(frozen=True, slots=True)
class _Records:
    """Complete records of one block (first physical line, text) and its unreadable lines."""

    lines: pl.Series
    texts: pl.Series
    bad: list[tuple[int, _Line]]


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
        try:
            self._skip_bom()
            self.header, self.delimiter = self._read_header()
        except BaseException:
            self._file.close()
            raise
        self._records = self._assemble()

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

    def _blocks(self) -> Iterator[tuple[list[_Line], bool, bool]]:
        """Decoded physical lines, one block at a time: (lines, all decoded?, last block?)."""
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
            lines, clean = self._decode(block)
            yield lines, clean, eof
            if eof:
                return

    def _decode(self, block: bytes) -> tuple[list[_Line], bool]:
        """The block's lines; undecodable ones become `_Undecodable` (only then is it per line)."""
        if not block:
            return [], True
        raws = block.split(b"\n")
        if block.endswith(b"\n"):
            raws.pop()
        try:
            text = block.decode(self.codec)
        except UnicodeDecodeError:
            return [self._decode_line(r) for r in raws], False
        if "\x00" in text:
            text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL
        lines = text.replace("\r\n", "\n").split("\n")
        if text.endswith("\n"):
            lines.pop()
        return lines, True  # type: ignore[return-value]

    def _decode_line(self, raw: bytes) -> _Line:
        raw = raw.removesuffix(b"\r")
        try:
            return raw.decode(self.codec).replace("\x00", "")
        except UnicodeDecodeError as exc:
            self.undecodable += 1
            return _Undecodable(raw, exc)

    # -- records -------------------------------------------------------------------------------

    def _assemble(self) -> Iterator[_Records]:
        """Per block: records (first line number, text) and the lines that cannot be records."""
        pending: list[_Line] = []
        base = 2  # physical line number of pending[0]: the header was line 1
        for lines, clean, eof in self._blocks():
            if clean and not pending and lines:
                texts = pl.Series("text", lines, dtype=pl.String)
                if not (texts.str.count_matches('"', literal=True) % 2 == 1).any():
                    # Common case: every line is one record.
                    yield _Records(pl.int_range(base, base + len(lines), eager=True), texts, [])
                    base += len(lines)
                    continue
            buf = pending + lines if pending else lines
            consumed, records = self._assemble_slowly(buf, base, eof)
            pending = buf[consumed:]
            base += consumed
            yield records

    def _assemble_slowly(self, buf: list[_Line], base: int, eof: bool) -> tuple[int, _Records]:
        """Join quoted fields that span lines; reject lines that cannot be decoded or never close."""
        lines: list[int] = []
        texts: list[str] = []
        bad: list[tuple[int, _Line]] = []
        i, n = 0, len(buf)
        while i < n:
            line = buf[i]
            if isinstance(line, _Undecodable):
                bad.append((base + i, line))
                i += 1
                continue
            quotes = line.count('"')
            if not quotes & 1:
                lines.append(base + i)
                texts.append(line)
                i += 1
                continue
            # An odd number of quotes opens a field that may close on a later line.
            j = i + 1
            while j < n and quotes & 1 and j - i < MAX_RECORD_LINES:
                nxt = buf[j]
                if isinstance(nxt, _Undecodable):
                    break
                quotes += nxt.count('"')
                j += 1
            if quotes & 1 and j == n and not eof and j - i < MAX_RECORD_LINES:
                break  # the closing quote may be in the next block
            record = "\n".join(buf[i:j])  # type: ignore[arg-type]
            if quotes & 1 or not self._is_record(record):
                bad.append((base + i, line))  # only this line: the next ones are read normally
                i += 1
                continue
            lines.append(base + i)
            texts.append(record)
            i = j
        records = _Records(
            pl.Series(LINE, lines, dtype=pl.Int64), pl.Series("text", texts, dtype=pl.String), bad
        )
        return i, records

    def _read_header(self) -> tuple[list[str], str]:
        """The first line names the columns (and tells the delimiter)."""
        raw = self._file.readline()
        self.bytes_done += len(raw)
        line = self._decode_line(raw.removesuffix(b"\n"))
        if isinstance(line, _Undecodable):
            raise ImportFailed(
                f"{self.path}: the header line is not valid {self.codec}: {self._encoding_hint()}"
            )
        delimiter = _sniff(line)
        try:
            header = next(csv.reader([line], delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            raise ImportFailed(f"{self.path}: cannot read the header line: {exc}") from exc
        if not any(h.strip() for h in header):
            if not raw:
                raise ImportFailed(f"{self.path} is empty: expected a header line and rows")
            raise ImportFailed(f"{self.path}: the first line must be a header naming the columns")
        return [h.strip() for h in header], delimiter

    def _is_record(self, text: str) -> bool:
        """Whether lines joined across a quoted line break parse as exactly one full row."""
        try:
            rows = list(csv.reader([text], delimiter=self.delimiter, strict=True))
        except csv.Error:
            return False
        return len(rows) == 1 and len(rows[0]) == len(self.header)

    def batches(self) -> Iterator[Batch]:
        """Parsed rows in batches of about `batch_rows`; bad lines come back as rejects."""
        frames: list[pl.DataFrame] = []
        rejects: list[RawReject] = []
        rows = 0
        for records in self._records:
            frame = self._split(records, rejects)
            frames.append(frame)
            rejects.extend(self._reject_line(n, line) for n, line in records.bad)
            rows += frame.height
            if rows >= self.batch_rows:
                yield Batch(pl.concat(frames), rejects, self.bytes_done)
                frames, rejects, rows = [], [], 0
        yield Batch(pl.concat(frames) if frames else self._empty(), rejects, self.bytes_done)

    def _empty(self) -> pl.DataFrame:
        schema = {LINE: pl.Int64, **{f"c{i}": pl.String for i in range(len(self.header))}}
        return pl.DataFrame(schema=schema)

    def _split(self, records: _Records, rejects: list[RawReject]) -> pl.DataFrame:
        """Records → columns: lines without quotes are split in Polars, the others by `csv`."""
        ncols = len(self.header)
        df = pl.DataFrame([records.lines.alias(LINE), records.texts.alias("text")])
        quoted = pl.col("text").str.contains('"', literal=True)
        blank = pl.col("text").str.strip_chars() == ""
        fields = pl.col("text").str.count_matches(self.delimiter, literal=True) + 1
        plain = df.filter(~quoted & ~blank)
        counts = plain.select(fields).to_series()
        good = plain.filter(counts == ncols)
        for line, text in plain.filter(counts != ncols).iter_rows():
            rejects.append(self._wrong_count(line, text.split(self.delimiter)))
        names = {f"field_{i}": f"c{i}" for i in range(ncols)}
        frames = [
            good.select(
                pl.col(LINE), pl.col("text").str.split_exact(self.delimiter, ncols - 1).alias("f")
            ).unnest("f").rename(names)
        ]
        hard = df.filter(quoted)
        if not hard.is_empty():
            frames.append(self._parse(hard[LINE].to_list(), hard["text"].to_list(), rejects))
        out = pl.concat(frames) if len(frames) > 1 else frames[0]
        return out.sort(LINE) if len(frames) > 1 else out

    def _parse(self, lines: list[int], texts: list[str], rejects: list[RawReject]) -> pl.DataFrame:
        """csv-parse records (one per element); a record csv rejects is skipped, not fatal."""
        ncols = len(self.header)
        ok_lines: list[int] = []
        rows: list[list[str]] = []
        start = 0
        while start < len(texts):
            reader = csv.reader(itertools.islice(texts, start, None), delimiter=self.delimiter,
                                strict=True)
            k = 0  # rows produced by this reader
            try:
                for row in reader:
                    if reader.line_num != k + 1:
                        raise csv.Error("quote never closed")  # it swallowed the next line
                    k += 1
                    line = lines[start + k - 1]
                    if len(row) == ncols:
                        ok_lines.append(line)
                        rows.append(row)
                    elif row and any(row):
                        rejects.append(self._wrong_count(line, row))
                start = len(texts)
            except csv.Error as exc:
                rejects.append(self._broken_quoting(lines[start + k], texts[start + k], str(exc)))
                start += k + 1
        columns: Sequence[Sequence[str]] = list(zip(*rows, strict=True)) if rows else [[]] * ncols
        data = {LINE: pl.Series(ok_lines, dtype=pl.Int64)}
        data.update({f"c{i}": pl.Series(col, dtype=pl.String) for i, col in enumerate(columns)})
        return pl.DataFrame(data)

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
