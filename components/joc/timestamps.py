"""JOC's timestamps: UTC, ISO 8601 with milliseconds and ``Z`` (the
``timestamp-schema.json`` of js7-api-schemas), as in ``deliveryDate``."""

from __future__ import annotations

import datetime as dt


def iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def delivery() -> str:
    """Now, as JOC's ``deliveryDate`` (and ``surveyDate``)."""
    return str(iso(dt.datetime.now(dt.UTC)))
