"""Formula safety for every table the project writes for spreadsheets.

A spreadsheet program treats a cell text that starts with ``=``, ``+``,
``-`` or ``@`` (and, in some programs, a leading tab or carriage return) as
a formula: ``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0`` from an imported file
would run on the reader's machine. Such texts are written with a leading
apostrophe, the usual CSV-injection defence; the template reader strips that
apostrophe again (:func:`unguard`), so what the project exports imports back
unchanged.

The xlsx writers need no prefix: they write every text with ``write_string``
and formula/URL conversion off, so a text cell is never a formula there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def formula_safe(value):
    """A cell value as it may be written: texts starting like a formula get
    a leading apostrophe; every other value is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return GUARD + value
    return value


def unguard(text: str) -> str:
    """Undo :func:`formula_safe` for one cell text read back from a CSV."""
    if text.startswith(GUARD) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell made formula-safe (headers too)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.astype(object).map(formula_safe)
    out.columns = [formula_safe(str(c)) for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame, *, encoding: str = "utf-8-sig") -> bytes:
    """The frame as a formula-safe CSV (UTF-8 with BOM, as Excel expects)."""
    return safe_frame(df).to_csv(index=False).encode(encoding)


def write_csv(df: pd.DataFrame, path: str | Path, *, encoding: str = "utf-8-sig") -> Path:
    """Write the frame as a formula-safe CSV file."""
    path = Path(path)
    safe_frame(df).to_csv(path, index=False, encoding=encoding)
    return path
