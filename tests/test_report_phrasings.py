"""Families of phrasing in narrative reports (issue 11): scores, grades, units, budgets, reasons."""

from __future__ import annotations

import pytest

from perfeval.ingest.report import ReportError, parse_text, read_grade, read_score

HEAD = "2021年度某某县财政局部门整体绩效自评报告\n"


@pytest.mark.parametrize(("sentence", "score"), [
    ("本单位自评得分98.5分。", 98.5),
    ("经评价，项目自评得分为95分。", 95),
    ("自评结果为91.5分，等级为优。", 91.5),
    ("自评总分（分）92.5", 92.5),
    ("部门整体支出自评总分：95", 95),
    ("自评分为100分。", 100),
    ("综合评分为 88 分，评价等级为良。", 88),
    ("绩效评价得分90.5分，评价等级为优。", 90.5),
])
def test_score_phrasings(sentence, score):
    ev = parse_text(HEAD + sentence)
    assert ev.self_score == score
    assert ev.self_grade is None  # a score stated: the grade beside it is not kept


@pytest.mark.parametrize("sentence", [
    "评价结果为优，排名第2，",  # a rank is no score
    "自评总分 2022年度",
    "得分率为 95%。",
    "综合评分为 300 分。",
    "预算执行率得分10分值",
])
def test_not_a_score(sentence):
    assert read_score(sentence) is None


@pytest.mark.parametrize(("sentence", "grade"), [
    ("整体绩效自评为优秀。", "优"),
    ("整体绩效自评为优 秀；", "优"),  # PDF text layer spacing
    ("评价等级为“良”。", "良"),
    ("自评结果：合格。", "中"),
    ("自评等级为中。", "中"),
    ("考核结果为不合格。", "差"),
    ("自评等次为良好", "良"),
])
def test_grade_phrasings(sentence, grade):
    assert read_grade(sentence) == grade
    ev = parse_text(HEAD + sentence)
    assert (ev.self_score, ev.self_grade) == (None, grade)


@pytest.mark.parametrize("sentence", ["自评中发现问题。", "评价为优化营商环境服务。", "等级为优化"])
def test_not_a_grade(sentence):
    assert read_grade(sentence) is None


# --------------------------------------------------------------------------
# department, parent, year


def test_implementing_unit_and_its_parent():
    ev = parse_text("项目支出绩效自评报告\n项目名称：疫苗冷链建设\n主管部门：某某县卫生健康局\n"
                    "实施单位：某某县疾病预防控制中心\n2022年度全年预算数 80 万元，执行数 80 万元。")
    assert ev.department.name == "某某县疾病预防控制中心"
    assert ev.department.parent == "某某县卫生健康局"
    assert ev.department.kind == "事业单位"
    assert (ev.year, ev.scope, ev.project) == (2022, "项目", "疫苗冷链建设")


def test_only_the_parent_named_is_the_unit():
    ev = parse_text("项目支出绩效自评报告\n主管部门：某某县卫生健康局\n2022年度自评得分 90 分。")
    assert (ev.department.name, ev.department.parent) == ("某某县卫生健康局", None)


def test_department_and_year_from_the_file_name_last():
    ev = parse_text("部门整体支出绩效自评报告\n自评得分 90 分。", "2023年某某县财政局绩效自评报告.txt")
    assert (ev.department.name, ev.year, ev.self_score) == ("某某县财政局", 2023, 90)
    assert any("文件名" in w for w in ev.warnings)
    # the body wins over the file name
    ev = parse_text("部门整体支出绩效自评报告\n单位名称：某某县水利局\n2021年度自评得分 90 分。",
                    "2023年某某县财政局绩效自评报告.txt")
    assert (ev.department.name, ev.year) == ("某某县水利局", 2021)
    assert not any("文件名" in w for w in ev.warnings)


def test_neither_department_nor_year_is_not_refused():
    ev = parse_text("绩效自评报告\n自评得分 90 分。", "报告.txt")
    assert (ev.department.name, ev.year, ev.self_score) == ("", None, 90)
    assert any("年度" in w for w in ev.warnings) and any("单位" in w for w in ev.warnings)


def test_signature_names_the_unit_and_its_date_is_not_the_year():
    ev = parse_text("专项资金项目自评报告\n2020年度项目预算资金 10 万元，支付 9 万元。\n"
                    "自评分为 95 分。\n某某县民政局\n2021年3月5日")
    assert (ev.department.name, ev.year) == ("某某县民政局", 2020)
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (10, 9)


