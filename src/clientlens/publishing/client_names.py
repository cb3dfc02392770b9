"""The ingest page's table of the names the files gave their clients (ingest.write_client_names_used)."""
from __future__ import annotations

import pandas as pd

from clientlens.i18n import tr
from clientlens.publishing import display as d


def client_names_html(used: pd.DataFrame, lang: str, anonymize: bool) -> str:
    """Each value a file named a client by other than its id as the clients file writes it (a
    name, another case or spacing), the client it was read as, and the rows naming it so.
    Anonymised, the counts alone: the names are what anonymising hides."""
    if used.empty:
        return d.paragraph_html(tr("Every file names its clients by their ids as the clients file writes them.",
                                   lang))
    if anonymize:
        return d.paragraph_html(tr("Clients named otherwise than by their id: {n} ways of writing them, "
                                   "in {rows} rows.", lang, n=len(used), rows=int(used["rows"].sum())))
    shown = used[["file", "written", "client_id", "client_name", "rows"]].rename(
        columns={"written": "written as", "client_id": "client id", "client_name": "client name"})
    return d.table_html(shown, lang=lang)
