"""Parquet files joined and trimmed without decoding them: row groups copied as bytes.

    splice([(stage_a, 18), (stage_b, 18)], dest)

writes `dest` with the row groups of each source in turn, keeping each source's first n
top-level columns (which must be flat and have one schema across the sources). The pages
are copied byte for byte and only the footer is rewritten: offsets shifted to where each
source's bytes now sit, the dropped columns' chunks left out. The bytes of dropped chunks
stay in the file, unreferenced, as Parquet allows.

Why: ingest stages every time entry as Parquet with its checks' columns after the
contract's. When the final select would change nothing in a file's rows, encoding them
again costs more than the rest of ingest's validation; this publishes the staged pages.

The footer is Thrift's compact protocol (parquet.thrift's FileMetaData); this module reads
it into a generic tree of (field id, type, value), which it writes back byte for byte, so
fields it does not know survive. Page indexes, whose pages name absolute offsets, are left
out of the result (they are optional; readers fall back to the pages' own headers).
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["SpliceError", "splice", "read_footer", "write_footer", "decode_struct", "encode_struct"]

MAGIC = b"PAR1"

# Compact protocol types.
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY = 1, 2, 3, 4, 5, 6, 7, 8
T_LIST, T_SET, T_MAP, T_STRUCT = 9, 10, 11, 12

# parquet.thrift field ids this module reads or changes.
FMD_SCHEMA, FMD_NUM_ROWS, FMD_ROW_GROUPS, FMD_KEY_VALUES, FMD_COLUMN_ORDERS = 2, 3, 4, 5, 7
SE_NUM_CHILDREN = 5
RG_COLUMNS, RG_TOTAL_BYTE_SIZE, RG_NUM_ROWS, RG_SORTING, RG_FILE_OFFSET = 1, 2, 3, 4, 5
RG_TOTAL_COMPRESSED, RG_ORDINAL = 6, 7
CC_FILE_PATH, CC_FILE_OFFSET, CC_META = 1, 2, 3
CC_PAGE_INDEX = (4, 5, 6, 7)  # offset index offset/length, column index offset/length
CMD_UNCOMPRESSED, CMD_COMPRESSED = 5, 6
CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICTIONARY_PAGE, CMD_BLOOM_FILTER = 9, 10, 11, 14


class SpliceError(RuntimeError):
    """A source this module cannot splice (the caller writes the file the slow way)."""


# --- Thrift compact protocol -------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        if len(out) != n:
            raise SpliceError("footer ends inside a value")
        self.pos += n
        return out


def _read_value(r: _Reader, ttype: int):
    if ttype in (T_TRUE, T_FALSE):
        return ttype == T_TRUE
    if ttype == T_BYTE:
        return r.byte()
    if ttype in (T_I16, T_I32, T_I64):
        return r.zigzag()
    if ttype == T_DOUBLE:
        return r.take(8)
    if ttype == T_BINARY:
        return r.take(r.varint())
    if ttype in (T_LIST, T_SET):
        head = r.byte()
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size = r.varint()
        # Booleans inside a list are one byte each, not folded into a type nibble.
        return (etype, [r.byte() if etype in (T_TRUE, T_FALSE) else _read_value(r, etype)
                        for _ in range(size)])
    if ttype == T_MAP:
        size = r.varint()
        if not size:
            return (0, 0, [])
        kinds = r.byte()
        ktype, vtype = kinds >> 4, kinds & 0x0F
        return (ktype, vtype, [(_read_value(r, ktype), _read_value(r, vtype)) for _ in range(size)])
    if ttype == T_STRUCT:
        return _read_struct(r)
    raise SpliceError(f"unknown Thrift type {ttype}")


def _read_struct(r: _Reader) -> list[list]:
    fields, last = [], 0
    while True:
        head = r.byte()
        if head == 0:
            return fields
        delta, ttype = head >> 4, head & 0x0F
        fid = last + delta if delta else r.zigzag()
        fields.append([fid, ttype, _read_value(r, ttype)])
        last = fid


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _write_value(out: bytearray, ttype: int, value) -> None:
    if ttype in (T_TRUE, T_FALSE):
        return
    if ttype == T_BYTE:
        out.append(value)
    elif ttype in (T_I16, T_I32, T_I64):
        out += _zigzag(value)
    elif ttype == T_DOUBLE:
        out += value
    elif ttype == T_BINARY:
        out += _varint(len(value)) + value
    elif ttype in (T_LIST, T_SET):
        etype, items = value
        if len(items) < 15:
            out.append(len(items) << 4 | etype)
        else:
            out.append(0xF0 | etype)
            out += _varint(len(items))
        for item in items:
            if etype in (T_TRUE, T_FALSE):
                out.append(item)
            else:
                _write_value(out, etype, item)
    elif ttype == T_MAP:
        ktype, vtype, items = value
        out += _varint(len(items))
        if items:
            out.append(ktype << 4 | vtype)
            for k, v in items:
                _write_value(out, ktype, k)
                _write_value(out, vtype, v)
    elif ttype == T_STRUCT:
        _write_struct(out, value)
    else:
        raise SpliceError(f"unknown Thrift type {ttype}")


def _write_struct(out: bytearray, fields: list[list]) -> None:
    last = 0
    for fid, ttype, value in fields:
        if ttype in (T_TRUE, T_FALSE):
            ttype = T_TRUE if value else T_FALSE
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | ttype)
        else:
            out.append(ttype)
            out += _zigzag(fid)
        _write_value(out, ttype, value)
        last = fid
    out.append(0)


def decode_struct(data: bytes) -> list[list]:
    """A compact-protocol struct as a list of [field id, type, value]."""
    return _read_struct(_Reader(data))


def encode_struct(fields: list[list]) -> bytes:
    out = bytearray()
    _write_struct(out, fields)
    return bytes(out)


def _get(fields: list[list], fid: int):
    for f in fields:
        if f[0] == fid:
            return f[2]
    return None


def _set(fields: list[list], fid: int, ttype: int, value) -> None:
    for f in fields:
        if f[0] == fid:
            f[2] = value
            return
    fields.append([fid, ttype, value])
    fields.sort(key=lambda f: f[0])


def _drop(fields: list[list], *fids: int) -> list[list]:
    return [f for f in fields if f[0] not in fids]


# --- Parquet -------------------------------------------------------------------------
def read_footer(path: Path) -> tuple[list[list], int]:
    """(FileMetaData as a field tree, where the footer starts) of a Parquet file."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        if size < 12 or fh.read(4) != MAGIC:
            raise SpliceError(f"{path.name}: not a Parquet file")
        fh.seek(size - 8)
        tail = fh.read(8)
        if tail[4:] != MAGIC:
            raise SpliceError(f"{path.name}: not a Parquet file (encrypted or cut short)")
        length = struct.unpack("<I", tail[:4])[0]
        start = size - 8 - length
        if start < 4:
            raise SpliceError(f"{path.name}: footer longer than the file")
        fh.seek(start)
        return decode_struct(fh.read(length)), start


