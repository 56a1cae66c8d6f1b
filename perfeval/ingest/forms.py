"""Read the official self-evaluation form workbooks (项目支出 / 部门整体 自评表).

Units fill in the forms of 财预〔2020〕10号 附件1 and their provincial
variants, one worksheet (or one workbook) per project. The reader finds the
blocks by their header words, never by fixed addresses:

- the header labels 项目名称 / 主管部门 / 实施单位 (or 部门（单位）名称) and the
  year in the title, ``（2021年度）``;
- the funds block, whose header row holds 全年预算数/调整后预算数 and
  全年执行数/预算执行数 beside 年初预算数, 执行率, 分值/权重 or 得分; its rows
  (年度资金总额, 其中：当年财政拨款, 上年结转资金, 其他资金, 基本支出, 项目支出)
  become budget lines in 万元;
- the goal block 预期目标 | 实际完成情况 (Sichuan: 项目年度目标 | 年度目标完成情况);
- the indicator block 一级指标 | 二级指标 | 三级指标 | 年度指标值 (年初目标值;
  Sichuan/Yunnan 指标性质 + 指标值 + 度量单位) | 实际完成值 (完成值) | 分值 (权重)
  | 得分 | 偏差原因, ending at the 总分/合计 row;
- the text boxes 评价结论 / 存在问题 / 改进措施 / 上年度自评结果应用.

Layout families read the same way: 一级指标 labels carrying points
(产出指标（50分）, 效益(30分)); a two-row indicator header (年度指标值 spanning
指标性质/指标值/度量单位 on the row below, 实际完成值/分值/得分 on the first
row only); placeholder rows (指标2：, ……, /, an empty name) skipped and 指标1：
numbering dropped from names; a 年度资金总额 row of zeros while the funding
lines hold figures (the total becomes their sum, with a warning); the 总分 row
as the reported total. The evaluated unit is the 实施单位 (or the 部门/单位名称
/填报单位 line, also written ``填报单位：名称`` in one cell), its 主管部门 the
parent; budget-system codes (``219001-``, ``51000021R…-``) are no part of
names. A form that states no unit or no year is still read: department ""
and year None, which the pipeline asks the user for.

Merged cells are followed (every cell of a merge reads the top-left value);
where the file carries no merge information (some .xls), the last non-empty
一级/二级指标 is carried down, which reads merged cells the same way.

Beyond the central form, a sheet written by :mod:`perfeval.formwriter` may
carry several goals: goal rows start ``目标N：`` in the goal block and a
full-width row ``目标N：名称`` in the indicator block opens each goal's
indicators.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..model import (
    BudgetLine,
    Department,
    Evaluation,
    Goal,
    Indicator,
    PerfevalError,
    normalize_category,
    sha256_bytes,
)
from ..rules import YUAN_PER_WAN
from .amounts import parse_amount, parse_number, parse_rate


class FormError(PerfevalError):
    """A form that cannot be read; the message names file, sheet and cell."""


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
DEFAULT_GOAL_NAME = "年度总体目标"
# The model has no field for 评价结论: it is kept as unparsed text with this prefix.
CONCLUSION = "评价结论："

# A form is small; a sheet beyond this is data, not a form, and is cut here.
MAX_ROWS = 2000
MAX_COLS = 60


# --------------------------------------------------------------------------
# Cell texts
# --------------------------------------------------------------------------

_PAREN = re.compile(r"[（(][^（()）]*[)）]")


def _norm(text) -> str:
    """A header/label text reduced for matching: NFKC, no spaces, no (…)."""
    if text is None:
        return ""
    t = unicodedata.normalize("NFKC", str(text))
    t = "".join(t.split())
    t = _PAREN.sub("", t)
    return t.rstrip(":：")


_PLACEHOLDER = re.compile(
    r"^(?:[—\-－_/／\\…\.。、·,，~～*＊\[\]]+"  # dashes, slashes, dots, [...]
    r"|指标\s*[0-9一二三四五六七八九十]+\s*[:：]?"  # 指标1, 指标二, 指标2：
    r"|[一二三]级指标|指标名称|x+|X+)$"
)


def is_placeholder(text: str | None) -> bool:
    """True for the template fillers that mean "nothing here"."""
    if text is None:
        return True
    t = unicodedata.normalize("NFKC", str(text)).strip()
    if not t:
        return True
    # Instructions left in a text box: "...（200字以内）".
    return bool(_PLACEHOLDER.match(t)) or "字以内" in t


def _fmt_number(v: float) -> str:
    return f"{v:.10g}"


def _text(v) -> str | None:
    """The cell as display text, None when empty or a placeholder."""
    if v is None:
        return None
    if isinstance(v, float):
        v = _fmt_number(v)
    t = str(v).replace("\r\n", "\n").strip()
    return None if is_placeholder(t) else t


def cell_name(row: int, col: int) -> str:
    """Excel address of 0-based (row, col): (11, 2) → ``C12``."""
    letters = ""
    c = col + 1
    while c:
        c, rem = divmod(c - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


# --------------------------------------------------------------------------
# Sheets as grids
# --------------------------------------------------------------------------


@dataclass
class Grid:
    """One worksheet's cells; merged cells resolve to their top-left value."""

    file: str
    sheet: str
    cells: list[list]  # raw values: str | float | None, only at merge origins
    merged_to: dict[tuple[int, int], tuple[int, int]]  # covered cell → origin
    offset: int = 0  # row of cells[0] in the sheet (a form stacked below another)

    def slice(self, start: int, end: int) -> Grid:
        """Rows [start, end) as a grid of their own; merges reaching outside are dropped."""
        merged = {(r - start, c): (r0 - start, c0)
                  for (r, c), (r0, c0) in self.merged_to.items()
                  if start <= r < end and start <= r0 < end}
        return Grid(self.file, self.sheet, self.cells[start:end], merged, self.offset + start)

    @property
    def nrows(self) -> int:
        return len(self.cells)

    @property
    def ncols(self) -> int:
        return max((len(r) for r in self.cells), default=0)

    def raw(self, r: int, c: int):
        if (r, c) in self.merged_to or r >= len(self.cells) or c >= len(self.cells[r]):
            return None
        return self.cells[r][c]

    def value(self, r: int, c: int):
        r0, c0 = self.merged_to.get((r, c), (r, c))
        if r0 >= len(self.cells) or c0 >= len(self.cells[r0]):
            return None
        return self.cells[r0][c0]

    def where(self, r: int | None, c: int | None = None) -> str:
        place = f"文件 {self.file} 工作表“{self.sheet}”"
        if r is None:
            return place
        r += self.offset
        if c is None:
            return f"{place} 第 {r + 1} 行"
        return f"{place} 第 {r + 1} 行 {cell_name(r, c)}"

    def error(self, r: int | None, c: int | None, what: str) -> FormError:
        return FormError(f"{self.where(r, c)}：{what}")


