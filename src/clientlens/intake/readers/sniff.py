"""What a text file is before DuckDB reads it: encoding, separator, header line, hazards.

One streaming pass over the bytes gives everything the fast DuckDB path must know: whether the text is valid UTF-8 (else
CP1251 or Windows-1252, told apart by where their non-ASCII letters stand: `_letter_evidence`),
whether blank lines sit between records (DuckDB skips them, which would shift
spreadsheet row numbers) and whether quotes are unbalanced (DuckDB would swallow
the rest of the file into one field without a word).

The pass that hashes every input for the manifest (scan_bytes) also lists a text file's lines
holding a control character, which DuckDB's typed read would take in silently; a file whose
head is no text at all (binary_kind) stops the run. A file staged through the text path has
its records counted from its bytes (count_records), for ingest to check its rows read against.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import blake3
import numpy as np

from clientlens.intake.readers.source import TextLayout

CHUNK = 8 << 20
NEWLINE, LINE_BREAKS = ord("\n"), b"\r\n"
CR, TAB, SPACE, QUOTE, DEL, C1_LEAD = ord("\r"), ord("\t"), ord(" "), ord('"'), 0x7F, 0xC2
MAX_CONTROL_LINES = 1 << 16  # lines with control characters listed; a file with more goes the text path
MANY_MAYBE_BLANK = 256  # records of a read that may be blank, past which numpy checks them
# Files other formats are, by their first bytes: named in the one line that stops the run.
BINARY_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (an XLSX workbook is one: name it .xlsx)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls or .doc)"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)
BINARY_MIN_CONTROL_BYTES = 8
BINARY_CONTROL_SHARE = 32  # control bytes in more than 1 of this many bytes: binary, not text
DELIMITERS = (",", ";", "\t", "|")
HEADER_SEARCH_LINES = 30
ENCODING_SAMPLE_LETTERS = 1 << 16  # non-ASCII letters that settle CP1251 against Windows-1252


@dataclass(frozen=True)
class FileScan:
    size: int
    encoding: str  # what the summary shows: utf-8, utf-8-sig, cp1251, cp1252, utf-16, utf-8 (repaired)
    inner_blank_lines: bool
    odd_quotes: bool

    @property
    def codec(self) -> str:
        """The Python codec that decodes the file (errors are replaced, never fatal)."""
        return {"utf-8 (repaired)": "utf-8"}.get(self.encoding, self.encoding)

    @property
    def duckdb_reads_directly(self) -> bool:
        return self.encoding in ("utf-8", "utf-8-sig")


def scan_file(path: Path) -> FileScan:
    """Size and text hazards of a file, in one pass at disk speed (hashing runs elsewhere)."""
    size = 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    bom = False
    quotes = 0
    inner_blank = False
    tail = b""
    first = True
    multibyte = False
    utf16 = False
    western = cyrillic = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            if first:
                bom = chunk.startswith(codecs.BOM_UTF8)
                utf16 = chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
            if utf8_ok:
                try:
                    multibyte = len(decoder.decode(chunk)) < len(chunk) or multibyte
                except UnicodeDecodeError as exc:
                    utf8_ok = False
                    # Valid multi-byte text before the first bad byte: a UTF-8 file with a
                    # corrupt byte, not CP1251 (whose Cyrillic is almost never valid UTF-8).
                    multibyte = multibyte or _has_multibyte(chunk[:exc.start])
            if not utf8_ok and western + cyrillic < ENCODING_SAMPLE_LETTERS:
                more_western, more_cyrillic = _letter_evidence(chunk)
                western, cyrillic = western + more_western, cyrillic + more_cyrillic
            quotes += chunk.count(b'"')
            if not inner_blank:
                data = tail + chunk
                core = data.rstrip(b"\r\n")
                leading_blank = first and core.startswith((b"\n", b"\r\n"))
                if core and (b"\n\n" in core or b"\n\r\n" in core or leading_blank):
                    inner_blank = True
                tail = data[len(core):][-3:] if core else data[-3:]
            first = False
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    if utf16:
        encoding = "utf-16"
    elif bom:
        encoding = "utf-8-sig"
    elif utf8_ok:
        encoding = "utf-8"
    else:
        encoding = "utf-8 (repaired)" if multibyte else "cp1252" if western > cyrillic else "cp1251"
    return FileScan(size, encoding, inner_blank, quotes % 2 == 1)


def _letter_evidence(chunk: bytes) -> tuple[int, int]:
    """Non-ASCII letters of a single-byte text (0xC0-0xFF, 0xA8, 0xB8) beside an ASCII letter,
    and those beside only other such letters: (Western, Cyrillic) evidence.

    Both code pages put their letters at 0xC0-0xFF, so the bytes alone cannot tell them
    apart, but their neighbours can: a Western accented letter sits inside a Latin word
    (Café, Müller, ação), a Cyrillic one inside a word of Cyrillic letters (Ромашка). This
    holds on a file of one accented name and on an English file with a few Russian cells,
    where a statistical detector has too few bytes to go on.
    """
    data = np.frombuffer(chunk, np.uint8)
    letter = (data >= 0xC0) | (data == 0xA8) | (data == 0xB8)
    folded = data | 0x20
    latin = (folded >= ord("a")) & (folded <= ord("z"))

    def beside(mask: np.ndarray) -> np.ndarray:
        out = np.zeros_like(mask)
        out[1:] |= mask[:-1]
        out[:-1] |= mask[1:]
        return out

    by_latin = letter & beside(latin)
    return int(by_latin.sum()), int((letter & ~by_latin & beside(letter)).sum())


def _has_multibyte(data: bytes) -> bool:
    try:
        return len(data.decode("utf-8", errors="ignore")) < len(data)
    except UnicodeDecodeError:
        return False


class FileBytes(NamedTuple):
    """What one pass over a file's bytes gives ingest (scan_bytes)."""
    digest: str  # BLAKE3
    size: int
    lines: int  # lines a reader sees (hash_file)
    # Lines (1-based) of a text file holding a control character (source.CONTROL_CHARACTERS,
    # as UTF-8 bytes), at most MAX_CONTROL_LINES of them; `more_control_lines` when there were more.
    control_lines: tuple[int, ...] = ()
    more_control_lines: bool = False


