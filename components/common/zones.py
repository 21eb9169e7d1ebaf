"""Time zone names from requests and settings, looked up safely.

A name is checked before ``ZoneInfo`` sees it: a 35,000-character name
(the hostile stream's) sent ``ZoneInfo`` into a ``RecursionError``, and JOC
answered ``orders/add`` with a 420 ``InternalError`` — a traceback in
disguise. IANA names are a few path segments of letters, digits, ``_+-``.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,64}(?:/[A-Za-z0-9_+\-]{1,64}){0,3}")


def zone(name: object) -> ZoneInfo | None:
    """The IANA time zone ``name``, or None when there is no such zone."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, RecursionError):
        return None
