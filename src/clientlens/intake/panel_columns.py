"""Columns of the client-quarter panel (data/processed/client_quarter.parquet).

One row per client and quarter, from the client's first activity to the period end
(or its exit). Every later stage reads this small table, never raw time entries.
A column fed by a table the firm did not supply is NULL ("not measured"), never 0;
`measured_tables` in data/processed/manifest.json lists the tables that were supplied.
Money is in the reporting currency.
"""

PANEL_COLUMNS: dict[str, str] = {
    # identity
    "client_id": "client key",
    "client_name": "client name",
    "quarter": "quarter, as 2025Q3",
    "quarter_start": "first day of the quarter (date)",
    "quarter_index": "year*4 + quarter-1, for arithmetic on quarters",
    "is_active": "time or an invoice issued in the quarter, or an open contract while the client has "
                 "not gone lapse_quarters quarters without either (analysis.activity)",
    # revenue
    "revenue": "revenue recognised: invoice amounts issued in the quarter when invoices are supplied, "
               "else billable_value; "
               "NULL (not measured) for a client with billable work and no invoice in any invoice export, "
               "and before the quarter ahead of the first invoice (quarters the invoice exports do not reach)",
    "revenue_billed": "invoice amounts issued in the quarter (invoices); on an exited client's last row, "
                      "also those issued after it up to the period end",
    "revenue_collected": "invoice amounts paid in the quarter (invoices); on an exited client's last row, "
                         "also those paid after it up to the period end, so receivables are those at "
                         "the period end",
    "billable_value": "billable hours x bill rate (time entries)",
    "list_value": "all hours x the person's list bill rate (people.bill_rate)",
    # time and cost (time entries)
    "hours": "all hours",
    "billable_hours": "billable hours (NULL when an export behind the quarter says nothing of billing)",
    "hours_without_bill": "hours whose billable value is not known: from an export with no billable flag, "
                          "amount or rate, or billable with no amount or rate (revenue is then NULL)",
    "hours_without_cost": "hours with no cost amount or rate (delivery cost is then NULL)",
    "after_hours_hours": "hours worked after hours",
    "people_count": "distinct people who logged time",
    "delivery_cost": "cost of all hours (hours x cost rate)",
    "cost_billable": "cost of billable hours",
    "cost_communication": "cost of non-billable communication and approval hours",
    "cost_presale": "cost of non-billable presale and estimate hours",
    "cost_rework": "cost of non-billable rework hours",
    "cost_unbilled_scope": "cost of other non-billable hours (scope done for free)",
    "hours_feature": "hours of feature work", "hours_ux": "hours of UX work",
    "hours_stability": "hours of stability work", "hours_support": "hours of support work",
    "hours_presale": "hours of presale work", "hours_communication": "hours of communication",
    "hours_other": "hours of other work",
    "value_feature": "billable value of feature work", "value_ux": "billable value of UX work",
    "value_stability": "billable value of stability work",
    "value_support": "billable value of support work", "value_other": "billable value of other work",
    # invoices
    "invoices_due": "invoices falling due in the quarter",
    "invoices_paid_late": "of those, paid after the due date (or unpaid and overdue at period end)",
    "days_late_mean": "mean days paid after due over invoices due in the quarter (0 when on time)",
    "overdue_unpaid_amount": "amount of invoices due in the quarter and still unpaid at period end",
    # requests
    "requests_total": "requests raised", "change_requests": "change requests",
    "incidents": "incidents", "estimate_requests": "estimate requests",
    "estimates_without_order": "estimate requests that never became an order",
    "urgent_after_hours_requests": "high or urgent requests raised after hours",
    "contradicting_requests": "requests that revert or contradict an earlier one",
    "approval_days_mean": "mean approval lead time, days",
    "unplanned_accepted": "unplanned change requests we accepted",
    "support_requests": "support requests",
    "support_without_followup": "support requests never followed up",
    # deals (the CRM), by the quarter each closed; a prospect's deal is no client's
    "deals_closed": "deals for the client won or lost in the quarter (by closed date)",
    "deals_lost": "of those, lost",
    # deliverables
    "delivered_count": "deliverables delivered in the quarter",
    "launched_count": "of those, launched", "shelved_count": "of those, shelved",
    "missed_deadlines": "delivered more than deadline_grace_days after the promised date",
    "early_free_deliveries": "delivered before the promised date and not billed extra",
    # surveys and team
    "nps_mean": "mean NPS answer (0-10)", "csat_mean": "mean CSAT answer (1-5)",
    "nps_answers": "NPS answers", "csat_answers": "CSAT answers",
    "survey_responses": "survey answers",
    "team_score_mean": "mean team rating of the client (1-5)", "escalations": "escalations",
    # contacts
    "client_contact": "client's main contact", "our_communicator": "our communicator",
    "communicator_role": "our communicator's role",
    "client_contact_changed": "client contact differs from the previous quarter's",
    "communicator_tenure_quarters": "consecutive quarters with the same communicator, this one included",
    # contracts
    "contract_value_signed": "value of contracts starting in the quarter",
    "recurring_value_signed": "of that, retainer and support contracts",
    "active_contracts": "contracts active in the quarter",
    "retainer_active": "a retainer or support contract is active",
    # exits
    "exited": "the client's relationship ended in this quarter (clients.exit_date)",
    "exit_reason": "clients.exit_reason, on the exit quarter",
}

# Which source table measures each column; a column whose table is absent is NULL.
COLUMN_SOURCE: dict[str, str] = {}
for _name in ("revenue_billed", "revenue_collected", "invoices_due", "invoices_paid_late",
              "days_late_mean", "overdue_unpaid_amount"):
    COLUMN_SOURCE[_name] = "invoices"
for _name in ("requests_total", "change_requests", "incidents", "estimate_requests",
              "estimates_without_order", "urgent_after_hours_requests", "contradicting_requests",
              "approval_days_mean", "unplanned_accepted", "support_requests",
              "support_without_followup"):
    COLUMN_SOURCE[_name] = "requests"
for _name in ("delivered_count", "launched_count", "shelved_count", "missed_deadlines",
              "early_free_deliveries"):
    COLUMN_SOURCE[_name] = "deliverables"
for _name in ("nps_mean", "csat_mean", "nps_answers", "csat_answers", "survey_responses"):
    COLUMN_SOURCE[_name] = "surveys"
for _name in ("team_score_mean", "escalations"):
    COLUMN_SOURCE[_name] = "team_feedback"
for _name in ("client_contact", "our_communicator", "communicator_role", "client_contact_changed",
              "communicator_tenure_quarters"):
    COLUMN_SOURCE[_name] = "contacts"
COLUMN_SOURCE["list_value"] = "people"
for _name in ("contract_value_signed", "recurring_value_signed", "active_contracts", "retainer_active"):
    COLUMN_SOURCE[_name] = "contracts"
for _name in ("deals_closed", "deals_lost"):
    COLUMN_SOURCE[_name] = "deals"
