"""Scoring engine (perfeval.scoring): rules, schemes, the sample report, bulk = in memory."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfeval.cli import build_parser
from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator, PerfevalError
from perfeval.scoring import (
    DEFAULT_SCHEME,
    SCHEMES,
    current_scores,
    ensure_scores,
    execution_rate,
    explain,
    explain_stored,
    format_explanation,
    get_scheme,
    grade_of,
    indicator_weights,
    missing_count,
    score_evaluation,
    score_share,
    score_store,
)
from perfeval.store import Store
from tests.ronghua_fixture import ronghua_2022

DEFAULT = get_scheme()


def _find(es, goal_no, name):
    return next(s for s in es.indicators if s.goal_no == goal_no and s.name == name)


# -- the sample report ------------------------------------------------------------


def test_ronghua_shape():
    ev = ronghua_2022()
    assert len(ev.goals) == 12 and len(ev.indicators) == 39
    cats = [i.category for _, i in ev.indicators]
    assert (cats.count("产出"), cats.count("效益"), cats.count("满意度")) == (29, 6, 4)


def test_ronghua_default_scheme():
    ev = ronghua_2022()
    es = score_evaluation(ev)
    assert es.scheme == DEFAULT_SCHEME
    assert es.exec_rate == 1.0 and es.exec_score == 10.0
    petition = _find(es, 4, "信访积案化解率")
    assert petition.result.weight == pytest.approx(50 / 29)
    assert petition.result.score == pytest.approx(0.30 * 50 / 29)
    fire = _find(es, 4, "消防隐患整治率 99%")
    assert fire.result.weight == pytest.approx(5.0)
    assert fire.result.score == pytest.approx(5.0 * 70 / 99)
    # goal 9 repeats the indicator, met at 100%: full marks there.
    assert _find(es, 9, "消防隐患整治率 99%").result.share == 1.0
    assert es.total == pytest.approx(97.33, abs=0.01)
    assert es.self_score == 98.0 and es.gap == pytest.approx(98 - es.total)
    assert es.grade == "优"
    assert es.max_score == pytest.approx(100.0)
    assert es.unmet_count == 2
    lost = explain(es)
    assert [p.indicator for p in lost] == ["信访积案化解率", "消防隐患整治率 99%"]
    assert sum(p.lost for p in lost) == pytest.approx(100 - es.total)
    text = format_explanation(ev, es)
    assert "97.33" in text and "信访积案化解率" in text and "低于目标 100%" in text


def test_ronghua_in_store_agrees(store):
    ev = ronghua_2022()
    [res] = store.write([ev])
    assert score_store(store) == 0  # the write scored it, in its own transaction
    row = store.query_df("SELECT * FROM eval_scores WHERE eval_id = ?", [res.eval_id]).iloc[0]
    assert row["total"] == pytest.approx(97.33, abs=0.01)
    assert (row["grade"], row["exec_score"], row["unmet_count"]) == ("优", 10.0, 2)
    assert row["gap"] == pytest.approx(98 - row["total"])
    lost = store.query_df("""
        SELECT i.goal_no, i.name, s.lost FROM indicator_scores s JOIN indicators i USING (ind_id)
        WHERE s.lost > 1e-9 ORDER BY i.goal_no, i.seq""")
    assert list(lost["name"]) == ["信访积案化解率", "消防隐患整治率 99%"]


@pytest.mark.parametrize(("scheme", "weight_of_petition"), [
    ("goals-even", (90 / 12) * (50 / 80) / 5),  # goal 4: 5 产出 + 1 效益, no 满意度
    ("10+90", 90 / 39),
])
def test_other_schemes_on_ronghua(scheme, weight_of_petition):
    es = score_evaluation(ronghua_2022(), scheme)
    assert _find(es, 4, "信访积案化解率").result.weight == pytest.approx(weight_of_petition)
    assert es.max_score == pytest.approx(100.0)
    assert 90 <= es.total < 100 and es.grade == "优"


def test_unknown_scheme():
    with pytest.raises(PerfevalError, match="未知的评分方案"):
        get_scheme("nope")


# -- one indicator: table-driven ----------------------------------------------------

# (direction, target, actual, expected share, rule, over, met)
NUMERIC_RULES = [
    ("positive", 100, 100, 1.0, "positive", False, True),
    ("positive", 100, 30, 0.3, "positive", False, False),
    ("positive", 99, 70, 70 / 99, "positive", False, False),
    ("positive", 95, 0, 0.0, "positive", False, False),
    ("positive", 100, 129.9, 1.0, "positive", False, True),
    ("positive", 100, 130, 1.0, "positive", True, True),  # over-achieved: full, flagged
    ("positive", 50, 200, 1.0, "positive", True, True),
    ("reverse", 3, 2, 1.0, "reverse", False, True),
    ("reverse", 3, 3, 1.0, "reverse", False, True),
    ("reverse", 4, 5, 0.75, "reverse", False, False),
    ("reverse", 5, 10, 0.0, "reverse", False, False),
    ("reverse", 5, 20, 0.0, "reverse", False, False),  # never below 0
    ("reverse", 3, 0, 1.0, "reverse", False, True),  # zero accidents: no over flag
    ("reverse", 0, 0, 1.0, "reverse", False, True),  # = 0 met
    ("reverse", 0, 1, 0.0, "reverse", False, False),  # = 0 missed
]


@pytest.mark.parametrize(("direction", "target", "actual", "share", "rule", "over", "met"),
                         NUMERIC_RULES)
def test_numeric_rules(direction, target, actual, share, rule, over, met):
    got = score_share(direction=direction, target_num=target, actual_num=actual)
    assert got[0] == pytest.approx(share)
    assert got[1:] == (rule, over, met)


@pytest.mark.parametrize(("level", "reported", "share"), [
    ("达成", None, 1.0),
    ("部分达成", None, 0.7),
    ("未达成", None, 0.3),
    ("达成", 0.85, 0.85),  # reported score inside the band is kept
    ("部分达成", 0.65, 0.65),
    ("部分达成", 0.95, 0.7),  # outside the band: the default
    ("未达成", 0.9, 0.3),
])
def test_bands(level, reported, share):
    got = score_share(direction="positive", target_num=100, actual_num=None,
                      actual_level=level, reported_share=reported)
    assert got[0] == pytest.approx(share) and got[1] == "band"
    assert got[3] == (level == "达成")


@pytest.mark.parametrize(("met", "share", "rule"), [
    (True, 1.0, "met"), (False, 0.3, "unmet"), (None, 0.0, "unreadable")])
def test_met_as_reported_fallback(met, share, rule):
    got = score_share(direction="positive", target_num=None, actual_num=None, met=met)
    assert got[:2] == (share, rule)


def test_units_must_agree_to_compare():
    # 150万 vs 2200万元 compare (万 and 万元 are one unit); 3次 vs 95% do not.
    assert score_share(direction="positive", target_num=150, actual_num=2200, target_unit="万",
                       actual_unit="万元")[1] == "positive"
    got = score_share(direction="positive", target_num=3, actual_num=95, target_unit="次",
                      actual_unit="%", met=False)
    assert got[:2] == (0.3, "unmet")


@pytest.mark.parametrize(("total", "grade"), [
    (100, "优"), (90, "优"), (89.99, "良"), (80, "良"), (79.99, "中"), (60, "中"),
    (59.99, "差"), (0, "差"), (89.9999999999, "优")])
def test_grade_boundaries(total, grade):
    assert grade_of(total) == grade


# -- weights and execution -----------------------------------------------------------


def _ev(goals, budget=None, self_score=None):
    return Evaluation(Department("测试单位"), 2023, self_score=self_score,
                      budget=budget if budget is not None else [BudgetLine("total", 100, 100)],
                      goals=goals)


def _ind(category, weight=None, target="100%", actual="100%"):
    return Indicator(category, "完成率", target, actual, weight=weight)


def test_empty_category_redistributed_or_shrunk():
    ev = _ev([Goal(1, "g", indicators=[_ind("产出"), _ind("产出"), _ind("效益")])])
    weights, basis = indicator_weights(ev)
    assert basis == "scheme"
    # 满意度 missing: its 10 points go to 产出 and 效益 in proportion 50:30.
    assert weights == pytest.approx([90 * 50 / 80 / 2, 90 * 50 / 80 / 2, 90 * 30 / 80])
    shrink = replace(DEFAULT, name="shrink", empty_category="shrink")
    weights, _ = indicator_weights(ev, shrink)
    assert weights == pytest.approx([25, 25, 30])
    es = score_evaluation(ev, shrink)
    assert es.max_score == pytest.approx(90) and es.total == pytest.approx(90)


def test_source_weights_win():
    ev = _ev([Goal(1, "g", indicators=[_ind("产出", 60, actual="50%"), _ind("效益", 30)])],
             budget=[BudgetLine("total", 100, 80, weight=10)])
    es = score_evaluation(ev)
    assert es.weight_basis == "source" and es.source_weight_sum == 90
    assert [s.result.weight for s in es.indicators] == [60, 30]
    assert es.total == pytest.approx(8 + 30 + 30)
    # One weight missing: the scheme decides.
    ev.goals[0].indicators[1].weight = None
    assert score_evaluation(ev).weight_basis == "scheme"


def test_source_weights_above_100_are_scaled():
    ev = _ev([Goal(1, "g", indicators=[_ind("产出", 80), _ind("效益", 40)])],
             budget=[BudgetLine("total", 100, 100, weight=10)])
    es = score_evaluation(ev)
    assert es.source_weight_sum == 120 and es.exec_weight == 10
    assert [s.result.weight for s in es.indicators] == pytest.approx([60, 30])
    assert es.total == pytest.approx(100)


def test_indicators_holding_all_100_points():
    # 鄂州 2021 form: 预算执行率 is an indicator (分值 20) and the budget block
    # carries the form's 100; execution gets no separate weight.
    ev = _ev([Goal(1, "g", indicators=[
        Indicator("产出", "预算执行率", "100%", "83.5%", weight=20, score=18),
        _ind("产出", 70), _ind("满意度", 10)])],
        budget=[BudgetLine("total", 150, 125.25, weight=100, score=98)])
    es = score_evaluation(ev)
    assert es.exec_weight == 0 and es.max_score == 100
    assert es.indicators[0].result.score == pytest.approx(16.7)
    assert es.total == pytest.approx(96.7)


@pytest.mark.parametrize(("budget", "rate"), [
    ([BudgetLine("total", 100, 95), BudgetLine("basic", 40, 40)], 0.95),
    ([BudgetLine("basic", 40, 40), BudgetLine("project", 60, 50)], 0.9),
    ([BudgetLine("fiscal", 80, 70), BudgetLine("carryover", 20, 20)], 0.9),
    ([BudgetLine("total", 100, 120)], 1.2),
    ([BudgetLine("total", 0, 10)], None),
    ([], None),
])
def test_execution(budget, rate):
    ev = _ev([Goal(1, "g", indicators=[_ind("产出")])], budget=budget)
    assert execution_rate(ev) == (pytest.approx(rate) if rate is not None else None)
    es = score_evaluation(ev)
    expected = 0.0 if rate is None else 10 * min(rate, 1)
    assert es.exec_score == pytest.approx(expected)
    if rate is None or rate < 1:
        assert explain(es)[0].kind == "execution"


# -- properties ------------------------------------------------------------------------

numbers = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(direction=st.sampled_from(["positive", "reverse"]), target=numbers, actual=numbers,
       weight=st.floats(min_value=0, max_value=100))
def test_score_within_weight(direction, target, actual, weight):
    share = score_share(direction=direction, target_num=target, actual_num=actual)[0]
    assert 0.0 <= share <= 1.0
    assert 0.0 <= weight * share <= weight


@given(target=st.floats(min_value=0, max_value=1e4), a=numbers, b=numbers)
def test_monotone_in_actual(target, a, b):
    lo, hi = sorted((a, b))
    pos = [score_share(direction="positive", target_num=target, actual_num=x)[0] for x in (lo, hi)]
    rev = [score_share(direction="reverse", target_num=target, actual_num=x)[0] for x in (lo, hi)]
    assert pos[0] <= pos[1]
    assert rev[0] >= rev[1]


TARGETS = ["100%", "≥95%", "≤3次", "<5%", "=0", "0起", "无", "90%以上", "不超过3次", "2200万元",
           "完成", "有效控制", "基本完成", None, "看情况"]
ACTUALS = ["100%", "30%", "0", "2次", "5次", "1%", "7%", "150万", "完成", "基本完成", "未完成",
           "无重大安全事故", None, "", "130%"]
NAMES = ["信访积案化解率", "消防隐患整治率 99%", "赴省重访率", "项目成本", "重大安全事故", "培训人次"]


@st.composite
def indicators(draw, weighted: bool):
    weight = draw(st.floats(min_value=0, max_value=40, allow_nan=False)) if weighted else None
    score = None
    if weighted and draw(st.booleans()):
        score = draw(st.floats(min_value=0, max_value=40, allow_nan=False))
    return Indicator(
        category=draw(st.sampled_from(["产出", "产出", "效益", "满意度"])),
        name=draw(st.sampled_from(NAMES)), target=draw(st.sampled_from(TARGETS)),
        actual=draw(st.sampled_from(ACTUALS)), weight=weight, score=score,
        met=draw(st.sampled_from([True, False, None])))


budget_lines = st.lists(st.builds(
    BudgetLine, line=st.sampled_from(["total", "basic", "project", "fiscal", "other"]),
    budget=st.one_of(st.none(), st.floats(min_value=0, max_value=1e4)),
    executed=st.one_of(st.none(), st.floats(min_value=0, max_value=2e4)),
    weight=st.one_of(st.none(), st.floats(min_value=0, max_value=30), st.just(100.0))),
    max_size=3)


@st.composite
def evaluations(draw, k: int):
    weighted = draw(st.booleans())
    n_goals = draw(st.integers(min_value=0, max_value=4))
    goals = [Goal(no, f"目标{no}", indicators=draw(st.lists(indicators(weighted), max_size=6)))
             for no in range(1, n_goals + 1)]
    return Evaluation(Department(f"单位{k}"), 2023, goals=goals, budget=draw(budget_lines),
                      self_score=draw(st.one_of(st.none(), st.floats(0, 100))))


ALL_SCHEMES = [*SCHEMES.values(),
               replace(DEFAULT, name="shrink-test", empty_category="shrink"),
               replace(SCHEMES["goals-even"], name="goal-shrink-test", empty_category="shrink")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(), min_size=1, max_size=8).flatmap(
    lambda ks: st.tuples(*[evaluations(k) for k in range(len(ks))])))
def test_bulk_agrees_with_in_memory(evals):
    with Store(":memory:") as store:
        written = store.write(list(evals))
        loaded = {r.eval_id: store.load(r.eval_id) for r in written}
        for scheme in ALL_SCHEMES:
            assert score_store(store, scheme, recompute=True) == len(evals)
            rows = store.query_df("SELECT * FROM eval_scores WHERE scheme = ? ORDER BY eval_id",
                                  [scheme.name])
            inds = store.query_df("""
                SELECT s.* FROM indicator_scores s JOIN indicators i USING (ind_id)
                WHERE s.scheme = ? ORDER BY i.eval_id, i.seq""", [scheme.name])
            for res, row in zip(written, rows.itertuples(), strict=True):
                es = score_evaluation(loaded[res.eval_id], scheme)
                assert row.eval_id == res.eval_id
                assert 0.0 <= es.total <= 100.0 + 1e-9
                assert row.total == pytest.approx(es.total, abs=1e-9)
                assert row.max_score == pytest.approx(es.max_score, abs=1e-9)
                assert row.exec_score == pytest.approx(es.exec_score, abs=1e-9)
                assert row.grade == es.grade
                assert row.unmet_count == es.unmet_count and row.over_count == es.over_count
                assert row.weight_basis == es.weight_basis
                mine = inds[inds["eval_id"] == res.eval_id]
                assert len(mine) == len(es.indicators)
                for s, r in zip(es.indicators, mine.itertuples(), strict=True):
                    assert r.weight == pytest.approx(s.result.weight, abs=1e-9)
                    assert r.score == pytest.approx(s.result.score, abs=1e-9)
                    assert 0.0 <= r.score <= r.weight + 1e-9
                    assert r.rule == s.result.rule
                    assert bool(r.over_achieved) == s.result.over_achieved
                    met = None if pd.isna(r.met_computed) else bool(r.met_computed)
                    assert met == s.result.met_computed


# -- bulk bookkeeping -----------------------------------------------------------------


def test_ensure_scores_is_incremental(store):
    from tests.conftest import small_evaluation

    store.write([ronghua_2022(), small_evaluation()])
    # The write scored its evaluations (default scheme) in its transaction.
    assert missing_count(store) == 0
    assert ensure_scores(store) == 0
    # Another scheme has its own rows.
    assert missing_count(store, "10+90") == 2 and ensure_scores(store, "10+90") == 2
    # A re-import is a new eval_id, scored by its write under every scheme in use.
    store.write([small_evaluation(unmet=False)])
    assert missing_count(store) == 0 and missing_count(store, "10+90") == 0
    # Rules changed under the same name: the old rows are replaced.
    changed = replace(DEFAULT, over_ratio=1.5)
    assert missing_count(store, changed) == 2 and ensure_scores(store, changed) == 2
    n = store.query_df("SELECT count(*) AS n FROM eval_scores WHERE scheme = ?", [DEFAULT.name])
    assert int(n["n"].iloc[0]) == 2
    df = current_scores(store)
    assert len(df) == 2 and set(df["grade"]) <= {"优", "良", "中", "差"}
    eval_id = store.current_eval_id("武汉市硚口区人民政府荣华街道办事处", 2022)
    es, lost = explain_stored(store, eval_id)
    stored = df.loc[df["eval_id"] == eval_id, "total"].iloc[0]
    assert es.total == pytest.approx(stored) and len(lost) == 2


def test_read_only_store_is_left_alone(tmp_path):
    path = tmp_path / "r.duckdb"
    with Store(path) as s:
        s.write([ronghua_2022()])
    with Store(path, read_only=True) as ro:
        assert missing_count(ro, "10+90") == 1 and ensure_scores(ro, "10+90") == 0
        with pytest.raises(PerfevalError, match="只读"):
            score_store(ro, "10+90")


def test_cli(tmp_path, capsys):
    db = tmp_path / "c.duckdb"
    with Store(db) as s:
        s.write([ronghua_2022()])
    parser = build_parser()
    args = parser.parse_args(["--db", str(db), "score", "--json"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["scored_now"] == 0 and out["grades"]["优"] == 1  # the import scored it
    assert out["mean_total"] == pytest.approx(97.33, abs=0.01)
    args = parser.parse_args(["--db", str(db), "score", "--explain",
                              "武汉市硚口区人民政府荣华街道办事处", "2022"])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "97.33" in text and "消防隐患整治率 99%" in text
    args = parser.parse_args(["--db", str(db), "score", "--explain", "无此单位", "2022"])
    with pytest.raises(PerfevalError, match="没有"):
        args.func(args)


def test_sample_report_as_parsed():
    """The report parser's reading of the sample scores as the hand-built fixture does."""
    report = pytest.importorskip("perfeval.ingest.report")
    from tests.conftest import FIXTURES

    ev = report.read_report(FIXTURES / "reports" / "ronghua-2022.txt")
    es = score_evaluation(ev)
    assert es.total == pytest.approx(97.33, abs=0.01) and es.grade == "优"
    assert [(p.goal_no, p.indicator) for p in explain(es)] == [
        (4, "信访积案化解率"), (4, "消防隐患整治率 99%")]
