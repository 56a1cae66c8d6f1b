"""Users, roles, logins and what each role may do.

Users live in the DuckDB file (table ``users``, migration 4): name, argon2id
hash (argon2-cffi, salted, parameters inside the hash), role, optional list of
departments (NULL = all), created/updated times. No password is ever stored,
logged or returned in clear.

Roles:

- 管理员: everything, including users, backups and the audit log; sees all departments.
- 录入员: import and restore, for their departments (or all when none are set).
- 查看者: read only.

A user limited to departments sees only those in every query (``allowed``).

Deployment settings (environment):

- ``PERFEVAL_READ_LOGIN=1``: reading needs a login too. Default: reading is
  open to everyone (all departments), writing always needs a login.
- ``PERFEVAL_SESSION_IDLE_MINUTES``: a dashboard login ends after this many
  idle minutes (default 30).

Failed logins are slowed down without blocking a server thread: a refused
attempt is answered at once with how long to wait. Counts come from the audit
log (failures in the last :data:`FAIL_WINDOW` since the last success):

- per user: the first :data:`FREE_USER_FAILURES` failures are free, then each
  further attempt must wait ``2 ** (n - FREE_USER_FAILURES)`` seconds after the
  last failure (1, 2, 4, … capped at :data:`MAX_WAIT` seconds);
- per client address: the same with :data:`FREE_ADDRESS_FAILURES`, over all
  user names tried from that address (guessing many names from one place).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from . import auditlog
from .model import PerfevalError

ADMIN = "管理员"
ENTRY = "录入员"
VIEWER = "查看者"
ROLES = (ADMIN, ENTRY, VIEWER)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # argon2 would take more; a longer "password" is a paste accident
MAX_NAME_LENGTH = 64

FAIL_WINDOW = timedelta(minutes=15)
FREE_USER_FAILURES = 3
FREE_ADDRESS_FAILURES = 10
MAX_WAIT = 300.0

_hasher = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
# Verified against when the name is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("perfeval-dummy-password")


class LoginError(PerfevalError):
    """A refused login; ``wait`` is the seconds to wait before the next try (0 if none)."""

    def __init__(self, message: str, wait: float = 0.0):
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class User:
    name: str
    role: str
    departments: tuple[str, ...] | None = None  # None: all departments

    @property
    def allowed(self) -> list[str] | None:
        """Departments this user may see; None = all."""
        if self.role == ADMIN or self.departments is None:
            return None
        return list(self.departments)

    @property
    def label(self) -> str:
        scope = "全部部门" if self.allowed is None else "、".join(self.departments or ())
        return f"{self.name}（{self.role}，{scope}）"


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------

def read_login_required() -> bool:
    """Whether reading needs a login (``PERFEVAL_READ_LOGIN=1``); default open."""
    return os.environ.get("PERFEVAL_READ_LOGIN", "").strip().lower() in ("1", "true", "yes", "on")


def session_idle_seconds() -> float:
    raw = os.environ.get("PERFEVAL_SESSION_IDLE_MINUTES", "").strip()
    try:
        minutes = float(raw) if raw else 30.0
    except ValueError:
        minutes = 30.0
    return max(minutes, 1.0) * 60.0


def session_expired(last_active: float, now: float, idle_seconds: float | None = None) -> bool:
    """``last_active`` and ``now`` are epoch seconds."""
    return now - last_active > (session_idle_seconds() if idle_seconds is None else idle_seconds)


# --------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------

def can_read(user: User | None) -> bool:
    return user is not None or not read_login_required()


def allowed_departments(user: User | None) -> list[str] | None:
    """What every query gets as ``allowed``. Open reading without a login sees all."""
    return None if user is None else user.allowed


def can_import(user: User | None, department: str | None = None) -> bool:
    """May ``user`` write data (for ``department``, or at all when None)?"""
    if user is None or user.role not in (ADMIN, ENTRY):
        return False
    if department is None or user.role == ADMIN or user.departments is None:
        return True
    return department in user.departments


can_restore = can_import


def can_manage_users(user: User | None) -> bool:
    return user is not None and user.role == ADMIN


def can_backup(user: User | None) -> bool:
    """A backup holds every department: administrators only."""
    return can_manage_users(user)


can_view_log = can_manage_users


def refuse_unpermitted(user: User | None, results: Iterable) -> None:
    """Add an error to each read file (ingest FileResult) holding a department
    ``user`` may not import: such a file is then listed, and nothing of it written."""
    from .ingest.common import ERROR, Issue

    for r in results:
        if not r.ok:
            continue
        if r.frames is not None:
            names = sorted(set(r.frames.evaluations["department"]))
        else:
            names = sorted({e.department.name for e in r.evaluations})
        if user is None or user.role not in (ADMIN, ENTRY):
            r.issues.append(Issue(r.name, "没有导入权限（需以管理员或录入员登录）。", severity=ERROR))
            continue
        denied = [n for n in names if not can_import(user, n)]
        if denied:
            r.issues.append(Issue(r.name, f"用户 {user.name} 无权导入以下部门：{'、'.join(denied)}。",
                                  severity=ERROR))


# --------------------------------------------------------------------------
# The user table
# --------------------------------------------------------------------------

def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(c in name for c in "\r\n\t"):
        raise PerfevalError(f"用户名须为 1–{MAX_NAME_LENGTH} 个字符，不含换行或制表符。")
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PerfevalError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符。")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PerfevalError(f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符。")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise PerfevalError(f"未知角色“{role}”（可用：{'、'.join(ROLES)}）。")
    return role


def _departments(departments: Sequence[str] | None) -> list[str] | None:
    if not departments:
        return None
    clean = sorted({d.strip() for d in departments if d and d.strip()})
    return clean or None


def _tx(store, body) -> None:
    """Run ``body(cur)`` in one transaction: the change and its audit row together."""
    if store.read_only:
        raise PerfevalError("数据库以只读方式打开，无法修改用户。")
    with store.transaction() as cur:
        body(cur)


def user_count(store) -> int:
    return int(store.query_df("SELECT count(*) AS n FROM users")["n"].iloc[0])


def get_user(store, name: str) -> User | None:
    cur = store.cursor()
    try:
        rows = cur.execute("SELECT name, role, departments FROM users WHERE name = ?",
                           [name]).fetchall()
    finally:
        cur.close()
    if not rows:
        return None
    uname, role, depts = rows[0]
    return User(uname, role, tuple(depts) if depts else None)


def list_users(store) -> pd.DataFrame:
    """Name, role, departments, times: never the hash."""
    return store.query_df("""
        SELECT name, role, departments, created_at, updated_at FROM users ORDER BY name""")


def add_user(store, name: str, password: str, role: str, departments: Sequence[str] | None = None,
             *, actor: str | None) -> User:
    name, role = _check_name(name), _check_role(role)
    _check_password(password)
    depts = _departments(departments)
    if get_user(store, name) is not None:
        raise PerfevalError(f"用户 {name} 已存在。")
    hashed = _hasher.hash(password)
    now = datetime.now()

    def body(cur):
        cur.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, NULL)", [name, hashed, role, depts, now])
        auditlog.append_rows(cur, [dict(action=auditlog.USER_ADD, actor=actor, result=auditlog.OK,
                                        detail=f"{name}（{role}，{_scope_text(depts)}）")])
    _tx(store, body)
    return User(name, role, None if depts is None else tuple(depts))


def _scope_text(depts) -> str:
    return "全部部门" if not depts else "部门：" + "、".join(depts)


def _admins(store) -> list[str]:
    return list(store.query_df("SELECT name FROM users WHERE role = ?", [ADMIN])["name"])


def remove_user(store, name: str, *, actor: str | None) -> None:
    user = get_user(store, name)
    if user is None:
        raise PerfevalError(f"用户 {name} 不存在。")
    if user.role == ADMIN and _admins(store) == [name]:
        raise PerfevalError(f"{name} 是唯一的管理员，不能删除（请先添加另一位管理员）。")

    def body(cur):
        cur.execute("DELETE FROM users WHERE name = ?", [name])
        auditlog.append_rows(cur, [dict(action=auditlog.USER_REMOVE, actor=actor,
                                        result=auditlog.OK, detail=name)])
    _tx(store, body)


def set_password(store, name: str, password: str, *, actor: str | None) -> None:
    if get_user(store, name) is None:
        raise PerfevalError(f"用户 {name} 不存在。")
    _check_password(password)
    hashed = _hasher.hash(password)

    def body(cur):
        cur.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ?",
                    [hashed, datetime.now(), name])
        auditlog.append_rows(cur, [dict(action=auditlog.USER_PASSWD, actor=actor,
                                        result=auditlog.OK, detail=name)])
    _tx(store, body)


def set_role(store, name: str, role: str, departments: Sequence[str] | None = None, *,
             actor: str | None) -> User:
    user = get_user(store, name)
    if user is None:
        raise PerfevalError(f"用户 {name} 不存在。")
    role = _check_role(role)
    if user.role == ADMIN and role != ADMIN and _admins(store) == [name]:
        raise PerfevalError(f"{name} 是唯一的管理员，不能改为其他角色。")
    depts = _departments(departments)

    def body(cur):
        cur.execute("UPDATE users SET role = ?, departments = ?, updated_at = ? WHERE name = ?",
                    [role, depts, datetime.now(), name])
        auditlog.append_rows(cur, [dict(action=auditlog.USER_CHANGE, actor=actor,
                                        result=auditlog.OK,
                                        detail=f"{name} → {role}，{_scope_text(depts)}")])
    _tx(store, body)
    return User(name, role, None if depts is None else tuple(depts))


# --------------------------------------------------------------------------
# Login
# --------------------------------------------------------------------------

def _wait_after(failures: pd.DataFrame, free: int, now: datetime) -> float:
    """Seconds still to wait given failure times (newest first) since the last success."""
    n = len(failures)
    if n < free:
        return 0.0
    wait = min(2.0 ** (n - free), MAX_WAIT)
    last = failures["logged_at"].iloc[0].to_pydatetime()
    return max(0.0, wait - (now - last).total_seconds())


def _recent_failures(store, *, actor: str | None, address: str | None,
                     now: datetime) -> pd.DataFrame:
    """Failed logins within the window and after the subject's last success."""
    by = "actor" if actor is not None else "address"
    who = actor if actor is not None else address
    return store.query_df(f"""
        SELECT logged_at FROM audit_log
        WHERE action = ? AND {by} = ? AND result = ? AND logged_at >= ?
          AND seq > coalesce((SELECT max(seq) FROM audit_log
                              WHERE action = ? AND {by} = ? AND result = ?), 0)
        ORDER BY seq DESC""",  # noqa: S608 (by is one of two fixed column names)
                          [auditlog.LOGIN, who, auditlog.FAILED, now - FAIL_WINDOW,
                           auditlog.LOGIN, who, auditlog.OK])


