"""Invoice exports of accounting tools: Xero, QuickBooks Online.

Both give amounts with tax and no date of payment, so each mapping says:
- `amount` is the invoice before tax: the total less its tax, worked out once per row in
  decimals (net_amount), and negative for a credit note;
- `paid_in_full` is what the export says of payment instead of a date (Xero's status and
  amount due, QuickBooks' open balance), so a paid invoice is not taken for an unpaid one,
  and its lateness stays "not measured";
- rows that are no sales invoice (voided, deleted or draft invoices, bills, a report's title
  and total lines) are skipped by rule, each counted with its reason in the ingest summary.
"""
from __future__ import annotations

from clientlens.intake.readers.mapping import Export, FileMapping, Headers, present
from clientlens.intake.readers.source import lit


def _text(expr: str) -> str:
    return f"cl_text({expr})"


def _upper(expr: str) -> str:
    """The cell in capitals with its spaces squeezed: 'Awaiting  payment' -> 'AWAITING PAYMENT'."""
    return f"upper(regexp_replace(coalesce(cl_text({expr}), ''), '\\s+', ' ', 'g'))"


def _number(expr: str) -> str:
    """A dot-decimal amount as DECIMAL(18,2) ('1,150.00', '$1,150.00', '(25.00)' too); NULL
    when the cell is empty or no number."""
    cell = _text(expr)
    return f"CAST(cl_number({cell}, cl_num_clean({cell}), false) AS DECIMAL(18, 2))"


def net_amount(total: str, tax: str | None, credit: str) -> str:
    """SQL text of the amount before tax: total less tax, negative where `credit` holds.

    Where the total or the tax is no number the text says so ('1.150,00 less tax 150')
    and the amount's parse quarantines the row with it, rather than counting tax as revenue.
    """
    net = _number(total) if tax is None else f"({_number(total)} - coalesce({_number(tax)}, 0))"
    signed = f"CASE WHEN {credit} THEN -abs({net}) ELSE {net} END"
    tax_ok = "true" if tax is None else f"({_text(tax)} IS NULL OR {_number(tax)} IS NOT NULL)"
    shown = _text(total) if tax is None else f"{_text(total)} || ' less tax ' || coalesce({_text(tax)}, '')"
    return (f"CASE WHEN {_text(total)} IS NULL THEN NULL "
            f"WHEN {_number(total)} IS NOT NULL AND {tax_ok} THEN CAST({signed} AS VARCHAR) "
            f"ELSE {shown} END")


def _one_of(expr: str, words: tuple[str, ...]) -> str:
    return f"{_upper(expr)} IN ({', '.join(lit(w) for w in words)})"


def _spellings(*names: str) -> tuple[str, ...]:
    """A header as exported and as in Xero's import template, whose required ones start with *."""
    return tuple(n for name in names for n in (name, "*" + name))


# --- Xero: Sales > Invoices > Export (one row per invoice line) ---------------------
# Status and Type as the API names them (AUTHORISED, ACCREC, ...) and as the export writes
# them (Awaiting Payment, Sales invoice, ...).
XERO_VOID = ("VOIDED", "VOID", "DELETED")
XERO_DRAFT = ("DRAFT", "SUBMITTED", "AWAITING APPROVAL")
XERO_PAID = ("PAID",)
XERO_BILLS = ("ACCPAY", "ACCPAYCREDIT", "BILL", "PURCHASE BILL", "PURCHASE CREDIT NOTE",
              "BILL CREDIT NOTE", "SUPPLIER CREDIT NOTE")
XERO_CREDIT = ("ACCRECCREDIT", "SALES CREDIT NOTE", "CREDIT NOTE")
XERO_NEEDS = (_spellings("contactname"), _spellings("invoicenumber"), _spellings("invoicedate"),
              _spellings("duedate"), ("total",), ("taxtotal",), ("invoiceamountdue",))


