"""Plain tables drawn by a component of ours (``assets/table.js``): every
table of the dashboard's reading pages (总览, 预算执行, 未完成目标, 趋势对比,
部门画像) and the print twin of a long one (:func:`perfeval.ui.printing.print_table`).
A long table (``height``) scrolls in its box with its header and first column
kept in view, and sorts by any column (a click on its header) in the browser.

Why not ``st.dataframe`` for these: the grid is a canvas whose code and set-up
cost a new browser session 0.35 s or more (measured beside a trivial page:
its first view 1.24 s, with one three-row grid 1.59 s), and it prints as an
empty box. A plain table is text the browser lays out, prints as it is and
reads aloud. The cells are built with ``textContent`` (data is never markup),
not as ``st.html``, which the browser sanitises on every run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd
import streamlit as st

Formatter = Callable[[object], str]
PRINT_ONLY = "pe-print-only"  # the class of a table hidden on screen (perfeval.ui.printing)
SCREEN_ONLY = "pe-screen-only"  # ... and of one not printed (its print twin is)


@dataclass(frozen=True)
class Bar:
    """A numeric column drawn as a bar from ``low`` (empty) to ``high`` (full),
    red below ``line`` and green from it (预算执行's execution rates)."""

    low: float
    high: float
    line: float


def pct(digits: int = 1) -> Formatter:
    return lambda v: f"{float(v) * 100:.{digits}f}%"


def pct_points(digits: int = 1) -> Formatter:
    """A change of a rate: +1.3 个百分点."""
    return lambda v: f"{float(v) * 100:+.{digits}f} 个百分点"


def num(digits: int = 2, signed: bool = False) -> Formatter:
    return lambda v: f"{float(v):{'+' if signed else ''},.{digits}f}"


def _text(v, fmt: Formatter | None) -> str:
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return ""
    if fmt is not None:
        return fmt(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int | float):
        return (f"{v:,.2f}" if isinstance(v, float) and not float(v).is_integer()
                else f"{v:,.0f}")
    return str(v)


def _number(v) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if x != x or x in (float("inf"), float("-inf")) else x


def cells(df: pd.DataFrame, columns: Mapping[str, str],
          formats: Mapping[str, Formatter] | None = None, *, sortable: bool = False,
          bars: Mapping[str, Bar] | None = None) -> dict:
    """``df`` as the component's table: ``columns`` maps column → header (in
    order, those missing from ``df`` left out), ``formats`` column → formatter.
    A column is right-aligned when it has a formatter or holds numbers.
    ``sortable`` or ``bars``: each numeric column's values go along as
    ``keys`` (null where missing), which the browser sorts by and sizes bars from."""
    formats, bars = formats or {}, bars or {}
    cols = [c for c in columns if c in df.columns]
    numeric = [c in formats or c in bars or (pd.api.types.is_numeric_dtype(df[c])
                                             and not pd.api.types.is_bool_dtype(df[c]))
               for c in cols]
    rows = [[_text(v, formats.get(c)) for c, v in zip(cols, rec, strict=True)]
            for rec in df[cols].itertuples(index=False, name=None)]
    out = {"headers": [columns[c] for c in cols], "numeric": numeric, "rows": rows}
    if sortable or bars:
        out["keys"] = [[_number(v) for v in df[c]] if num else None
                       for c, num in zip(cols, numeric, strict=True)]
        out["sortable"] = sortable
    if bars:
        out["bars"] = [{"low": bars[c].low, "high": bars[c].high, "line": bars[c].line}
                       if c in bars else None for c in cols]
    return out


@functools.cache
def _component():
    """Registered on first use (see perfeval.ui.plot._component)."""
    return st.components.v2.component("perfeval.table", js="table.js", css="table.css",
                                      isolate_styles=False)


def show(df: pd.DataFrame, columns: Mapping[str, str],
         formats: Mapping[str, Formatter] | None = None, *, key: str,
         clickable: bool = False, print_only: bool = False, screen_only: bool = False,
         height: int | None = None, bars: Mapping[str, Bar] | None = None,
         title: str = "", note: str = "") -> int | None:
    """Draw ``df`` (:func:`cells`); ``print_only``: hidden on screen;
    ``screen_only``: not printed; ``height``: a long table, at most this many
    pixels high, scrolled and sortable. Returns the position in ``df`` of the
    row clicked in this run, if any (``clickable``)."""
    box = PRINT_ONLY if print_only else "pe-table-box" + (f" {SCREEN_ONLY}" if screen_only else "")
    data = {**cells(df, columns, formats, sortable=height is not None, bars=bars),
            "clickable": clickable, "box": box, "height": height, "title": title, "note": note}
    result = _component()(data=data, key=key, on_row_change=lambda: None)
    row = getattr(result, "row", None) if clickable else None
    return row if isinstance(row, int) and 0 <= row < len(df) else None