def hash_file(path: Path) -> tuple[str, int, int]:
    """BLAKE3 digest, size and line count of a file (scan_bytes)."""
    facts = scan_bytes(path)
    return facts.digest, facts.size, facts.lines


def scan_bytes(path: Path, text: bool = False) -> FileBytes:
    """BLAKE3 digest, size and line count of a file, for the manifest and the fast CSV path;
    with `text`, also the lines holding a control character.

    BLAKE3 rather than SHA-256: on a CPU without SHA instructions SHA-256 runs under
    200 MB/s, so the 6.3 GB of a 10,000-client firm's exports cost ingest some 36 CPU-seconds
    on cores DuckDB needs; BLAKE3 is as strong a checksum for audit at over 3 GB/s, and
    `b3sum` (Debian's package of that name) checks it. The line count ignores the line
    breaks at the very end, so it is the number of lines a reader sees (the last one with
    or without its newline). Both release the GIL on large buffers, so ingest runs this in
    a thread while DuckDB reads the same file. Newlines are counted by numpy, not
    bytes.count, which took 3.9 CPU-seconds of the 6.2 on the 5.4 GB time export and
    holds the GIL.

    Control characters are looked for the cheap way first: a read with no byte below 0x20
    but its line breaks, tabs and carriage returns, and none at or above 0x7F, holds none.
    DuckDB's typed read cannot see them (a regular expression on every text cell would
    cost it more than this whole pass), so their lines go through the text path instead.
    """
    digest = blake3.blake3()
    size = newlines = trailing = 0
    content = False
    controls: list[int] = []
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            data = np.frombuffer(chunk, np.uint8)
            count = int(np.count_nonzero(data == NEWLINE))
            if text and len(controls) <= MAX_CONTROL_LINES:
                controls += _control_lines(data, count, newlines)
            newlines += count
            core = len(chunk)
            while core and chunk[core - 1] in LINE_BREAKS:
                core -= 1
            trailing = trailing + count if not core else chunk.count(b"\n", core)
            content = content or core > 0
    lines = newlines - trailing + 1 if content else 0
    return FileBytes(digest.hexdigest(), size, lines, tuple(controls[:MAX_CONTROL_LINES]),
                     len(controls) > MAX_CONTROL_LINES)


