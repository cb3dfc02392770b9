"""The pages in two languages, side by side: each page's link to the same page in the other.

The first language's site is reports/, the second's reports/<lang>/ with the same layout, so a
page's twin sits at the same path below the other site's root. Links are relative: the two
sites work opened from disk, moved or mailed as one folder.
"""
from __future__ import annotations

from dataclasses import dataclass

from clientlens.publishing.display import escape

# A language is offered by its own name, which its readers recognise whatever page they are on.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


@dataclass(frozen=True)
class Twin:
    """The other language's site, as seen from this one's root: `root` leads there ("ru/" from
    the first site, "../" from the second)."""

    lang: str
    root: str

    def href(self, page: str, depth: int = 0) -> str:
        """The twin of `page` (a path below this site's root, as "clients/x.html") from a page
        `depth` folders below the root."""
        return "../" * depth + self.root + page


def twins(first: str, second: str) -> tuple[Twin, Twin]:
    """(the first site's twin, the second site's twin): reports/ links into reports/<second>/,
    and back."""
    return Twin(second, f"{second}/"), Twin(first, "../")


def twin_link_html(twin: Twin | None, page: str, depth: int = 0) -> str:
    """The top bar's link to the page in the other language; nothing with one language only."""
    if twin is None:
        return ""
    name = LANGUAGE_NAMES.get(twin.lang, twin.lang)
    return (f'<a class="cl-topbar-sub cl-topbar-lang" style="float:right" href="{escape(twin.href(page, depth))}" '
            f'hreflang="{escape(twin.lang)}" lang="{escape(twin.lang)}">{escape(name)}</a>')
