"""Dashboard pages (AppTest) on a small demo database: the figures shown equal
what the core computes, URL parameters change what is shown, and an empty
database gives a message, not an exception."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from perfeval import queries
from perfeval.demo import build_demo
from perfeval.scoring import current_scores, ensure_scores, explain_stored
from perfeval.store import Store
from tests.conftest import figures, tables

ROOT = Path(__file__).parent.parent
APP = str(ROOT / "app.py")
PAGES = ["overview", "budget", "unmet", "trends", "profile"]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "demo.duckdb"
    with Store(path) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
        scores = current_scores(s)
        totals = s.query_df("""
            SELECT e.year, sum(b.budget) AS budget, sum(b.executed) AS executed
            FROM cur_evaluations e JOIN budget_lines b USING (eval_id)
            WHERE b.line = 'total' GROUP BY e.year""").set_index("year")
    return path, scores, totals


def run(monkeypatch, path, page: str = "app", **params) -> AppTest:
    """``app``: the entry point (sidebar filters bound to the URL, then 总览).
    A page name: that page on its own, reading the filters from the URL
    (AppTest runs a ``pages/`` file directly, not through st.navigation)."""
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    st.cache_data.clear()
    script = APP if page == "app" else str(ROOT / "pages" / f"{page}.py")
    at = AppTest.from_file(script, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def values(arr) -> list:
    """A plotly array from a figure's JSON (plain list or base64 typed array)."""
    if isinstance(arr, dict) and "bdata" in arr:
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"]).tolist()
    return list(arr)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_kpis_equal_core(monkeypatch, demo_db):
    path, scores, totals = demo_db
    at = run(monkeypatch, path)
    m = metrics(at)
    s = scores[scores["year"] == 2024]
    assert m["参评部门"] == f"{len(s)} 个"
    assert m["平均计算得分"] == f"{s['total'].mean():,.2f} 分"
    assert m["平均自评得分"] == f"{s['self_score'].mean():,.2f} 分"
    assert m["未完成指标"] == f"{int(s['unmet_count'].sum()):,} 个"
    assert m["全年预算数（万元）"] == f"{totals.loc[2024, 'budget']:,.0f}"
    rate = totals.loc[2024, "executed"] / totals.loc[2024, "budget"]
    assert m["预算执行率"] == f"{rate * 100:.2f}%"
    grades = s["grade"].value_counts()
    assert m["等级分布（优/良/中/差）"] == " / ".join(str(grades.get(g, 0)) for g in "优良中差")
    # The change is against 2023 (the default comparison year).
    prev = scores[scores["year"] == 2023]
    delta = {x.label: x.delta for x in at.metric}["平均计算得分"]
    assert delta == f"{s['total'].mean() - prev['total'].mean():+,.2f}"
    assert any("演示数据" in md.value for md in at.markdown)  # st.badge is markdown


def test_overview_year_from_url(monkeypatch, demo_db):
    path, scores, _ = demo_db
    at = run(monkeypatch, path, year="2021", cmp="2019")
    s = scores[scores["year"] == 2021]
    assert metrics(at)["平均计算得分"] == f"{s['total'].mean():,.2f} 分"
    assert at.selectbox(key="year").value == 2021
    assert "对比 2019 年度" in at.caption[0].value


def test_overview_region_and_department_from_url(monkeypatch, demo_db):
    path, scores, _ = demo_db
    region = sorted(scores["region"].unique())[0]
    at = run(monkeypatch, path, region=region)
    n = scores[(scores["year"] == 2024) & (scores["region"] == region)]["department"].nunique()
    assert metrics(at)["参评部门"] == f"{n} 个"
    depts = sorted(scores["department"].unique())[:2]
    at = run(monkeypatch, path, departments=depts)
    assert metrics(at)["参评部门"] == "2 个"
    assert at.multiselect(key="departments").value == depts


