"""评分复核 page (AppTest): overview, selection, chart, rectification, filters, viewers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from perfeval import users
from perfeval.audit import audit_overview, selected_eval_ids
from perfeval.store import Store
from perfeval.ui import auth
from tests.ronghua_fixture import ronghua_2022
from tests.test_audit import DEPT, line, two_years

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


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_sample_year_self_score_against_computed(db):
    at = run(year=2022)
    assert not at.exception
    assert at.title[0].value == "评分复核"
    m = metrics(at)
    assert (m["评价数"], m["错误"]) == ("1", "0")
    [sample] = at.dataframe[0].value.itertuples()
    assert (sample.department, sample.self_score, round(sample.total, 2), round(sample.gap, 2),
            sample.grade) == (RONGHUA, 98, 97.33, 0.67, "优")
    assert sample.警告 > 0 and sample.提示 >= 4  # SCORE_GAP and the copied indicators
    assert any("选择一行" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert len(at.get("download_button")) == 2  # findings, rectification


def test_largest_gap_first_and_error_counted(db):
    at = run(year=2023)
    assert not at.exception
    m = metrics(at)
    assert (m["评价数"], m["错误"]) == ("2", "1")
    table = at.dataframe[0].value
    assert list(table["gap"]) == sorted(table["gap"], reverse=True)
    assert table.set_index("department").loc[OTHER, "错误"] == 1


def test_rectification_of_last_year(db):
    at = run(year=2024)
    assert not at.exception
    m = metrics(at)
    assert m["评价数"] == "1"  # only 2024 evaluations are reviewed
    assert (m["已整改"], m["仍未完成"], m["未再设置"], m["无下年数据"]) == ("1", "1", "1", "1")
    assert any("2023 年未完成指标在 2024 年" in h.value for h in at.subheader)
    rect = at.dataframe[1].value
    assert set(rect["年度"]) == {2023}
    assert dict(zip(rect["指标"], rect["整改情况"], strict=True)) == {
        "信访积案化解率": "已整改", "消防隐患整治率 99%": "仍未完成",
        "矛盾纠纷排查次数": "未再设置", "垃圾清运率": "无下年数据"}
    problems = at.dataframe[2].value
    assert "再次出现" in set(problems["情况"])


def test_department_filter_and_viewer_departments(db):
    at = run(year=2023, departments=[DEPT])
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {DEPT}
    at = run(viewer="赵查看", year=2023)
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {OTHER}
    assert metrics(at)["错误"] == "1"
    assert set(at.dataframe[1].value["部门"]) <= {OTHER}  # rectification too
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
    at = page(year=2022)
    at.session_state["review_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any(h.value == f"{RONGHUA} 2022 年度的复核发现" for h in at.subheader)
    detail = at.dataframe[1].value
    assert list(detail.columns) == ["级别", "检查项", "目标", "指标", "说明", "依据"]
    conflict = detail[detail["检查项"] == "重复指标实际值不一致"].iloc[0]
    assert conflict["指标"] == "消防隐患整治率 99%" and "首次实际值：70%" in conflict["依据"]


def test_selection_logic(db):
    with Store(db) as s:
        ov = audit_overview(s, year=2023)
    assert selected_eval_ids(ov.table, [0]) == [int(ov.table["eval_id"].iloc[0])]
    assert selected_eval_ids(ov.table, []) == [] and selected_eval_ids(ov.table, [99]) == []


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
