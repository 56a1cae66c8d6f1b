"""``perfeval export-form``: current evaluations in the central form's layout."""

from __future__ import annotations

from pathlib import Path

from ..model import SCOPES, PerfevalError
from .common import open_store


def register(sub, common) -> None:
    p = sub.add_parser("export-form", parents=[common],
                       help="把当前评价写成中央格式的绩效自评表（每个项目/部门一个工作表）")
    p.add_argument("out", help="输出的 .xlsx 文件")
    p.add_argument("--dept", action="append", help="只导出该部门（可重复）")
    p.add_argument("--year", type=int, help="只导出该年度")
    p.add_argument("--scope", choices=SCOPES, help="只导出部门整体或项目评价")
    p.set_defaults(func=_cmd_export_form)


def _cmd_export_form(args) -> int:
    from ..formwriter import export_store_forms

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise PerfevalError(f"输出文件应以 .xlsx 结尾：{out}")
    with open_store(args, read_only=True) as store:
        n = export_store_forms(store, out, departments=args.dept, year=args.year, scope=args.scope)
    print(f"已写出 {n} 张自评表到 {out}")
    return 0

