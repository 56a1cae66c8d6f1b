"""Build official self-evaluation form workbooks with openpyxl, for the tests.

One builder per layout: central 财预〔2020〕10号 附件1 (鄂州 figures), Hubei
(年初目标值, amounts in 元), Sichuan (青神 figures, template text left in),
Yunnan (指标性质/度量单位 filled in), and 部门整体 (荣华街道 figures). Each
lays the form out as units do: merged labels, merged 一级/二级指标 cells,
placeholder rows (指标2, ……, —), amounts written several ways.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet


@dataclass
class M:
    """A cell spanning ``span`` columns and ``down`` rows."""

    value: object
    span: int = 1
    down: int = 1
    fmt: str | None = None


class SheetWriter:
    """Write rows left to right, skipping cells taken by earlier vertical merges."""

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.r = 1
        self.taken: set[tuple[int, int]] = set()

    def row(self, *items) -> int:
        c = 1
        for item in items:
            while (self.r, c) in self.taken:
                c += 1
            cell = item if isinstance(item, M) else M(item)
            if cell.value is not None:
                self.ws.cell(self.r, c, cell.value)
                if cell.fmt:
                    self.ws.cell(self.r, c).number_format = cell.fmt
            if cell.span > 1 or cell.down > 1:
                self.ws.merge_cells(start_row=self.r, start_column=c,
                                    end_row=self.r + cell.down - 1,
                                    end_column=c + cell.span - 1)
            for rr in range(self.r, self.r + cell.down):
                for cc in range(c, c + cell.span):
                    self.taken.add((rr, cc))
            c += cell.span
        self.r += 1
        return self.r - 1


def save(wb: openpyxl.Workbook, path: Path | None = None) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    if path is not None:
        Path(path).write_bytes(buf.getvalue())
    return buf.getvalue()


# An indicator row: (一级, 二级, 三级, 指标值, 完成值, 分值, 得分, 偏差原因);
# 三级 None is an empty template row.
Row = tuple


def _indicator_rows(w: SheetWriter, rows: list[Row], *, merge: bool, width: int = 8) -> None:
    """Indicator rows with 一级/二级 merged over their runs (or, with merge
    False, written on the first row only, as an unmerged .xls shows them)."""
    def runs(key) -> list[int]:
        out, n = [], 0
        for i, row in enumerate(rows):
            if i and key(row) == key(rows[i - 1]):
                n += 1
            else:
                if n:
                    out.append(n)
                n = 1
        out.append(n)
        return out

    l1_runs = runs(lambda r: r[0])
    l2_runs = runs(lambda r: (r[0], r[1]))
    starts1 = {sum(l1_runs[:k]): n for k, n in enumerate(l1_runs)}
    starts2 = {sum(l2_runs[:k]): n for k, n in enumerate(l2_runs)}
    for i, row in enumerate(rows):
        cells: list = []
        if i in starts1:
            cells.append(M(row[0], down=starts1[i] if merge else 1))
        elif not merge:
            cells.append(None)
        if i in starts2:
            cells.append(M(row[1], down=starts2[i] if merge else 1))
        elif not merge:
            cells.append(None)
        cells.extend(row[2:width])
        w.row(*cells)


# --------------------------------------------------------------------------
# Central layout (财预〔2020〕10号 附件1)
# --------------------------------------------------------------------------

EZHOU_INDICATORS: list[Row] = [
    ("产出指标", "数量指标", "预算执行率", "100%", "83.5%", 20, 18, None),
    ("产出指标", "数量指标", "预算资金拨款率", "100%", "100%", 10, 10, None),
    ("产出指标", "数量指标", None, None, None, None, None, None),
    ("产出指标", "质量指标", "政务服务工作办结率", "100%", "100%", 10, 10, None),
    ("产出指标", "质量指标", "大厅业务日常考核结果", "100%", "100%", 10, 10, None),
    ("产出指标", "质量指标", None, None, None, None, None, None),
    ("产出指标", "时效指标", "指标2", "……", "……", None, None, None),
    ("产出指标", "时效指标", None, None, None, None, None, None),
    ("产出指标", "成本指标", "市民中心运行维护费", "150万", "150万", 10, 10, None),
    ("产出指标", "成本指标", "—", "—", "—", "—", "—", None),
    ("效益指标", "经济效益\n指标", "大厅运行正常率", "100%", "100%", 10, 10, None),
    ("效益指标", "经济效益\n指标", None, None, None, None, None, None),
    ("效益指标", "社会效益\n指标", "岗位服务规范率", "100%", "100%", 10, 10, None),
    ("效益指标", "社会效益\n指标", "/", "/", "/", "/", "/", "/"),
    ("效益指标", "可持续影响指标", "服务大厅长效运行机制", "健全", "健全", 10, 10, None),
    ("满意度指标", "服务对象满意度指标", "办事群众满意度", "≥95%", "98%", 10, 10, None),
    ("满意度指标", "服务对象满意度指标", None, None, None, None, None, None),
]

EZHOU_BUDGET = [
    # label, 年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分
    ("年度资金总额", "150万", "150万", "125.25万", 100, "83.5%", 98),
    ("其中：当年财政拨款", "150万", "150万", "125.25万", "—", None, "—"),
    ("上年结转资金", 0, 0, 0, "—", None, "—"),
    ("其他资金", 0, 0, 0, "—", None, "—"),
]

EZHOU_GOAL = (
    "为更好的建设行政服务大厅窗口建设和全市行政服务工作的组织协调、业务指导及督办检查;"
    "市政务服务大厅及周边设施日常维修升级改造费用。",
    "本年度财政拨款为150万元:执行数为125.25万元,完成预算的83.50%。",
)


def central_sheet(ws: Worksheet, *, project: str, year: int, authority: str | None = None,
                  unit: str | None = None, budget=EZHOU_BUDGET, goal=EZHOU_GOAL,
                  indicators: list[Row] = EZHOU_INDICATORS, total=(100, 98),
                  target_header: str = "年度\n指标值", money_label: str = "项目资金\n（万元）",
                  title: str = "项目支出绩效自评表", year_text: str | None = None,
                  merge: bool = True) -> None:
    w = SheetWriter(ws)
    w.row(M(title, span=9))
    w.row(M(year_text or f"( {year} 年度)", span=9))
    w.row("项目名称", M(project, span=8))
    w.row("主管部门", M(authority, span=4), "实施单位", M(unit, span=3))
    w.row(M(money_label, down=len(budget) + 1), None, "年初预算数", "全年预算数（A）",
          "全年执行数（B）", "分值", "执行率（B/A）", "得分", None)
    for label, initial, planned, executed, weight, rate, score in budget:
        rate_cell = M(rate, fmt="0.0%") if isinstance(rate, float) else rate
        w.row(label, initial, planned, executed, weight, rate_cell, score, None)
    w.row(M("年度总体目标", down=2), M("预期目标", span=4), M("实际完成情况", span=4))
    w.row(M(goal[0], span=4), M(goal[1], span=4))
    w.row(M("绩 效 指 标", down=len(indicators) + 1), "一级指标", "二级指标", "三级指标",
          target_header, "实际\n完成值", "分值", "得分", "偏差原因分析及改进措施")
    _indicator_rows(w, indicators, merge=merge)
    w.row(M("总分", span=6), total[0], total[1], None)


def ezhou_form(path: Path | None = None, *, authority: str | None = None) -> bytes:
    """鄂州市行政审批局 2021 市民中心运行维护费, as published (主管部门 empty)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "市民中心运行维护费"
    central_sheet(ws, project="市民中心运行维护费", year=2021, authority=authority)
    return save(wb, path)


