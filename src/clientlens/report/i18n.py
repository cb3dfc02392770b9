"""Words the reports print, in English and Russian (report_lang)."""
from __future__ import annotations

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
        "sha256": "SHA-256",
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
        "period_end": "Анализ по квартал",
        "git_commit": "Версия кода (git commit)",
        "parameters": "Параметры",
        "inputs": "Входные файлы",
        "file": "Файл",
        "sha256": "SHA-256",
        "bytes": "Байт",
        "not_measured": "не измеряется",
        "audit_note": "Исполненные блокноты для аудита: reports/executed/.",
        "filter": "Фильтр строк…",
        "unknown": "неизвестно",
    },
}


def t(key: str, lang: str = "en") -> str:
    return TEXT.get(lang, TEXT["en"]).get(key) or TEXT["en"][key]


def tr(text: str, lang: str = "en", **values) -> str:
    """English source text in the report's language, `{name}` placeholders filled after lookup."""
    return text.format(**values) if values else text
