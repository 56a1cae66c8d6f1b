"""``python -m perfeval.ui.serve [streamlit options]``: the dashboard server.

The same as ``streamlit run serve.py`` (app.py served with its session-cookie
route, see serve.py), but the database's writer thread
(perfeval.spool: command-line writes and the inbox) and the first-run setup
token start with the server, before anyone opens a page. ``make run`` uses it.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from perfeval.store import default_db_path, shared_store
from perfeval.ui.writer import ensure_writer

APP = Path(__file__).resolve().parents[2] / "serve.py"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    writer = ensure_writer(shared_store(default_db_path()))
    atexit.register(writer.stop)
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    stcli.main()


if __name__ == "__main__":
    main()
