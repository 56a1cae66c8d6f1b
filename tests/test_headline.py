"""The 总览 headline (perfeval.headline) on known data, and on the page (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from perfeval import rules
from perfeval.headline import headline
from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator
from perfeval.queries import Filters, kpis
from perfeval.scoring import ensure_scores, score_evaluation
from perfeval.store import Store

ROOT = Path(__file__).parent.parent
A, B, C, D = "甲街道（测试）", "乙街道（测试）", "丙街道（测试）", "丁街道（测试）"
ODD = "**粗体** [链接](x) :red[红] $x$ 街道"  # a name that would be Markdown


def ev(name: str, year: int, *, executed: float = 95.0, patrols: int = 1260,
       self_gap: float = 0.0, region: str = "东区") -> Evaluation:
    """One goal, three indicators; 网格巡查次数 is unmet below 1200 次. The
    self-score is the computed score plus ``self_gap``."""
    e = Evaluation(
        department=Department(name, region, "街道"), year=year,
        budget=[BudgetLine("total", 100.0, executed)],
        goals=[Goal(1, "社区治理经费", indicators=[
            Indicator("产出", "网格巡查次数", "≥1200次", f"{patrols}次", met=patrols >= 1200),
            Indicator("效益", "重复信访发生率", "≤5%", "3%", met=True),
            Indicator("满意度", "居民满意度", "≥90%", "93%", met=True)])])
    e.self_score = round(score_evaluation(e).total + self_gap, 2)
    return e


def known() -> list[Evaluation]:
    return [
        ev(A, 2023, patrols=1000), ev(A, 2024, executed=80.0, patrols=1000),  # low, unmet twice
        ev(B, 2023), ev(B, 2024, patrols=1140, self_gap=3.0),  # self-score 3 points high
        ev(C, 2023, region="西区"),  # submitted last year only
        ev(D, 2024, executed=100.0, patrols=600, region="西区"),  # grade 中
    ]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "headline.duckdb"
    with Store(path) as s:
        s.write(known())
        ensure_scores(s)
    return path


def texts(db_path, f: Filters, allowed=None) -> list[str]:
    with Store(db_path) as s:
        return [x.text for x in headline(s, f, allowed)]


def test_sentences_on_known_data(db):
    total_d = score_evaluation(known()[5]).total
    assert rules.grade_of(total_d) == "中"
    with Store(db) as s:
        out = headline(s, Filters(year=2024), None)
        unmet_card = kpis(s, Filters(year=2024), None)[2024]["unmet"]
    assert [x.text for x in out] == [
        f"1 个部门预算执行率低于 {rules.pct_text(rules.LOW_EXEC_RATE)}，最低的是{A}（80.0%）。",
        f"1 个部门的自评得分比计算得分高出 {rules.SCORE_GAP_WARN:g} 分以上，最多的是{B}（高 3.00 分）。",
        f"1 个部门的计算得分等级为中或差（中 1 个），最低的是{D}（{total_d:.2f} 分，中）。",
        "3 个绩效指标未完成，其中 1 个在 2023 年度也未完成。",
        f"2023 年度参评的单位中，1 个尚未提交 2024 年度自评：{C}。",
    ]
    assert unmet_card == 3  # the sentence agrees with the KPI card
    assert [(x.topic, x.page, x.params, x.action) for x in out] == [
        ("exec", "pages/budget.py", {}, True), ("gap", "pages/review.py", {}, True),
        ("grade", "pages/profile.py", {"dept": D}, True), ("unmet", "pages/unmet.py", {}, True),
        ("coverage", "pages/data.py", {}, True)]
    assert [x.count for x in out] == [1, 1, 1, 3, 1]


def test_all_clear_and_no_previous_year(db):
    # 2023: nothing low, no gap, no weak grade; the first year has no year before.
    assert texts(db, Filters(year=2023)) == [
        "1 个绩效指标未完成，无 2022 年度数据，无法判断是否连续未完成。",
        f"所有部门的预算执行率都不低于 {rules.pct_text(rules.LOW_EXEC_RATE)}。",
        f"没有自评得分比计算得分高出 {rules.SCORE_GAP_WARN:g} 分以上的部门。",
        "所有部门的计算得分等级都为优或良。",
    ]


def test_filters_and_viewer_scope(db):
    west = texts(db, Filters(year=2024, region="西区"))
    assert west[0] == f"1 个部门的计算得分等级为中或差（中 1 个），最低的是{D}（" \
        f"{score_evaluation(known()[5]).total:.2f} 分，中）。"
    assert f"2023 年度参评的单位中，1 个尚未提交 2024 年度自评：{C}。" in west
    assert not any(A in t or B in t for t in west)
    only_b = texts(db, Filters(year=2024), allowed=[B])
    assert only_b[0].startswith(f"1 个部门的自评得分比计算得分高出 {rules.SCORE_GAP_WARN:g} 分以上")
    assert "1 个绩效指标未完成，其中没有 2023 年度也未完成的。" in only_b
    assert not any(t for t in only_b if A in t or C in t or D in t)
    assert texts(db, Filters(year=2024), allowed=[]) == []
    assert texts(db, Filters(year=None)) == []


def test_more_missing_units_are_shortened(tmp_path):
    names = [f"单位{k:02d}（测试）" for k in range(5)]
    with Store(tmp_path / "m.duckdb") as s:
        s.write([ev(n, 2023) for n in names] + [ev(names[0], 2024)])
        ensure_scores(s)
        out = {x.topic: x.text for x in headline(s, Filters(year=2024), None)}
    assert out["coverage"] == ("2023 年度参评的单位中，4 个尚未提交 2024 年度自评："
                               f"{'、'.join(names[1:4])}等。")


# -- on the page ---------------------------------------------------------------------


def app(db_path, monkeypatch, **params) -> AppTest:
    monkeypatch.setenv("PERFEVAL_DB", str(db_path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def links(at: AppTest) -> list[tuple[str, str, str]]:
    """(label, page, query string) of the page links in the main area."""
    out = []
    for el in at.main.get("page_link"):
        p = el.proto
        out.append((p.label, p.page, getattr(p, "query_string", "")))
    return out


def test_headline_on_the_overview_page(db, monkeypatch):
    at = app(db, monkeypatch, year="2024", region="西区")
    shown = [t.value for t in at.main.text]
    expected = texts(db, Filters(year=2024, region="西区"))
    assert [s[2:] for s in shown] == expected
    got = links(at)
    profile = [x for x in got if x[0] == "查看部门画像"]
    assert profile, got
    assert "dept=" in profile[0][2] and "region=" in profile[0][2] and "year=2024" in profile[0][2]


def test_department_names_stay_plain_text(tmp_path, monkeypatch):
    path = tmp_path / "odd.duckdb"
    with Store(path) as s:
        s.write([ev(ODD, 2024, executed=50.0)])
        ensure_scores(s)
    at = app(path, monkeypatch, year="2024")
    first = at.main.text[0].value
    assert first == f"● 1 个部门预算执行率低于 {rules.pct_text(rules.LOW_EXEC_RATE)}，最低的是{ODD}（50.0%）。"
    assert not any(ODD in m.value for m in at.main.markdown)  # never through Markdown