def test_unmet_rows_equal_core(monkeypatch, demo_db):
    path, _, _ = demo_db
    at = run(monkeypatch, path, "unmet", year="2023")
    with Store(path) as s:
        expected = s.query_df("""
            SELECT e.department, i.name FROM cur_evaluations e
            JOIN indicators i USING (eval_id) JOIN indicator_scores x USING (ind_id)
            WHERE e.year = 2023 AND NOT x.met_computed""")
    assert metrics(at)["未完成指标"] == f"{len(expected):,} 个"
    shown = at.dataframe[0].value
    assert len(shown) == min(len(expected), 500)
    assert shown["year"].eq(2023).all()
    pairs = set(zip(expected["department"], expected["name"], strict=True))
    assert set(zip(shown["department"], shown["indicator"], strict=True)) <= pairs
    assert shown["shortfall"].dropna().is_monotonic_decreasing  # default order
    # Filter by 一级指标 and keyword.
    at.segmented_control(key="unmet_cat").set_value("满意度").run()
    assert at.dataframe[0].value["category"].eq("满意度").all()
    at.text_input(key="unmet_kw").input("居民满意度").run()
    assert at.dataframe[0].value["indicator"].eq("居民满意度").all()
    assert at.download_button


def test_budget_page_figures(monkeypatch, demo_db):
    path, _, totals = demo_db
    at = run(monkeypatch, path, "budget")
    rate = totals.loc[2024, "executed"] / totals.loc[2024, "budget"]
    assert metrics(at)["总预算执行率"] == f"{rate * 100:.2f}%"
    table = at.dataframe[0].value
    low = table[table["exec_rate"] < 0.9]
    assert low["status"].eq("低于 90%").all()
    assert table.loc[table["exec_rate"] >= 0.9, "status"].eq("正常").all()
    assert table["exec_rate"].is_monotonic_increasing


def test_trends_page_with_departments(monkeypatch, demo_db):
    path, scores, _ = demo_db
    depts = sorted(scores["department"].unique())[:2]
    at = run(monkeypatch, path, "trends", departments=depts)
    fig = figures(at)[0]
    assert {t.name for t in fig.data} == set(depts)
    yoy = at.dataframe[0].value.set_index("department")
    s = scores.set_index(["department", "year"])
    d = depts[0]
    assert yoy.loc[d, "total_delta"] == pytest.approx(s.loc[(d, 2024), "total"]
                                                      - s.loc[(d, 2023), "total"])


def test_profile_waterfall_total_equals_score(monkeypatch, demo_db):
    path, scores, _ = demo_db
    dept = sorted(scores["department"].unique())[3]
    at = run(monkeypatch, path, "profile", dept=dept, year="2022")
    row = scores[(scores["department"] == dept) & (scores["year"] == 2022)].iloc[0]
    assert metrics(at)["计算得分"] == f"{row['total']:,.2f}"
    assert at.subheader[0].value.startswith(f"{dept} · 2022")
    wf = next(f for f in figures(at) if f.layout.title.text == "失分去向（分）").data[0]
    y = values(wf.customdata)  # each step's value; the bars float on the running total
    base, height = values(wf.base), values(wf.y)
    assert base[-1] == 0 and height[-1] == pytest.approx(row["total"]) == pytest.approx(y[-1])
    assert base[0] == 0 and height[0] == pytest.approx(y[0])
    with Store(path) as s:
        es, lost = explain_stored(s, int(row["eval_id"]))
    assert y[0] + sum(y[1:-1]) == pytest.approx(row["total"])
    assert sum(y[1:-1]) == pytest.approx(-sum(p.lost for p in lost))
    assert not at.dataframe  # every table of the page is a plain one
    shown = {t["headers"][0]: t for t in tables(at) if t["box"] == "pe-table-box"}
    assert len(shown["序号"]["rows"]) == int(row["indicator_count"])  # 年度目标与绩效指标
    assert [r[-1] for r in shown["部分"]["rows"]] == [p.reason for p in lost]  # 失分明细
    assert not shown["部分"]["clickable"]
    with Store(path) as s:
        total = s.query_df("SELECT budget FROM budget_lines WHERE eval_id = ? AND line = 'total'",
                           [int(row["eval_id"])])["budget"].iloc[0]
    assert shown["预算"]["rows"][0][:2] == ["总预算", f"{total:,.2f}"]


def test_profile_defaults_to_lowest_score(monkeypatch, demo_db):
    path, scores, _ = demo_db
    at = run(monkeypatch, path, "profile")
    s = scores[scores["year"] == 2024].sort_values("total").iloc[0]
    assert s["department"] in at.caption[1].value
    assert metrics(at)["计算得分"] == f"{s['total']:,.2f}"


