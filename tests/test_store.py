from __future__ import annotations

import duckdb
import pytest

from perfeval.model import Indicator, PerfevalError
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


def _with_duplicates():
    """small_evaluation plus three later copies of 居民满意度 (93% first): one
    reading the same (" 93 %" with spaces), two different (88%, 达到)."""
    ev = small_evaluation()
    ev.goals[1].indicators += [Indicator("满意度", "居民 满意度", "≥90%", " 93 %", met=True),
                               Indicator("满意度", "居民满意度", "≥90%", "88%", met=False),
                               Indicator("满意度", "居民满意度", "≥90%", "达到", met=True)]
    return ev


def _duplicate_marks(s) -> list:
    return s.query_df("SELECT seq, dup_of, dup_conflict FROM indicators "
                      "WHERE dup_of IS NOT NULL ORDER BY seq").values.tolist()


def test_duplicates_are_marked_when_written(store):
    store.write([_with_duplicates()])
    # 居民满意度 is seq 4 (the first copy); the copies are seq 6, 7, 8.
    assert _duplicate_marks(store) == [[6, 4, False], [7, 4, True], [8, 4, True]]
    assert store.query_df("SELECT count(*) AS n FROM indicators WHERE dup_of IS NULL "
                          "AND dup_conflict IS NULL")["n"].iloc[0] == 5


def test_migration_7_marks_duplicates_of_older_files(tmp_path):
    # A version-6 file: written now, then its version-7 columns dropped.
    path = tmp_path / "v6.duckdb"
    with Store(path) as s:
        s.write([_with_duplicates()])
        expected = _duplicate_marks(s)
    con = duckdb.connect(str(path))  # back to version 6: no marks
    for table, column in (("indicators", "dup_of"), ("indicators", "dup_conflict"),
                          ("indicator_scores", "reported_gap"),
                          ("indicator_scores", "reported_in_band"),
                          ("indicator_scores", "met_overstated")):
        con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    con.execute("DELETE FROM schema_version WHERE version = 7")
    con.execute("UPDATE eval_scores SET scheme_hash = 'scored by version 6'")
    con.close()
    with Store(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        assert _duplicate_marks(s) == expected
        # Rescored on opening: the reported-against-rule columns are filled.
        row = s.query_df("SELECT count(*) AS n, count(met_overstated) AS filled "
                         "FROM indicator_scores").iloc[0]
        assert row["n"] == 8 and row["filled"] == 8


def test_reparse_marks_duplicates_again(store):
    from perfeval.values import reparse_store

    store.write([_with_duplicates()])
    expected = _duplicate_marks(store)
    with store.transaction() as cur:  # as if written by an older parser, marks unknown
        cur.execute("UPDATE indicators SET parser_version = 0, dup_of = NULL, dup_conflict = NULL")
    assert _duplicate_marks(store) == []
    reparse_store(store)
    assert _duplicate_marks(store) == expected


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
