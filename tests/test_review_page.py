"""评分复核 page (AppTest): the work list's order and grouping, Chinese only, selection,
export, chart, rectification, filters, viewers."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from perfeval import users
from perfeval.audit import CHECKS, SEVERITIES, audit_store
from perfeval.model import Indicator
from perfeval.reviewlist import EXPLANATIONS, explanation, rank_departments
from perfeval.scoring import score_evaluation
from perfeval.store import Store
from perfeval.ui import auth
from tests.conftest import figures
from tests.ronghua_fixture import ronghua_2022
from tests.test_audit import DEPT, clean, line, two_years

PAGE = str(Path(__file__).parent.parent / "pages" / "review.py")
OTHER = "乙街道（测试）"
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "review.duckdb"
    with Store(path) as s:
        evals = two_years()  # DEPT 2023 and 2024, 乙街道 2023
        line(evals[2], "basic").budget = 41.0  # one 错误 for 乙街道
        s.write([*evals, ronghua_2022()])
        for name, depts in (("赵查看", [OTHER]), ("钱查看", ["丙街道（测试）"])):
            users.add_user(s, name, "page-test-password", users.VIEWER, depts, actor="测试")
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    return path


def page(viewer: str | None = None, **params) -> AppTest:
    """The page, logged in as the 查看者 ``viewer`` when given (else not logged in),
    with the global filters in the URL (a page run alone reads them from there)."""
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=60)
    if viewer is not None:
        at.session_state[auth.USER_KEY] = {"name": viewer, "role": users.VIEWER,
                                           "departments": None}  # the store's list wins
        at.session_state[auth.SEEN_KEY] = time.time()
    for k, v in params.items():
        at.query_params[k] = v
    return at


def run(viewer: str | None = None, **params) -> AppTest:
    return page(viewer, **params).run()


def frame_with(at: AppTest, column: str) -> pd.DataFrame:
    """The page's table that has ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_sample_year_self_score_against_computed(db):
    at = run(year=2022)
    assert not at.exception
    assert at.title[0].value == "评分复核"
    m = metrics(at)
    assert (m["评价数"], m["错误"], m["有错误的部门"]) == ("1", "0", "0")
    [sample] = at.dataframe[0].value.itertuples()
    assert (sample.rank, sample.department, sample.self_score, round(sample.total, 2),
            round(sample.gap, 2), sample.grade) == (1, RONGHUA, 98, 97.33, 0.67, "优")
    assert sample.警告 > 0 and sample.提示 >= 4  # SCORE_GAP and the copied indicators
    checks = frame_with(at, "说明")  # the first department's findings by check
    assert sample.summary.startswith(f"{checks['检查项'].iloc[0]} {checks['发现数'].iloc[0]}；")
    assert sample.summary.endswith(f"等 {len(checks)} 项")
    assert checks["发现数"].sum() == sample.错误 + sample.警告 + sample.提示
    assert "重复指标实际值不一致" in set(checks["检查项"])
    assert any(f"{RONGHUA} 的复核发现（清单第一位）" in md.value for md in at.markdown)
    assert len(figures(at)) == 1
    assert len(at.get("download_button")) == 3  # work list, findings, rectification


def test_errors_first_then_largest_gap(db):
    at = run(year=2023)
    assert not at.exception
    m = metrics(at)
    assert (m["评价数"], m["错误"], m["有错误的部门"]) == ("2", "1", "1")
    work = at.dataframe[0].value
    # 乙街道 has the one 错误: first, although its self-score gap is not the larger one.
    assert list(work["department"]) == [OTHER, DEPT]
    assert list(work["rank"]) == [1, 2]
    assert work.set_index("department").loc[OTHER, "错误"] == 1
    assert "分项资金之和与总额不符 1" in work.set_index("department").loc[OTHER, "summary"]


def test_work_list_order_and_grouping(tmp_path, monkeypatch):
    """Four departments: two with errors (more errors first), two without
    (larger self-score gap first); each row's checks are counted."""
    path = tmp_path / "order.duckdb"
    evs = []
    for name, basic, gap, dup in (("甲（测试）", 41.0, 0.0, 0), ("乙（测试）", 41.0, 5.0, 0),
                                  ("丙（测试）", None, 2.0, 2), ("丁（测试）", None, 3.0, 1)):
        e = clean(2023, name)
        if basic is not None:
            line(e, "basic").budget = basic  # 错误: parts do not add up
        if name == "甲（测试）":
            line(e, "project").budget = 61.0  # a second part off: still one check, one error
            e.goals[0].indicators[0].score = 99.0  # 得分高于分值: a second error check
            e.goals[0].indicators[0].weight = 10.0
        for _ in range(dup):  # the same indicator again under goal 2, another actual
            e.goals[1].indicators.append(Indicator("产出", "网格巡查次数", "≥1200次", "900次",
                                                   met=False))
        e.self_score = round(score_evaluation(e).total + gap, 2)
        evs.append(e)
    with Store(path) as s:
        s.write(evs)
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    at = run(year=2023)
    assert not at.exception, [e.value for e in at.exception]
    work = at.dataframe[0].value.set_index("department")
    assert list(work.index) == ["甲（测试）", "乙（测试）", "丁（测试）", "丙（测试）"]
    assert work.loc["甲（测试）", "错误"] > work.loc["乙（测试）", "错误"] > 0
    assert work.loc["丁（测试）", "gap"] > work.loc["丙（测试）", "gap"]
    assert (work.loc[["丁（测试）", "丙（测试）"], "错误"] == 0).all()
    # The first department's findings, grouped by check, counted, explained in Chinese.
    checks = at.dataframe[1].value
    assert list(checks.columns) == ["检查项", "级别", "发现数", "说明"]
    assert checks["级别"].iloc[0] == "错误"
    assert checks["发现数"].sum() == work.loc["甲（测试）", ["错误", "警告", "提示"]].sum()
    assert checks["说明"].str.len().min() > 4


