"""Where the project's files live, from the project root."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = PROJECT_ROOT / "config" / "params.yaml"
DATA_DIR = PROJECT_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
QUARANTINE_DIR = PROCESSED_DIR / "quarantine"
DEMO_TRUTH_FILE = DATA_DIR / "demo_truth.json"  # read by tests only, never by the analysis
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
BUILD_DIR = PROJECT_ROOT / "build"


def shown(path: Path | str) -> str:
    """A path as the user sees it: relative to the project when inside it."""
    path = Path(path)
    try:
        inside = path.relative_to(PROJECT_ROOT)
    except ValueError:
        return str(path)
    return str(inside) if inside.parts else str(path)
