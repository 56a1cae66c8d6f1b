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
- ``PERFEVAL_SESSION_HOURS``: a dashboard login is kept at most this long
  (default 8), across reloads and tabs (see :func:`create_session`).
- ``PERFEVAL_SESSION_IDLE_MINUTES``: a dashboard login ends after this many
  idle minutes (default 30).
- ``PERFEVAL_TRUSTED_PROXIES``: reverse proxies whose X-Forwarded-For is
  believed (default none; see :func:`resolve_address`).

Failed logins are slowed down without blocking a server thread: a refused
attempt is answered at once with how long to wait. Each attempt first takes a
slot (``auth.login_attempts``) in one transaction, judged by the slots already
taken, those still being checked included; only then is the password checked:

- per (name, address): the first :data:`FREE_USER_FAILURES` failures in
  :data:`FAIL_WINDOW` since the pair's last success are free, then each further
  attempt must wait ``2 ** (n - FREE_USER_FAILURES)`` seconds after the last
  (1, 2, 4, … capped at :data:`MAX_WAIT`); someone elsewhere cannot lock a user out;
- per address: the same with :data:`FREE_ADDRESS_FAILURES` over all names
  tried from there (guessing many names from one place); a success does not reset it.

Unknown names are counted, slowed and answered exactly like known ones.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
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


def _end_sessions_in(cur, name: str, reason: str) -> None:
    """End ``name``'s dashboard sessions inside the caller's transaction (if any exist)."""
    if cur.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'auth' "
                   "AND table_name = 'sessions'").fetchall()[0][0]:
        cur.execute("UPDATE auth.sessions SET ended_at = ?, end_reason = ? "
                    "WHERE user_name = ? AND ended_at IS NULL", [datetime.now(), reason, name])


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
    """Name, role, departments (a tuple, None = all), times: never the hash."""
    df = store.query_df("""
        SELECT name, role, departments, created_at, updated_at FROM users ORDER BY name""")
    # DuckDB hands lists over as numpy arrays: make them plain tuples for callers.
    df["departments"] = [tuple(d) if isinstance(d, (list, tuple, np.ndarray)) and len(d) else None
                         for d in df["departments"]]
    return df


def scope_label(role: str, departments: Sequence[str] | None) -> str:
    """全部部门, or the departments a user is limited to (an administrator sees all)."""
    return "全部部门" if role == ADMIN or not departments else "、".join(departments)


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
        _end_sessions_in(cur, name, "用户已被删除")
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
        _end_sessions_in(cur, name, "密码已修改")  # a stolen session dies with the old password
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
# Client addresses
# --------------------------------------------------------------------------

UNKNOWN_ADDRESS = "未知"
# What uvicorn (Streamlit's web server) trusts by default when FORWARDED_ALLOW_IPS is unset.
_SERVER_TRUSTED_DEFAULT = "127.0.0.1,::1"


class _Hosts:
    """A list of addresses and networks ("10.0.0.2, 192.168.0.0/16", "*" = all)."""

    def __init__(self, spec: str):
        items = [s.strip() for s in (spec or "").split(",") if s.strip()]
        self.everything = "*" in items
        self.nets = []
        for item in items:
            try:
                self.nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # not an address: trusts nothing

    def __contains__(self, host: str | None) -> bool:
        if self.everything:
            return True
        try:
            ip = ipaddress.ip_address(host or "")
        except ValueError:
            return False
        return any(ip.version == n.version and ip in n for n in self.nets)

    def covers(self, other: _Hosts) -> bool:
        """Whether every host of ``other`` is one of ours."""
        if self.everything:
            return True
        if other.everything:
            return False
        return all(any(o.version == n.version and o.subnet_of(n) for n in self.nets)
                   for o in other.nets)

    def client(self, hops: list[str]) -> str:
        """The first hop from the right that is not one of ours (as uvicorn picks it)."""
        for hop in reversed(hops):
            if hop not in self:
                return hop
        return hops[0]


def trusted_proxies() -> _Hosts:
    """``PERFEVAL_TRUSTED_PROXIES``: the reverse proxies whose X-Forwarded-For is
    believed (addresses or networks, comma-separated); default none."""
    return _Hosts(os.environ.get("PERFEVAL_TRUSTED_PROXIES", ""))


