"""下载自评报告 (部门画像), 下载汇总报告 (总览) and 报送情况 (数据管理), through AppTest."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from perfeval import queries
from perfeval.ingest.report import read_report
from perfeval.queries import Filters
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from perfeval.ui import auth

from .conftest import small_evaluation

ROOT = Path(__file__).parent.parent
SAMPLE = Path(__file__).parent / "fixtures" / "reports" / "ronghua-2022.txt"
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"


def _run(monkeypatch, path, page: str, **params) -> AppTest:
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("rpages") / "r.duckdb"
    with Store(path) as s:
        # 乙街道 evaluated 2021 and not 2022: missing on every page and in the summary.
        s.write([small_evaluation("甲街道", 2021), small_evaluation("乙街道", 2021),
                 small_evaluation("甲街道", 2022), read_report(SAMPLE)])
        ensure_scores(s)
    return path


def test_profile_generates_the_unit_report_on_click(monkeypatch, db):
    at = _run(monkeypatch, db, "profile", year="2022", dept=RONGHUA)
    assert "report_unit" not in at.session_state  # nothing generated before the click
    _button(at, "生成自评报告").click().run()
    assert not at.exception
    _stamp, data = at.session_state["report_unit"]
    back = read_report("r.docx", data)
    assert (back.department.name, back.self_score, len(back.indicators)) == (RONGHUA, 98, 39)
    assert [i.name for _, i in back.indicators if i.met is False] == [
        "信访积案化解率", "消防隐患整治率 99%"]


def test_overview_generates_the_summary_for_the_filters(monkeypatch, db):
    at = _run(monkeypatch, db, "overview", year="2022")
    assert "report_summary" not in at.session_state
    _button(at, "生成汇总报告").click().run()
    assert not at.exception
    _stamp, data = at.session_state["report_summary"]
    d = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "未提交 1 个" in text
    missing = next(t for t in d.tables if t.rows[0].cells[1].text == "单位")
    assert [c.text for c in missing.rows[1].cells] == ["1", "乙街道", ""]
    k = queries.kpis(auth.get_store(), Filters(year=2022), None)[2022]  # the page's own store
    grades = next(t for t in d.tables if t.rows[0].cells[0].text == "等级")
    assert {r.cells[0].text: int(r.cells[2].text) for r in grades.rows[1:]} == k["grades"]


def test_data_page_lists_the_missing_unit(monkeypatch, db):
    at = _run(monkeypatch, db, "data")
    assert at.selectbox(key="cov_year").value == 2022
    m = {x.label: x.value for x in at.metric}
    assert (m["应参评单位"], m["已提交"], m["未提交"], m["覆盖率"]) == ("3 个", "2 个", "1 个", "66.7%")
    shown = at.dataframe[-1].value  # 报送情况 is the page's last part
    assert list(shown["单位"]) == ["乙街道"] and list(shown["状态"]) == ["未提交"]
