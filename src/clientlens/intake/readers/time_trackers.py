"""Time-tracking exports beyond Harvest, Toggl and Tempo: Redmine, Clockify, Kimai, Productive.io."""
from __future__ import annotations

ADAPTERS: tuple = ()
