"""When the published pages were built, and whether a later run failed.

The index and the leadership page of each language carry a placeholder beside the time they
were built. A run whose stage fails never publishes, so the pages stay those of the last good
run while data/raw/ may already hold newer exports: the failed run writes a banner saying so
into that placeholder (mark_failed_run). The next publish writes fresh pages, without it.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from clientlens.i18n import LANGUAGES, t, tr
from clientlens.publishing.display import escape

STATUS_PAGES = ("index.html", "leadership.html")
PLACEHOLDER = re.compile(r'(<div class="cl-run-status" data-built-at="([^"]*)"[^>]*>)(.*?)(</div>)', re.S)
PAGE_LANG = re.compile(r'<html lang="([^"]+)"')
BANNER_STYLE = ("border:2px solid #b3261e;background:#fdecea;color:#1d2433;padding:.6rem .9rem;"
                "margin:.6rem 0 1rem;max-width:60rem")


@dataclass(frozen=True)
class FailedRun:
    """A run that stopped at a stage: when, the notebook, its cell (None when the kernel died
    before one failed) and the error in one line."""

    when: str
    notebook: str
    cell: int | None
    error: str

    def to_dict(self) -> dict:
        return asdict(self)


def built_line(built_at: str, data_as_of: str, lang: str) -> str:
    """'Built … · Data as of …' (each as the page's language writes it): the first thing the
    leadership page says about itself."""
    return (f'<p class="cl-note cl-built">{escape(t("built_at", lang))}: {escape(built_at)} · '
            f'{escape(t("data_as_of", lang))}: {escape(data_as_of)}</p>')


def status_placeholder(built_at: str) -> str:
    """Where a failed later run's banner goes, empty while the last run was good; it keeps the
    time the page was built as the page writes it, for the banner to repeat."""
    return f'<div class="cl-run-status" data-built-at="{escape(built_at)}"></div>'


def failed_run_banner(built_at: str, failed: FailedRun, lang: str) -> str:
    from clientlens.publishing.publish import moment_label  # publish imports this module

    values = dict(built=built_at, when=moment_label(failed.when, lang), notebook=failed.notebook,
                  error=failed.error)
    if failed.cell is None:
        text = tr("These pages are from the last good run (built {built}); the run of {when} failed "
                  "at {notebook}: {error}", lang, **values)
    else:
        text = tr("These pages are from the last good run (built {built}); the run of {when} failed "
                  "at {notebook}, cell {cell}: {error}", lang, cell=failed.cell, **values)
    return f'<p class="cl-banner" role="alert" style="{BANNER_STYLE}"><strong>{escape(text)}</strong></p>'


def status_pages(reports_dir: Path) -> list[Path]:
    """The published index and leadership pages, of the first language and of the second."""
    roots = [reports_dir] + [reports_dir / lang for lang in LANGUAGES if (reports_dir / lang).is_dir()]
    return [root / name for root in roots for name in STATUS_PAGES if (root / name).is_file()]


def _replace_atomically(path: Path, text: str) -> None:
    """A reader opening the page finds it whole, before or after; the temporary file ends in
    .html, so a publish never carries one left by a killed run into the next set."""
    tmp = path.with_name(f".{path.stem}.status-{os.getpid()}.html")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def mark_failed_run(reports_dir: Path, failed: FailedRun) -> list[Path]:
    """Put the banner of a failed run on the published index and leadership pages (both
    languages); the pages marked. Pages without the placeholder (published before it existed)
    are left as they are."""
    marked = []
    for page in status_pages(reports_dir):
        text = page.read_text(encoding="utf-8")
        found = PLACEHOLDER.search(text)
        if found is None:
            continue
        lang_found = PAGE_LANG.search(text)
        lang = lang_found.group(1) if lang_found and lang_found.group(1) in LANGUAGES else LANGUAGES[0]
        banner = failed_run_banner(html.unescape(found.group(2)), failed, lang)
        _replace_atomically(page, text[:found.start(3)] + banner + text[found.end(3):])
        marked.append(page)
    return marked
