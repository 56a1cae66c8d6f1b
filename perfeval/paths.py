"""Where the database file is by default: apart from perfeval.store so that a
command handed to a running dashboard (perfeval.spool) finds the file without
importing DuckDB and pandas."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("data") / "perfeval.duckdb"


def default_db_path() -> Path:
    return Path(os.environ.get("PERFEVAL_DB") or DEFAULT_DB)
