"""The flat table template: one row per indicator.

Why flat: one sheet (or one CSV) is what units fill in and what other
systems export; it needs no cross-sheet keys, and a CSV of a million rows
reads in one pass. Evaluation, budget and goal columns repeat on every row of
their evaluation; they must agree within an evaluation (the first non-empty
value is used, a different one is an error). 存在问题 and 改进措施 hold one
item per line in the cell.

Reading is vectorised (pandas), validation too: each problem names the file,
sheet, row (as Excel counts, header = row 1) and column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..model import CATEGORIES, SCOPES, PerfevalError, normalize_category, sha256_bytes
from ..safe import FORMULA_STARTS, GUARD, unguard
from ..store import EVAL_COLUMNS, FRAME_COLUMNS, Frames
from . import limits
from .common import ERROR, WARNING, FileResult, Issue, column_letter

DATA_SHEET = "绩效自评"
EXAMPLE_SHEET = "示例"
GUIDE_SHEET = "填写说明"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    required: bool
    kind: str  # text / int / amount / score / bool / lines
    level: str  # evaluation / goal / indicator
    guide: str


COLUMNS = [
    Column("部门", "department", True, "text", "evaluation", "预算单位全称，如“某某街道办事处”"),
    Column("区域", "region", False, "text", "evaluation", "所属区县，如“硚口区”"),
    Column("类别", "kind", False, "text", "evaluation", "单位类别，如“街道”“委局”"),
    Column("年度", "year", True, "int", "evaluation", "评价年度，2000–2100 的整数"),
    Column("评价范围", "scope", False, "text", "evaluation", "“部门整体”或“项目”，空白视为部门整体"),
    Column("项目名称", "project", False, "text", "evaluation", "评价范围为“项目”时填写"),
    Column("自评得分", "self_score", False, "score", "evaluation", "单位自评总分（0–100）"),
    Column("总预算数", "total_budget", False, "amount", "evaluation", "全年预算数（万元）"),
    Column("总执行数", "total_executed", False, "amount", "evaluation", "全年执行数（万元）"),
    Column("基本支出预算数", "basic_budget", False, "amount", "evaluation", "万元"),
    Column("基本支出执行数", "basic_executed", False, "amount", "evaluation", "万元"),
    Column("项目支出预算数", "project_budget", False, "amount", "evaluation", "万元"),
    Column("项目支出执行数", "project_executed", False, "amount", "evaluation", "万元"),
    Column("执行偏差原因", "exec_reason", False, "text", "evaluation", "执行率低于 90% 时说明原因"),
    Column("目标序号", "goal_no", True, "int", "goal", "年度目标编号，从 1 开始"),
    Column("年度目标", "goal_name", True, "text", "goal", "年度目标名称"),
    Column("一级指标", "category", True, "text", "indicator", "产出指标 / 效益指标 / 满意度指标（成本指标计入产出）"),
    Column("二级指标", "subcategory", False, "text", "indicator", "如 数量指标、质量指标、社会效益指标"),
    Column("三级指标", "name", True, "text", "indicator", "指标名称"),
    Column("年度指标值", "target_text", True, "text", "indicator", "如 ≥95%、≤3次、完成"),
    Column("实际完成值", "actual_text", True, "text", "indicator", "如 97%、2次、已完成"),
    Column("分值", "weight", False, "score", "indicator", "该指标分值；全部留空时按评分方案分配"),
    Column("得分", "score", False, "score", "indicator", "单位自评得分"),
    Column("是否完成", "met", False, "bool", "indicator", "是 / 否，可留空"),
    Column("偏差原因", "reason", False, "text", "indicator", "偏差原因分析及改进措施"),
    Column("存在问题", "problems", False, "lines", "evaluation", "每行一条"),
    Column("改进措施", "measures", False, "lines", "evaluation", "每行一条"),
    Column("结果应用", "result_use", False, "lines", "evaluation", "评价结果应用情况，每行一条"),
]
BY_HEADER = {c.header: c for c in COLUMNS}
REQUIRED = [c.header for c in COLUMNS if c.required]
EVAL_FIELDS = [c for c in COLUMNS if c.level == "evaluation"]
YES = {"是", "完成", "已完成", "达成", "true", "TRUE", "True", "1", "Y", "y", "√"}
NO = {"否", "未完成", "未达成", "false", "FALSE", "False", "0", "N", "n", "×"}

# Read limits: a table beyond these is refused before it is parsed in full.
MAX_COLUMNS = 200
MAX_BYTES = 512 * 1024 * 1024


class NotATemplate(PerfevalError):
    """The file is a spreadsheet but not our template (another reader may take it)."""


# --------------------------------------------------------------------------
# Reading the raw table
# --------------------------------------------------------------------------

def _read_csv(name: str, data: bytes) -> pd.DataFrame:
    """The CSV's template columns as text, read in blocks straight from the
    bytes (never decoded whole), refused past MAX_TEMPLATE_ROWS rows or
    MAX_TEMPLATE_TEXT_BYTES of text: a 512 MB CSV the CLI accepts would
    otherwise take minutes and several GB."""
    nul = data.find(b"\x00")
    if nul >= 0:  # anywhere in the file: a NUL never belongs in a name or a value
        # (\n and NUL are never part of a GBK/GB18030 multi-byte character)
        line = data.count(b"\n", 0, nul) + 1
        raise PerfevalError(f"文件 {name} 不是表格文件（第 {line} 行含二进制内容 NUL）。")
    body = pa.py_buffer(data)
    if data.startswith(b"\xef\xbb\xbf"):
        body, encoding = body.slice(3), "utf-8"
    elif _is_utf8(data):
        encoding = "utf-8"
    elif _is_gb18030(data):
        encoding = "gb18030"
    else:
        raise PerfevalError(f"文件 {name}：无法识别编码（支持 UTF-8、带 BOM 的 UTF-8 和 GBK）。")
    first = bytes(body[:min(len(body), 1 << 16)]).split(b"\n", 1)[0]
    header = next(csv.reader([first.decode(encoding, "replace").rstrip("\r")]), [])
    if len(header) > MAX_COLUMNS:
        raise PerfevalError(f"文件 {name}：列数超过 {MAX_COLUMNS}，不是绩效自评模板。")
    if not header or len(set(header)) != len(header):
        raise PerfevalError(f"文件 {name}：第 1 行表头为空或有重复列名。")
    # Only the template's columns are converted (others are dropped anyway).
    wanted = [h for h in header if unguard(h).strip() in BY_HEADER] or header[:1]
    try:
        reader = pacsv.open_csv(
            pa.BufferReader(body),
            # one thread: less memory ahead of the count, and faster on a busy machine
            read_options=pacsv.ReadOptions(encoding=encoding, use_threads=False,
                                           block_size=limits.MAX_TEMPLATE_ROW_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, include_columns=wanted,
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        batches, rows, size = [], 0, 0
        for batch in reader:
            rows += batch.num_rows
            size += batch.nbytes
            if rows > limits.MAX_TEMPLATE_ROWS:
                raise PerfevalError(limits.too_many_rows(name))
            if size > limits.MAX_TEMPLATE_TEXT_BYTES:
                raise PerfevalError(limits.too_much_text(name))
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):  # one row longer than a block
            raise PerfevalError(limits.row_too_long(name)) from exc
        raise PerfevalError(f"文件 {name}：CSV 无法解析（{str(exc)[:200]}）。") from exc
    except UnicodeDecodeError as exc:
        raise PerfevalError(f"文件 {name}：CSV 无法解析（{str(exc)[:200]}）。") from exc
    del batches
    return _unguard_frame(table.to_pandas().fillna(""))


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked in chunks (no decoded copy)."""
    return _decodes(data, "utf-8")


