from __future__ import annotations

import duckdb
import pytest

from perfeval.model import PerfevalError
from perfeval.store import MIGRATIONS, SCHEMA_VERSION, Store, migrate

from .conftest import small_evaluation


def test_write_and_load_round_trip(store):
    ev = small_evaluation()
    [res] = store.write([ev])
    assert res.revision == 1
    back = store.load(res.eval_id)
    assert back.department == ev.department
    assert back.year == ev.year and back.self_score == ev.self_score
    assert [(b.line, b.budget, b.executed) for b in back.budget] == sorted(
        (b.line, b.budget, b.executed) for b in ev.budget)
    assert [(g.no, g.name) for g in back.goals] == [(g.no, g.name) for g in ev.goals]
    assert back.goals[0].indicators == ev.goals[0].indicators
    assert back.problems == ev.problems and back.measures == ev.measures


def test_parsed_columns_are_stored(store):
    store.write([small_evaluation()])
    row = store.query_df("SELECT comparator, target_num, target_unit, actual_num, direction "
                         "FROM indicators WHERE name = '重复信访发生率'").iloc[0]
    assert row["comparator"] == "<=" and row["target_num"] == 5 and row["actual_num"] == 3
    assert row["direction"] == "reverse"


def test_revisions_add_list_restore(store):
    store.write([small_evaluation(self_score=95)])
    store.write([small_evaluation(self_score=97)])
    hist = store.history("测试街道办事处", 2023)
    assert list(hist["revision"]) == [1, 2]
    assert list(hist["is_current"]) == [False, True]
    cur = store.query_df("SELECT self_score FROM cur_evaluations")
    assert list(cur["self_score"]) == [97]
    store.restore("测试街道办事处", 2023, 1)
    assert list(store.query_df("SELECT self_score FROM cur_evaluations")["self_score"]) == [95]
    # Restoring keeps every revision's rows: nothing is lost.
    assert store.counts()["indicators"] == 10
    with pytest.raises(PerfevalError, match="第 9 版"):
        store.restore("测试街道办事处", 2023, 9)


def test_failed_write_leaves_nothing(store):
    store.write([small_evaluation("甲街道")])
    before = store.counts()
    with pytest.raises(PerfevalError):
        store.write([small_evaluation("乙街道")], fail_after_rows=1)
    assert store.counts() == before
    assert list(store.query_df("SELECT department FROM cur_evaluations")["department"]) == ["甲街道"]


def test_duplicate_key_in_batch_rejected(store):
    with pytest.raises(PerfevalError, match="出现了多次"):
        store.write([small_evaluation(), small_evaluation()])
    assert store.counts()["evaluations"] == 0


def test_department_region_kept_when_later_import_omits_it(store):
    store.write([small_evaluation()])
    ev = small_evaluation()
    ev.department.region = None
    store.write([ev])
    assert store.query_df("SELECT region FROM departments")["region"].tolist() == ["测试区"]


def test_migration_from_version_1_keeps_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrate(con, target=1)
    con.execute("INSERT INTO departments VALUES (1, '旧街道', '旧区', '街道')")
    con.execute("INSERT INTO evaluations (eval_id, dept_id, year, scope, project, revision, "
                "is_current, self_score, imported_at) VALUES "
                "(1, 1, 2020, '部门整体', '', 1, TRUE, 90, now())")
    con.close()
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION > 1
        assert s.query_df("SELECT department, self_score FROM cur_evaluations").values.tolist() \
            == [["旧街道", 90.0]]
        [res] = s.write([small_evaluation("旧街道", 2020)])
        assert res.revision == 2


def test_newer_file_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (?, 'future', now())", [SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(PerfevalError, match="高于本程序支持"):
        Store(path)


def test_migrations_are_numbered_in_order():
    versions = [v for v, _, _ in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_cursor_per_thread(store):
    from concurrent.futures import ThreadPoolExecutor

    store.write([small_evaluation(f"街道{i}") for i in range(5)])
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda _: len(store.query_df("SELECT * FROM cur_evaluations")),
                               range(20)))
    assert counts == [5] * 20


def test_parent_and_self_grade_round_trip(store):
    ev = small_evaluation()
    ev.department.parent = "测试区民政局"
    ev.self_score, ev.self_grade = None, "优"
    [res] = store.write([ev])
    back = store.load(res.eval_id)
    assert back.department.parent == "测试区民政局" and back.self_grade == "优"
    # A later import that does not name the 主管部门 keeps it.
    later = small_evaluation(year=2024)
    store.write([later])
    df = store.query_df("SELECT DISTINCT parent FROM cur_evaluations")
    assert list(df["parent"]) == ["测试区民政局"]
