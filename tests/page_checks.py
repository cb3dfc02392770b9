"""Checks of a published page's form, as a reader sees it: figures, sentences, charts and tables.

A page is first reduced to its visible structure (`PageStructure`): the lines of text a reader
reads, its tables, the number of boxes under each row of headline figures, its charts' text
alternatives and, in a browser, whether a scroll box cuts a table. The same structure comes
from a browser (`EXTRACT_JS`, one `page.evaluate`) or from the HTML alone
(`structure_from_html`, for the many client cards and for the unit tests); `check_page` then
returns one "page: problem: text" line per problem found.

What the lineage footer says (dates, file names, checksums) is the page's provenance, not its
body, and is left out; the folded "Method and sources" section may name files, models and
formulas, which the body may not.
"""
from __future__ import annotations

import re
from typing import Any, TypedDict

from bs4 import BeautifulSoup, NavigableString, Tag


class Table(TypedDict):
    headers: list[str]
    rows: list[list[str]]
    paged: bool  # the page's script shows it a page of rows at a time
    in_method: bool
    box: dict[str, int] | None  # its scroll box's client and scroll height; None: not measured


class KpiGroup(TypedDict):
    heading: str  # the heading the row of boxes stands under
    boxes: int


class PageStructure(TypedDict):
    lang: str
    lines: list[str]  # the text of each block, lineage footer left out
    reader_lines: list[str]  # the same without the folded method section
    tables: list[Table]
    kpi_groups: list[KpiGroup]
    images: list[str]  # charts' alt texts (an SVG's aria-label)
    empty_paragraphs: int


BLOCK_SEPARATOR = "\u2029"
_BLOCK_TAGS = ["ADDRESS", "ARTICLE", "ASIDE", "BLOCKQUOTE", "BR", "CAPTION", "DD", "DETAILS", "DIV", "DL", "DT",
               "FIELDSET", "FIGCAPTION", "FIGURE", "FOOTER", "FORM", "H1", "H2", "H3", "H4", "H5", "H6",
               "HEADER", "HR", "LI", "MAIN", "NAV", "OL", "P", "PRE", "SECTION", "SUMMARY", "TABLE", "TBODY",
               "TD", "TEXT", "TFOOT", "TH", "THEAD", "TR", "UL"]
_SKIPPED_TAGS = ["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT", "TITLE"]  # an SVG's <title> is a tooltip
# a legend's colour swatch stands between two items of the legend
ITEM_BREAK_CLASS = "cl-swatch"
_MEDIA = "img, svg, video, iframe, input, canvas, object"
METHOD_SUMMARY = re.compile(r"method|метод", re.IGNORECASE)

