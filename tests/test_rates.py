"""Exports without money priced by a rate card, projects standing for clients, money to the cent.

Planted truth: every expected amount is worked out here, in Python's decimal arithmetic, from
the rates the test plants, never read back from the code under test.
"""
from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from rawfiles import params, quarantine, read, summary, write_csv

from clientlens.intake.ingest import run_ingest
from clientlens.intake.readers.derive import cents
from clientlens.publishing.reasons import reason_text

RATES_HEADER = ["client_id", "role", "person", "valid_from", "valid_to", "bill_rate", "cost_rate"]


def to_cent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ingest(raw: Path, out: Path) -> pd.DataFrame:
    run_ingest(raw, out, params())
    return read(out, "time_entries")


def assert_rows_add_up(out: Path) -> None:
    s = summary(out)
    assert (s.rows_read == s.rows_accepted + s.rows_quarantined).all(), s


# --- the rate card ---------------------------------------------------------------------
# A bare hours file: no rate, no amount. Dan's developer rate changes mid-quarter (15 Feb).
CARD = [
    RATES_HEADER,
    ["", "", "", "", "", 50, ""],                           # firm-wide
    ["Beta", "", "", "", "", 70, ""],                       # client
    ["", "developer", "", "", "2025-02-14", 100, 40],       # role, until 14 Feb
    ["", "developer", "", "2025-02-15", "", 120, ""],       # role, from 15 Feb: no cost rate
    ["Beta", "developer", "", "", "", 130, ""],             # role + client
    ["", "", "Ann", "", "", 150, ""],                       # person
    ["Beta", "", "Ann", "", "", 170, ""],                   # person + client
]
PEOPLE = [["person", "role", "cost_rate", "bill_rate"], ["Ann", "developer", 60, 140],
          ["Bob", "designer", 45, 95]]
# (date, client, person, role, hours, billable, own bill rate, own amount) ->
# (bill rate, cost rate, billable amount, cost amount) as the card and people say.
ENTRIES = [
    (("2025-02-10", "Acme", "Ann", "", "2", "", "", ""), (150, 60, "300.00", "120.00")),  # person beats people
    (("2025-02-11", "Beta", "Ann", "", "1.5", "", "", ""), (170, 60, "255.00", "90.00")),  # person + client
    (("2025-02-12", "Acme", "Bob", "", "2", "", "", ""), (95, 45, "190.00", "90.00")),  # people beat role, firm
    (("2025-02-14", "Acme", "Dan", "developer", "3", "", "", ""), (100, 40, "300.00", "120.00")),  # last day
    (("2025-02-15", "Acme", "Dan", "developer", "3", "", "", ""), (120, None, "360.00", None)),  # rate changed
    (("2025-03-03", "Beta", "Dan", "developer", "1", "", "", ""), (130, None, "130.00", None)),  # role + client
    (("2025-03-04", "Beta", "Eve", "", "2", "", "", ""), (70, None, "140.00", None)),  # client
    (("2025-03-05", "Acme", "Eve", "", "2", "", "", ""), (50, None, "100.00", None)),  # firm-wide
    (("2025-03-06", "Acme", "Dan", "developer", "1", "no", "", ""), (120, None, "0.00", None)),  # not billable
    (("2025-03-07", "Acme", "Eve", "", "2", "yes", "200", ""), (200, None, "400.00", None)),  # own rate
    (("2025-03-10", "Acme", "Eve", "", "2", "yes", "", "123.45"), (50, None, "123.45", None)),  # own amount
]


