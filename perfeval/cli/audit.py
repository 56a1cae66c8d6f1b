"""``perfeval audit``: findings, exit 1 when any 错误."""

from __future__ import annotations

import json
from pathlib import Path

from ..rules import DEFAULT_SCHEME, SCORE_GAP_WARN
from .common import SCHEME_CHOICES, open_store


def _cmd_audit(args) -> int:
    from ..audit import (
        AuditSettings,
        audit_store,
        findings_from_frame,
        findings_workbook,
        problem_followup,
        rectification,
        summarize,
    )

    settings = AuditSettings(scheme=args.scheme, score_gap=args.score_gap)
    with open_store(args) as store:
        df = audit_store(store, settings, year=args.year, departments=args.dept)
        if args.xlsx:
            # Rectification of the year before into the audited year (every year without --year).
            before = args.year - 1 if args.year else None
            data = findings_workbook(
                df, rectification(store, settings, before, args.dept),
                problem_followup(store, settings, before, args.dept))
    if args.xlsx:
        Path(args.xlsx).write_bytes(data)
    counts = summarize(df)
    if args.json:
        print(json.dumps({"counts": counts, "findings": [
            {**{k: v for k, v in f.__dict__.items()}, "title": f.title}
            for f in findings_from_frame(df)]}, ensure_ascii=False, indent=2, default=str))
    else:
        for r in df.itertuples(index=False):
            where = f"{r.department} {r.year}" + (f" {r.project}" if r.project else "")
            print(f"[{r.severity}] {where} {r.code}：{r.message}")
        print(f"共 {len(df)} 条：" + "，".join(f"{s} {n}" for s, n in counts.items()))
        if args.xlsx:
            print(f"已写出：{args.xlsx}（复核发现、整改跟踪、问题复现）")
    return 1 if counts["错误"] else 0


def register(sub, common) -> None:
    p = sub.add_parser("audit", parents=[common], help="复核全部当前评价，列出发现的问题（有错误时退出码为 1）",
                       description="复核自评：得分、权重、预算、指标设置等检查；"
                                   "发现“错误”级问题时退出码为 1，便于在流水线中使用。")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--year", type=int, help="只复核该年度")
    p.add_argument("--dept", action="append", help="只复核该部门（可重复）")
    p.add_argument("--scheme", default=DEFAULT_SCHEME, choices=SCHEME_CHOICES,
                   metavar="方案", help=f"评分方案：%(choices)s（默认 {DEFAULT_SCHEME}）")
    p.add_argument("--xlsx", metavar="FILE", help="另将复核发现、整改跟踪和问题复现写入该 Excel 文件")
    p.add_argument("--score-gap", type=float, default=SCORE_GAP_WARN,
                   help="自评分高出计算分多少分时告警（默认 1）")
    p.set_defaults(func=_cmd_audit)