def login_wait(store, name: str, address: str | None = None,
               now: datetime | None = None) -> float:
    """Seconds before ``name`` (from ``address``) may try again; 0 when free."""
    now = now or datetime.now()
    wait = _wait_after(_recent_failures(store, actor=name, address=None, now=now),
                       FREE_USER_FAILURES, now)
    if address:
        wait = max(wait, _wait_after(_recent_failures(store, actor=None, address=address,
                                                      now=now), FREE_ADDRESS_FAILURES, now))
    return wait


def authenticate(store, name: str, password: str, *, address: str | None = None,
                 now: datetime | None = None) -> User:
    """The user if ``password`` is theirs; else LoginError. Every attempt is logged
    (an unknown name is logged without the typed text: it may be a password)."""
    now = now or datetime.now()
    name = (name or "").strip()
    wait = login_wait(store, name, address, now)
    if wait > 0:
        auditlog.log(store, auditlog.LOGIN, actor=name, address=address, result=auditlog.REFUSED,
                     detail="失败次数过多，暂缓登录", logged_at=now)
        raise LoginError(f"登录失败次数过多，请 {wait:.0f} 秒后再试。", wait)
    row = store.query_df("SELECT password_hash FROM users WHERE name = ?", [name])
    stored = None if row.empty else row["password_hash"].iloc[0]
    try:
        _hasher.verify(stored or _DUMMY_HASH, password or "")
        ok = stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok:
        auditlog.log(store, auditlog.LOGIN, actor=name if stored else None, address=address,
                     result=auditlog.FAILED,
                     detail="密码错误" if stored else "用户名不存在", logged_at=now)
        raise LoginError("用户名或密码不正确。")
    if _hasher.check_needs_rehash(stored):
        cur = store.cursor()  # argon2's defaults moved on since this hash was made
        try:
            cur.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                        [_hasher.hash(password), name])
        finally:
            cur.close()
    auditlog.log(store, auditlog.LOGIN, actor=name, address=address, result=auditlog.OK,
                 logged_at=now)
    return get_user(store, name)

