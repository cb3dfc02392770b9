"""Client identity as a reader sees it: names and ids compared once trimmed, spaces
collapsed, case folded and Unicode-normalised, with invisible characters ignored.

"Acme Ltd", "ACME LTD", "Acme  Ltd", "Ａｃｍｅ Ltd" and "Acme\u200b Ltd" are one name to anyone
reading a page. Two clients whose ids or names read the same cannot be told apart there,
and a file naming one of them cannot be sent to either: ingest quarantines what it cannot
place (ingest.check_client_identity, build_client_lookup) instead of picking one.
"""
from __future__ import annotations

import unicodedata

import duckdb
from duckdb.sqltypes import VARCHAR

IDENTITY_MACRO = "cl_ident"


def identity_key(text: str | None) -> str | None:
    """The form under which two names or ids read the same; None for no visible text.

    NFKC folds compatibility forms (full-width letters, ligatures, non-breaking spaces);
    format characters (zero-width spaces and joiners, bidirectional controls, the byte
    order mark, soft hyphens) are dropped, as no reader sees them; whitespace runs become
    one space; casefold is lower case for every script (German ß reads as ss).
    """
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", text)
    visible = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")
    key = " ".join(visible.split()).casefold()
    return key or None


def install_identity(con: duckdb.DuckDBPyConnection) -> None:
    """cl_ident(x) on the connection: identity_key in SQL. It is called on distinct values
    only (the clients' ids and names, the client values the other files hold), never per row."""
    try:
        con.remove_function(IDENTITY_MACRO)
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass
    con.create_function(IDENTITY_MACRO, identity_key, [VARCHAR], VARCHAR,
                        side_effects=False)
