"""Invoice exports of accounting tools: Xero, QuickBooks."""
from __future__ import annotations

ADAPTERS: tuple = ()