def test_profile_department_picker_finds_beyond_the_cap(monkeypatch, demo_db):
    """With more departments than a picker sends, 查找部门 narrows the list on
    the server, the URL's department stays an option, and a choice opens it."""
    from perfeval.ui import links

    path, scores, _ = demo_db
    monkeypatch.setattr(links, "DEPARTMENT_OPTIONS", 3)
    names = sorted(scores["department"].unique())
    wanted = names[-1]
    at = run(monkeypatch, path, "profile", dept=names[0])
    box = at.selectbox(key=links.PROFILE_KEY)
    assert len(box.options) == 3 and box.value == names[0]
    assert any(f"列出 3 个（找到 {len(names)} 个）" in c.value for c in at.caption)
    at.text_input(key="profile_find").input(wanted).run()
    box = at.selectbox(key=links.PROFILE_KEY)
    assert wanted in box.options and names[0] in box.options and len(box.options) <= 3
    box.select(wanted).run()
    assert not at.exception
    assert at.query_params["dept"] == wanted
    assert wanted in at.subheader[0].value


@pytest.mark.parametrize("page", PAGES)
def test_each_page_runs_alone(monkeypatch, demo_db, page):
    path, _, _ = demo_db
    at = run(monkeypatch, path, page)
    assert at.title[0].value
    # A missing number shows as "—", never the grid's English "None".
    assert all(d.proto.placeholder == "—" for d in at.dataframe), page


@pytest.mark.parametrize("page", ["app", *PAGES])
def test_empty_database_shows_a_message(monkeypatch, tmp_path, page):
    path = tmp_path / "empty.duckdb"
    Store(path).close()
    at = run(monkeypatch, path, page)
    assert any("还没有评价数据" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_filters_with_no_rows_show_a_message(monkeypatch, demo_db, page):
    path, scores, _ = demo_db
    region = sorted(scores["region"].unique())[0]
    # A department of one region with the other region selected: nothing matches.
    other = sorted(scores["region"].unique())[1]
    dept = scores[scores["region"] == region]["department"].iloc[0]
    at = run(monkeypatch, path, page, region=other, departments=[dept])
    assert any("没有评价" in i.value for i in at.info)


def test_queries_module_is_the_source(demo_db):
    """The pages draw what queries return: a spot check that the KPI query and
    the scores table agree for every year."""
    path, scores, _ = demo_db
    with Store(path) as s:
        k = queries.kpis(s, queries.Filters(year=2020, compare_year=2019), None)
    for y in (2019, 2020):
        assert k[y]["avg_total"] == pytest.approx(scores[scores["year"] == y]["total"].mean())


@pytest.fixture
def mixed_db(tmp_path):
    """The demo set plus one real evaluation imported by a user."""
    from tests.conftest import small_evaluation

    path = tmp_path / "mixed.duckdb"
    with Store(path) as s:
        build_demo(s, with_sample=False)
        s.write([small_evaluation("真实街道办事处", 2023)], imported_by="录入员甲")
        ensure_scores(s)
    return path


def _badge(at: AppTest) -> bool:
    return any("演示数据" in md.value for md in at.markdown)


def test_real_data_leaves_demo_rows_out_by_default(monkeypatch, mixed_db):
    at = run(monkeypatch, mixed_db)
    assert metrics(at)["参评部门"] == "1 个"  # only the real one, in its (latest) year
    assert not _badge(at)
    switch = at.toggle(key="demo")
    assert switch.label == "含演示数据" and switch.value is False
    # AppTest reruns a page without the entry point: the switch's effect is
    # checked through its URL parameter, which the switch writes.
    at = run(monkeypatch, mixed_db, demo="1", year="2023")
    assert at.toggle(key="demo").value is True
    assert metrics(at)["参评部门"] == "31 个" and _badge(at)  # 2023: 30 demo + 1 real


def test_demo_switch_comes_from_the_url(monkeypatch, mixed_db):
    at = run(monkeypatch, mixed_db, demo="1", year="2024")
    assert at.toggle(key="demo").value is True
    assert metrics(at)["参评部门"] == "30 个" and _badge(at)


def test_demo_only_database_shows_demo_without_a_switch(monkeypatch, demo_db):
    path, _, _ = demo_db
    at = run(monkeypatch, path)
    assert not [t for t in at.toggle if t.key == "demo"]
    assert _badge(at)


def test_sample_report_is_not_demo_data(tmp_path):
    path = tmp_path / "sample.duckdb"
    with Store(path) as s:
        build_demo(s)
        ensure_scores(s)
        f = queries.Filters(year=2022, departments=("武汉市硚口区人民政府荣华街道办事处",))
        assert not queries.has_demo(s, f, None)
        assert not queries.has_real_data(s)  # loaded by `perfeval demo`: no real import yet


def test_unknown_department_in_the_url(monkeypatch, demo_db):
    path, _, _ = demo_db
    at = run(monkeypatch, path, "profile", dept="没有这个部门")
    assert any("未找到或无权查看" in w.value for w in at.warning)


def test_forbidden_department_in_the_url(monkeypatch, demo_db):
    path, scores, _ = demo_db
    own, other = sorted(scores["department"].unique())[:2]
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / "profile.py"), default_timeout=60)
    at.session_state["allowed_departments"] = [own]
    at.session_state["auth_user"] = {"name": "甲", "role": "查看者", "departments": [own]}
    at.session_state["auth_last_active"] = __import__("time").time()
    at.query_params["dept"] = other
    with Store(path) as s:
        from perfeval import users
        users.add_user(s, "甲", "Password-2024", users.VIEWER, [own], actor=None)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("未找到或无权查看" in w.value for w in at.warning)
    assert own in at.subheader[0].value


