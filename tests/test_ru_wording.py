"""The Russian catalogue reads as a Russian CFO writes: no word-for-word calques, one Russian term
for each English one on every page (the glossary at the top of ru.yaml), and Russian typography.
"""
from __future__ import annotations

import re

import pytest

from clientlens.i18n import LOCALE_DIR, catalogue

# Calques a Russian reader stops at, with what is said instead (the glossary in ru.yaml).
CALQUES = {
    "кита": "накопленная прибыль по клиентам (whale curve)",
    "под риском": "в зоне риска",
    "на кону": "эффект",
    "принимающ": "ЛПР (decision maker)",
    "затихл": "пропал (gone quiet)",
    "ретроспективн": "проверка на истории (backtest)",
}

# English term (a regular expression on the key) -> the stem every Russian translation of a key
# holding it uses. Keep in step with the glossary comment at the top of ru.yaml.
GLOSSARY = {
    r"\bat risk\b": "в зоне риска",
    r"\bat stake\b": "эффект",
    r"\bgone quiet\b": "пропа",  # пропал, пропали, пропавший
    r"\bdecision maker\b": "ЛПР",
    r"\bwhale curve\b": "накопленн",
    r"\bbacktest": "проверк",
    r"\bdelivery cost\b": "себестоимост",
    r"\bcost to serve\b": "обслуживани",
    r"\bearly warning": "предупрежд",
    r"(?<!contact )\bchurn(?!ed)": "отток",
    r"\bretention\b": "удержани",
    r"\boverhead\b": "накладн",
    r"\bcommunicator\b": "коммуникатор",
    r"\bexisting clients\b": "текущ",
    r"\bin-sourcing\b": "ИТ-команд",
    r"\blifetime value\b": "пожизненн",
    r"\bprofitable but difficult\b": "сложн",
}


def _forms(entry) -> list[str]:
    return list(entry.values()) if isinstance(entry, dict) else [entry]


def _russian() -> list[tuple[str, str]]:
    return [(key, text) for key, entry in catalogue("ru").items() for text in _forms(entry)]


def glossary_breaches(entries: list[tuple[str, str]]) -> list[str]:
    """Keys whose English holds a glossary term and whose Russian does not use its one term. A
    key's context ("early warning|...") names where it is said, not what, so only its text counts."""
    out = []
    for english, russian in GLOSSARY.items():
        for key, text in entries:
            said = key.split("|", 1)[-1]
            if re.search(english, said, re.I) and russian.lower() not in text.lower():
                out.append(f"{english} -> {russian}: {key!r} is {text!r}")
    return out


def test_no_russian_text_is_a_calque():
    found = [f"{calque!r} (say {instead}) in {key!r}: {text!r}"
             for key, text in _russian() for calque, instead in CALQUES.items() if calque in text.lower()]
    assert not found, "\n".join(found)


def test_every_glossary_term_is_said_the_same_way_everywhere():
    assert not glossary_breaches(_russian()), "\n".join(glossary_breaches(_russian()))


def test_the_glossary_check_catches_a_second_word_for_one_term():
    entries = [("{n} have gone quiet", "затихли — {n}"), ("Gone quiet", "Пропал")]
    assert glossary_breaches(entries) == ["\\bgone quiet\\b -> пропа: '{n} have gone quiet' is 'затихли — {n}'"]


def test_the_glossary_comment_in_the_catalogue_names_every_term():
    header = (LOCALE_DIR / "ru.yaml").read_text(encoding="utf-8").split("\n\n", 1)[0]
    for english, russian in GLOSSARY.items():
        plain = re.sub(r"\\b|\(\?<?!?[^)]*\)", "", english)
        assert plain in header, f"the glossary comment of ru.yaml lacks {plain!r}"
        assert russian.lower() in header.lower(), f"the glossary comment of ru.yaml lacks {russian!r}"


@pytest.mark.parametrize("key, text", _russian())
def test_russian_typography(key, text):
    prose = re.sub(r"`[^`]*`", "", text)
    assert '"' not in prose and "'" not in prose, f"quotes in Russian are «ёлочки»: {key!r}"
    assert " - " not in prose or "=" in prose, f"a dash in Russian is « — »: {key!r}"
    assert not re.search(r"\d-\d", prose) or "=" in prose, f"a range takes an en dash (0–10): {key!r}"
