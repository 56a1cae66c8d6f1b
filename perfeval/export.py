"""Excel downloads of the dashboard's tables.

One workbook per table: the first sheet 筛选条件 lists the filters the table
was made with, the second holds the rows under Chinese headers, numbers as
numbers, the header frozen. Every text cell is written with ``write_string``
and the workbook has formula/URL conversion off, so a text such as ``=1+1``
or ``@SUM(A1)`` from an imported file stays text and never runs as a formula.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
import xlsxwriter

# Formats of known value kinds (by column key); others: general number / text.
PERCENT_COLUMNS = {"exec_rate", "shortfall", "exec_prev", "exec_delta"}


def excel_bytes(df: pd.DataFrame, *, labels: Mapping[str, str] | None = None,
                filters: Sequence[tuple[str, str]] = (), sheet: str = "数据",
                percent: set[str] | None = None) -> bytes:
    """The workbook as bytes. ``labels`` maps column → Chinese header (columns
    not in it are left out when it is given); ``percent`` columns (fractions)
    get a percent format."""
    if labels is not None:
        cols = [c for c in labels if c in df.columns]
        headers = [labels[c] for c in cols]
    else:
        cols = list(df.columns)
        headers = [str(c) for c in cols]
    percent = PERCENT_COLUMNS if percent is None else percent
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False,
                                   "nan_inf_to_errors": False})
    head = wb.add_format({"bold": True, "bg_color": "#E8EEF5", "border": 1})
    pct = wb.add_format({"num_format": "0.00%"})
    num = wb.add_format({"num_format": "#,##0.00"})
    whole = wb.add_format({"num_format": "0"})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})

    ws = wb.add_worksheet("筛选条件")
    ws.write_string(0, 0, "筛选项", head)
    ws.write_string(0, 1, "取值", head)
    for r, (name, value) in enumerate(filters, 1):
        ws.write_string(r, 0, str(name))
        ws.write_string(r, 1, str(value))
    ws.write_string(len(filters) + 2, 0, "导出时间")
    ws.write_string(len(filters) + 2, 1, datetime.now().strftime("%Y-%m-%d %H:%M"))
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 60)

    ws = wb.add_worksheet(sheet[:31])
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, head)
    for c, col in enumerate(cols):
        series = df[col]
        is_int = pd.api.types.is_integer_dtype(series.dtype)
        fmt = pct if col in percent else (whole if is_int or col == "year" else num)
        width = max(len(headers[c]) * 2 + 2, 10)
        for r, value in enumerate(series.tolist(), 1):
            _write(ws, r, c, value, fmt, when)
            if isinstance(value, str):
                width = max(width, min(len(value) * 2 + 2, 60))
        ws.set_column(c, c, width)
    ws.freeze_panes(1, 0)
    if len(cols):
        ws.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
    wb.close()
    return buf.getvalue()


def _write(ws, r: int, c: int, value, fmt, when) -> None:
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, bool | np.bool_):
        ws.write_string(r, c, "是" if value else "否")
    elif isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not math.isnan(v) and not math.isinf(v):
            ws.write_number(r, c, v, fmt)
    elif isinstance(value, datetime | date | pd.Timestamp):
        ws.write_datetime(r, c, pd.Timestamp(value).to_pydatetime(), when)
    elif isinstance(value, list | tuple | np.ndarray):
        ws.write_string(r, c, "；".join(map(str, value)))
    else:
        ws.write_string(r, c, str(value))