# One page.evaluate: the raw structure, which `structure_from_raw` turns into a PageStructure.
EXTRACT_JS = """() => {
  const BLOCK = new Set(%(block)s), SKIP = new Set(%(skipped)s), SEP = "%(sep)s";
  const methodSummary = /method|метод/i;
  const isLineage = e => e.tagName === "FOOTER" && e.classList.contains("cl-lineage");
  const isMethod = e => {
    if (e.tagName !== "DETAILS") return false;
    if (e.classList.contains("cl-method")) return true;
    const summary = Array.from(e.children).find(c => c.tagName === "SUMMARY");
    return !!summary && methodSummary.test(summary.textContent);
  };
  const inside = (e, test) => { for (let a = e; a; a = a.parentElement) if (test(a)) return true; return false; };
  function walk(node, skipMethod) {
    if (node.nodeType === 3) return node.data;
    if (node.nodeType !== 1) return "";
    const tag = node.tagName.toUpperCase();  // an SVG element's tagName is lower case
    if (SKIP.has(tag) || isLineage(node) || (skipMethod && isMethod(node))) return "";
    let s = "";
    for (const c of node.childNodes) s += walk(c, skipMethod);
    return BLOCK.has(tag) || node.classList.contains("%(item_break)s") ? SEP + s + SEP : s;
  }
  const cells = tr => Array.from(tr.children).filter(c => c.tagName === "TD" || c.tagName === "TH")
    .map(c => walk(c, false));
  const tables = Array.from(document.querySelectorAll("table")).filter(t => !inside(t, isLineage)).map(t => {
    const head = t.tHead ? t.tHead.rows[0] : null;
    const bodyRows = Array.from(t.rows).filter(r => r.parentElement.tagName !== "THEAD" && r !== head);
    let box = null;
    for (let a = t.parentElement; a && a !== document.body; a = a.parentElement) {
      const overflow = getComputedStyle(a).overflowY;
      if (overflow === "auto" || overflow === "scroll") {
        box = {client_height: a.clientHeight, scroll_height: a.scrollHeight};
        break;
      }
    }
    return {headers: head ? cells(head) : [], rows: bodyRows.map(cells), paged: t.hasAttribute("data-page-size"),
            in_method: inside(t, isMethod), box};
  });
  const kpiGroups = [];
  let heading = "";
  for (const e of document.querySelectorAll("h1, h2, h3, h4, .cl-kpis")) {
    if (/^H[1-4]$/.test(e.tagName)) heading = e.textContent;
    else kpiGroups.push({heading, boxes: e.querySelectorAll(".cl-kpi").length});
  }
  const emptyParagraphs = Array.from(document.querySelectorAll("p")).filter(
    p => !inside(p, isLineage) && !p.textContent.trim() && !p.querySelector("%(media)s")).length;
  return {lang: document.documentElement.lang || "", text: walk(document.body, false),
          reader_text: walk(document.body, true), tables, kpi_groups: kpiGroups,
          images: Array.from(document.querySelectorAll("img, svg[role=img]")).filter(i => !inside(i, isLineage))
            .map(i => i.getAttribute(i.tagName === "IMG" ? "alt" : "aria-label") || ""),
          empty_paragraphs: emptyParagraphs};
}""" % {"block": _BLOCK_TAGS, "skipped": _SKIPPED_TAGS, "sep": "\\u2029", "media": _MEDIA,
                   "item_break": ITEM_BREAK_CLASS}


def clean(text: str) -> str:
    return " ".join(text.split())


def structure_from_raw(raw: dict[str, Any]) -> PageStructure:
    """The browser's raw extraction (EXTRACT_JS) as a PageStructure."""
    def lines(text: str) -> list[str]:
        return [c for c in (clean(part) for part in text.split(BLOCK_SEPARATOR)) if c]

    tables = [Table(headers=[clean(h) for h in t["headers"]], rows=[[clean(c) for c in r] for r in t["rows"]],
                    paged=bool(t["paged"]), in_method=bool(t["in_method"]), box=t.get("box"))
              for t in raw["tables"]]
    return PageStructure(lang=raw["lang"], lines=lines(raw["text"]), reader_lines=lines(raw["reader_text"]),
                         tables=tables,
                         kpi_groups=[KpiGroup(heading=clean(g["heading"]), boxes=g["boxes"]) for g in raw["kpi_groups"]],
                         images=[clean(a) for a in raw["images"]], empty_paragraphs=raw["empty_paragraphs"])


# --- the same from the HTML alone ------------------------------------------------------------

def _is_lineage(tag: Tag) -> bool:
    return tag.name == "footer" and "cl-lineage" in (tag.get("class") or [])


def _is_method(tag: Tag) -> bool:
    if tag.name != "details":
        return False
    if "cl-method" in (tag.get("class") or []):
        return True
    summary = tag.find("summary", recursive=False)
    return summary is not None and bool(METHOD_SUMMARY.search(summary.get_text()))


def _inside(tag: Tag, test) -> bool:
    return test(tag) or any(test(parent) for parent in tag.parents if isinstance(parent, Tag))


_BLOCKS = {t.lower() for t in _BLOCK_TAGS}
_SKIPPED = {t.lower() for t in _SKIPPED_TAGS}


