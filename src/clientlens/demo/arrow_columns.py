"""Rendered numpy arrays and Python lists as typed Arrow columns, ready for the CSV writer."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATE_COLUMNS = {"acquired_date", "exit_date", "start_date", "end_date", "issue_date", "due_date",
                "paid_date", "promised_date", "delivered_date", "launched_date", "survey_date",
                "feedback_date", "date"}


def bool_codes(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Bools as int8 with -1 where the field does not apply (written as an empty cell)."""
    return np.where(present, values.astype(np.int8), np.int8(-1)).astype(np.int8)


def date_array(days) -> pa.Array:
    """Epoch days (None or -1 = empty) as an Arrow date column."""
    if isinstance(days, list):
        days = np.array([-1 if d is None else d for d in days], dtype=np.int64)
    days = np.asarray(days, dtype=np.int64)
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=days == -1).cast(pa.date32())


def bool_array(codes: np.ndarray) -> pa.Array:
    codes = np.asarray(codes, dtype=np.int8)
    return pa.array(codes == 1, type=pa.bool_(), mask=codes < 0)


def float_array(values) -> pa.Array:
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def decoded(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
    """dictionary[codes] as plain text (for building ids from it)."""
    return dictionary.take(pa.array(np.asarray(codes, dtype=np.int64)))


def coded(dictionary: pa.Array, codes: np.ndarray) -> pa.DictionaryArray:
    """dictionary[codes], dictionary-encoded: four bytes a row however long the text, so a
    chunk of millions of time entries stays small in memory and cheap to pass between
    processes; the CSV writer spells the text out."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)), dictionary)


def rows_to_arrays(rows: dict[str, list], columns: tuple[str, ...]) -> list[pa.Array]:
    """Small tables: Python lists per column, typed by column name. A contract column the
    demo does not write (an export's own, such as invoices.paid_in_full) is left empty."""
    out = []
    length = max((len(rows[c]) for c in columns if c in rows), default=0)
    for c in columns:
        v = rows[c] if c in rows and len(rows[c]) else [None] * length
        if c in DATE_COLUMNS:
            out.append(date_array(v))
        elif c in ("value", "amount", "score", "rate"):
            out.append(pa.array(v, type=pa.float64()))
        elif c == "escalation":
            out.append(pa.array(v, type=pa.bool_()))
        else:
            out.append(pa.array(v, type=pa.string()))
    return out


def arrow_table(arrays: list[pa.Array], columns: tuple[str, ...]) -> pa.Table:
    return pa.Table.from_arrays(arrays, names=list(columns))


def concat_rows(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def row_numbers(lengths: list[int]) -> pa.Array:
    """1..n within each client, as text: the per-client part of row ids."""
    seq = np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths else np.zeros(0, np.int64)
    return pc.cast(pa.array(seq), pa.string())
