"""The demo company: deterministic, in the contract's shape, and carrying its planted truth.

Everything here reads the CSVs the generator wrote (as the analysis would) and checks them
against the truth file, so a change to the generator that blurs a planted signal fails here.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clientlens import demo
from clientlens.demo import writer
from clientlens.demo.archetypes import ARCHETYPE_SHARES, assign_clients
from clientlens.demo.cli import main
from clientlens.demo.client_plan import plan_client
from clientlens.demo.people import make_people
from clientlens.demo.random_streams import STREAM_RENDER, rng_for
from clientlens.demo.spiral_chain import MISTAKES, STATES
from clientlens.demo.team import make_team
from clientlens.demo.time_entries import TASKS, render_time
from clientlens.demo.window import make_calendar
from clientlens.demo.writer import TABLE_FILES
from clientlens.intake.contract import TABLES
from clientlens.parameters import load
from clientlens.quarters import quarter_end

CLIENTS, YEARS, SEED, END = 30, 2, 7, "2026Q3"
END_DAY = pd.Timestamp(quarter_end(END))


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("demo")
    truth = demo.generate(root / "raw", root / "truth.json", clients=CLIENTS, years=YEARS, seed=SEED,
                          end_quarter=END)
    return {"root": root, "raw": root / "raw", "truth": truth}


@pytest.fixture(scope="module")
def tables(company) -> dict[str, pd.DataFrame]:
    raw = company["raw"]
    out = {name: pd.read_csv(raw / f"{name}.csv", dtype=str, keep_default_na=False)
           for name in TABLE_FILES}
    out["harvest"] = pd.read_csv(raw / "harvest_time_report.csv", dtype=str, keep_default_na=False)
    return out


@pytest.fixture(scope="module")
def params() -> dict:
    return load().model_dump(mode="json")


def written(tables: dict) -> dict:
    """The contract's tables the demo writes: not the rate card nor the project map, which
    price and place exports that carry no money or client (the demo's carry both)."""
    return {name: t for name, t in tables.items() if name in TABLE_FILES}


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.replace("", np.nan))


def _date(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None), format="%Y-%m-%d")


def _work_type(task: str, rules: list[dict]) -> str:
    for rule in rules:
        if re.search(rule["pattern"], task, flags=re.IGNORECASE):
            return rule["work_type"]
    return "other"


@pytest.fixture(scope="module")
def time_all(tables, params) -> pd.DataFrame:
    """Both time exports as one canonical table (Harvest rows mapped the adapter's way)."""
    te = tables["time_entries"]
    canon = pd.DataFrame({
        "client_id": te["client_id"], "date": _date(te["date"]), "task": te["task"],
        "person": te["person"], "hours": _num(te["hours"]), "billable": te["billable"] == "true",
        "billable_amount": _num(te["billable_amount"]), "cost_amount": _num(te["cost_amount"]),
        "work_type": te["work_type"], "start_time": te["start_time"],
    })
    hv = tables["harvest"]
    by_name = dict(zip(tables["clients"]["client_name"], tables["clients"]["client_id"]))
    rules = params["work_type_rules"]
    harvest = pd.DataFrame({
        "client_id": hv["Client"].map(by_name), "date": _date(hv["Date"]), "task": hv["Task"],
        "person": hv["First Name"] + " " + hv["Last Name"], "hours": _num(hv["Hours"]),
        "billable": hv["Billable?"] == "Yes", "billable_amount": _num(hv["Billable Amount"]),
        "cost_amount": _num(hv["Cost Amount"]),
        "work_type": hv["Task"].map(lambda t: _work_type(t, rules)), "start_time": "",
    })
    out = pd.concat([canon, harvest], ignore_index=True)
    out["quarter"] = out["date"].dt.to_period("Q").astype(str)
    return out


def _clients_of(truth: dict, **flags) -> list[str]:
    return [c for c, v in truth["clients"].items() if all(v[k] == want for k, want in flags.items())]


