"""The first administrator, created in the browser with a one-time token.

While the database has no user, the server makes a random setup token when it
starts and prints it in its log (as Jupyter and Metabase do). Whoever can read
the server's log can create the first administrator on 数据管理 with it; once
any user exists the token is void, and a new server prints none.
"""

from __future__ import annotations

import hmac
import secrets
import sys
import threading

from . import users
from .model import PerfevalError

FIRST_ADMIN_ACTOR = "首次设置"

_lock = threading.Lock()
_tokens: dict[str, str] = {}  # database path → token, in this process only


def setup_token(store, *, announce: bool = True) -> str | None:
    """This process's token for ``store`` while it has no user (made and
    printed once), else None."""
    with _lock:
        if users.user_count(store) > 0:
            _tokens.pop(str(store.path), None)
            return None
        key = str(store.path)
        if key not in _tokens:
            _tokens[key] = secrets.token_urlsafe(18)
            if announce:
                print(f"\nperfeval：数据库 {store.path} 还没有用户。\n"
                      f"  首次设置令牌：{_tokens[key]}\n"
                      "  在看板“数据管理”页输入此令牌，创建第一位管理员（创建后令牌作废）。\n",
                      file=sys.stderr, flush=True)
        return _tokens[key]


def create_first_admin(store, token: str, name: str, password: str) -> users.User:
    """Create the first administrator if ``token`` is this process's setup token."""
    with _lock:
        expected = _tokens.get(str(store.path))
        if users.user_count(store) > 0:
            _tokens.pop(str(store.path), None)
            raise PerfevalError("已经有用户：首次设置令牌已作废，请登录后在用户管理中操作。")
        if not expected or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            raise PerfevalError("首次设置令牌不正确：请查看看板启动时输出的日志。")
        user = users.add_user(store, name, password, users.ADMIN, None, actor=FIRST_ADMIN_ACTOR)
        _tokens.pop(str(store.path), None)
        return user
