"""The one compiler from filters to SQL (datasette's filters.py, in small).

Plain data in (:class:`Filters`, the viewer's ``allowed`` departments),
parameterised SQL out: :meth:`Filters.where` returns a condition over the
columns of ``cur_evaluations`` under an alias, and its positional
parameters. Every query, the audit, problem follow-up, the exports and the
data page build their WHERE clause here; nothing else turns a filter into
SQL. Sort orders come from whitelists through :func:`order_sql`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .model import PerfevalError
from .rules import DEFAULT_SCHEME, DEFAULT_SCOPE

# The filter's own year (``where(years=THIS_YEAR)``, the default).
THIS_YEAR = "this-year"


@dataclass(frozen=True)
class Filters:
    """The sidebar's filters. ``departments`` empty = every department;
    ``scope`` None = every scope; ``year`` None = no year chosen."""

    year: int | None = None
    compare_year: int | None = None
    region: str | None = None
    kind: str | None = None
    departments: tuple[str, ...] = field(default_factory=tuple)
    scope: str | None = DEFAULT_SCOPE
    scheme: str = DEFAULT_SCHEME
    include_demo: bool = True  # False: leave demo rows out (once real data exists)

    def describe(self) -> list[tuple[str, str]]:
        """(名称, 取值) pairs, for the first sheet of a download."""
        return [("年度", str(self.year or "—")), ("对比年度", str(self.compare_year or "—")),
                ("区域", self.region or "全部"), ("类别", self.kind or "全部"),
                ("部门", "、".join(self.departments) if self.departments else "全部"),
                ("评价范围", self.scope or "全部"), ("评分方案", self.scheme)]

    @property
    def years(self) -> list[int]:
        """The year and the comparison year (those set)."""
        return [int(y) for y in (self.year, self.compare_year) if y is not None]

    def where(self, alias: str = "e", *, years: Sequence[int] | str | None = THIS_YEAR,
              allowed: Sequence[str] | None = None, departments: bool = True,
              eval_ids: Sequence[int] | None = None) -> tuple[str, list]:
        """(condition, params) over ``cur_evaluations`` columns of ``alias``.

        ``years``: THIS_YEAR (the filter's year; no year chosen matches
        nothing), a list of years, or None (every year). ``allowed``: the
        departments the viewer may see (None: all). ``departments=False``
        ignores the department filter (a kind's median over all its
        departments). ``eval_ids`` narrows to those evaluations.
        """
        if not alias.isidentifier():
            raise ValueError(f"not an alias: {alias!r}")
        a = alias
        conds: list[str] = []
        params: list = []
        if self.scope is not None:
            conds.append(f"{a}.scope = ?")
            params.append(self.scope)
        if years == THIS_YEAR:
            years = [self.year] if self.year is not None else []
        if years is not None:
            conds.append(f"list_contains(?::INTEGER[], {a}.year)")
            params.append([int(y) for y in years])
        if self.region:
            conds.append(f"{a}.region = ?")
            params.append(self.region)
        if self.kind:
            conds.append(f"{a}.kind = ?")
            params.append(self.kind)
        if departments and self.departments:
            conds.append(f"list_contains(?::VARCHAR[], {a}.department)")
            params.append(list(self.departments))
        if allowed is not None:
            conds.append(f"list_contains(?::VARCHAR[], {a}.department)")
            params.append(list(allowed))
        if not self.include_demo:
            conds.append(f"NOT {a}.is_demo")
        if eval_ids is not None:
            conds.append(f"list_contains(?::BIGINT[], {a}.eval_id)")
            params.append([int(x) for x in eval_ids])
        return (" AND ".join(conds) or "TRUE"), params


def evaluations_sql(f: Filters, allowed: Sequence[str] | None = None, *,
                    years: Sequence[int] | str | None = THIS_YEAR, departments: bool = True,
                    eval_ids: Sequence[int] | None = None,
                    columns: str = "e.*") -> tuple[str, list]:
    """SELECT of the current evaluations in the filters (alias ``e``)."""
    cond, params = f.where("e", years=years, allowed=allowed, departments=departments,
                           eval_ids=eval_ids)
    return f"SELECT {columns} FROM cur_evaluations e WHERE {cond}", params  # noqa: S608


def order_sql(orders: Mapping[str, str], key: str, what: str = "排序方式") -> str:
    """The ORDER BY text of ``key`` in a whitelist; a clear error for any other key."""
    try:
        return orders[key]
    except (KeyError, TypeError):
        raise PerfevalError(f"未知的{what}：{key}（可选：{'、'.join(orders)}）") from None
