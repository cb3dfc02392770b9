"""What a text file is before DuckDB reads it: encoding, separator, header line, hazards.

One streaming pass over the bytes gives everything the fast DuckDB path must know: whether the text is valid UTF-8 (else
CP1251 or Windows-1252, told apart by where their non-ASCII letters stand: `_letter_evidence`),
whether blank lines sit between records (DuckDB skips them, which would shift
spreadsheet row numbers) and whether quotes are unbalanced (DuckDB would swallow
the rest of the file into one field without a word).
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import blake3
import numpy as np

CHUNK = 8 << 20
NEWLINE, LINE_BREAKS = ord("\n"), b"\r\n"
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


def hash_file(path: Path) -> tuple[str, int, int]:
    """BLAKE3 digest, size and line count of a file, for the manifest and the fast CSV path.

    BLAKE3 rather than SHA-256: on a CPU without SHA instructions SHA-256 runs under
    200 MB/s, so the 6.3 GB of a 10,000-client firm's exports cost ingest some 36 CPU-seconds
    on cores DuckDB needs; BLAKE3 is as strong a checksum for audit at over 3 GB/s, and
    `b3sum` (Debian's package of that name) checks it. The line count ignores the line
    breaks at the very end, so it is the number of lines a reader sees (the last one with
    or without its newline). Both release the GIL on large buffers, so ingest runs this in
    a thread while DuckDB reads the same file. Newlines are counted by numpy, not
    bytes.count, which took 3.9 CPU-seconds of the 6.2 on the 5.4 GB time export and
    holds the GIL.
    """
    digest = blake3.blake3()
    size = newlines = trailing = 0
    content = False
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            count = int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == NEWLINE))
            newlines += count
            core = len(chunk)
            while core and chunk[core - 1] in LINE_BREAKS:
                core -= 1
            trailing = trailing + count if not core else chunk.count(b"\n", core)
            content = content or core > 0
    lines = newlines - trailing + 1 if content else 0
    return digest.hexdigest(), size, lines


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