def test_no_english_check_codes_on_the_page(db):
    at = run(year=2022)
    assert not at.exception
    seen = [str(x.value) for kind in ("markdown", "caption", "subheader", "metric", "text")
            for x in at.get(kind)]
    for df in at.dataframe:
        seen += [str(c) for c in df.value.columns]
        seen += [str(v) for v in df.value.astype(str).to_numpy().ravel()]
    blob = "\n".join(seen)
    assert not any(code in blob for code in CHECKS), [c for c in CHECKS if c in blob]
    fig = figures(at)[0].to_json()
    assert not any(code in fig for code in CHECKS)


def test_explanations_cover_every_check():
    assert set(EXPLANATIONS) == set(CHECKS)
    assert all(explanation(c) and not any(ch.isascii() and ch.isalpha() for ch in explanation(c))
               for c in CHECKS)


def test_export_holds_every_finding(db):
    at = run(year=2023)
    with Store(db) as s:
        every = audit_store(s, year=2023, scope="部门整体")
    assert any(f"下载全部 {len(every):,} 条复核发现" in c.value for c in at.caption)
    work = at.dataframe[0].value
    assert int(work[["错误", "警告", "提示"]].to_numpy().sum()) == len(every)


def test_rectification_of_last_year(db):
    at = run(year=2024)
    assert not at.exception
    m = metrics(at)
    assert m["评价数"] == "1"  # only 2024 evaluations are reviewed
    assert (m["已整改"], m["仍未完成"], m["未再设置"], m["无下年数据"]) == ("1", "1", "1", "1")
    assert any("2023 年未完成指标在 2024 年" in h.value for h in at.subheader)
    rect = frame_with(at, "整改情况")
    assert set(rect["年度"]) == {2023}
    assert dict(zip(rect["指标"], rect["整改情况"], strict=True)) == {
        "信访积案化解率": "已整改", "消防隐患整治率 99%": "仍未完成",
        "矛盾纠纷排查次数": "未再设置", "垃圾清运率": "无下年数据"}
    problems = frame_with(at, "存在的问题")
    assert "再次出现" in set(problems["情况"])


def test_department_filter_and_viewer_departments(db):
    at = run(year=2023, departments=[DEPT])
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {DEPT}
    at = run(viewer="赵查看", year=2023)
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {OTHER}
    assert metrics(at)["错误"] == "1"
    assert set(frame_with(at, "整改情况")["部门"]) <= {OTHER}  # rectification too
    at = run(viewer="钱查看", year=2023)
    assert not at.exception
    assert not at.dataframe  # nothing of another department reaches the page


def test_gap_threshold_changes_severity(db):
    at = run(year=2022)
    before = metrics(at)
    at.number_input(key="review_gap").set_value(0.5).run()
    assert not at.exception
    after = metrics(at)
    # the sample's 0.67-point gap turns from a hint into a warning
    assert int(after["提示"]) == int(before["提示"]) - 1
    assert int(after["警告"]) == int(before["警告"]) + 1


def test_selected_row_shows_its_findings_with_evidence(db):
    # AppTest cannot click a dataframe row: seed the selection state the widget keeps.
    at = page(year=2023)
    at.session_state["review_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any(md.value == f"#### {DEPT} 的复核发现" for md in at.markdown)
    detail = frame_with(at, "依据")
    assert list(detail.columns) == ["级别", "检查项", "年度", "目标", "指标", "说明", "依据"]
    assert set(detail["级别"]) <= set(SEVERITIES)


def test_rank_departments_unit():
    table = pd.DataFrame({"department": ["a", "b", "c", "c"], "gap": [9.0, 1.0, None, 4.0],
                          "self_score": [1.0] * 4, "total": [1.0] * 4, "grade": ["优"] * 4,
                          "错误": [0, 0, 1, 0], "警告": [3, 1, 0, 0], "提示": [0, 0, 0, 0]})
    empty = pd.DataFrame(columns=["department", "code", "severity"])
    out = rank_departments(table, empty)
    assert list(out["department"]) == ["c", "a", "b"]
    assert out.set_index("department").loc["c", "evaluations"] == 2
    assert out.set_index("department").loc["c", "grade"] is None


def test_through_the_app_entry_point(db):
    st.cache_data.clear()
    app = str(Path(PAGE).parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60)
    at.query_params["year"] = "2024"
    at.run()
    at.switch_page("pages/review.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "评分复核"
    assert metrics(at)["评价数"] == "1" and metrics(at)["仍未完成"] == "1"