def _walk(node, skip_method: bool) -> str:
    if isinstance(node, NavigableString):
        return str(node) if type(node) is NavigableString else ""  # comments, doctype: nothing shown
    if not isinstance(node, Tag) or node.name in _SKIPPED or _is_lineage(node) or (skip_method and _is_method(node)):
        return ""
    inner = "".join(_walk(child, skip_method) for child in node.children)
    breaks = node.name in _BLOCKS or ITEM_BREAK_CLASS in (node.get("class") or [])
    return BLOCK_SEPARATOR + inner + BLOCK_SEPARATOR if breaks else inner


def structure_from_html(html: str) -> PageStructure:
    """A page's structure from its HTML, without a browser: everything EXTRACT_JS gives but the
    scroll boxes' heights, which need a layout (`box` is None)."""
    soup = BeautifulSoup(html, "html.parser")
    body = soup.body or soup

    def cells(tr: Tag) -> list[str]:
        return [_walk(c, False) for c in tr.find_all(["td", "th"], recursive=False)]

    tables = []
    for table in soup.find_all("table"):
        if _inside(table, _is_lineage):
            continue
        thead = table.find("thead")
        head = thead.find("tr") if thead else None
        rows = [tr for tr in table.find_all("tr") if tr is not head and tr.find_parent("table") is table
                and (thead is None or thead not in tr.parents)]
        tables.append({"headers": cells(head) if head else [], "rows": [cells(r) for r in rows],
                       "paged": table.has_attr("data-page-size"), "in_method": _inside(table, _is_method),
                       "box": None})
    kpi_groups, heading = [], ""
    for element in soup.select("h1, h2, h3, h4, .cl-kpis"):
        if element.name in ("h1", "h2", "h3", "h4"):
            heading = element.get_text()
        else:
            kpi_groups.append({"heading": heading, "boxes": len(element.select(".cl-kpi"))})
    empty = sum(1 for p in soup.find_all("p")
                if not _inside(p, _is_lineage) and not p.get_text().strip() and not p.select_one(_MEDIA))
    images = [(img.get("alt") if img.name == "img" else img.get("aria-label")) or ""
              for img in soup.select("img, svg[role=img]") if not _inside(img, _is_lineage)]
    return structure_from_raw({"lang": (soup.html.get("lang") if soup.html else "") or "",
                               "text": _walk(body, False), "reader_text": _walk(body, True), "tables": tables,
                               "kpi_groups": kpi_groups, "images": images, "empty_paragraphs": empty})


# --- the checks --------------------------------------------------------------------------------

MINUS = "-\u2212"
NEGATIVE_ZERO = re.compile(rf"(?<![\w.,])[{MINUS}]0(?:[.,]0+)?(?![.,]?\d)")
ZERO_WITH_DECIMALS = re.compile(rf"(?<![\w.,{MINUS}])0[.,]00(?![.,]?\d)")
FRACTION = re.compile(rf"^[{MINUS}]?(?:0|1)?[.,]\d+$")
# a share or rate column; a bill or cost rate is money per hour, not a share
SHARE_HEADER = re.compile(r"(?<!\d)%|\bshare\b|(?<!bill )(?<!cost )(?<!hourly )\brates?\b|дол[яиеюь]|процент", re.IGNORECASE)

EMPTY_SENTENCES = [
    (re.compile(r":\s*\.(?:\s|$)"), "a list left empty"),
    (re.compile(r"\(\s*\)"), "empty brackets"),
    (re.compile(r"\b(?:of the|из)\s+0\s", re.IGNORECASE), "a sentence about none"),
    (re.compile(r"\b([^\W\d_]{4,})\b[^.:;]{0,30}:\s*\1\s*:", re.IGNORECASE), "a label repeated"),
    (re.compile(r"\b([^\W\d_]{3,})\s+\1\b", re.IGNORECASE), "a word doubled"),
]

# "1 clients": a plural after one; words ending in s that are no plural noun are left alone
ONE_THEN_PLURAL = re.compile(r"(?<![\d.,\w])1\s+([a-z]{2,}s)\b")
NOT_PLURALS = {"is", "was", "has", "this", "its", "as", "us", "yes", "thus", "always", "across", "plus", "minus",
               "series", "bonus", "status", "basis", "analysis", "perhaps", "whereas", "news", "means"}
