"""Executed notebooks -> self-contained HTML pages, published atomically.

Pages carry no code and no prompts, a table of contents, every image and style
inline, and a lineage footer. Their Content-Security-Policy allows no request to
any host and no script but the project's own table script, so a page forwarded by
mail cannot call out or run anything a client's name smuggled in.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import nbformat

from clientlens.i18n import N_, t, tr, translate_markdown
from clientlens.publishing.display import escape
from clientlens.publishing.run_status import built_line, status_placeholder
from clientlens.publishing.twins import Twin, twin_link_html
from clientlens.processed import reporting_currency
from clientlens.quarters import date_label, quarter_label

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


@dataclass
class Lineage:
    """Where a page's numbers come from."""

    data_as_of: str | None
    period_end: str | None
    params: dict[str, Any]
    git_commit: str
    inputs: list[dict[str, Any]] = field(default_factory=list)
    built_at: str = ""


def git_commit(project_root: Path) -> str:
    """The commit the code is at, marked `+changes` when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return NOT_A_CHECKOUT
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=project_root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + (" +changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return NO_GIT


# What git_commit says when it cannot name a commit; the footer shows it in the page's language.
NOT_A_CHECKOUT = N_("unknown (not a git checkout)")
NO_GIT = N_("unknown (git not available)")
WITH_CHANGES = " +changes"


def commit_label(commit: str, lang: str) -> str:
    """git_commit's text as the footer shows it in `lang`."""
    if commit in (NOT_A_CHECKOUT, NO_GIT):
        return tr(commit, lang)
    if commit.endswith(WITH_CHANGES):
        return tr("{commit} with changes not yet committed", lang, commit=commit[:-len(WITH_CHANGES)])
    return commit


def moment_label(moment: str | None, lang: str) -> str:
    """A time now_utc() wrote ("2026-12-06 13:30 UTC") or a day ("2026-09-30") as a reader writes
    it in `lang`: "6 Dec 2026 13:30 UTC", "06.12.2026 13:30 UTC"; "unknown" when there is none."""
    if not moment:
        return t("unknown", lang)
    day, _, rest = str(moment).partition(" ")
    return " ".join(filter(None, [date_label(day, lang), rest]))


def script_hash(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(script: str) -> str:
    return ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
            f"script-src 'sha256-{script_hash(script)}'; base-uri 'none'; form-action 'none'")


def lineage_html(lineage: Lineage, lang: str, full: bool = True) -> str:
    """The lineage footer; `full=False` leaves out the parameters and the input files
    (a client card links to the index, whose footer has them)."""
    e = escape
    rows = [
        (t("data_as_of", lang), moment_label(lineage.data_as_of, lang)),
        (t("period_end", lang), quarter_label(lineage.period_end, lang) if lineage.period_end else t("unknown", lang)),
        (t("git_commit", lang), commit_label(lineage.git_commit, lang)),
        (t("built_at", lang), moment_label(lineage.built_at, lang)),
    ]
    out = [f'<footer class="cl-lineage" id="lineage"><h2>{e(t("lineage", lang))}</h2><table>']
    out += [f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows]
    out.append("</table>")
    if not full:
        return "\n".join(out) + "</footer>"
    out.append(f"<details><summary>{e(t('parameters', lang))}</summary><pre>"
               f"{e(json.dumps(lineage.params, indent=2, ensure_ascii=False, sort_keys=True, default=str))}"
               "</pre></details>")
    inputs = lineage.inputs
    if lineage.params.get("anonymize"):
        from clientlens.intake.panel import anonymized_inputs

        inputs = anonymized_inputs(inputs)  # each file named by its checksum, never by its name
    out.append(f"<details><summary>{e(t('inputs', lang))} ({len(inputs)})</summary>"
               f"<table><tr><th>{e(t('file', lang))}</th><th>{e(t('bytes', lang))}</th>"
               f"<th>{e(t('blake3', lang))}</th></tr>")
    for item in inputs:
        out.append(f"<tr><td>{e(str(item.get('file', '')))}</td><td>{e(str(item.get('bytes', '')))}</td>"
                   f"<td><code>{e(str(item.get('blake3', '')))}</code></td></tr>")
    out.append("</table></details>")
    out.append(f'<p class="cl-note">{e(t("audit_note", lang))}</p></footer>')
    return "\n".join(out)