def _clean_cell(v, percent: bool = False):
    if v is None or isinstance(v, bool):
        return None if v is None else ("是" if v else "否")
    if isinstance(v, int | float):
        if percent:
            return _fmt_number(float(v) * 100) + "%"
        return float(v)
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    t = str(v).strip()
    return t or None


def _merges_to_map(ranges: Iterable[tuple[int, int, int, int]]) -> dict:
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    for r0, c0, r1, c1 in ranges:
        r1, c1 = min(r1, MAX_ROWS - 1), min(c1, MAX_COLS - 1)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    merged[(r, c)] = (r0, c0)
    return merged


def _grids_openpyxl(name: str, data: bytes) -> list[Grid]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    grids = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        cells = []
        for row in ws.iter_rows(max_row=min(ws.max_row, MAX_ROWS),
                                max_col=min(ws.max_column, MAX_COLS)):
            cells.append([_clean_cell(c.value, "%" in (c.number_format or ""))
                          for c in row])
        ranges = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                  for m in ws.merged_cells.ranges]
        grids.append(Grid(name, ws.title, cells, _merges_to_map(ranges)))
    wb.close()
    return grids


def _grids_calamine(name: str, data: bytes) -> list[Grid]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    grids = []
    for sheet_name in wb.sheet_names:
        sheet = wb.get_sheet_by_name(sheet_name)
        rows = sheet.to_python(skip_empty_area=False, nrows=MAX_ROWS)
        cells = [[_clean_cell(v if v != "" else None) for v in r[:MAX_COLS]] for r in rows]
        ranges = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
        grids.append(Grid(name, sheet_name, cells, _merges_to_map(ranges)))
    return grids


