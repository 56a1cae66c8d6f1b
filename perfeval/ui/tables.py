"""Plain tables drawn by a component of ours (``assets/table.js``): tables of
a few dozen rows at most (总览's largest self-score gaps and latest unmet
targets, 部门画像's budget lines, lost points and indicators) and the print
twin of every data grid (:func:`perfeval.ui.printing.print_table`).

Why not ``st.dataframe`` for these: the grid is a canvas whose
code and set-up cost a new browser session 0.3 s or more per grid (总览's two
grids of 5 and 10 rows: 0.6–1.0 s of its first view), and it prints as an
empty box. A plain table is text the browser lays out, prints as it is and
reads aloud. The cells are built with ``textContent`` (data is never markup),
not as ``st.html``, which the browser sanitises on every run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

Formatter = Callable[[object], str]
PRINT_ONLY = "pe-print-only"  # the class of a table hidden on screen (perfeval.ui.printing)


def pct(digits: int = 1) -> Formatter:
    return lambda v: f"{float(v) * 100:.{digits}f}%"


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


def cells(df: pd.DataFrame, columns: Mapping[str, str],
          formats: Mapping[str, Formatter] | None = None) -> dict:
    """``df`` as the component's table: ``columns`` maps column → header (in
    order, those missing from ``df`` left out), ``formats`` column → formatter.
    A column is right-aligned when it has a formatter or holds numbers."""
    formats = formats or {}
    cols = [c for c in columns if c in df.columns]
    numeric = [c in formats or (pd.api.types.is_numeric_dtype(df[c])
                                and not pd.api.types.is_bool_dtype(df[c])) for c in cols]
    rows = [[_text(v, formats.get(c)) for c, v in zip(cols, rec, strict=True)]
            for rec in df[cols].itertuples(index=False, name=None)]
    return {"headers": [columns[c] for c in cols], "numeric": numeric, "rows": rows}


@functools.cache
def _component():
    """Registered on first use (see perfeval.ui.plot._component)."""
    return st.components.v2.component("perfeval.table", js="table.js", css="table.css",
                                      isolate_styles=False)


def show(df: pd.DataFrame, columns: Mapping[str, str],
         formats: Mapping[str, Formatter] | None = None, *, key: str,
         clickable: bool = False, print_only: bool = False, title: str = "",
         note: str = "") -> int | None:
    """Draw ``df`` (:func:`cells`); ``print_only``: hidden on screen. Returns
    the position of the row clicked in this run, if any (``clickable``)."""
    data = {**cells(df, columns, formats), "clickable": clickable,
            "box": PRINT_ONLY if print_only else "pe-table-box", "title": title, "note": note}
    result = _component()(data=data, key=key, on_row_change=lambda: None)
    row = getattr(result, "row", None) if clickable else None
    return row if isinstance(row, int) and 0 <= row < len(df) else None
