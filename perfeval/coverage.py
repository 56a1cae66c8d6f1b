"""Who has submitted: a year's expected units against its evaluations.

Expected units for year N are, by default, every unit with a current
evaluation (of the filtered scope) in year N−1. Units that submit without
having been expected count as submitted too. The filters (region, kind,
departments) and the viewer's departments apply to both years.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .queries import Filters, _evals


@dataclass(frozen=True)
class Coverage:
    year: int
    expected: tuple[str, ...]  # units expected to submit for `year`
    submitted: tuple[str, ...]  # units with a current evaluation for `year`
    missing: tuple[str, ...]  # expected but not submitted, by name

    @property
    def rate(self) -> float | None:
        """Share of expected units that submitted; None when none was expected."""
        if not self.expected:
            return None
        return 1 - len(self.missing) / len(self.expected)


def coverage(db, f: Filters, allowed: Sequence[str] | None) -> Coverage | None:
    """Coverage of ``f.year`` (None when no year is chosen)."""
    if f.year is None:
        return None
    year = int(f.year)
    sql, params = _evals(f, allowed, [year - 1, year])
    df = db.query_df(f"SELECT DISTINCT department, year FROM ({sql}) ORDER BY department",  # noqa: S608
                     params)
    last = set(df.loc[df["year"] == year - 1, "department"])
    this = set(df.loc[df["year"] == year, "department"])
    expected = sorted(last | this)
    return Coverage(year=year, expected=tuple(expected), submitted=tuple(sorted(this)),
                    missing=tuple(sorted(last - this)))