def load_grids(path: Path, data: bytes | None = None, *, engine: str | None = None) -> list[Grid]:
    """The sheets of a workbook: openpyxl for .xlsx, python-calamine for .xls."""
    name = Path(path).name
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FormError(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
    engine = engine or ("calamine" if Path(path).suffix.lower() == ".xls" else "openpyxl")
    try:
        if engine == "calamine":
            return _grids_calamine(name, data)
        return _grids_openpyxl(name, data)
    except FormError:
        raise
    except Exception as exc:  # any reader failure means "not a readable workbook"
        raise FormError(f"文件 {name} 不是可读取的 Excel 工作簿（{type(exc).__name__}）。"
                        "请确认文件未损坏，且为 .xlsx 或 .xls 格式。") from exc


# --------------------------------------------------------------------------
# Header words
# --------------------------------------------------------------------------

# Indicator block columns: key → header texts (after _norm).
IND_HEADERS = {
    "l1": ("一级指标",),
    "l2": ("二级指标",),
    "name": ("三级指标", "指标名称"),
    "nature": ("指标性质",),
    "target": ("年度指标值", "年初目标值", "指标值", "目标值", "年度目标值", "预期指标值",
               "年初指标值", "计划指标值"),
    "unit": ("度量单位", "计量单位", "单位"),
    "actual": ("实际完成值", "完成值", "全年实际值", "实际值", "全年完成值", "实际完成情况"),
    "weight": ("分值", "权重"),
    "score": ("得分", "自评得分"),
    "reason": ("偏差原因分析及改进措施", "未完成原因分析", "偏差原因分析", "偏差原因",
               "未完成原因分析及改进措施", "原因分析及改进措施", "未完成原因和改进措施",
               "偏差原因分析及改进措施说明"),
}

BUDGET_HEADERS = {
    "initial": ("年初预算数", "年初预算"),
    "budget": ("全年预算数", "调整后预算数", "调整后预算", "全年预算", "预算数"),
    "executed": ("全年执行数", "预算执行数", "执行数", "实际执行数", "全年实际执行数"),
    "weight": ("分值", "权重"),
    "rate": ("执行率", "预算执行率", "资金执行率"),
    "score": ("得分",),
    "reason": ("原因", "偏差原因", "原因说明", "偏差原因分析", "执行偏差原因"),
}

GOAL_HEADERS = {
    "expected": ("预期目标", "项目年度目标", "年度目标", "总体目标", "年度预期目标"),
    "achieved": ("实际完成情况", "年度目标完成情况", "目标完成情况", "完成情况",
                 "年度总体目标完成情况"),
}

LABELS = {
    "project": ("项目名称",),
    "authority": ("主管部门", "主管部门名称"),
    "unit": ("实施单位", "实施单位名称"),
    "dept": ("部门名称", "单位名称", "部门", "预算部门", "部门单位名称", "填报单位", "预算单位",
             "预算单位名称", "填报单位名称"),
    "conclusion": ("评价结论", "自评结论", "总体评价结论"),
    "problems": ("存在问题", "存在的问题", "存在问题及原因", "存在的问题和原因",
                 "存在的问题及原因"),
    "measures": ("改进措施", "下一步改进措施", "改进意见", "改进措施及建议",
                 "下一步改进措施及建议"),
    "result_use": ("上年度自评结果应用", "结果应用", "自评结果应用", "上年度绩效自评结果应用"),
}
ALL_LABEL_TEXTS = {t for texts in LABELS.values() for t in texts}

TOTAL_ROW_WORDS = ("总分", "合计", "总计", "自评总分", "综合得分", "自评得分")

# Budget row label → line code; the first word found wins, most specific first.
LINE_WORDS = (
    ("basic", ("基本支出",)),
    ("project", ("项目支出",)),
    ("carryover", ("上年结转",)),
    ("fiscal", ("财政拨款", "财政资金", "一般公共预算")),
    ("other", ("其他资金", "财政专户", "单位资金", "社会资金")),
    ("total", ("资金总额", "总额", "合计", "总计")),
)

_YEAR_PAREN = re.compile(r"[（(]\s*(\d{4})\s*年度?\s*[）)]")
_YEAR_WORD = re.compile(r"(\d{4})\s*年度")
_YEAR_PLAIN = re.compile(r"(20\d{2})\s*年(?!\s*\d{1,2}\s*月)")  # not a date
# 219001-池州市贵池区棠溪镇人民政府: the budget system's unit code is no part of the name.
_UNIT_CODE = re.compile(r"^\s*[0-9A-Za-z]{3,}\s*[-－—_:：]\s*(?=[\u4e00-\u9fff])")


def _unit_name(text: str | None) -> str | None:
    if not text:
        return None
    return _UNIT_CODE.sub("", text.split("\n")[0]).strip() or None


# 指标1：发放率 / 指标1发放率: the template's numbering is no part of the name.
_INDICATOR_NO = re.compile(r"^\s*指标\s*[0-9一二三四五六七八九十]+\s*[:：、.．]?\s*")
# 51000021R000000019951-工资性支出: the budget system's project code is no part of the name.
_PROJECT_CODE = re.compile(r"^\s*[0-9A-Za-z]{10,}\s*[-－_—:：]\s*")
_GOAL_SEP = re.compile(r"^目标\s*(\d+)\s*[:：]\s*(.*)$", re.S)
_YUAN_UNIT = re.compile(r"[（(]\s*元\s*[）)]|单位\s*[:：]\s*元")
_INLINE_LABEL = re.compile(r"^\s*([^:：]{1,8}?)\s*[:：]\s*(\S.{0,60})$", re.S)
_INLINE_KEYS = ("dept", "unit", "authority", "project")


def _inline_label(v) -> tuple[str, str] | None:
    """A cell holding label and value at once: ``填报单位：某某局`` → (key, value)."""
    if not isinstance(v, str):
        return None
    m = _INLINE_LABEL.match(unicodedata.normalize("NFKC", v))
    if not m:
        return None
    label = _norm(m.group(1))
    value = _text(m.group(2).strip())
    key = next((k for k in _INLINE_KEYS if label in LABELS[k]), None)
    if key is None or not value:
        return None
    return key, value.split("\n")[0].strip()


def _header_map(grid: Grid, r: int, headers: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Columns of a header row: key → first column whose text is one of its words."""
    found: dict[str, int] = {}
    for c in range(grid.ncols):
        t = _norm(grid.raw(r, c))
        if not t:
            continue
        for key, words in headers.items():
            if key not in found and t in words:
                found[key] = c
                break
    return found


def _row_texts(grid: Grid, r: int) -> list[str]:
    return [_norm(grid.raw(r, c)) for c in range(grid.ncols) if grid.raw(r, c) is not None]


def _find_rows(grid: Grid, test) -> list[int]:
    return [r for r in range(grid.nrows) if test(set(_row_texts(grid, r)))]


def _is_ind_header(texts: set[str]) -> bool:
    return "一级指标" in texts and bool(texts & {"三级指标", "指标名称"})


def _is_budget_header(texts: set[str]) -> bool:
    has = {k for k, words in BUDGET_HEADERS.items() if texts & set(words)}
    return {"budget", "executed"} <= has and bool(has & {"initial", "rate", "weight", "score"})


def _is_goal_header(texts: set[str]) -> bool:
    return bool(texts & set(GOAL_HEADERS["expected"])) and bool(
        texts & set(GOAL_HEADERS["achieved"]))


# --------------------------------------------------------------------------
# The cheap check
# --------------------------------------------------------------------------


_HEAD_LABELS = {"项目名称", "部门名称", "单位名称", "部门单位名称"}


def _looks_like_rows(rows: list[set[str]]) -> bool:
    """An indicator header row below a 项目名称/部门名称 label (the flat
    template has all of them in one header row: not a form)."""
    for k, texts in enumerate(rows):
        if "一级指标" in texts and texts & {"三级指标", "年度指标值", "年初目标值", "指标值"}:
            if any(r & _HEAD_LABELS for r in rows[:k]):
                return True
    return False


def looks_like_form(path: Path | str, data: bytes | None = None) -> bool:
    """Whether any sheet holds a form's header words (一级指标, 三级指标 or 指标值,
    项目名称 or 部门名称). Reads cell values only (python-calamine), no layout."""
    from python_calamine import CalamineWorkbook

    try:
        src = io.BytesIO(data) if data is not None else io.BytesIO(Path(path).read_bytes())
        wb = CalamineWorkbook.from_filelike(src)
        for sheet_name in wb.sheet_names:
            rows = wb.get_sheet_by_name(sheet_name).to_python(nrows=200)
            if _looks_like_rows([{_norm(v) for v in row[:MAX_COLS] if isinstance(v, str) and v}
                                 for row in rows]):
                return True
    except Exception:  # unreadable → not a form; the real reader reports why
        return False
    return False


# --------------------------------------------------------------------------
# One sheet → one evaluation
# --------------------------------------------------------------------------


class _SheetReader:
    def __init__(self, grid: Grid, department: str | None, year: int | None,
                 warnings: list[str]):
        self.g = grid
        self.default_department = department
        self.default_year = year
        self.warnings = warnings
        self.unparsed: list[str] = []

    # -- helpers ------------------------------------------------------------
    def warn(self, r: int, c: int | None, what: str) -> None:
        self.warnings.append(f"{self.g.where(r, c)}：{what}")

    def labels(self, skip_rows: set[int]) -> dict[str, tuple[int, int, str | None]]:
        """Label key → (row, col, value to its right), first occurrence wins.
        Block header rows are skipped (a 改进措施 column is no text box)."""
        g = self.g
        out: dict[str, tuple[int, int, str | None]] = {}
        for r in range(g.nrows):
            if r in skip_rows:
                continue
            for c in range(g.ncols):
                t = _norm(g.raw(r, c))
                inline = _inline_label(g.raw(r, c))
                if inline and inline[0] not in out:
                    out[inline[0]] = (r, c, inline[1])
                    continue
                if not t or t not in ALL_LABEL_TEXTS:
                    continue
                key = next(k for k, words in LABELS.items() if t in words)
                if key in out:
                    continue
                value = None
                for c2 in range(c + 1, g.ncols):
                    v = g.raw(r, c2)
                    if v is None:
                        continue
                    if _norm(v) not in ALL_LABEL_TEXTS:
                        value = _text(v)
                    break
                out[key] = (r, c, value)
        return out

    def year(self, before_row: int) -> int | None:
        g = self.g
        for pattern in (_YEAR_PAREN, _YEAR_WORD, _YEAR_PLAIN):
            for r in range(min(before_row, g.nrows)):
                for c in range(g.ncols):
                    v = g.raw(r, c)
                    if isinstance(v, str):
                        m = pattern.search(unicodedata.normalize("NFKC", v))
                        if m and 2000 <= int(m.group(1)) <= 2100:
                            return int(m.group(1))
        return self.default_year  # None: the caller asks the user (FileResult.needs)

    def number(self, r: int, c: int | None, what: str, parse=parse_number) -> float | None:
        if c is None:
            return None
        v = self.g.value(r, c)
        try:
            return parse(v)
        except ValueError:
            raise self.g.error(r, c, f"{what}“{v}”不是数字") from None

    # -- blocks -------------------------------------------------------------
    def budget(self, hdr: int, end: int) -> list[BudgetLine]:
        g = self.g
        cols = _header_map(g, hdr, BUDGET_HEADERS)
        factor = 1.0
        for r in range(hdr + 1):
            for c in range(g.ncols):
                v = g.raw(r, c)
                if isinstance(v, str) and _YUAN_UNIT.search(unicodedata.normalize("NFKC", v)):
                    factor = 1 / YUAN_PER_WAN
        first_num = min(cols[k] for k in ("initial", "budget", "executed") if k in cols)
        lines: dict[str, BudgetLine] = {}
        rates: dict[str, tuple[int, float]] = {}
        for r in range(hdr + 1, end):
            label = next((_norm(g.raw(r, c)) for c in range(first_num - 1, -1, -1)
                          if _text(g.raw(r, c))), "")
            line = next((code for code, words in LINE_WORDS if any(w in label for w in words)),
                        None)
            if line is None:
                try:
                    stray = any(parse_amount(g.value(r, cols[k]), factor) is not None
                                for k in ("initial", "budget", "executed") if k in cols)
                except ValueError:  # words under the amount columns: another section
                    break
                if stray:
                    self.warn(r, None, f"未识别的资金行“{label}”，已忽略")
                    continue
                if label:  # a new section: the funds block has ended
                    break
                continue
            amounts = {k: self.number(r, cols.get(k), BUDGET_NAMES[k],
                                      lambda v: parse_amount(v, factor))
                       for k in ("initial", "budget", "executed")}
            weight = self.number(r, cols.get("weight"), "分值")
            score = self.number(r, cols.get("score"), "得分")
            reason = _text(g.value(r, cols["reason"])) if "reason" in cols else None
            if all(v is None for v in (*amounts.values(), weight, score)):
                continue
            rate = self.number(r, cols.get("rate"), "执行率", parse_rate)
            if rate is not None:
                rates[line] = (r, rate)
            if line in lines:  # 财政专户 + 单位资金 + 其他资金 all count as other
                old = lines[line]
                for k, v in amounts.items():
                    if v is not None:
                        setattr(old, k, (getattr(old, k) or 0.0) + v)
                continue
            lines[line] = BudgetLine(line, budget=amounts["budget"], executed=amounts["executed"],
                                     initial=amounts["initial"], weight=weight, score=score,
                                     reason=reason)
        self._zero_total(lines, hdr)
        for line, (r, rate) in rates.items():
            computed = lines[line].rate
            if computed is not None and abs(computed - rate) > 0.0005:
                self.warn(r, cols.get("rate"), f"填报执行率 {rate:.2%} 与 执行数/预算数 "
                                               f"{computed:.2%} 不符")
        return list(lines.values())

    def _zero_total(self, lines: dict[str, BudgetLine], hdr: int) -> None:
        """A 年度资金总额 row of zeros while the funding lines hold the figures
        (a common slip): the total is their sum, and the reader says so."""
        total = lines.get("total")
        funding = [lines[k] for k in ("fiscal", "carryover", "other") if k in lines]
        if total is None or not funding:
            return
        stated = [getattr(total, k) for k in ("initial", "budget", "executed")]
        # Only a row that states zeros: an empty total row stays empty (nothing invented).
        if any(stated) or not any(v == 0 for v in stated if v is not None):
            return
        sums = {}
        for k in ("initial", "budget", "executed"):
            vals = [getattr(b, k) for b in funding if getattr(b, k) is not None]
            sums[k] = sum(vals) if vals else None
        if not any(sums.values()):
            return
        for k, v in sums.items():
            setattr(total, k, v)
        self.warn(hdr, None, "“年度资金总额”一行为 0，而资金来源各行有数：总额按资金来源各行合计读入")

    def goal_rows(self, hdr: int, end: int) -> list[tuple[int | None, str | None, str | None]]:
        g = self.g
        cols = _header_map(g, hdr, GOAL_HEADERS)
        ce, ca = cols["expected"], cols["achieved"]
        lo, hi = min(ce, ca), max(ce, ca)

        def first_text(r: int, c0: int, c1: int) -> str | None:
            for c in range(c0, c1):
                if g.raw(r, c) is not None:
                    return _text(g.raw(r, c))
            return _text(g.value(r, c0))

        rows = []
        for r in range(hdr + 1, end):
            left = first_text(r, lo, hi)
            right = first_text(r, hi, g.ncols)
            if left is not None and left == right:  # a full-width section row
                break
            if left and re.match(r"^\d+\s*[.．、]\s*项目", left) and not right and len(left) < 20:
                break
            exp, ach = (left, right) if ce < ca else (right, left)
            if exp is None and ach is None:
                continue
            no = None
            if exp and (m := _GOAL_SEP.match(exp)):
                no, exp = int(m.group(1)), (m.group(2).strip() or None)
            rows.append((no, exp, ach))
        return rows

    def indicators(self, hdr: int, end: int):
        """Indicator rows → (goal separators, indicators by goal no, self score, end row)."""
        g = self.g
        cols = _header_map(g, hdr, IND_HEADERS)
        # Two-row header: 年度指标值 spans 指标性质/指标值/度量单位 on the next row
        # (实际完成值/分值/得分 sit on the first row only, merged down or not).
        if hdr + 1 < end:
            sub = _header_map(g, hdr + 1, {k: IND_HEADERS[k] for k in ("nature", "target", "unit")})
            below = {_norm(g.raw(hdr + 1, c)) for c in range(g.ncols)} - {""}
            if sub and below <= {w for k in ("nature", "target", "unit", "actual", "weight",
                                              "score") for w in IND_HEADERS[k]}:
                cols.update(sub)
                hdr += 1
        for need in ("l1", "name"):
            if need not in cols:
                raise g.error(hdr, None, f"指标表头缺少“{IND_HEADERS[need][0]}”")
        if "target" not in cols:
            raise g.error(hdr, None, "指标表头缺少“年度指标值”（或“年初目标值”“指标值”）")
        if "actual" not in cols:
            raise g.error(hdr, None, "指标表头缺少“实际完成值”（或“完成值”）")
        first_col = cols["l1"]
        weight_col = cols.get("weight", g.ncols)
        seps: list[tuple[int, str]] = []
        by_goal: dict[int | None, list[Indicator]] = {}
        current_goal: int | None = None
        last_l1 = last_l2 = None
        self_score = None
        r = hdr + 1
        while r < end:
            texts = [_norm(g.value(r, c)) for c in range(min(weight_col, g.ncols))]
            if any(t in TOTAL_ROW_WORDS for t in texts):
                # The 总分 row is the reported total: 得分, else (a 总分 | N row) the
                # first number right of the word when no 得分 column holds one.
                self_score = self.number(r, cols.get("score"), "总分")
                r += 1
                break
            row_texts = [_norm(g.raw(r, c)) for c in range(g.ncols)]
            if any(t in ALL_LABEL_TEXTS for t in row_texts):
                break
            sep = _text(g.value(r, first_col))
            if sep and (m := _GOAL_SEP.match(sep)) and sep == _text(g.value(r, cols["name"])):
                current_goal = int(m.group(1))
                seps.append((current_goal, m.group(2).strip() or DEFAULT_GOAL_NAME))
                last_l1 = last_l2 = None
                r += 1
                continue
            l1_raw = g.value(r, cols["l1"])
            if l1_raw is not None:
                l1 = _text(l1_raw)
                if l1 != last_l1:
                    last_l2 = None
                last_l1 = l1
            if "l2" in cols:
                l2_raw = g.value(r, cols["l2"])
                if l2_raw is not None:  # an explicit placeholder clears the carry
                    last_l2 = _text(l2_raw)
            name = _text(g.value(r, cols["name"]))
            if name is not None:
                name = _INDICATOR_NO.sub("", name).strip() or None
            if name is None or is_placeholder(name):
                r += 1
                continue
            if re.fullmatch(r"[-+]?\d+(?:\.\d+)?%?", name):
                # A number is no indicator name: the row is out of line; read nothing from it.
                self.warn(r, cols["name"], f"三级指标“{name}”是数字，该行未读入")
                r += 1
                continue
            cells = [g.value(r, c) for c in range(first_col, g.ncols)]
            source = " | ".join("" if v is None else (_fmt_number(v) if isinstance(v, float)
                                                      else str(v)) for v in cells).rstrip(" |")
            category = normalize_category(_norm(last_l1))
            if category is None:
                self.warn(r, cols["l1"], f"一级指标“{last_l1 or ''}”不是产出/效益/满意度，该行未读入")
                self.unparsed.append(source)
                r += 1
                continue
            sub = _subcategory(last_l2)
            if sub is None and _norm(last_l1).startswith("成本"):
                sub = "成本"
            target = self.target(r, cols)
            actual = _text(g.value(r, cols["actual"]))
            unit = _text(g.value(r, cols["unit"])) if "unit" in cols else None
            if unit and actual and re.fullmatch(r"[-+]?\d+(?:\.\d+)?", actual):
                actual += unit
            by_goal.setdefault(current_goal, []).append(Indicator(
                category=category, name=name, target=target, actual=actual, subcategory=sub,
                weight=self.number(r, cols.get("weight"), "分值"),
                score=self.number(r, cols.get("score"), "得分"),
                reason=_text(g.value(r, cols["reason"])) if "reason" in cols else None,
                source_text=f"{g.sheet}!{r + 1}: {source}"))
            r += 1
        return seps, by_goal, self_score, r

    def target(self, r: int, cols: dict[str, int]) -> str | None:
        """年度指标值; Sichuan/Yunnan combine 指标性质 + 指标值 + 度量单位 (≥95%)."""
        g = self.g
        value = _text(g.value(r, cols["target"]))
        if "nature" not in cols and "unit" not in cols:
            return value
        nature = unicodedata.normalize("NFKC", _text(g.value(r, cols["nature"])) or "") \
            if "nature" in cols else ""
        nature = {">=": "≥", "<=": "≤", "＝": "="}.get(nature, nature)
        unit = _text(g.value(r, cols["unit"])) if "unit" in cols else None
        if value is None:
            return None
        numeric = re.fullmatch(r"[-+]?\d+(?:\.\d+)?", value) is not None
        if not numeric:  # 定性: the value is the words
            return value
        text = value + (unit or "")
        if nature in ("≥", "≤", ">", "<"):
            return nature + text
        if nature == "=" and float(value) == 0:
            # "= 0" is the only equality that scores differently from "at least".
            return "=" + text
        return text

    def texts(self, labels: dict) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in ("conclusion", "problems", "measures", "result_use"):
            if key in labels and labels[key][2]:
                out[key] = [t.strip() for t in labels[key][2].split("\n") if t.strip()]
        return out

    # -- the sheet ----------------------------------------------------------
    def read(self) -> Evaluation | None:
        g = self.g
        ind_rows = _find_rows(g, _is_ind_header)
        if not ind_rows:
            return None
        ind_hdr = ind_rows[0]
        budget_rows = [r for r in _find_rows(g, _is_budget_header) if r < ind_hdr]
        goal_rows_hdr = [r for r in _find_rows(g, _is_goal_header) if r < ind_hdr]
        # Head labels count only above the indicator header (the flat template
        # has 项目名称 in its one header row).
        labels = {k: v for k, v in self.labels({ind_hdr, *budget_rows, *goal_rows_hdr}).items()
                  if v[0] < ind_hdr or k not in ("project", "authority", "unit", "dept")}
        if not budget_rows and not goal_rows_hdr and not any(
                v[0] < ind_hdr for v in labels.values()) and not any(
                _text(g.raw(r, c)) for r in range(ind_hdr) for c in range(g.ncols)):
            return None  # a bare header row (a flat list, our own template): no form
        starts = sorted({ind_hdr, *budget_rows, *goal_rows_hdr})

        def block_end(r: int) -> int:
            return next((s for s in starts if s > r), g.nrows)

        first_block = starts[0]

        def label(key: str) -> str | None:
            return labels[key][2] if key in labels else None

        # The evaluated unit is the 实施单位 (or the 部门/单位 line); its
        # 主管部门 is kept as the parent for roll-up.
        authority = _unit_name(label("authority"))
        dept = (_unit_name(label("unit")) or _unit_name(label("dept")) or authority
                or self.default_department or "")
        parent = authority if authority and authority != dept else None
        if "project" in labels:
            scope = "项目"
            project = label("project")
            if not project:
                r, c, _ = labels["project"]
                project = ""
                self.warn(r, c, "“项目名称”后未填写项目名称")
            else:
                project = _PROJECT_CODE.sub("", project).strip() or project
        else:
            scope, project = "部门整体", ""
        year = self.year(first_block)

        budget = self.budget(budget_rows[0], block_end(budget_rows[0])) if budget_rows else []
        goal_rows = (self.goal_rows(goal_rows_hdr[0], block_end(goal_rows_hdr[0]))
                     if goal_rows_hdr else [])
        seps, by_goal, self_score, _ = self.indicators(ind_hdr, g.nrows)
        goals = _assemble_goals(goal_rows, seps, by_goal)
        texts = self.texts(labels)
        unparsed = list(self.unparsed)
        unparsed += [CONCLUSION + t for t in texts.get("conclusion", [])]
        if not any(gl.indicators for gl in goals):
            self.warn(ind_hdr, None, "指标表中没有填写任何指标")
        return Evaluation(
            department=Department(dept, parent=parent), year=year, scope=scope, project=project,
            self_score=self_score, budget=budget, goals=goals,
            problems=texts.get("problems", []), measures=texts.get("measures", []),
            result_use=texts.get("result_use", []), unparsed=unparsed)


BUDGET_NAMES = {"initial": "年初预算数", "budget": "全年预算数", "executed": "全年执行数"}


def _subcategory(text: str | None) -> str | None:
    if not text:
        return None
    return _norm(text).removesuffix("指标") or None


def _assemble_goals(rows, seps, by_goal) -> list[Goal]:
    goals: dict[int, Goal] = {}
    loose_exp: list[str] = []
    loose_ach: list[str] = []
    for no, name in seps:
        goals.setdefault(no, Goal(no, name))
    for no, exp, ach in rows:
        if no is None:
            loose_exp += [exp] if exp else []
            loose_ach += [ach] if ach else []
            continue
        goal = goals.setdefault(no, Goal(no, DEFAULT_GOAL_NAME))
        goal.expected, goal.achieved = exp, ach
    loose_inds = by_goal.get(None, [])
    if loose_exp or loose_ach or loose_inds:
        no = 1 if 1 not in goals else max(goals) + 1
        goals[no] = Goal(no, DEFAULT_GOAL_NAME, "\n".join(loose_exp) or None,
                         "\n".join(loose_ach) or None, list(loose_inds))
    for no, inds in by_goal.items():
        if no is not None:
            goals[no].indicators.extend(inds)
    return [goals[n] for n in sorted(goals)]


_TITLE_ROW = re.compile(r"自评表|年度|报表编号|填报单位")


def split_stacked_forms(grid: Grid) -> list[Grid]:
    """A sheet holding several forms one below another, cut into one grid each.

    Form k starts at its 项目名称 / 部门（单位）名称 row, together with the title
    rows just above it (自评表, （2021年度）, 报表编号) and blank rows between.
    """
    ind_rows = _find_rows(grid, _is_ind_header)
    if len(ind_rows) <= 1:
        return [grid]
    head_words = set(LABELS["project"]) | set(LABELS["dept"])
    starts = [0]
    for prev, cur in zip(ind_rows, ind_rows[1:], strict=False):
        label_row = next((r for r in range(prev + 1, cur)
                          if set(_row_texts(grid, r)) & head_words), None)
        if label_row is None:
            raise grid.error(cur, None, "同一工作表中有多个指标表，但该指标表上方没有“项目名称”"
                                        "或“部门（单位）名称”；请每个项目一个工作表")
        start = label_row
        for r in range(label_row - 1, max(prev, label_row - 5), -1):
            texts = [str(grid.raw(r, c)) for c in range(grid.ncols) if grid.raw(r, c) is not None]
            if texts and not all(_TITLE_ROW.search(t) for t in texts):
                break
            start = r
        starts.append(start)
    ends = [*starts[1:], grid.nrows]
    return [grid.slice(a, b) for a, b in zip(starts, ends, strict=True)]


def _missing_header_words(grids: Sequence[Grid]) -> list[str]:
    texts = {_norm(v) for g in grids for row in g.cells for v in row if isinstance(v, str)}
    wanted = [("一级指标",), ("三级指标", "指标名称"), ("年度指标值", "年初目标值", "指标值"),
              ("实际完成值", "完成值"), ("项目名称", "部门名称", "单位名称")]
    return ["/".join(f"“{w}”" for w in words) for words in wanted if not texts & set(words)]


def read_form_workbook(path: Path, data: bytes | None = None, *,
                       department: str | None = None, year: int | None = None,
                       warnings: list[str] | None = None,
                       engine: str | None = None) -> list[Evaluation]:
    """Every form sheet of a workbook, one Evaluation each.

    ``department`` names the unit when a project form leaves 主管部门 and
    实施单位 empty; ``year`` is used when the title states none. Warnings
    (unrecognised rows, a stated 执行率 that disagrees with B/A) are appended
    to ``warnings``. Raises FormError naming file, sheet and cell.
    """
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FormError(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
    grids = load_grids(path, data, engine=engine)
    evals = read_form_grids(path.name, grids, department=department, year=year,
                            warnings=warnings)
    if not evals:
        missing = _missing_header_words(grids)
        what = ("未找到表头词语：" + "、".join(missing)) if missing else "没有工作表含完整的指标表头"
        raise FormError(f"文件 {path.name} 既不是 perfeval 导入模板，也不是可识别的绩效自评表：{what}。")
    checksum = sha256_bytes(data)
    for ev in evals:
        ev.checksum = checksum
    return evals


def grids_look_like_form(grids: Sequence[Grid]) -> bool:
    """Whether any grid holds an indicator header (一级指标 with 三级指标/指标名称)."""
    return any(_find_rows(g, _is_ind_header) for g in grids)


def read_form_grids(name: str, grids: Sequence[Grid], *, department: str | None = None,
                    year: int | None = None,
                    warnings: list[str] | None = None) -> list[Evaluation]:
    """The evaluations of grids (worksheets, document tables, text made a grid).

    Department and year stay empty ("" / None) when the form does not state
    them and the caller gave none: the pipeline asks the user for them."""
    warnings = warnings if warnings is not None else []
    evals = []
    for sheet in grids:
        sheet_year = year
        for grid in split_stacked_forms(sheet):
            ev = _SheetReader(grid, department, sheet_year, warnings).read()
            if ev is None:
                continue
            sheet_year = year or ev.year  # a form stacked below may leave out the title
            ev.source_name = Path(name).name
            evals.append(ev)
    keys = [ev.key for ev in evals]
    dup = next((k for k in keys if keys.count(k) > 1 and k[0] and k[1]), None)
    if dup:
        raise FormError(f"文件 {Path(name).name} 中 {dup[0]} {dup[1]} 年度（{dup[3] or dup[2]}）"
                        "出现在多个工作表中。")
    return evals
