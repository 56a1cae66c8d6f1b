"""A unit's 部门整体绩效自评结果, written from its stored evaluation.

The layout is the sample's (tests/fixtures/reports/ronghua-2022.txt):
一、自评结论 （一）自评得分 （二）目标完成情况 1.执行率 2.完成的 3.未完成的
（三）存在的问题和原因 （四）下一步改进措施; 二、佐证材料 （一）基本情况
（二）自评工作开展情况 （三）绩效目标完成情况分析（per goal and 一级指标）
（四）上年度结果应用; and a last part 三、复核意见 with the audit's findings
and the points the scoring rules take off, for the unit to fix before it
publishes.

The text uses the sample's own phrasing, the phrasing the report parser
(:mod:`perfeval.ingest.report`) reads, so a generated report read back
gives the stored figures again (tests/test_reports_unit.py). Hence a few
rules: the title is one paragraph; a paragraph that is not the self-score
never puts 自评 before 得分 and a number; a content paragraph never starts
with 目标 N：; reasons stand in their own paragraph after the indicator, so
their words cannot change the indicator's stated status.
"""

from __future__ import annotations

import re

import pandas as pd

from .. import rules
from ..audit import AuditSettings, audit_store
from ..ingest.report import _VALUE_IN_NAME
from ..model import CATEGORIES, PerfevalError
from ..scoring import DEFAULT_SCHEME, explain, get_scheme, score_evaluation
from .doc import Doc, num, pct, score

CIRCLED = [chr(c) for c in range(0x2460, 0x2474)]  # ①–⑳
CN_NUMBERS = "一二三四五六七八九十"


def find_evaluation(store, department: str, year: int, scope: str = "部门整体",
                    project: str = "") -> int:
    eval_id = store.current_eval_id(department, int(year), scope, project)
    if eval_id is None:
        what = f"{scope}「{project}」" if project else scope
        raise PerfevalError(f"找不到 {department} {year} 年度的{what}评价")
    return eval_id


def unit_report(store, department: str, year: int, *, scope: str = "部门整体",
                project: str = "", scheme: str = DEFAULT_SCHEME) -> Doc:
    eval_id = find_evaluation(store, department, year, scope, project)
    ev = store.load(eval_id)
    es = score_evaluation(ev, get_scheme(scheme))
    findings = audit_store(store, AuditSettings(scheme=scheme), eval_ids=[eval_id])
    return build(ev, es, findings)


def _budget_paragraph(ev) -> str | None:
    """The sample's sentence: 总预算为 A 万元，实际执行金额为 B 万元，资金执行率为 R；其中……"""
    total, basic, project = (ev.budget_line(x) for x in ("total", "basic", "project"))

    def clause(b, budget_label: str, exec_label: str) -> str:
        parts = []
        if b.budget is not None:
            parts.append(f"{budget_label}{num(b.budget)} 万元")
        if b.executed is not None:
            parts.append(f"{exec_label}{num(b.executed)} 万元")
        if b.rate is not None:
            parts.append(f"资金执行率为 {pct(b.rate)}")
        return "，".join(parts)

    head = clause(total, "部门整体支出总预算为 ", "实际执行金额为 ") if total else ""
    subs = []
    if basic:
        subs.append(clause(basic, "基本支出预算总额为 ", "实际执行总额为 "))
    if project:
        subs.append(clause(project, "项目支出预算总额为 ", "实际执行总金额为 "))
    subs = [s for s in subs if s]
    if not head and not subs:
        return None
    text = f"{ev.year} 年度" + (head or "")
    if subs:
        text += ("。其中，" if head else "") + "；".join(subs)
    return text + "。"


def _low_exec_reasons(ev) -> list[str]:
    out = []
    for b in ev.budget:
        if b.rate is not None and b.rate < rules.LOW_EXEC_RATE:
            label = {"total": "总预算", "basic": "基本支出", "project": "项目支出"}.get(b.line, b.line)
            reason = b.reason or "报告未说明原因"
            out.append(f"{label}执行率 {pct(b.rate)}，低于 {rules.pct_text(rules.LOW_EXEC_RATE)}。"
                       f"原因：{reason}")
    return out


def _core(name: str) -> str:
    """The indicator's name without a value written into it (消防隐患整治率 99% → 消防隐患整治率)."""
    return _VALUE_IN_NAME.sub("", name).strip()


def _status(met: bool | None) -> str:
    if met is True:
        return "完成年初目标"
    if met is False:
        return "未完成年初目标"
    return "报告未说明是否完成"


