"""Page timings for ``perfeval bench``: each dashboard page run with
Streamlit's AppTest, once with every query cache empty and then rerun.

``bench_pages(db_path)`` returns seconds per page: ``<page>`` is the rerun (a
leader clicking again: cached queries, rendering), ``<page>_cold`` the first
view of the page with the query caches emptied (what a new filter value
costs), ``app`` the entry point (sidebar filters + 总览) rerun. Imports and
the store's opening are warmed up first and not counted.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"app": "app.py", "overview": "pages/overview.py", "budget": "pages/budget.py",
         "unmet": "pages/unmet.py", "trends": "pages/trends.py", "profile": "pages/profile.py"}


def bench_pages(db_path: str | Path, *, timeout: float = 120) -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["PERFEVAL_DB"] = str(db_path)
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout).run()  # warm-up
    out: dict[str, float] = {}
    for name, page in PAGES.items():
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
        start = time.perf_counter()
        at.run()
        out[f"{name}_cold"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        at.run()
        out[name] = round(time.perf_counter() - start, 3)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].value}")
    return out
