"""Reading what earlier stages wrote to data/processed/ (never data/raw/)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from clientlens.panel import PANEL_FILE, PANEL_META_FILE


def load_table(processed_dir: Path | str, name: str) -> pd.DataFrame | None:
    """A processed table, or None when the firm did not supply it ("not measured")."""
    path = Path(processed_dir) / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else None


def load_panel(processed_dir: Path | str) -> tuple[pd.DataFrame, dict[str, Any]]:
    processed_dir = Path(processed_dir)
    panel = pd.read_parquet(processed_dir / PANEL_FILE)
    meta = json.loads((processed_dir / PANEL_META_FILE).read_text(encoding="utf-8"))
    return panel, meta


def save_table(df: pd.DataFrame, processed_dir: Path | str, name: str) -> None:
    """Write a stage's result, index-free so reruns give identical bytes."""
    df.reset_index(drop=True).to_parquet(Path(processed_dir) / f"{name}.parquet", index=False)
