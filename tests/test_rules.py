"""One rule, one place: the rules module, and the divergences it removed
(each test here failed before the rules were shared)."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfeval import auditlog, queries, rules
from perfeval.audit import audit_store, rectification
from perfeval.ingest import commit
from perfeval.ingest.common import FileResult
from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator, PerfevalError
from perfeval.queries import Filters
from perfeval.scoring import score_evaluation
from perfeval.store import Store

# -- the rules themselves ----------------------------------------------------------


@pytest.mark.parametrize("total, grade", [
    (100, "优"), (90, "优"), (89.9999999999, "优"), (89.9, "良"), (80, "良"), (79.99, "中"),
    (60, "中"), (59.9, "差"), (0, "差"), (None, None)])
def test_grade_of_and_its_sql_agree(total, grade):
    assert rules.grade_of(total) == grade
    if total is not None:
        sql = rules.grade_sql("t")
        assert duckdb.execute(f"SELECT {sql} FROM (SELECT ?::DOUBLE AS t)", [total]).fetchone()[0] \
            == grade  # noqa: S608 (fixed text)


def test_texts_come_from_the_numbers():
    assert rules.grade_help() == "优 ≥90，良 ≥80，中 ≥60，差 <60"
    assert rules.low_exec_text() == "低于 90%"
    assert rules.over_text() == "≥130%"


@pytest.mark.parametrize("a, b, same", [
    ("矛盾纠纷调处率95%", "矛盾纠纷调处率99%", True),
    ("消防隐患整治率 99%", "消防隐患整治率95%", True),
    ("消防隐患整治率９９％", "消防隐患整治率", True),
    ("居民满意度", "居民满意度（%）", False),
    ("100%", "95%", False),  # a name of digits only keeps itself
])
def test_indicator_key(a, b, same):
    assert (rules.indicator_key(a) == rules.indicator_key(b)) is same


_NAME_CHARS = st.sampled_from(list("率满意度a1９.．%％‰ \u3000\t\n0５"))


@settings(max_examples=200, deadline=None)
@given(st.text(_NAME_CHARS, max_size=12))
def test_indicator_key_python_and_sql_agree(name):
    sql = rules.indicator_key_sql("?")
    assert duckdb.execute(f"SELECT {sql}", [name, name]).fetchone()[0] \
        == rules.indicator_key(name)  # noqa: S608 (fixed text)


@pytest.mark.parametrize("met_computed, met, unmet", [
    (False, True, True), (True, False, False), (None, False, True), (None, None, False),
    (None, True, False)])
def test_unmet_python_and_sql_agree(met_computed, met, unmet):
    assert rules.is_unmet(met_computed, met) is unmet
    got = duckdb.execute(f"SELECT coalesce({rules.unmet_sql('s', 'i')}, FALSE) FROM "  # noqa: S608
                         "(SELECT ?::BOOLEAN AS met_computed) s, (SELECT ?::BOOLEAN AS met) i",
                         [met_computed, met]).fetchone()[0]
    assert got is unmet


# -- divergence 1: the execution rate of a 基本+项目-only evaluation -----------------


def _parts_only(year: int = 2023) -> Evaluation:
    return Evaluation(
        department=Department("分项单位", "测试区", "街道"), year=year, self_score=90.0,
        budget=[BudgetLine("basic", 100.0, 60.0), BudgetLine("project", 100.0, 80.0)],
        goals=[Goal(1, "目标", indicators=[Indicator("产出", "完成率", "100%", "100%")])])


def test_parts_only_execution_rate_is_the_same_everywhere():
    with Store(":memory:") as s:
        s.write([_parts_only(2022), _parts_only(2023)])
        eval_id = s.current_eval_id("分项单位", 2023)
        score = s.query_df("SELECT exec_rate FROM eval_scores WHERE eval_id = ?",
                           [eval_id])["exec_rate"].iloc[0]
        assert score == pytest.approx(0.7)
        assert score_evaluation(s.load(eval_id)).exec_rate == pytest.approx(0.7)
        f = Filters(year=2023, compare_year=2022)
        seen = {
            "kpis": queries.kpis(s, f, None)[2023]["exec_rate"],
            "department_scores": queries.department_scores(s, f, None)["exec_rate"].iloc[0],
            "budget_by_department":
                queries.budget_by_department(s, f, None)["exec_rate"].iloc[0],
            "budget_totals": (lambda t: t["executed"] / t["budget"])(
                queries.budget_totals(s, f, None)["total"]),
            "exec_heatmap": queries.exec_heatmap(s, f, None)
                .query("year == 2023")["exec_rate"].iloc[0],
            "trends": queries.trends(s, f, None).query("year == 2023")["exec_rate"].iloc[0],
            "year_over_year": queries.year_over_year(s, f, None)["exec_rate"].iloc[0],
            "score_history": queries.score_history(s, f, "分项单位")
                .query("year == 2023")["exec_rate"].iloc[0],
            "evaluation_card": queries.evaluation_card(s, eval_id)["exec_rate"],
        }
        assert seen == {k: pytest.approx(score) for k in seen}
        assert queries.kpis(s, f, None)[2023]["budget"] == pytest.approx(200.0)
        assert queries.budget_totals(s, f, None)["total"]["low"] == 1  # 70% < 90%


# -- divergence 2: 矛盾纠纷调处率95% → 99% is one indicator ------------------------------


def _dispute(year: int, target: str) -> Evaluation:
    return Evaluation(
        department=Department("调处单位", "测试区", "街道"), year=year, self_score=90.0,
        budget=[BudgetLine("total", 100.0, 95.0)],
        goals=[Goal(1, "平安建设", indicators=[
            Indicator("产出", f"矛盾纠纷调处率{target}", target, "80%", met=False),
            Indicator("效益", "居民满意度", "≥90%", "95%", met=True)])])


def test_renamed_target_is_one_indicator_in_streak_audit_and_rectification():
    with Store(":memory:") as s:
        s.write([_dispute(2022, "95%"), _dispute(2023, "99%")])
        df, total = queries.unmet_indicators(s, Filters(year=2023), None)
        row = df[df["indicator"] == "矛盾纠纷调处率99%"].iloc[0]
        assert row["streak"] == 2
        codes = set(audit_store(s, year=2023)["code"])
        assert "UNMET_REPEATED" in codes
        rect = rectification(s, year=2022)
        assert rect.loc[rect["indicator"] == "矛盾纠纷调处率95%", "status"].tolist() == ["仍未完成"]


# -- divergence 3: a write is one unit: evaluation, scores and audit row ------------------


def test_import_whose_audit_append_fails_leaves_no_evaluation(monkeypatch):
    with Store(":memory:") as s:
        before = s.generation()

        def broken(cur, rows):
            raise RuntimeError("audit log unavailable")

        monkeypatch.setattr(auditlog, "append_rows", broken)
        result = FileResult(name="a.xlsx", evaluations=[_dispute(2023, "95%")], kind="自评表")
        with pytest.raises(RuntimeError):
            commit(s, [result])
        assert s.counts()["evaluations"] == 0
        assert int(s.query_df("SELECT count(*) AS n FROM eval_scores")["n"].iloc[0]) == 0
        assert s.generation() == before


def test_import_writes_scores_and_audit_row_together():
    with Store(":memory:") as s:
        result = FileResult(name="a.xlsx", evaluations=[_dispute(2023, "95%")], kind="自评表")
        [w] = commit(s, [result], imported_by="录入员")
        assert s.query_df("SELECT count(*) AS n FROM eval_scores WHERE eval_id = ?",
                          [w.eval_id])["n"].iloc[0] == 1
        log = auditlog.read_log(s)
        assert log["操作"].tolist() == [auditlog.IMPORT] and log["结果"].tolist() == [auditlog.OK]


# -- divergence 4: the generation moves on every write, restores included -----------------


def test_restoring_revisions_changes_the_generation():
    with Store(":memory:") as s:
        s.write([_dispute(2023, "95%")])
        s.write([_dispute(2023, "99%")])
        seen = {s.generation()}
        # Restoring 1, then 2: the same set of current eval_ids as before the
        # first restore; the old (count, Σ eval_id) stamp repeated here.
        for rev in (1, 2, 1):
            auditlog.restore_revision(s, "调处单位", 2023, rev, actor="管理员")
            g = s.generation()
            assert g not in seen
            seen.add(g)
        assert auditlog.read_log(s, action=auditlog.RESTORE)["结果"].tolist() == [auditlog.OK] * 3


def test_failed_restore_writes_only_its_audit_row():
    with Store(":memory:") as s:
        s.write([_dispute(2023, "95%")])
        g = s.generation()
        with pytest.raises(PerfevalError):
            auditlog.restore_revision(s, "调处单位", 2023, 9, actor="管理员")
        assert s.generation() == g
        assert auditlog.read_log(s)["结果"].tolist() == [auditlog.FAILED]


def test_reads_never_write():
    with Store(":memory:") as s:
        s.write([_dispute(2022, "95%"), _dispute(2023, "99%")])
        g = s.generation()
        f = Filters(year=2023, compare_year=2022)
        queries.kpis(s, f, None)
        queries.unmet_indicators(s, f, None)
        audit_store(s)
        rectification(s)
        assert s.generation() == g
