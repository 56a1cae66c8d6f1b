"""The core library never imports streamlit; only perfeval/ui/ and pages may."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "perfeval"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_does_not_import_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                 if "ui" not in p.relative_to(ROOT).parts and "streamlit" in imported_modules(p)]
    assert offenders == []


def test_the_check_sees_an_import(tmp_path):
    probe = tmp_path / "x.py"
    probe.write_text("def f():\n    import streamlit as st\n", encoding="utf-8")
    assert "streamlit" in imported_modules(probe)
