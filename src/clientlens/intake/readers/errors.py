"""The one error ingest raises: a problem the user must fix in a file before a run can go on."""
from __future__ import annotations

import os
from pathlib import Path


class IngestError(Exception):
    """A stop: missing column, unreadable/empty/unrecognised file, missing FX rate.

    str() is always one line naming the file (and the column where there is one),
    so the Makefile output reads like an instruction, not a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


def display_path(path: Path) -> str:
    """The path as the user typed it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel
