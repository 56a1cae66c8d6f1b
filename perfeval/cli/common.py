"""Helpers shared by the command modules: opening the store, printing."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

from ..store import Store, default_db_path

# Set while the dashboard server runs a spooled command (perfeval.spool): the
# command then uses the server's open Store instead of opening the file.
_server = threading.local()


class _Borrowed:
    """The server's Store for one command: ``with`` does not close it."""

    def __init__(self, store: Store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def __enter__(self) -> Store:
        return self._store

    def __exit__(self, *exc) -> None:
        return None

    def close(self) -> None:
        return None


@contextmanager
def serving(store: Store):
    before = getattr(_server, "store", None)
    _server.store = store
    try:
        yield
    finally:
        _server.store = before


def open_store(args, *, read_only: bool = False) -> Store:
    server_store = getattr(_server, "store", None)
    if server_store is not None:
        return _Borrowed(server_store)  # type: ignore[return-value]
    return Store(getattr(args, "db", None) or default_db_path(), read_only=read_only)


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def scope_label(scope: str, project: str) -> str:
    return f"{scope}「{project}」" if project else scope


def fmt_num(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}".rstrip("0").rstrip(".")
