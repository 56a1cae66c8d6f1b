"""``perfeval parse FILE [--json]``: show what a report holds, write nothing."""

from __future__ import annotations

from pathlib import Path

from ..ingest.report import read_report, summary, to_json_dict
from .common import print_json


def register(sub, common) -> None:
    p = sub.add_parser("parse", parents=[common],
                       help="读取自评报告（.txt/.docx/.pdf）并显示读到的内容，不写入数据库")
    p.add_argument("file", help="报告文件")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_parse)


def cmd_parse(args) -> int:
    ev = read_report(Path(args.file))
    if args.json:
        print_json(to_json_dict(ev))
    else:
        print(summary(ev))
    return 0
