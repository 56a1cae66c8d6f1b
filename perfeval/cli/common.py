"""Helpers shared by the command modules: opening the store, printing.

The parser is built on every run, also when the command is handed to a
running dashboard (perfeval.spool); so the command modules import the library
(pandas, DuckDB, argon2 …) inside their commands, not at module level.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from contextlib import contextmanager

# Set while the dashboard server runs a spooled command (perfeval.spool): the
# command then uses the server's open Store instead of opening the file.
_server = threading.local()


class LazyChoices:
    """``choices=`` read from a library module only when argparse checks a
    value or prints help, so building the parser imports nothing heavy. Give
    the argument a ``metavar`` (else argparse lists the choices as it builds)
    and ``%(choices)s`` in its help."""

    def __init__(self, load: Callable[[], Iterable[str]]):
        self._load = load

    def __contains__(self, value) -> bool:
        return value in list(self._load())

    def __iter__(self):
        return iter(list(self._load()))


def _scheme_names() -> list[str]:
    from ..scoring import SCHEMES

    return list(SCHEMES)


SCHEME_CHOICES = LazyChoices(_scheme_names)


class _Borrowed:
    """The server's Store for one command: ``with`` does not close it."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def __enter__(self):
        return self._store

    def __exit__(self, *exc) -> None:
        return None

    def close(self) -> None:
        return None


@contextmanager
def serving(store):
    before = getattr(_server, "store", None)
    _server.store = store
    try:
        yield
    finally:
        _server.store = before


def open_store(args, *, read_only: bool = False):
    """The server's Store while it runs this command, else the file itself."""
    server_store = getattr(_server, "store", None)
    if server_store is not None:
        return _Borrowed(server_store)
    from ..store import Store, default_db_path

    return Store(getattr(args, "db", None) or default_db_path(), read_only=read_only)


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def scope_label(scope: str, project: str) -> str:
    return f"{scope}「{project}」" if project else scope


def fmt_num(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}".rstrip("0").rstrip(".")
