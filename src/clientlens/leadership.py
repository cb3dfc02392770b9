"""The leadership page's headline figures, each taken from the stage that computes it.

Nothing here recomputes a metric: revenue and margin come from the P&L stage, risk from the
toxicity and segment stages, the forecast from the spiral stage, so the first screen can never
disagree with the detail pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from clientlens import pnl


@dataclass(frozen=True)
class Headline:
    revenue_last4: float
    margin_last4: float
    margin_pct_last4: float | None
    top20_profit_share: float | None
    clients_active: int
    clients_at_risk: int
    revenue_at_risk: float
    forecast_quarter: str | None
    forecast_mean: float | None
    forecast_lo: float | None
    forecast_hi: float | None
    forecast_level: int | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def at_risk_clients(segments: pd.DataFrame, warnings: pd.DataFrame, red_segments=("difficult",
                    "toxic_unprofitable", "stale_communicator", "gone_quiet")) -> pd.DataFrame:
    """Clients at risk: an early warning firing, or a segment that puts the relationship at risk.

    One row per client with the revenue at risk (its last four quarters' revenue).
    """
    flagged = segments.loc[segments["segment"].isin(red_segments), ["client_id", "client_name", "revenue"]]
    warned = warnings[["client_id", "client_name", "revenue_at_risk"]].rename(columns={"revenue_at_risk": "revenue"})
    both = pd.concat([flagged, warned], ignore_index=True)
    both["revenue"] = both["revenue"].fillna(0.0)
    return (both.sort_values("revenue", ascending=False, kind="mergesort")
            .drop_duplicates("client_id").reset_index(drop=True))


def headline(pnl_clients: pd.DataFrame, segments: pd.DataFrame, warnings: pd.DataFrame,
             forecast_portfolio: pd.DataFrame | None, level: int = 80) -> Headline:
    live = pnl_clients.loc[pnl_clients["status"] == "active"]
    revenue = float(pnl_clients["revenue_last4"].sum())
    margin = float(pnl_clients["margin_last4"].sum())
    risk = at_risk_clients(segments, warnings)
    top = pnl.top_share(pnl_clients, 0.2)
    fq = fmean = flo = fhi = None
    if forecast_portfolio is not None and len(forecast_portfolio):
        first = forecast_portfolio.sort_values("quarter_index").iloc[0]
        fq, fmean = str(first["quarter"]), float(first["revenue_mean"])
        flo, fhi = float(first[f"revenue_lo_{level}"]), float(first[f"revenue_hi_{level}"])
    return Headline(
        revenue_last4=revenue,
        margin_last4=margin,
        margin_pct_last4=margin / revenue if revenue else None,
        top20_profit_share=float(top["profit_share"]) if pd.notna(top["profit_share"]) else None,
        clients_active=int(len(live)),
        clients_at_risk=int(len(risk)),
        revenue_at_risk=float(risk["revenue"].sum()),
        forecast_quarter=fq, forecast_mean=fmean, forecast_lo=flo, forecast_hi=fhi,
        forecast_level=level if fq else None,
    )


def save_headline(head: Headline, processed_dir) -> None:
    """leadership_kpis.json: the first screen's figures, for audit and for the KPI tests."""
    import json
    from pathlib import Path

    (Path(processed_dir) / "leadership_kpis.json").write_text(
        json.dumps(head.as_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