def _control_lines(data: np.ndarray, newlines: int, lines_before: int) -> list[int]:
    """Lines (1-based, counting from the file's start) of this read holding a control character."""
    low = int(np.count_nonzero(data < 0x20))
    if low > newlines:
        low -= int(np.count_nonzero(data == CR))
        if low > newlines:
            low -= int(np.count_nonzero(data == TAB))
    high = len(data) and int(data.max()) >= DEL
    if low <= newlines and not high:
        return []
    found = []
    if low > newlines:
        found.append(np.flatnonzero((data < 0x20) & (data != TAB) & (data != NEWLINE) & (data != CR)))
    if high:
        found.append(np.flatnonzero(data == DEL))
        # U+0080-U+009F in UTF-8: 0xC2 and a byte 0x80-0x9F. One at the end of the read is
        # taken as a control: at worst its line is read again by the text path for nothing.
        lead = np.flatnonzero(data == C1_LEAD)
        follow = data[np.minimum(lead + 1, len(data) - 1)]
        found.append(lead[(lead == len(data) - 1) | ((follow >= 0x80) & (follow <= 0x9F))])
    where = np.concatenate(found)
    if not len(where):
        return []
    breaks = np.flatnonzero(data == NEWLINE)
    return sorted({lines_before + int(k) + 1 for k in np.searchsorted(breaks, where)})


def binary_kind(raw: bytes) -> str | None:
    """What a file whose head is `raw` is, when it is no text: 'a PDF document', or 'binary
    data' when it holds many control bytes; None for text (UTF-16 with its byte-order mark too).

    A text export may hold a stray NUL or two (quarantined with their row and column); a
    binary file holds control bytes throughout.
    """
    for magic, kind in BINARY_SIGNATURES:
        if raw.startswith(magic):
            return kind
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    data = np.frombuffer(raw, np.uint8)
    controls = int(np.count_nonzero((data < 0x20) & (data != TAB) & (data != NEWLINE) & (data != CR)))
    if controls < BINARY_MIN_CONTROL_BYTES or controls * BINARY_CONTROL_SHARE < len(data):
        return None
    nuls = np.flatnonzero(data == 0)
    if len(nuls) * 3 > len(data) and len(np.unique(nuls % 2)) == 1:
        return "UTF-16 text without its byte-order mark"
    return "binary data"


def count_records(path: Path, layout: TextLayout) -> int:
    """Records below the header of a delimited text file, blank ones left out, counted from
    its bytes: the check on what its staging read (ingest).

    A record is a line, or several where a quoted field holds line breaks: numpy finds the
    line breaks outside quotes, chunk by chunk, from where the quotes fall (RFC 4180). A
    file that quotes otherwise (a quote inside an unquoted field: 15" screen) or ends lines
    with a bare carriage return is counted by Python's csv module instead, as is UTF-16. A
    blank record has nothing but spaces in its fields, as ingest's cl_text reads a cell.
    """
    total = None
    if layout.codec != "utf-16":
        counter = _RecordCounter(layout.delimiter, path)
        total = counter.count()
    if total is None:
        total = _csv_records(path, layout)
    head = re.split(r"\r?\n", read_head(path, layout.codec))[:layout.header_index + 1]
    above = sum(1 for line in head if not blank_record(line, layout.delimiter))
    return total - above


