"""The annual summary: every figure equals the dashboard's query for the same filters."""

from __future__ import annotations

import io
import re

import docx
import pdfplumber
import pytest

from perfeval import queries, rules
from perfeval.audit import AuditSettings, audit_overview, rectification, rectification_counts
from perfeval.cli import main
from perfeval.coverage import coverage
from perfeval.demo import build_demo
from perfeval.queries import Filters
from perfeval.reports import render, summary_report
from perfeval.scoring import ensure_scores
from perfeval.store import Store

from .conftest import small_evaluation

YEAR = 2024


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("summary") / "demo.duckdb"
    s = Store(path)
    build_demo(s)
    ensure_scores(s)
    yield s
    s.close()


def _tables(data: bytes) -> dict[str, list[list[str]]]:
    """The docx's tables by their header row (first table of each header wins)."""
    d = docx.Document(io.BytesIO(data))
    out = {}
    for t in d.tables:
        rows = [[c.text for c in r.cells] for r in t.rows]
        out.setdefault(" | ".join(rows[0]), rows[1:])
    return out


def _paras(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def _f(text: str) -> float | None:
    text = text.replace(",", "")
    if text in ("", "—"):
        return None
    return float(text.rstrip("%")) / (100 if text.endswith("%") else 1)


def _close(a: float | None, b, digits: int = 2) -> bool:
    if a is None or b is None or b != b:
        return a is None and (b is None or b != b)
    return abs(a - float(b)) <= 0.6 * 10 ** -digits


@pytest.fixture(scope="module", params=[Filters(year=YEAR), Filters(year=YEAR, region="云溪区")],
                ids=["all", "region"])
def report(request, demo):
    f = request.param
    return f, render(summary_report(demo, f, None), ".docx")


def test_scores_table_equals_department_scores(demo, report):
    f, data = report
    rows = _tables(data)["序号 | 部门 | 类别 | 计算得分 | 自评得分 | 差额 | 等级 | 预算执行率 | 未完成指标"]
    want = queries.department_scores(demo, f, None, order="low")
    assert len(rows) == len(want) > 0
    for row, r in zip(rows, want.itertuples(), strict=True):
        assert row[1] == r.department
        assert _close(_f(row[3]), r.total) and _close(_f(row[4]), r.self_score)
        assert _close(_f(row[5]), r.gap) and row[6] == (r.grade or "")
        assert _close(_f(row[7]), r.exec_rate, 4) and int(row[8]) == r.unmet


def test_grades_budget_and_kpis_equal_overview(demo, report):
    f, data = report
    k = queries.kpis(demo, f, None)[YEAR]
    grades = {r[0]: int(r[2]) for r in _tables(data)["等级 | 分数段 | 评价数 | 占比"]}
    assert grades == k["grades"]
    text = _paras(data)
    assert f"平均计算得分 {k['avg_total']:.2f}".rstrip("0").rstrip(".") in text
    budget = re.search(r"全年预算数合计 ([\d,.]+) 万元，全年执行数合计 ([\d,.]+) 万元，预算执行率 ([\d.]+%)",
                       text)
    assert _close(_f(budget.group(1)), k["budget"]) and _close(_f(budget.group(2)), k["executed"])
    assert _close(_f(budget.group(3)), k["exec_rate"], 4)
    low = _tables(data).get("序号 | 部门 | 全年预算数（万元） | 全年执行数（万元） | 执行率 | 原因", [])
    b = queries.budget_by_department(demo, f, None, order="exec_low")
    want = b[b["exec_rate"] < rules.LOW_EXEC_RATE]
    assert [r[1] for r in low] == list(want["department"])
    assert [r[5] for r in low] == [x if isinstance(x, str) else "未说明原因" for x in want["reason"]]


def test_coverage_unmet_rectification_trend_equal_queries(demo, report):
    f, data = report
    text = _paras(data)
    tables = _tables(data)
    cov = coverage(demo, f, None)
    assert tables["应参评单位 | 已提交 | 未提交 | 覆盖率"][0][:3] == [
        str(len(cov.expected)), str(len(cov.submitted)), str(len(cov.missing))]
    _, total = queries.unmet_indicators(demo, f, None, limit=1)
    assert f"按评分规则判定未完成的指标共 {total:,} 个" in text
    unmet, _ = queries.unmet_indicators(demo, f, None, order="shortfall", limit=100)
    rows = tables["序号 | 部门 | 年度目标 | 指标 | 目标值 | 实际值 | 差距 | 未完成原因 | 连续未完成年数"]
    assert [(r[1], r[3], int(r[8])) for r in rows] == \
        list(zip(unmet["department"], unmet["indicator"], unmet["streak"], strict=True))
    settings = AuditSettings(scheme=f.scheme)
    rect = rectification(demo, settings, YEAR - 1, None, None, region=f.region, scope=f.scope)
    counts = {r[0]: int(r[1].replace(",", "")) for r in tables["整改情况 | 指标数"]}
    assert counts == dict(zip(*rectification_counts(rect).T.values, strict=True))
    a = audit_overview(demo, settings, YEAR, None, None, limit=1, region=f.region, scope=f.scope)
    by_code = {r[0]: int(r[2].replace(",", "")) for r in tables["检查项 | 级别 | 条数"]}
    assert by_code == dict(zip(a.by_code["title"], a.by_code["count"], strict=True))
    trend = queries.trends(demo, f, None)
    rows = tables["年度 | 平均计算得分 | 平均自评得分 | 预算执行率 | 未完成指标数"]
    assert [int(r[0]) for r in rows] == list(trend["year"])
    for row, t in zip(rows, trend.itertuples(), strict=True):
        assert _close(_f(row[1]), t.total) and _close(_f(row[3]), t.exec_rate, 4)


def test_first_page_charts_and_pdf(demo, report):
    f, data = report
    d = docx.Document(io.BytesIO(data))
    assert len(d.inline_shapes) == 4  # ranking, execution vs score, grades, trend
    first = _tables(data)["项目 | 内容"]
    assert ["区域", f.region or "全部"] in first and ["年度", str(YEAR)] in first
    assert any(r[0] == "数据来源" and r[1].endswith("demo.duckdb") for r in first)
    pdf = render(summary_report(demo, f, None), ".pdf")
    with pdfplumber.open(io.BytesIO(pdf)) as p:
        pages = [pg.extract_text() or "" for pg in p.pages]
        images = sum(len(pg.images) for pg in p.pages)
    assert images == 4
    assert "筛选条件与数据来源" in pages[0] and "第 1 页" in pages[0]
    assert all(f"第 {n} 页" in pg for n, pg in enumerate(pages, 1))


def test_a_missing_unit_is_in_the_summary(tmp_path, capsys):
    db = tmp_path / "m.duckdb"
    with Store(db) as s:
        for name, year in [("甲街道", 2021), ("乙街道", 2021), ("甲街道", 2022)]:
            s.write([small_evaluation(name, year)])
    out = tmp_path / "s.docx"
    assert main(["--db", str(db), "report", "summary", "--year", "2022", str(out)]) == 0
    data = out.read_bytes()
    assert _tables(data)["序号 | 单位 | 主管部门"] == [["1", "乙街道", ""]]
    assert "应参评单位 2 个（依据：上一年度参评单位），已提交自评 1 个，未提交 1 个，覆盖率 50%" \
        in _paras(data)
