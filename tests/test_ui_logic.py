"""Selection → target logic and the Excel download (no Streamlit runtime needed)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfeval.export import excel_bytes
from perfeval.queries import Filters, waterfall_steps
from perfeval.scoring import LostPoint
from perfeval.ui import links


def test_department_from_chart_reads_customdata():
    state = {"selection": {"points": [{"x": 91.2, "y": "甲", "customdata": ["甲街道"]}]}}
    assert links.department_from_chart(state) == "甲街道"
    # Streamlit's PlotlyState is attribute-style; a scalar customdata works too.
    obj = SimpleNamespace(selection=SimpleNamespace(points=[{"customdata": "乙街道"}]))
    assert links.department_from_chart(obj) == "乙街道"
    assert links.department_from_chart({"selection": {"points": []}}) is None
    assert links.department_from_chart({"selection": {"points": [{"x": 1}]}}) is None
    assert links.department_from_chart(None) is None


def test_department_from_table_reads_selected_row():
    table = pd.DataFrame({"department": ["甲", "乙", "丙"], "total": [90, 80, 70]})
    assert links.department_from_table({"selection": {"rows": [2]}}, table) == "丙"
    assert links.department_from_table({"selection": {"rows": []}}, table) is None
    assert links.department_from_table({"selection": {"rows": [7]}}, table) is None
    assert links.department_from_table({"selection": {"rows": [0]}}, table, "nope") is None


def test_profile_params_keep_filters_and_add_department():
    current = {"year": "2023", "departments": ["甲", "乙"], "unmet_kw": "x", "region": ""}
    out = links.profile_params(current, "丙")
    assert out == {"year": "2023", "departments": ["甲", "乙"], "dept": "丙"}


@pytest.mark.parametrize(("year", "chosen", "years", "expected"), [
    (2024, None, [2024, 2023, 2022], 2023),
    (2024, 2022, [2024, 2023, 2022], 2022),
    (2022, None, [2024, 2023, 2022], None),  # no earlier year with data
    (2024, 2024, [2024, 2023], 2023),  # comparing a year with itself means the default
    (None, None, [], None),
])
def test_resolve_compare_year(year, chosen, years, expected):
    assert links.resolve_compare_year(year, chosen, years) == expected


def test_delta_text():
    assert links.delta_text(0.9688, 0.9557, percent=True) == "+1.31 个百分点"
    assert links.delta_text(30, 31, digits=0) == "-1"
    assert links.delta_text(93.37, 92.79) == "+0.58"
    assert links.delta_text(1.0, None) is None


lost_points = st.lists(st.builds(
    lambda kind, cat, lost: LostPoint(kind, None if kind == "execution" else cat, 1, "目标",
                                      "指标", 10.0, 10.0 - lost, lost, "positive", ""),
    st.sampled_from(["execution", "indicator"]), st.sampled_from(["产出", "效益", "满意度"]),
    st.floats(0, 10)), max_size=20)


@given(lost_points)
def test_waterfall_steps_add_up(points):
    max_score = 100.0
    total = max_score - sum(p.lost for p in points)
    steps = waterfall_steps(max_score, total, points)
    assert steps["measure"].iloc[0] == "absolute" and steps["measure"].iloc[-1] == "total"
    assert (steps["value"].iloc[1:-1] <= 0).all()
    assert steps["value"].iloc[:-1].sum() == pytest.approx(steps["value"].iloc[-1], abs=1e-6)
    assert steps["step"].is_unique


def test_excel_download_filters_sheet_numbers_and_no_formulas():
    df = pd.DataFrame({"department": ["=1+1", "+SUM(A1)", "-2", "@cmd", "普通部门"],
                       "exec_rate": [0.95, 0.8, None, 1.0, 0.5],
                       "unmet": pd.array([1, 2, 3, 4, 5], dtype="int64"),
                       "hidden": ["x"] * 5})
    f = Filters(year=2024, compare_year=2023, region="云溪区", departments=("甲", "乙"))
    data = excel_bytes(df, labels={"department": "部门", "exec_rate": "执行率", "unmet": "未完成"},
                       filters=f.describe())
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["筛选条件", "数据"]
    cond = {r[0]: r[1] for r in wb["筛选条件"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert cond["年度"] == "2024" and cond["区域"] == "云溪区" and cond["部门"] == "甲、乙"
    ws = wb["数据"]
    assert [c.value for c in ws[1]] == ["部门", "执行率", "未完成"]  # hidden column left out
    assert ws.freeze_panes == "A2"
    for row, text in enumerate(["=1+1", "+SUM(A1)", "-2", "@cmd"], 2):
        cell = ws.cell(row, 1)
        assert cell.value == text and cell.data_type == "s"  # text, never a formula
    assert ws.cell(2, 2).value == pytest.approx(0.95) and ws.cell(2, 2).data_type == "n"
    assert ws.cell(2, 2).number_format == "0.00%"
    assert ws.cell(4, 2).value is None  # missing stays empty
    assert ws.cell(6, 3).value == 5 and ws.cell(6, 3).data_type == "n"
