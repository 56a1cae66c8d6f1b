"""``perfeval parse FILE [--json]``: show what any input holds, write nothing.

Every input kind goes through the one reading pipeline (template, form
workbook, a document holding a form, a narrative report); ``--json`` prints
the shape documented in :mod:`perfeval.ingest.output`.
"""

from __future__ import annotations

from pathlib import Path

from .common import print_json


def register(sub, common) -> None:
    p = sub.add_parser("parse", parents=[common],
                       help="读取任一输入文件（模板、自评表、报告）并显示读到的内容，不写入数据库")
    p.add_argument("file", help="文件（xlsx/xls/csv/txt/docx/pdf）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--dept", help="文件未写明部门时使用的部门名称")
    p.add_argument("--year", type=int, help="文件未写明年度时使用的年度")
    p.set_defaults(func=cmd_parse)


def cmd_parse(args) -> int:
    from ..ingest import CLI_MAX_FILE_BYTES, read_file
    from ..ingest.output import evaluations_from_frames, result_json
    from ..ingest.report import ReportError, summary

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(f"无法读取文件 {path}：{exc.strerror or exc}") from exc
    result = read_file(path.name, data, department=args.dept, year=args.year,
                       max_bytes=CLI_MAX_FILE_BYTES)
    if args.json:
        print_json(result_json(result))
        return 0 if result.ok else 1
    evals = result.evaluations or (evaluations_from_frames(result.frames)
                                   if result.frames is not None else [])
    for k, ev in enumerate(evals):
        if k:
            print()
        print(summary(ev))
        if ev.department.parent:
            print(f"主管部门：{ev.department.parent}")
    for issue in result.issues:
        print(issue)
    return 0 if result.ok else 1