@pytest.mark.parametrize(("title", "dept"), [
    ("某某市某某区水务局2022年衔接资金项目绩效自评报告", "某某市某某区水务局"),
    ("某某州第一人民医院公共卫生服务项目补助资金2023年度绩效自评报告", "某某州第一人民医院"),
    ("某某市城市管理监督指挥中心2018绩效评价自评报告", "某某市城市管理监督指挥中心"),
    ("某某镇人民政府2024年度绩效自评报告", "某某镇人民政府"),
    ("农村厕所革命整村推进项目绩效自评报告", ""),  # a project, no unit
])
def test_department_in_title_families(title, dept):
    ev = parse_text(title + "\n2022年度自评得分 90 分。")
    assert ev.department.name == dept


# --------------------------------------------------------------------------
# budgets


def test_yuan_amounts_and_a_declared_table_unit():
    ev = parse_text(HEAD + "单位：元\n项目 | 年初预算数 | 全年预算数 | 全年执行数 |\n"
                    "年度资金总额 | 1500000 | 1500000 | 1200000 |\n")
    total = ev.budget_line("total")
    assert (total.initial, total.budget, total.executed) == (150, 150, 120)
    ev = parse_text(HEAD + "项目 | 全年预算数（元） | 全年执行数（元） |\n年度资金总额 | 500000 | 400000 |\n")
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (50, 40)


def test_wan_without_yuan():
    ev = parse_text(HEAD + "全年预算数150万，执行数120万。")
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (150, 120)


def test_named_fund_read_when_it_is_the_only_figure():
    ev = parse_text(HEAD + "下达某某乡村振兴衔接资金 105 万元。资金已使用 100 万元。")
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (105, 100)


def test_named_funds_that_disagree_are_left_and_said():
    ev = parse_text(HEAD + "下达中央补助资金 50 万元，下达省级配套资金 20 万元。")
    assert ev.budget_line("total") is None
    assert any("未读取" in w for w in ev.warnings)


def test_named_fund_with_carry_over_is_left_and_said():
    ev = parse_text(HEAD + "上年结转资金 2 万元，本年下达补助资金 3 万元。")
    assert ev.budget_line("total") is None or ev.budget_line("total").budget is None
    assert any("结转" in w for w in ev.warnings)


def test_investment_is_no_budget():
    ev = parse_text(HEAD + "工程总投资1860万元。截至年底，项目实际支出1388.3万元。")
    total = ev.budget_line("total")
    assert (total.budget, total.executed) == (None, 1388.3)


def test_income_and_parts_are_not_budget_lines():
    ev = parse_text(HEAD + "财政拨款收入合计 500 万元，财政拨款支出合计 480 万元。其中：人员经费支出 300 万元。")
    assert ev.budget_line("total") is None
    assert ev.budget_line("fiscal").executed == 480
    assert ev.budget_line("fiscal").budget is None


# --------------------------------------------------------------------------
# reasons for unmet indicators

_WITH_UNMET = HEAD + "\n".join([
    "一、绩效指标完成情况",
    "目标 1：干部培训",
    "（1）产出指标",
    "培训覆盖率（年初目标值：100%）。培训覆盖率为 80%，未完成年初目标。",
    "课程开设数量（年初目标值：12门）。开设课程 12门，完成年初目标。",
    "（2）满意度指标",
    "学员满意度（年初目标值：≥90%）。学员满意度为 95%，完成年初目标。",
    "二、存在的问题和原因",
    "1.培训覆盖面不足，部分人员因疫情未能参训。",
    "2.绩效指标设置不够细化。",
    "三、下一步改进措施",
    "1.扩大培训覆盖面，增设线上课程。",
    "2.细化绩效指标。",
])


def test_problem_and_measure_naming_an_unmet_indicator_become_its_reason():
    ev = parse_text(_WITH_UNMET)
    by_name = {i.name: i for _, i in ev.indicators}
    assert by_name["培训覆盖率"].met is False
    assert by_name["培训覆盖率"].reason == (
        "培训覆盖面不足，部分人员因疫情未能参训。改进措施：扩大培训覆盖面，增设线上课程。")
    assert by_name["课程开设数量"].reason is None  # met: no reason
    assert by_name["学员满意度"].reason is None


def test_no_reason_is_invented():
    text = _WITH_UNMET.replace("培训覆盖面不足，部分人员因疫情未能参训。", "经费保障不足。").replace(
        "扩大培训覆盖面，增设线上课程。", "加强经费保障。")
    ev = parse_text(text)
    assert all(i.reason is None for _, i in ev.indicators)


