"""Running the project as a user does: a copy of its git files, and make."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from clientlens.config import PROJECT_ROOT

VENV = Path(sys.executable).parent.parent


def tracked_files() -> list[str]:
    """What a fresh clone would hold: git's tracked files and new ones it does not ignore."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=PROJECT_ROOT, capture_output=True, text=True)
    if listing.returncode != 0 or not listing.stdout.strip():
        raise RuntimeError("the end-to-end tests copy the project's git files; run them in a checkout")
    return [f for f in listing.stdout.splitlines() if (PROJECT_ROOT / f).is_file()]


def copy_project(root: Path) -> Path:
    """A fresh-clone-like copy in `root`, committed so pages can cite a commit.

    copy2 keeps modification times, so the shared environment's setup stamp stays newer
    than requirements.lock and the copy never reinstalls into it."""
    for rel in tracked_files():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, target)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"], cwd=root,
                   check=True)
    return root


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", *args, f"VENV={VENV}"],
                          cwd=project, capture_output=True, text=True, env=env, timeout=1800)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {str(p.relative_to(folder)): digest(p) for p in sorted(folder.rglob(pattern)) if p.is_file()}
