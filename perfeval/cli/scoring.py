"""``perfeval score``: scores under a scheme, or one evaluation's lost points."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from ..model import PerfevalError
from ..rules import DEFAULT_SCHEME, SCORE_GAP_LARGE
from .common import SCHEME_CHOICES, fmt_num, open_store


def _cmd_score(args) -> int:
    from ..scoring import (
        explain,
        format_explanation,
        get_scheme,
        score_evaluation,
        score_store,
        score_summary,
    )

    scheme = get_scheme(args.scheme)
    with open_store(args) as store:
        if args.explain:
            dept, year = args.explain
            try:
                year_n = int(year)
            except ValueError:
                raise PerfevalError(f"年度应为数字：{year}") from None
            eval_id = store.current_eval_id(dept, year_n, args.scope, args.project or "")
            if eval_id is None:
                raise PerfevalError(f"库中没有 {dept} {year_n} 年度（{args.scope}）的评价。")
            ev = store.load(eval_id)
            es = score_evaluation(ev, scheme)
            if args.json:
                print(json.dumps({**es.to_dict(), "lost": [asdict(p) for p in explain(es)]},
                                 ensure_ascii=False, indent=2, default=str))
            else:
                print(format_explanation(ev, es))
            return 0
        start = time.perf_counter()
        n = score_store(store, scheme, recompute=args.recompute)
        seconds = time.perf_counter() - start
        summary = score_summary(store, scheme)
        out = {"scheme": scheme.name, "scored_now": n, **summary, "seconds": round(seconds, 3)}
        if args.json:
            print(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            print(f"评分方案：{scheme.name}；本次计算 {n} 个评价，用时 {seconds:.2f} 秒。")
            print(f"当前评价 {out['evaluations']} 个：" + "，".join(
                f"{g} {c}" for g, c in out["grades"].items()))
            print(f"平均计算得分 {fmt_num(out['mean_total'])}，平均自评得分 "
                  f"{fmt_num(out['mean_self_score'])}，平均差额 {fmt_num(out['mean_gap'])}；"
                  f"自评分高出 {SCORE_GAP_LARGE:g} 分以上的 {out['self_score_5_plus_above']} 个。")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("score", parents=[common], help="按评分方案计算全部当前评价的得分",
                       description="按评分方案计算得分；--explain 部门 年度 列出失分明细。")
    p.add_argument("--scheme", default=DEFAULT_SCHEME, choices=SCHEME_CHOICES,
                   metavar="方案", help=f"评分方案：%(choices)s（默认 {DEFAULT_SCHEME}）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--recompute", action="store_true", help="重新计算该方案的全部得分")
    p.add_argument("--explain", nargs=2, metavar=("DEPT", "YEAR"), help="列出某部门某年度的失分明细")
    p.add_argument("--scope", default="部门整体", help="评价范围（部门整体 或 项目）")
    p.add_argument("--project", default="", help="项目名称（范围为项目时）")
    p.set_defaults(func=_cmd_score)

