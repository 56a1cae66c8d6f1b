"""Data commands: demo, template, import, history, restore, export."""

from __future__ import annotations

from pathlib import Path

from ..model import PerfevalError
from .common import open_store, scope_label


def cmd_demo(args) -> int:
    from ..demo import build_demo
    from ..store import Store, default_db_path

    path = Path(args.db or default_db_path())
    if args.if_missing and path.exists():
        print(f"数据库已存在：{path}（未改动）")
        return 0
    if path.exists() and not args.force:
        raise PerfevalError(f"数据库 {path} 已存在；加 --force 覆盖，或用 --db 指定新文件。")
    if path.exists():
        path.unlink()
        Path(str(path) + ".wal").unlink(missing_ok=True)
    with Store(path) as store:
        counts = build_demo(store, scale=args.scale, seed=args.seed)
        _score_all(store)
    print(f"已生成演示数据：{path}（{counts['departments']} 个部门，{counts['indicators']:,} 条指标）")
    return 0


def _score_all(store) -> None:
    """Precompute scores under the default scheme so the first page view is fast."""
    from ..scoring import ensure_scores

    ensure_scores(store)


def cmd_template(args) -> int:
    from ..ingest.template import write_template

    out = write_template(args.out)
    print(f"已写出模板：{out}")
    return 0


def cmd_import(args) -> int:
    from ..ingest import CLI_MAX_FILE_BYTES, IDENTICAL, commit, evaluations_count, read_paths

    inputs = [Path(p) for p in args.files]
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise PerfevalError(f"找不到文件：{'、'.join(missing)}")
    results = read_paths(inputs, department=args.dept, year=args.year,
                         max_bytes=CLI_MAX_FILE_BYTES)
    if not results:
        raise PerfevalError("没有找到可导入的文件。")
    for r in results:
        status = "可导入" if r.ok else "有错误"
        print(f"{r.name}：{status}，{evaluations_count(r)} 份评价")
        for issue in r.issues:
            print(f"  {issue}")
    bad = [r for r in results if not r.ok]
    if args.dry_run:
        print("试运行：未写入任何数据。")
        return 1 if bad else 0
    with open_store(args) as store:
        written = commit(store, results, skip_bad=args.skip_bad, imported_by=args.user)
        _score_all(store)
    for w in written:
        print(f"已导入：{w.department} {w.year} 年度 {scope_label(w.scope, w.project)}"
              f"（第 {w.revision} 版）")
    for r in results:
        for issue in r.warnings:
            if issue.message.startswith(IDENTICAL):
                print(f"未导入：{r.name} {issue.message}")
    return 1 if bad else 0


def cmd_history(args) -> int:
    with open_store(args, read_only=True) as store:
        df = store.history(args.dept, args.year)
    if df.empty:
        print("没有符合条件的评价。")
        return 0
    for r in df.itertuples():
        mark = "*" if r.is_current else " "
        print(f"{mark} {r.department} {r.year} {scope_label(r.scope, r.project)} 第{r.revision}版 "
              f"{r.imported_at:%Y-%m-%d %H:%M} {r.source_name or ''} 指标 {r.indicators} 条")
    print("（* 为当前版本）")
    return 0


def cmd_restore(args) -> int:
    from ..auditlog import cli_actor, restore_revision

    with open_store(args) as store:
        restore_revision(store, args.dept, args.year, args.revision, actor=cli_actor(),
                         scope=args.scope, project=args.project)
        _score_all(store)
    print(f"已将 {args.dept} {args.year} 年度恢复为第 {args.revision} 版。")
    return 0


def cmd_export(args) -> int:
    out = Path(args.out)
    fmt = args.format or out.suffix.lstrip(".").lower()
    with open_store(args, read_only=True) as store:
        if args.form:
            from ..formwriter import export_store_forms

            n = export_store_forms(store, out, departments=args.dept, year=args.year)
            print(f"已按自评表格式写出 {n} 份评价：{out}")
            return 0
        from ..ingest.template import frame_from_store, write_template

        df = frame_from_store(store, args.dept, args.year)
    if fmt == "xlsx":
        write_template(out, df)
    elif fmt == "csv":
        from ..safe import write_csv

        write_csv(df, out)
    elif fmt == "parquet":
        df.to_parquet(out, index=False)
    else:
        raise PerfevalError(f"不支持的导出格式“{fmt}”（可用 xlsx、csv、parquet）。")
    print(f"已导出 {len(df):,} 行：{out}")
    return 0


def register(sub, common) -> None:
    s = sub.add_parser("demo", parents=[common], help="生成演示数据 / build the demo database")
    s.add_argument("--scale", type=int, help="约多少条指标（默认约 1.2 万）")
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--force", action="store_true", help="覆盖已有数据库")
    s.add_argument("--if-missing", action="store_true", help="数据库已存在时什么也不做")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("template", parents=[common], help="写出空白导入模板 / write the import template")
    s.add_argument("out")
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("import", parents=[common], help="导入文件（模板、自评表、报告）/ import files")
    s.add_argument("files", nargs="+", help="文件、文件夹或 zip")
    s.add_argument("--dry-run", action="store_true", help="只检查，不写入")
    s.add_argument("--skip-bad", action="store_true", help="跳过有错误的文件，导入其余文件")
    s.add_argument("--user", help="记录为导入人")
    s.add_argument("--dept", help="文件未写明部门（实施单位/单位名称）时使用的部门名称")
    s.add_argument("--year", type=int, help="文件未写明年度时使用的年度")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("history", parents=[common], help="列出评价的各个版本 / list revisions")
    s.add_argument("--dept")
    s.add_argument("--year", type=int)
    s.set_defaults(func=cmd_history)

    s = sub.add_parser("restore", parents=[common], help="将旧版本设为当前版本 / make a revision current")
    s.add_argument("dept")
    s.add_argument("year", type=int)
    s.add_argument("revision", type=int)
    s.add_argument("--scope", default="部门整体")
    s.add_argument("--project", default="")
    s.set_defaults(func=cmd_restore)

    s = sub.add_parser("export", parents=[common], help="导出当前数据 / export current data (xlsx/csv/parquet)")
    s.add_argument("out")
    s.add_argument("--format", choices=["xlsx", "csv", "parquet"])
    s.add_argument("--form", action="store_true", help="按官方自评表格式写出（每个项目一张表）")
    s.add_argument("--dept", action="append", help="只导出该部门（可重复）")
    s.add_argument("--year", type=int)
    s.set_defaults(func=cmd_export)
