"""Every publishing guard, each held by a test that fails when the guard is taken out.

The guards, and the tests here or elsewhere that hold them:
- HTML escaping of data strings: table cells, headers, sort keys and captions, KPI boxes,
  paragraphs, lists, figure alt texts, download links (test_data_strings_are_escaped_*), the
  cards' title, heading, callout, status line and tables (test_a_card_escapes_every_data_string);
  pages and index in tests/test_publish.py.
- The formula guard in CSV cells and column headers (test_csv_*_formula_guard*; the cells also
  tests/test_downloads.py).
- The Content-Security-Policy meta tag: cards here, pages in tests/test_publish.py.
- Hidden characters (bidirectional controls, zero-width, control characters) shown as U+FFFD in
  pages and in the downloads' cells and headers (test_hidden_characters_*).
- One card per client: names unique by construction (test_every_client_has_a_card_of_its_own,
  test_card_names_cannot_be_claimed) and checked when the cards are written
  (test_two_cards_never_share_a_file).
- The same escaping and policy in publish.py: the lineage footer, the index, the contents list.
"""
from __future__ import annotations

import csv
import html
import re

import matplotlib
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from clientlens.analysis import cards
from clientlens.publishing import cards as card_pages
from clientlens.publishing import display as d
from clientlens.publishing.downloads import guard_frame, write_csv
from clientlens.publishing.publish import Lineage, add_table_of_contents, lineage_html, render_index

matplotlib.use("Agg")

EVIL = '<img src=x onerror="alert(1)">'
HIDDEN = {"LRE": "\u202a", "RLE": "\u202b", "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e", "LRI": "\u2066",
          "RLI": "\u2067", "FSI": "\u2068", "PDI": "\u2069", "LRM": "\u200e", "RLM": "\u200f", "ALM": "\u061c",
          "ZWSP": "\u200b", "ZWNJ": "\u200c", "ZWJ": "\u200d", "WJ": "\u2060", "BOM": "\ufeff",
          "BEL": "\x07", "ESC": "\x1b", "NEL": "\x85"}
HIDDEN_CHARS = re.compile("[" + "".join(HIDDEN.values()) + "]")

# Windows device names: a file called so, with any extension, opens the device, not the file.
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", *(f"{p}{n}" for p in ("COM", "LPT")
                                                                        for n in "0123456789¹²³")}
CLAIMED = cards.card_slug("C00010")  # an id spelled like another client's card name
HOSTILE_IDS = ["C00010", "c00010", CLAIMED, CLAIMED.upper(), cards.card_slug("c00010") + ".html",
               "CON", "aux", "NUL", "COM1", "LPT1", "con.html", "Aux.txt", "../x", "x", "a/b", "a\\b", "a b",
               " ", "  ", "", ".", "..", "x" * 300, "x" * 301, "😀", "😀😀", "\u202eevil", "evil",
               "ab\u200bc", "abc", "bell\x07", "tab\tid", "new\nline", "Zoë", "Zoe", "Zoe\u0308"]


def card_tables(ids: list[str]) -> dict[str, pd.DataFrame | None]:
    """The P&L table with one client per id, each named "Client <n>", and nothing else measured."""
    clients = pd.DataFrame({"client_id": ids, "client_name": [f"Client {n}" for n in range(len(ids))],
                            "status": "active", "revenue_last4": 100.0, "margin_pct": 0.1})
    return {"pnl_clients": clients, **{name: None for name in cards.CARD_TABLES if name != "pnl_clients"}}


def card_title(site, href: str) -> str:
    return BeautifulSoup((site / href).read_text(encoding="utf-8"), "html.parser").title.get_text()


# --- one card per client -------------------------------------------------------------------