def _item(no: int | None, ind, year: int, unit: str) -> str:
    mark = CIRCLED[no] if no is not None and no < len(CIRCLED) else ""
    target = ind.target or "未填写"
    actual = ind.actual
    if actual and re.search(r"\d", actual) and _core(ind.name):
        sentence = f"{year} 年度{unit}{_core(ind.name)}为 {actual}，{_status(ind.met)}。"
    else:  # a worded actual (部分完成, 有效控制) stands in its own paragraph: see _text_actual
        sentence = f"{year} 年度{unit}{_status(ind.met)}。"
    return f"{mark}{ind.name}（年初目标值：{target}）。{sentence}"


def _text_actual(ind) -> str | None:
    """A worded actual, written after the item: its words (部分完成) would
    otherwise change the status the item's sentence states."""
    if ind.actual and not (re.search(r"\d", ind.actual) and _core(ind.name)):
        return f"实际完成情况：{ind.actual}"
    return None


def _unmet(ev, es) -> list[tuple]:
    """(goal, indicator, stated, computed) of every indicator unmet as stated or as scored."""
    out = []
    for (goal, ind), s in zip(ev.indicators, es.indicators, strict=True):
        computed = s.result.met_computed
        if ind.met is False or computed is False:
            out.append((goal, ind, ind.met, computed))
    return out