def _hop(value: str) -> str:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        return value[1:value.index("]")]
    if value.count(":") == 1:  # v4:port
        return value.split(":")[0]
    return value


def resolve_address(peer: str | None, forwarded_for: Sequence[str] = (), *,
                    trusted: _Hosts | None = None, server_trusted: _Hosts | None = None) -> str:
    """The client address to record and throttle by.

    ``peer`` is the connection's address as the web server reports it;
    ``forwarded_for`` the X-Forwarded-For header values. Streamlit's server
    (uvicorn) already replaces the peer with a forwarded address when the peer
    is one of *its* trusted hosts (``FORWARDED_ALLOW_IPS``, default loopback),
    so a client on the same machine could pick any address it likes. A
    forwarded address is believed here only when the peer is a proxy of
    ``PERFEVAL_TRUSTED_PROXIES``; when the server has replaced a peer this
    list does not cover, the real address is unknown: :data:`UNKNOWN_ADDRESS`.
    """
    trusted = trusted_proxies() if trusted is None else trusted
    if server_trusted is None:
        server_trusted = _Hosts(os.environ.get("FORWARDED_ALLOW_IPS", _SERVER_TRUSTED_DEFAULT))
    peer = (peer or "").strip()
    if not peer:
        return UNKNOWN_ADDRESS
    hops = [_hop(h) for v in forwarded_for for h in str(v).split(",") if h.strip()]
    if not hops:
        return peer  # nothing forwarded: the server saw the peer itself
    if peer == server_trusted.client(hops):
        # The server (probably) took the peer from the header: the real peer was one
        # of its trusted hosts. Believe the chain only if we trust all of those too.
        return trusted.client(hops) if trusted.covers(server_trusted) else UNKNOWN_ADDRESS
    return trusted.client(hops) if peer in trusted else peer


# --------------------------------------------------------------------------
# Login: attempt slots reserved before any password is checked
# --------------------------------------------------------------------------
#
# Throttle state lives in schema ``auth`` (not ``main``: backups copy main's
# tables; attempt slots and sessions are transient and stay out of them).
# Each attempt first reserves a slot in one transaction under the store's
# write lock: the count it is judged by includes the attempts still being
# checked, so many simultaneous submissions get at most the free allowance of
# password checks, and the rest are refused without one.

_AUTH_DDL = [
    "CREATE SCHEMA IF NOT EXISTS auth",
    "CREATE SEQUENCE IF NOT EXISTS auth.attempt_seq",
    """CREATE TABLE IF NOT EXISTS auth.login_attempts (
        id BIGINT PRIMARY KEY,
        name_key VARCHAR NOT NULL,   -- the user name, or a keyed hash of an unknown one
        address VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        outcome VARCHAR              -- NULL while the password is being checked
    )""",
    """CREATE TABLE IF NOT EXISTS auth.sessions (
        token_hash VARCHAR PRIMARY KEY,  -- SHA-256 of the cookie's token; never the token
        user_name VARCHAR NOT NULL,
        address VARCHAR,
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL,
        ended_at TIMESTAMP,
        end_reason VARCHAR
    )""",
]
_OK, _FAIL = "ok", "fail"
# An unknown name may be a password typed into the wrong box: it is kept only as
# a keyed hash whose key never leaves this process.
_NAME_KEY_SECRET = secrets.token_bytes(32)


def ensure_auth_tables(store) -> None:
    """Create the ``auth`` schema once per Store (idempotent)."""
    if getattr(store, "_auth_ready", False):
        return
    if store.read_only:
        raise PerfevalError("数据库以只读方式打开，无法登录。")
    with store.transaction() as cur:
        for ddl in _AUTH_DDL:
            cur.execute(ddl)
    store._auth_ready = True


def _stored_hash(cur, name: str) -> str | None:
    rows = cur.execute("SELECT password_hash FROM users WHERE name = ?", [name]).fetchall()
    return rows[0][0] if rows else None


def _name_key(name: str, known: bool) -> str:
    if known:
        return "u:" + name
    return "x:" + hmac.new(_NAME_KEY_SECRET, name.encode("utf-8"), hashlib.sha256).hexdigest()


def _wait_after(failures: pd.DataFrame, free: int, now: datetime) -> float:
    """Seconds still to wait given failure times (column ``logged_at``, newest first)."""
    return _wait_from([t.to_pydatetime() for t in failures["logged_at"]], free, now)