# --------------------------------------------------------------------------
# Hubei: 年初目标值, amounts in 元, 得分 = 分值 × 执行率
# --------------------------------------------------------------------------

HUBEI_INDICATORS: list[Row] = [
    ("产出指标", "数量指标", "新建高标准农田面积", "≥1万亩", "1.2万亩", 20, 20, None),
    ("产出指标", "质量指标", "工程验收合格率", 1.0, 1.0, 15, 15, None),
    ("产出指标", "时效指标", "项目完工及时率", "100%", "90%", 15, 13.5, "受汛期影响部分工程延期"),
    ("产出指标", "成本指标", "指标1", "……", "……", None, None, None),
    ("效益指标", "经济效益指标", "亩均增产", "≥50公斤", "60公斤", 15, 15, None),
    ("效益指标", "社会效益指标", "指标2", None, None, None, None, None),
    ("效益指标", "生态效益指标", "农田灌溉水有效利用系数", "≥0.56", "0.57", 15, 15, None),
    ("满意度指标", "服务对象满意度指标", "受益农户满意度", "≥90%", "95%", 10, 10, None),
]

HUBEI_BUDGET = [
    ("年度资金总额", 1500000, 2000000, "1,600,000.00", 10, 0.8, 8),
    ("其中：当年财政拨款", 1500000, 1800000, 1440000, "—", 0.8, "—"),
    ("上年结转资金", 0, "200000元", "16万元", "—", 0.8, "—"),
    ("其他资金", "—", "—", "—", "—", None, "—"),
]


