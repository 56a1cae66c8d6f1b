"""Selection → target logic, kept free of Streamlit so it can be unit-tested
(AppTest cannot click a chart bar or a table row).

A click on a department in a chart (plotly ``on_select``) or a table row
(dataframe ``on_select``) opens 部门画像 with the department in the URL,
keeping the global filters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

import pandas as pd

PROFILE_PAGE = "pages/profile.py"
PROFILE_KEY = "dept"  # the profile page's department = its URL parameter
# URL parameters of the global filters (widget keys in the entry point).
FILTER_KEYS = ("year", "cmp", "region", "kind", "departments", "scope", "demo")
SCOPE_DEFAULT = "部门整体"
# Names a department picker sends to the browser at most: each name is sent
# and its option rebuilt with every run (26,000 of them, 10 million indicators,
# were 1.4 MB per picker and run; 1,000 still cost a filter change 50 ms more
# than 100). Enough for a district's units; beyond this a 查找部门 box narrows
# the list on the server.
DEPARTMENT_OPTIONS = 200


def _get(obj, name):
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def department_from_chart(state) -> str | None:
    """The department of the first selected point of a plotly selection state.

    Figures built by :mod:`perfeval.ui.charts` put the department name first in
    each point's ``customdata``; a point without it gives None.
    """
    points = _get(_get(state, "selection"), "points") or []
    for point in points:
        custom = _get(point, "customdata")
        if isinstance(custom, list | tuple) and custom:
            custom = custom[0]
        if isinstance(custom, str) and custom:
            return custom
    return None


def department_from_table(state, table: pd.DataFrame, column: str = "department") -> str | None:
    """The department of the selected row of a dataframe selection state."""
    rows = _get(_get(state, "selection"), "rows") or []
    for row in rows:
        if isinstance(row, int) and 0 <= row < len(table) and column in table.columns:
            value = table.iloc[row][column]
            if isinstance(value, str) and value:
                return value
    return None


def department_choices(names: Sequence[str], selected: Sequence[str], keyword: str = "",
                       limit: int = DEPARTMENT_OPTIONS) -> tuple[list[str], int]:
    """The options of a department picker: every selected name, then the
    names containing ``keyword`` (all names when it is empty), in the order
    of ``names``, at most ``limit`` in all (the selected ones always).
    Returns (options, how many names contain the keyword)."""
    chosen = set(selected)
    keyword = keyword.strip()
    matches = [n for n in names if keyword in n] if keyword else list(names)
    room = max(0, limit - len(chosen))
    kept = set([n for n in matches if n not in chosen][:room]) | chosen
    return [n for n in names if n in kept], len(matches)


def profile_params(current: Mapping[str, str | Sequence[str]], department: str) -> dict:
    """Query parameters of the profile page: the global filters as they are
    in the URL now (only those), plus the department."""
    out: dict[str, str | list[str]] = {}
    for key in FILTER_KEYS:
        value = current.get(key)
        if value is None or value == [] or value == "":
            continue
        out[key] = list(value) if isinstance(value, list | tuple) else str(value)
    out[PROFILE_KEY] = department
    return out


def filter_defaults(options: Mapping[str, list], *, real_data: bool = False) -> dict:
    """The filters when the URL says nothing: the latest year, everything else
    open; demo rows left out once real evaluations exist."""
    years = [int(y) for y in options.get("years", [])]
    scopes = list(options.get("scopes") or [SCOPE_DEFAULT])
    return {"year": years[0] if years else None, "cmp": None, "region": None, "kind": None,
            "departments": [], "scope": SCOPE_DEFAULT if SCOPE_DEFAULT in scopes else scopes[0],
            "demo": not real_data}


def filter_values(params: Mapping[str, Sequence[str]], options: Mapping[str, list],
                  defaults: Mapping) -> dict:
    """Every filter's value as the URL states it; a missing or unknown value
    takes its default. ``demo`` is only a choice while real data exists."""
    found = filters_from_params(params, options)
    out = {k: (found.get(k) if found.get(k) not in (None, []) else defaults[k])
           for k in FILTER_KEYS if k != "demo"}
    out["departments"] = found.get("departments") or []
    demo = (params.get("demo") or [None])[-1]
    out["demo"] = defaults["demo"] if defaults["demo"] or demo is None else demo == "1"
    return out


def url_params(values: Mapping, defaults: Mapping) -> dict[str, str | list[str]]:
    """The URL parameters of ``values``: only those that differ from the
    defaults, as text, in a fixed order (so one view has one URL)."""
    out: dict[str, str | list[str]] = {}
    for key in FILTER_KEYS:
        value = values.get(key)
        if value == defaults.get(key) or value is None or value == [] or value == ():
            continue
        if key == "demo":
            out[key] = "1" if value else "0"
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out


def same_params(a: Mapping, b: Mapping) -> bool:
    """Whether two parameter mappings state the same thing (a one-item list
    and its string are the same)."""
    def norm(m):
        return {k: tuple(v) if isinstance(v, list | tuple) else (v,) for k, v in m.items()
                if v not in (None, "", [], ())}
    return norm(a) == norm(b)


def page_url(page: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """The relative URL of a page file with its parameters:
    ``pages/profile.py`` + {"year": "2023"} → ``profile?year=2023``."""
    from urllib.parse import urlencode

    path = PurePosixPath(page).stem
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", [])}, doseq=True)
    return path + (f"?{query}" if query else "")


def filters_from_params(params: Mapping[str, Sequence[str]], options: Mapping[str, list]) -> dict:
    """The global filters as a URL states them, for a page run without the
    entry point (its bound widgets normally do this). Values not among the
    options are ignored, as the bound widgets ignore them."""
    def one(key: str, choices: list):
        values = params.get(key) or []
        value = values[-1] if values else None
        by_text = {str(c): c for c in choices}
        return by_text.get(value) if value is not None else None

    years = [int(y) for y in options.get("years", [])]
    wanted = set(params.get("departments") or [])
    return {"year": one("year", years), "cmp": one("cmp", years),
            "region": one("region", options.get("regions", [])),
            "kind": one("kind", options.get("kinds", [])),
            "departments": [d for d in options.get("departments", []) if d in wanted],
            "scope": one("scope", options.get("scopes", []))}


def resolve_compare_year(year: int | None, chosen: int | None, years: Sequence[int]) -> int | None:
    """对比年度: the chosen one, else the year before ``year`` when it has data."""
    if chosen is not None and chosen != year:
        return int(chosen)
    if year is not None and (year - 1) in set(int(y) for y in years):
        return year - 1
    return None


def delta_text(now, before, *, percent: bool = False, digits: int = 2) -> str | None:
    """The change shown under a KPI, or None without a comparison."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return None
    d = float(now) - float(before)
    if percent:
        return f"{d * 100:+.{digits}f} 个百分点"
    if float(d).is_integer() and digits == 0:
        return f"{int(d):+d}"
    return f"{d:+,.{digits}f}"
