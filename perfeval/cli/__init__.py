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


def run(args) -> int:
    """Run parsed arguments: the exit status, user errors as one Chinese line."""
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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        routed = _through_server(argv, args)
    except PerfevalError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return run(args) if routed is None else routed


def _through_server(argv: list[str], args) -> int | None:
    """With a dashboard serving the database, hand the command to its writer
    (perfeval.spool) and print what it printed; None to run it here."""
    from .. import spool  # the client side imports no pandas or DuckDB
    from ..paths import default_db_path

    db = getattr(args, "db", None) or default_db_path()
    if args.command not in spool.ROUTED_COMMANDS | spool.REFUSED_WHILE_SERVING:
        return None
    info = spool.server_info(db)
    if info is None:
        return None
    if args.command in spool.REFUSED_WHILE_SERVING:
        raise PerfevalError(f"看板（进程 {info['pid']}）正在使用数据库 {db}：请先停止看板再运行"
                            f"“{args.command}”，或用 --db 指定另一个文件。")
    stdin = None
    if getattr(args, "password_stdin", None) is not None:  # user add/passwd: ask here
        from .users import read_password

        stdin = read_password(args) + "\n"
        if "--password-stdin" not in argv:
            argv = [*argv, "--password-stdin"]
    # The server records the job folder's owner as the actor (spool.cli_actor).
    job = spool.submit(db, argv, args, stdin=stdin)
    resp = spool.wait(db, job)
    sys.stdout.write(resp.stdout)
    sys.stderr.write(resp.stderr)
    return resp.exit_code


def run_in_server(store, argv: list[str], actor: str | None = None) -> int:
    """Run a command line inside the dashboard process, on its Store."""
    from .. import auditlog
    from .common import serving

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed why
        return int(exc.code or 2)
    with serving(store), auditlog.acting_as(actor):
        return run(args)
