"""Helpdesk exports: Zendesk tickets, to requests and, where the client rated the ticket, to surveys.

Zendesk's ticket export (Admin Center > Account > Tools > Reports > Export, CSV) has one row
per ticket. The organisation is the client. How its fields land (docs/data-contract.md):
- Type: incident and problem are incidents, question a question, task (or no type) support,
  unless a tag says change_request or estimate_request (a tag names our own categories);
- Priority is the urgency, as Zendesk names it (low, normal, high, urgent);
- Status: a ticket solved, closed or pending (answered, waiting for the client) was followed
  up; new, open or on hold not yet;
- Satisfaction Score: good is 5 and bad 1 on the CSAT scale (1-5), dated when the ticket was
  solved (else last updated, else created); a ticket not rated (offered, unoffered, empty)
  is no survey, and is counted so in the ingest summary.
"""
from __future__ import annotations

from clientlens.intake.readers.mapping import Export, FileMapping, Headers, first_given, present
from clientlens.intake.readers.source import lit

CSAT_GOOD, CSAT_BAD = 5, 1
ZENDESK_NEEDS = (("id",), ("requester",), ("organization",), ("subject",), ("created at",),
                 ("ticket type", "type"), ("priority",))


def _lower(expr: str) -> str:
    return f"lower(coalesce(cl_text({expr}), ''))"


def _tagged(tags: str | None, word: str) -> str:
    """The ticket's tags (space-separated, as Zendesk exports them) hold `word`."""
    return f"list_contains(string_split({_lower(tags)}, ' '), {lit(word)})" if tags else "false"


def zendesk(h: Headers) -> FileMapping:
    kind, tags, score = h.col("ticket type", "type"), h.col("tags"), h.col("satisfaction score")
    status = h.col("status")
    request_type = (
        f"CASE WHEN {_tagged(tags, 'change_request')} THEN 'change_request' "
        f"WHEN {_tagged(tags, 'estimate_request')} THEN 'estimate_request' "
        f"WHEN {_lower(kind)} IN ('incident', 'problem') THEN 'incident' "
        f"WHEN {_lower(kind)} = 'question' THEN 'question' "
        f"WHEN {_lower(kind)} IN ('task', '', '-') THEN 'support' ELSE cl_text({kind}) END")
    followed = (f"CASE WHEN {_lower(status)} IN ('solved', 'closed', 'pending') THEN 'true' "
                f"WHEN {_lower(status)} IN ('new', 'open', 'hold', 'on-hold') THEN 'false' END"
                if status else None)
    ticket, client = h.col("id"), h.col("organization")
    requests = {
        "request_id": ticket, "client_id": client, "request_type": request_type,
        "created_at": h.col("created at"), "urgency": f"nullif({_lower(h.col('priority'))}, '')",
        "followed_up": followed,
    }
    also = ()
    if score:
        rated = f"regexp_matches({_lower(score)}, '^(good|bad)')"
        surveys = {
            "survey_id": ticket, "client_id": client,
            "survey_date": first_given(h.col("solved at"), h.col("updated at"), h.col("created at")),
            "survey_type": lit("csat"),
            "score": (f"CASE WHEN starts_with({_lower(score)}, 'good') THEN '{CSAT_GOOD}' "
                      f"WHEN starts_with({_lower(score)}, 'bad') THEN '{CSAT_BAD}' END"),
            "respondent": h.col("requester"),
        }
        also = (FileMapping("surveys", "zendesk", present(surveys),
                            skip=((f"cl_text({ticket}) IS NOT NULL AND NOT {rated}",
                                   "ticket not rated (offered, unoffered or no score)"),)),)
    return FileMapping("requests", "zendesk", present(requests), also=also)


ADAPTERS: tuple[Export, ...] = (
    Export("zendesk", "requests", ZENDESK_NEEDS, zendesk, label="Zendesk"),
)