ONE_ARE = re.compile(r"(?<![\d.,\w])1\s+(are|were|have|show|need)\b")

# Russian nouns by the numeral's form: (after 1, 21..; after 2-4, 22-24..; after 5-20, 25..)
RUSSIAN_FORMS = [("клиент", "клиента", "клиентов"), ("квартал", "квартала", "кварталов"), ("файл", "файла", "файлов"),
                 ("маркер", "маркера", "маркеров"), ("месяц", "месяца", "месяцев"), ("день", "дня", "дней"),
                 ("час", "часа", "часов"), ("строка", "строки", "строк"), ("запрос", "запроса", "запросов"),
                 ("сделка", "сделки", "сделок"), ("таблица", "таблицы", "таблиц"), ("проект", "проекта", "проектов"),
                 ("год", "года", "лет"), ("раз", "раза", "раз")]
_RUSSIAN_FORM_OF = {}
for _forms in RUSSIAN_FORMS:
    for _kind, _word in zip(("one", "few", "many"), _forms):
        _RUSSIAN_FORM_OF.setdefault(_word, set()).add(_kind)
RUSSIAN_COUNTED = re.compile(r"(?<![\d.,\w])(\d+)\s+(" + "|".join(sorted(_RUSSIAN_FORM_OF, key=len, reverse=True))
                             + r")(?!\w)")
# a form that is wrong after the numeral in any case (a genitive "у 1 клиента" or "у 2 клиентов" is right)
RUSSIAN_WRONG_AFTER = {"one": {"many"}, "few": {"one"}, "many": {"one", "few"}}


def russian_plural_kind(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "два": 2, "две": 2, "двух": 2, "три": 3, "трёх": 3, "трех": 3, "четыре": 4, "четырёх": 4, "четырех": 4,
    "пять": 5, "пяти": 5, "шесть": 6, "шести": 6, "семь": 7, "семи": 7, "восемь": 8, "восьми": 8,
    "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
}

# An axis in a chart's alt text (display.figure_alt): "x: label", "ось y: label", "colour: label"
AXIS = re.compile(r"(?:^|\.\s+)((?:ось\s+)?[xy]|colour|цвет)\s*:\s*(.+?)(?=\.\s+(?:(?:ось\s+)?[xy]|colour|цвет)\s*:|\.?\s*$)",
                  re.IGNORECASE)
MONEY_WORDS = re.compile(r"revenue|margin|cost|profit|value|выручк|марж|прибыл|затрат|стоимост|ценност",
                         re.IGNORECASE)
COUNTED_WORDS = re.compile(r"client|quarter|month|year|share|number|count|rank|клиент|квартал|месяц|год|дол[яиеюь]"
                           r"|числ|количеств|ранг", re.IGNORECASE)
CURRENCY = re.compile(r"\b[A-Z]{3}\b|[$€£₽¥]")

ENGLISH_QUARTER = re.compile(r"(?<![\w=])\d{4}\s?Q[1-4](?!\w)")  # a code after "=" is a command to type (PERIOD_END=2025Q4)
ISO_DATE = re.compile(r"(?<![\d\w])\d{4}-\d{2}-\d{2}(?!\d)")
JARGON = ["Reads:", "Writes:", "Читает:", "Пишет:", ".parquet", "HHI", "shifted-beta-geometric",
          "бета-геометрическ", "skill against naive", "Rerouted moves", "^-1"]


def _shown(text: str, width: int = 140) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def percent_fractions(table: Table) -> list[str]:
    problems = []
    for column, header in enumerate(table["headers"]):
        if not SHARE_HEADER.search(header):
            continue
        fractions = [r[column] for r in table["rows"] if column < len(r) and FRACTION.match(r[column])]
        if fractions:
            problems.append(f"a share shown as a fraction: column '{header}' shows {fractions[0]!r}"
                            f" ({len(fractions)} cells)")
    return problems


def zeros(line: str) -> list[str]:
    problems = []
    if match := NEGATIVE_ZERO.search(line):
        problems.append(f"a negative zero {match.group(0)!r}: {_shown(line)}")
    if match := ZERO_WITH_DECIMALS.search(line):
        problems.append(f"a zero written {match.group(0)!r}: {_shown(line)}")
    return problems


