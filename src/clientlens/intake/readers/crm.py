"""CRM deal exports: HubSpot's deals export, to the deals table.

HubSpot (CRM > Deals > Export, CSV or XLSX) writes one row per deal, headed by the property
labels (knowledge.hubspot.com, "HubSpot's default deal properties"). How its fields land
(docs/data-contract.md):
- Deal Stage says the outcome as well: a closed-won stage is won, a closed-lost stage lost,
  any other stage open, and stays the deal's stage. A closed deal's stage says only that it
  closed, not the stage it closed from, so its stage is left empty (not measured);
- Close Date is "the day the deal is expected to close, or was closed": the expected close of
  an open deal, the closing day of a won or lost one;
- Associated Company is the company the deal is for: a prospect, or, where it reads as an
  existing client, that client's deal (analysis/pipeline.py matches it).
"""
from __future__ import annotations

from clientlens.intake.readers.mapping import Export, FileMapping, Headers, first_given, present

# Stage labels and internal names of HubSpot's closed stages in the default sales pipeline.
HUBSPOT_WON = ("closed won", "closedwon")
HUBSPOT_LOST = ("closed lost", "closedlost")
HUBSPOT_NEEDS = (("record id", "deal id"), ("deal name",), ("deal stage",), ("close date",),
                 ("create date",))


def _squeezed(expr: str) -> str:
    """The cell in lower case with its spaces squeezed: 'Closed  Won' -> 'closed won'."""
    return f"lower(regexp_replace(trim(coalesce(cl_text({expr}), '')), '\\s+', ' ', 'g'))"


def _in(expr: str, words: tuple[str, ...]) -> str:
    return f"{_squeezed(expr)} IN ({', '.join(repr(w) for w in words)})"


def hubspot(h: Headers) -> FileMapping:
    stage, close = h.col("deal stage"), h.col("close date")
    won, lost = _in(stage, HUBSPOT_WON), _in(stage, HUBSPOT_LOST)
    outcome = f"CASE WHEN {won} THEN 'won' WHEN {lost} THEN 'lost' ELSE 'open' END"
    cols = {
        "deal_id": h.col("record id", "deal id"), "deal_name": h.col("deal name"),
        "prospect": first_given(h.col("associated company"), h.col("company name"),
                                h.col("associated company (primary)")),
        "stage": f"CASE WHEN {won} OR {lost} THEN NULL ELSE {stage} END",
        "amount": h.col("amount"), "currency": h.col("currency", "deal currency code"),
        "created_date": h.col("create date"),
        "expected_close_date": f"CASE WHEN {won} OR {lost} THEN NULL ELSE {close} END",
        "closed_date": f"CASE WHEN {won} OR {lost} THEN {close} END",
        "outcome": outcome,
        "lost_reason": h.col("closed lost reason"),
    }
    return FileMapping("deals", "hubspot", present(cols))


ADAPTERS: tuple[Export, ...] = (
    Export("hubspot", "deals", HUBSPOT_NEEDS, hubspot, label="HubSpot"),
)
