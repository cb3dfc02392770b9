"""Words the reports print, in English and Russian (report_lang)."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "contents": "Contents",
        "home": "Client analysis: all reports",
        "index_title": "Client analysis reports",
        "built_at": "Built",
        "lineage": "Lineage",
        "data_as_of": "Data as of",
        "period_end": "Period analysed up to",
        "git_commit": "Code version (git commit)",
        "parameters": "Parameters",
        "inputs": "Input files",
        "file": "File",
        "blake3": "BLAKE3",
        "bytes": "Bytes",
        "not_measured": "not measured",
        "audit_note": "Executed notebooks, for audit: reports/executed/.",
        "filter": "Filter rows…",
        "unknown": "unknown",
    },
    "ru": {
        "contents": "Содержание",
        "home": "Анализ клиентов: все отчёты",
        "index_title": "Отчёты по клиентам",
        "built_at": "Собрано",
        "lineage": "Происхождение данных",
        "data_as_of": "Данные на",
        "period_end": "Последний анализируемый квартал",
        "git_commit": "Версия кода (git commit)",
        "parameters": "Параметры",
        "inputs": "Входные файлы",
        "file": "Файл",
        "blake3": "BLAKE3",
        "bytes": "Байт",
        "not_measured": "не измеряется",
        "audit_note": "Исполненные блокноты для аудита: reports/executed/.",
        "filter": "Фильтр строк…",
        "unknown": "неизвестно",
    },
}


def t(key: str, lang: str = "en") -> str:
    return TEXT.get(lang, TEXT["en"]).get(key) or TEXT["en"][key]


# --- every other word of the reports: a gettext-like catalogue -------------------------------
#
# The English text is the key; src/clientlens/locale/<lang>.yaml maps it to the
# translation. Placeholders ({name}) are filled after the lookup, so a sentence with numbers
# in it is one entry. Markdown cells are translated block by block at publish time (a heading
# or a paragraph, whitespace normalised), so notebooks keep readable English.

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ru")


def normalise(text: str) -> str:
    """The catalogue key of a text: runs of whitespace become one space."""
    return " ".join(text.split())


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """English key -> translation for `lang` ({} for English)."""
    path = LOCALE_DIR / f"{lang}.yaml"
    if lang == "en" or not path.exists():
        return {}
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {normalise(str(k)): str(v) for k, v in raw.items()}


def tr(text: str, lang: str = "en", **values: Any) -> str:
    """`text` in `lang` (the catalogue's entry, or the English when there is none), with its
    {placeholders} filled from `values`."""
    out = catalogue(lang).get(normalise(text), text) if lang != "en" else text
    return out.format(**values) if values else out


def N_(text: str) -> str:
    """Marks an English text that is translated later, by tr(variable, lang): the catalogue
    test collects N_("...") literals as well as tr("...") ones."""
    return text


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
