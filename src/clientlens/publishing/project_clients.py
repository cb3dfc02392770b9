"""The ingest page's table of projects standing for clients (ingest.write_project_clients_used)."""
from __future__ import annotations

import pandas as pd

from clientlens.i18n import tr
from clientlens.publishing import display as d


def project_clients_html(used: pd.DataFrame, lang: str, anonymize: bool) -> str:
    """Each project of a time export without clients, the client it stood for and whether the
    mapping file (project_clients) named it or the project's own name did. Anonymised, the
    counts alone: project and client names are what anonymising hides."""
    if used.empty:
        return d.paragraph_html(tr("Every time export names its clients.", lang))
    if anonymize:
        return d.paragraph_html(tr("Projects standing for clients: {n}; named by the mapping file: "
                                   "{listed}.", lang, n=len(used), listed=int(used.listed.sum())))
    source = used.listed.map({True: tr("the mapping file", lang), False: tr("the project's own name", lang)})
    shown = (used.assign(listed=source)[["project", "client_id", "listed", "entries", "hours"]]
             .rename(columns={"project": "project", "client_id": "client", "listed": "client from",
                              "entries": "entries", "hours": "hours"}))
    return d.table_html(shown, lang=lang)