def _is_gb18030(data: bytes) -> bool:
    return _decodes(data, "gb18030")


def _decodes(data: bytes, encoding: str) -> bool:
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    step = 2**20
    try:
        for at in range(0, len(view), step):
            decoder.decode(view[at:at + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _unguard_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo the formula guard of our own CSV export (a leading apostrophe
    before = + - @), so an exported file imports back unchanged."""
    df.columns = [unguard(str(c)) for c in df.columns]
    for col in df.columns:
        s = df[col]
        mask = s.str.startswith(GUARD) & s.str[1:2].isin(FORMULA_STARTS)
        if mask.any():
            df.loc[mask, col] = s[mask].str[1:]
    return df


def _read_xlsx(name: str, data: bytes) -> tuple[str, pd.DataFrame]:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types per format
        raise PerfevalError(f"文件 {name} 不是可读取的 Excel 工作簿（{exc}）。") from exc
    names = wb.sheet_names
    order = [DATA_SHEET] if DATA_SHEET in names else [n for n in names if n != GUIDE_SHEET]
    for sheet in order:
        try:
            rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:  # calamine's XmlError and kin, for a damaged sheet
            raise PerfevalError(f"文件 {name} 的工作表「{sheet}」已损坏，无法读取"
                                f"（{type(exc).__name__}: {str(exc)[:120]}）。") from exc
        if not rows:
            continue
        header = [str(h).strip() for h in rows[0]]
        if not set(REQUIRED) & set(header):
            continue
        if len(rows) - 1 > limits.MAX_TEMPLATE_ROWS:
            raise PerfevalError(limits.too_many_rows(name, sheet))
        body = [[_cell_text(v) for v in r] for r in rows[1:]]
        width = len(header)
        body = [(r + [""] * width)[:width] for r in body]
        return sheet, pd.DataFrame(body, columns=header, dtype=str)
    raise NotATemplate(
        f"文件 {name}：没有找到含“{'、'.join(REQUIRED[:4])}”等表头的工作表，不是绩效自评模板。")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(name: str, data: bytes) -> tuple[str | None, pd.DataFrame]:
    """Return (sheet name or None for csv, table of strings)."""
    if not data or data.isspace():  # (strip() would copy the whole file)
        raise PerfevalError(f"文件 {name} 是空文件。")
    if len(data) > MAX_BYTES:
        raise PerfevalError(f"文件 {name} 超过 {MAX_BYTES // 2**20} MB，请分批导入。")
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return None, _read_csv(name, data)
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return _read_xlsx(name, data)
    raise PerfevalError(f"文件 {name}：不是表格文件（支持 .xlsx、.xls、.csv）。")


# --------------------------------------------------------------------------
# Validation and conversion
# --------------------------------------------------------------------------

def read_template(name: str, data: bytes, *, is_demo: bool = False) -> FileResult:
    """Read and validate a template file. Errors are collected, not raised,
    except when the file cannot be read as a table at all (PerfevalError)."""
    sheet, raw = read_table(name, data)
    result = FileResult(name=name, kind="模板")

    def issue(message, row=None, header=None, severity=ERROR):
        col = None
        if header is not None:
            col = (f"{column_letter(list(raw.columns).index(header))}（{header}）"
                   if sheet is not None else f"“{header}”")
        result.issues.append(Issue(name, message, sheet, row, col, severity))

    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [h for h in REQUIRED if h not in raw.columns]
    if missing:
        issue(f"缺少必填列：{'、'.join(missing)}")
        return result
    raw = raw.loc[:, ~pd.Index(raw.columns).duplicated()]
    raw = raw[[h for h in raw.columns if h in BY_HEADER]]
    for h in BY_HEADER:
        if h not in raw.columns:
            raw[h] = ""
    raw = raw.apply(lambda s: s.str.strip())
    raw = raw[(raw != "").any(axis=1)]  # blank rows are not data
    if raw.empty:
        issue("没有数据行")
        return result
    excel_row = raw.index.to_numpy() + 2
    df = pd.DataFrame(index=raw.index)

    def report(mask, header, message_for):
        bad = np.flatnonzero(mask.to_numpy())
        for pos in bad[:20]:  # the first few are enough to fix a column
            issue(message_for(raw[header].iloc[pos]), int(excel_row[pos]), header)
        if len(bad) > 20:
            issue(f"另有 {len(bad) - 20} 行同样的问题", None, header)

    for col in COLUMNS:
        text = raw[col.header]
        if col.field == "actual_text":
            # A narrative report may state only whether an indicator was met
            # (the store keeps it without an actual value): 是否完成 stands in.
            report((text == "") & (raw["是否完成"] == ""), col.header,
                   lambda v: "“实际完成值”为必填（或填写“是否完成”），不能为空")
        elif col.required:
            report(text == "", col.header, lambda v, c=col: f"“{c.header}”为必填，不能为空")
        if col.kind in ("int", "amount", "score"):
            num = pd.to_numeric(text.str.replace(",", "", regex=False).str.replace("，", ""),
                                errors="coerce")
            given = text != ""
            report(given & num.isna(), col.header, lambda v: f"应为数字，读到“{v}”")
            if col.kind == "int":
                report(given & num.notna() & (num != num.round()), col.header,
                       lambda v: f"应为整数，读到“{v}”")
            if col.field == "year":
                report(num.notna() & ((num < 2000) | (num > 2100)), col.header,
                       lambda v: f"年度必须在 2000–2100 之间，读到“{v}”")
            else:
                report(num < 0, col.header, lambda v: f"不能为负数，读到“{v}”")
            df[col.field] = num
        elif col.kind == "bool":
            report((text != "") & ~text.isin(YES | NO), col.header,
                   lambda v: f"应为“是”或“否”，读到“{v}”")
            df[col.field] = _map_unique(text, lambda v: True if v in YES else False if v in NO else None)
        else:
            df[col.field] = text.where(text != "", None)

    cats = _map_unique(raw["一级指标"], normalize_category)
    report((raw["一级指标"] != "") & cats.isna(), "一级指标",
           lambda v: f"未知的一级指标“{v}”，应为 {'、'.join(c + '指标' for c in CATEGORIES)}")
    df["category"] = cats
    scope = df["scope"].fillna("部门整体")
    report(~scope.isin(SCOPES), "评价范围", lambda v: f"评价范围应为“部门整体”或“项目”，读到“{v}”")
    df["scope"] = scope
    df["project"] = df["project"].fillna("")
    if result.errors:
        return result

    key = ["department", "year", "scope", "project"]
    df["ekey"] = df.groupby(key, sort=False).ngroup()
    dup = df.duplicated(["ekey", "goal_no", "name"], keep="first")
    report(dup, "三级指标", lambda v: f"指标“{v}”在同一目标下重复出现")

    # Evaluation-level columns must agree across the rows of one evaluation.
    for col in EVAL_FIELDS:
        if col.field in key:
            continue
        s = df[col.field]
        counts = s.groupby(df["ekey"]).nunique(dropna=True)
        for ekey in counts[counts > 1].index[:10]:
            rows = df.index[(df["ekey"] == ekey) & s.notna()]
            issue(f"同一评价的各行填写不一致（第 {rows[0] + 2} 行与其他行不同）",
                  int(rows[-1] + 2), col.header)
    goal_names = df.groupby(["ekey", "goal_no"])["goal_name"].nunique()
    for ekey, goal_no in goal_names[goal_names > 1].index[:10]:
        row = df.index[(df["ekey"] == ekey) & (df["goal_no"] == goal_no)][-1]
        issue(f"目标序号 {int(goal_no)} 对应了不同的年度目标名称", int(row + 2), "年度目标")
    if result.errors:
        return result

    first = df.groupby("ekey", sort=True).first()
    for line in ("total", "basic", "project"):
        over = first[f"{line}_executed"] > first[f"{line}_budget"]
        for ekey in first.index[over][:20]:
            row = int(df.index[df["ekey"] == ekey][0] + 2)
            issue("执行数大于预算数，请核实", row, "总执行数" if line == "total" else
                  ("基本支出执行数" if line == "basic" else "项目支出执行数"), WARNING)
    result.frames = _to_frames(df, first, name, sha256_bytes(data), is_demo)
    return result


def _map_unique(s: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` once per distinct value (columns repeat a handful of values)."""
    return s.map({v: fn(v) for v in s.unique()})


def _to_frames(df: pd.DataFrame, first: pd.DataFrame, name: str, checksum: str,
               is_demo: bool) -> Frames:
    ev = first.reset_index()
    ev["source_name"] = name
    ev["checksum"] = checksum
    ev["is_demo"] = is_demo
    ev["year"] = ev["year"].astype(int)
    evaluations = ev.reindex(columns=EVAL_COLUMNS)

    lines = []
    for line in ("total", "basic", "project"):
        part = ev[["ekey", f"{line}_budget", f"{line}_executed"]].rename(
            columns={f"{line}_budget": "budget", f"{line}_executed": "executed"})
        part = part[part["budget"].notna() | part["executed"].notna()].assign(line=line)
        part["reason"] = ev.loc[part.index, "exec_reason"] if line == "total" else None
        lines.append(part)
    budget = pd.concat(lines, ignore_index=True)
    for c in FRAME_COLUMNS["budget_lines"]:
        if c not in budget:
            budget[c] = None

    goals = (df.drop_duplicates(["ekey", "goal_no"])[["ekey", "goal_no", "goal_name"]]
             .rename(columns={"goal_name": "name"}).assign(expected=None, achieved=None))
    goals["goal_no"] = goals["goal_no"].astype(int)
    ind = df.copy()
    ind["goal_no"] = ind["goal_no"].astype(int)
    ind["seq"] = ind.groupby("ekey").cumcount() + 1
    ind["source_text"] = None

    texts = []
    for field, kind in (("problems", "problem"), ("measures", "measure"),
                        ("result_use", "result_use")):
        s = ev.set_index("ekey")[field].dropna()
        if s.empty:
            continue
        items = s.str.split(r"\s*\n\s*").explode()
        items = items[items.str.strip() != ""]
        part = items.rename("text").reset_index()
        part["kind"] = kind
        part["seq"] = part.groupby("ekey").cumcount() + 1
        texts.append(part)
    findings = (pd.concat(texts, ignore_index=True) if texts
                else pd.DataFrame(columns=FRAME_COLUMNS["findings"]))
    empty = {t: pd.DataFrame(columns=FRAME_COLUMNS[t]) for t in ("schedule", "unparsed")}
    return Frames(evaluations, {
        "budget_lines": budget[FRAME_COLUMNS["budget_lines"]],
        "goals": goals[FRAME_COLUMNS["goals"]],
        "indicators": ind[FRAME_COLUMNS["indicators"]].reset_index(drop=True),
        "findings": findings[FRAME_COLUMNS["findings"]],
        **empty,
    })


# --------------------------------------------------------------------------
# Writing: the empty template, and current data in template form (export)
# --------------------------------------------------------------------------

def frame_from_store(store, departments: list[str] | None = None,
                     year: int | None = None) -> pd.DataFrame:
    """Current evaluations as template rows (the export and the round trip)."""
    from ..filters import Filters

    cond, params = Filters(departments=tuple(departments or ()), scope=None).where(
        "e", years=None if year is None else [year])
    df = store.query_df(f"""
        WITH b AS (
            SELECT eval_id,
                   max(budget) FILTER (line = 'total') AS total_budget,
                   max(executed) FILTER (line = 'total') AS total_executed,
                   max(budget) FILTER (line = 'basic') AS basic_budget,
                   max(executed) FILTER (line = 'basic') AS basic_executed,
                   max(budget) FILTER (line = 'project') AS project_budget,
                   max(executed) FILTER (line = 'project') AS project_executed,
                   max(reason) FILTER (line = 'total') AS exec_reason
            FROM budget_lines GROUP BY eval_id),
        f AS (
            SELECT eval_id,
                   string_agg(text, chr(10) ORDER BY seq) FILTER (kind = 'problem') AS problems,
                   string_agg(text, chr(10) ORDER BY seq) FILTER (kind = 'measure') AS measures,
                   string_agg(text, chr(10) ORDER BY seq) FILTER (kind = 'result_use')
                       AS result_use
            FROM findings GROUP BY eval_id)
        SELECT e.department, e.region, e.kind, e.year, e.scope, e.project, e.self_score,
               b.total_budget, b.total_executed, b.basic_budget, b.basic_executed,
               b.project_budget, b.project_executed, b.exec_reason,
               i.goal_no, g.name AS goal_name, i.category || '指标' AS category, i.subcategory,
               i.name, i.target_text, i.actual_text, i.weight, i.score,
               CASE WHEN i.met THEN '是' WHEN NOT i.met THEN '否' END AS met, i.reason,
               CASE WHEN i.seq = 1 THEN f.problems END AS problems,
               CASE WHEN i.seq = 1 THEN f.measures END AS measures,
               CASE WHEN i.seq = 1 THEN f.result_use END AS result_use
        FROM cur_evaluations e
        JOIN indicators i USING (eval_id)
        JOIN goals g ON g.eval_id = e.eval_id AND g.goal_no = i.goal_no
        LEFT JOIN b ON b.eval_id = e.eval_id
        LEFT JOIN f ON f.eval_id = e.eval_id
        WHERE {cond}
        ORDER BY e.department, e.year, e.scope, e.project, i.seq""", params)  # noqa: S608
    df.columns = [next(c.header for c in COLUMNS if c.field == f) for f in df.columns]
    return df


EXAMPLE_ROWS = [
    ["示例街道办事处", "示例区", "街道", 2024, "部门整体", "", 96, 1200, 1150, 500, 500, 700, 650,
     "", 1, "社区治理经费", "产出指标", "数量指标", "网格巡查次数", "≥1200次", "1260次", 25, 25,
     "是", "", "部分项目进度偏慢\n指标设置偏少", "加强进度监控\n完善指标体系", ""],
    ["示例街道办事处", "示例区", "街道", 2024, "部门整体", "", 96, 1200, 1150, 500, 500, 700, 650,
     "", 1, "社区治理经费", "产出指标", "质量指标", "矛盾纠纷调处率", "≥95%", "92%", 25, 24,
     "否", "部分纠纷涉及历史遗留问题", "", "", ""],
    ["示例街道办事处", "示例区", "街道", 2024, "部门整体", "", 96, 1200, 1150, 500, 500, 700, 650,
     "", 1, "社区治理经费", "效益指标", "社会效益指标", "重复信访发生率", "≤5%", "3%", 30, 30,
     "是", "", "", "", ""],
    ["示例街道办事处", "示例区", "街道", 2024, "部门整体", "", 96, 1200, 1150, 500, 500, 700, 650,
     "", 1, "社区治理经费", "满意度指标", "服务对象满意度指标", "居民满意度", "≥90%", "93%", 10, 10,
     "是", "", "", "", ""],
]


def write_template(path: str | Path, rows: pd.DataFrame | None = None) -> Path:
    """Write the template workbook: data sheet (empty, or ``rows``), example, guide."""
    import xlsxwriter

    path = Path(path)
    headers = [c.header for c in COLUMNS]
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    head = wb.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
    req = wb.add_format({"bold": True, "bg_color": "#F8CBAD", "border": 1})

    def sheet(name, data):
        ws = wb.add_worksheet(name)
        for j, c in enumerate(COLUMNS):
            ws.write_string(0, j, c.header, req if c.required else head)
            ws.set_column(j, j, max(10, len(c.header) * 2 + 2))
        for i, row in enumerate(data, start=1):
            for j, v in enumerate(row):
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    continue
                if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, str(v))
        ws.freeze_panes(1, 0)

    data_rows = [] if rows is None else rows[headers].astype(object).values.tolist()
    sheet(DATA_SHEET, data_rows)
    sheet(EXAMPLE_SHEET, EXAMPLE_ROWS)
    guide = wb.add_worksheet(GUIDE_SHEET)
    for j, h in enumerate(["列名", "是否必填", "说明"]):
        guide.write_string(0, j, h, head)
    for i, c in enumerate(COLUMNS, start=1):
        guide.write_string(i, 0, c.header)
        guide.write_string(i, 1, "必填" if c.required else "选填")
        guide.write_string(i, 2, c.guide)
    notes = [
        "每行一个三级指标；部门、年度、预算、存在问题等评价级信息在同一评价的各行重复填写（或只填第一行）。",
        "金额单位为万元；一级指标只能是 产出指标、效益指标、满意度指标（成本指标计入产出）。",
        "导入时只读取“绩效自评”工作表；“示例”工作表仅供参考。CSV 文件可用 UTF-8 或 GBK 编码。",
    ]
    for k, note in enumerate(notes, start=len(COLUMNS) + 2):
        guide.write_string(k, 0, note)
    guide.set_column(0, 0, 18)
    guide.set_column(2, 2, 60)
    wb.close()
    return path