@pytest.mark.parametrize(("sentence", "score"), [
    ("本次评价总分100分，自评得分95分。", 95),
    ("本项目总得分为93分。", 93),
    ("经综合评价，最终得分96.5分，等级为优。", 96.5),
    ("产出指标总得分为45分。", None),  # a part of the score
    ("满分100分。", None),
])
def test_total_score_phrasings(sentence, score):
    assert read_score(sentence) == score


@pytest.mark.parametrize(("table", "score"), [
    ("合计 | 100 | 92.5 |", 92.5),
    ("总分 | 96 |", 96),
    ("总分 | 100分 |", 100),
    ("自评得分 | | 94.5 |", 94.5),
    ("自评总分（分） | 91 |", 91),
    ("合计 | 100 |", None),  # the 分值 sum alone
    ("自评得分 | 优 |", None),
])
def test_total_score_cells(table, score):
    assert parse_text(HEAD + "一级指标 | 二级指标 | 分值 | 得分 |\n" + table + "\n").self_score == score


def test_budget_labels_with_column_letters_and_pdf_spacing():
    ev = parse_text(HEAD + "全年预算数（A）200万元，全年执行数（B）180万元。\n\n基本支 出预算 120 万元。")
    assert (ev.budget_line("total").budget, ev.budget_line("total").executed) == (200, 180)
    assert ev.budget_line("basic").budget == 120


@pytest.mark.parametrize(("title", "dept"), [
    ("某某县水利局关于2022年度部门整体支出绩效自评情况的报告", "某某县水利局"),
    ("某某县水利局：2022年度部门整体支出绩效自评报告", "某某县水利局"),
])
def test_title_with_guanyu(title, dept):
    assert parse_text(title + "\n自评得分 90 分。").department.name == dept


def test_plain_unit_field():
    ev = parse_text("部门整体支出绩效自评报告\n单位：某某县审计局\n单位：万元\n2022年度自评得分 90 分。")
    assert ev.department.name == "某某县审计局"


def test_title_over_two_paragraphs():
    ev = parse_text("2022年度某某县审计局\n部门整体支出绩效自评报告\n一、基本情况\n自评得分 90 分。")
    assert (ev.department.name, ev.year) == ("某某县审计局", 2022)


def test_last_years_score_is_not_this_years():
    ev = parse_text("2022年度某某县财政局部门整体绩效自评报告\n四、上年度自评结果应用\n"
                    "上年度自评得分95分，结果已应用。\n2021年度自评得分为93分。")
    assert ev.self_score is None
    ev = parse_text("2022年度某某县财政局部门整体绩效自评报告\n上年度自评得分95分。\n本年度自评得分97分。")
    assert ev.self_score == 97


@pytest.mark.parametrize("text", [
    "某某学院预算绩效管理办法（试行）\n第一条 为加强预算绩效管理，开展绩效自评和评价…",
    "关于开展2022年度绩效自评工作的通知\n各单位：请于6月底前报送绩效自评报告。",
])
def test_policy_documents_are_not_reports(text):
    with pytest.raises(ReportError, match="不是绩效自评报告"):
        parse_text(text, "doc.txt")


def test_a_notice_titled_with_the_report_is_read():
    ev = parse_text("关于报送2022年度部门整体绩效自评报告的通知\n某某县财政局：\n自评得分 90 分。")
    assert ev.year == 2022


def test_indicator_fields_and_points_in_sentences():
    text = HEAD + "\n".join([
        "目标 1：干部培训",
        "（1）产出指标（50分）",
        "培训人次，年初目标值：100人次，实际完成值：120人次，完成年初目标，分值10分，得分10分。",
        "培训合格率（年初目标值：≥95%）。培训合格率为 90%，未完成年初目标，分值10分，得分8分。",
        "（2）满意度指标",
        "学员满意度，年度指标值：≥90%，实际完成值：96%。",
    ])
    [goal] = parse_text(text).goals
    got = [(i.category, i.name, i.target, i.actual, i.met, i.weight, i.score) for i in goal.indicators]
    assert got == [
        ("产出", "培训人次", "100人次", "120人次", True, 10, 10),
        ("产出", "培训合格率", "≥95%", "90%", False, 10, 8),
        ("满意度", "学员满意度", "≥90%", "96%", None, None, None),
    ]


def test_points_that_contradict_are_not_kept():
    text = HEAD + "（1）产出指标\n培训人次（年初目标值：100人次）。培训120人次，分值5分，得分10分。"
    [ind] = parse_text(text).goals[0].indicators
    assert (ind.weight, ind.score) == (None, None)