def test_every_client_has_a_card_of_its_own(tmp_path):
    assert len(set(HOSTILE_IDS)) == len(HOSTILE_IDS)
    written = card_pages.write_cards(cards.client_cards(card_tables(HOSTILE_IDS)), tmp_path, "en", "USD", "", "")
    files = sorted(p.name for p in (tmp_path / cards.CARD_DIR).iterdir())
    assert written == len(files) == len(HOSTILE_IDS)
    assert len({f.casefold() for f in files}) == len(files), "two cards differ by case alone"
    for name in files:
        assert re.fullmatch(r"[a-z0-9_-]{1,48}\.html", name), name
        assert name.split(".")[0].upper() not in WINDOWS_RESERVED, name
    # every link to a card opens that client's card, from a table and from an action
    names = [f"Client {n}" for n in range(len(HOSTILE_IDS))]
    table = BeautifulSoup(d.table_html(pd.DataFrame({"client_id": HOSTILE_IDS, "client": names}), max_rows=None),
                          "html.parser")
    links = table.select("tbody a")
    assert [a.get_text() for a in links] == names
    assert [card_title(tmp_path, a["href"]) for a in links] == names
    actions = pd.DataFrame({"client_id": HOSTILE_IDS, "action": [f"Call {n}" for n in names]})
    for action, href in cards.action_links(actions).items():
        assert card_title(tmp_path, href) == action.removeprefix("Call ")


def test_card_names_cannot_be_claimed():
    """Neither an id spelled like another's card name, nor one differing by case, takes its card."""
    for a, b in [("C00010", CLAIMED), ("C00010", "c00010"), ("x", "../x"), ("evil", "\u202eevil"), (" ", ""),
                 ("Zoë", "Zoe")]:
        assert cards.card_slug(a).casefold() != cards.card_slug(b).casefold(), (a, b)
    assert cards.card_slug(CLAIMED) != CLAIMED


def test_two_cards_never_share_a_file(tmp_path, monkeypatch):
    """Were two names ever to meet (a hash collision, a client listed twice), nothing is overwritten."""
    twice = list(cards.client_cards(card_tables(["A1"]))) * 2
    with pytest.raises(card_pages.CardNameClash, match="'A1' and 'A1'"):
        card_pages.write_cards(twice, tmp_path, "en", "USD", "", "")
    monkeypatch.setattr(cards, "card_slug", lambda client_id: str(client_id))  # names that differ by case only
    with pytest.raises(card_pages.CardNameClash, match="'C1' and 'c1'"):
        card_pages.write_cards(cards.client_cards(card_tables(["C1", "c1"])), tmp_path, "en", "USD", "", "")
    assert not (tmp_path / cards.CARD_DIR).exists(), "no card is written when two would share a file"


# --- HTML escaping ---------------------------------------------------------------------------

def test_data_strings_are_escaped_in_tables():
    frame = pd.DataFrame({EVIL: [EVIL, "x"], "n": [1, 2]})
    soup = BeautifulSoup(d.table_html(frame, caption=EVIL, searchable=True), "html.parser")
    assert not soup.find_all("img") and not soup.find_all(attrs={"onerror": True})
    assert soup.select("th")[0].get_text() == EVIL
    cell = soup.select("tbody td")[0]
    assert cell.get_text() == EVIL and cell["data-sort"] == EVIL
    assert soup.select_one(".cl-note").get_text() == EVIL


def test_data_strings_are_escaped_in_kpis_paragraphs_lists_links_and_figures():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(EVIL)
    fragments = [d.kpi_html([(EVIL, EVIL, EVIL)]), d.paragraph_html(EVIL), d.paragraph_html(EVIL, note=True),
                 d.list_html([EVIL]), d.download_link_html(f'x.csv" onerror="alert(1)', EVIL), d.figure_html(fig)]
    plt.close(fig)
    for fragment in fragments:
        soup = BeautifulSoup(fragment, "html.parser")
        assert not soup.find_all(attrs={"onerror": True}), fragment
        assert [img.get("src", "")[:5] for img in soup.find_all("img")] in ([], ["data:"]), fragment
    kpi = BeautifulSoup(fragments[0], "html.parser")
    assert kpi.select_one(".cl-kpi-value").get_text() == kpi.select_one(".cl-kpi-label").get_text() == EVIL
    assert kpi.select_one(".cl-kpi")["data-kpi"] == EVIL
    assert BeautifulSoup(fragments[3], "html.parser").li.get_text() == EVIL
    assert BeautifulSoup(fragments[5], "html.parser").img["alt"] == EVIL