@pytest.fixture(scope="module")
def priced(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("card")
    write_csv(base / "raw", "time_entries.csv", [
        ["date", "client_id", "person", "role", "hours", "billable", "bill_rate", "billable_amount"],
        *[list(given) for given, _want in ENTRIES]])
    write_csv(base / "raw", "rates.csv", CARD)
    write_csv(base / "raw", "people.csv", PEOPLE)
    run_ingest(base / "raw", base / "out", params())
    return base / "out"


def test_the_most_specific_rate_valid_on_the_day_prices_each_entry(priced) -> None:
    got = read(priced, "time_entries")
    assert len(got) == len(ENTRIES)
    for (given, (bill, cost, amount, cost_amount)), row in zip(ENTRIES, got.itertuples()):
        assert (str(row.date), row.person, row.client_id) == (given[0], given[2], given[1])
        assert row.bill_rate == bill, given
        assert (None if pd.isna(row.cost_rate) else row.cost_rate) == cost, given
        assert Decimal(str(row.billable_amount)) == Decimal(amount), given
        assert (None if pd.isna(row.cost_amount) else Decimal(str(row.cost_amount))) == \
            (None if cost_amount is None else Decimal(cost_amount)), given


def test_an_entry_that_does_not_say_is_billable_when_the_card_prices_it(priced) -> None:
    got = read(priced, "time_entries")
    assert got.billable.tolist() == [given[5] != "no" for given, _want in ENTRIES]


def test_the_card_is_read_whole_and_written(priced) -> None:
    assert_rows_add_up(priced)
    s = summary(priced).set_index("file")
    assert s.loc["rates.csv", "rows_accepted"] == len(CARD) - 1
    assert quarantine(priced).empty
    assert len(read(priced, "rates")) == len(CARD) - 1


def test_billable_without_any_rate_is_not_measured_nor_is_cost(tmp_path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "person", "hours", "billable"],
                                        ["2025-03-03", "Acme", "Zed", "2", "yes"],
                                        ["2025-03-03", "Acme", "Zed", "1", "no"],
                                        ["2025-03-04", "Beta", "Zed", "2", ""]])
    write_csv(raw, "rates.csv", [RATES_HEADER, ["Beta", "", "", "", "", 80, ""]])
    got = ingest(raw, tmp_path / "out")
    assert pd.isna(got.billable_amount[0]), "billable with no rate: not measured, not 0"
    assert got.billable_amount[1] == 0  # not billable: bills nothing
    assert got.billable_amount[2] == 160 and got.billable[2]
    assert got.cost_amount.isna().all(), "no cost rate anywhere: cost not measured"


def test_overlapping_rates_are_set_aside_each_naming_the_other(tmp_path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "person", "role", "hours"],
                                        ["2025-03-03", "Acme", "Dan", "developer", "2"],
                                        ["2025-05-05", "Acme", "Dan", "developer", "1"]])
    write_csv(raw, "rates.csv", [
        RATES_HEADER,
        ["", "", "", "", "", 50, ""],                            # row 2: firm-wide
        ["", "developer", "", "2025-01-01", "2025-03-31", 100, ""],  # row 3
        ["", "developer", "", "2025-03-15", "2025-04-30", 110, ""],  # row 4: overlaps row 3
        ["", "developer", "", "", "", "", 40],                   # row 5: a cost rate, no conflict
        ["", "designer", "", "", "", "", ""],                    # row 6: no rate at all
        ["", "developer", "", "2025-05-01", "", 120, ""],        # row 7: after both
    ])
    got = ingest(raw, tmp_path / "out")
    out = tmp_path / "out"
    assert_rows_add_up(out)
    qr = quarantine(out).set_index("row")
    assert sorted(qr.index) == [3, 4, 6]
    assert qr.loc[3, "reason"] == ("rate for the same client, role and person also on row 4, "
                                   "both valid on 2025-03-15")
    assert qr.loc[4, "reason"] == ("rate for the same client, role and person also on row 3, "
                                   "both valid on 2025-03-15")
    assert qr.loc[6, "reason"] == "no bill rate and no cost rate"
    assert reason_text(qr.loc[3, "reason"], "ru") != qr.loc[3, "reason"]
    assert reason_text(qr.loc[6, "reason"], "ru") != qr.loc[6, "reason"]
    # March: both role rates set aside, so the firm-wide rate applies; May: row 7.
    assert got.bill_rate.tolist() == [50, 120]
    assert got.cost_rate.tolist() == [40, 40]
    assert got.billable_amount.tolist() == [100, 120]


