"""``python -m perfeval.ui.serve [streamlit options]``: the dashboard server.

The same as ``streamlit run serve.py`` (app.py served with its session-cookie
route, see serve.py), but the database's writer thread
(perfeval.spool: command-line writes and the inbox) and the first-run setup
token start with the server, before anyone opens a page. ``make run`` uses it.

:func:`start_server` starts it (or ``streamlit run`` of another script) as a
child process on a free loopback port: the browser benchmark and the browser
tests share it, so that both measure and test the app as ``make run`` serves it.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "serve.py"
# Headless, no file watcher, no telemetry: a server for a test or a benchmark.
SERVER_OPTIONS = ("--server.address", "127.0.0.1", "--server.headless", "true",
                  "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false")


def main(argv: list[str] | None = None) -> None:
    from perfeval.store import default_db_path, shared_store
    from perfeval.ui.writer import ensure_writer

    argv = list(sys.argv[1:] if argv is None else argv)
    writer = ensure_writer(shared_store(default_db_path()))
    atexit.register(writer.stop)
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", "run", str(APP), *argv]
    stcli.main()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def start_server(log_path: Path, *, db: Path | None = None, script: Path | None = None,
                 env: dict | None = None, timeout: float = 90):
    """Yield (base URL, process) of a server on a free loopback port once its
    health check answers; stop it afterwards. ``script`` None: the dashboard
    as ``make run`` starts it (this module); else ``streamlit run script``.
    ``db`` sets PERFEVAL_DB. Raises RuntimeError (with the log's tail) when
    the server does not come up within ``timeout`` seconds."""
    port = free_port()
    full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    if db is not None:
        full_env["PERFEVAL_DB"] = str(db)
    runner = ["-m", "perfeval.ui.serve"] if script is None else ["-m", "streamlit", "run",
                                                                  str(script)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, *runner, "--server.port", str(port),
                                 *SERVER_OPTIONS],
                                cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:  # the runtime is ready when its health check says so
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = Path(log_path).read_text("utf-8", "replace")[-2000:]
                raise RuntimeError(f"服务未能启动（{log_path}）：{tail}")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
