"""What ``perfeval parse FILE --json`` prints, for every input kind.

One JSON shape for a template, a form workbook, a document holding a form
and a narrative report. For a file with one evaluation::

    {
      "file": "…", "input_kind": "模板|自评表|报告", "ok": true,
      "needs": ["部门", "年度"],          # fields the user must supply (import --dept/--year)
      "issues": [{"severity": "错误|警告", "message": "…", "sheet": …, "row": …, "column": …}],
      "department": "…", "parent": "…主管部门 or null", "region": …, "kind": "街道|委局|…",
      "year": 2022 or null, "scope": "部门整体|项目", "project": "…",
      "self_score": 98.0 or null, "self_grade": "优" or null,
      "budget": [{"line": "total|basic|project|fiscal|carryover|other",
                  "initial": …, "budget": …, "executed": …, "weight": …, "score": …,
                  "reason": …}],          # amounts in 万元
      "goals": [{"no": 1, "name": "…", "indicators": [
          {"category": "产出|效益|满意度", "subcategory": …, "name": "…", "target": …,
           "actual": …, "met": …, "weight": 分值, "score": 得分, "reason": 偏差原因}]}],
      "problems": […], "measures": […], "result_use": […], "schedule": […],
      "unparsed": […], "warnings": ["…reader's own doubts…"]
    }

Every key of :func:`perfeval.ingest.report.to_json_dict` is there with its
meaning (``kind`` is the unit's kind). A file with several evaluations (a
workbook of projects) prints ``{"file", "input_kind", "ok", "needs",
"issues", "evaluations": [ {…one evaluation…}, … ]}``; a file with none
prints the same with an empty list. Absent figures are ``null``, never 0.
"""

from __future__ import annotations

from ..model import BudgetLine, Department, Evaluation, Goal, Indicator
from .common import FileResult


def evaluation_json(ev: Evaluation) -> dict:
    """One evaluation: report.to_json_dict's keys, plus what forms state."""
    from .report import to_json_dict

    out = to_json_dict(ev)
    out["parent"] = ev.department.parent
    out["self_grade"] = ev.self_grade
    out["budget"] = [
        {"line": b.line, "initial": b.initial, "budget": b.budget, "executed": b.executed,
         "weight": b.weight, "score": b.score, "reason": b.reason}
        for b in ev.budget
    ]
    out["goals"] = [
        {"no": g.no, "name": g.name, "expected": g.expected, "achieved": g.achieved,
         "indicators": [
             {"category": i.category, "subcategory": i.subcategory, "name": i.name,
              "target": i.target, "actual": i.actual, "met": i.met, "weight": i.weight,
              "score": i.score, "reason": i.reason}
             for i in g.indicators]}
        for g in ev.goals
    ]
    out["warnings"] = list(ev.warnings)
    return out


def result_json(result: FileResult) -> dict:
    """One file's result in the shape of the module docstring."""
    evals = list(result.evaluations)
    if not evals and result.frames is not None:
        evals = evaluations_from_frames(result.frames)
    head = {
        "file": result.name,
        "input_kind": result.kind,
        "ok": result.ok,
        "needs": list(result.needs),
        "issues": [{"severity": i.severity, "message": i.message, "sheet": i.sheet,
                    "row": i.row, "column": i.column} for i in result.issues],
    }
    if len(evals) == 1:
        body = evaluation_json(evals[0])
        # the form reader's notes are the file's warnings too
        body["warnings"] = list(dict.fromkeys([*body["warnings"],
                                               *(i.message for i in result.warnings)]))
        return {**head, **body}
    return {**head, "evaluations": [evaluation_json(e) for e in evals]}


def _none(v):
    """pandas' NaN/NA → None."""
    try:
        return None if v is None or v != v else v
    except TypeError:  # pd.NA
        return None


def evaluations_from_frames(frames) -> list[Evaluation]:
    """The bulk path's frames as evaluations (for printing one file)."""
    evs = {}
    for r in frames.evaluations.itertuples():
        evs[r.ekey] = Evaluation(
            Department(r.department, _none(r.region), _none(r.kind), _none(r.parent)),
            int(r.year), r.scope, r.project or "", _none(r.self_score), _none(r.self_grade),
            source_name=_none(r.source_name))
    ch = frames.children
    for r in ch["budget_lines"].itertuples():
        evs[r.ekey].budget.append(BudgetLine(r.line, _none(r.budget), _none(r.executed),
                                             _none(r.initial), _none(r.weight), _none(r.score),
                                             _none(r.reason)))
    goals: dict[tuple, Goal] = {}
    for r in ch["goals"].itertuples():
        g = Goal(int(r.goal_no), r.name, _none(r.expected), _none(r.achieved))
        goals[(r.ekey, int(r.goal_no))] = g
        evs[r.ekey].goals.append(g)
    for r in ch["indicators"].itertuples():
        goals[(r.ekey, int(r.goal_no))].indicators.append(Indicator(
            r.category, r.name, _none(r.target_text), _none(r.actual_text),
            _none(r.subcategory), _none(r.weight), _none(r.score), _none(r.met),
            _none(r.reason)))
    for r in ch["findings"].itertuples():
        key = {"problem": "problems", "measure": "measures", "result_use": "result_use"}[r.kind]
        getattr(evs[r.ekey], key).append(r.text)
    return list(evs.values())