def test_a_rate_card_in_another_currency_is_converted(tmp_path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "person", "hours"],
                                        ["2025-03-03", "Acme", "Ann", "2.5"]])
    write_csv(raw, "rates.csv", [RATES_HEADER + ["currency"],
                                 ["", "", "", "", "", "188.356", "", "EUR"]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"]])
    got = ingest(raw, tmp_path / "out")
    # 2.5 h x (188.356 x 1.5 = 282.534) = 706.335, rounded once, half up
    assert got.bill_rate[0] == pytest.approx(282.534)
    assert got.billable_amount[0] == 706.34


# --- projects standing for clients ----------------------------------------------------------
# Redmine's Spent time CSV, English interface: the captions of its time-entry columns in
# redmine/redmine config/locales/en.yml (field_project: Project, field_spent_on: Date,
# field_user: User, field_activity: Activity, field_issue: Issue, field_comments: Comment,
# field_hours: Hours).
REDMINE_HEADER = ["Project", "Date", "User", "Activity", "Issue", "Comment", "Hours"]
REDMINE_ROWS = [
    ["Website", "2025-03-03", "Ann Lee", "Development", "Feature #12: Checkout", "", "2.00"],
    ["Website", "2025-03-04", "Ann Lee", "Development", "Bug #13: Login", "", "1.50"],
    ["Mobile app", "2025-03-05", "Bob Ray", "Design", "Feature #20: Onboarding", "", "3.00"],
    ["Shop API", "2025-03-06", "Bob Ray", "Development", "Feature #31: Orders", "", "1.00"],
]


def write_redmine(raw: Path) -> None:
    write_csv(raw, "redmine_time_entries.csv", [REDMINE_HEADER, *REDMINE_ROWS])


def test_projects_stand_for_clients_unless_project_clients_says_otherwise(tmp_path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_redmine(raw)
    write_csv(raw, "project_clients.csv", [["project", "client_id"], ["Website", "Acme Corp"],
                                           ["shop api", "Acme Corp"]])
    got = ingest(raw, out)
    assert summary(out).set_index("file").loc["redmine_time_entries.csv", "format"] == "redmine"
    assert got.client_id.tolist() == ["Acme Corp", "Acme Corp", "Mobile app", "Acme Corp"]
    assert sorted(read(out, "clients").client_id) == ["Acme Corp", "Mobile app"]
    used = read(out, "project_clients_used")
    assert used.to_dict("records") == [
        {"project": "Mobile app", "client_id": "Mobile app", "listed": False, "entries": 1, "hours": 3.0},
        {"project": "Shop API", "client_id": "Acme Corp", "listed": True, "entries": 1, "hours": 1.0},
        {"project": "Website", "client_id": "Acme Corp", "listed": True, "entries": 2, "hours": 3.5},
    ]
    assert_rows_add_up(out)


def test_project_clients_resolve_like_other_client_references(tmp_path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_redmine(raw)
    write_csv(raw, "clients.csv", [["client_id", "client_name"], ["C1", "Acme Corp"],
                                   ["C2", "Mobile app"]])
    write_csv(raw, "project_clients.csv", [["project", "client_id"], ["Website", "acme corp"],
                                           ["Shop API", "C1"], ["Intranet", "Nobody Ltd"]])
    got = ingest(raw, out)
    assert got.client_id.tolist() == ["C1", "C1", "C2", "C1"]
    qr = quarantine(out)
    assert qr[["file", "row", "reason"]].values.tolist() == [
        ["project_clients.csv", 4, "unknown client 'Nobody Ltd'"]]
    used = read(out, "project_clients_used").set_index("project")
    assert used.client_id.to_dict() == {"Mobile app": "C2", "Shop API": "C1", "Website": "C1"}
    assert used.listed.to_dict() == {"Mobile app": False, "Shop API": True, "Website": True}
    assert_rows_add_up(out)


def test_without_project_clients_every_project_is_its_own_client(tmp_path) -> None:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_redmine(raw)
    got = ingest(raw, out)
    assert got.client_id.tolist() == ["Website", "Website", "Mobile app", "Shop API"]
    used = read(out, "project_clients_used")
    assert used.project.tolist() == used.client_id.tolist() == ["Mobile app", "Shop API", "Website"]
    assert not used.listed.any()


# --- money to the cent ----------------------------------------------------------------------
def test_duckdb_rounds_decimals_half_away_from_zero_and_doubles_not() -> None:
    con = duckdb.connect()
    assert con.execute("SELECT round(2.345::DECIMAL(18, 3), 2), round(-2.345::DECIMAL(18, 3), 2)"
                       ).fetchall() == [(Decimal("2.35"), Decimal("-2.35"))]
    # What cents() guards against: 0.15 x 1.5 = 0.225 is 0.22499... in doubles.
    assert con.execute("SELECT round(0.15::DOUBLE * 1.5::DOUBLE, 2)").fetchall()[0][0] == 0.22
    cases = [(470.89, 1.5, "706.34"), (-470.89, 1.5, "-706.34"), (0.15, 1.5, "0.23"),
             (470.89, -1.5, "-706.34"), (1.005, None, "1.01"), (-1.005, None, "-1.01"),
             (2.5, 282.534, "706.34"), (0.0, 1.5, "0.00"), (1e300, 1e10, None)]
    for x, r, want in cases:
        got = con.execute(f"SELECT {cents('x', None if r is None else 'r')} "
                          f"FROM (SELECT ?::DOUBLE AS x, ?::DOUBLE AS r)", [x, r]).fetchall()[0][0]
        if want is None:  # beyond a BIGINT of micro-units: the double's own rounding, no error
            assert got == pytest.approx(x * r)
        else:
            assert Decimal(str(got)) == Decimal(want), (x, r)
    assert con.execute(f"SELECT {cents('x', 'r')} FROM (SELECT NULL::DOUBLE AS x, 1.5 AS r)"
                       ).fetchall()[0][0] is None


def test_a_converted_export_ties_to_the_cent(tmp_path) -> None:
    rng = random.Random(24)
    # Odd cents at a rate of 1.5 land on half a cent: the ties a double gets wrong.
    amounts = [Decimal(rng.randrange(1, 200_000)) / 100 for _ in range(1000)]
    costs = [Decimal(rng.randrange(1, 100_000)) / 100 for _ in range(1000)]
    rows = [["date", "client_id", "person", "hours", "billable", "billable_amount", "cost_amount",
             "currency"]]
    rows += [["2025-03-03", f"Client {i % 7}", "Ann", "1", "yes", str(a), str(c), "EUR"]
             for i, (a, c) in enumerate(zip(amounts, costs))]
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", rows)
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"]])
    got = ingest(raw, tmp_path / "out")
    rate = Decimal("1.5")
    want_billed = sum(to_cent(a * rate) for a in amounts)
    want_cost = sum(to_cent(c * rate) for c in costs)
    assert to_cent(Decimal(str(got.billable_amount.sum()))) == want_billed
    assert to_cent(Decimal(str(got.cost_amount.sum()))) == want_cost
    assert [Decimal(str(v)) for v in got.billable_amount] == [to_cent(a * rate) for a in amounts]
    ties = sum(1 for a in amounts if (a * rate * 100) % 1 == Decimal("0.5"))
    assert ties > 100
    # Rounding the products in doubles, as before, would miss the total.
    naive = duckdb.connect().execute("SELECT sum(round(CAST(a AS DOUBLE) * 1.5, 2)) FROM "
                                     "(SELECT unnest(?::DOUBLE[]) AS a)", [[float(a) for a in amounts]]
                                     ).fetchall()[0][0]
    assert to_cent(Decimal(str(naive))) != want_billed
    assert_rows_add_up(tmp_path / "out")


def test_invoices_in_another_currency_are_converted_to_the_cent(tmp_path) -> None:
    raw = tmp_path / "raw"
    write_csv(raw, "time_entries.csv", [["date", "client_id", "hours"], ["2025-03-03", "Acme", "1"]])
    write_csv(raw, "invoices.csv", [["invoice_id", "client_id", "issue_date", "due_date", "amount",
                                     "currency"],
                                    ["I1", "Acme", "2025-03-03", "2025-04-03", "470.89", "EUR"],
                                    ["I2", "Acme", "2025-03-03", "2025-04-03", "-0.15", "EUR"]])
    write_csv(raw, "fx_rates.csv", [["currency", "rate"], ["EUR", "1.5"]])
    run_ingest(raw, tmp_path / "out", params())
    assert read(tmp_path / "out", "invoices").amount.tolist() == [706.34, -0.23]


def test_cents_agree_with_decimal_arithmetic_on_many_random_products() -> None:
    """Amounts of 2 decimals times rates of up to 6 (fx) and hours of up to 4 times rates of
    2: every product rounded half up to the cent as Python's decimal does, ties included."""
    import random
    from decimal import ROUND_HALF_UP, Decimal

    import duckdb

    from clientlens.intake.readers.derive import cents

    rng = random.Random(24)
    pairs = [(f"{rng.randint(-500_000, 9_999_999) / 100:.2f}", f"{rng.randint(1, 3_000_000) / 1_000_000:.6f}")
             for _ in range(3_000)]
    pairs += [(f"{rng.randint(1, 240_000) / 10_000:.4f}", f"{rng.randint(100, 50_000) / 100:.2f}")
              for _ in range(3_000)]
    # half and quarter rates make half cents of every other amount: ties, where doubles go wrong
    pairs += [(f"{rng.randint(-99_999, 999_999) / 100:.2f}", rng.choice(["0.5", "1.5", "2.5", "0.25", "1.125"]))
              for _ in range(4_000)]
    pairs += [("470.89", "1.5"), ("-470.89", "1.5"), ("0.005", "1"), ("2.675", "1")]
    con = duckdb.connect()
    con.register("pairs", pd.DataFrame(pairs, columns=["a", "f"]))
    con.execute("CREATE TABLE p AS SELECT * FROM pairs")
    got = con.execute(f"SELECT {cents('CAST(a AS DOUBLE)', 'CAST(f AS DOUBLE)')} FROM p").fetchall()
    expected = [float((Decimal(a) * Decimal(f)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
                for a, f in pairs]
    ties = sum(1 for a, f in pairs if (Decimal(a) * Decimal(f) * 1000) % 10 == 5)
    assert ties > 1_000
    assert [g for (g,) in got] == expected
