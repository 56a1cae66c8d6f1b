"""``perfeval reparse``: re-derive the parsed target/actual columns and rescore."""

from __future__ import annotations

from .common import open_store, print_json


def cmd_reparse(args) -> int:
    from ..values import PARSER_VERSION, reparse_store

    with open_store(args) as store:
        out = reparse_store(store, everything=args.all)
    if args.json:
        print_json(out)
    elif out["indicators"] == 0:
        print(f"所有指标都已由当前解析器（第 {PARSER_VERSION} 版）解析，无需重新解析。")
    else:
        print(f"已用第 {out['parser_version']} 版解析器重新解析 {out['indicators']:,} 条指标"
              f"（{out['evaluations']:,} 个评价），重新评分 {out['scored']:,} 次，"
              f"用时 {out['seconds']:.2f} 秒。")
    return 0


def register(sub, common) -> None:
    p = sub.add_parser("reparse", parents=[common],
                       help="重新解析旧版本解析器读过的目标值/实际值，并重新评分",
                       description="解析规则改进后：重新解析指标的目标值和实际值（默认只处理"
                                   "旧版本解析的行），并在同一事务中重新评分。")
    p.add_argument("--all", action="store_true", help="重新解析全部指标")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=cmd_reparse)
