"""审计日志: every write and login, newest first. Administrators only; read only."""

from __future__ import annotations

import streamlit as st

from perfeval import auditlog, safe, users
from perfeval.ui import auth
from perfeval.ui.frame import table

st.title("审计日志")
store = auth.get_store()
user = auth.current_user(store)
auth.require(users.can_view_log(user), "审计日志仅管理员可见，请以管理员登录（左侧栏）。")

c1, c2, c3 = st.columns([1, 1, 1])
action = c1.selectbox("操作", ["全部", *auditlog.ACTIONS], key="log_action")
actor = c2.text_input("操作人（留空为全部）", key="log_actor").strip()
limit = c3.selectbox("显示条数", [200, 1000, 5000], key="log_limit")
df = auditlog.read_log(store, action=None if action == "全部" else action,
                       actor=actor or None, limit=int(limit))
st.caption(f"共显示 {len(df)} 条（最新在前）。日志只追加，应用不修改也不删除任何一条。")
table(df, hide_index=True, width="stretch")
if not df.empty:
    st.download_button("下载 CSV", safe.csv_bytes(df),
                       file_name="perfeval-audit-log.csv", mime="text/csv", key="log_download")