@pytest.mark.parametrize("tail", [
    "某某县民政局\n2021年3月5日",
    "某某县民政局（盖章）\n2021 年 3 月 5 日",
    "某某县民政局 2021年3月5日",
])
def test_signature_families(tail):
    ev = parse_text("专项资金项目自评报告\n2020年度自评分为 95 分。\n" + tail)
    assert (ev.department.name, ev.year) == ("某某县民政局", 2020)


def test_attachment_prefix_in_title():
    ev = parse_text("附件2：某某市某某区农林水务局2022年度项目支出绩效自评报告\n自评得分 90 分。")
    assert (ev.department.name, ev.year) == ("某某市某某区农林水务局", 2022)


def test_two_fields_on_one_line():
    ev = parse_text("项目支出绩效自评报告\n主管部门：某某县教育局 实施单位：某某县第一中学\n2022年度自评得分 92 分。")
    assert (ev.department.name, ev.department.parent) == ("某某县第一中学", "某某县教育局")


def test_budget_with_the_unit_as_subject():
    ev = parse_text(HEAD + "2022年度，我局部门整体支出预算数为1,234.56万元，实际支出1,200.00万元，"
                    "预算执行率97.2%。其中基本支出预算数为800万元，实际支出790万元；"
                    "项目支出预算数为434.56万元，实际支出410万元。")
    got = {b.line: (b.budget, b.executed) for b in ev.budget}
    assert got == {"total": (1234.56, 1200), "basic": (800, 790), "project": (434.56, 410)}


def test_received_is_not_executed():
    ev = parse_text(HEAD + "本项目预算安排50万元，实际到位50万元，实际支出45万元。")
    total = ev.budget_line("total")
    assert (total.budget, total.executed) == (50, 45)


@pytest.mark.parametrize(("row", "grade"), [
    ("自评等级 | 优秀 |", "优"),
    ("评价等级 | | 良 |", "良"),
    ("自评结果 | 合格 |", "中"),
    ("自评等级 | 见附件 |", None),
])
def test_grade_cells(row, grade):
    assert parse_text(HEAD + "项目名称 | 某某项目 |\n" + row + "\n").self_grade == grade


@pytest.mark.parametrize(("title", "dept", "scope"), [
    ("2022年度某某县区域绩效目标自评表", "", "部门整体"),  # a region, not a unit
    ("某某县2021年度转移支付资金绩效的自评报告", "", "项目"),
    ("某某县卫生健康局2022年度专项资金绩效自评价报告", "某某县卫生健康局", "项目"),
    ("2022年度某某县民政局机关整体支出绩效评价报告", "某某县民政局", "部门整体"),
    ("某某县文化馆2022年度整体和项目支出绩效自评总结报告", "某某县文化馆", "部门整体"),
    ("2022年度某某县审计局部门整体绩效自评结果", "某某县审计局", "部门整体"),
])
def test_report_families_are_read(title, dept, scope):
    ev = parse_text(title + "\n绩效自评得分 91 分。")
    assert (ev.department.name, ev.scope, ev.self_score) == (dept, scope, 91)
    assert ev.year in (2021, 2022)


def test_reason_in_the_sentence_or_the_paragraph_after():
    text = HEAD + "\n".join([
        "（1）产出指标",
        "培训人次（年初目标值：100人次）。全年培训 80人次，未完成年初目标，主要原因是疫情停课。",
        "课程数量（年初目标值：12门）。开设课程 10门，未完成年初目标。",
        "偏差原因：两名授课教师调离。",
        "学员人数（年初目标值：50人）。学员 50人，完成年初目标。",
        "偏差原因：无。",
        "（2）满意度指标",
        "偏差原因：与上一指标无关的段落。",
    ])
    inds = {i.name: i for _, i in parse_text(text).indicators}
    assert inds["培训人次"].reason == "主要原因是疫情停课。"
    assert inds["课程数量"].reason == "偏差原因：两名授课教师调离。".split("：", 1)[1]
    assert inds["学员人数"].reason is None


@pytest.mark.parametrize(("sentence", "score"), [
    ("根据绩效评价指标体系，产出指标得分45分。", None),
    ("产出指标考核得分45分。", None),
    ("根据评价指标体系，自评得分95分。", 95),
    ("预算执行率得分10分，自评总分96分。", 96),
])
def test_part_scores_are_not_the_total(sentence, score):
    assert read_score(sentence) == score
