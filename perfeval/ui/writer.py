"""The dashboard process as the one writer of its database (perfeval.spool):
starts the writer thread once per process, and the 数据管理 panels for the
first administrator and the writer's queue."""

from __future__ import annotations

import threading

import pandas as pd
import streamlit as st

from perfeval import auditlog, firstrun, spool, users
from perfeval.model import PerfevalError

_lock = threading.Lock()
_writers: dict[str, spool.Writer] = {}


def ensure_writer(store) -> spool.Writer:
    """The writer thread of ``store`` in this process, started on first call
    (by perfeval.ui.serve at start-up, or by the first page view)."""
    from perfeval.cli import run_in_server

    with _lock:
        key = str(store.path)
        if key not in _writers:
            _writers[key] = spool.Writer(store, run_in_server).start()
            firstrun.setup_token(store)
        return _writers[key]


def first_admin_panel(store) -> bool:
    """While no user exists: the form that creates the first administrator
    with the setup token. Returns True when it was shown."""
    created = st.session_state.pop("first_admin_created", None)
    if created:
        st.success(f"已创建管理员 {created}：请在左侧栏登录。")
    if users.user_count(store) > 0:
        return False
    token = firstrun.setup_token(store)
    st.info("还没有任何用户。输入看板启动时日志中打印的“首次设置令牌”，创建第一位管理员"
            "（令牌只能用一次；之后的用户由管理员添加）。")
    if token is None:
        return False
    with st.form("first_admin", border=True):
        given = st.text_input("首次设置令牌", type="password", key="first_admin_token")
        name = st.text_input("管理员用户名", key="first_admin_name")
        pw1 = st.text_input("密码", type="password", key="first_admin_pw1",
                            help=f"至少 {users.MIN_PASSWORD_LENGTH} 个字符")
        pw2 = st.text_input("再输入一次密码", type="password", key="first_admin_pw2")
        submitted = st.form_submit_button("创建管理员", type="primary")
    if submitted:
        try:
            if pw1 != pw2:
                raise PerfevalError("两次输入的密码不一致。")
            user = firstrun.create_first_admin(store, given, name, pw1)
        except PerfevalError as exc:
            st.error(str(exc))
        else:
            st.session_state["first_admin_created"] = user.name
            st.rerun()
    return True


def queue_panel(store) -> None:
    """The writer's queue (waiting, running, done, failed) and the last imports."""
    st.header("写入队列与收件箱")
    st.caption(f"命令行的写入命令和放入收件箱（{spool.inbox_dir(store.path)}）的文件由看板依次导入；"
               "收件箱中的文件导入后移到 done/ 或 failed/，旁边附结果说明。")
    rows = spool.queue_status(store.path)
    if rows:
        df = pd.DataFrame(rows)
        counts = df["状态"].value_counts()
        cols = st.columns(4)
        for col, label in zip(cols, ("等待", "进行中", "完成", "失败"), strict=True):
            col.metric(label, int(counts.get(label, 0)))
        st.dataframe(df, hide_index=True, width="stretch")
    else:
        st.caption("队列为空。")
    log = auditlog.read_log(store, action=auditlog.IMPORT, limit=20)
    if not log.empty:
        st.subheader("最近的导入")
        st.dataframe(log.drop(columns=["序号", "校验和(SHA-256)"]), hide_index=True,
                     width="stretch")
