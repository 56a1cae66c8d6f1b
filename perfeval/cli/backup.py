"""``perfeval backup`` and ``perfeval restore-backup``."""

from __future__ import annotations

from pathlib import Path

from ..model import PerfevalError
from .common import open_store


def _cmd_backup(args) -> int:
    from ..backup import write_parquet_zip, write_xlsx

    out = Path(args.out)
    fmt = args.format or ("xlsx" if out.suffix.lower() == ".xlsx" else "parquet")
    with open_store(args, read_only=True) as store:
        counts = write_xlsx(store, out) if fmt == "xlsx" else write_parquet_zip(store, out)
    print(f"已备份 {len(counts)} 张表、{sum(counts.values()):,} 行：{out}")
    return 0


def _cmd_restore_backup(args) -> int:
    from .. import auditlog
    from ..backup import restore_backup
    from ..store import default_db_path

    src = Path(args.file)
    if not src.exists():
        raise PerfevalError(f"找不到备份文件：{src}")
    target = Path(getattr(args, "db", None) or default_db_path())
    counts = restore_backup(src, target, actor=auditlog.cli_actor())
    print(f"已从 {src} 恢复到 {target}：{counts['evaluations']:,} 个评价版本，"
          f"{counts['indicators']:,} 条指标。")
    return 0


def register(sub, common) -> None:
    s = sub.add_parser("backup", parents=[common], help="备份整个数据库 / back up the database (xlsx or parquet zip)")
    s.add_argument("out", help="输出文件：.zip（parquet，可恢复）或 .xlsx（供查阅）")
    s.add_argument("--format", choices=["xlsx", "parquet"])
    s.set_defaults(func=_cmd_backup)

    s = sub.add_parser("restore-backup", parents=[common],
                       help="从 parquet 备份恢复到新数据库文件 / restore a backup into a new file")
    s.add_argument("file")
    s.set_defaults(func=_cmd_restore_backup)