def hostile_card(name: str) -> cards.Card:
    card = next(iter(cards.client_cards(card_tables(["A1"]))))
    card.client_name = name
    card.summary.update(segment_label=name, action=name, why=name, first_quarter=name)
    card.trend = [{"quarter": name, "revenue": 1.0, "total_cost": 2.0, "margin": -1.0, "margin_pct": -1.0}] * 2
    card.measured = {"toxicity": True, "warnings": True, "spiral": True, "forecast": True}
    card.reasons = name
    card.warning = {"reasons": name, "signals": name, "revenue_at_risk": 1.0}
    card.mistakes = [{"label": name, "quarters": name, "evidence": name}]
    card.action = {"action": name, "evidence": name, "value": 1.0, "value_basis": name}
    return card


def test_a_card_escapes_every_data_string_and_may_run_nothing():
    page = card_pages.render_card(hostile_card(EVIL), "en", "USD")
    soup = BeautifulSoup(page, "html.parser")
    assert not soup.find_all("img") and not soup.find_all(attrs={"onerror": True})
    assert soup.title.get_text() == soup.h1.get_text() == soup.select_one(".cl-callout strong").get_text() == EVIL
    assert EVIL in soup.select_one(".cl-note").get_text()  # the status line
    assert soup.select_one("#pnl td").get_text() == EVIL
    assert soup.select_one("#pnl svg title").get_text().startswith(EVIL)
    policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "form-action 'none'" in policy


def test_pages_and_index_escape_file_names_titles_and_headings_and_forbid_every_host():
    """publish.py's guards: the lineage footer (input file names), the index (page titles and
    summaries, and its policy), the contents list (heading text)."""
    lineage = Lineage(data_as_of=EVIL, period_end=None, params={}, git_commit="abc", built_at=EVIL,
                      inputs=[{"file": EVIL, "bytes": 1, "blake3": EVIL}])
    footer = BeautifulSoup(lineage_html(lineage, "en"), "html.parser")
    assert not footer.find_all("img") and EVIL in [td.get_text() for td in footer.find_all("td")]
    index = BeautifulSoup(render_index([{"file": "pnl.html", "title": EVIL, "summary": EVIL}], lineage, "en"),
                          "html.parser")
    assert not index.find_all("img") and index.select_one(".cl-index-list a").get_text() == EVIL
    policy = index.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    heading = html.escape(EVIL)
    page = f'<main class="cl-page"><h1>Page</h1><h2 id="x">{heading}</h2><footer class="cl-lineage"></footer>'
    contents = BeautifulSoup(add_table_of_contents(page, "en"), "html.parser").select_one(".cl-toc")
    assert not contents.find_all("img") and contents.a.get_text() == EVIL


def test_hidden_characters_are_shown_in_the_lineage_footer():
    lineage = Lineage(data_as_of=None, period_end=None, params={}, git_commit="abc", built_at="now",
                      inputs=[{"file": "time\u202egnp.csv", "bytes": 1, "blake3": "f"}])
    assert not HIDDEN_CHARS.search(lineage_html(lineage, "en"))


# --- hidden characters -----------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Glyph")  # matplotlib has no glyph for a control character
@pytest.mark.parametrize("label", HIDDEN)
def test_hidden_characters_are_shown_in_pages(label):
    name = f"Acme{HIDDEN[label]} lost 300"
    shown = "Acme\ufffd lost 300"
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(name)
    fragments = [d.table_html(pd.DataFrame({"client_id": ["A1"], "client": [name], name: [name]}), caption=name),
                 d.kpi_html([(name, name, name)]), d.paragraph_html(name), d.list_html([name]),
                 d.download_link_html(name, name), d.figure_html(fig),
                 card_pages.render_card(hostile_card(name), "en", "USD")]
    plt.close(fig)
    for fragment in fragments:
        assert not HIDDEN_CHARS.search(fragment), (label, fragment[:200])
        assert shown in BeautifulSoup(fragment, "html.parser").get_text() or f'alt="{shown}"' in fragment, label


