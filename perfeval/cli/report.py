"""``perfeval report unit|summary … OUT.docx|OUT.pdf``: write the reports."""

from __future__ import annotations

import time
from pathlib import Path

from ..model import PerfevalError
from ..rules import DEFAULT_SCHEME
from .common import SCHEME_CHOICES, open_store


def register(sub, common) -> None:
    p = sub.add_parser("report", parents=[common], help="生成自评报告（单位）或年度汇总报告（.docx/.pdf）")
    rsub = p.add_subparsers(dest="report_kind", required=True, metavar="报告")
    u = rsub.add_parser("unit", parents=[common], help="单位的部门整体绩效自评结果")
    u.add_argument("--dept", required=True, help="单位名称")
    u.add_argument("--year", type=int, required=True, help="年度")
    u.add_argument("--scope", default="部门整体", help="评价范围（部门整体 或 项目）")
    u.add_argument("--project", default="", help="项目名称（评价范围为项目时）")
    u.add_argument("--scheme", default=DEFAULT_SCHEME, choices=SCHEME_CHOICES,
                   metavar="方案", help="评分方案：%(choices)s")
    u.add_argument("out", help="输出文件（.docx 或 .pdf）")
    u.set_defaults(func=cmd_unit)
    s = rsub.add_parser("summary", parents=[common], help="年度汇总报告")
    s.add_argument("--year", type=int, required=True, help="年度")
    s.add_argument("--region", default=None, help="区域")
    s.add_argument("--kind", default=None, help="类别（街道、委局……）")
    s.add_argument("--dept", action="append", default=[], help="只含这些部门（可多次给出）")
    s.add_argument("--scope", default="部门整体", help="评价范围")
    s.add_argument("--scheme", default=DEFAULT_SCHEME, choices=SCHEME_CHOICES,
                   metavar="方案", help="评分方案：%(choices)s")
    s.add_argument("out", help="输出文件（.docx 或 .pdf）")
    s.set_defaults(func=cmd_summary)


def _out(path: str) -> Path:
    from ..reports import FORMATS

    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise PerfevalError(f"输出文件 {out.name} 的扩展名应为 .docx 或 .pdf")
    return out


def cmd_unit(args) -> int:
    from ..reports import unit_report, write

    out = _out(args.out)
    with open_store(args) as store:
        doc = unit_report(store, args.dept, args.year, scope=args.scope, project=args.project,
                          scheme=args.scheme)
    write(doc, out)
    print(f"已写出：{out}（{doc.title}）")
    return 0


def cmd_summary(args) -> int:
    from ..queries import Filters
    from ..reports import summary_report, write

    out = _out(args.out)
    start = time.perf_counter()
    f = Filters(year=args.year, region=args.region, kind=args.kind,
                departments=tuple(args.dept), scope=args.scope, scheme=args.scheme)
    with open_store(args) as store:
        doc = summary_report(store, f, None, source=Path(store.path).name)
    write(doc, out)
    print(f"已写出：{out}（{doc.title}，用时 {time.perf_counter() - start:.1f} 秒）")
    return 0
