"""Words the reports print, in English and Russian (report_lang)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable


def N_(text: str) -> str:
    """Marks an English text that is translated later, by tr(variable, lang): the catalogue
    test collects N_("...") literals as well as tr("...") ones."""
    return text


# The page furniture publish.py and the cards print, by key (t("contents", lang)).
TEXT: dict[str, str] = {
    "contents": N_("Contents"),
    "home": N_("Client analysis: all reports"),
    "index_title": N_("Client analysis reports"),
    "built_at": N_("Built"),
    "lineage": N_("Lineage"),
    "data_as_of": N_("Data as of"),
    "period_end": N_("Period analysed up to"),
    "git_commit": N_("Code version (git commit)"),
    "parameters": N_("Parameters"),
    "inputs": N_("Input files"),
    "file": N_("File"),
    "blake3": N_("BLAKE3"),
    "bytes": N_("Bytes"),
    "not_measured": N_("not measured"),
    "audit_note": N_("Executed notebooks, for audit: reports/executed/."),
    "filter": N_("Filter rows…"),
    "unknown": N_("unknown"),
}


def t(key: str, lang: str = "en") -> str:
    """The page furniture's word for `key` in `lang`."""
    return tr(TEXT[key], lang)


# --- every other word of the reports: a gettext-like catalogue -------------------------------
#
# The English text is the key; src/clientlens/locale/<lang>.yaml maps it to the
# translation. Placeholders ({name}) are filled after the lookup, so a sentence with numbers
# in it is one entry. Markdown cells are translated block by block at publish time (a heading
# or a paragraph, whitespace normalised), so notebooks keep readable English.
#
# Two kinds of entry go beyond text -> text. A text said of a count (tr_plural) maps to one form
# per plural category of the language (Russian: "one", "few", "many"; plural_form picks it).
# An English text two places translate differently is looked up in a context (tr_context),
# under the key "context|text".

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ru")


def normalise(text: str) -> str:
    """The catalogue key of a text: runs of whitespace become one space."""
    return " ".join(text.split())


Entry = str | dict[str, str]  # a translation, or a counted text's forms by plural category


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, Entry]:
    """English key -> translation for `lang` ({} for English)."""
    path = LOCALE_DIR / f"{lang}.yaml"
    if lang == "en" or not path.exists():
        return {}
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {normalise(str(k)): {str(c): str(f) for c, f in v.items()} if isinstance(v, dict) else str(v)
            for k, v in raw.items()}


def _entry(key: str, text: str, lang: str) -> Entry:
    """The catalogue's entry under `key`, or the English `text` when there is none."""
    return catalogue(lang).get(normalise(key), text) if lang != "en" else text


def _single(key: str, text: str, lang: str) -> str:
    out = _entry(key, text, lang)
    if isinstance(out, dict):
        raise TypeError(f"{key!r} has plural forms in the {lang} catalogue: use tr_plural")
    return out


def _fill(out: str, values: dict[str, Any]) -> str:
    return out.format(**values) if values else out


def tr(text: str, lang: str = "en", **values: Any) -> str:
    """`text` in `lang` (the catalogue's entry, or the English when there is none), with its
    {placeholders} filled from `values`."""
    return _fill(_single(text, text, lang), values)


def plural_form(count: int, lang: str) -> str:
    """The plural category (CLDR's names) of a whole number in `lang`: in Russian "one" for
    1, 21, 101, "few" for 2-4, 22-24, "many" for 0, 5-20, 25-30; in English "one" or "other"."""
    n = abs(int(count))
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


def tr_plural(text: str, count: int, lang: str = "en", **values: Any) -> str:
    """`text` in `lang` said of `count` things: the catalogue's form for count's plural
    category (a text with a single form serves every count; the English is used as written)."""
    out = _entry(text, text, lang)
    if isinstance(out, dict):
        out = out[plural_form(count, lang)]
    return _fill(out, values)


def context_key(context: str, text: str) -> str:
    """The catalogue key of `text` said in `context`."""
    return f"{context}|{normalise(text)}"


def tr_context(context: str, text: str, lang: str = "en", **values: Any) -> str:
    """`text` in `lang` as said in `context`: for an English text that two places translate
    differently (a falling-orders marker, a falling-orders warning). The English is `text`."""
    return _fill(_single(context_key(context, text), text, lang), values)


def tr_values(values: Iterable[Any], lang: str = "en") -> list[Any]:
    """Each string of a column of words (status, phase, ...) through tr; other values as they are."""
    return [tr(v, lang) if isinstance(v, str) else v for v in values]


def _markdown_blocks(source: str) -> list[list[tuple[str, str]]]:
    """A markdown cell as blocks (split at blank lines) of units: (heading marks, text) for a
    heading line, ("", text) for a paragraph, the text whitespace-normalised."""
    blocks = []
    for block in re.split(r"\n\s*\n", source.strip()):
        units, paragraph = [], []
        for line in block.splitlines():
            heading = re.match(r"^(#{1,6})\s+(.*)$", line)
            if heading:
                if paragraph:
                    units.append(("", normalise(" ".join(paragraph))))
                    paragraph = []
                units.append((heading.group(1), normalise(heading.group(2))))
            else:
                paragraph.append(line)
        if paragraph:
            units.append(("", normalise(" ".join(paragraph))))
        blocks.append([u for u in units if u[1]])
    return blocks


def translate_markdown(source: str, lang: str) -> str:
    """A markdown cell in `lang`: each heading line and each paragraph looked up as one key.

    A block without an entry stays English (the catalogue test makes sure none is missing)."""
    if lang == "en":
        return source
    return "\n\n".join("\n".join(f"{marks} {tr(text, lang)}" if marks else tr(text, lang)
                                  for marks, text in block)
                        for block in _markdown_blocks(source))


def markdown_keys(source: str) -> list[str]:
    """The catalogue keys translate_markdown() looks up in a markdown cell."""
    return [text for block in _markdown_blocks(source) for _, text in block]