def test_year_not_in_the_data_says_so(monkeypatch, demo_db):
    path, _, _ = demo_db
    at = run(monkeypatch, path, year="1999")
    assert any("没有1999 年度" in w.value or "1999 年度" in w.value for w in at.warning)
    assert "2024 年度" in at.caption[0].value


def test_no_previous_year(monkeypatch, demo_db):
    path, _, _ = demo_db
    at = run(monkeypatch, path, "trends", year="2019")
    assert "无上年数据" in at.caption[0].value
    assert any("无上年数据" in i.value for i in at.info)


def test_self_score_gap_table_lists_only_positive_gaps(monkeypatch, demo_db):
    """总览's 自评分虚高 list: the largest positive gaps of the year, as text."""
    path, _, _ = demo_db
    at = run(monkeypatch, path)
    [gaps] = [t for t in tables(at) if "差额" in t["headers"]]
    assert gaps["headers"] == ["部门", "自评得分", "计算得分", "差额"]
    assert gaps["clickable"] and gaps["box"] == "pe-table-box"
    with Store(path) as s:
        want = queries.department_scores(s, queries.Filters(year=2024), None, order="gap",
                                         limit=5)
    want = want[want["gap"] > 0]
    assert [r[0] for r in gaps["rows"]] == want["department"].tolist()
    assert [r[3] for r in gaps["rows"]] == [f"{g:+.2f}" for g in want["gap"]]
    assert all(float(r[3]) > 0 for r in gaps["rows"])


def test_overview_has_no_data_grid(monkeypatch, demo_db):
    """Its two short lists are plain tables (a grid costs a new session 0.3 s or
    more); the latest unmet targets list the ten of the year with their shortfall."""
    path, _, _ = demo_db
    at = run(monkeypatch, path)
    assert not at.dataframe
    [unmet] = [t for t in tables(at) if "差距" in t["headers"]]
    # key columns first (a phone scrolls the rest)
    assert unmet["headers"][:5] == ["部门", "指标", "目标值", "实际值", "差距"]
    assert len(unmet["rows"]) == 10 and unmet["numeric"][4]
    assert all(r[4].endswith("%") for r in unmet["rows"])


def test_filters_write_the_url_once_each(monkeypatch, demo_db):
    """Defaults leave the URL; a repeated parameter is written once."""
    path, scores, _ = demo_db
    region = sorted(scores["region"].unique())[0]
    at = run(monkeypatch, path, year=["2022", "2022"], region=[region, region], cmp="2024")
    def every(key):
        v = at.query_params[key]
        return v if isinstance(v, list) else [v]

    assert every("year") == ["2022"] and every("region") == [region]
    at = run(monkeypatch, path, year="2024")  # the default year
    assert "year" not in at.query_params
