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


OPTIONS = {"years": [2024, 2023, 2022], "regions": ["东区", "西区"], "kinds": ["街道", "委局"],
           "departments": ["甲", "乙", "丙"], "scopes": ["部门整体", "项目"]}


def test_filter_values_take_the_url_and_fall_back_to_defaults():
    d = links.filter_defaults(OPTIONS)
    assert d == {"year": 2024, "cmp": None, "region": None, "kind": None, "departments": [],
                 "scope": "部门整体", "demo": True}
    v = links.filter_values({"year": ["2022"], "region": ["西区"], "departments": ["丙", "丁"],
                             "scope": ["项目"]}, OPTIONS, d)
    assert v == {"year": 2022, "cmp": None, "region": "西区", "kind": None,
                 "departments": ["丙"], "scope": "项目", "demo": True}
    # unknown values are the defaults; a year not in the data is the latest
    assert links.filter_values({"year": ["1999"], "kind": ["x"]}, OPTIONS, d) == d


def test_demo_is_a_choice_only_with_real_data():
    real = links.filter_defaults(OPTIONS, real_data=True)
    assert real["demo"] is False
    assert links.filter_values({"demo": ["1"]}, OPTIONS, real)["demo"] is True
    assert links.filter_values({}, OPTIONS, real)["demo"] is False
    demo_only = links.filter_defaults(OPTIONS)
    assert links.filter_values({"demo": ["0"]}, OPTIONS, demo_only)["demo"] is True


def test_url_params_leave_defaults_out_and_round_trip():
    d = links.filter_defaults(OPTIONS, real_data=True)
    assert links.url_params(d, d) == {}
    values = {**d, "year": 2023, "departments": ["甲", "乙"], "demo": True}
    params = links.url_params(values, d)
    assert params == {"year": "2023", "departments": ["甲", "乙"], "demo": "1"}
    as_url = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    assert links.filter_values(as_url, OPTIONS, d) == values


def test_same_params():
    assert links.same_params({"year": ["2023"]}, {"year": "2023"})
    assert links.same_params({"year": ["2023"], "region": []}, {"year": "2023"})
    assert not links.same_params({"year": ["2023", "2023"]}, {"year": "2023"})
    assert not links.same_params({}, {"year": "2023"})


def test_drill_down_target_url_holds_every_filter():
    params = links.profile_params({"year": "2023", "region": "西区", "departments": ["甲", "乙"],
                                   "demo": "1", "unmet_kw": "x"}, "乙")
    url = links.page_url(links.PROFILE_PAGE, params)
    assert url.startswith("profile?")
    from urllib.parse import parse_qs, urlsplit
    assert parse_qs(urlsplit(url).query) == {"year": ["2023"], "region": ["西区"],
                                             "departments": ["甲", "乙"], "demo": ["1"],
                                             "dept": ["乙"]}
    assert links.page_url("pages/unmet.py", {}) == "unmet"
    # text from data is percent-encoded: nothing of it can close the script
    assert "<" not in links.page_url(links.PROFILE_PAGE, {"dept": "</script>"})


def test_heatmap_cells_carry_their_department():
    from perfeval.ui import charts

    df = pd.DataFrame({"department": ["甲", "甲", "乙"], "year": [2023, 2024, 2024],
                       "exec_rate": [0.8, 0.95, 0.9]})
    fig = charts.exec_heatmap(df, "t")
    cells = fig.data[1]
    assert cells.type == "scatter" and len(cells.x) == 3
    for x, y, custom in zip(cells.x, cells.y, cells.customdata, strict=True):
        state = {"selection": {"points": [{"x": x, "y": y, "customdata": list(custom)}]}}
        assert links.department_from_chart(state) == y


def test_department_choices_keep_selected_and_cap_the_rest():
    names = [f"部门{i:04d}" for i in range(3000)]
    shown, found = links.department_choices(names, ["部门2999"], limit=100)
    assert len(shown) == 100 and found == 3000
    assert shown[0] == "部门0000" and shown[-1] == "部门2999"  # the order of names
    shown, found = links.department_choices(names, ["部门2999", "不存在"], "部门12", limit=5)
    # room for 3 after the 2 selected; a selected name not among the names is dropped
    assert shown == ["部门1200", "部门1201", "部门1202", "部门2999"]
    assert found == 100
    assert links.department_choices(names, [], " 部门0007 ") == (["部门0007"], 1)
    assert links.department_choices(names[:10], [], limit=100) == (names[:10], 10)


def test_plotly_bundle_matches_plotly_py_and_the_drawn_traces():
    """The bundle is the plotly.js the installed plotly.py writes figures for,
    with the trace types plot.BUNDLED_TRACES names (perfeval/ui/assets/README.md
    says how to update it), and its recorded checksum is its own."""
    import hashlib
    import re
    from pathlib import Path

    import plotly.offline

    from perfeval.ui import plot

    root = Path(__file__).resolve().parents[1]
    assets = root / "perfeval" / "ui" / "assets"
    bundle = (assets / "plotly-perfeval.min.js").read_bytes()
    version = re.search(rb"plotly\.js \(perfeval: [^)]*\) v(\S+)", bundle[:200]).group(1).decode()
    assert version == plotly.offline.get_plotlyjs_version()
    readme = (assets / "README.md").read_text(encoding="utf-8")
    assert f"plotly.js@{version}" in readme
    assert hashlib.sha256(bundle).hexdigest() in readme
    recipe = root / "tools" / "plotly-bundle"
    assert f'"plotly.js": "{version}"' in (recipe / "package.json").read_text(encoding="utf-8")
    registered = re.findall(r"require\('plotly\.js/lib/(\w+)'\)",
                            (recipe / "entry.js").read_text(encoding="utf-8"))
    assert set(registered) - {"core"} | {"scatter"} == plot.BUNDLED_TRACES  # the core brings scatter


def test_a_trace_outside_the_bundle_is_refused():
    import plotly.graph_objects as go

    from perfeval.ui import plot

    with pytest.raises(ValueError, match="pie"):
        plot.figure_data(go.Figure(go.Pie(values=[1, 2])))


def test_plain_table_cells_are_text_and_numbers_align_right():
    from perfeval.ui import tables

    df = pd.DataFrame({"department": ["甲局", "<b>乙</b>"], "n": [3, 1200],
                       "rate": [0.5, None], "ok": [True, False], "x": ["a", None]})
    got = tables.cells(df, {"department": "部门", "n": "个数", "rate": "执行率", "ok": "完成",
                            "missing": "不在数据中", "x": "备注"}, {"rate": tables.pct(1)})
    assert got["headers"] == ["部门", "个数", "执行率", "完成", "备注"]
    assert got["numeric"] == [False, True, True, False, False]
    assert got["rows"] == [["甲局", "3", "50.0%", "是", "a"],
                           ["<b>乙</b>", "1,200", "", "否", ""]]  # text as it is: never markup
