"""评分复核 page (AppTest): overview, chart, rectification, download, filters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from perfeval import users
from perfeval.audit import audit_overview, selected_eval_ids
from perfeval.store import Store
from perfeval.ui import auth
from tests.ronghua_fixture import ronghua_2022
from tests.test_audit import DEPT, line, two_years

PAGE = str(Path(__file__).parent.parent / "pages" / "review.py")


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "review.duckdb"
    with Store(path) as s:
        evals = two_years()
        line(evals[2], "basic").budget = 41.0  # one 错误 for 乙街道
        s.write([*evals, ronghua_2022()])
        for name, depts in (("赵查看", ["乙街道（测试）"]), ("钱查看", ["丙街道（测试）"])):
            users.add_user(s, name, "page-test-password", users.VIEWER, depts, actor="测试")
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    return path


def run(viewer: str | None = None, **state) -> AppTest:
    """The page, logged in as the 查看者 ``viewer`` when given (else not logged in)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    if viewer is not None:
        at.session_state[auth.USER_KEY] = {"name": viewer, "role": users.VIEWER,
                                           "departments": None}  # the store's list wins
        at.session_state[auth.SEEN_KEY] = time.time()
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_lists_evaluations_by_gap(db):
    at = run()
    assert not at.exception
    assert at.title[0].value == "评分复核"
    m = metrics(at)
    assert m["评价数"] == "4" and m["错误"] == "1"
    table = at.dataframe[0].value
    assert len(table) == 4
    assert table["gap"].iloc[0] == table["gap"].max()
    sample = table[table["department"] == "武汉市硚口区人民政府荣华街道办事处"].iloc[0]
    assert (sample["self_score"], round(sample["total"], 2), sample["grade"]) == (98, 97.33, "优")
    assert sample["警告"] > 0 and sample["提示"] >= 4
    assert any("选择一行" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
    assert at.get("download_button")


def test_rectification_of_last_year_under_a_year_filter(db):
    at = run(year=2024)
    assert not at.exception
    m = metrics(at)
    assert m["评价数"] == "1"  # only 2024 evaluations are reviewed
    assert (m["已整改"], m["仍未完成"], m["未再设置"], m["无下年数据"]) == ("1", "1", "1", "1")
    rect = at.dataframe[1].value
    assert set(rect["年度"]) == {2023}
    assert set(rect["整改情况"]) == {"已整改", "仍未完成", "未再设置", "无下年数据"}
    problems = at.dataframe[2].value
    assert "再次出现" in set(problems["情况"])


def test_department_filter_and_allowed_departments(db):
    at = run(departments=[DEPT])
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {DEPT}
    at = run(viewer="赵查看")
    assert not at.exception
    assert set(at.dataframe[0].value["department"]) == {"乙街道（测试）"}
    assert metrics(at)["错误"] == "1"
    assert set(at.dataframe[1].value["部门"]) == {"乙街道（测试）"}  # rectification too
    at = run(viewer="钱查看")
    assert not at.exception and any("没有符合" in i.value for i in at.info)


def test_gap_threshold_changes_severity(db):
    at = run()
    hints = int(metrics(at)["提示"])
    at.number_input(key="review_gap").set_value(0.5).run()
    assert not at.exception
    assert int(metrics(at)["提示"]) == hints - 1  # the sample's 0.67-point gap is now a 警告


def test_selection_logic(db):
    with Store(db) as s:
        ov = audit_overview(s)
    assert selected_eval_ids(ov.table, [0]) == [int(ov.table["eval_id"].iloc[0])]
    assert selected_eval_ids(ov.table, []) == [] and selected_eval_ids(ov.table, [99]) == []


def test_selected_row_shows_its_findings_with_evidence(db):
    # AppTest cannot click a dataframe row: seed the selection state the widget keeps.
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["review_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    top = at.dataframe[0].value.iloc[0]
    assert at.subheader[1].value == f"{top['department']} {top['year']} 年度的复核发现"
    detail = at.dataframe[1].value
    assert list(detail.columns) == ["级别", "检查项", "目标", "指标", "说明", "依据"]
    assert len(detail) > 0 and detail["依据"].str.contains("：").all()
