"""Narrative report parser: the sample exactly, the web copies honestly, any input safely."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from perfeval.cli import build_parser
from perfeval.ingest import textnorm
from perfeval.ingest.report import (
    ReportError,
    department_of,
    parse_text,
    read_report,
    summary,
    to_json_dict,
)
from perfeval.model import PerfevalError, sha256_bytes

REPORTS = Path(__file__).parent / "fixtures" / "reports"
SAMPLE = REPORTS / "ronghua-2022.txt"

GOAL_NAMES = [
    "街道运行管理经费", "基层群团综合事务经费", "基层党建综合事务经费", "基层公共安全经费",
    "社区工作者", "社区公共服务综合事务经费", "转业未安置志愿兵安置经费", "街道疫情防控经费",
    "计生事业费", "城管执法辅助人员", "环卫所清扫清运经费", "基层环境卫生治理经费",
]


@pytest.fixture(scope="module")
def sample():
    return read_report(SAMPLE)


@pytest.fixture(scope="module")
def sample_json(sample):
    return to_json_dict(sample)


# --------------------------------------------------------------------------
# the sample, exactly


def test_sample_header(sample):
    assert sample.department.name == "武汉市硚口区人民政府荣华街道办事处"
    assert sample.department.region == "硚口区"
    assert sample.department.kind == "街道"
    assert sample.year == 2022
    assert sample.scope == "部门整体"
    assert sample.project == ""
    assert sample.self_score == 98
    assert sample.source_name == "ronghua-2022.txt"
    assert sample.checksum == sha256_bytes(SAMPLE.read_bytes())


def test_sample_budget(sample_json):
    assert sample_json["budget"] == [
        {"line": "total", "budget": 5431.28, "executed": 5431.28},
        {"line": "basic", "budget": 2033.69, "executed": 2033.69},
        {"line": "project", "budget": 3397.59, "executed": 3397.59},
    ]


def test_sample_goals(sample):
    assert [g.no for g in sample.goals] == list(range(1, 13))
    assert [g.name for g in sample.goals] == GOAL_NAMES


def test_sample_indicator_counts(sample):
    inds = [i for _, i in sample.indicators]
    assert len(inds) == 39
    counts = {c: sum(i.category == c for i in inds) for c in ("产出", "效益", "满意度")}
    assert counts == {"产出": 29, "效益": 6, "满意度": 4}
    per_goal = [len(g.indicators) for g in sample.goals]
    assert per_goal == [4, 3, 5, 6, 1, 4, 2, 1, 3, 2, 3, 5]


def test_sample_exactly_two_unmet(sample):
    unmet = [(g.no, i) for g, i in sample.indicators if i.met is False]
    assert [(no, i.category, i.name, i.target, i.actual) for no, i in unmet] == [
        (4, "产出", "信访积案化解率", "100%", "30%"),
        (4, "效益", "消防隐患整治率 99%", "99%", "70%"),
    ]
    assert "信访积案化解率为 30%，未完成年初目标" in unmet[0][1].source_text
    # every other indicator is stated as met
    assert sum(i.met is True for _, i in sample.indicators) == 37


def test_sample_indicator_details(sample):
    by_goal = {g.no: g for g in sample.goals}
    first = by_goal[1].indicators[0]
    # a count in the name is the target; the sentence's count of the same unit the actual
    assert (first.name, first.target, first.actual) == ("完成立案 5 件", "5件", "5件")
    # 年初目标值 split over two lines in the source
    sat = by_goal[10].indicators[1]
    assert (sat.category, sat.name, sat.target, sat.actual) == (
        "满意度", "群众对城管协管员文明执法满意度", "100%", "100%")
    # no number in the sentence → no actual, nothing invented
    garbage = by_goal[11].indicators[0]
    assert (garbage.name, garbage.target, garbage.actual, garbage.met) == (
        "辖区无暴露垃圾", "96%", None, True)
    # the sentence follows the item without a full stop
    env = by_goal[11].indicators[2]
    assert (env.category, env.target, env.actual) == ("效益", "90%以上", "100%")
    # the sentence starts its own paragraph
    vet = by_goal[7].indicators[1]
    assert (vet.name, vet.actual, vet.met) == ("落实转业未安置志愿兵待遇", "100%", True)
    # goal 9 repeats 消防隐患整治率 99% under 满意度, met this time
    fire9 = by_goal[9].indicators[2]
    assert (fire9.category, fire9.target, fire9.actual, fire9.met) == ("满意度", "99%", "100%", True)
    qual = by_goal[6].indicators[3]
    assert (qual.name, qual.target, qual.actual) == ("老旧社区改造", "有效控制", None)


def test_sample_problems_measures_result_use(sample):
    assert len(sample.problems) == 3
    assert sample.problems[0].startswith("信访积案化解偏差大；消防隐患整改共有 2处未完成")
    assert sample.problems[1].startswith("绩效指标设置层面")
    assert sample.problems[2].startswith("绩效指标设置过于单一")
    assert [m[:12] for m in sample.measures] == [
        "持续完善预算绩效指标体系", "强化预算绩效管理，实时跟", "信访积案问题，涉及资金缺",
        "武汉市硚口区人民政府荣华",
    ]
    assert sample.measures[0].endswith("凸显项目特性。")
    assert len(sample.result_use) == 2
    assert sample.result_use[1] == "项目资金实行专款专用，严格管控，未出现项目之间调剂使用的现象。"


def test_sample_unmet_indicators_get_their_reasons(sample):
    unmet = {i.name: i.reason for _, i in sample.indicators if i.met is False}
    petition = unmet["信访积案化解率"]
    assert petition.startswith("信访积案化解偏差大")
    assert "改进措施：信访积案问题，涉及资金缺口过大" in petition
    assert "消防" not in petition
    fire = unmet["消防隐患整治率 99%"]
    assert fire.startswith("消防隐患整改共有 2处未完成，第 1处：因 2022年")
    assert "第 2 处：因居民业委会矛盾纠纷问题" in fire
    assert fire.endswith("改进措施：消防隐患整改问题，需加快实施进度。")
    assert "信访" not in fire
    # indicators that were met get no reason
    assert all(i.reason is None for _, i in sample.indicators if i.met is not False)


def test_sample_schedule(sample_json):
    assert sample_json["schedule"] == [
        {"name": "前期准备工作阶段", "start": "6月5日", "end": "6月9日"},
        {"name": "现场工作阶段", "start": "6月12日", "end": "6月16日"},
        {"name": "评价分析阶段", "start": "6月19日", "end": "6月30日"},
        {"name": "评价项目汇总阶段", "start": "7月3日", "end": "7月7日"},
        {"name": "提交报告阶段", "start": None, "end": "7月15日"},
    ]


def test_sample_unparsed_keeps_what_no_rule_reads(sample):
    assert "①围绕理论学习，全面开展宣传教育" in sample.unparsed
    assert "无。" in sample.unparsed
    assert any(u.startswith("2022年，荣华街工委") for u in sample.unparsed)
    text = "\n".join(sample.unparsed)
    # what was read is not repeated there
    assert "（年初目标值" not in text
    assert "5431.28" not in text


def test_sample_json_shape(sample_json):
    required = {"department", "year", "scope", "self_score", "budget", "goals", "problems",
                "measures", "unparsed"}
    assert required <= set(sample_json)
    assert {"parent", "self_grade", "warnings"} <= set(sample_json)
    assert set(sample_json["goals"][0]["indicators"][0]) == {
        "category", "name", "target", "actual", "met", "weight", "score", "reason"}
    assert sample_json["warnings"] == []  # nothing about the sample is uncertain
    json.dumps(sample_json, ensure_ascii=False)  # plain JSON types only


def test_sample_matches_the_reviewed_json(sample_json):
    # every indicator's target/actual/met as reviewed by hand against the text
    expected = json.loads((REPORTS / "expected" / "ronghua-2022.json").read_text("utf-8"))
    assert sample_json == expected


def test_normalisation_rejoins_the_sample():
    paras = [p.text for p in textnorm.paragraphs(textnorm.normalize_lines(SAMPLE.read_text("utf-8")))]
    assert "2022 年度武汉市硚口区人民政府荣华街道办事处部门整体绩效自评结果" in paras
    budget = next(p for p in paras if p.startswith("2022 年度部门整体支出总预算为"))
    assert "基本支出预算总额为 2033.69万元" in budget  # 基\n\n本支出, 2,033.69
    assert budget.endswith("资金执行率为100%。")  # across a page break


# --------------------------------------------------------------------------
# the same sample as .docx and .pdf


def _docx_bytes(paragraphs: list[str]) -> bytes:
    """Paragraphs in order; the goal list goes into a one-column table."""
    document = docx.Document()
    goals = [p for p in paragraphs if re.match(r"年度目标 \d+：", p)]
    for p in paragraphs:
        if p in goals:
            if p == goals[0]:
                table = document.add_table(rows=0, cols=1)
                for g in goals:
                    table.add_row().cells[0].text = g
            continue
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pdf_bytes(pages: list[list[str]]) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for lines in pages:
        c.setFont("STSong-Light", 12)
        for n, line in enumerate(lines):
            c.drawString(50, 800 - 20 * n, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def test_docx_with_wrapped_lines_parses_the_same(sample_json):
    # as a PDF→Word conversion leaves it: one paragraph per printed line
    lines = [ln for ln in SAMPLE.read_text("utf-8").splitlines() if ln.strip()]
    ev = read_report(Path("ronghua.docx"), _docx_bytes(lines))
    assert to_json_dict(ev) == sample_json
    # the goal list was read from table cells
    assert not any("年度目标 1" in u for u in ev.unparsed)


def test_docx_with_whole_paragraphs_parses_the_same(sample_json):
    paras = [p.text for p in textnorm.paragraphs(textnorm.normalize_lines(SAMPLE.read_text("utf-8")))]
    got = to_json_dict(read_report(Path("ronghua.docx"), _docx_bytes(paras)))
    assert got == sample_json


def test_pdf_parses_the_same(sample_json):
    # the source text's page breaks (three blank lines) become PDF pages
    raw = SAMPLE.read_text("utf-8")
    pages = [[ln for ln in page.splitlines() if ln.strip()] for page in raw.split("\n\n\n\n")]
    assert len(pages) == 11
    data = _pdf_bytes(pages)
    ev = read_report(Path("ronghua.pdf"), data)
    assert to_json_dict(ev) == sample_json
    assert ev.checksum == sha256_bytes(data)


# --------------------------------------------------------------------------
# the web copies from other provinces


def _read(name: str):
    return read_report(REPORTS / name)


def test_mouding_project_report():
    ev = _read("mouding-transport-2020.txt")
    assert (ev.department.name, ev.department.region, ev.department.kind) == (
        "牟定县交通运输局", "牟定县", "委局")
    assert (ev.year, ev.scope, ev.project) == (2020, "项目", "牟定县2020年第一批公路安全生命防护工程")
    assert ev.self_score is None
    assert to_json_dict(ev)["budget"] == [{"line": "total", "budget": 56.0, "executed": 54.6}]
    assert ev.goals == []
    # the indicator paragraphs have no 年初目标值: kept, not guessed at
    assert "7.服务对象满意度指标。项目区群众满意度≥95%。" in ev.unparsed
    assert any(u.startswith("首页 >> 部门信息公开") for u in ev.unparsed)


def test_nanxian_final_accounts():
    ev = _read("nanxian-cppcc-2021.txt")
    assert (ev.department.name, ev.department.region, ev.department.kind) == (
        "南县政协", "南县", "人大政协")
    assert (ev.year, ev.scope, ev.self_score) == (2021, "部门整体", None)
    # 决算 支出 is what was executed; 收入 is not a budget, 人员经费 not a line
    assert to_json_dict(ev)["budget"] == [
        {"line": "total", "budget": None, "executed": 799.12},
        {"line": "project", "budget": None, "executed": 286.83},
    ]
    assert any(u.startswith("2、支出：799.12万元。其中：人员经费支出") for u in ev.unparsed)
    assert any("委员活动经费36.3万元" in u for u in ev.unparsed)
    # page furniture is kept as text, not taken for the title
    assert any(u.startswith("您现在的位置： 首页 >") for u in ev.unparsed)
    assert any(u.startswith("【字体： 】") for u in ev.unparsed)


def test_zhuzhou_budget_income():
    ev = _read("zhuzhou-hetang-women-2022.txt")
    assert (ev.department.name, ev.department.region, ev.department.kind) == (
        "株洲市荷塘区妇女联合会", "荷塘区", "群团")
    assert (ev.year, ev.scope, ev.self_score) == (2022, "部门整体", None)
    total = ev.budget_line("total")
    assert (total.budget, total.initial, total.executed) == (69.06, 57.28, 76.36)
    assert to_json_dict(ev)["budget"][1:] == [
        {"line": "basic", "budget": None, "executed": 76.36},
        {"line": "project", "budget": None, "executed": 0.0},
    ]
    # 调整追加 is no budget line: the paragraph stays in unparsed
    assert "2022年预算收入69.06万元，其中年初预算57.28万元，调整追加11.78万元。其他资金来源21.31万元。" in ev.unparsed


def test_ezhou_flattened_form():
    ev = _read("ezhou-approval-2021-table.txt")
    assert (ev.department.name, ev.department.region, ev.department.kind) == (
        "鄂州市行政审批局", "鄂州市", "委局")
    assert (ev.year, ev.scope, ev.project, ev.self_score) == (2021, "项目", "市民中心运行维护费", None)
    total = ev.budget_line("total")
    assert (total.initial, total.budget, total.executed) == (150, 150, 125.25)
    fiscal = ev.budget_line("fiscal")
    assert (fiscal.budget, fiscal.executed) == (150, 125.25)
    assert ev.budget_line("carryover").budget == 0
    # the indicator rows of the form are left to the form reader, kept here as text
    assert any("大厅运行正常率 | 100% | 100%" in u for u in ev.unparsed)


def test_qingshen_flattened_form():
    ev = _read("qingshen-drc-2023-table.txt")
    assert (ev.department.name, ev.department.region) == ("青神县发展和改革局", "青神县")
    assert (ev.year, ev.scope, ev.project, ev.self_score) == (2023, "项目", "工资性支出", None)
    total = ev.budget_line("total")
    assert (total.initial, total.budget, total.executed) == (238.93, 251.89, 251.89)
    assert any("足额保障率（参保率）" in u for u in ev.unparsed)


@pytest.mark.parametrize("name", sorted(p.name for p in REPORTS.glob("*.txt")))
def test_every_fixture_reads_and_prints(name):
    ev = _read(name)
    assert ev.unparsed or name == "ronghua-2022.txt"
    text = summary(ev)
    assert ev.department.name in text


# --------------------------------------------------------------------------
# phrasing families (not one file's wording)

HEAD = "2021年度某某县财政局部门整体绩效自评报告\n"


@pytest.mark.parametrize(("sentence", "score"), [
    ("经综合评价，综合评分为97分。", 97),
    ("本单位自评得分96分，等级为优。", 96),
    ("部门整体绩效自评总分为 95.5 分。", 95.5),
    ("绩效自评得分：９３分。", 93),  # full-width digits
])
def test_self_score_phrasings(sentence, score):
    assert parse_text(HEAD + sentence).self_score == score


def test_self_score_from_a_form_total_row():
    text = HEAD + "一级指标 | 二级指标 | 三级指标 | 分值 | 得分 |\n合计 | 100 | 92.5 |\n"
    assert parse_text(text).self_score == 92.5
    assert parse_text(text.replace("92.5", "")).self_score is None


def test_partly_met_is_neither():
    text = HEAD + "（1）产出指标\n培训人次（年初目标值：100人次）。全年培训 90人次，基本完成年初目标。"
    [ind] = parse_text(text).goals[0].indicators
    assert (ind.actual, ind.met) == ("90人次", None)


def test_self_score_over_100_is_not_a_score():
    assert parse_text(HEAD + "综合评分为 300 分。").self_score is None


def test_budget_total_with_breakdown():
    ev = parse_text(HEAD + "2021年部门预算总金额为1,200.5万元，其中：基本支出800万元，项目支出400.5万元。"
                    "全年执行数1,150万元，执行率为95.79%。")
    assert ev.budget_line("total").budget == 1200.5
    assert ev.budget_line("total").executed == 1150
    assert ev.budget_line("basic").budget == 800
    assert ev.budget_line("project").budget == 400.5
    assert ev.budget_line("basic").executed is None


def test_budget_in_yuan_and_plain_phrasing():
    ev = parse_text(HEAD + "全年预算数为 5,000,000 元，执行数为 4,800,000 元，执行率为 96%。")
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (500, 480)
    assert ev.unparsed == []


def test_conflicting_budget_figures_are_left_and_said():
    # two values for one figure: a report over several projects, or a typo
    ev = parse_text(HEAD + "总预算为100万元。\n\n总预算为120万元。")
    assert ev.budget_line("total") is None or ev.budget_line("total").budget is None
    assert "总预算为120万元。" in ev.unparsed
    assert any("100、120" in w and "未读取" in w for w in ev.warnings)
    # the same figure restated with rounding is one figure
    ev = parse_text(HEAD + "总预算为5431.28万元。\n\n总预算为5431.3万元。")
    assert ev.budget_line("total").budget == 5431.28


def test_indicators_need_a_category_heading():
    text = HEAD + "目标 1：办公经费\n网格案结率（年初目标值：100%）。网格案结率 90%，未完成年初目标。\n"
    ev = parse_text(text)
    assert ev.goals[0].indicators == []
    assert any(u.startswith("网格案结率") for u in ev.unparsed)
    ev = parse_text(text.replace("目标 1：办公经费\n", "目标 1：办公经费\n（1）质量指标\n"))
    ind = ev.goals[0].indicators[0]
    assert (ind.category, ind.subcategory, ind.target, ind.actual, ind.met) == (
        "产出", "质量", "100%", "90%", False)


def test_other_heading_and_target_styles():
    text = HEAD + "\n".join([
        "三、绩效指标完成情况",
        "绩效目标1：办公设备购置。",
        "（一）数量指标",
        "1.设备购置数量（年度指标值：≥20台）。全年购置设备 18 台，未达到年度目标。",
        "2.资产登记率（目标值为100%）。资产登记率达到100%，完成目标。",
        "（二）服务对象满意度指标",
        "使用人员满意度（预期目标：≥90%）。满意度为 95%。",
    ])
    ev = parse_text(text)
    [goal] = ev.goals
    assert (goal.no, goal.name) == (1, "办公设备购置")
    got = [(i.category, i.subcategory, i.name, i.target, i.actual, i.met) for i in goal.indicators]
    assert got == [
        ("产出", "数量", "设备购置数量", "≥20台", "18台", False),
        ("产出", "数量", "资产登记率", "100%", "100%", True),
        ("满意度", "服务对象满意度", "使用人员满意度", "≥90%", "95%", None),
    ]


def test_gbk_and_bom_text():
    body = HEAD + "绩效自评得分 91分。"
    for data in (body.encode("gbk"), body.encode("utf-8-sig")):
        ev = read_report(Path("r.txt"), data)
        assert (ev.department.name, ev.self_score) == ("某某县财政局", 91)


@pytest.mark.parametrize(("name", "kind", "region"), [
    ("杭州市西湖区教育局", "委局", "西湖区"),
    ("某某镇人民政府", "乡镇", None),
    ("共青团武汉市委员会", "群团", None),
    ("武汉市城市管理执法委员会", "委局", "武汉市"),
    ("区疾病预防控制中心", "事业单位", None),
])
def test_department_rules(name, kind, region):
    d = department_of(name)
    assert (d.kind, d.region) == (kind, region)


# --------------------------------------------------------------------------
# not reports


@pytest.mark.parametrize(("name", "data", "says"), [
    ("empty.txt", b"", "空文件"),
    ("blank.txt", b"  \n\n ", "空文件"),
    ("bin.txt", bytes(range(256)) * 4, "编码"),
    ("nul.txt", b"abc\x00def" * 10, "二进制"),
    ("novel.txt", "从前有座山，山里有座庙。2020年。".encode(), "不是绩效自评报告"),
    ("fake.docx", b"not a zip at all", "不是有效的 .docx"),
    ("broken.docx", b"PK\x03\x04garbage", ".docx 打开"),
    ("broken.pdf", b"%PDF-1.4\ngarbage", "PDF"),
    ("scan.txt", b"\x89PNG\r\n\x1a\n" + bytes(64), "图片"),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "另存为 .docx"),
])
def test_not_a_report(name, data, says):
    with pytest.raises(ReportError, match=says) as err:
        read_report(Path(name), data)
    assert name in str(err.value)
    assert isinstance(err.value, PerfevalError)


def test_image_only_pdf():
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.rect(100, 100, 300, 300, fill=1)
    c.showPage()
    c.save()
    with pytest.raises(ReportError, match="扫描"):
        read_report(Path("scan.pdf"), buf.getvalue())


def test_docx_without_text():
    with pytest.raises(ReportError, match="没有文字"):
        read_report(Path("empty.docx"), _docx_bytes([]))


# --------------------------------------------------------------------------
# robustness

_REPORT_WORDS = st.sampled_from([
    "2022年度某某街道办事处部门整体绩效自评报告\n", "绩效", "自评", "2022年度", "目标 1：", "（1）产出指标", "（年初目标值：", "）", "。", "\n",
    "万元", "预算数", "执行数", "得分", "98分", "街道办事处", "部门整体", "①", "“", "|", "[...]",
    "存在的问题", "改进措施", "阶段（", "至", "5,431.28", "１２", " ",
])


_REPORTISH = st.lists(_REPORT_WORDS | st.text(max_size=5), max_size=80).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=400), _REPORTISH,
                 _REPORTISH.map(lambda s: "2022年度某某局部门整体绩效自评报告\n" + s)))
def test_random_text_gives_a_result_or_report_error(text):
    try:
        ev = parse_text(text)
    except ReportError:
        return
    # never refused for a missing field: unknown is "" / None, and said so
    assert ev.year is None or 2000 <= ev.year <= 2099
    if ev.year is None or not ev.department.name:
        assert ev.warnings
    json.dumps(to_json_dict(ev), ensure_ascii=False)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["x.txt", "x.docx", "x.pdf"]),
       st.sampled_from([b"", b"PK\x03\x04", b"%PDF-1.4\n", "2022年度某某局部门整体绩效自评报告\n".encode()]),
       st.binary(max_size=300))
def test_random_bytes_give_a_result_or_report_error(name, prefix, data):
    try:
        read_report(Path(name), prefix + data)
    except ReportError:
        pass


# --------------------------------------------------------------------------
# command line


def _run_cli(argv, capsys):
    parser = build_parser()
    args = parser.parse_args(argv)
    code = args.func(args)
    return code, capsys.readouterr().out


def test_cli_parse_json(capsys):
    code, out = _run_cli(["parse", str(SAMPLE), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["self_score"] == 98
    assert "武汉市硚口区人民政府荣华街道办事处" in out  # ensure_ascii=False


def test_cli_parse_summary(capsys):
    code, out = _run_cli(["parse", str(SAMPLE)], capsys)
    assert code == 0
    assert "绩效指标 39 个（产出 29，效益 6，满意度 4）" in out
    assert "信访积案化解率" in out and "实际 30%" in out


def test_cli_parse_missing_file(tmp_path, capsys):
    with pytest.raises(ReportError, match="无法读取"):
        _run_cli(["parse", str(tmp_path / "nope.txt")], capsys)
