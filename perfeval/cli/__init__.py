"""The ``perfeval`` command: argument parsing and printing only.

Each module here registers one group of subcommands (``register(sub, common)``)
and calls the library, which returns data. Global options (``--db``) are
accepted before or after the command: ``perfeval --db X demo`` and
``perfeval demo --db X`` mean the same. A user error prints one Chinese line
and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..model import PerfevalError

# Modules whose register(sub, common) adds subcommands, in help order.
COMMAND_MODULES = ["data", "scoring", "audit", "parse", "forms", "report", "bench", "users",
                   "backup", "maintenance"]


def global_options(*, top: bool) -> argparse.ArgumentParser:
    """Options valid anywhere on the line. Below the top level the default is
    SUPPRESS, so a value given before the command is not reset after it."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db", default=None if top else argparse.SUPPRESS,
                   help="数据库文件（默认 data/perfeval.duckdb，或环境变量 PERFEVAL_DB）")
    return p


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="perfeval", parents=[global_options(top=True)],
        description="预算绩效自评：导入、评分、复核。Budget performance self-evaluation toolkit.")
    sub = p.add_subparsers(dest="command", required=True, metavar="命令")
    common = global_options(top=False)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub, common)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PerfevalError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (silence the flush at exit)
        return 0
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130

