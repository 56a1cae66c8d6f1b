"""``perfeval user add|remove|passwd|role|list``."""

from __future__ import annotations

import getpass
import sys

from ..model import PerfevalError
from .common import LazyChoices, open_store


def _roles() -> tuple[str, ...]:
    from ..users import ROLES  # argon2 and pandas: only when a role is checked

    return ROLES


ROLE_CHOICES = LazyChoices(_roles)


def read_password(args, *, confirm: bool = True) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("密码：")
        if confirm and getpass.getpass("再输入一次：") != password:
            raise PerfevalError("两次输入的密码不一致。")
    return password


def _cmd_add(args) -> int:
    from .. import auditlog
    from ..users import add_user

    password = read_password(args)
    with open_store(args) as store:
        user = add_user(store, args.name, password, args.role, args.dept,
                        actor=auditlog.cli_actor())
    print(f"已添加用户 {user.label}。")
    return 0


def _cmd_remove(args) -> int:
    from .. import auditlog
    from ..users import remove_user

    with open_store(args) as store:
        remove_user(store, args.name, actor=auditlog.cli_actor())
    print(f"已删除用户 {args.name}。")
    return 0


def _cmd_passwd(args) -> int:
    from .. import auditlog
    from ..users import set_password

    password = read_password(args)
    with open_store(args) as store:
        set_password(store, args.name, password, actor=auditlog.cli_actor())
    print(f"已修改用户 {args.name} 的密码。")
    return 0


def _cmd_role(args) -> int:
    from .. import auditlog
    from ..users import set_role

    with open_store(args) as store:
        user = set_role(store, args.name, args.role, args.dept, actor=auditlog.cli_actor())
    print(f"已修改用户 {user.label}。")
    return 0


def _cmd_list(args) -> int:
    from ..users import list_users, scope_label

    with open_store(args) as store:
        df = list_users(store)
    if df.empty:
        print("还没有用户。添加第一位管理员：perfeval user add 名字 --role 管理员")
        return 0
    for r in df.itertuples():
        print(f"{r.name}\t{r.role}\t{scope_label(r.role, r.departments)}\t"
              f"创建于 {r.created_at:%Y-%m-%d %H:%M}")
    return 0


def register(sub, common) -> None:
    s = sub.add_parser("user", parents=[common], help="管理用户 / manage users (add|remove|passwd|role|list)")
    us = s.add_subparsers(dest="user_command", required=True, metavar="操作")

    def password_flag(p):
        p.add_argument("--password-stdin", action="store_true",
                       help="从标准输入读取密码（一行），供脚本使用；默认交互输入")

    p = us.add_parser("add", parents=[common], help="添加用户")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLE_CHOICES, metavar="角色",
                   help="%(choices)s")
    p.add_argument("--dept", action="append", help="只允许该部门（可重复；不填为全部部门）")
    password_flag(p)
    p.set_defaults(func=_cmd_add)

    p = us.add_parser("remove", parents=[common], help="删除用户")
    p.add_argument("name")
    p.set_defaults(func=_cmd_remove)

    p = us.add_parser("passwd", parents=[common], help="修改密码")
    p.add_argument("name")
    password_flag(p)
    p.set_defaults(func=_cmd_passwd)

    p = us.add_parser("role", parents=[common], help="修改角色和部门范围")
    p.add_argument("name")
    p.add_argument("role", choices=ROLE_CHOICES, metavar="角色",
                   help="%(choices)s")
    p.add_argument("--dept", action="append", help="只允许该部门（可重复；不填为全部部门）")
    p.set_defaults(func=_cmd_role)

    p = us.add_parser("list", parents=[common], help="列出用户")
    p.set_defaults(func=_cmd_list)
