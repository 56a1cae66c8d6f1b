from __future__ import annotations

import subprocess
import sys

import openpyxl
import pandas as pd

from perfeval.cli import main
from perfeval.store import Store

from .test_template import csv_bytes, rows_frame


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_template_import_history_restore_export(tmp_path, capsys):
    db = str(tmp_path / "c.duckdb")
    code, out, _ = run(capsys, "--db", db, "template", str(tmp_path / "t.xlsx"))
    assert code == 0 and openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames[0] == "绩效自评"

    csv = tmp_path / "a.csv"
    csv.write_bytes(csv_bytes(rows_frame()))
    code, out, _ = run(capsys, "--db", db, "import", "--dry-run", str(csv))
    assert code == 0 and "试运行" in out and "1 份评价" in out
    with Store(db) as s:
        assert s.counts()["evaluations"] == 0

    assert run(capsys, "--db", db, "import", str(csv))[0] == 0
    df = rows_frame()
    df["自评得分"] = "90"
    csv.write_bytes(csv_bytes(df))
    code, out, _ = run(capsys, "--db", db, "import", str(csv))
    assert code == 0 and "第 2 版" in out

    code, out, _ = run(capsys, "--db", db, "history")
    assert "第1版" in out and "* 样例街道办事处 2023 部门整体 第2版" in out
    assert run(capsys, "--db", db, "restore", "样例街道办事处", "2023", "1")[0] == 0
    out_csv = tmp_path / "out.csv"
    assert run(capsys, "--db", db, "export", str(out_csv))[0] == 0
    exported = pd.read_csv(out_csv)
    assert set(exported["自评得分"]) == {96}
    assert len(exported) == 6


def test_bad_import_exits_nonzero_and_writes_nothing(tmp_path, capsys):
    db = str(tmp_path / "c.duckdb")
    df = rows_frame()
    df["年度"] = "1888"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(df))
    code, out, err = run(capsys, "--db", db, "import", str(bad))
    assert code != 0
    assert "年度必须在 2000–2100 之间" in out
    with Store(db) as s:
        assert s.counts()["evaluations"] == 0


def test_user_error_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "perfeval.cli", "--db", str(tmp_path / "x.duckdb"),
                           "restore", "无此部门", "2020", "1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("错误：") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    code, _, err = run(capsys, "--db", str(tmp_path / "x.duckdb"), "import",
                       str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv" in err


def test_global_options_before_or_after_the_command(tmp_path, capsys):
    after, before = tmp_path / "after.duckdb", tmp_path / "before.duckdb"
    assert run(capsys, "demo", "--db", str(after), "--scale", "300")[0] == 0
    assert after.exists()
    assert run(capsys, "--db", str(before), "demo", "--scale", "300")[0] == 0
    code, out, _ = run(capsys, "history", "--db", str(before))
    assert code == 0 and "第1版" in out
    # A value given before the command is not reset by the subcommand's parser.
    code, out, _ = run(capsys, "--db", str(before), "history")
    assert code == 0 and "第1版" in out