def build(ev, es, findings: pd.DataFrame) -> Doc:
    dept = ev.department.name
    year = ev.year
    whole = ev.scope == "部门整体"
    what = "部门整体" if whole else f"{ev.project}项目支出"
    doc = Doc(title=f"{year} 年度{dept}{what}绩效自评结果")
    doc.add_title(doc.title)
    doc.para(f"单位名称：{dept}")
    if not whole:
        doc.para(f"项目名称：{ev.project}")

    doc.heading("一、自评结论", 1)
    doc.heading(f"（一）{'部门整体' if whole else '项目'}绩效自评得分", 2)
    if ev.self_score is not None:
        doc.para(f"“{year} 年度{dept}{what}”绩效自评得分 {score(ev.self_score)}分。")
    elif ev.self_grade:
        doc.para(f"“{year} 年度{dept}{what}”绩效自评等级为“{ev.self_grade}”，报告未填写分数。")
    else:
        doc.para("报告未填写自评分数。")
    parts = [f"预算执行 {score(es.exec_score)} 分（满分 {score(es.exec_weight)} 分）"]
    parts += [f"{c}指标 {score(es.category_scores[c])} 分（满分 {score(es.category_weights[c])} 分）"
              for c in CATEGORIES if es.category_weights.get(c)]
    calc = (f"按评分方案“{es.scheme}”由预算执行率和各项绩效指标重新计算，计算得分为 "
            f"{score(es.total)} 分，等级为“{es.grade}”（{rules.grade_help()}）。其中"
            + "，".join(parts) + "。")
    if es.gap is not None:
        if abs(es.gap) < 0.005:
            calc += "单位所报分数与计算得分一致。"
        else:
            side = "高" if es.gap > 0 else "低"
            calc += f"单位所报分数比计算得分{side} {score(abs(es.gap))} 分。"
    doc.para(calc)

    doc.heading(f"（二）{'部门整体' if whole else '项目'}绩效目标完成情况", 2)
    doc.heading("1.执行率情况", 3)
    budget_text = _budget_paragraph(ev)
    doc.para(budget_text or "报告未填写预算执行数据。")
    for text in _low_exec_reasons(ev):
        doc.para(text)

    inds = ev.indicators
    met_n = sum(i.met is True for _, i in inds)
    unmet_n = sum(i.met is False for _, i in inds)
    other_n = len(inds) - met_n - unmet_n
    doc.heading("2.完成的绩效目标", 3)
    doc.para(f"{year} 年度共设定年度目标 {len(ev.goals)} 个、绩效指标 {len(inds)} 个，"
             f"报告称完成的指标 {met_n} 个，未完成的 {unmet_n} 个"
             + (f"，未说明是否完成的 {other_n} 个" if other_n else "") + "。")
    full = [g for g in ev.goals if g.indicators and all(i.met is True for i in g.indicators)]
    if full:
        doc.para("全部指标完成的年度目标：" + "、".join(f"“{g.name}”" for g in full) + "。")

    doc.heading("3.未完成的绩效目标", 3)
    unmet = _unmet(ev, es)
    if not inds:
        doc.para("报告未设置绩效指标。")
    elif not unmet:
        doc.para("全部绩效指标均完成年初目标值。")
    for goal, ind, stated, _computed in unmet:
        note = {False: "", True: "报告称完成，但按评分规则实际完成值未达到年初目标值；",
                None: "报告未说明是否完成，按评分规则实际完成值未达到年初目标值；"}[stated]
        doc.para(f"“{ind.name}”（{goal.name or '未归入目标'}，{ind.category}指标）：年初目标值 "
                 f"{ind.target or '未填写'}，实际完成值 {ind.actual or '未填写'}，{note}"
                 f"未完成原因：{(ind.reason or '报告未说明原因').rstrip('。；;')}。")

    doc.heading("（三）存在的问题和原因", 2)
    for n, text in enumerate(ev.problems, 1):
        doc.para(f"{n}.{text}")
    doc.heading("（四）下一步改进措施", 2)
    for n, text in enumerate(ev.measures, 1):
        doc.para(f"{n}.{text}")

    doc.heading("二、佐证材料", 1)
    doc.heading("（一）基本情况", 2)
    doc.heading("1.部门支出情况", 3)
    doc.para(budget_text or "报告未填写预算执行数据。")
    doc.heading("2.简要概述年度部门整体绩效目标", 3)
    for g in ev.goals:
        doc.para(f"年度目标 {g.no}：{g.name or '（未命名）'}")
    k = 2
    if ev.schedule:
        doc.heading(f"（{CN_NUMBERS[k - 1]}）部门自评工作开展情况", 2)
        for n, ph in enumerate(ev.schedule, 1):
            when = (f"{ph.start}至{ph.end}" if ph.start and ph.end else
                    f"{ph.end}前" if ph.end else ph.start or "")
            doc.para(f"{n}.{ph.name}" + (f"（{when}）" if when else "") + "。")
        k += 1
    doc.heading(f"（{CN_NUMBERS[k - 1]}）绩效目标完成情况分析", 2)
    k += 1
    doc.heading("1.预算执行情况分析", 3)
    doc.para(budget_text or "报告未填写预算执行数据。")
    doc.heading("2.绩效目标完成情况分析", 3)
    unit = dept
    for g in ev.goals:
        cats = [c for c in CATEGORIES if any(i.category == c for i in g.indicators)]
        cats += sorted({i.category for i in g.indicators} - set(cats))
        if not cats:
            doc.para(f"目标 {g.no}：{g.name or '（未命名）'}（未设置绩效指标）")
            continue
        for n, cat in enumerate(cats, 1):
            head = f"（{n}）{cat}指标完成情况分析"
            doc.heading(f"目标 {g.no}：{head}" if n == 1 else head, 3)
            items = [i for i in g.indicators if i.category == cat]
            for m, ind in enumerate(items):
                doc.para(_item(m if len(items) > 1 else None, ind, year, unit))
                if _text_actual(ind):
                    doc.para(_text_actual(ind))
                if ind.met is False or ind.reason:
                    doc.para(f"偏差原因：{ind.reason or '报告未说明原因'}")
    doc.heading(f"（{CN_NUMBERS[k - 1]}）上年度部门整体部门自评结果应用情况", 2)
    k += 1
    for n, text in enumerate(ev.result_use, 1):
        doc.para(f"{n}.{text}")

    _review(doc, es, findings)
    return doc


def _review(doc: Doc, es, findings: pd.DataFrame) -> None:
    doc.heading("三、复核意见", 1)
    counts = findings["severity"].value_counts() if len(findings) else {}
    sev = "，".join(f"{s} {int(counts.get(s, 0))} 条" for s in ("错误", "警告", "提示"))
    doc.para(f"以下是按财政部门复核规则自动检查本报告的结果，共 {len(findings)} 条（{sev}），"
             "供单位在公开前核实、修正。")
    for n, r in enumerate(findings.itertuples(index=False), 1):
        doc.para(f"【{r.severity}】{n}. {r.title}：{r.message}")
    lost = explain(es)
    if lost:
        doc.para(f"按评分规则，计算得分 {score(es.total)} 分比满分 {score(es.max_score)} 分"
                 f"少 {score(es.max_score - es.total)} 分，失分明细如下：")
        for p in lost:
            where = ("预算执行" if p.kind == "execution" else
                     f"{p.category}指标“{p.indicator}”（{p.goal or '未归入目标'}）")
            doc.para(f"【失分】{where}：分值 {score(p.weight)}，计算 {score(p.score)}，"
                     f"失 {score(p.lost)} 分。{p.reason}")
