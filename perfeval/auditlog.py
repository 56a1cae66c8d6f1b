"""The audit log (操作日志): one row per write, appended, never edited.

Columns of ``audit_log`` (migration 4):

- ``seq``: order of appending (sequence ``audit_seq``);
- ``logged_at``: local time of the event;
- ``actor``: the user name (``命令行:<系统用户>`` for the CLI without a login);
- ``address``: the client address for logins from the dashboard, else NULL;
- ``action``: one of :data:`ACTIONS`;
- ``file_name``, ``checksum``: the imported file and its SHA-256;
- ``department``, ``year``, ``revision``: what was written or restored;
- ``result``: ``成功`` / ``失败`` / ``拒绝``; ``detail``: the message shown.

The app only INSERTs into this table: no code path updates or deletes a row.
Passwords never reach it (``detail`` holds messages, never inputs).
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import pandas as pd

from .model import PerfevalError

IMPORT = "导入"
RESTORE = "恢复版本"
LOGIN = "登录"
LOGOUT = "退出登录"
USER_ADD = "新增用户"
USER_REMOVE = "删除用户"
USER_PASSWD = "修改密码"
USER_CHANGE = "修改用户"
BACKUP = "备份"
BACKUP_RESTORE = "从备份恢复"
ACTIONS = (IMPORT, RESTORE, LOGIN, LOGOUT, USER_ADD, USER_REMOVE, USER_PASSWD, USER_CHANGE,
           BACKUP, BACKUP_RESTORE)

OK = "成功"
FAILED = "失败"
REFUSED = "拒绝"

COLUMNS = ["logged_at", "actor", "address", "action", "file_name", "checksum", "department",
           "year", "revision", "result", "detail"]


_acting = threading.local()


@contextmanager
def acting_as(actor: str | None) -> Iterator[None]:
    """Record this thread's command-line writes as ``actor``: the server runs
    a spooled command for the client's account, not its own (perfeval.spool)."""
    before = getattr(_acting, "actor", None)
    _acting.actor = actor
    try:
        yield
    finally:
        _acting.actor = before


def cli_actor(user: str | None = None) -> str:
    """Who a command-line write is recorded as: the name given, else the OS account."""
    if user:
        return user
    if getattr(_acting, "actor", None):
        return _acting.actor
    try:
        return f"命令行:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "命令行"


def append_rows(cur, rows: pd.DataFrame | Sequence[dict]) -> int:
    """Append rows (dicts or a frame with some of :data:`COLUMNS`) on cursor
    ``cur``, inside the caller's transaction if one is open. Bulk: one INSERT."""
    df = pd.DataFrame(list(rows)) if not isinstance(rows, pd.DataFrame) else rows.copy()
    if df.empty:
        return 0
    unknown = set(df.columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"audit_log has no columns {sorted(unknown)}")
    bad = set(df["action"]) - set(ACTIONS)
    if bad:
        raise ValueError(f"unknown audit actions {sorted(bad)}")
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    if df["logged_at"].isna().any():
        df["logged_at"] = df["logged_at"].fillna(datetime.now())
    df = df[COLUMNS].astype({"year": "Int64", "revision": "Int64"})
    cur.register("audit_rows", df)
    try:
        cur.execute("""
            INSERT INTO audit_log BY NAME
            SELECT nextval('audit_seq') AS seq, CAST(logged_at AS TIMESTAMP) AS logged_at,
                   CAST(actor AS VARCHAR) AS actor, CAST(address AS VARCHAR) AS address,
                   CAST(action AS VARCHAR) AS action, CAST(file_name AS VARCHAR) AS file_name,
                   CAST(checksum AS VARCHAR) AS checksum,
                   CAST(department AS VARCHAR) AS department, CAST(year AS INTEGER) AS year,
                   CAST(revision AS INTEGER) AS revision, CAST(result AS VARCHAR) AS result,
                   CAST(detail AS VARCHAR) AS detail
            FROM audit_rows""")
    finally:
        cur.unregister("audit_rows")
    return len(df)


def log(store, action: str, *, actor: str | None, result: str = OK, **fields) -> None:
    """Append one row in its own transaction."""
    log_many(store, [dict(action=action, actor=actor, result=result, **fields)])


def log_many(store, rows: Sequence[dict] | pd.DataFrame) -> int:
    if store.read_only:
        raise PerfevalError("数据库以只读方式打开，无法记录操作日志。")
    with store.transaction() as cur:
        return append_rows(cur, rows)


def read_log(store, *, action: str | None = None, actor: str | None = None,
             since: datetime | None = None, limit: int = 1000) -> pd.DataFrame:
    """Newest first, with Chinese column names for display."""
    df = store.query_df("""
        SELECT seq, logged_at, actor, address, action, file_name, checksum, department, year,
               revision, result, detail
        FROM audit_log
        WHERE (? IS NULL OR action = ?) AND (? IS NULL OR actor = ?)
          AND (? IS NULL OR logged_at >= ?)
        ORDER BY seq DESC LIMIT ?""",
                        [action, action, actor, actor, since, since, int(limit)])
    return df.rename(columns=DISPLAY_NAMES)


DISPLAY_NAMES = {"seq": "序号", "logged_at": "时间", "actor": "操作人", "address": "来源地址",
                 "action": "操作", "file_name": "文件", "checksum": "校验和(SHA-256)",
                 "department": "部门", "year": "年度", "revision": "版本", "result": "结果",
                 "detail": "说明"}


def restore_revision(store, department: str, year: int, revision: int, *, actor: str | None,
                     scope: str = "部门整体", project: str = "") -> None:
    """Store.restore with its audit row in the same transaction; a refusal is
    logged on its own, with its message."""
    fields = dict(department=department, year=year, revision=revision,
                  detail=f"{scope}{('「' + project + '」') if project else ''}")
    try:
        store.restore(department, year, revision, scope=scope, project=project,
                      log=dict(action=RESTORE, actor=actor, result=OK, **fields))
    except PerfevalError as exc:
        log(store, RESTORE, actor=actor, result=FAILED, **{**fields, "detail": str(exc)})
        raise
