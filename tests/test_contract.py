"""The data contract and its document agree; its definitions hold together."""
from clientlens.intake import contract
from clientlens.paths import PROJECT_ROOT


def test_document_matches_the_contract():
    doc = (PROJECT_ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert doc.split(contract.DOC_MARKER)[1].strip() == contract.render_markdown().strip(), \
        "docs/data-contract.md is stale: run python -m clientlens.intake.contract"


def test_keys_and_references_name_real_columns():
    for table in contract.TABLES.values():
        for key in table.key:
            assert key in table.column_names, (table.name, key)
        for earlier, later in table.ordered_dates:
            assert {earlier, later} <= set(table.column_names)
        for column in table.columns:
            if column.references:
                ref_table, ref_column = column.references.split(".")
                assert ref_column in contract.TABLES[ref_table].column_names


def test_only_time_entries_is_required():
    assert [t.name for t in contract.TABLES.values() if t.required_table] == ["time_entries"]


def test_minimum_time_export_columns():
    required = set(contract.TIME_ENTRIES.required_columns)
    assert required == {"date", "client_id", "hours"}
