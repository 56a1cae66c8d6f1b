"""Write evaluations as the central-layout self-evaluation form (财预〔2020〕10号 附件1).

One worksheet per evaluation: title and year, 项目名称/主管部门 (or
部门（单位）名称), the funds block in 万元, 年度总体目标, the indicator block
with merged 一级/二级指标 cells, the 总分 row, then 存在问题/改进措施/
上年度自评结果应用. :func:`perfeval.ingest.forms.read_form_workbook` reads
the file back to the same data.

The central form has one 年度总体目标 per project. An evaluation with several
goals (a 部门整体 report lists a dozen) keeps them: each goal row of the goal
block starts ``目标N：`` and a full-width row ``目标N：名称`` opens that goal's
indicators. An evaluation with one goal named 年度总体目标 is written as the
plain central form.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import xlsxwriter

from .ingest.forms import CONCLUSION, DEFAULT_GOAL_NAME
from .model import Evaluation, PerfevalError

LINE_LABELS = {
    "total": "年度资金总额",
    "basic": "基本支出",
    "project": "项目支出",
    "fiscal": "当年财政拨款",
    "carryover": "上年结转资金",
    "other": "其他资金",
}
LINE_ORDER = ("total", "basic", "project", "fiscal", "carryover", "other")
NCOLS = 9  # A..I
MAX_SHEETS = 1000  # beyond this a workbook is unusable; filter by department or year


def _sheet_names(evals: Sequence[Evaluation]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for ev in evals:
        base = ev.project if ev.scope == "项目" and ev.project else f"{ev.department.name}整体"
        base = re.sub(r"[\[\]:*?/\\']", "_", base).strip() or "自评表"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            suffix = f"({n})"
            name = base[:31 - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def _runs(keys: list) -> list[tuple[int, int]]:
    """(start, length) of each run of equal consecutive keys."""
    out: list[tuple[int, int]] = []
    for i, k in enumerate(keys):
        if out and keys[out[-1][0]] == k:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((i, 1))
    return out


def _plain(ev: Evaluation) -> bool:
    return not ev.goals or (len(ev.goals) == 1 and ev.goals[0].no == 1
                            and ev.goals[0].name == DEFAULT_GOAL_NAME)


class _Sheet:
    def __init__(self, wb: xlsxwriter.Workbook, ws, fmts: dict):
        self.wb, self.ws, self.f = wb, ws, fmts

    def put(self, r: int, c: int, value, fmt: str = "cell", r2: int | None = None,
            c2: int | None = None) -> None:
        """Write a value, merging to (r2, c2); text is always written as text
        (a target such as "=0" or "-5%" must not become a formula)."""
        f = self.f[fmt]
        r2 = r if r2 is None else r2
        c2 = c if c2 is None else c2
        if (r2, c2) != (r, c):
            self.ws.merge_range(r, c, r2, c2, None, f)
        if value is None or value == "":
            self.ws.write_blank(r, c, None, f)
        elif isinstance(value, bool):
            self.ws.write_string(r, c, "是" if value else "否", f)
        elif isinstance(value, int | float):
            self.ws.write_number(r, c, value, f)
        else:
            self.ws.write_string(r, c, str(value), f)


def _write_sheet(sh: _Sheet, ev: Evaluation) -> None:
    put = sh.put
    last = NCOLS - 1
    project_scope = ev.scope == "项目"
    title = "项目支出绩效自评表" if project_scope else "部门整体支出绩效自评表"
    put(0, 0, title, "title", c2=last)
    put(1, 0, f"（{ev.year}年度）", "subtitle", c2=last)
    if project_scope:
        put(2, 0, "项目名称", "head")
        put(2, 1, ev.project, "cell", c2=last)
        put(3, 0, "主管部门", "head")
        put(3, 1, ev.department.name, "cell", c2=4)
        put(3, 5, "实施单位", "head")
        put(3, 6, None, "cell", c2=last)
        r = 4
    else:
        put(2, 0, "部门（单位）名称", "head")
        put(2, 1, ev.department.name, "cell", c2=last)
        r = 3

    # Funds block.
    lines = sorted(ev.budget, key=lambda b: LINE_ORDER.index(b.line)) or []
    n_lines = max(len(lines), 1)
    put(r, 0, "项目资金（万元）" if project_scope else "部门整体资金（万元）", "head",
        r2=r + n_lines)
    for c, text in enumerate(("", "年初预算数", "全年预算数（A）", "全年执行数（B）", "分值",
                              "执行率（B/A）", "得分", "偏差原因"), start=1):
        put(r, c, text, "head")
    r += 1
    if not lines:
        put(r, 1, LINE_LABELS["total"], "label")
        for c in range(2, NCOLS):
            put(r, c, None)
        r += 1
    for k, b in enumerate(lines):
        label = LINE_LABELS[b.line]
        if k == 1 and lines[0].line == "total":
            label = "其中：" + label
        put(r, 1, label, "label")
        put(r, 2, b.initial, "money")
        put(r, 3, b.budget, "money")
        put(r, 4, b.executed, "money")
        put(r, 5, b.weight, "num")
        put(r, 6, b.rate, "pct")
        put(r, 7, b.score, "num")
        put(r, 8, b.reason, "text")
        r += 1

    # Goal block.
    plain = _plain(ev)
    goals = ev.goals or []
    n_goal_rows = max(len(goals), 1)
    put(r, 0, "年度总体目标", "head", r2=r + n_goal_rows)
    put(r, 1, "预期目标", "head", c2=4)
    put(r, 5, "实际完成情况", "head", c2=last)
    r += 1
    if not goals:
        put(r, 1, None, "text", c2=4)
        put(r, 5, None, "text", c2=last)
        r += 1
    for g in goals:
        expected = g.expected if plain else f"目标{g.no}：{g.expected or ''}"
        put(r, 1, expected, "text", c2=4)
        put(r, 5, g.achieved, "text", c2=last)
        r += 1

    # Indicator block: one row per indicator, plus a 目标N row per goal when not plain.
    rows: list[tuple[str, object]] = []
    for g in goals:
        if not plain:
            rows.append(("goal", g))
        rows.extend(("ind", i) for i in g.indicators)
    put(r, 0, "绩效指标", "head", r2=r + max(len(rows), 1))
    for c, text in enumerate(("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值",
                              "分值", "得分", "偏差原因分析及改进措施"), start=1):
        put(r, c, text, "head")
    r += 1
    if not rows:
        for c in range(1, NCOLS):
            put(r, c, None)
        r += 1
    start = r
    # Merge 一级 over runs of a category and 二级 over runs of (category, 二级),
    # never across a goal row.
    seg = 0
    keys1, keys2 = [], []
    for kind, item in rows:
        if kind == "goal":
            seg += 1
            keys1.append(("goal", seg))
            keys2.append(("goal", seg))
        else:
            keys1.append((seg, item.category))
            keys2.append((seg, item.category, item.subcategory))
    for k, (kind, item) in enumerate(rows):
        if kind == "goal":
            put(start + k, 1, f"目标{item.no}：{item.name}", "goal", c2=last)
            continue
        put(start + k, 3, item.name, "text")
        put(start + k, 4, item.target, "text")
        put(start + k, 5, item.actual, "text")
        put(start + k, 6, item.weight, "num")
        put(start + k, 7, item.score, "num")
        put(start + k, 8, item.reason, "text")
    for i, n in _runs(keys1):
        if rows[i][0] == "ind":
            put(start + i, 1, f"{rows[i][1].category}指标", "label", r2=start + i + n - 1)
    for i, n in _runs(keys2):
        if rows[i][0] == "ind":
            sub = rows[i][1].subcategory
            # "—" marks "no 二级指标" so a reader carrying 二级 down stops here.
            text = "—" if not sub else (sub if sub.endswith("指标") else f"{sub}指标")
            put(start + i, 2, text, "label", r2=start + i + n - 1)
    r = start + len(rows)

    weights = [i.weight for g in goals for i in g.indicators if i.weight is not None]
    weights += [b.weight for b in lines if b.line == "total" and b.weight is not None]
    put(r, 0, "总分", "head", c2=5)
    put(r, 6, sum(weights) if weights else None, "num")
    put(r, 7, ev.self_score, "num")
    put(r, 8, None)
    r += 1
    # 评价结论 (Sichuan/Yunnan forms) is kept by the reader as unparsed text.
    conclusion = [t.removeprefix(CONCLUSION) for t in ev.unparsed if t.startswith(CONCLUSION)]
    boxes = [("评价结论", conclusion)] if conclusion else []
    boxes += [("存在问题", ev.problems), ("改进措施", ev.measures),
              ("上年度自评结果应用", ev.result_use)]
    for label, texts in boxes:
        put(r, 0, label, "head")
        put(r, 1, "\n".join(texts) or None, "text", c2=last)
        r += 1

    ws = sh.ws
    ws.set_column(0, 0, 12)
    ws.set_column(1, 2, 14)
    ws.set_column(3, 3, 24)
    ws.set_column(4, 7, 12)
    ws.set_column(8, 8, 28)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def write_form(evals: Sequence[Evaluation], path: str | Path | BinaryIO) -> int:
    """Write the evaluations, one sheet each; returns the number of sheets."""
    evals = list(evals)
    if not evals:
        raise PerfevalError("没有可写出的评价。")
    if len(evals) > MAX_SHEETS:
        raise PerfevalError(f"共 {len(evals)} 份评价，超过单个工作簿 {MAX_SHEETS} 个工作表的上限，"
                            "请按部门或年度分别导出。")
    wb = xlsxwriter.Workbook(path if not isinstance(path, Path) else str(path),
                             {"in_memory": True})
    base = {"border": 1, "valign": "vcenter", "font_name": "宋体", "font_size": 10,
            "text_wrap": True}
    fmts = {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center",
                                "font_name": "宋体"}),
        "subtitle": wb.add_format({"align": "center", "font_name": "宋体"}),
        "head": wb.add_format({**base, "bold": True, "align": "center"}),
        "label": wb.add_format({**base, "align": "center"}),
        "goal": wb.add_format({**base, "bold": True, "bg_color": "#EEF3FA"}),
        "cell": wb.add_format(base),
        "text": wb.add_format(base),
        "money": wb.add_format({**base, "num_format": "0.00##"}),
        "num": wb.add_format({**base, "num_format": "0.##"}),
        "pct": wb.add_format({**base, "num_format": "0.00%"}),
    }
    for ev, name in zip(evals, _sheet_names(evals), strict=True):
        _write_sheet(_Sheet(wb, wb.add_worksheet(name), fmts), ev)
    wb.close()
    return len(evals)


def export_store_forms(store, out: str | Path | BinaryIO, *,
                       departments: Sequence[str] | str | None = None, year: int | None = None,
                       scope: str | None = None) -> int:
    """Write the current evaluations matching the filters; returns sheets written."""
    if isinstance(departments, str):
        departments = [departments]
    from .filters import Filters, evaluations_sql

    depts = list(departments) if departments else None
    sql, params = evaluations_sql(Filters(departments=tuple(depts or ()), scope=scope),
                                  years=None if year is None else [year], columns="e.eval_id")
    ids = store.query_df(f"{sql} ORDER BY e.department, e.year, e.scope, e.project",
                         params)["eval_id"]
    if ids.empty:
        what = "、".join(x for x in (*(depts or []), f"{year} 年度" if year else None, scope)
                        if x)
        raise PerfevalError(f"没有符合条件的评价{('（' + what + '）') if what else ''}。")
    return write_form([store.load(int(i)) for i in ids], out)


__all__ = ["export_store_forms", "write_form"]