def xero(h: Headers) -> FileMapping:
    status, kind = h.col(*_spellings("status")), h.col(*_spellings("type"))
    due = h.col("invoiceamountdue")
    credit = _one_of(kind, XERO_CREDIT) if kind else "false"
    paid = []
    if status:
        paid.append(f"WHEN {_one_of(status, XERO_PAID)} THEN 'true'")
    paid += [f"WHEN {_number(due)} = 0 THEN 'true'", f"WHEN {_number(due)} <> 0 THEN 'false'"]
    cols = {
        "invoice_id": h.col(*_spellings("invoicenumber")),
        "client_id": h.col(*_spellings("contactname")),
        "issue_date": h.col(*_spellings("invoicedate")),
        "due_date": h.col(*_spellings("duedate")),
        "amount": net_amount(h.col("total"), h.col("taxtotal"), credit),
        "paid_in_full": f"CASE {' '.join(paid)} END",
        "currency": h.col(*_spellings("currency")),
    }
    skip = []
    if status:
        skip += [(_one_of(status, XERO_VOID), "voided or deleted invoice (no revenue)"),
                 (_one_of(status, XERO_DRAFT), "draft invoice, not approved (no revenue)")]
    if kind:
        skip.append((_one_of(kind, XERO_BILLS), "bill: a purchase, not a sales invoice"))
    return FileMapping("invoices", "xero", present(cols), lines_of="invoice_id", skip=tuple(skip))


# --- QuickBooks Online: the Invoice List report, exported to CSV or Excel ------------------
# A report export has the company, report name and dates above the header, and a TOTAL line
# (and, in CSV, the accounting basis and time of the run) below the last invoice.
QB_CREDIT = ("CREDIT MEMO", "CREDITMEMO", "CREDIT NOTE")
QB_INVOICE = ("INVOICE",) + QB_CREDIT
QB_PAID = ("PAID", "CLOSED")
QB_VOID = ("VOIDED", "VOID", "DELETED")
QB_NEEDS = (("transaction type",), ("num", "no.", "no", "number"),
            ("customer", "customer full name", "name"), ("due date",), ("amount", "total amount"),
            ("open balance", "balance"))


def quickbooks(h: Headers) -> FileMapping:
    kind = h.col("transaction type")
    date = h.col("date", "transaction date", "invoice date")
    number = h.col("num", "no.", "no", "number")
    customer = h.col("customer", "customer full name", "name")
    balance = h.col("open balance", "balance")
    status = h.col("status", "invoice status")
    tax = h.col("tax amount", "sales tax", "tax", "vat amount", "vat")
    paid = [f"WHEN {_number(balance)} = 0 THEN 'true'", f"WHEN {_number(balance)} <> 0 THEN 'false'"]
    if status:
        paid.insert(0, f"WHEN {_one_of(status, QB_PAID)} THEN 'true'")
    cols = {
        "invoice_id": number, "client_id": customer, "issue_date": date,
        "due_date": h.col("due date"),
        "amount": net_amount(h.col("amount", "total amount"), tax, _one_of(kind, QB_CREDIT)),
        "paid_in_full": f"CASE {' '.join(paid)} END",
        "currency": h.col("currency"),
    }
    first = h.col("") or "NULL"  # the report's unnamed first column holds TOTAL and footers
    heading = " AND ".join(f"{_text(c)} IS NULL" for c in (date, number, customer) if c)
    skip = [(f"regexp_matches({_upper(first)}, '^TOTAL') OR regexp_matches({_upper(date)}, '^TOTAL')"
             if date else f"regexp_matches({_upper(first)}, '^TOTAL')", "report total line"),
            (heading or "false", "report heading or footer line (no date, number or customer)"),
            (f"{_text(kind)} IS NOT NULL AND NOT {_one_of(kind, QB_INVOICE)}",
             "not an invoice or credit memo")]
    if status:
        skip.append((_one_of(status, QB_VOID), "voided or deleted invoice (no revenue)"))
    return FileMapping("invoices", "quickbooks", present(cols), skip=tuple(skip))


ADAPTERS: tuple[Export, ...] = (
    Export("xero", "invoices", XERO_NEEDS, xero, label="Xero"),
    Export("quickbooks", "invoices", QB_NEEDS, quickbooks, label="QuickBooks Online"),
)