def empty_sentences(line: str) -> list[str]:
    return [f"{what}: {_shown(line)}" for pattern, what in EMPTY_SENTENCES if pattern.search(line)]


def plurals(line: str, lang: str) -> list[str]:
    problems = []
    if lang == "ru":
        for number, word in RUSSIAN_COUNTED.findall(line):
            expected = russian_plural_kind(int(number))
            if _RUSSIAN_FORM_OF[word] <= RUSSIAN_WRONG_AFTER[expected]:
                problems.append(f"a wrong plural '{number} {word}': {_shown(line)}")
        return problems
    for word in ONE_THEN_PLURAL.findall(line):
        if word not in NOT_PLURALS and not word.endswith(("ss", "us", "is")):
            problems.append(f"a wrong plural '1 {word}': {_shown(line)}")
    if match := ONE_ARE.search(line):
        problems.append(f"a wrong plural '{match.group(0)}': {_shown(line)}")
    return problems


def money_axes(alt: str) -> list[str]:
    if not alt.strip():
        return ["a chart without a text alternative"]
    return [f"a money axis without a currency ({axis}: {label}): {_shown(alt)}" for axis, label in AXIS.findall(alt)
            if is_money(label) and "%" not in label and not CURRENCY.search(label)]


def is_money(label: str) -> bool:
    """Whether an axis measures money: it names money before anything counted ("clients ranked
    by profit" counts clients, "share of profit" is a share)."""
    money, counted = MONEY_WORDS.search(label), COUNTED_WORDS.search(label)
    return money is not None and (counted is None or money.start() < counted.start())


def cut_tables(table: Table) -> list[str]:
    box = table["box"]
    if box is None or table["paged"] or box["client_height"] == 0 or box["client_height"] >= box["scroll_height"]:
        return []
    header = ", ".join(table["headers"][:3])
    return [f"a table cut by its scroll box ({box['client_height']} of {box['scroll_height']} px shown): {header}"]


def headline_counts(group: KpiGroup) -> list[str]:
    words = [NUMBER_WORDS[w] for w in re.findall(r"[^\W\d_]+", group["heading"].lower()) if w in NUMBER_WORDS]
    words += [int(n) for n in re.findall(r"\b\d{1,2}\b", group["heading"])]
    if words and group["boxes"] and words[0] != group["boxes"]:
        return [f"a heading that miscounts its figures ({group['boxes']} boxes): {group['heading']}"]
    return []


def russian_dates(line: str) -> list[str]:
    problems = []
    if match := ENGLISH_QUARTER.search(line):
        problems.append(f"an English quarter {match.group(0)!r} on a Russian page: {_shown(line)}")
    if match := ISO_DATE.search(line):
        problems.append(f"an ISO date {match.group(0)!r} on a Russian page: {_shown(line)}")
    return problems


def jargon(line: str) -> list[str]:
    found = [term for term in JARGON if term in line]
    return [f"jargon outside the method section ({', '.join(found)}): {_shown(line)}"] if found else []


def check_page(name: str, page: PageStructure) -> list[str]:
    """Every problem of form on one page, as "page: problem: text"."""
    lang = page["lang"][:2]
    problems = []
    for table in page["tables"]:
        problems += percent_fractions(table) + cut_tables(table)
    for line in page["lines"]:
        problems += zeros(line) + empty_sentences(line) + plurals(line, lang)
        if lang == "ru":
            problems += russian_dates(line)
    for alt in page["images"]:
        problems += zeros(alt) + money_axes(alt)
        if lang == "ru":
            problems += russian_dates(alt)
    if page["empty_paragraphs"]:
        problems.append(f"empty paragraphs: {page['empty_paragraphs']}")
    for group in page["kpi_groups"]:
        problems += headline_counts(group)
    for line in page["reader_lines"]:
        problems += jargon(line)
    return [f"{name}: {p}" for p in dict.fromkeys(problems)]
