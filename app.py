"""预算绩效自评看板: the entry point. Builds the navigation, the sidebar's
global filters (kept in the URL) and the login, then runs the chosen page."""

from pathlib import Path

import streamlit as st

from perfeval.ui import auth, frame, writer

# A local file: the dashboard runs offline (a :material/…: icon would be
# fetched from the internet as the favicon).
st.set_page_config(page_title="预算绩效自评看板",
                   page_icon=str(Path(__file__).parent / "perfeval" / "ui" / "favicon.png"),
                   layout="wide")

pages = [
    st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
    st.Page("pages/budget.py", title="预算执行", icon=":material/account_balance_wallet:"),
    st.Page("pages/unmet.py", title="未完成目标", icon=":material/flag:"),
    st.Page("pages/trends.py", title="趋势对比", icon=":material/trending_up:"),
    st.Page("pages/profile.py", title="部门画像", icon=":material/apartment:"),
    st.Page("pages/review.py", title="评分复核", icon=":material/fact_check:"),
    st.Page("pages/data.py", title="数据管理", icon=":material/upload_file:"),
    st.Page("pages/log.py", title="审计日志", icon=":material/history:"),
]
# Hidden: the sidebar's own links carry the filters from page to page.
page = st.navigation(pages, position="hidden")

frame.screen_style()  # with the data grid's code fetched while the script runs (frame)
st.session_state["_page_url_path"] = page.url_path
store = frame.store()
writer.ensure_writer(store)  # started at server start by perfeval.ui.serve; else here
st.session_state["_viewer"] = auth.current_user(store)
auth.gate(store)  # PERFEVAL_READ_LOGIN=1: only the login form until someone logs in
nav = st.sidebar.container()
st.session_state["_filters"] = frame.sidebar_filters()
frame.navigation(nav, pages)
auth.login_sidebar(store)
page.run()
frame.freeze_startup_heap()
