"""The reporting currency and the others a firm's clients may be billed in (fx_rates.csv).

A firm writes the rows of the currencies it uses (firms.FirmConfig.currencies).
"""
from __future__ import annotations

EUR_RATE = 1.08  # USD per EUR in fx_rates.csv
GBP_RATE = 1.27  # USD per GBP
REPORTING_CURRENCY = "USD"
FX_RATES = (("USD", 1.0), ("EUR", EUR_RATE), ("GBP", GBP_RATE))
