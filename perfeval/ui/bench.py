"""Page timings for ``perfeval bench``: each dashboard page run once to warm
up (imports, first queries) and then rerun, with Streamlit's AppTest.

``bench_pages(db_path)`` returns seconds per page: ``<page>`` is the rerun a
leader waits for when clicking again (cached queries), ``<page>_cold`` the
first view of the page with every query cache emptied (what a new filter
value costs).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"overview": "pages/overview.py", "budget": "pages/budget.py",
         "unmet": "pages/unmet.py", "trends": "pages/trends.py", "profile": "pages/profile.py"}


def bench_pages(db_path: str | Path, *, timeout: float = 120) -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["PERFEVAL_DB"] = str(db_path)
    out: dict[str, float] = {}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()  # warm-up: imports, the store, the filter options
    for name, page in PAGES.items():
        st.cache_data.clear()
        at.switch_page(page)
        start = time.perf_counter()
        at.run()
        out[f"{name}_cold"] = round(time.perf_counter() - start, 3)
        start = time.perf_counter()
        at.run()
        out[name] = round(time.perf_counter() - start, 3)
        if at.exception:
            raise RuntimeError(f"{name}: {at.exception[0].value}")
    return out
