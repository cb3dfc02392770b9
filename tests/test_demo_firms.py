"""Two differently configured firms: the variety the generator plants, checked on the raw CSVs.

The demo firm and the agency (clientlens.demo.firms) are generated small, and what the truth
file says was planted is recomputed here from the written rows alone, without the analysis:
seasonal hours, lumpy project contracts beside steady retainers, a support phase with less
work, stale open-ended contracts, clients missing tables, and toxic clients with exactly two
markers past their config/params.yaml threshold.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clientlens import demo
from clientlens.demo.cli import main
from clientlens.demo.client_plan import phase_volume
from clientlens.demo.firms import FIRMS, OPTIONAL_TABLES, firm_config
from clientlens.demo.writer import TABLE_FILES
from clientlens.parameters import load
from clientlens.quarters import quarter_end, quarter_start, shift_quarter

CLIENTS, YEARS, SEED, END = 60, 3, 11, "2026Q3"
END_DAY = pd.Timestamp(quarter_end(END))
LAST_YEAR_START = pd.Timestamp(quarter_start(shift_quarter(END, -3)))
# Archetypes planted healthy on every toxicity marker.
HEALTHY = ("ordinary", "spiral_follower", "steady_star", "whale", "insourcing_exit")
LOWER_IS_WORSE = ("team_score", "nps")


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan))


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%Y-%m-%d")


@pytest.fixture(scope="module", params=sorted(FIRMS))
def firm(request, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp(request.param)
    truth = demo.generate(root / "raw", root / "truth.json", clients=CLIENTS, years=YEARS, seed=SEED,
                          end_quarter=END, firm=request.param)
    raw = root / "raw"
    tables = {name: pd.read_csv(raw / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in TABLE_FILES}
    te, hv = tables["time_entries"], pd.read_csv(raw / "harvest_time_report.csv", dtype=str,
                                                 keep_default_na=False)
    by_name = dict(zip(tables["clients"]["client_name"], tables["clients"]["client_id"]))
    time_all = pd.concat([
        pd.DataFrame({"client_id": te["client_id"], "date": _date(te["date"]),
                      "hours": _num(te["hours"]), "billable": te["billable"] == "true"}),
        pd.DataFrame({"client_id": hv["Client"].map(by_name), "date": _date(hv["Date"]),
                      "hours": _num(hv["Hours"]), "billable": hv["Billable?"] == "Yes"}),
    ], ignore_index=True)
    time_all["quarter"] = time_all["date"].dt.to_period("Q").astype(str)
    return {"name": request.param, "config": firm_config(request.param), "root": root,
            "truth": truth, "clients": truth["clients"], "tables": tables, "time": time_all}


def _of(firm: dict, **flags) -> list[str]:
    return [c for c, v in firm["clients"].items() if all(v[k] == want for k, want in flags.items())]


# --------------------------------------------------------------------------- seasonality

def test_hours_follow_the_planted_season(firm):
    """Billable hours per quarter of the year, phase and client size taken out, rise and fall
    with the planted quarter-of-year multipliers."""
    truth, config = firm["truth"], firm["config"]
    assert truth["firm"] == firm["name"]
    assert truth["season"] == {str(q): m for q, m in config.season_by_quarter.items()}
    steady = [c for c, v in firm["clients"].items()
              if v["archetype"] in HEALTHY + ("spiral_follower", "toxic", "toxic_pair", "late_payer")
              and v["archetype"] != "insourcing_exit" and len(v["phases"]) >= 4]
    billable = firm["time"][firm["time"]["billable"] & firm["time"]["client_id"].isin(steady)]
    hours = billable.groupby(["client_id", "quarter"])["hours"].sum().reset_index()
    volume = phase_volume(config)
    states = ("feature", "ux", "stability", "support")
    first = {c: min(firm["clients"][c]["phases"]) for c in steady}
    hours = hours[hours["quarter"] != hours["client_id"].map(first)]  # a partial first quarter
    phase = [firm["clients"][c]["phases"][q] for c, q in zip(hours["client_id"], hours["quarter"])]
    hours["log"] = np.log(hours["hours"] / volume[[states.index(p) for p in phase]])
    hours["log"] -= hours.groupby("client_id")["log"].transform("mean")
    by_quarter = np.exp(hours.groupby(hours["quarter"].str[-1].astype(int))["log"].mean())
    planted = pd.Series(config.season_by_quarter)
    seen = by_quarter / by_quarter[2]
    expected = planted / planted[2]
    assert np.allclose(seen, expected, rtol=0.06), (seen.round(3).tolist(), expected.round(3).tolist())


# --------------------------------------------------------------------------- contracts

def test_project_clients_signed_value_swings_and_retainers_does_not(firm):
    contracts = firm["tables"]["contracts"]
    value = _num(contracts["value"])
    year = _date(contracts["start_date"]).dt.year
    yearly = value.groupby([contracts["client_id"], year]).sum()
    kinds = contracts.groupby("client_id")["contract_type"].agg(set)
    retainers, projects = _of(firm, contract_kind="retainer"), _of(firm, contract_kind="project")
    assert retainers and len(projects) > len(retainers) / 2
    assert all(kinds[c] == {"retainer"} for c in retainers)
    assert all("retainer" not in kinds[c] for c in projects)
    swing = yearly.groupby(level=0).agg(lambda v: v.max() / v.min() if len(v) >= 2 else np.nan)
    assert swing[retainers].dropna().max() <= 1.07
    project_swing = swing[projects].dropna()
    assert len(project_swing) >= 10
    assert project_swing.median() >= 1.5, project_swing.describe()
    # Irregular intervals: a project client does not sign the same number of contracts every year.
    signings = contracts.groupby([contracts["client_id"], year]).size()
    assert (signings[projects].groupby(level=0).nunique() > 1).mean() >= 0.3


def test_stale_contracts_stay_open_with_no_work_and_the_active_count_is_planted(firm):
    lapse = firm["truth"]["lapse_quarters"]
    assert lapse == load().lapse_quarters
    t = firm["tables"]
    stale = _of(firm, stale_contract=True)
    assert stale, "no stale contract planted"
    quiet_since = pd.Timestamp(quarter_start(shift_quarter(END, -(lapse - 1))))
    work = firm["time"].loc[firm["time"]["date"] >= quiet_since, "client_id"]
    invoiced = t["invoices"].loc[_date(t["invoices"]["issue_date"]) >= quiet_since, "client_id"]
    recent = set(work) | set(invoiced)
    exited = set(t["clients"].loc[t["clients"]["exit_date"] != "", "client_id"])
    last = t["contracts"].sort_values("start_date").groupby("client_id").last()
    for cid in stale:
        assert last.loc[cid, "end_date"] == "", cid  # open-ended
        assert cid not in recent and cid not in exited, cid
        assert firm["clients"][cid]["churn_quarter"] is not None
    active = recent - exited
    assert firm["truth"]["active_at_end"] == len(active) == len(_of(firm, active_at_end=True))
    assert set(_of(firm, active_at_end=True)) == active


# --------------------------------------------------------------------------- phases and tables

def test_support_quarters_order_less_than_feature_quarters(firm):
    clients = firm["clients"]
    healthy = [c for c, v in clients.items() if v["archetype"] in HEALTHY + ("spiral_follower",)]
    phase_quarters = pd.Series([v["phases"][q] for c in healthy for q, v in [(q, clients[c])
                                for q in clients[c]["phases"]]])
    assert (phase_quarters == "support").mean() >= 0.15  # healthy clients walk into support
    billable = firm["time"][firm["time"]["billable"]]
    hours = billable.groupby(["client_id", "quarter"])["hours"].sum()
    req = firm["tables"]["requests"]
    req_q = pd.PeriodIndex(pd.to_datetime(req["created_at"]), freq="Q").astype(str)
    requests = req.groupby([req["client_id"], req_q]).size()
    less_hours, less_requests = [], []
    for c in healthy:
        ph = pd.Series(clients[c]["phases"])
        sup, feat = ph.index[ph == "support"], ph.index[ph == "feature"]
        if len(sup) and len(feat):
            less_hours.append(hours[c].reindex(sup).mean() < hours[c].reindex(feat).mean())
            r = requests.get(c, pd.Series(dtype=float))
            less_requests.append(r.reindex(sup, fill_value=0).mean() < r.reindex(feat, fill_value=0).mean())
    assert len(less_hours) >= 5
    assert np.mean(less_hours) >= 0.9 and np.mean(less_requests) >= 0.6


def test_missing_tables_are_really_missing(firm):
    t = firm["tables"]
    date_column = {"surveys": "survey_date", "team_feedback": "feedback_date",
                   "deliverables": "promised_date"}
    planted = 0
    for cid, v in firm["clients"].items():
        assert set(v["tables_missing"]) <= set(OPTIONAL_TABLES)
        for table in v["tables_missing"]:
            assert not (t[table]["client_id"] == cid).any(), (cid, table)
        planted += bool(set(v["tables_missing"]) - {"surveys"})
        if v["toxic"] or v["archetype"] in ("silent_churner", "spiral_breaker"):
            assert v["tables_missing"] in ([], ["surveys"]) or v["archetype"] != "toxic_pair", cid
        for table in set(OPTIONAL_TABLES) - set(v["tables_missing"]) - {"surveys"}:
            if len(v["phases"]) >= 4 and table == "team_feedback":
                assert (t[table]["client_id"] == cid).any(), (cid, table)
    assert all(t[name][date_column[name]].ne("").all() for name in date_column)
    assert planted >= 0.05 * CLIENTS


# --------------------------------------------------------------------------- toxicity markers

def _last_year(frame: pd.DataFrame, dates: pd.Series) -> pd.DataFrame:
    return frame[(dates >= LAST_YEAR_START) & (dates <= END_DAY)]


def raw_markers(t: dict[str, pd.DataFrame], min_events: int) -> pd.DataFrame:
    """The client-behaviour toxicity markers over the last four quarters, from raw rows
    (a share needs min_events events)."""
    inv = t["invoices"]
    due = _date(inv["due_date"])
    inv = _last_year(inv, due)
    paid = _date(inv["paid_date"]).fillna(END_DAY).clip(upper=END_DAY)
    late = (paid - _date(inv["due_date"])).dt.days.groupby(inv["client_id"]).mean()

    req = t["requests"]
    created = pd.to_datetime(req["created_at"], format="%Y-%m-%d %H:%M")
    req = _last_year(req.assign(created=created), created)
    after = (req["created"].dt.day_of_week >= 5) | (req["created"].dt.hour >= 19) | (req["created"].dt.hour < 9)

    def share(flag: pd.Series, of: pd.Series) -> pd.Series:
        n = of.groupby(req["client_id"]).sum()
        return (flag & of).groupby(req["client_id"]).sum().div(n).where(n >= min_events)

    everything = pd.Series(True, index=req.index)
    kind = req["request_type"]
    urgent = req["urgency"].isin(["high", "urgent"])

    def quarterly_mean(frame: pd.DataFrame, dates: pd.Series, values: pd.Series) -> pd.Series:
        q = dates.dt.to_period("Q")
        return values.groupby([frame["client_id"], q]).mean().groupby(level=0).mean()

    fb = t["team_feedback"]
    fb_day = _date(fb["feedback_date"])
    fb = _last_year(fb.assign(day=fb_day), fb_day)
    esc = (fb["escalation"] == "true").groupby([fb["client_id"], fb["day"].dt.to_period("Q")]).sum()
    d = t["deliverables"]
    d_day = _date(d["delivered_date"])
    d = _last_year(d, d_day)
    n_delivered = d.groupby("client_id").size()
    shelved = (d["status"] == "shelved").groupby(d["client_id"]).sum().div(n_delivered)
    s = t["surveys"]
    s = s[s["survey_type"] == "nps"]
    s_day = _date(s["survey_date"])
    s = _last_year(s.assign(day=s_day), s_day)
    return pd.DataFrame({
        "late_payment": late,
        "urgent_after_hours": share(urgent & after, everything),
        "contradicting": share(req["contradicts_earlier"] == "true", kind == "change_request"),
        "approval_days": _num(req["approval_lead_days"]).groupby(req["client_id"]).mean(),
        "team_score": quarterly_mean(fb, fb["day"], _num(fb["score"])),
        "escalations": esc.groupby(level=0).mean(),
        "shelved_share": shelved.where(n_delivered >= min_events),
        "estimate_no_order": share(req["became_order"] == "false", kind == "estimate_request"),
        "nps": quarterly_mean(s, s["day"], _num(s["score"])),
    })


def past_threshold(values: pd.DataFrame) -> pd.DataFrame:
    markers = load().toxicity.markers
    out = pd.DataFrame(index=values.index)
    for name in values.columns:
        threshold = markers[name].threshold
        out[name] = values[name] <= threshold if name in LOWER_IS_WORSE else values[name] >= threshold
    return out


def test_two_marker_toxic_clients_have_exactly_their_two_markers(firm):
    values = raw_markers(firm["tables"], load().toxicity.min_events)
    past = past_threshold(values).reindex(list(firm["clients"]), fill_value=False)
    pairs = _of(firm, archetype="toxic_pair")
    assert len(pairs) >= 3
    for cid in pairs:
        v = firm["clients"][cid]
        assert v["toxic"] and len(v["toxic_markers"]) == 2
        found = set(past.columns[past.loc[cid]])
        assert found == set(v["toxic_markers"]), (cid, values.loc[cid].round(2).to_dict())
    for cid in _of(firm, archetype="toxic"):
        planted = firm["clients"][cid]["toxic_markers"]
        assert len(planted) >= 5
        assert past.loc[cid, planted].mean() >= 0.7, (cid, values.loc[cid].round(2).to_dict())


def test_healthy_clients_stay_below_every_threshold(firm):
    values = raw_markers(firm["tables"], load().toxicity.min_events)
    healthy = [c for c in _of(firm, toxic=False) if firm["clients"][c]["archetype"] in HEALTHY
               and firm["clients"][c]["active_at_end"]]
    past = past_threshold(values).reindex(healthy, fill_value=False)
    assert len(healthy) >= 15
    assert past.mean().max() <= 0.05, past.mean().round(3).to_dict()
    assert all(not firm["clients"][c]["toxic_markers"] for c in healthy)
    # Deliverables mostly on time, with a tail of late ones.
    d = firm["tables"]["deliverables"]
    d = d[d["client_id"].isin(healthy) & (d["delivered_date"] != "")]
    late = (_date(d["delivered_date"]) > _date(d["promised_date"])).mean()
    assert 0.03 <= late <= 0.2


# --------------------------------------------------------------------------- two firms

def test_same_seed_same_bytes(tmp_path):
    for run in ("a", "b"):
        demo.generate(tmp_path / run, tmp_path / f"{run}.json", clients=30, years=2, seed=SEED,
                      end_quarter=END, firm="agency")
    for name in TABLE_FILES + ("harvest_time_report",):
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_the_two_firms_differ(tmp_path):
    out = {}
    for name in sorted(FIRMS):
        truth = demo.generate(tmp_path / name, tmp_path / f"{name}.json", clients=40, years=2,
                              seed=SEED, end_quarter=END, firm=name)
        fx = pd.read_csv(tmp_path / name / "fx_rates.csv")
        invoices = pd.read_csv(tmp_path / name / "invoices.csv")
        out[name] = {"truth": truth, "fx": set(fx["currency"]), "billed": set(invoices["currency"]),
                     "retainers": np.mean([v["contract_kind"] == "retainer"
                                           for v in truth["clients"].values()])}
    assert out["agency"]["fx"] == out["agency"]["billed"] == {"USD", "EUR", "GBP"}
    assert out["demo"]["fx"] == {"USD", "EUR"}
    assert out["agency"]["truth"]["archetype_mix"] != out["demo"]["truth"]["archetype_mix"]
    assert out["agency"]["retainers"] < out["demo"]["retainers"]
    season = {n: out[n]["truth"]["season"] for n in out}
    assert season["agency"]["4"] / season["agency"]["1"] > season["demo"]["4"] / season["demo"]["1"] + 0.3


def test_the_command_line_picks_the_firm(tmp_path):
    rc = main(["--out", str(tmp_path / "raw"), "--truth", str(tmp_path / "t.json"), "--clients", "30",
               "--years", "2", "--seed", "3", "--end-quarter", "2025Q4", "--firm", "agency"])
    assert rc == 0
    truth = json.loads((tmp_path / "t.json").read_text())
    assert truth["firm"] == "agency" and truth["firm_config"]["name"] == "agency"
    assert "GBP" in (tmp_path / "raw" / "fx_rates.csv").read_text()


def test_an_unknown_firm_is_refused_with_the_choices(tmp_path):
    with pytest.raises(ValueError, match="agency"):
        demo.generate(tmp_path, tmp_path / "t.json", clients=30, years=2, seed=SEED, end_quarter=END,
                      firm="bakery")