def _strip_for_readers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what leadership should not see: stderr chatter, and cells tagged remove-cell."""
    cells = []
    for cell in nb.cells:
        if "remove-cell" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        cells.append(cell)
    nb.cells = cells
    return nb


METHOD_TAG = "method"


def fold_method(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """Each markdown cell tagged `method` (the files read and written, models and formulas) as a
    closed "Method and sources" section: a reader who wants the business answer scrolls past it.
    Run after translation, so the cell's paragraphs are looked up as written."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for cell in nb.cells:
        if cell.cell_type == "markdown" and METHOD_TAG in cell.get("metadata", {}).get("tags", []):
            # one HTML block with no blank line in it: the page's markdown renderer would close
            # <details> at the first blank line and leave the body outside it
            body = "\n".join(line for line in markdown2html_mistune(cell.source).splitlines() if line.strip())
            cell.source = (f'<details class="cl-method" id="method"><summary>'
                           f'{escape(tr("Method and sources", lang))}</summary>\n{body}\n</details>')
    return nb


def translate_notebook(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """Markdown cells in the report's language (the notebooks' narrative is English)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, lang)
    return nb


def page_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def page_summary(nb: nbformat.NotebookNode) -> str:
    """The first plain paragraph of the first markdown cell: what the page answers."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for para in cell.source.split("\n\n"):
                para = para.strip()
                if para and not para.startswith("#"):
                    return re.sub(r"[*_`]", "", para)
            return ""
    return ""


HEADING = re.compile(r"<(h[23])\b([^>]*)>(.*?)</\1>", re.S)
HEADING_ID = re.compile(r'\bid="([^"]*)"')
ANCHOR_LINK = re.compile(r'<a class="anchor-link" href="[^"]*">[^<]*</a>')
MAIN_OPEN = '<main class="cl-page">'
FOOTER_OPEN = '<footer class="cl-lineage"'
NO_IMAGE_TEXT = "No description has been provided for this image"


def _heading_text(inner_html: str) -> str:
    """The text of a heading's inner HTML, its pieces stripped and joined by spaces."""
    pieces = (html.unescape(p).strip() for p in re.split(r"<[^>]+>", inner_html))
    return " ".join(p for p in pieces if p)


def add_table_of_contents(page: str, lang: str) -> str:
    """Insert a contents list of the page's h2/h3 headings (not the footer's) after its title.

    The page is nbconvert's own output, so its headings are found by pattern rather than
    by an HTML parser: parsing a page of ten thousand table rows took seconds.
    """
    start = page.find(MAIN_OPEN)
    if start < 0:
        return page
    start += len(MAIN_OPEN)
    end = page.find(FOOTER_OPEN, start)
    end = len(page) if end < 0 else end
    body = ANCHOR_LINK.sub("", page[start:end])
    used: set[str] = set()
    items: list[tuple[str, str, str]] = []  # (tag, id, text)

    def number(match: re.Match) -> str:
        tag, attrs, inner = match.groups()
        found = HEADING_ID.search(attrs)
        ident = html.unescape(found.group(1)) if found else f"section-{len(items) + 1}"
        while ident in used:
            ident += "-x"
        used.add(ident)
        items.append((tag, ident, _heading_text(inner)))
        attrs = HEADING_ID.sub("", attrs).rstrip()
        return f'<{tag} id="{escape(ident)}"{attrs}>{inner}</{tag}>'

    body = HEADING.sub(number, body)
    if not items:
        return page[:start] + body + page[end:]
    # An h2 gathers the h3s after it; an h3 before any h2 stands on its own.
    groups: list[tuple[str, list[str], bool]] = []  # (link, sub-links, is an h2)
    e = escape
    for tag, ident, text in items:
        link = f'<a href="#{e(ident)}">{e(text)}</a>'
        if tag == "h3" and groups and groups[-1][2]:
            groups[-1][1].append(link)
        else:
            groups.append((link, [], tag == "h2"))
    entries = "".join(f"<li>{link}<ol>{''.join(f'<li>{s}</li>' for s in subs)}</ol></li>" if subs
                      else f"<li>{link}</li>" for link, subs, _h2 in groups)
    nav = (f'<nav class="cl-toc" aria-label="{e(t("contents", lang))}">'
           f'<div class="cl-toc-title">{e(t("contents", lang))}</div><ol>{entries}</ol></nav>')
    title_end = body.find("</h1>")
    body = (body[:title_end + 5] + nav + body[title_end + 5:]) if title_end >= 0 else nav + body
    return page[:start] + body + page[end:]


@functools.cache
def pager_words(lang: str) -> str:
    """The words report.js writes under a paged table, in the page's language, as JSON."""
    return json.dumps({"previous": "\u2039 " + tr("Previous", lang), "next": tr("Next", lang) + " \u203a",
                       "rows": tr("Rows {a}–{b} of {n}", lang), "none": tr("No matching rows", lang)},
                      ensure_ascii=False)


def _exporter_class():
    """nbconvert's HTML exporter, less the pass that re-parses its whole output with an HTML
    parser to add image alt texts and tab stops (seconds on a page of ten thousand rows).
    finish_page adds the alt texts; the tab stops go on `.jp-Notebook` outputs, which our
    template does not have."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            resources = self._init_resources(resources)
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return PageExporter


def finish_page(page: str) -> str:
    """What nbconvert's own pass adds to our pages: an alt text on images without one."""
    return re.sub(r"<img(?![^>]*\balt=)", f'<img alt="{NO_IMAGE_TEXT}"', page)


def render_page(executed: Path, lineage: Lineage, lang: str, twin: Twin | None = None,
                page_file: str = "") -> tuple[str, str, str]:
    """(html, title, summary) of one executed notebook, published as `page_file`; its top bar
    links to its `twin` in the other language."""
    nb = fold_method(translate_notebook(_strip_for_readers(nbformat.read(executed, as_version=4)), lang), lang)
    title = page_title(nb, executed.stem)
    script = (STATIC_DIR / "report.js").read_text(encoding="utf-8")
    exporter = _exporter_class()(
        template_name="clientlens",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {
        "clientlens": {
            "lang": lang,
            "title": title,
            "css": (STATIC_DIR / "report.css").read_text(encoding="utf-8"),
            "script": script,
            "csp": content_security_policy(script),
            "home_label": t("home", lang),
            "twin_link": twin_link_html(twin, page_file),
            # the leadership page says when it was built, and where a failed later run says so
            "run_status": (built_line(moment_label(lineage.built_at, lang), moment_label(lineage.data_as_of, lang), lang)
                           + status_placeholder(moment_label(lineage.built_at, lang))
                           if Path(page_file).stem == LEADERSHIP_STAGE else ""),
            "pager_words": pager_words(lang),
            "lineage_html": lineage_html(lineage, lang),
        }
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return add_table_of_contents(finish_page(body), lang), title, page_summary(nb)


def render_index(pages: list[dict[str, str]], lineage: Lineage, lang: str, twin: Twin | None = None) -> str:
    e = escape
    css = (STATIC_DIR / "report.css").read_text(encoding="utf-8")
    items = "\n".join(
        f'<li><a href="{e(p["file"])}">{e(p["title"])}</a><div class="cl-note">{e(p["summary"])}</div></li>'
        for p in pages)
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
    return f"""<!DOCTYPE html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="Content-Security-Policy" content="{e(policy)}">
<title>{e(t("index_title", lang))}</title><style>{css}</style></head>
<body><header class="cl-topbar"><a href="index.html">{e(t("home", lang))}</a>{twin_link_html(twin, "index.html")}</header>
<main class="cl-page">{status_placeholder(moment_label(lineage.built_at, lang))}<h1>{e(t("index_title", lang))}</h1>
<p class="cl-note">{e(t("built_at", lang))}: {e(moment_label(lineage.built_at, lang))} · {e(t("data_as_of", lang))}: {e(moment_label(lineage.data_as_of, lang))}</p>
<ul class="cl-index-list">
{items}
</ul>
{lineage_html(lineage, lang)}
</main></body></html>
"""


LEADERSHIP_STAGE = "leadership"


def ordered_for_readers(executed: Iterable[Path]) -> list[Path]:
    """Chain order, but the leadership page first: it is the one page most readers open."""
    return sorted(executed, key=lambda p: (re.sub(r"^\d+-", "", p.stem) != LEADERSHIP_STAGE, p.name))


def write_client_cards(processed_dir: Path, site_dir: Path, lineage: Lineage, lang: str,
                       twin: Twin | None = None) -> int:
    """reports/clients/<slug>.html: a card per client of the P&L stage (none before it ran)."""
    from clientlens.analysis.cards import client_cards, load_card_tables
    from clientlens.publishing.cards import write_cards

    tables = load_card_tables(processed_dir)
    if tables.get("pnl_clients") is None:
        return 0
    css = (STATIC_DIR / "report.css").read_text(encoding="utf-8")
    currency = reporting_currency(processed_dir)
    return write_cards(client_cards(tables, lang), site_dir, lang, currency, css,
                       lineage_html(lineage, lang, full=False), twin=twin)


PROJECT_SHOWN_AS = "."


def notebook_for_readers(executed: Path, project_root: Path) -> str:
    """An executed notebook's text as published: the project's folder, which papermill wrote
    into the parameters cell and the metadata (and which may be named after a client), is "."."""
    text = executed.read_text(encoding="utf-8")
    root = str(project_root)
    # in the notebook's JSON the path is a JSON string; on Windows its separators are doubled
    return text.replace(json.dumps(root)[1:-1], PROJECT_SHOWN_AS)


def build_site(executed_dir: Path, site_dir: Path, lineage: Lineage, lang: str,
               processed_dir: Path | None = None, twin: Twin | None = None,
               project_root: Path | None = None) -> list[dict[str, str]]:
    """Render every executed notebook, the index, and copies of the notebooks, into site_dir;
    every page's top bar links to its `twin` in the other language's site. The published
    notebooks name `project_root` (by default the folder holding build/executed/) as ".".

    The CSV downloads the notebooks wrote into `processed_dir/downloads/` are copied into
    `site_dir/downloads/`, so they are published with the pages that link to them.
    """
    if site_dir.exists():
        shutil.rmtree(site_dir)
    (site_dir / "executed").mkdir(parents=True)
    if processed_dir is not None:
        downloads = sorted((Path(processed_dir) / "downloads").glob("*.csv"))
        if downloads:
            (site_dir / "downloads").mkdir()
        for csv_file in downloads:
            shutil.copy2(csv_file, site_dir / "downloads" / csv_file.name)
    pages = []
    for executed in ordered_for_readers(executed_dir.glob("*.ipynb")):
        name = re.sub(r"^\d+-", "", executed.stem) + ".html"
        page, title, summary = render_page(executed, lineage, lang, twin, name)
        (site_dir / name).write_text(page, encoding="utf-8")
        (site_dir / "executed" / executed.name).write_text(
            notebook_for_readers(executed, project_root or executed_dir.resolve().parent.parent),
            encoding="utf-8")
        pages.append({"file": name, "title": title, "summary": summary, "notebook": executed.name})
    if processed_dir is not None:
        write_client_cards(Path(processed_dir), site_dir, lineage, lang, twin)
    (site_dir / "index.html").write_text(render_index(pages, lineage, lang, twin), encoding="utf-8")
    (site_dir / "pages.json").write_text(json.dumps(pages, indent=2, ensure_ascii=False), encoding="utf-8")
    return pages


def publish(site_dir: Path, reports_dir: Path) -> None:
    """Publish a fully built site as reports/, whole: readers find the last set or the new one,
    never a mix, even when the run is killed or the disk is full (clientlens.publishing.release)."""
    from clientlens.publishing.release import release

    release(site_dir, reports_dir)


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
