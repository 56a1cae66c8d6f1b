"""Official self-evaluation form workbooks: reading every layout, folders and
zips, the all-or-nothing import, and the central-form writer's round trip."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import perfeval.ingest as ingest
from perfeval.cli import build_parser
from perfeval.formwriter import export_store_forms, write_form
from perfeval.ingest import commit, forms, iter_paths, read_paths
from perfeval.ingest.forms import (
    FormError,
    is_placeholder,
    looks_like_form,
    parse_amount,
    read_form_workbook,
)
from perfeval.model import BudgetLine, Department, Evaluation, Goal, Indicator, PerfevalError
from perfeval.store import Store
from tests import formfactory as ff
from tests.conftest import small_evaluation

EZHOU_DEPT = "鄂州市行政审批局"


def read(data: bytes, name: str = "form.xlsx", **kw) -> list[Evaluation]:
    return read_form_workbook(Path(name), data, **kw)


def rows(ev: Evaluation) -> list[tuple]:
    return [(i.category, i.subcategory, i.name, i.target, i.actual, i.weight, i.score)
            for _, i in ev.indicators]


# --------------------------------------------------------------------------
# Each layout
# --------------------------------------------------------------------------


def test_ezhou_central_form_reads_the_published_figures():
    warnings: list[str] = []
    [ev] = read(ff.ezhou_form(), "鄂州.xlsx", department=EZHOU_DEPT, warnings=warnings)
    assert ev.key == (EZHOU_DEPT, 2021, "项目", "市民中心运行维护费")
    assert ev.self_score == 98
    total = ev.budget_line("total")
    assert (total.initial, total.budget, total.executed) == (150, 150, 125.25)
    assert total.rate == pytest.approx(0.835)  # the form's 执行率 83.5%
    assert (total.weight, total.score) == (100, 98)  # as reported, not the rule's 10 / 8.35
    fiscal = ev.budget_line("fiscal")
    assert (fiscal.budget, fiscal.executed, fiscal.weight, fiscal.score) == (150, 125.25, None, None)
    assert ev.budget_line("carryover").budget == 0 and ev.budget_line("other").executed == 0
    [goal] = ev.goals
    assert goal.expected.startswith("为更好的建设行政服务大厅窗口建设")
    assert "完成预算的83.50%" in goal.achieved
    assert rows(ev) == [
        ("产出", "数量", "预算执行率", "100%", "83.5%", 20, 18),
        ("产出", "数量", "预算资金拨款率", "100%", "100%", 10, 10),
        ("产出", "质量", "政务服务工作办结率", "100%", "100%", 10, 10),
        ("产出", "质量", "大厅业务日常考核结果", "100%", "100%", 10, 10),
        ("产出", "成本", "市民中心运行维护费", "150万", "150万", 10, 10),
        ("效益", "经济效益", "大厅运行正常率", "100%", "100%", 10, 10),
        ("效益", "社会效益", "岗位服务规范率", "100%", "100%", 10, 10),
        ("效益", "可持续影响", "服务大厅长效运行机制", "健全", "健全", 10, 10),
        ("满意度", "服务对象满意度", "办事群众满意度", "≥95%", "98%", 10, 10),
    ]  # 指标2/……/—// rows and empty template rows are not indicators
    assert sum(i.score for _, i in ev.indicators) == 98
    assert ev.indicators[0][1].source_text.startswith("市民中心运行维护费!13: 产出指标 | 数量指标")
    assert ev.source_name == "鄂州.xlsx" and len(ev.checksum) == 64
    assert warnings == []


def test_ezhou_department_comes_from_the_form_before_the_caller():
    [ev] = read(ff.ezhou_form(authority="鄂州市人民政府办公室"), department=EZHOU_DEPT)
    assert ev.department.name == "鄂州市人民政府办公室"


def test_ezhou_budget_rate_indicator_rescored_to_16_7():
    from perfeval.scoring import score_evaluation

    [ev] = read(ff.ezhou_form(), department=EZHOU_DEPT)
    scored = next(s for s in score_evaluation(ev).indicators if s.name == "预算执行率")
    assert scored.result.score == pytest.approx(16.7)


def test_hubei_form_amounts_in_yuan_and_typed_percentages():
    [ev] = read(ff.hubei_form())
    # The evaluated unit is the 实施单位; its 主管部门 is kept as the parent.
    assert ev.key == ("咸安区农业技术推广中心", 2022, "项目", "高标准农田建设项目")
    assert ev.department.parent == "咸安区农业农村局"
    assert ev.self_score == 96.5
    by_line = {b.line: (b.initial, b.budget, b.executed) for b in ev.budget}
    # 1500000 (number), "1,600,000.00", "200000元", "16万元": all 万元 now; "—" line absent.
    assert by_line == {"total": (150, 200, 160), "fiscal": (150, 180, 144),
                       "carryover": (0, 20, 16)}
    total = ev.budget_line("total")
    assert (total.weight, total.score) == (10, 8)  # Hubei: 得分 = 分值 × 执行率
    assert rows(ev) == [
        ("产出", "数量", "新建高标准农田面积", "≥1万亩", "1.2万亩", 20, 20),
        ("产出", "质量", "工程验收合格率", "100%", "100%", 15, 15),  # typed 1.0 as 0%
        ("产出", "时效", "项目完工及时率", "100%", "90%", 15, 13.5),
        ("效益", "经济效益", "亩均增产", "≥50公斤", "60公斤", 15, 15),
        ("效益", "生态效益", "农田灌溉水有效利用系数", "≥0.56", "0.57", 15, 15),
        ("满意度", "服务对象满意度", "受益农户满意度", "≥90%", "95%", 10, 10),
    ]
    assert ev.indicators[2][1].reason == "受汛期影响部分工程延期"


def test_qingshen_sichuan_form_as_published():
    [ev] = read(ff.qingshen_form())
    # The budget system's project code is no part of the name.
    assert ev.key == ("青神县发展和改革局", 2023, "项目", "工资性支出")
    assert ev.department.parent == "青神县发展和改革局本级"
    assert ev.self_score is None  # 合计 row: 100 | (blank)
    total = ev.budget_line("total")
    assert (total.initial, total.budget, total.executed, total.weight, total.score) == (
        238.93, 251.89, 251.89, 10, None)
    assert total.reason is None  # the template's "(100字以内)" instructions
    assert ev.budget_line("fiscal").budget == 251.89
    # 财政专户管理资金 0 + 单位资金 0 + 其他资金 (blank) → other 0.
    assert ev.budget_line("other").budget == 0
    [goal] = ev.goals
    assert goal.expected.startswith("严格执行相关政策") and goal.achieved is None
    assert rows(ev) == [
        ("产出", "数量", "发放(缴纳)覆盖率", "100%", None, 60, None),
        ("效益", "社会效益", "足额保障率(参保率)", "100%", None, 30, None),
    ]
    assert ev.problems == [] and ev.measures == [] and ev.unparsed == []


def test_yunnan_form_combines_nature_value_and_unit():
    [ev] = read(ff.yunnan_form())
    assert ev.key == ("牟定县公路管理段", 2020, "项目", "2020年第一批公路安全生命防护工程")
    assert ev.department.parent == "牟定县交通运输局"
    assert ev.self_score == 99.75
    total = ev.budget_line("total")
    assert (total.budget, total.executed, total.weight, total.score) == (56, 54.6, 10, 9.75)
    assert [(i.name, i.target, i.actual) for _, i in ev.indicators] == [
        ("处治里程", "≥8公里", "8公里"),
        ("波型护栏", "≥1800米", "1820米"),
        ("交工验收合格率", "100%", "100%"),
        ("完工时间", "2020年6月底前", "2020年6月20日"),
        ("每公里造价", "≤7万元", "6.83万元"),
        ("交通事故发生数", "=0起", "0起"),
        ("沿线群众满意度", "≥90%", "95%"),
    ]
    assert [i.weight for _, i in ev.indicators] == [20, 10, 10, 10, 10, 15, 15]
    assert ev.problems == ["1.项目前期工作准备不够充分；", "2.资金拨付进度偏慢。"]
    assert ev.measures == ["1.提前做好项目储备；", "2.加快资金拨付进度。"]
    assert ev.unparsed == ["评价结论：该项目自评得分99.75分，评价等级为优。"]


RONGHUA_ROWS = [
    ("产出", "数量", "网格案结率", "100%", "100%", 15, 15),
    ("产出", "数量", "网格信息更新率", "100%", "100%", 10, 10),
    ("产出", "质量", "信访积案化解率", "100%", "30%", 10, 9),
    ("产出", "质量", "消防隐患整治率", "99%", "70%", 10, 9),
    ("效益", "社会效益", "党性教育覆盖率", "100%", "100%", 15, 15),
    ("效益", "社会效益", "非访劝返率", "100%", "100%", 15, 15),
    ("满意度", "服务对象满意度", "辖区群众满意度", "≥90%", "95%", 15, 15),
]


@pytest.mark.parametrize("merge", [True, False], ids=["merged", "unmerged"])
@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_department_form_with_and_without_merge_information(merge, engine):
    """calamine (the .xls path) and sheets without merges carry 一级/二级 down."""
    [ev] = read(ff.ronghua_form(merge=merge), engine=engine)
    assert ev.key == ("武汉市硚口区荣华街道办事处", 2022, "部门整体", "")
    assert ev.self_score == 98
    assert {b.line: (b.budget, b.executed) for b in ev.budget} == {
        "total": (5431.28, 5431.28), "basic": (2033.69, 2033.69),
        "project": (3397.59, 3397.59)}
    assert ev.budget_line("total").weight == 10
    assert rows(ev) == RONGHUA_ROWS
    assert ev.problems == ["1.信访积案化解偏差大；", "2.消防隐患整改共有2处未完成。"]
    assert ev.measures == ["加快实施消防隐患整改进度。"]


def test_department_form_falls_back_to_the_callers_name():
    [ev] = read(ff.ronghua_form(department=None), department="荣华街道")
    assert ev.department.name == "荣华街道" and ev.scope == "部门整体"


def test_a_stated_rate_that_disagrees_with_b_over_a_is_a_warning():
    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    ws = wb.active
    ws["G6"] = "93.5%"
    warnings: list[str] = []
    read(ff.save(wb), department=EZHOU_DEPT, warnings=warnings)
    assert len(warnings) == 1 and "G6" in warnings[0] and "93.50%" in warnings[0]


def test_several_forms_in_one_workbook():
    wb = openpyxl.Workbook()
    ff.central_sheet(wb.active, project="甲项目", year=2021, authority="甲局")
    ff.central_sheet(wb.create_sheet("乙"), project="乙项目", year=2021, authority="甲局")
    wb.create_sheet("填表说明")["A1"] = "请按要求填写"
    evs = read(ff.save(wb))
    assert [ev.project for ev in evs] == ["甲项目", "乙项目"]


# --------------------------------------------------------------------------
# Units, placeholders, the cheap check
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "factor", "wanted"), [
    ("150万", 1, 150), ("150万元", 1, 150), ("7.29", 1, 7.29), (7.29, 1, 7.29),
    ("1,500,000元", 1, 150), ("1500000", 1 / 10000, 150), ("0.5亿元", 1, 5000),
    ("１５０万", 1, 150), ("—", 1, None), ("/", 1, None), ("……", 1, None), (None, 1, None),
])
def test_amounts(text, factor, wanted):
    got = parse_amount(text, factor)
    assert got == (pytest.approx(wanted) if wanted is not None else None)


@pytest.mark.parametrize("text", ["—", "——", "/", "……", "...", "指标2", "指标 3", "三级指标",
                                  "", "  ", "（200字以内）"])
def test_placeholders(text):
    assert is_placeholder(text)


@pytest.mark.parametrize("text", ["无", "0", "100%", "健全", "指标体系建设"])
def test_not_placeholders(text):
    assert not is_placeholder(text)


def test_looks_like_form(tmp_path):
    for build in (ff.ezhou_form, ff.hubei_form, ff.qingshen_form, ff.yunnan_form,
                  ff.ronghua_form):
        assert looks_like_form(Path("x.xlsx"), build())
    wb = openpyxl.Workbook()
    wb.active.append(["部门", "年度", "指标名称", "目标值"])
    plain = tmp_path / "plain.xlsx"
    ff.save(wb, plain)
    assert not looks_like_form(plain)
    assert not looks_like_form(Path("x.xlsx"), b"not a workbook")
    from perfeval.ingest.template import write_template

    write_template(tmp_path / "模板.xlsx")  # our flat template: header words in one row
    assert not looks_like_form(tmp_path / "模板.xlsx")
    with pytest.raises(FormError, match="不是可识别的绩效自评表"):
        read_form_workbook(tmp_path / "模板.xlsx")


# --------------------------------------------------------------------------
# Errors name file, sheet, cell and what is wrong
# --------------------------------------------------------------------------


def test_not_a_form_names_the_missing_header_words():
    wb = openpyxl.Workbook()
    wb.active.append(["项目名称", "预算", "执行"])
    with pytest.raises(FormError) as exc:
        read(ff.save(wb), "杂表.xlsx")
    msg = str(exc.value)
    assert "杂表.xlsx" in msg and "不是可识别的绩效自评表" in msg
    assert "“一级指标”" in msg and "“三级指标”" in msg and "项目名称" not in msg.split("：")[-1]


def test_unreadable_amount_names_the_cell():
    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    wb.active["D6"] = "一百五十万"
    with pytest.raises(FormError) as exc:
        read(ff.save(wb), "坏.xlsx", department=EZHOU_DEPT)
    msg = str(exc.value)
    assert "坏.xlsx" in msg and "市民中心运行维护费" in msg and "第 6 行 D6" in msg
    assert "全年预算数“一百五十万”不是数字" in msg


def test_unreadable_score_names_the_cell():
    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    wb.active["H13"] = "十八"
    with pytest.raises(FormError, match=r"第 13 行 H13：得分“十八”不是数字"):
        read(ff.save(wb), department=EZHOU_DEPT)


def test_missing_department_project_and_year_are_asked_for_not_refused():
    """A form that states no unit or no year is read for everything it holds;
    the pipeline says what the user must supply, and takes it."""
    [ev] = read(ff.ezhou_form())  # 主管部门 and 实施单位 both empty
    assert ev.department.name == "" and ev.year == 2021 and len(ev.indicators) == 9
    result = ingest.read_file("form.xlsx", ff.ezhou_form())
    assert result.needs == ["部门"] and not result.ok
    assert any("需要补充：部门" in i.message for i in result.errors)
    assert ingest.read_file("form.xlsx", ff.ezhou_form(), department=EZHOU_DEPT).ok
    # The file name may state the unit: used, with a warning to check it.
    named = ingest.read_file("鄂州市行政审批局2021年项目支出绩效自评表.xlsx", ff.ezhou_form())
    assert named.ok and named.evaluations[0].department.name == EZHOU_DEPT
    assert any("按文件名" in w.message for w in named.warnings)

    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    wb.active["B3"] = None
    notes: list[str] = []
    [ev] = read(ff.save(wb), department=EZHOU_DEPT, warnings=notes)
    assert ev.project == "" and any("A3：“项目名称”后未填写项目名称" in n for n in notes)

    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    wb.active["A2"] = "（年度）"
    [ev] = read(ff.save(wb), department=EZHOU_DEPT)
    assert ev.year is None
    result = ingest.read_file("form.xlsx", ff.save(wb), department=EZHOU_DEPT)
    assert result.needs == ["年度"] and "需要补充：年度" in str(result.errors[0])
    result = ingest.read_file("form.xlsx", ff.save(wb), department=EZHOU_DEPT, year=2021)
    assert result.ok and result.evaluations[0].year == 2021


def test_corrupt_file():
    with pytest.raises(FormError, match="不是可读取的 Excel 工作簿"):
        read(b"PK\x03\x04 broken", "损坏.xlsx")


# --------------------------------------------------------------------------
# Folders, zips and the one-transaction import
# --------------------------------------------------------------------------


def broken_form(path: Path) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(ff.project_form(None, k=99)))
    wb.active["D6"] = "待定"
    ff.save(wb, path)


@pytest.fixture
def forms_folder(tmp_path) -> Path:
    folder = tmp_path / "自评表"
    (folder / "二级单位").mkdir(parents=True)
    for k in range(49):
        sub = folder / "二级单位" if k % 5 == 0 else folder
        ff.project_form(sub / f"项目{k:02d}.xlsx", k=k)
    broken_form(folder / "项目99.xlsx")
    (folder / "~$项目01.xlsx").write_bytes(b"lock")  # Excel's lock file: ignored
    return folder


def test_fifty_forms_all_or_nothing(forms_folder, tmp_path):
    store = Store(tmp_path / "t.duckdb")
    before = store.counts()
    results = read_paths([forms_folder])
    assert len(results) == 50
    [bad] = [r for r in results if r.errors]
    assert bad.name.endswith("项目99.xlsx") and "D6" in bad.errors[0].message
    assert sum(len(r.evaluations) for r in results) == 49
    with pytest.raises(PerfevalError, match="未写入任何数据"):
        commit(store, results)
    assert store.counts()["evaluations"] == before["evaluations"]  # one bad file stops all
    refused = store.query_df("SELECT file_name FROM audit_log WHERE result = '拒绝'")
    assert list(refused["file_name"]) == [bad.name]  # …and the refusal is audited

    written = commit(store, results, skip_bad=True)
    after = store.counts()
    assert len(written) == 49
    assert after["evaluations"] == before["evaluations"] + 49
    assert after["indicators"] == before["indicators"] + 49 * 2
    assert after["budget_lines"] == before["budget_lines"] + 49 * 2
    ok_rows = store.query_df("SELECT count(*) AS n FROM audit_log WHERE result = '成功'")
    assert int(ok_rows["n"][0]) == 49  # every written evaluation has its audit row
    df = store.query_df("SELECT project, self_score, year FROM cur_evaluations "
                        "WHERE department = ? ORDER BY project", [EZHOU_DEPT])
    assert len(df) == 49 and set(df["self_score"]) == {99} and set(df["year"]) == {2021}
    ev = store.load(store.current_eval_id(EZHOU_DEPT, 2021, "项目", "政务服务项目07"))
    assert ev.budget_line("total").budget == 107 and ev.budget_line("total").executed == 97
    store.close()


def test_zip_of_forms_with_gbk_names(forms_folder, tmp_path):
    archive = tmp_path / "forms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(forms_folder.rglob("*.xlsx")):
            zf.writestr(str(f.relative_to(forms_folder)), f.read_bytes())
        zf.writestr("AAAAAAAA.xlsx", ff.project_form(None, k=70))
        zf.writestr("../../etc/逃逸.xlsx", ff.project_form(None, k=71))
        zf.writestr("__MACOSX/._项目00.xlsx", b"junk")
    # A Windows zip tool: GBK name bytes without the UTF-8 flag (same length).
    gbk = "窗口项目.xlsx".encode("gbk")
    archive.write_bytes(archive.read_bytes().replace(b"AAAAAAAA.xlsx", gbk))
    items = list(iter_paths([archive]))
    names = [i[0] for i in items if isinstance(i, tuple)]
    assert "forms.zip/窗口项目.xlsx" in names
    refused = [i for i in items if not isinstance(i, tuple)]
    assert [r.name for r in refused] == ["forms.zip/../../etc/逃逸.xlsx"]  # never climbs out
    assert not any("__MACOSX" in n or "~$" in n for n in names)
    results = read_paths([archive])
    assert len(results) == 52 and sum(1 for r in results if r.errors) == 2


def test_zip_limits(tmp_path, monkeypatch):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.xlsx", b"\0" * 50_000)
        zf.writestr("b.xlsx", b"\0" * 50_000)
    monkeypatch.setattr(ingest, "MAX_UPLOAD_BYTES", 80_000)
    [r] = [i for i in iter_paths([archive]) if not isinstance(i, tuple)]
    assert "解压后超过" in r.errors[0].message
    monkeypatch.setattr(ingest, "MAX_UPLOAD_BYTES", 10**9)
    monkeypatch.setattr(ingest, "MAX_UPLOAD_FILES", 1)
    [r] = list(iter_paths([archive]))
    assert "超过上限 1" in r.errors[0].message
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "大.xlsx").write_bytes(b"\0" * 2000)
    [r] = list(iter_paths([tmp_path / "sub"], max_bytes=1000))
    assert "大.xlsx 超过" in r.errors[0].message
    [r] = list(iter_paths([tmp_path / "无.zip"]))
    assert "找不到文件或文件夹" in r.errors[0].message
    # A bad zip or a missing path is that input's error; the rest are read.
    monkeypatch.setattr(ingest, "MAX_UPLOAD_FILES", 500)
    ff.project_form(tmp_path / "sub" / "好.xlsx", k=5)
    (tmp_path / "sub" / "坏.zip").write_bytes(b"PK\x03\x04 not a zip")
    results = read_paths([tmp_path / "sub", tmp_path / "无.zip"], max_bytes=10**6)
    by_name = {r.name: r for r in results}
    assert "损坏" in by_name["sub/坏.zip"].errors[0].message
    assert "找不到" in by_name[str(tmp_path / "无.zip")].errors[0].message
    assert len(by_name["sub/好.xlsx"].evaluations) == 1


def test_the_same_project_in_two_files_is_an_error_on_the_second(tmp_path):
    ff.project_form(tmp_path / "a.xlsx", k=1)
    ff.project_form(tmp_path / "b.xlsx", k=1)
    (tmp_path / "说明.txt").write_text("readme", encoding="utf-8")
    results = read_paths([tmp_path])
    assert [bool(r.errors) for r in results] == [False, True, True]
    assert "已在文件" in results[1].errors[0].message
    assert "不是" in results[2].errors[0].message  # a readme is no self-evaluation


# --------------------------------------------------------------------------
# Writing the central form, and reading it back
# --------------------------------------------------------------------------


def comparable(ev: Evaluation) -> Evaluation:
    """What the central form carries (not the source file's name or rows, nor
    unparsed text other than 评价结论)."""
    goals = [replace(g, indicators=[replace(i, source_text=None, met=None)
                                    for i in g.indicators]) for g in ev.goals]
    return replace(ev, department=Department(ev.department.name), goals=goals,
                   budget=sorted(ev.budget, key=lambda b: b.line), source_name=None,
                   checksum=None, schedule=[], is_demo=False,
                   unparsed=[t for t in ev.unparsed if t.startswith(forms.CONCLUSION)])


@pytest.mark.parametrize("build", [ff.ezhou_form, ff.hubei_form, ff.qingshen_form,
                                   ff.yunnan_form, ff.ronghua_form])
def test_round_trip_of_every_layout(build, tmp_path):
    [ev] = read(build(), department=EZHOU_DEPT)
    out = tmp_path / "out.xlsx"
    assert write_form([ev], out) == 1
    [back] = read_form_workbook(out)
    assert comparable(back) == comparable(ev)


def test_round_trip_of_several_goals_and_evaluations(tmp_path):
    many = small_evaluation()  # two named goals, no 二级指标
    many.goals[1].expected = "=全年清运" # a text that Excel would take for a formula
    many.result_use = ["上年问题已整改"]
    project = Evaluation(Department("测试街道办事处"), 2023, scope="项目", project="垃圾清运/转运",
                         budget=[BudgetLine("total", 10, 9, 10, 10, 9, "部分合同未结算")],
                         goals=[Goal(1, "年度总体目标", "清运", None, [
                             Indicator("产出", "清运量", "≥100吨", "-5%", "数量", 50, 45)])])
    out = tmp_path / "out.xlsx"
    write_form([many, project], out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["测试街道办事处整体", "垃圾清运_转运"]
    back = read_form_workbook(out)
    assert [comparable(b) for b in back] == [comparable(many), comparable(project)]


TEXT = st.text(st.sampled_from("社区服务网格巡查清运保障率数量质量资金"), min_size=2, max_size=12)
VALUE = st.sampled_from(["100%", "≥95%", "≤3次", "完成", "有效控制", "0起", "1.2万亩", None])
NUM = st.one_of(st.none(), st.integers(0, 100).map(float),
                st.decimals(0, 100, places=2).map(float))


@st.composite
def evaluations(draw) -> Evaluation:
    scope = draw(st.sampled_from(["项目", "部门整体"]))
    n_goals = draw(st.integers(0, 3))
    goals = []
    for no in range(1, n_goals + 1):
        inds = draw(st.lists(st.builds(
            Indicator, category=st.sampled_from(["产出", "效益", "满意度"]), name=TEXT,
            target=VALUE, actual=VALUE,
            subcategory=st.sampled_from([None, "数量", "质量", "社会效益", "成本"]),
            weight=NUM, score=NUM, reason=st.one_of(st.none(), TEXT)), max_size=5))
        goals.append(Goal(no, draw(TEXT), draw(st.one_of(st.none(), TEXT)),
                          draw(st.one_of(st.none(), TEXT)), inds))
    lines = draw(st.lists(st.sampled_from(["total", "basic", "project", "fiscal", "carryover",
                                           "other"]), unique=True, max_size=4))
    budget = [BudgetLine(line, draw(NUM), draw(NUM), draw(NUM), draw(NUM), draw(NUM))
              for line in lines]
    budget = [b for b in budget if any(v is not None for v in (b.budget, b.executed, b.initial,
                                                                 b.weight, b.score))]
    return Evaluation(Department("随机部门"), draw(st.integers(2015, 2030)), scope=scope,
                      project=draw(TEXT) if scope == "项目" else "",
                      self_score=draw(NUM), budget=budget, goals=goals,
                      problems=draw(st.lists(TEXT, max_size=2)),
                      measures=draw(st.lists(TEXT, max_size=2)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ev=evaluations())
def test_round_trip_property(ev):
    buf = io.BytesIO()
    write_form([ev], buf)
    [back] = read_form_workbook(Path("rt.xlsx"), buf.getvalue())
    want = comparable(ev)
    assert comparable(back) == want


def test_export_form_command(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    store = Store(db)
    store.write(read(ff.ezhou_form(), department=EZHOU_DEPT) + read(ff.ronghua_form()))
    buf = io.BytesIO()
    assert export_store_forms(store, buf, departments=[EZHOU_DEPT]) == 1
    store.close()

    parser = build_parser()
    out = tmp_path / "导出.xlsx"
    args = parser.parse_args(["--db", str(db), "export-form", str(out), "--year", "2022"])
    assert args.func(args) == 0
    assert "已写出 1 张自评表" in capsys.readouterr().out
    [back] = read_form_workbook(out)
    assert back.key == ("武汉市硚口区荣华街道办事处", 2022, "部门整体", "")
    assert rows(back) == RONGHUA_ROWS
    args = parser.parse_args(["--db", str(db), "export-form", str(out), "--year", "1999"])
    with pytest.raises(Exception, match="没有符合条件的评价（1999 年度）"):
        args.func(args)


@pytest.mark.parametrize("merges", [True, False], ids=["merged", "merges-lost"])
@pytest.mark.parametrize("build", [ff.ezhou_form, ff.yunnan_form, ff.ronghua_form])
def test_xls_reads_like_xlsx(build, merges):
    """A real .xls (python-calamine) gives the same evaluation as the .xlsx."""
    pytest.importorskip("xlwt")
    xlsx = build()
    [want] = read(xlsx, department=EZHOU_DEPT)
    [got] = read(ff.to_xls(xlsx, merges=merges), "form.xls", department=EZHOU_DEPT)
    assert comparable(got) == comparable(want)
    assert looks_like_form(Path("form.xls"), ff.to_xls(xlsx, merges=merges))


def test_forms_stacked_in_one_sheet():
    """Three forms one below another; the second without its title rows."""
    data = ff.stack_forms([ff.ezhou_form(authority="鄂州市行政审批局"),
                           ff.project_form(None, k=3), ff.yunnan_form()],
                          drop_title_rows={1: 2})
    evs = read(data)
    assert [ev.key for ev in evs] == [
        (EZHOU_DEPT, 2021, "项目", "市民中心运行维护费"),
        (EZHOU_DEPT, 2021, "项目", "政务服务项目03"),  # year carried from the form above
        ("牟定县公路管理段", 2020, "项目", "2020年第一批公路安全生命防护工程"),
    ]
    assert [len(ev.indicators) for ev in evs] == [9, 2, 7]
    assert evs[1].budget_line("total").budget == 103 and evs[2].self_score == 99.75
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    row = next(c.row for c in ws["D"] if c.value == "服务事项3办结数")
    ws.cell(row, 8, "五十")  # 得分 of the second form, far down the sheet
    with pytest.raises(FormError, match=rf"第 {row} 行 H{row}：得分“五十”不是数字"):
        read(ff.save(wb))


def test_cost_as_first_level_and_an_unknown_first_level():
    """Newer forms list 成本指标 as a 一级指标: read as 产出 with its 二级 (经济成本).
    A 一级 that is none of 产出/效益/满意度 is kept aside with a warning."""
    wb = openpyxl.Workbook()
    ff.central_sheet(wb.active, project="乙项目", year=2022, authority="乙局", indicators=[
        ("产出指标", "数量指标", "培训人次", "≥500人次", "520人次", 40, 40, None),
        ("成本指标", None, "场地费用", "≤2万元", "1.8万元", 10, 10, None),
        ("成本指标", "经济成本指标", "人均培训成本", "≤300元", "280元", 20, 20, None),
        ("管理指标", "制度建设", "培训制度健全性", "健全", "健全", 10, 10, None),
        ("满意度指标", "服务对象满意度指标", "学员满意度", "≥90%", "96%", 10, 10, None),
    ], total=(100, 100))
    warnings: list[str] = []
    [ev] = read(ff.save(wb), warnings=warnings)
    assert [(i.category, i.subcategory, i.name) for _, i in ev.indicators] == [
        ("产出", "数量", "培训人次"), ("产出", "成本", "场地费用"),
        ("产出", "经济成本", "人均培训成本"), ("满意度", "服务对象满意度", "学员满意度")]
    assert len(warnings) == 1 and "一级指标“管理指标”" in warnings[0] and "B16" in warnings[0]
    assert ev.unparsed == ["管理指标 | 制度建设 | 培训制度健全性 | 健全 | 健全 | 10 | 10"]


def test_a_measures_column_in_the_indicator_header_is_no_text_box():
    wb = openpyxl.load_workbook(io.BytesIO(ff.ezhou_form()))
    ws = wb.active
    assert ws["I12"].value == "偏差原因分析及改进措施"
    ws["I12"], ws["J12"] = "偏差原因分析", "改进措施"
    ws.append(["改进措施", "加强预算执行进度管理"])
    [ev] = read(ff.save(wb), department=EZHOU_DEPT)
    assert ev.measures == ["加强预算执行进度管理"]
    assert len(ev.indicators) == 9