@pytest.mark.parametrize("label", HIDDEN)
def test_hidden_characters_are_shown_in_downloads_cells_and_headers(tmp_path, label):
    name = f"Acme{HIDDEN[label]}Corp"
    write_csv(pd.DataFrame({"client": [name, HIDDEN[label] + "=1+1"], name: ["x", "y"]}), tmp_path, "clients")
    raw = (tmp_path / "downloads" / "clients.csv").read_text(encoding="utf-8-sig")
    assert not HIDDEN_CHARS.search(raw), label
    with open(tmp_path / "downloads" / "clients.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["client", "Acme\ufffdCorp"]
    assert [r[0] for r in rows[1:]] == ["Acme\ufffdCorp", "\ufffd=1+1"]


def test_hidden_characters_cannot_smuggle_a_formula_past_the_guard():
    """Were a hidden character ever dropped rather than shown, the formula under it would be guarded."""
    out = guard_frame(pd.DataFrame({"\u200b=cmd()": ["\u200b=cmd()"]}))
    assert not str(out.columns[0]).startswith(("=", "+", "-", "@")) and not out.iat[0, 0].startswith("=")


# --- formula guard ---------------------------------------------------------------------------

@pytest.mark.parametrize("header", ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_headers_get_the_formula_guard(tmp_path, header):
    write_csv(pd.DataFrame({header: ["a"], "client": ["b"]}), tmp_path, "guarded")
    with open(tmp_path / "downloads" / "guarded.csv", encoding="utf-8-sig", newline="") as fh:
        headers = next(csv.reader(fh))
    assert headers == ["'" + header, "client"]


def test_csv_cells_get_the_formula_guard_in_every_text_column(tmp_path):
    frame = pd.DataFrame({"object": pd.Series(["=1"], dtype=object), "string": pd.array(["@x"], dtype="string"),
                          "category": pd.Categorical(["+1"]), "number": [-1.0]})
    write_csv(frame, tmp_path, "cells")
    with open(tmp_path / "downloads" / "cells.csv", encoding="utf-8-sig", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row == {"object": "'=1", "string": "'@x", "category": "'+1", "number": "-1.0"}


def test_a_carriage_return_in_a_cell_starts_no_row(tmp_path):
    """A lone CR left unquoted is a line break to a spreadsheet: the formula after it would open a row."""
    write_csv(pd.DataFrame({"client": ["Acme\r=cmd()", "Beta\n@x"], "n": [1, 2]}), tmp_path, "rows")
    raw = (tmp_path / "downloads" / "rows.csv").read_bytes().decode("utf-8-sig")
    assert '"Acme\r=cmd()"' in raw and '"Beta\n@x"' in raw, "a cell holding a line break is quoted"
    with open(tmp_path / "downloads" / "rows.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r["client"] for r in csv.DictReader(fh)] == ["Acme\r=cmd()", "Beta\n@x"]


def test_share_columns_are_shown_as_percentages():
    """A table whose heading promises a rate shows 23%, not 0.23; a missing share is not measured,
    and other columns are left as they are."""
    df = pd.DataFrame({"stage": ["a", "b"], "win_rate": [0.234, float("nan")], "won": [3, 0]})
    out = d.pct_columns(df, ["win_rate", "absent"], lang="en")
    assert out["win_rate"].tolist() == ["23%", d.fmt_pct(float("nan"), 0, "en")]
    assert out["won"].tolist() == [3, 0] and df["win_rate"].iloc[0] == 0.234  # the input is untouched
    assert d.pct_columns(df, ["win_rate"], 1, "ru")["win_rate"].iloc[0] == d.fmt_pct(0.234, 1, "ru")
