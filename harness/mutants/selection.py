"""Which mutants a run takes: by family, by id, or a deterministic rotation
(CI runs a few each day; over the days every mutant comes round)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from harness.mutants.catalog import Mutant


class SelectionError(Exception):
    """An id or family that the catalog does not hold."""


def rotation_seed(today: dt.date | None = None) -> int:
    """The default seed: the UTC date as YYYYMMDD, so one day's CI runs agree."""
    d = today or dt.datetime.now(dt.UTC).date()
    return d.year * 10000 + d.month * 100 + d.day


def choose(
    mutants: Sequence[Mutant],
    *,
    families: Sequence[str] = (),
    ids: Sequence[str] = (),
    rotate: int | None = None,
    seed: int | None = None,
) -> list[Mutant]:
    known = {m.id for m in mutants}
    missing = [i for i in ids if i not in known]
    if missing:
        raise SelectionError(f"no mutant with id {', '.join(missing)}")
    picked = [
        m for m in mutants if (not families or m.family in families) and (not ids or m.id in ids)
    ]
    if rotate is not None and rotate < len(picked):
        # A shuffle seeded by the day: deterministic for a given seed, and the
        # whole catalog is visited over successive days.
        rng = random.Random(rotation_seed() if seed is None else seed)
        order = sorted(picked, key=lambda m: m.id)
        rng.shuffle(order)
        picked = sorted(order[:rotate], key=lambda m: m.id)
    return picked