def _profit(tables: dict[str, pd.DataFrame], time_all: pd.DataFrame) -> pd.Series:
    """Lifetime revenue invoiced minus the cost of all hours, in the reporting currency."""
    fx = dict(zip(tables["fx_rates"]["currency"], _num(tables["fx_rates"]["rate"])))
    inv = tables["invoices"]
    revenue = (_num(inv["amount"]) * inv["currency"].map(fx)).groupby(inv["client_id"]).sum()
    cost = time_all.groupby("client_id")["cost_amount"].sum()
    ids = tables["clients"]["client_id"]
    return revenue.reindex(ids, fill_value=0.0) - cost.reindex(ids, fill_value=0.0)


# --------------------------------------------------------------------------- determinism

def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path, company):
    demo.generate(tmp_path / "a", tmp_path / "a.json", clients=CLIENTS, years=YEARS, seed=SEED,
                  end_quarter=END)
    demo.generate(tmp_path / "b", tmp_path / "b.json", clients=CLIENTS, years=YEARS, seed=SEED + 1,
                  end_quarter=END)
    names = sorted(p.name for p in company["raw"].iterdir())
    assert names == sorted(p.name for p in (tmp_path / "a").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (company["raw"] / name).read_bytes(), name
    assert (tmp_path / "a.json").read_bytes() == (company["root"] / "truth.json").read_bytes()
    assert (tmp_path / "b" / "time_entries.csv").read_bytes() != (
        company["raw"] / "time_entries.csv").read_bytes()
    assert (tmp_path / "b.json").read_bytes() != (company["root"] / "truth.json").read_bytes()


def test_output_does_not_depend_on_chunks_or_worker_processes(tmp_path, monkeypatch, company):
    monkeypatch.setattr(writer, "CHUNK_CLIENTS", 7)
    demo.generate(tmp_path / "c", tmp_path / "c.json", clients=CLIENTS, years=YEARS, seed=SEED,
                  end_quarter=END, workers=2)
    for path in sorted(company["raw"].iterdir()):
        assert (tmp_path / "c" / path.name).read_bytes() == path.read_bytes(), path.name
    assert (tmp_path / "c.json").read_bytes() == (company["root"] / "truth.json").read_bytes()


# --------------------------------------------------------------------------- shape

def test_every_table_has_exactly_the_contract_columns(company):
    for name in TABLE_FILES:
        header = (company["raw"] / f"{name}.csv").open(encoding="utf-8").readline().rstrip("\n")
        assert header.split(",") == list(TABLES[name].column_names), name


def test_harvest_report_has_harvest_headers_and_formats(company, tables):
    header = (company["raw"] / "harvest_time_report.csv").open().readline().rstrip("\n")
    assert header == ("Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,"
                      "Invoiced?,Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,"
                      "Billable Amount,Cost Rate,Cost Amount,Currency,External Reference URL")
    hv = tables["harvest"]
    assert len(hv) > 0
    assert hv["Date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(hv["Billable?"]) == {"Yes", "No"}
    assert set(hv["Client"]) <= set(tables["clients"]["client_name"])
    # Harvest's clients log nothing in time_entries.csv: one export per client.
    harvest_ids = set(tables["clients"].set_index("client_name").loc[sorted(set(hv["Client"])), "client_id"])
    assert not harvest_ids & set(tables["time_entries"]["client_id"])


def test_keys_are_unique_and_references_resolve(tables):
    for name, table in TABLES.items():
        if table.key and name in tables:
            assert not tables[name].duplicated(list(table.key)).any(), name
    ids = set(tables["clients"]["client_id"])
    for name in ("contracts", "invoices", "time_entries", "requests", "deliverables", "surveys",
                 "team_feedback", "contacts"):
        assert set(tables[name]["client_id"]) <= ids, name
    contracts = set(tables["contracts"]["contract_id"])
    assert set(tables["invoices"]["contract_id"]) <= contracts
    assert set(tables["contracts"]["renewal_of"]) - {""} <= contracts
    assert (tables["contracts"]["renewal_of"] != "").sum() > CLIENTS  # renewal history exists
    assert set(tables["requests"]["deliverable_id"]) - {""} <= set(tables["deliverables"]["deliverable_id"])
    people = set(tables["people"]["person"])
    assert set(tables["time_entries"]["person"]) <= people


def test_enum_and_range_rules_hold(tables):
    for name, table in written(TABLES).items():
        df = tables[name]
        for col in table.columns:
            values = df[col.name]
            if not col.nullable:
                assert (values != "").all(), f"{name}.{col.name} has empty cells"
            if col.values:
                assert set(values) - {""} <= set(col.values), f"{name}.{col.name}"
            if col.type in ("float", "money") and (col.min is not None or col.max is not None):
                x = _num(values).dropna()
                assert col.min is None or (x >= col.min).all(), f"{name}.{col.name}"
                assert col.max is None or (x <= col.max).all(), f"{name}.{col.name}"


def test_no_event_after_the_end_quarter_and_dates_in_order(tables):
    for name, table in written(TABLES).items():
        for col in table.columns:
            if col.not_in_future:
                days = _date(tables[name][col.name].str[:10]).dropna()
                assert (days <= END_DAY).all(), f"{name}.{col.name} after {END_DAY.date()}"
        for earlier, later in table.ordered_dates:
            a, b = _date(tables[name][earlier]), _date(tables[name][later])
            both = a.notna() & b.notna()
            assert (a[both] <= b[both]).all(), f"{name}: {later} before {earlier}"
    created = pd.to_datetime(tables["requests"]["created_at"], format="%Y-%m-%d %H:%M")
    assert created.max() <= END_DAY + pd.Timedelta(days=1)
    assert _date(tables["harvest"]["Date"]).max() <= END_DAY
    start = END_DAY - pd.DateOffset(years=YEARS) + pd.Timedelta(days=1)
    assert _date(tables["time_entries"]["date"]).min() >= start


def test_row_counts_are_sane(tables, company):
    truth = company["truth"]
    n = len(tables["clients"])
    assert n == CLIENTS == truth["clients_n"] == len(truth["clients"])
    entries = len(tables["time_entries"]) + len(tables["harvest"])
    assert 20_000 < entries < 200_000
    assert len(tables["contacts"]) == sum(len(v["phases"]) for v in truth["clients"].values())
    assert len(tables["invoices"]) > n * 3 and len(tables["requests"]) > n * 10
    eur = tables["clients"]["client_id"].isin(tables["invoices"].query("currency == 'EUR'")["client_id"])
    assert 1 <= eur.sum() <= 0.2 * n
    assert set(tables["fx_rates"]["currency"]) == {"USD", "EUR"}
    assert tables["fx_rates"].set_index("currency").loc["USD", "rate"] == "1"
    assert 1 <= tables["harvest"]["Client"].nunique() <= 0.2 * n


def test_default_size_is_in_the_promised_range(tmp_path):
    """200 clients x 3 years: 300k-600k time entries (counted without writing them twice)."""
    cal = make_calendar("2026Q3", 3)
    people = make_people(200, 42)
    total = 0
    for k, a in enumerate(assign_clients(200, 42)):
        plan = plan_client(k, a, cal, 42)
        rng = rng_for(42, STREAM_RENDER, k)
        team = make_team(plan, people, rng)
        total += len(render_time(plan, team, people, cal, rng)["day"])
    assert 300_000 <= total <= 600_000


# --------------------------------------------------------------------------- the planted truth

def test_every_archetype_and_mistake_is_planted(company):
    truth = company["truth"]
    mix = truth["archetype_mix"]
    assert set(mix) == set(ARCHETYPE_SHARES) | {"ordinary"}
    assert all(mix[a] >= 1 for a in ARCHETYPE_SHARES)
    assert sum(mix.values()) == CLIENTS
    assert {v["spiral_breaker"] for v in truth["clients"].values()} - {None} == set(MISTAKES)
    assert truth["transition_matrix"]["states"] == list(STATES)
    m = np.array(truth["transition_matrix"]["matrix"])
    assert np.allclose(m.sum(axis=1), 1.0)
    assert all(0.3 <= m[i, i] <= 0.5 for i in range(4))


def test_truth_self_check_recomputes_loss_and_whales_from_the_csvs(company, tables, time_all):
    truth = company["truth"]["clients"]
    profit = _profit(tables, time_all)
    for cid, v in truth.items():
        assert v["loss_making"] == bool(profit[cid] < 0), cid
        assert v["profit"] == pytest.approx(profit[cid], abs=0.05), cid
    whales = _clients_of(company["truth"], whale=True)
    top = set(profit.sort_values(ascending=False).index[: len(whales)])
    assert set(whales) == top == set(_clients_of(company["truth"], archetype="whale"))
    assert profit[whales].sum() / profit.sum() > 0.5
    # Planted economics: shoppers and creepers lose money, whales and toxic clients make it.
    for cid, v in truth.items():
        if v["archetype"] in ("estimate_shopper", "scope_creeper"):
            assert v["loss_making"], cid
        if v["archetype"] in ("whale", "steady_star", "toxic"):
            assert not v["loss_making"], cid


def test_phases_and_activity_match_the_time_entries(company, time_all):
    truth = company["truth"]["clients"]
    billable = time_all[time_all["billable"]]
    hours = billable.groupby(["client_id", "quarter", "work_type"])["hours"].sum()
    dominant = hours.groupby(level=[0, 1]).idxmax().map(lambda t: t[2])
    planted = {(c, q): ph for c, v in truth.items() for q, ph in v["phases"].items()}
    assert dict(dominant.items()) == planted
    active = set(time_all.groupby(["client_id", "quarter"]).size().index)
    assert active == set(planted)
    for cid, v in truth.items():
        quarters = sorted(v["phases"])
        if v["churn_quarter"]:
            assert pd.Period(v["churn_quarter"]) == pd.Period(quarters[-1]) + 1


def test_phase_moves_are_allowed_by_the_planted_matrix(company):
    truth = company["truth"]
    m = np.array(truth["transition_matrix"]["matrix"])
    states = truth["transition_matrix"]["states"]
    for v in truth["clients"].values():
        if v["archetype"] not in ("spiral_follower", "ordinary"):
            continue
        seq = [v["phases"][q] for q in sorted(v["phases"])]
        for a, b in zip(seq, seq[1:]):
            assert m[states.index(a), states.index(b)] > 0, (a, b)


def test_task_texts_map_to_their_work_type_under_config_rules(params):
    rework = params["rework_pattern"]
    for text, work_type, is_rework in TASKS:
        assert _work_type(text, params["work_type_rules"]) == work_type, text
        assert bool(re.search(rework, text, flags=re.IGNORECASE)) == is_rework, text


def test_project_names_do_not_suggest_a_work_type(tables, params):
    projects = set(tables["time_entries"]["project"]) | set(tables["harvest"]["Project"])
    assert {_work_type(p, params["work_type_rules"]) for p in projects} == {"other"}


def test_written_work_type_agrees_with_the_task_mapping(tables, params):
    te = tables["time_entries"]
    mapped = te["task"].map(lambda t: _work_type(t, params["work_type_rules"]))
    assert (mapped == te["work_type"]).all()
    rework = te["task"].str.contains(params["rework_pattern"], case=False, regex=True)
    assert (rework == (te["rework"] == "true")).all()


# --------------------------------------------------------------------------- signals in the raw data

def _mean_by_flag(values: pd.Series, members: list[str]) -> tuple[float, float]:
    inside = values.index.isin(members)
    return float(values[inside].mean()), float(values[~inside].mean())


def test_late_payers_pay_late(company, tables):
    inv = tables["invoices"]
    paid = _date(inv["paid_date"])
    late = (paid - _date(inv["due_date"])).dt.days.groupby(inv["client_id"]).mean()
    theirs, others = _mean_by_flag(late, _clients_of(company["truth"], late_payer=True))
    assert theirs > 30 > others + 10


def test_estimate_shoppers_ask_for_estimates_that_never_become_orders(company, tables, time_all):
    req = tables["requests"]
    est = req[req["request_type"] == "estimate_request"]
    no_order = (est["became_order"] == "false").groupby(est["client_id"]).sum()
    no_order = no_order.reindex(tables["clients"]["client_id"], fill_value=0)
    shoppers = _clients_of(company["truth"], estimate_shopper=True)
    theirs, others = _mean_by_flag(no_order, shoppers)
    assert theirs > 3 * max(others, 1)
    presale = time_all[(time_all["work_type"] == "presale") & ~time_all["billable"]]
    share = (presale.groupby("client_id")["hours"].sum() / time_all.groupby("client_id")["hours"].sum()).fillna(0)
    theirs, others = _mean_by_flag(share.reindex(tables["clients"]["client_id"], fill_value=0), shoppers)
    assert theirs > 0.5 > others


def test_toxic_clients_show_every_marker(company, tables):
    """The all-round toxic archetype against the healthy (two-marker toxic clients apart)."""
    toxic = _clients_of(company["truth"], archetype="toxic")
    pairs = _clients_of(company["truth"], archetype="toxic_pair")
    assert pairs and all(company["truth"]["clients"][c]["toxic"] for c in pairs)
    req = tables["requests"].copy()
    req = req[~req["client_id"].isin(pairs)]
    created = pd.to_datetime(req["created_at"], format="%Y-%m-%d %H:%M")
    req["after"] = (created.dt.day_of_week >= 5) | (created.dt.hour >= 19) | (created.dt.hour < 9)
    urgent = req[req["urgency"].isin(["high", "urgent"])]
    share = urgent.groupby("client_id")["after"].mean()
    theirs, others = _mean_by_flag(share, toxic)
    assert theirs > 0.3 > others
    contradicting = (req["contradicts_earlier"] == "true").groupby(req["client_id"]).sum()
    assert _mean_by_flag(contradicting, toxic)[0] > 3 * _mean_by_flag(contradicting, toxic)[1]
    approval = _num(req["approval_lead_days"]).groupby(req["client_id"]).mean()
    theirs, others = _mean_by_flag(approval, toxic)
    assert theirs > 30 > others
    fb = tables["team_feedback"]
    fb = fb[~fb["client_id"].isin(pairs)]
    score = _num(fb["score"]).groupby(fb["client_id"]).mean()
    theirs, others = _mean_by_flag(score, toxic)
    assert theirs <= 2.5 < others
    escalations = (fb["escalation"] == "true").groupby(fb["client_id"]).mean()
    assert _mean_by_flag(escalations, toxic)[0] > 0.2


def test_scope_creepers_get_unplanned_work_for_free(company, tables, time_all):
    creepers = _clients_of(company["truth"], scope_creeper=True)
    req = tables["requests"]
    unplanned = ((req["request_type"] == "change_request") & (req["planned"] == "false")
                 & (req["accepted"] == "true")).groupby(req["client_id"]).sum()
    theirs, others = _mean_by_flag(unplanned, creepers)
    assert theirs > 2 * others
    scope = time_all[~time_all["billable"] & time_all["task"].str.contains("unplanned")]
    share = scope.groupby("client_id")["hours"].sum() / time_all.groupby("client_id")["hours"].sum()
    theirs, others = _mean_by_flag(share.reindex(tables["clients"]["client_id"], fill_value=0), creepers)
    assert theirs > 0.3 > others


def test_silent_churners_fade_before_they_stop(company, tables, time_all):
    truth = company["truth"]["clients"]
    contacts = tables["contacts"]
    for cid in _clients_of(company["truth"], silent_churner=True):
        v = truth[cid]
        assert v["churn_quarter"] is not None
        quarters = sorted(v["phases"])
        hours = time_all[time_all["client_id"] == cid].groupby("quarter")["hours"].sum()
        assert hours[quarters[-1]] < 0.6 * hours[quarters[: len(quarters) - 2]].mean(), cid
        assert contacts[contacts["client_id"] == cid]["client_contact"].nunique() >= 2, cid
    reasons = tables["clients"].set_index("client_id")["exit_reason"]
    assert set(reasons[_clients_of(company["truth"], silent_churner=True)]) <= {"churn", ""}


def test_insourcing_exits_are_healthy(company, tables):
    ids = _clients_of(company["truth"], insourcing_exit=True)
    clients = tables["clients"].set_index("client_id")
    assert (clients.loc[ids, "exit_reason"] == "insourcing").all()
    for cid in ids:
        last = sorted(company["truth"]["clients"][cid]["phases"].items())[-1]
        assert last[1] == "support"
    nps = tables["surveys"].query("survey_type == 'nps'")
    scores = _num(nps["score"]).groupby(nps["client_id"]).mean()
    asked = [c for c in ids if c in scores.index]
    assert not asked or scores[asked].mean() >= 7.5


def test_each_spiral_mistake_leaves_its_trace(company, tables, time_all):
    truth = company["truth"]["clients"]
    of = {m: [c for c, v in truth.items() if v["spiral_breaker"] == m] for m in MISTAKES}
    billable = time_all[time_all["billable"]]
    share = billable.groupby(["client_id", "work_type"])["hours"].sum().unstack(fill_value=0)
    share = share.div(share.sum(axis=1), axis=0)
    assert (share.loc[of["feature_without_ux"], "ux"] == 0).all()
    assert (share.loc[of["ux_without_feature"], "feature"] == 0).all()
    assert (share.loc[of["no_stabilisation"], "stability"] == 0).all()
    req = tables["requests"]
    unplanned = ((req["request_type"] == "change_request") & (req["planned"] == "false")
                 & (req["accepted"] == "true")).groupby(req["client_id"]).sum()
    quarters = pd.Series({c: len(v["phases"]) for c, v in truth.items()})
    per_quarter = unplanned.reindex(quarters.index, fill_value=0) / quarters
    assert (per_quarter[of["agree_to_every_wish"]] > per_quarter.median()).all()
    people = time_all.groupby(["client_id", "quarter"])["person"].nunique()
    for cid in of["team_growth_unplanned"]:
        if len(people[cid]) >= 3:
            assert people[cid].iloc[-1] > people[cid].iloc[0], cid
    d = tables["deliverables"]
    free_early = ((_date(d["delivered_date"]) < _date(d["promised_date"]))
                  & (d["billed_extra"] == "false")).groupby(d["client_id"]).sum()
    assert (free_early[of["early_free_delivery"]] >= 2).all()
    assert (free_early[of["early_free_delivery"]] > free_early.median()).all()
    sup = req[req["request_type"] == "support"]
    no_follow = (sup["followed_up"] == "false").groupby(sup["client_id"]).mean()
    mine = no_follow.index.isin(of["support_without_followup"])
    assert (no_follow[mine] > 0.6).all() and no_follow[~mine].mean() < 0.2
    contacts = tables["contacts"]
    comms = contacts.groupby("client_id")["our_communicator"].nunique()
    assert (comms[of["communicator_not_rotated"]] == 1).all()
    roles = contacts.groupby("client_id")["communicator_role"].agg(lambda r: "/".join(sorted(set(r))))
    technical = roles.index.isin(of["technical_communicator"])
    assert (roles[technical] == "technical").all()
    assert not roles[~technical].str.contains("technical").any()


def test_after_hours_work_follows_the_archetype(company, tables):
    te = tables["time_entries"]
    after = (te["after_hours"] == "true").groupby(te["client_id"]).mean()
    theirs, others = _mean_by_flag(after, _clients_of(company["truth"], archetype="toxic"))
    assert theirs > 0.15 > others
    # after_hours agrees with the office hours of config/params.yaml
    start = te["start_time"]
    weekday = _date(te["date"]).dt.day_of_week
    derived = (weekday >= 5) | (start < "09:00") | (start >= "19:00")
    assert (derived == (te["after_hours"] == "true")).all()


def test_cli_writes_the_files_and_a_summary(tmp_path, capsys):
    rc = main(["--out", str(tmp_path / "raw"), "--truth", str(tmp_path / "t.json"),
                    "--clients", "30", "--years", "2", "--seed", "3", "--end-quarter", "2025Q4"])
    assert rc == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("demo: chunk 1/1") for line in err)
    assert "time entries" in err[-1] and "whales carry" in err[-1]
    truth = json.loads((tmp_path / "t.json").read_text())
    assert truth["end_quarter"] == "2025Q4" and truth["seed"] == 3
    assert (tmp_path / "raw" / "harvest_time_report.csv").exists()


def test_the_package_runs_as_a_module():
    """`python -m clientlens.demo` reaches the same command line (the package's __main__.py)."""
    src = Path(demo.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "clientlens.demo", "--help"], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(src)}, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m clientlens.demo")
    assert "--end-quarter" in done.stdout


def test_too_few_clients_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ValueError, match="at least"):
        demo.generate(tmp_path, tmp_path / "t.json", clients=10, years=2, seed=SEED, end_quarter=END)