def blank_record(text: str | bytes, delimiter: str) -> bool:
    """Whether a record (its text, or bytes in an ASCII-compatible encoding) has nothing but
    spaces in its fields. Spaces before a quote are skipped, as DuckDB skips them: ` " "` is
    a quoted space."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True):
        return not any(field.strip(" ") for field in record)
    return True


def _csv_records(path: Path, layout: TextLayout) -> int:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # Latin-1 maps every byte to one character, so an ASCII-compatible text keeps its quotes,
    # separators and line breaks whatever its real encoding.
    codec = "utf-16" if layout.codec == "utf-16" else "latin-1"
    with open(path, encoding=codec, errors="replace", newline="") as fh:
        if codec == "latin-1" and fh.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8.decode(codec):
            fh.seek(0)
        return sum(1 for record in csv.reader(fh, delimiter=layout.delimiter, skipinitialspace=True)
                   if any(field.strip(" ") for field in record))


class _RecordCounter:
    """Non-blank records of an RFC 4180 text in an ASCII-compatible encoding, fed read by read.

    A quote opens a quoted field after a separator, a line break or the file's start, and
    closes it before a separator, a line break or another quote (two quotes are one quote
    inside the field); one anywhere else makes the count give up (None), and csv counts.
    """

    def __init__(self, delimiter: str, path: Path) -> None:
        self.path = path
        self.sep = ord(delimiter)
        self.before_quote = np.array([self.sep, NEWLINE, CR, QUOTE], np.int16)  # and the start: -1
        self.after_quote = np.array([self.sep, NEWLINE, CR, QUOTE], np.int16)
        self.empty = bytes([self.sep, SPACE, QUOTE, CR])  # all a blank record may hold
        self.records = 0
        self.inside = False  # within a quoted field where the last read ended
        self.last = -1  # the last byte of the last read; -1 before the first
        self.closed_at_end = False  # the last read ended on a closing quote
        self.cr_at_end = False  # the last read ended on a carriage return outside quotes
        self.started = False  # the record under way has bytes
        self.maybe_blank: bytes | None = None  # its bytes while they could make a blank record

    def count(self) -> int | None:
        with open(self.path, "rb") as fh:
            if fh.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:  # no part of the first record
                fh.seek(0)
            while chunk := fh.read(CHUNK):
                if not self.feed(chunk):
                    return None
        if self.inside:
            return None  # a quote never closed: csv reads what it can of it
        self._close()
        return self.records

    def feed(self, chunk: bytes) -> bool:
        data = np.frombuffer(chunk, np.uint8)
        n = len(data)
        if self.closed_at_end and data[0] not in self.after_quote:
            return False
        if self.cr_at_end and data[0] != NEWLINE:
            return False
        breaks = np.flatnonzero(data == NEWLINE)
        quotes = np.flatnonzero(data == QUOTE)
        parity = int(self.inside)
        ends = breaks
        self.closed_at_end = False
        if len(quotes):
            opening = ((np.arange(len(quotes)) + parity) & 1) == 0
            before = data[np.maximum(quotes - 1, 0)].astype(np.int16)
            before[quotes == 0] = self.last
            after = data[np.minimum(quotes + 1, n - 1)].astype(np.int16)
            at_end = quotes == n - 1
            if (np.any(opening & ~np.isin(before, self.before_quote) & (before != -1))
                    or np.any(~opening & ~at_end & ~np.isin(after, self.after_quote))):
                return False
            self.closed_at_end = bool(at_end[-1] and not opening[-1])
            ends = breaks[((np.searchsorted(quotes, breaks) + parity) & 1) == 0]
            self.inside = bool((parity + len(quotes)) & 1)
        elif self.inside:
            ends = breaks[:0]
        if not self._bare_returns_inside(data, breaks, quotes, parity):
            return False
        self._records(chunk, data, ends)
        self.last = int(data[-1])
        return True

    def _bare_returns_inside(self, data: np.ndarray, breaks: np.ndarray, quotes: np.ndarray,
                             parity: int) -> bool:
        """False when a carriage return outside quotes ends no line feed's line (it ends a
        record for csv and DuckDB alike, which the count by line feeds would miss)."""
        n = len(data)
        self.cr_at_end = False
        returns = int(np.count_nonzero(data == CR))
        if not returns:
            return True
        before_break = breaks[breaks > 0] - 1
        if returns == int(np.count_nonzero(data[before_break] == CR)):
            return True
        bare = np.flatnonzero(data == CR)
        bare = bare[(bare == n - 1) | (data[np.minimum(bare + 1, n - 1)] != NEWLINE)]
        outside = ((np.searchsorted(quotes, bare) + parity) & 1) == 0
        if np.any(outside & (bare < n - 1)):
            return False
        self.cr_at_end = bool(len(bare) and bare[-1] == n - 1 and outside[-1])
        return True

    def _records(self, chunk: bytes, data: np.ndarray, ends: np.ndarray) -> None:
        """Count the records this read ends (at `ends`, line feeds outside quotes)."""
        n = len(data)
        if not len(ends):
            self._extend(chunk, data, 0, n)
            return
        self._extend(chunk, data, 0, int(ends[0]))
        self._close()
        starts, stops = ends[:-1] + 1, ends[1:]
        written = starts < stops
        starts, stops = starts[written], stops[written]
        first = data[starts]
        maybe = (first == self.sep) | (first == SPACE) | (first == QUOTE) | (first == CR)
        self.records += len(starts) - int(np.count_nonzero(maybe))
        starts, stops = starts[maybe], stops[maybe]
        if len(starts) > MANY_MAYBE_BLANK:
            filled = ~((data == self.sep) | (data == SPACE) | (data == QUOTE) | (data == CR))
            bounds = np.empty(2 * len(starts), np.int64)
            bounds[0::2], bounds[1::2] = starts, stops
            sums = np.add.reduceat(filled.view(np.uint8), bounds, dtype=np.int64)[0::2]
            self.records += int(np.count_nonzero(sums))
            starts, stops = starts[sums == 0], stops[sums == 0]
        delimiter = chr(self.sep)
        for start, stop in zip(starts.tolist(), stops.tolist()):
            record = chunk[start:stop]
            if record.translate(None, self.empty) or not blank_record(record, delimiter):
                self.records += 1
        self._extend(chunk, data, int(ends[-1]) + 1, n)

    def _extend(self, chunk: bytes, data: np.ndarray, start: int, stop: int) -> None:
        """The record under way goes on over chunk[start:stop]."""
        if start >= stop:
            return
        if not self.started:
            self.started = True
            self.maybe_blank = b"" if int(data[start]) in self.empty else None
        if self.maybe_blank is not None:
            more = chunk[start:stop]
            self.maybe_blank = None if more.translate(None, self.empty) else self.maybe_blank + more

    def _close(self) -> None:
        """The record under way ends."""
        if self.started and (self.maybe_blank is None
                             or not blank_record(self.maybe_blank, chr(self.sep))):
            self.records += 1
        self.started, self.maybe_blank = False, None


def head_encoding(path: Path, limit: int = 1 << 16) -> str | None:
    """utf-8 or utf-8-sig when the head of the file is valid UTF-8, else None.

    The fast path trusts this and lets DuckDB check the rest of the file: a bad byte
    further on stops that read, and the file goes through scan_file after all.
    """
    with open(path, "rb") as fh:
        raw = fh.read(limit)
    if not raw or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return None
    return "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"


def head_bytes(path: Path, limit: int = 1 << 16) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(limit)


def read_head(path: Path, codec: str, limit: int = 1 << 16) -> str:
    """The first `limit` bytes of the file as text (enough for the header lines)."""
    with open(path, "rb") as fh:
        raw = fh.read(limit)
    return raw.decode(codec, errors="replace").lstrip("\ufeff")


def split_line(line: str, delimiter: str) -> list[str]:
    try:
        rows = list(csv.reader(io.StringIO(line), delimiter=delimiter))
    except csv.Error:  # binary junk or a stray carriage return: split plainly
        return line.split(delimiter)
    return rows[0] if rows else []


@dataclass(frozen=True)
class HeaderLine:
    index: int  # 0-based physical line of the header
    delimiter: str
    fields: list[str]


def find_header(head: str) -> HeaderLine | None:
    """The header: the first line with two or more non-empty fields under its best separator.

    Title lines above a register ('Реестр счетов за 2025') are skipped this way. A
    file whose lines all have one field is a one-column file: its first line is the header.
    """
    lines = re.split(r"\r?\n", head)[:HEADER_SEARCH_LINES]
    first_nonempty: HeaderLine | None = None
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        delimiter = max(DELIMITERS, key=lambda d: (len(split_line(line, d)), -DELIMITERS.index(d)))
        fields = split_line(line, delimiter)
        if first_nonempty is None:
            first_nonempty = HeaderLine(index, delimiter, fields)
        if sum(1 for f in fields if f.strip()) >= 2:
            return HeaderLine(index, delimiter, fields)
    return first_nonempty
