"""The reporting currency and the other one some clients are billed in (fx_rates.csv)."""
from __future__ import annotations

EUR_RATE = 1.08  # USD per EUR in fx_rates.csv
REPORTING_CURRENCY = "USD"
FX_RATES = (("USD", 1.0), ("EUR", EUR_RATE))
