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


def test_the_streamlit_contract_covers_every_core_module():
    """The contract lists its source modules: a new core module must join it."""
    import tomllib

    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if "streamlit" in c["forbidden_modules"])
    core = {f"perfeval.{p.stem if p.is_file() else p.name}" for p in ROOT.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert core - {"perfeval.ui"} == set(contract["source_modules"])


def test_import_contracts_hold():
    import shutil
    import subprocess
    import sys

    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        import pytest

        pytest.skip("import-linter 未安装（pip install 'import-linter>=2.0'）")
    out = subprocess.run([exe], cwd=ROOT.parent, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