def _wait_from(times: list[datetime], free: int, now: datetime) -> float:
    n = len(times)
    if n < free:
        return 0.0
    wait = min(2.0 ** (n - free), MAX_WAIT)
    return max(0.0, wait - (now - times[0]).total_seconds())


# Which attempts count against a subject: fixed SQL, chosen by key, never built from input.
_FAILURES_SQL = {
    # (name, address): failures and attempts in flight since the pair's last success.
    "pair": """
        SELECT started_at AS logged_at FROM auth.login_attempts
        WHERE name_key = $1 AND address = $2 AND started_at >= $3
          AND coalesce(outcome, '') <> $4
          AND id > coalesce((SELECT max(id) FROM auth.login_attempts
                             WHERE name_key = $1 AND address = $2 AND outcome = $4), 0)
        ORDER BY started_at DESC""",
    # address: every name tried from there; a success does not reset it (else one
    # valid account would let its holder guess the others' passwords freely).
    "address": """
        SELECT started_at AS logged_at FROM auth.login_attempts
        WHERE address = $1 AND started_at >= $2 AND coalesce(outcome, '') <> $3
        ORDER BY started_at DESC""",
}


def _failures(cur, subject: str, params: list, now: datetime) -> list[datetime]:
    rows = cur.execute(_FAILURES_SQL[subject], [*params, now - FAIL_WINDOW, _OK]).fetchall()
    return [r[0] for r in rows]


def _wait(cur, name_key: str, address: str, now: datetime) -> float:
    return max(_wait_from(_failures(cur, "pair", [name_key, address], now), FREE_USER_FAILURES, now),
               _wait_from(_failures(cur, "address", [address], now), FREE_ADDRESS_FAILURES, now))


def login_wait(store, name: str, address: str | None = None,
               now: datetime | None = None) -> float:
    """Seconds before ``name`` from ``address`` may try again; 0 when free."""
    ensure_auth_tables(store)
    now = now or datetime.now()
    name, address = (name or "").strip(), address or UNKNOWN_ADDRESS
    cur = store.cursor()
    try:
        return _wait(cur, _name_key(name, _stored_hash(cur, name) is not None), address, now)
    finally:
        cur.close()


def _log_login(cur, *, actor: str | None, address: str, result: str, detail: str | None,
               at: datetime) -> None:
    """One login row of the audit log inside the caller's transaction. A plain
    INSERT (auditlog.append_rows goes through a DataFrame, ~80 ms): a refusal
    must stay cheap, it is what a login storm gets."""
    cur.execute("INSERT INTO audit_log (seq, logged_at, actor, address, action, result, detail) "
                "VALUES (nextval('audit_seq'), ?, ?, ?, ?, ?, ?)",
                [at, actor, address, auditlog.LOGIN, result, detail])


def _reserve(store, name: str, address: str,
             now: datetime | None) -> tuple[int | None, str | None, float, datetime]:
    """In one transaction: judge the attempt by the slots already taken and,
    if free, take one. Returns (slot id or None, stored hash, wait, time)."""
    with store.transaction() as cur:
        now = now or datetime.now()  # read under the lock: a queued attempt is judged when it runs
        stored = _stored_hash(cur, name)
        key = _name_key(name, stored is not None)
        wait = _wait(cur, key, address, now)
        if wait > 0:
            _log_login(cur, actor=name if stored else None, address=address,
                       result=auditlog.REFUSED, detail="尝试过于频繁，暂缓登录", at=now)
            return None, stored, wait, now
        slot = cur.execute("SELECT nextval('auth.attempt_seq')").fetchall()[0][0]
        cur.execute("INSERT INTO auth.login_attempts VALUES (?, ?, ?, ?, NULL)",
                    [slot, key, address, now])
        return slot, stored, 0.0, now