def write_footer(fields: list[list]) -> bytes:
    body = encode_struct(fields)
    return body + struct.pack("<I", len(body)) + MAGIC


def _kept_schema(meta: list[list], keep: int, name: str) -> list[list]:
    schema = _get(meta, FMD_SCHEMA)[1]
    root, leaves = schema[0], schema[1:1 + keep]
    if len(leaves) < keep or any(_get(leaf, SE_NUM_CHILDREN) for leaf in leaves):
        raise SpliceError(f"{name}: its first {keep} columns are not all flat")
    root = [list(f) for f in root]
    _set(root, SE_NUM_CHILDREN, T_I32, keep)
    return [root] + leaves


def _shift(fields: list[list], fid: int, delta: int) -> None:
    """Move an absolute file offset by delta; 0 or absent is no offset (some writers put 0
    for none, and no page starts where the file's magic number is)."""
    if _get(fields, fid):
        _set(fields, fid, T_I64, _get(fields, fid) + delta)


def _shifted_row_group(rg: list[list], keep: int, delta: int, ordinal: int) -> list[list]:
    chunks = []
    for chunk in _get(rg, RG_COLUMNS)[1][:keep]:
        if _get(chunk, CC_FILE_PATH):
            raise SpliceError("a column chunk lives in another file")
        chunk = [list(f) for f in _drop(chunk, *CC_PAGE_INDEX)]
        meta = [list(f) for f in _get(chunk, CC_META)]
        _shift(chunk, CC_FILE_OFFSET, delta)
        for fid in (CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICTIONARY_PAGE, CMD_BLOOM_FILTER):
            _shift(meta, fid, delta)
        _set(chunk, CC_META, T_STRUCT, meta)
        chunks.append(chunk)
    metas = [_get(c, CC_META) for c in chunks]
    first = min(_get(m, CMD_DICTIONARY_PAGE) or _get(m, CMD_DATA_PAGE) for m in metas)
    out = [list(f) for f in _drop(rg, RG_SORTING)]
    _set(out, RG_COLUMNS, T_LIST, (T_STRUCT, chunks))
    _set(out, RG_TOTAL_BYTE_SIZE, T_I64, sum(_get(m, CMD_UNCOMPRESSED) for m in metas))
    _set(out, RG_FILE_OFFSET, T_I64, first)
    _set(out, RG_TOTAL_COMPRESSED, T_I64, sum(_get(m, CMD_COMPRESSED) for m in metas))
    _set(out, RG_ORDINAL, T_I16, ordinal)
    return out


