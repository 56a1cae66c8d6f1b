"""What the project exports imports again, with the same data and scores
(issue 13, item 9): demo → ``perfeval export`` csv / xlsx → import into a
fresh database → same evaluations, indicators and computed scores."""

from __future__ import annotations

import subprocess
import sys

import pytest

from perfeval.store import Store

from .conftest import ROOT

EVAL_SQL = """
    SELECT department, region, kind, year, scope, project, self_score, is_demo
    FROM cur_evaluations ORDER BY ALL"""
BUDGET_SQL = """
    SELECT e.department, e.year, e.scope, e.project, b.line, b.budget, b.executed,
           CASE WHEN b.line = 'total' THEN b.reason END AS reason
    FROM budget_lines b JOIN cur_evaluations e USING (eval_id) ORDER BY ALL"""
IND_SQL = """
    SELECT e.department, e.year, e.scope, e.project, i.goal_no, g.name AS goal, i.category,
           i.subcategory, i.name, i.target_text, i.actual_text, i.weight, i.score, i.met,
           i.reason
    FROM indicators i JOIN cur_evaluations e USING (eval_id)
    JOIN goals g ON g.eval_id = i.eval_id AND g.goal_no = i.goal_no ORDER BY ALL"""
FIND_SQL = """
    SELECT e.department, e.year, e.scope, e.project, f.kind, f.seq, f.text
    FROM findings f JOIN cur_evaluations e USING (eval_id) ORDER BY ALL"""
SCORE_SQL = """
    SELECT e.department, e.year, e.scope, e.project, s.scheme, round(s.total, 6) AS total,
           s.grade, round(s.exec_score, 6) AS exec, s.unmet_count, s.indicator_count
    FROM eval_scores s JOIN cur_evaluations e USING (eval_id) ORDER BY ALL"""
IND_SCORE_SQL = """
    SELECT e.department, e.year, e.project, i.goal_no, i.name, round(x.score, 6) AS score,
           x.met_computed, x.over_achieved
    FROM indicator_scores x JOIN indicators i USING (ind_id) JOIN cur_evaluations e
         ON e.eval_id = x.eval_id ORDER BY ALL"""


def cli(*args):
    return subprocess.run([sys.executable, "-m", "perfeval.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def snapshot(path) -> dict:
    with Store(path) as s:
        return {sql: s.query_df(sql).astype(object).where(lambda d: d.notna(), None)
                .values.tolist() for sql in (EVAL_SQL, BUDGET_SQL, IND_SQL, FIND_SQL,
                                             SCORE_SQL, IND_SCORE_SQL)}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("rt")
    db = d / "demo.duckdb"
    r = cli("--db", db, "demo", "--scale", "3000")
    assert r.returncode == 0, r.stderr
    return db, snapshot(db)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_imports_back_with_same_scores(demo_db, tmp_path, fmt):
    db, before = demo_db
    out = tmp_path / f"rt.{fmt}"
    r = cli("--db", db, "export", out)
    assert r.returncode == 0, r.stderr
    fresh = tmp_path / "fresh.duckdb"
    r = cli("--db", fresh, "import", out, "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "有错误" not in r.stdout
    r = cli("--db", fresh, "import", out)
    assert r.returncode == 0, r.stdout + r.stderr
    after = snapshot(fresh)
    for sql, rows in before.items():
        if sql == EVAL_SQL:  # the import does not know the demo flag
            rows = [r[:-1] for r in rows]
            got = [r[:-1] for r in after[sql]]
        else:
            got = after[sql]
        assert len(got) == len(rows), sql
        assert got == rows, sql
    assert len(before[IND_SQL]) > 1000 and len(before[SCORE_SQL]) > 10
    # The sample report's indicators without an actual value are among them.
    assert any(r[10] is None for r in before[IND_SQL])


def test_csv_export_is_formula_safe_and_round_trips(tmp_path):
    """A text that would run as a formula is exported with a leading apostrophe
    and imports back as it was."""
    from perfeval.ingest import commit, read_file
    from perfeval.ingest.template import frame_from_store

    from .conftest import small_evaluation

    evil = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)",
            "\tTAB"]
    ev = small_evaluation("=HYPERLINK(\"http://127.0.0.1/\",\"点此\")")
    ev.problems = evil
    ev.goals[0].indicators[0].reason = "@SUM(1+1)"
    with Store(tmp_path / "a.duckdb") as s:
        from perfeval.store import frames_from

        s.write(frames_from([ev]))
        df = frame_from_store(s)
    out = tmp_path / "x.csv"
    r = subprocess.run([sys.executable, "-m", "perfeval.cli", "--db", str(tmp_path / "a.duckdb"),
                        "export", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    import csv

    cells = [c for row in csv.reader(out.read_text("utf-8-sig").splitlines()) for c in row]
    assert cells, "empty export"
    for c in cells:
        assert not c.startswith(("=", "+", "-", "@", "\t", "\r")), c
    assert "'=cmd|' /C calc'!A0" in out.read_text("utf-8-sig")
    res = read_file(out.name, out.read_bytes())
    assert res.ok, res.issues
    with Store(tmp_path / "b.duckdb") as s:
        commit(s, [res])
        back = frame_from_store(s)
    assert back["部门"].iloc[0] == ev.department.name
    assert back["存在问题"].iloc[0].split("\n") == [t.strip() for t in evil]
    assert back["偏差原因"].iloc[0] == "@SUM(1+1)"
    assert len(back) == len(df)