def _verify(stored: str | None, password: str) -> bool:
    """One argon2 check; an unknown name is checked against a dummy hash so
    both answers take the same time."""
    try:
        _hasher.verify(stored or _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None


def authenticate(store, name: str, password: str, *, address: str | None = None,
                 now: datetime | None = None) -> User:
    """The user if ``password`` is theirs; else LoginError. Every attempt is logged
    (an unknown name is logged without the typed text: it may be a password).
    The dashboard's login form calls this; see the module text for the limits."""
    ensure_auth_tables(store)
    name = (name or "").strip()
    address = address or UNKNOWN_ADDRESS
    slot, stored, wait, now = _reserve(store, name, address, now)
    if slot is None:
        wait_s = max(1, math.ceil(wait))
        raise LoginError(f"登录尝试过于频繁，请 {wait_s} 秒后再试。", wait)
    ok = False
    try:
        ok = _verify(stored, password)
    finally:
        with store.transaction() as cur:
            cur.execute("UPDATE auth.login_attempts SET outcome = ? WHERE id = ?",
                        [_OK if ok else _FAIL, slot])
            if ok:
                _log_login(cur, actor=name, address=address, result=auditlog.OK, detail=None, at=now)
            else:
                _log_login(cur, actor=name if stored else None, address=address,
                           result=auditlog.FAILED, detail="密码错误" if stored else "用户名不存在",
                           at=now)
    if not ok:
        raise LoginError("用户名或密码不正确。")
    if _hasher.check_needs_rehash(stored):
        cur = store.cursor()  # argon2's defaults moved on since this hash was made
        try:
            cur.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                        [_hasher.hash(password), name])
        finally:
            cur.close()
    return get_user(store, name)


# --------------------------------------------------------------------------
# Sessions: a login kept across reloads and tabs (the dashboard's cookie)
# --------------------------------------------------------------------------

SESSION_COOKIE = "perfeval_session"
_TOUCH_EVERY = 60.0  # seconds: last_seen is written at most this often per session


def session_hours() -> float:
    """``PERFEVAL_SESSION_HOURS``: how long a login is kept at most (default 8)."""
    raw = os.environ.get("PERFEVAL_SESSION_HOURS", "").strip()
    try:
        hours = float(raw) if raw else 8.0
    except ValueError:
        hours = 8.0
    return hours if hours > 0 else 8.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(store, user: User, *, address: str | None = None,
                   now: datetime | None = None) -> str:
    """A new session for ``user``; returns its token (only its hash is stored)."""
    ensure_auth_tables(store)
    now = now or datetime.now()
    token = secrets.token_urlsafe(32)
    with store.transaction() as cur:
        cur.execute("INSERT INTO auth.sessions VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                    [token_hash(token), user.name, address or UNKNOWN_ADDRESS, now,
                     now + timedelta(hours=session_hours()), now])
    return token


def end_session(store, digest: str, reason: str, now: datetime | None = None) -> None:
    """Revoke one session (by its token hash): its cookie no longer logs anyone in."""
    ensure_auth_tables(store)
    with store.transaction() as cur:
        cur.execute("UPDATE auth.sessions SET ended_at = ?, end_reason = ? "
                    "WHERE token_hash = ? AND ended_at IS NULL", [now or datetime.now(), reason, digest])


def session_user(store, digest: str, now: datetime | None = None) -> tuple[User | None, str | None]:
    """The user of a live session (by token hash) and None, or None and why it
    is no longer valid (None when there never was such a session). Ends a
    session found expired or idle; notes activity on a live one."""
    ensure_auth_tables(store)
    now = now or datetime.now()
    cur = store.cursor()
    try:
        rows = cur.execute("SELECT user_name, expires_at, last_seen, ended_at FROM auth.sessions "
                           "WHERE token_hash = ?", [digest]).fetchall()
    finally:
        cur.close()
    if not rows:
        return None, None
    name, expires_at, last_seen, ended_at = rows[0]
    if ended_at is not None:
        return None, "登录已结束，请重新登录"
    reason = None
    if now >= expires_at:
        reason = "登录已超过保持时间，请重新登录"
    elif (now - last_seen).total_seconds() > session_idle_seconds():
        reason = "空闲超时，已自动退出登录"
    user = get_user(store, name) if reason is None else None
    if reason is None and user is None:
        reason = "用户已被删除"
    if reason is not None:
        end_session(store, digest, reason, now)
        return None, reason
    if (now - last_seen).total_seconds() >= min(_TOUCH_EVERY, session_idle_seconds() / 4):
        with store.transaction() as cur:
            cur.execute("UPDATE auth.sessions SET last_seen = ? WHERE token_hash = ?", [now, digest])
    return user, None
