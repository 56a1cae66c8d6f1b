"""Audit (perfeval.audit): each check triggered and not, the sample report,
both entry points agreeing, rectification, problem follow-up, CLI."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfeval.audit import (
    CHECKS,
    FINDING_COLUMNS,
    REVIEW_COLUMNS,
    AuditSettings,
    audit_evaluation,
    audit_overview,
    audit_store,
    bench_audit,
    findings_by_code,
    findings_from_frame,
    findings_of,
    findings_workbook,
    problem_followup,
    rectification,
    rectification_counts,
    summarize,
    text_similarity,
)
from perfeval.cli import build_parser
from perfeval.ingest.forms import read_form_workbook
from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator, PerfevalError
from perfeval.scoring import score_evaluation
from perfeval.store import Store
from tests import formfactory as ff
from tests.ronghua_fixture import ronghua_2022

DEPT = "清水街道办事处（测试）"


def clean(year: int = 2023, name: str = DEPT) -> Evaluation:
    """An evaluation no check objects to (the baseline every near case starts from)."""
    ev = Evaluation(
        department=Department(name, "测试区", "街道"), year=year,
        budget=[BudgetLine("total", 100.0, 95.0), BudgetLine("basic", 40.0, 40.0),
                BudgetLine("project", 60.0, 55.0)],
        goals=[
            Goal(1, "社区治理经费", indicators=[
                Indicator("产出", "网格巡查次数", "≥1200次", "1260次", met=True),
                Indicator("产出", "矛盾纠纷调处率", "≥95%", "96%", met=True),
                Indicator("效益", "重复信访发生率", "≤5%", "3%", met=True),
                Indicator("满意度", "居民满意度", "≥90%", "93%", met=True),
            ]),
            Goal(2, "环境卫生经费", indicators=[
                Indicator("产出", "垃圾清运车次", "≥300车次", "310车次", met=True),
                Indicator("效益", "垃圾清运率", "≥98%", "99%", met=True),
                Indicator("满意度", "群众对环境卫生满意度", "≥90%", "92%", met=True),
            ]),
        ],
        problems=["部分社区工作人员业务能力有待提升。"],
    )
    ev.self_score = round(score_evaluation(ev).total, 2)  # 99.5: execution 95 %
    return ev


def ind(ev: Evaluation, name: str) -> Indicator:
    return next(i for _, i in ev.indicators if i.name == name)


def line(ev: Evaluation, code: str) -> BudgetLine:
    return ev.budget_line(code)


def codes(ev: Evaluation, previous: Evaluation | None = None, **kw) -> set[str]:
    return {f.code for f in audit_evaluation(ev, AuditSettings(**kw), previous)}


WEIGHTS = {"网格巡查次数": 15, "矛盾纠纷调处率": 15, "重复信访发生率": 10, "居民满意度": 5,
           "垃圾清运车次": 20, "垃圾清运率": 20, "群众对环境卫生满意度": 5}  # Σ 90, + 10 execution


def weighted(ev: Evaluation) -> Evaluation:
    for name, w in WEIGHTS.items():
        ind(ev, name).weight = w
        ind(ev, name).score = w
    return ev


def test_clean_evaluation_has_no_findings():
    assert audit_evaluation(clean()) == []
    assert audit_evaluation(weighted(clean())) == []


# Each case: (ev, previous) for trigger=True and for the near case (trigger=False).

def case_score_gap(trigger):
    ev = clean()
    ind(ev, "矛盾纠纷调处率").actual, ind(ev, "矛盾纠纷调处率").met = "80%", False
    total = score_evaluation(ev).total  # 99.5 − 16.67 × (1 − 80/95) ≈ 96.87
    ev.self_score = round(total + (1.5 if trigger else 0.4), 2)
    return ev, None


def case_score_above_weight(trigger):
    ev = weighted(clean())
    ind(ev, "居民满意度").score = 6 if trigger else 5
    return ev, None


def case_weights_not_100(trigger):
    ev = weighted(clean())
    ind(ev, "居民满意度").weight = 10 if trigger else 5
    return ev, None


def case_weights_partly_missing(trigger):
    ev = weighted(clean())
    if trigger:
        ind(ev, "居民满意度").weight = ind(ev, "居民满意度").score = None
    return ev, None


def case_exec_rate_mismatch(trigger):
    ev = clean()
    ev.goals[0].indicators.append(
        Indicator("产出", "预算执行率", "100%", "90%" if trigger else "95%"))
    return ev, None


def case_budget_parts_mismatch(trigger):
    ev = clean()
    line(ev, "basic").budget = 41.0 if trigger else 40.005  # within 0.01 万元 is rounding
    return ev, None


def case_qualitative_out_of_band(trigger):
    ev = weighted(clean())
    i = ind(ev, "居民满意度")
    i.actual = "基本完成"  # 部分达成: 60–80 % of the weight
    i.score = 4.5 if trigger else 3.5
    return ev, None


def case_reported_score_mismatch(trigger):
    ev = weighted(clean())
    i = ind(ev, "矛盾纠纷调处率")  # the 鄂州 form: 20 分, 83.5 % of 100 %, reported 18, rule 16.7
    i.target, i.actual, i.met = "100%", "83.5%", False
    i.weight, i.score = 20, (18 if trigger else 16.7)
    ind(ev, "垃圾清运率").weight = ind(ev, "垃圾清运率").score = 15
    return ev, None


def case_reported_funds_score_mismatch(trigger):
    ev = clean()  # 95 % execution: 9.5 of 10 by the rule
    line(ev, "total").weight, line(ev, "total").score = 10, (8.5 if trigger else 9.5)
    return ev, None


def case_reported_met_mismatch(trigger):
    ev = clean()
    ind(ev, "矛盾纠纷调处率").actual = "80%" if trigger else "96%"  # still reported met
    return ev, None


def case_goal_without_indicators(trigger):
    ev = clean()
    ev.goals.append(Goal(3, "待定经费", indicators=[] if trigger else [
        Indicator("产出", "培训人次", "≥100人次", "120人次", met=True)]))
    return ev, None


def _drop_category(category):
    def case(trigger):
        ev = clean()
        if trigger:
            ev.goals[1].indicators = [i for i in ev.goals[1].indicators if i.category != category]
        return ev, None
    return case


def case_single_indicator_goal(trigger):
    ev = clean()
    ev.goals[1].indicators = ev.goals[1].indicators[:1 if trigger else 2]
    return ev, None


def case_unmeasurable_target(trigger):
    ev = clean()
    i = ind(ev, "垃圾清运率")
    # A number in the name is the target (values.target_in_name): measurable.
    i.name, i.target = ("垃圾清运率", "完成") if trigger else ("垃圾清运率 98%", "完成")
    return ev, None


def case_target_no_unit(trigger):
    ev = clean()
    ind(ev, "网格巡查次数").target = "1200" if trigger else "1200次"
    return ev, None


def case_duplicate_conflict(trigger):
    ev = clean()
    ev.goals[1].indicators.append(
        Indicator("满意度", "居民满意度", "≥90%", "88%" if trigger else "93%", met=not trigger))
    return ev, None


def case_duplicate(trigger):
    ev = clean()
    ev.goals[1].indicators.append(
        Indicator("满意度", "居民满意度" if trigger else "商户满意度", "≥90%", "93%", met=True))
    return ev, None


def case_reverse_reported_full(trigger):
    ev = clean()
    i = ind(ev, "重复信访发生率")
    i.target, i.actual, i.met = "完成", "100%", trigger
    return ev, None


def case_exec_all_100(trigger):
    ev = clean()
    line(ev, "total").executed = 100.0 if trigger else 99.9
    line(ev, "project").executed = 60.0 if trigger else 59.9
    return ev, None


def case_low_exec_no_reason(trigger):
    ev = clean()
    line(ev, "total").executed, line(ev, "project").executed = 80.0, 40.0
    if not trigger:
        line(ev, "total").reason = "工程结算尚未完成，资金未支付。"
        line(ev, "project").reason = "同上。"
    return ev, None


def case_low_exec_reason_in_problems(trigger):
    ev, _ = case_low_exec_no_reason(True)
    if not trigger:
        ev.problems.append("部分项目执行进度滞后，资金支付较慢。")
    return ev, None


def case_exec_over_budget(trigger):
    ev = clean()
    line(ev, "total").executed = 101.0 if trigger else 100.0
    line(ev, "project").executed = 61.0 if trigger else 60.0
    return ev, None


def case_over_achieved(trigger):
    ev = clean()
    ind(ev, "网格巡查次数").actual = "1560次" if trigger else "1550次"  # 130 % / 129 % of 1200
    return ev, None


def case_unmet_repeated(trigger):
    prev = clean(2022)
    i = ind(prev, "矛盾纠纷调处率")
    i.name = "矛盾纠纷调处率 95%"  # numbers in names are ignored across years
    if trigger:
        i.actual, i.met = "82%", False
    ev = clean()
    ind(ev, "矛盾纠纷调处率").actual, ind(ev, "矛盾纠纷调处率").met = "85%", False
    return ev, prev


CASES = [
    ("SCORE_GAP", case_score_gap),
    ("SCORE_ABOVE_WEIGHT", case_score_above_weight),
    ("WEIGHTS_NOT_100", case_weights_not_100),
    ("WEIGHTS_NOT_100", case_weights_partly_missing),
    ("EXEC_RATE_MISMATCH", case_exec_rate_mismatch),
    ("BUDGET_PARTS_MISMATCH", case_budget_parts_mismatch),
    ("QUALITATIVE_OUT_OF_BAND", case_qualitative_out_of_band),
    ("REPORTED_SCORE_MISMATCH", case_reported_score_mismatch),
    ("REPORTED_SCORE_MISMATCH", case_reported_funds_score_mismatch),
    ("REPORTED_MET_MISMATCH", case_reported_met_mismatch),
    ("GOAL_WITHOUT_INDICATORS", case_goal_without_indicators),
    ("NO_OUTPUT_INDICATOR", _drop_category("产出")),
    ("NO_EFFECT_INDICATOR", _drop_category("效益")),
    ("NO_SATISFACTION_INDICATOR", _drop_category("满意度")),
    ("SINGLE_INDICATOR_GOAL", case_single_indicator_goal),
    ("UNMEASURABLE_TARGET", case_unmeasurable_target),
    ("TARGET_NO_UNIT", case_target_no_unit),
    ("DUPLICATE_INDICATOR_CONFLICT", case_duplicate_conflict),
    ("DUPLICATE_INDICATOR", case_duplicate),
    ("REVERSE_REPORTED_FULL", case_reverse_reported_full),
    ("EXEC_ALL_100", case_exec_all_100),
    ("LOW_EXEC_NO_REASON", case_low_exec_no_reason),
    ("LOW_EXEC_NO_REASON", case_low_exec_reason_in_problems),
    ("EXEC_OVER_BUDGET", case_exec_over_budget),
    ("OVER_ACHIEVED", case_over_achieved),
    ("UNMET_REPEATED", case_unmet_repeated),
]


def test_every_check_has_a_case():
    assert {code for code, _ in CASES} == set(CHECKS)


@pytest.mark.parametrize(("code", "case"), CASES, ids=[f"{c}-{f.__name__}" for c, f in CASES])
def test_check_triggers_and_near_case_does_not(code, case):
    assert code in codes(*case(True))
    assert code not in codes(*case(False))


def test_findings_carry_severity_message_and_evidence():
    ev, _ = case_reported_score_mismatch(True)
    [f] = [f for f in audit_evaluation(ev) if f.code == "REPORTED_SCORE_MISMATCH"]
    assert (f.severity, f.goal_no, f.indicator, f.department, f.year) == (
        "警告", 1, "矛盾纠纷调处率", DEPT, 2023)
    assert "目标1“社区治理经费”" in f.message and "“矛盾纠纷调处率”" in f.message
    assert f.evidence["分值"] == 20 and f.evidence["填报得分"] == 18
    assert f.evidence["按规则得分"] == pytest.approx(16.7)
    assert "16.7" in f.message

    ev, _ = case_budget_parts_mismatch(True)
    [f] = [f for f in audit_evaluation(ev) if f.code == "BUDGET_PARTS_MISMATCH"]
    assert f.severity == "错误" and f.evidence["分项合计"] == pytest.approx(101.0)
    assert "101" in f.message and "100" in f.message


def test_score_gap_severity_follows_the_thresholds():
    ev, _ = case_score_gap(True)  # 1.5 points above
    gap = [f for f in audit_evaluation(ev) if f.code == "SCORE_GAP"]
    assert [f.severity for f in gap] == ["警告"] and gap[0].evidence["差额"] == 1.5
    ev.self_score -= 0.8  # 0.7 above: a hint only
    assert [f.severity for f in audit_evaluation(ev) if f.code == "SCORE_GAP"] == ["提示"]
    assert "SCORE_GAP" not in codes(ev, score_gap_hint=0.8)
    assert [f.severity for f in audit_evaluation(ev, AuditSettings(score_gap=0.5))
            if f.code == "SCORE_GAP"] == ["警告"]


def test_ezhou_form_reported_score_above_the_rule():
    """鄂州 2021 form: 预算执行率 as a 产出 indicator, 20 分, 83.5 % of 100 %, reported 18,
    rule 16.7. Its funds block's 分值 100 / 得分 98 is the form's total (scoring gives
    execution no separate weight), so the 分值 add up to 100."""
    [ev] = read_form_workbook(Path("鄂州.xlsx"), ff.ezhou_form(), department="鄂州市行政审批局")
    found = audit_evaluation(ev)
    mismatch = {f.indicator: f for f in by_code(found, "REPORTED_SCORE_MISMATCH")}
    rate = mismatch["预算执行率"]
    assert (rate.evidence["填报得分"], rate.evidence["按规则得分"]) == (18, 16.7)
    assert "填报得分 18（分值 20），按评分规则应得 16.7" in rate.message
    # “健全” is no level values can read: the rule gives nothing, and says why.
    assert "无法与目标比较" in mismatch["服务大厅长效运行机制"].message
    assert not by_code(found, "WEIGHTS_NOT_100") and not by_code(found, "EXEC_RATE_MISMATCH")
    assert not by_code(found, "BUDGET_PARTS_MISMATCH")  # 150 = 150 + 0 + 0
    [low] = by_code(found, "LOW_EXEC_NO_REASON")  # 83.5 % and no reason given
    assert low.evidence["执行率"] == pytest.approx(0.835)
    ev.budget_line("fiscal").budget = 140.0
    assert by_code(audit_evaluation(ev), "BUDGET_PARTS_MISMATCH")


def test_hubei_form_funds_score_follows_the_rule():
    """湖北 form: funds block 分值 10, 得分 8 at 80 % execution (得分 = 分值 × 执行率)."""
    [ev] = read_form_workbook(Path("湖北.xlsx"), ff.hubei_form())
    assert not [f for f in audit_evaluation(ev) if f.code == "REPORTED_SCORE_MISMATCH"
                and f.indicator is None]
    ev.budget_line("total").score = 10
    [f] = [f for f in audit_evaluation(ev) if f.code == "REPORTED_SCORE_MISMATCH"
           and f.indicator is None]
    assert (f.evidence["分值"], f.evidence["填报得分"], f.evidence["按规则得分"]) == (10, 10, 8)


def test_disabled_checks_are_skipped():
    ev, _ = case_duplicate_conflict(True)
    assert "DUPLICATE_INDICATOR_CONFLICT" not in codes(
        ev, disabled=frozenset({"DUPLICATE_INDICATOR_CONFLICT"}))
    assert "DUPLICATE_INDICATOR_CONFLICT" in codes(ev, disabled=frozenset({"DUPLICATE_INDICATOR"}))
    with pytest.raises(PerfevalError):
        AuditSettings(disabled=frozenset({"NO_SUCH_CHECK"}))
    with pytest.raises(PerfevalError):
        AuditSettings(scheme="没有的方案")


# -- the sample report ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample_findings():
    return audit_evaluation(ronghua_2022())


def by_code(findings, code):
    return [f for f in findings if f.code == code]


def test_sample_goal_9_copies_goal_4(sample_findings):
    [conflict] = by_code(sample_findings, "DUPLICATE_INDICATOR_CONFLICT")
    assert (conflict.goal_no, conflict.indicator) == (9, "消防隐患整治率 99%")
    assert conflict.evidence["本处实际值"] == "100%" and conflict.evidence["首次实际值"] == "70%"
    assert conflict.evidence["首次出现目标"] == 4
    assert "目标4“基层公共安全经费”" in conflict.message
    copies = {(f.goal_no, f.indicator) for f in by_code(sample_findings, "DUPLICATE_INDICATOR")}
    assert {(9, "非访劝返率"), (9, "赴省重访率")} <= copies


def test_sample_reverse_indicator_reported_full(sample_findings):
    rev = by_code(sample_findings, "REVERSE_REPORTED_FULL")
    assert {(f.goal_no, f.indicator) for f in rev} == {(4, "赴省重访率"), (9, "赴省重访率")}
    assert rev[0].evidence["实际值"] == "100%" and rev[0].evidence["方向由名称推断"] is True


def test_sample_goal_structure(sample_findings):
    assert {f.goal_no for f in by_code(sample_findings, "SINGLE_INDICATOR_GOAL")} == {5, 8}
    assert {f.goal_no for f in by_code(sample_findings, "NO_OUTPUT_INDICATOR")} == {7}
    no_effect = {f.goal_no for f in by_code(sample_findings, "NO_EFFECT_INDICATOR")}
    no_sat = {f.goal_no for f in by_code(sample_findings, "NO_SATISFACTION_INDICATOR")}
    assert no_effect == {1, 2, 5, 6, 8, 9, 10}
    assert no_sat == {1, 2, 3, 4, 5, 7, 8, 11}


def test_sample_unmeasurable_targets(sample_findings):
    un = {f.indicator: f for f in by_code(sample_findings, "UNMEASURABLE_TARGET")}
    assert un["家教大讲堂线下课程"].evidence == {"目标值": "完成", "读作": "达成"}
    assert un["老旧社区改造"].evidence["目标值"] == "有效控制"
    # Targets written into the name are measurable.
    assert "消防隐患整治率 99%" not in un and "数据维护 100%" not in un


def test_sample_score_gap_and_execution(sample_findings):
    [gap] = by_code(sample_findings, "SCORE_GAP")
    assert gap.severity == "提示"  # 0.67 points: above rounding, below the 1-point warning
    assert (gap.evidence["自评得分"], gap.evidence["计算得分"], gap.evidence["差额"]) == (
        98.0, 97.33, 0.67)
    assert "98" in gap.message and "97.33" in gap.message
    warned = audit_evaluation(ronghua_2022(), AuditSettings(score_gap=0.5))
    assert [f.severity for f in by_code(warned, "SCORE_GAP")] == ["警告"]
    [all100] = by_code(sample_findings, "EXEC_ALL_100")
    assert all100.evidence["预算数"]["总预算"] == 5431.28
    assert not [f for f in sample_findings if f.severity == "错误"]


# -- both entry points agree ----------------------------------------------------

NAMES = ["网格巡查次数", "居民满意度", "赴省重访率", "消防隐患整治率 99%", "预算执行率", "宣传活动"]
TARGETS = ["100%", "≥95%", "≤5%", "完成", "有效控制", "1200", "1200次", None]
ACTUALS = ["100%", "96%", "80%", "3%", "完成", "基本完成", "1560次", None]

indicator_st = st.builds(
    Indicator, category=st.sampled_from(["产出", "效益", "满意度"]), name=st.sampled_from(NAMES),
    target=st.sampled_from(TARGETS), actual=st.sampled_from(ACTUALS),
    met=st.sampled_from([True, False, None]),
    weight=st.sampled_from([None, 10.0, 20.0]), score=st.sampled_from([None, 8.0, 20.0]))


@st.composite
def evaluation_st(draw, year: int):
    goals = [Goal(no, f"目标经费{no}", indicators=draw(st.lists(indicator_st, max_size=4)))
             for no in range(1, draw(st.integers(1, 3)) + 1)]
    total = draw(st.sampled_from([100.0, 150.0]))
    executed = draw(st.sampled_from([total, 0.8 * total, 1.05 * total]))
    basic = draw(st.sampled_from([40.0, 41.0]))
    return Evaluation(
        Department(DEPT), year, self_score=draw(st.sampled_from([None, 85.0, 99.0])),
        budget=[BudgetLine("total", total, executed, weight=draw(st.sampled_from([None, 10.0])),
                           score=draw(st.sampled_from([None, 9.0]))),
                BudgetLine("basic", basic, basic), BudgetLine("project", total - 40.0, None)],
        goals=goals, problems=draw(st.sampled_from([[], ["执行进度偏慢。"]])))


def finding_keys(findings):
    return Counter((f.code, f.severity, f.goal_no, f.indicator, f.message) for f in findings)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prev=evaluation_st(2022), ev=evaluation_st(2023))
def test_store_and_memory_paths_agree(prev, ev):
    in_memory = audit_evaluation(ev, previous=prev)
    with Store(":memory:") as store:
        store.write([copy.deepcopy(prev), copy.deepcopy(ev)])
        bulk = findings_from_frame(audit_store(store, year=2023))
    assert finding_keys(in_memory) == finding_keys(bulk)


def test_store_filters_and_columns(store):
    a, b = clean(name="甲街道（测试）"), clean(name="乙街道（测试）")
    ind(b, "网格巡查次数").target = "完成"
    store.write([a, b, clean(2022, "乙街道（测试）")])
    df = audit_store(store)
    assert list(df.columns) == FINDING_COLUMNS
    assert set(df["department"]) == {"乙街道（测试）"} and set(df["year"]) == {2023}
    assert audit_store(store, year=2022).empty
    assert audit_store(store, departments=["甲街道（测试）"]).empty
    assert audit_store(store, allowed=["甲街道（测试）"]).empty
    assert len(audit_store(store, departments="乙街道（测试）", allowed=["乙街道（测试）"])) == 1
    [f] = findings_from_frame(df)
    assert f.code == "UNMEASURABLE_TARGET" and f.title == "目标值无法度量"
    assert isinstance(f.evidence, dict) and f.goal_no == 1


def test_overview_table_counts_and_selection(store):
    worse, fine = clean(name="甲街道（测试）"), clean(name="乙街道（测试）")
    ind(worse, "矛盾纠纷调处率").actual = "80%"  # reported met: REPORTED_MET_MISMATCH
    line(worse, "basic").budget = 41.0  # 错误
    store.write([worse, fine])
    full = audit_store(store)
    ov = audit_overview(store)
    assert list(ov.table.columns) == REVIEW_COLUMNS and ov.total == 2
    assert list(ov.table["department"]) == ["甲街道（测试）", "乙街道（测试）"]  # larger gap first
    assert ov.table["gap"].iloc[0] > 1 and ov.table["gap"].iloc[1] == pytest.approx(0)
    assert ov.counts == summarize(full) and ov.counts["错误"] == 1
    assert ov.table[["错误", "警告", "提示"]].sum().to_dict() == ov.counts
    assert ov.by_code["count"].sum() == len(full)
    assert findings_by_code(full)["count"].sum() == len(full)
    assert set(findings_by_code(full)["code"]) == set(ov.by_code["code"])
    picked = findings_of(full, ov.table, [0])
    assert set(picked["department"]) == {"甲街道（测试）"} and len(picked) == len(full)
    assert len(findings_of(full, ov.table, [])) == len(full)
    assert findings_of(full, ov.table, [1]).empty
    assert audit_overview(store, allowed=["乙街道（测试）"]).total == 1
    assert audit_overview(store, limit=1).table.shape[0] == 1


# -- rectification ----------------------------------------------------------------


def two_years() -> list[Evaluation]:
    y1 = clean(2023)
    y1.goals[0].indicators += [
        Indicator("产出", "信访积案化解率", "100%", "30%", met=False),
        Indicator("效益", "消防隐患整治率 99%", "完成", "70%", met=False),
        Indicator("效益", "矛盾纠纷排查次数", "≥12次", "8次", met=False),
    ]
    y1.problems = ["信访积案化解偏差大；消防隐患整改共有 2处未完成。", "绩效指标设置过于单一。"]
    y2 = clean(2024)
    y2.goals[0].indicators += [
        Indicator("产出", "信访积案化解率", "100%", "100%", met=True),  # 已整改
        Indicator("效益", "消防隐患整治率95%", "完成", "80%", met=False),  # 仍未完成
        # 矛盾纠纷排查次数 is gone: 未再设置
        Indicator("产出", "老旧小区改造数", "≥5个", "3个", met=False),  # 2025 missing
    ]
    y2.problems = ["信访积案化解率仍然偏低，消防隐患整改尚有1处未完成。", "预算编制不够精准。"]
    other = clean(2023, "乙街道（测试）")
    ind(other, "垃圾清运率").actual = "90%"
    return [y1, y2, other]


def test_rectification_statuses(store):
    store.write(two_years())
    df = rectification(store)
    status = {(r.department, r.year, r.indicator): r.status for r in df.itertuples()}
    assert status == {
        (DEPT, 2023, "信访积案化解率"): "已整改",
        (DEPT, 2023, "消防隐患整治率 99%"): "仍未完成",
        (DEPT, 2023, "矛盾纠纷排查次数"): "未再设置",
        (DEPT, 2024, "消防隐患整治率95%"): "无下年数据",
        (DEPT, 2024, "老旧小区改造数"): "无下年数据",
        ("乙街道（测试）", 2023, "垃圾清运率"): "无下年数据",
    }
    row = df[df["indicator"] == "消防隐患整治率 99%"].iloc[0]
    assert (row["actual"], row["next_actual"], row["next_year"], row["goal"]) == (
        "70%", "80%", 2024, "社区治理经费")
    counts = rectification_counts(df).set_index("status")["count"].to_dict()
    assert counts == {"已整改": 1, "仍未完成": 1, "未再设置": 1, "无下年数据": 3, "无法判断": 0}
    assert len(rectification(store, year=2023, departments=[DEPT])) == 3
    assert rectification(store, allowed=["丙街道（测试）"]).empty


def test_unmet_repeated_in_the_store_matches_rectification(store):
    store.write(two_years())
    rep = audit_store(store, year=2024)
    assert list(rep.loc[rep["code"] == "UNMET_REPEATED", "indicator"]) == ["消防隐患整治率95%"]


def test_problem_followup(store):
    store.write(two_years())
    df = problem_followup(store)
    status = {(r.year, r.problem[:6]): r.status for r in df.itertuples()}
    assert status[(2023, "信访积案化解")] == "再次出现"
    assert status[(2023, "绩效指标设置")] == "未再出现"
    assert status[(2024, "信访积案化解")] == "无下年数据"
    again = df[(df["year"] == 2023) & (df["status"] == "再次出现")].iloc[0]
    assert again["similar_problem"].startswith("信访积案化解率仍然偏低")
    assert again["similarity"] >= AuditSettings().problem_similarity
    assert problem_followup(store, AuditSettings(problem_similarity=0.9), year=2023)[
        "status"].tolist().count("再次出现") == 0
    assert problem_followup(store, allowed=["丙街道（测试）"]).empty


def test_text_similarity():
    assert text_similarity("1.绩效指标设置过于单一。", "（二）绩效指标设置过于单一") == 1.0
    assert text_similarity("绩效指标设置过于单一。", "预算编制不够精准。") == 0.0
    assert text_similarity("", "任何") == 0.0


@given(st.text(max_size=30), st.text(max_size=30))
def test_text_similarity_is_symmetric_and_bounded(a, b):
    s = text_similarity(a, b)
    assert 0.0 <= s <= 1.0 and s == text_similarity(b, a)


# -- command line and bench -------------------------------------------------------


def run_cli(db, *args) -> int:
    parser = build_parser()
    ns = parser.parse_args(["--db", str(db), "audit", *args])
    return ns.func(ns)


def test_cli_exit_status_and_json(tmp_path, capsys):
    db = tmp_path / "a.duckdb"
    with Store(db) as s:
        s.write([clean()])
    assert run_cli(db) == 0
    assert "共 0 条" in capsys.readouterr().out
    bad = clean(name="乙街道（测试）")
    line(bad, "basic").budget = 41.0
    with Store(db) as s:
        s.write([bad])
    assert run_cli(db) == 1
    out = capsys.readouterr().out
    assert "[错误] 乙街道（测试） 2023 BUDGET_PARTS_MISMATCH" in out
    assert run_cli(db, "--dept", DEPT) == 0
    capsys.readouterr()
    assert run_cli(db, "--json", "--year", "2023") == 1
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["错误"] == 1
    assert data["findings"][0]["code"] == "BUDGET_PARTS_MISMATCH"
    assert data["findings"][0]["evidence"]["分项合计"] == 101.0
    assert run_cli(db, "--year", "2020") == 0
    capsys.readouterr()
    out = tmp_path / "复核.xlsx"
    assert run_cli(db, "--year", "2023", "--xlsx", str(out)) == 1
    assert "已写出" in capsys.readouterr().out
    import openpyxl

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["复核发现", "整改跟踪", "问题复现"]
    assert wb["复核发现"]["D2"].value == "乙街道（测试）"


def test_bench_audit(store):
    store.write(two_years())
    out = bench_audit(store)
    assert out["evaluations"] == 3 and out["indicators"] == 27
    assert out["findings"] == len(audit_store(store)) and out["seconds"] >= 0
    assert out["frame_seconds"] >= 0
    assert "frame_seconds" not in bench_audit(store, frame_limit=1)


def test_findings_workbook(store):
    import io

    import openpyxl

    evals = two_years()
    ind(evals[0], "网格巡查次数").name = "=SUM(A1:A2)"  # text, never a formula
    ind(evals[0], "=SUM(A1:A2)").target = "完成"
    store.write(evals)
    findings = audit_store(store)
    data = findings_workbook(findings, rectification(store), problem_followup(store))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["复核发现", "整改跟踪", "问题复现"]
    ws = wb["复核发现"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["级别", "代码", "检查项"] and "说明" in header and "依据" in header
    assert ws.max_row == len(findings) + 1 and ws.freeze_panes == "A2"
    indicators = [row[header.index("指标")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert "=SUM(A1:A2)" in indicators
    cell = next(c for c in ws[get_column(header, "指标")] if c.value == "=SUM(A1:A2)")
    assert cell.data_type == "s"
    assert wb["整改跟踪"].max_row == 7


def get_column(header, name):
    from openpyxl.utils import get_column_letter

    return get_column_letter(header.index(name) + 1)


def test_read_only_store_is_audited(tmp_path):
    path = tmp_path / "ro.duckdb"
    with Store(path) as s:
        s.write([ronghua_2022()])  # scored by the write, under the default scheme only
    with Store(path, read_only=True) as ro:
        df = audit_store(ro, AuditSettings(scheme="10+90"))
        assert "DUPLICATE_INDICATOR_CONFLICT" in set(df["code"])
        assert "SCORE_GAP" not in set(df["code"])  # needs scores, which the audit never writes
        assert "SCORE_GAP" in set(audit_store(ro)["code"])


def test_region_kind_and_scope_filters(store):
    a, b = clean(name="甲街道（测试）"), clean(name="乙局（测试）")
    b.department.region, b.department.kind = "另一区", "委局"
    for ev in (a, b):
        ind(ev, "网格巡查次数").target = "完成"
    project = clean(name="甲街道（测试）")
    project.scope, project.project = "项目", "社区治理项目"
    ind(project, "网格巡查次数").target = "完成"
    store.write([a, b, project])
    assert len(audit_store(store)) == 3
    assert set(audit_store(store, region="另一区")["department"]) == {"乙局（测试）"}
    assert set(audit_store(store, kind="街道")["department"]) == {"甲街道（测试）"}
    assert set(audit_store(store, scope="项目")["project"]) == {"社区治理项目"}
    assert audit_overview(store, scope="部门整体").total == 2
    assert audit_overview(store, region="另一区", kind="街道").total == 0
    assert rectification(store, region="无此区").empty
    assert problem_followup(store, kind="委局")["department"].unique().tolist() == ["乙局（测试）"]