def splice(sources: list[tuple[Path, int]], dest: Path) -> int:
    """Write dest from (Parquet file, columns kept) sources, in order; the rows written.

    Raises SpliceError, before writing anything, when a source cannot be spliced: not
    Parquet, a kept column nested, or schemas of the kept columns that differ.
    """
    if not sources:
        raise SpliceError("nothing to splice")
    plans, schema, position = [], None, len(MAGIC)
    for path, keep in sources:
        meta, start = read_footer(Path(path))
        kept = _kept_schema(meta, keep, Path(path).name)
        if schema is None:
            schema, first_meta = kept, meta
        elif kept[1:] != schema[1:]:
            raise SpliceError(f"{Path(path).name}: its columns differ from {Path(sources[0][0]).name}'s")
        plans.append((Path(path), meta, start, position - len(MAGIC)))
        position += start - len(MAGIC)
    row_groups, rows, width = [], 0, len(schema) - 1
    for _path, meta, _start, delta in plans:
        for rg in _get(meta, FMD_ROW_GROUPS)[1]:
            row_groups.append(_shifted_row_group(rg, width, delta, len(row_groups)))
            rows += _get(rg, RG_NUM_ROWS)
    # Key-value metadata may describe the dropped columns (pyarrow's ARROW:schema does).
    meta = [list(f) for f in _drop(first_meta, FMD_KEY_VALUES)]
    _set(meta, FMD_SCHEMA, T_LIST, (T_STRUCT, schema))
    _set(meta, FMD_NUM_ROWS, T_I64, rows)
    _set(meta, FMD_ROW_GROUPS, T_LIST, (T_STRUCT, row_groups))
    orders = _get(meta, FMD_COLUMN_ORDERS)
    if orders is not None:
        _set(meta, FMD_COLUMN_ORDERS, T_LIST, (orders[0], orders[1][:width]))
    with open(dest, "wb") as out:
        out.write(MAGIC)
        out.flush()
        for path, _meta, start, delta in plans:
            with open(path, "rb") as src:
                _copy_range(src.fileno(), out.fileno(), len(MAGIC), len(MAGIC) + delta,
                            start - len(MAGIC))
        out.seek(position)
        out.write(write_footer(meta))
    return rows


def _copy_range(src: int, dst: int, src_at: int, dst_at: int, length: int) -> None:
    """Copy bytes between files at given offsets, in the kernel where it can."""
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(src, dst, length - done, src_at + done, dst_at + done)
            if not n:
                break
            done += n
    except OSError:
        pass  # a file system without it: copy through memory
    while done < length:
        block = os.pread(src, min(length - done, 1 << 24), src_at + done)
        if not block:
            raise SpliceError("a source ended before its footer")
        os.pwrite(dst, block, dst_at + done)
        done += len(block)