def hubei_form(path: Path | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "高标准农田"
    central_sheet(
        ws, project="高标准农田建设项目", year=2022, authority="咸安区农业农村局",
        unit="咸安区农业技术推广中心", budget=HUBEI_BUDGET,
        goal=("新建高标准农田1万亩，改善灌溉条件。", "新建高标准农田1.2万亩，工程全部验收合格。"),
        indicators=HUBEI_INDICATORS, total=(100, 96.5), target_header="年初目标值",
        money_label="项目资金（元）", year_text="（2022年度）")
    # Percent-formatted numbers, as Excel stores a typed "100%".
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == 1.0 and cell.column in (5, 6):
                cell.number_format = "0%"
    return save(wb, path)


# --------------------------------------------------------------------------
# Sichuan (青神县发展和改革局 2023) and a filled-in Yunnan-style form
# --------------------------------------------------------------------------


def sichuan_sheet(ws: Worksheet, *, project: str, authority: str, unit: str, year: int,
                  goal: tuple, budget: list, indicators: list, total: tuple,
                  conclusion: str, problems: str, measures: str,
                  title: str = "部门预算项目支出绩效自评表") -> None:
    w = SheetWriter(ws)
    w.row(M("报表编号:510000_0013zp", span=11))
    w.row(M(f"{title}({year}年度)", span=11))
    w.row("项目名称", M(project, span=10))
    w.row("主管部门", M(authority, span=4), M("实施单位\n(盖章)", span=2), M(unit, span=4))
    w.row(M("项目基本情况", down=5), M("1.项目年度目标完成情况", span=10))
    w.row(M("项目年度目标", span=5), M("年度目标完成情况", span=5))
    w.row(M(goal[0], span=5), M(goal[1], span=5))
    w.row(M("2.项目实施内容及过程概述", span=10))
    w.row(M(None, span=10))
    w.row(M("预算执行情况(10分)", down=len(budget) + 1), "年度预算数(万元)", "年初预算",
          "调整后预算数", "预算执行数", "预算执行率", "权重", "得分", M("原因", span=3))
    for k, (label, initial, planned, executed, rate, weight, score) in enumerate(budget):
        reason = (M("1.预算执行率=预算执行数/调整后预算数,预算执行率未达到90%的需说明原因"
                    "(100字以内);2.年中发生预算调整的(追加或调减),应单独说明理由;"
                    "3.其他资金包括:社会投入资金、银行贷款.", span=3, down=len(budget))
                  if k == 0 else None)
        w.row(label, initial, planned, executed, rate, weight, score,
              *([reason] if reason else []))
    w.row(M("绩效指标(90分)", down=len(indicators) + 1), "一级指标", "二级指标", "三级指标",
          "指标性质", "指标值", "度量单位", "完成值", "权重", "得分", "未完成原因分析")
    _indicator_rows(w, indicators, merge=True, width=11)
    w.row(M("合计", span=8), total[0], total[1], None)
    w.row("评价结论", M(conclusion, span=10))
    w.row("存在问题", M(problems, span=10))
    w.row("改进措施", M(measures, span=10))
    w.row("项目负责人:", M(None, span=4), "财务负责人:", M(None, span=5))


def qingshen_form(path: Path | None = None) -> bytes:
    """青神县发展和改革局 2023 工资性支出, as published (template text left in)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "工资性支出"
    sichuan_sheet(
        ws, project="51000021R000000019951-工资性支出", authority="青神县发展和改革局本级",
        unit="青神县发展和改革局", year=2023,
        goal=("严格执行相关政策,保障工资及时、足额发放或社保及时、足额缴纳,预算编制科学合理,"
              "减少结余资金。", "对照年度目标,说明相关任务目标的完成情况(100字以内)"),
        budget=[("总额", 238.93, 251.89, 251.89, "100.00%", 10, None),
                ("其中:财政资金", 238.93, 251.89, 251.89, "100.00%", "/", "/"),
                ("财政专户管理资金", 0.0, 0.0, 0.0, "0.00%", "/", "/"),
                ("单位资金", 0.0, 0.0, 0.0, "0.00%", "/", "/"),
                ("其他资金", None, None, None, None, "/", "/")],
        indicators=[("产出指标", "数量指标", "发放(缴纳)覆盖率", "=", 100, "%", None, 60, None,
                     None),
                    ("效益指标", "社会效益指标", "足额保障率(参保率)", "=", 100, "%", None, 30,
                     None, None)],
        total=(100, None),
        conclusion="结合自评情况,说明项目自评总分,说明项目实施取得的成效或成果。(200字以内)",
        problems="结合自评情况,分析存在的问题及原因。(200字以内)",
        measures="针对项目自评中发现的问题,提出下一步改进完善的意见及有关政策性建议。(200字以内)")
    return save(wb, path)


def yunnan_form(path: Path | None = None) -> bytes:
    """A filled-in 指标性质/度量单位 form (figures of 牟定县 2020 公路安全生命防护工程)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "生命防护工程"
    sichuan_sheet(
        ws, project="2020年第一批公路安全生命防护工程", authority="牟定县交通运输局",
        unit="牟定县公路管理段", year=2020, title="项目支出绩效自评表",
        goal=("完成公路安全生命防护工程8公里。", "完成波型护栏1820米，标志标牌18块，处治里程8公里。"),
        budget=[("总额", 56, 56, 54.6, "97.50%", 10, 9.75),
                ("其中:财政资金", 56, 56, 54.6, "97.50%", "/", "/"),
                ("其他资金", "—", "—", "—", None, "/", "/")],
        indicators=[
            ("产出指标", "数量指标", "处治里程", "≥", 8, "公里", 8, 20, 20, None),
            ("产出指标", "数量指标", "波型护栏", "≥", 1800, "米", 1820, 10, 10, None),
            ("产出指标", "质量指标", "交工验收合格率", "=", 100, "%", 100, 10, 10, None),
            ("产出指标", "时效指标", "完工时间", "定性", "2020年6月底前", None, "2020年6月20日",
             10, 10, None),
            ("产出指标", "成本指标", "每公里造价", "≤", 7, "万元", 6.83, 10, 10, None),
            ("产出指标", "成本指标", "指标2", None, None, None, None, None, None, None),
            ("效益指标", "社会效益指标", "交通事故发生数", "=", 0, "起", 0, 15, 15, None),
            ("满意度指标", "服务对象满意度指标", "沿线群众满意度", "≥", 90, "%", 95, 15, 15,
             None)],
        total=(100, 99.75),
        conclusion="该项目自评得分99.75分，评价等级为优。",
        problems="1.项目前期工作准备不够充分；\n2.资金拨付进度偏慢。",
        measures="1.提前做好项目储备；\n2.加快资金拨付进度。")
    return save(wb, path)


# --------------------------------------------------------------------------
# 部门整体支出绩效自评表 (荣华街道 2022)
# --------------------------------------------------------------------------

RONGHUA_INDICATORS: list[Row] = [
    ("产出指标", "数量指标", "网格案结率", "100%", "100%", 15, 15, None),
    ("产出指标", "数量指标", "网格信息更新率", "100%", "100%", 10, 10, None),
    ("产出指标", "质量指标", "信访积案化解率", "100%", "30%", 10, 9, "涉及资金缺口过大"),
    ("产出指标", "质量指标", "消防隐患整治率", "99%", "70%", 10, 9, "未纳入老旧改造工程"),
    ("产出指标", "质量指标", "……", "……", "……", None, None, None),
    ("效益指标", "社会效益指标", "党性教育覆盖率", "100%", "100%", 15, 15, None),
    ("效益指标", "社会效益指标", "非访劝返率", "100%", "100%", 15, 15, None),
    ("满意度指标", "服务对象满意度指标", "辖区群众满意度", "≥90%", "95%", 15, 15, None),
]


def ronghua_form(path: Path | None = None, *, merge: bool = True,
                 department: str | None = "武汉市硚口区荣华街道办事处") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门整体"
    w = SheetWriter(ws)
    w.row(M("部门整体支出绩效自评表", span=9))
    w.row(M("（2022年度）", span=9))
    w.row(M("部门（单位）名称", span=2), M(department, span=7))
    w.row(M("部门整体资金\n（万元）", down=4), None, "年初预算数", "全年预算数", "全年执行数",
          "分值", "执行率", "得分", None)
    w.row("年度资金总额", "5,431.28", "5431.28", 5431.28, 10, "100%", 10)
    w.row("其中：基本支出", 2033.69, 2033.69, 2033.69, "—", "100%", "—")
    w.row("项目支出", 3397.59, 3397.59, 3397.59, "—", "100%", "—")
    w.row(M("年度总体目标", down=2), M("预期目标", span=4), M("实际完成情况", span=4))
    w.row(M("保障街道运行，做好网格管理、信访维稳、消防安全和党建工作。", span=4),
          M("网格案结率100%，信访积案化解率30%，消防隐患整治率70%。", span=4))
    w.row(M("年度绩效指标", down=len(RONGHUA_INDICATORS) + 1), "一级指标", "二级指标",
          "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施")
    _indicator_rows(w, RONGHUA_INDICATORS, merge=merge)
    w.row(M("总分", span=6), 100, 98, None)
    w.row(M("存在问题", span=2), M("1.信访积案化解偏差大；\n2.消防隐患整改共有2处未完成。", span=7))
    w.row(M("改进措施", span=2), M("加快实施消防隐患整改进度。", span=7))
    return save(wb, path)


# --------------------------------------------------------------------------
# Many small project forms, for the folder import
# --------------------------------------------------------------------------


def project_form(path: Path | None, *, k: int, department: str = "鄂州市行政审批局",
                 year: int = 2021) -> bytes:
    """Project k: budget 100+k 万元, executed 90+k, two indicators."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = f"项目{k}"
    budget = [("年度资金总额", f"{100 + k}万元", f"{100 + k}万元", f"{90 + k}万元", 10, None, 9),
              ("其中：当年财政拨款", 100 + k, 100 + k, 90 + k, "—", None, "—")]
    indicators = [("产出指标", "数量指标", f"服务事项{k}办结数", f"≥{k}件", f"{k + 1}件", 50, 50,
                   None),
                  ("满意度指标", "服务对象满意度指标", "群众满意度", "≥90%", "92%", 40, 40, None)]
    central_sheet(ws, project=f"政务服务项目{k:02d}", year=year, authority=department,
                  budget=budget, indicators=indicators, total=(100, 99),
                  goal=(f"完成项目{k}。", f"项目{k}已完成。"))
    return save(wb, path)


# --------------------------------------------------------------------------
# .xls (Excel 97-2003), as many units still send: the same sheet, via xlwt
# --------------------------------------------------------------------------


def to_xls(xlsx: bytes, *, merges: bool = True) -> bytes:
    """Copy every sheet of an openpyxl-built workbook into an .xls, with its
    merged ranges (or, with merges False, the values only, as a sheet whose
    merges were lost shows them)."""
    import xlwt

    src = openpyxl.load_workbook(io.BytesIO(xlsx))
    book = xlwt.Workbook(encoding="utf-8")
    for ws in src.worksheets:
        out = book.add_sheet(ws.title)
        covered = set()
        if merges:
            for m in ws.merged_cells.ranges:
                out.write_merge(m.min_row - 1, m.max_row - 1, m.min_col - 1, m.max_col - 1,
                                ws.cell(m.min_row, m.min_col).value)
                covered |= {(r, c) for r in range(m.min_row, m.max_row + 1)
                            for c in range(m.min_col, m.max_col + 1)}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and (cell.row, cell.column) not in covered:
                    out.write(cell.row - 1, cell.column - 1, cell.value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def stack_forms(parts: list[bytes], *, gap: int = 2, drop_title_rows: dict | None = None) -> bytes:
    """Several one-form workbooks copied one below another into a single sheet
    (values, number formats, merges), as some departments publish them.
    ``drop_title_rows`` {part index: n} leaves out a part's first n rows."""
    drop_title_rows = drop_title_rows or {}
    wb = openpyxl.Workbook()
    out = wb.active
    out.title = "全部项目"
    top = 0
    for k, part in enumerate(parts):
        ws = openpyxl.load_workbook(io.BytesIO(part)).active
        skip = drop_title_rows.get(k, 0)
        for row in ws.iter_rows(min_row=skip + 1):
            for cell in row:
                if cell.value is not None:
                    target = out.cell(top + cell.row - skip, cell.column, cell.value)
                    target.number_format = cell.number_format
        for m in ws.merged_cells.ranges:
            if m.min_row > skip:
                out.merge_cells(start_row=top + m.min_row - skip, start_column=m.min_col,
                                end_row=top + m.max_row - skip, end_column=m.max_col)
        top += ws.max_row - skip + gap
    return save(wb)


# --------------------------------------------------------------------------
# Published tables as workbooks: 池州市贵池区棠溪镇 2022 (Anhui: a 年度资金总额
# row of zeros, 一级指标 carrying points, 指标1： prefixes, a 总分 row) and a
# Yunnan 公开表 (two-row 年度指标值 header, amounts in 元)
# --------------------------------------------------------------------------

GUICHI_INDICATORS: list[Row] = [
    ("产出指标（50分）", "数量指标", "指标1：基建工程委托业务项目数量", "≥50个", "50", 8, 8, None),
    ("产出指标（50分）", "数量指标", "指标2：", None, None, None, None, None),
    ("产出指标（50分）", "质量指标", "指标1：委托业务报告合格率", "≥100百分比", "100", 8, 8, None),
    ("产出指标（50分）", "质量指标", "指标2：经费支出合规性", "严格执行相关制度规定", "达成预期指标", 8,
     8, None),
    ("产出指标（50分）", "时效指标", "指标1：提交报告及时性", "在项目计划完成时间内完成",
     "达成预期指标", 8, 8, None),
    ("产出指标（50分）", "成本指标", "指标1：项目总成本", "≤90万元", "90", 8, 8, None),
    ("产出指标（50分）", "成本指标", "指标2：单项业务成本", "符合相关规定", "达成预期指标", 10, 10,
     None),
    ("产出指标（50分）", "成本指标", "……", None, None, None, None, None),
    ("效益(30分)", "社会效益指标", "对维护基建市场公平的影响程度", "效果明显", "达成预期指标", 10, 10,
     None),
    ("效益(30分)", "生态效益指标", "对控制基建项目成本影响程度", "效果明显", "达成预期指标", 10, 10,
     None),
    ("效益(30分)", "可持续影响指标", "对推动基建项目“四项制度”健全和落实的持续性影响", "效果明显",
     "达成预期指标", 10, 10, None),
    ("效益(30分)", "经济效益指标", "/", "/", "/", None, None, None),
    ("满意度指标（10分）", "满意度指标", "公众满意度", "≥90%", "95%", 10, 10, None),
]

GUICHI_BUDGET = [
    ("年度资金总额：", 0, 0, 0, 10, 0, 0),
    ("其中：本年财政拨款", 90, 89.974, 89.974, None, None, None),
    ("上年结转资金", None, None, None, None, None, None),
    ("其他资金", None, None, None, None, None, None),
]


def guichi_form(path: Path | None = None, *, merge: bool = True) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "委托业务项目"
    central_sheet(ws, project="委托业务项目", year=2022, authority="219-池州市贵池区棠溪镇人民政府",
                  unit="219001-池州市贵池区棠溪镇人民政府", budget=GUICHI_BUDGET,
                  goal=("本项目共申请预算资金90万元。", "本项目共完成预算资金89.97万元。"),
                  indicators=GUICHI_INDICATORS, total=(100, 98), merge=merge,
                  year_text="(2022年度)")
    return save(wb, path)


def yunnan_public_form(path: Path | None = None, *, merge: bool = True) -> bytes:
    """牟定县公路管理段 2020 (figures of yunnan_form) as a 公开表: amounts in 元 and
    a two-row indicator header."""
    rows = [r for r in [
        ("产出指标", "数量指标", "处治里程", "≥", 8, "公里", 8, 20, 20, None),
        ("产出指标", "数量指标", "波型护栏", "≥", 1800, "米", 1820, 10, 10, None),
        ("产出指标", "质量指标", "交工验收合格率", "=", 100, "%", 100, 10, 10, None),
        ("产出指标", "时效指标", "完工时间", "定性", "2020年6月底前", None, "2020年6月20日",
         10, 10, None),
        ("产出指标", "成本指标", "每公里造价", "≤", 7, "万元", 6.83, 10, 10, None),
        ("效益指标", "社会效益指标", "交通事故发生数", "=", 0, "起", 0, 15, 15, None),
        ("满意度指标", "服务对象满意度指标", "沿线群众满意度", "≥", 90, "%", 95, 15, 14,
         "个别路段施工期间通行不便"),
    ]]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "公开09表"
    w = SheetWriter(ws)
    w.row(M("项目支出绩效自评表", span=11))
    w.row(M("公开09表", span=8), M("单位：元", span=3))
    w.row(M("（2020年度）", span=11))
    w.row("项目名称", M("2020年第一批公路安全生命防护工程", span=10))
    w.row("主管部门", M("牟定县交通运输局", span=4), M("实施单位", span=2),
          M("牟定县公路管理段", span=4))
    w.row(M("项目资金", down=3), None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率",
          "得分", M(None, span=3))
    w.row("年度资金总额", 560000, 560000, 546000, 10, "97.50%", 9.75)
    w.row("其中：财政拨款", 560000, 560000, 546000, "—", "97.50%", "—")
    w.row(M("绩效指标", down=len(rows) + 2), M("一级指标", down=2), M("二级指标", down=2),
          M("三级指标", down=2), M("年度指标值", span=3), M("实际完成值", down=2),
          M("分值", down=2), M("得分", down=2), M("偏差原因分析及改进措施", down=2))
    w.row("指标性质", "指标值", "度量单位")
    _indicator_rows(w, rows, merge=merge, width=11)
    w.row(M("总分", span=8), 100, 98.75, None)
    if not merge:  # merges lost: every covered cell empty, as an .xls copy shows them
        for m in list(ws.merged_cells.ranges):
            ws.unmerge_cells(str(m))
    return save(wb, path)
