"""Helpers shared by the command modules: opening the store, printing."""

from __future__ import annotations

import json

from ..store import Store, default_db_path


def open_store(args, *, read_only: bool = False) -> Store:
    return Store(getattr(args, "db", None) or default_db_path(), read_only=read_only)


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def scope_label(scope: str, project: str) -> str:
    return f"{scope}「{project}」" if project else scope


def fmt_num(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}".rstrip("0").rstrip(".")
