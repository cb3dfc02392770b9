"""The data contract: canonical tables, their columns, types, units, keys and rules.

One definition serves every consumer: the readers map exports onto these columns,
ingest validates rows against these rules (rows that break one go to quarantine),
the demo generator writes these tables, and `docs/data-contract.md` is rendered
from this module (a test keeps the two in step).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# Canonical value types. "money" is a decimal amount in the row's currency
# (converted to the reporting currency at ingest); "quarter" is text like 2025Q3.
TYPES = ("str", "int", "float", "money", "date", "datetime", "time", "bool", "enum", "quarter")

WORK_TYPES = ("feature", "ux", "stability", "support", "presale", "communication", "other")
SPIRAL_PHASES = ("feature", "ux", "stability", "support")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = False  # the column must be present in the file
    nullable: bool = True  # an empty cell is allowed
    unit: str = ""
    values: tuple[str, ...] = ()  # allowed values of an enum
    min: float | None = None
    max: float | None = None
    references: str = ""  # "table.column" this column must match
    not_in_future: bool = False
    aliases: tuple[str, ...] = ()  # other header spellings, English and Russian

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type}")
        if self.type == "enum" and not self.values:
            raise ValueError(f"column {self.name}: an enum needs its values")


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required_table: bool = False
    # (earlier, later): a row where `later` < `earlier` breaks the contract
    ordered_dates: tuple[tuple[str, str], ...] = ()
    # (column, other, values): `column` may not be empty where `other` holds one of `values`
    required_when: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    feeds: tuple[str, ...] = ()  # markers and metrics of DOMAIN.md this table feeds

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _client_id(required: bool = True) -> Column:
    return Column(
        "client_id", "str", "Client key. A file that names clients only by name is matched "
        "to clients.client_name; with no clients table the name itself becomes the key. Ids and "
        "names are compared as a reader sees them (trimmed, spaces collapsed, case folded, "
        "Unicode NFKC, invisible characters ignored): a value that reads as two clients, or two "
        "spellings of one value without a clients table, is quarantined naming both.",
        required=required, nullable=False, references="clients.client_id",
        aliases=("client", "client id", "customer", "account", "клиент", "контрагент", "заказчик"),
    )


def _currency() -> Column:
    return Column(
        "currency", "str", "ISO 4217 code of the row's amounts; empty means the reporting currency.",
        aliases=("валюта",),
    )


CLIENTS = Table(
    "clients",
    "One row per client. Optional: without it, clients are the distinct names in the other tables.",
    (
        Column("client_id", "str", "Client key. Two rows whose ids read the same but are "
               "written differently, or that give one id two names, are all quarantined.",
               required=True, nullable=False,
               aliases=("id", "client id", "код клиента")),
        Column("client_name", "str", "Name as leadership knows it.", required=True, nullable=False,
               aliases=("name", "client", "client name", "клиент", "наименование")),
        Column("industry", "str", "Industry or sector.", aliases=("отрасль",)),
        Column("acquired_date", "date", "Date the relationship started.", not_in_future=True,
               aliases=("start date", "дата начала")),
        Column("exit_date", "date", "Date the relationship ended, if it did.", not_in_future=True),
        Column("exit_reason", "enum", "Why it ended; `insourcing` is a healthy exit (the client built "
               "its own IT team).", values=("insourcing", "churn", "parted_ways", "other")),
    ),
    key=("client_id",),
    ordered_dates=(("acquired_date", "exit_date"),),
    feeds=("every report: names, tenure, exits (in-sourcing recognised as healthy)",),
)

CONTRACTS = Table(
    "contracts",
    "Signed contracts: projects, retainers and support agreements.",
    (
        Column("contract_id", "str", "Contract key.", required=True, nullable=False,
               aliases=("id", "contract", "договор", "номер договора")),
        _client_id(),
        Column("contract_type", "enum", "Kind of contract.", required=True, nullable=False,
               values=("project", "retainer", "support"), aliases=("type", "тип")),
        Column("start_date", "date", "First day of the contract.", required=True, nullable=False,
               aliases=("start", "начало")),
        Column("end_date", "date", "Last day; empty for an open-ended retainer.",
               aliases=("end", "окончание")),
        Column("value", "money", "Contract value.", required=True, nullable=False, min=0,
               unit="currency", aliases=("amount", "сумма")),
        _currency(),
        Column("renewal_of", "str", "contract_id this one renews, if any.",
               references="contracts.contract_id"),
        Column("phase", "enum", "Spiral phase the contract is for, if known.", values=SPIRAL_PHASES),
    ),
    key=("contract_id",),
    ordered_dates=(("start_date", "end_date"),),
    feeds=("drastic budget cuts (contract value changes)", "renewal history for lifetime value (sBG)",
           "retainer share (planning horizon)"),
)

INVOICES = Table(
    "invoices",
    "Invoices issued, with due and paid dates. Credit notes are negative amounts.",
    (
        Column("invoice_id", "str", "Invoice key.", required=True, nullable=False,
               aliases=("id", "invoice", "number", "номер", "счет", "счёт")),
        _client_id(),
        Column("contract_id", "str", "Contract the invoice bills, if known.",
               references="contracts.contract_id"),
        Column("issue_date", "date", "Date issued.", required=True, nullable=False, not_in_future=True,
               aliases=("date", "invoice date", "дата", "дата счета")),
        Column("due_date", "date", "Date payment is due.", required=True, nullable=False,
               aliases=("due", "срок оплаты")),
        Column("paid_date", "date", "Date paid in full; empty while unpaid.", not_in_future=True,
               aliases=("paid", "дата оплаты")),
        Column("paid_in_full", "bool", "Paid in full, for an export that says so without a date "
               "(Xero's status, a QuickBooks open balance of 0). With an empty paid_date the "
               "payment is counted as collected when due and its lateness is not measured; "
               "false or empty leaves paid_date alone to say whether it was paid."),
        Column("amount", "money", "Invoice total before tax.", required=True, nullable=False,
               unit="currency", aliases=("total", "сумма")),
        _currency(),
        Column("work_type", "enum", "What the invoice bills, when invoice lines say so.",
               values=WORK_TYPES),
    ),
    key=("invoice_id",),
    required_table=False,
    ordered_dates=(("issue_date", "due_date"), ("issue_date", "paid_date")),
    feeds=("revenue billed and collected", "late payments", "days sales outstanding"),
)

TIME_ENTRIES = Table(
    "time_entries",
    "Time tracked against clients. The minimum input: client, hours, billable amount and cost.",
    (
        Column("entry_id", "str", "Entry key; made from file and row when the export has none."),
        Column("date", "date", "Day the work was done.", required=True, nullable=False,
               not_in_future=True, aliases=("work date", "spent date", "дата")),
        Column("start_time", "time", "Local start time, HH:MM.", aliases=("start", "время начала")),
        Column("after_hours", "bool", "Work outside office hours (evening, night, weekend); derived "
               "from date and start_time when empty."),
        _client_id(),
        Column("project", "str", "Project name.", aliases=("проект",)),
        Column("task", "str", "Task, activity or tags; mapped to a work type by config.",
               aliases=("activity", "задача")),
        Column("person", "str", "Who did the work (optional: a minimal export may not say).",
               aliases=("user", "employee", "сотрудник", "исполнитель")),
        Column("role", "str", "Their role (developer, designer, account_manager...).",
               aliases=("роль",)),
        Column("hours", "float", "Hours worked.", required=True, nullable=False, min=0, max=24,
               unit="hours", aliases=("duration", "часы", "часов")),
        Column("billable", "bool", "Whether the client is billed for the hours.",
               aliases=("billable?", "оплачиваемое")),
        Column("bill_rate", "money", "Bill rate per hour.", min=0, unit="currency/hour"),
        Column("cost_rate", "money", "Cost rate per hour.", min=0, unit="currency/hour"),
        Column("billable_amount", "money", "Billable value of the entry (hours x bill rate when "
               "empty).", min=0, unit="currency", aliases=("amount", "сумма")),
        Column("cost_amount", "money", "Cost of the entry (hours x cost rate when empty).", min=0,
               unit="currency", aliases=("cost", "себестоимость")),
        _currency(),
        Column("work_type", "enum", "Kind of work; from the task mapping in config when empty.",
               values=WORK_TYPES, aliases=("work type", "тип работ", "вид работ")),
        Column("rework", "bool", "Redoing delivered work (bugs of ours, reverted requirements)."),
    ),
    key=("entry_id",),
    required_table=True,
    feeds=("delivery cost and gross margin", "communication and approval cost", "presale and estimate "
           "time without money", "rework and unbilled scope", "after-hours work", "spiral phases",
           "team growth for unplanned work"),
)

REQUESTS = Table(
    "requests",
    "Helpdesk and CRM requests: change requests, incidents, estimate requests, questions, support.",
    (
        Column("request_id", "str", "Request key.", required=True, nullable=False,
               aliases=("id", "key", "ticket", "номер")),
        _client_id(),
        Column("request_type", "enum", "Kind of request.", required=True, nullable=False,
               values=("change_request", "incident", "estimate_request", "question", "support"),
               aliases=("type", "тип")),
        Column("created_at", "datetime", "When the client raised it.", required=True, nullable=False,
               not_in_future=True, aliases=("created", "создан")),
        Column("urgency", "enum", "Urgency the client asked for.", values=("low", "normal", "high",
               "urgent"), aliases=("priority", "приоритет")),
        Column("approval_lead_days", "float", "Days the client took to approve our proposal or "
               "estimate.", min=0, unit="days"),
        Column("became_order", "bool", "An estimate or change request that became paid work."),
        Column("contradicts_earlier", "bool", "Reverts or contradicts an earlier request."),
        Column("planned", "bool", "Was in the agreed plan (false: unplanned scope)."),
        Column("accepted", "bool", "We agreed to do it."),
        Column("followed_up", "bool", "A support request or wish we recorded and answered."),
        Column("deliverable_id", "str", "Deliverable it concerns.",
               references="deliverables.deliverable_id"),
    ),
    key=("request_id",),
    feeds=("estimate shoppers", "'right now' demands after hours", "contradictory edits",
           "approval lead time", "request and order frequency trend", "scope creep (accepting every "
           "wish)", "support requests left without follow-up"),
)

DELIVERABLES = Table(
    "deliverables",
    "What we delivered: whether it launched or went into the drawer, and whether it was on time.",
    (
        Column("deliverable_id", "str", "Deliverable key.", required=True, nullable=False,
               aliases=("id",)),
        _client_id(),
        Column("name", "str", "What it is."),
        Column("work_type", "enum", "Kind of work.", values=WORK_TYPES),
        Column("promised_date", "date", "Date we promised."),
        Column("delivered_date", "date", "Date we delivered.", not_in_future=True),
        Column("status", "enum", "Where it stands.", required=True, nullable=False,
               values=("in_progress", "delivered", "launched", "shelved")),
        Column("launched_date", "date", "Date the client put it live.", not_in_future=True),
        Column("billed_extra", "bool", "Early delivery was billed (false: delivered early for free)."),
    ),
    key=("deliverable_id",),
    ordered_dates=(("delivered_date", "launched_date"),),
    feeds=("work shelved, never launched", "promises kept (missed deadlines)",
           "delivering faster than promised for free"),
)

SURVEYS = Table(
    "surveys",
    "Client satisfaction: NPS (0-10) or CSAT (1-5).",
    (
        Column("survey_id", "str", "Response key; made from file and row when absent."),
        _client_id(),
        Column("survey_date", "date", "Date answered.", required=True, nullable=False,
               not_in_future=True, aliases=("date", "дата")),
        Column("survey_type", "enum", "Scale.", required=True, nullable=False, values=("nps", "csat")),
        Column("score", "float", "Answer on the scale's range.", required=True, nullable=False, min=0,
               max=10, aliases=("оценка",)),
        Column("respondent", "str", "Who answered."),
    ),
    key=("survey_id",),
    feeds=("satisfaction (NPS, CSAT) and its trend",),
)

TEAM_FEEDBACK = Table(
    "team_feedback",
    "How our team rates working with each client (1 = nobody wants to, 5 = a pleasure).",
    (
        Column("feedback_id", "str", "Response key; made from file and row when absent."),
        _client_id(),
        Column("feedback_date", "date", "Date given.", required=True, nullable=False,
               not_in_future=True, aliases=("date", "дата")),
        Column("person", "str", "Who gave it."),
        Column("score", "float", "Rating 1-5.", required=True, nullable=False, min=1, max=5),
        Column("escalation", "bool", "An escalation or conflict with the client's PM."),
        Column("comment", "str", "Free text."),
    ),
    key=("feedback_id",),
    feeds=("aggressive client PM, the team does not want to work with the client",),
)

CONTACTS = Table(
    "contacts",
    "Who speaks for the client and who speaks for us, per quarter.",
    (
        _client_id(),
        Column("quarter", "quarter", "Quarter, as 2025Q3.", required=True, nullable=False),
        Column("client_contact", "str", "The client's main contact.", required=True, nullable=False),
        Column("our_communicator", "str", "Our person who talks to the client.", required=True,
               nullable=False),
        Column("communicator_role", "enum", "Their role; a technical specialist should not be the "
               "communicator.", values=("account_manager", "project_manager", "technical", "other")),
    ),
    key=("client_id", "quarter"),
    feeds=("client-side contact churn", "communicator never rotated", "technical specialist as "
           "communicator"),
)

PEOPLE = Table(
    "people",
    "Our people and their rates; fills cost (and bill) rates an export lacks (Toggl, Tempo).",
    (
        Column("person", "str", "Name as in the time export.", required=True, nullable=False),
        Column("role", "str", "Role."),
        Column("cost_rate", "money", "Cost per hour.", required=True, nullable=False, min=0,
               unit="currency/hour"),
        Column("bill_rate", "money", "List bill rate per hour.", min=0, unit="currency/hour"),
        _currency(),
    ),
    key=("person",),
    feeds=("delivery cost where the time export has none", "list rate for effective-rate comparison"),
)

FX_RATES = Table(
    "fx_rates",
    "Conversion to the reporting currency: one unit of `currency` is `rate` reporting units.",
    (
        Column("currency", "str", "ISO 4217 code.", required=True, nullable=False),
        Column("rate", "float", "Reporting-currency units per one unit.", required=True,
               nullable=False, min=0),
    ),
    key=("currency",),
    feeds=("every amount in another currency",),
)

RATES = Table(
    "rates",
    "A rate card: bill (and cost) rates per hour for time entries that carry no rate or amount "
    "of their own (Redmine, Jira, YouTrack, a bare hours file). A rate may name a client, a role "
    "and a person, each optional (empty means any), and applies from valid_from to valid_to "
    "(empty means open). Of the rates valid on an entry's date that fit it, the most specific "
    "applies: person+role+client > person+client > person+role > person > role+client > role > "
    "client > firm-wide (a rate naming the person beats any that does not; with the person, "
    "naming the client counts before naming the role, without, the role before the client). "
    "The people table's rates of the person rank below the card's rates that name the person "
    "and above all others. A rate the entry states itself always wins, and an entry "
    "with an amount keeps it. Two rows naming the same client, role and person, both valid on "
    "one day and both setting a bill (or both a cost) rate, are set aside, each naming the "
    "other. An entry that does not say whether it is billable is billable when the card gives "
    "it a bill rate above 0.",
    (
        Column("client_id", "str", "Client the rate is for (id or name); empty for every client.",
               references="clients.client_id", aliases=("client", "customer", "клиент")),
        Column("role", "str", "Role the rate is for, as in time_entries or people; empty for "
               "every role.", aliases=("роль",)),
        Column("person", "str", "Person the rate is for, as in the time export; empty for "
               "everyone.", aliases=("employee", "user", "сотрудник")),
        Column("valid_from", "date", "First day the rate applies; empty: since ever.",
               aliases=("from", "start date", "действует с")),
        Column("valid_to", "date", "Last day the rate applies; empty: open-ended.",
               aliases=("to", "end date", "действует по")),
        Column("bill_rate", "money", "Bill rate per hour; empty in a row that sets a cost rate "
               "alone (a row with neither is set aside).", required=True, min=0,
               unit="currency/hour", aliases=("hourly rate", "ставка")),
        Column("cost_rate", "money", "Cost rate per hour, if the card sets one.", min=0,
               unit="currency/hour", aliases=("себестоимость часа",)),
        _currency(),
    ),
    ordered_dates=(("valid_from", "valid_to"),),
    feeds=("revenue and delivery cost of time exports without money",),
)

PROJECT_CLIENTS = Table(
    "project_clients",
    "Which client each project belongs to, for time exports with no client column (Redmine): "
    "there a project not listed here stands for a client of its own name.",
    (
        Column("project", "str", "Project name as in the time export.", required=True,
               nullable=False, aliases=("проект",)),
        _client_id(),
    ),
    key=("project",),
    feeds=("the client of each entry of an export without clients",),
)

DEAL_OUTCOMES = ("won", "lost", "open")

DEALS = Table(
    "deals",
    "Sales deals from the CRM: proposals to existing clients and to prospects, open, won or "
    "lost. Stage names are the firm's own: a stage the contract does not know is data, not an "
    "error. Win rates by stage come from the closed deals; the open ones, weighted by them, make "
    "the pipeline, shown beside the forecast of existing clients and never added into it.",
    (
        Column("deal_id", "str", "Deal key.", required=True, nullable=False,
               aliases=("deal id", "id сделки", "номер сделки")),
        replace(_client_id(required=False), nullable=True,
                description="The existing client the deal is for (id or name, matched as in every "
                "table); empty for a prospect."),
        Column("prospect", "str", "The company a deal is for when it is no client yet (a CRM "
               "export's company lands here); one whose name or id reads as an existing client's "
               "is that client's deal.", aliases=("company", "associated company", "компания")),
        Column("deal_name", "str", "What the deal is for.", aliases=("deal name",
                                                                    "название сделки")),
        Column("stage", "str", "Stage the deal is in; for a closed deal the last stage it reached "
               "before closing, or empty when the CRM does not say.",
               aliases=("deal stage", "стадия", "стадия сделки", "этап")),
        Column("stage_order", "int", "Position of the stage in the firm's pipeline (1 = first). "
               "With it, a deal closed from a later stage counts as having reached every earlier "
               "one; without it each stage stands on its own.", min=1,
               aliases=("stage order", "порядок стадии")),
        Column("amount", "money", "Deal value; empty while not estimated (not measured).", min=0,
               unit="currency", aliases=("deal amount", "сумма", "бюджет")),
        _currency(),
        Column("created_date", "date", "Day the deal was opened.", required=True, nullable=False,
               not_in_future=True, aliases=("create date", "дата создания")),
        Column("expected_close_date", "date", "Day an open deal is expected to close.",
               aliases=("expected close", "expected close date",
                        "предполагаемая дата закрытия")),
        Column("closed_date", "date", "Day the deal was won or lost.", not_in_future=True,
               aliases=("дата закрытия",)),
        Column("outcome", "enum", "Won, lost, or still open.", required=True, nullable=False,
               values=DEAL_OUTCOMES, aliases=("result", "итог")),
        Column("lost_reason", "str", "Why a lost deal was lost, if recorded.",
               aliases=("closed lost reason", "lost reason", "причина отказа",
                        "причина проигрыша")),
    ),
    key=("deal_id",),
    ordered_dates=(("created_date", "closed_date"),),
    required_when=(("closed_date", "outcome", ("won", "lost")),),
    feeds=("win rates by stage and the weighted pipeline", "lost deals and repeated estimates per "
           "client (estimate shoppers)"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (CLIENTS, CONTRACTS, INVOICES, TIME_ENTRIES, REQUESTS, DELIVERABLES, SURVEYS,
              TEAM_FEEDBACK, CONTACTS, PEOPLE, FX_RATES, RATES, PROJECT_CLIENTS, DEALS)
}


def render_markdown() -> str:
    """The per-table part of docs/data-contract.md."""
    out: list[str] = []
    for table in TABLES.values():
        need = "required" if table.required_table else "optional"
        out.append(f"## `{table.name}` ({need})\n")
        out.append(table.description + "\n")
        if table.key:
            out.append(f"Key: {', '.join(f'`{k}`' for k in table.key)}.\n")
        if table.feeds:
            out.append("Feeds: " + "; ".join(table.feeds) + ".\n")
        out.append("| column | type | unit | required | rules | meaning |")
        out.append("|---|---|---|---|---|---|")
        for c in table.columns:
            rules = []
            if not c.nullable:
                rules.append("not empty")
            if c.values:
                rules.append("one of " + ", ".join(c.values))
            if c.min is not None:
                rules.append(f">= {c.min:g}")
            if c.max is not None:
                rules.append(f"<= {c.max:g}")
            if c.references:
                rules.append(f"matches `{c.references}`")
            if c.not_in_future:
                rules.append("not in the future")
            req = "yes" if c.required else ""
            out.append(f"| `{c.name}` | {c.type} | {c.unit} | {req} | {'; '.join(rules)} | "
                       f"{c.description} |")
        for earlier, later in table.ordered_dates:
            out.append(f"\n`{later}` may not be before `{earlier}`.")
        for column, other, values in table.required_when:
            out.append(f"\n`{column}` may not be empty where `{other}` is {' or '.join(values)}.")
        out.append("")
    return "\n".join(out)


DOC_MARKER = "<!-- tables: generated from src/clientlens/intake/contract.py; do not edit below by hand -->"


def write_doc(path=None) -> None:
    """Refresh the generated part of docs/data-contract.md."""
    from clientlens.paths import PROJECT_ROOT

    path = path or PROJECT_ROOT / "docs" / "data-contract.md"
    head = path.read_text(encoding="utf-8").split(DOC_MARKER)[0]
    path.write_text(head + DOC_MARKER + "\n\n" + render_markdown(), encoding="utf-8")


if __name__ == "__main__":
    write_doc()
