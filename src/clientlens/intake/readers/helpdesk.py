"""Helpdesk exports: Zendesk tickets."""
from __future__ import annotations

ADAPTERS: tuple = ()
