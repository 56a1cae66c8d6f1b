"""A unit's 自评结果 written from the store, read back by the report parser."""

from __future__ import annotations

import io
from pathlib import Path

import pdfplumber
import pytest

from perfeval.audit import audit_store
from perfeval.cli import main
from perfeval.demo import generate
from perfeval.ingest.report import read_report
from perfeval.reports import render, unit_report
from perfeval.scoring import score_evaluation
from perfeval.store import Store

SAMPLE = Path(__file__).parent / "fixtures" / "reports" / "ronghua-2022.txt"
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("unit") / "u.duckdb")
    s.write([read_report(SAMPLE)])
    yield s
    s.close()


@pytest.fixture(scope="module")
def sample_doc(sample_store):
    return unit_report(sample_store, RONGHUA, 2022)


def _facts(ev):
    return {
        "dept": ev.department.name, "year": ev.year, "scope": ev.scope,
        "self_score": ev.self_score,
        "budget": sorted((b.line, b.budget, b.executed) for b in ev.budget),
        "goals": [(g.no, g.name) for g in ev.goals],
        "indicators": [(g.no, i.category, i.name, i.target, i.actual, i.met)
                       for g, i in ev.indicators],
        "problems": ev.problems, "measures": ev.measures, "result_use": ev.result_use,
        "schedule": [(p.name, p.start, p.end) for p in ev.schedule],
    }


@pytest.mark.parametrize("fmt", [".docx", ".pdf"])
def test_sample_round_trip(sample_store, sample_doc, fmt):
    data = render(sample_doc, fmt)
    back = read_report(f"ronghua{fmt}", data)
    stored = sample_store.load(sample_store.current_eval_id(RONGHUA, 2022))
    # The figures the issue names …
    assert back.self_score == 98
    assert [(b.line, b.budget, b.executed) for b in back.budget][0] == ("total", 5431.28, 5431.28)
    assert len(back.goals) == 12
    assert len(back.indicators) == 39
    assert [(i.name, i.target, i.actual) for _, i in back.indicators if i.met is False] == [
        ("信访积案化解率", "100%", "30%"), ("消防隐患整治率 99%", "99%", "70%")]
    # … and everything else the parser reads comes back as stored.
    assert _facts(back) == _facts(stored)


def test_sample_layout_and_scores(sample_store, sample_doc):
    text = sample_doc.text()
    headings = ["一、自评结论", "（一）部门整体绩效自评得分", "（二）部门整体绩效目标完成情况",
                "1.执行率情况", "2.完成的绩效目标", "3.未完成的绩效目标", "（三）存在的问题和原因",
                "（四）下一步改进措施", "二、佐证材料", "（一）基本情况", "（二）部门自评工作开展情况",
                "（三）绩效目标完成情况分析", "目标 4：（1）产出指标完成情况分析",
                "（2）效益指标完成情况分析", "（四）上年度部门整体部门自评结果应用情况", "三、复核意见"]
    lines = text.splitlines()
    at = -1
    for h in headings:  # each heading after the one before, as in the sample
        at = lines.index(h, at + 1)
    ev = sample_store.load(sample_store.current_eval_id(RONGHUA, 2022))
    es = score_evaluation(ev)
    assert f"计算得分为 {es.total:.2f} 分，等级为“{es.grade}”" in text
    assert "“信访积案化解率”（基层公共安全经费，产出指标）：年初目标值 100%，实际完成值 30%" in text
    # Every finding of the audit is in 复核意见, in Chinese, with its severity.
    findings = audit_store(sample_store, eval_ids=[sample_store.current_eval_id(RONGHUA, 2022)])
    assert len(findings) > 0
    review = text[text.index("三、复核意见"):]
    assert f"共 {len(findings)} 条" in review
    for r in findings.itertuples():
        assert f"【{r.severity}】" in review and r.message in review


def test_pdf_has_page_numbers_and_chinese_text(sample_doc):
    data = render(sample_doc, ".pdf")
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
    assert len(pages) > 3
    for n, page in enumerate(pages, 1):
        assert f"第 {n} 页" in page
    assert "绩效自评得分 98分" in pages[0]


def test_generated_units_round_trip(tmp_path):
    """Demo evaluations (≥/≤ targets, units, unmet with reasons) survive the round trip."""
    frames = generate(3, years=[2023], seed=7)
    # The parser takes a unit's name only when it ends like one (…办事处, …局), not （演示）.
    frames.evaluations["department"] = frames.evaluations["department"].str.replace("（演示）", "")
    with Store(tmp_path / "d.duckdb") as s:
        s.write(frames)
        names = s.query_df("SELECT department FROM cur_evaluations ORDER BY 1")["department"]
        for name in names:
            stored = s.load(s.current_eval_id(name, 2023))
            back = read_report("x.docx", render(unit_report(s, name, 2023), ".docx"))
            got, want = _facts(back), _facts(stored)
            assert got["self_score"] == want["self_score"]
            assert got["budget"] == want["budget"]
            assert got["goals"] == want["goals"]
            # grouped by 一级指标 in the report, so compared without order
            assert sorted(x[:4] + (x[5],) for x in got["indicators"]) == \
                sorted(x[:4] + (x[5],) for x in want["indicators"])
            assert got["problems"] == want["problems"]
            assert got["measures"] == want["measures"]


def test_cli_writes_both_formats(tmp_path, capsys):
    db = tmp_path / "c.duckdb"
    with Store(db) as s:
        s.write([read_report(SAMPLE)])
    for fmt in ("docx", "pdf"):
        out = tmp_path / f"r.{fmt}"
        assert main(["--db", str(db), "report", "unit", "--dept", RONGHUA, "--year", "2022",
                     str(out)]) == 0
        assert read_report(out).self_score == 98
    assert main(["--db", str(db), "report", "unit", "--dept", "不存在的单位", "--year", "2022",
                 str(tmp_path / "x.docx")]) == 2
    assert "找不到 不存在的单位 2022 年度" in capsys.readouterr().err
    assert main(["--db", str(db), "report", "unit", "--dept", RONGHUA, "--year", "2022",
                 str(tmp_path / "x.txt")]) == 2
    assert "扩展名应为 .docx 或 .pdf" in capsys.readouterr().err
