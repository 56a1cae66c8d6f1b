"""Report downloads on 部门画像 and 总览, and 报送情况 on 数据管理.

Each page calls one function here. A report is generated when its button
is clicked (not on every rerun) and kept in the session for its download
button until the filters or the data change.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from perfeval import auditlog, users
from perfeval.coverage import (
    SOURCE_LIST,
    clear_expected_units,
    coverage,
    expected_list,
    read_expected_units,
    set_expected_units,
)
from perfeval.ingest import MAX_FILE_BYTES
from perfeval.model import PerfevalError
from perfeval.queries import Filters, filter_options, generation
from perfeval.reports import render, summary_report, unit_report
from perfeval.ui import auth, frame

LIST_MAX_MB = MAX_FILE_BYTES // 2**20  # a list of units: the import's per-file limit
MIMES = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".pdf": "application/pdf"}
FORMAT_LABELS = {".docx": "Word（.docx）", ".pdf": "PDF"}


def _download(label: str, key: str, token: tuple, make, file_stem: str) -> None:
    """A format choice, a 生成 button and, once generated, the download button."""
    with st.expander(label, icon=":material/description:"):
        fmt = st.segmented_control("格式", list(FORMAT_LABELS), default=".docx", required=True,
                                   format_func=FORMAT_LABELS.get, key=f"{key}_fmt")
        stamp = (*token, fmt, generation(auth.get_store()))
        if st.button(f"生成{label.removeprefix('下载')}", key=f"{key}_make"):
            try:
                with st.spinner("正在生成报告…"):
                    st.session_state[key] = (stamp, render(make(), fmt))
            except PerfevalError as exc:
                st.error(str(exc))
        held = st.session_state.get(key)
        if held and held[0] == stamp:
            st.download_button(f"{label}（{FORMAT_LABELS[fmt]}，{len(held[1]) / 1024:,.0f} KB）",
                               held[1], file_name=f"{file_stem}{fmt}", mime=MIMES[fmt],
                               key=f"{key}_dl", type="primary")


def unit_report_control(f: Filters, department: str, year: int, project: str = "") -> None:
    """下载自评报告 of the evaluation shown on 部门画像."""
    def make():
        return unit_report(auth.get_store(), department, int(year), scope=f.scope,
                           project=project or "", scheme=f.scheme)

    name = f"{year}年度{department}{project}绩效自评结果"
    _download("下载自评报告", "report_unit", (department, int(year), f.scope, project, f.scheme),
              make, name)


def summary_report_control(f: Filters, allowed) -> None:
    """下载汇总报告 for the current filters on 总览."""
    def make():
        return summary_report(auth.get_store(), f, allowed, source="看板数据库")

    where = "".join(x for x in (f.region, f.kind) if x)
    _download("下载汇总报告", "report_summary", (f, tuple(allowed) if allowed else None), make,
              f"{f.year}年度{where}预算绩效自评汇总报告")


def coverage_panel(store, user) -> None:
    """报送情况: submitted and missing units of a year; an administrator uploads the list."""
    st.header("报送情况")
    allowed = st.session_state.get(auth.ALLOWED_KEY)
    years = [int(y) for y in filter_options(store, allowed)["years"]]
    if not years:
        st.caption("还没有数据。")
        return
    options = sorted({*years, max(years) + 1}, reverse=True)
    year = st.selectbox("年度", options, index=options.index(max(years)), key="cov_year")
    cov = coverage(store, Filters(year=year), allowed)
    c = st.columns(4)
    c[0].metric("应参评单位", f"{len(cov.expected):,} 个", border=True, help=f"依据：{cov.source}")
    c[1].metric("已提交", f"{len(cov.submitted):,} 个", border=True)
    c[2].metric("未提交", f"{len(cov.missing):,} 个", border=True)
    c[3].metric("覆盖率", "—" if cov.rate is None else f"{cov.rate:.1%}", border=True)
    st.caption(f"应参评单位依据：{cov.source}。" + (
        "" if cov.source == SOURCE_LIST else "管理员可上传本年度的应参评单位名单。"))
    table = cov.table()
    only_missing = st.toggle("只看未提交", value=bool(cov.missing), key="cov_missing_only")
    shown = table[table["状态"] == "未提交"] if only_missing else table
    frame.table(shown, hide_index=True, width="stretch",
                 column_config={c: st.column_config.TextColumn(c) for c in shown.columns})

    if user is None or user.role != users.ADMIN:
        return
    with st.expander(f"上传 {year} 年度应参评单位名单（管理员）"):
        st.caption("xlsx、xls 或 csv：一列“单位名称”（或 预算单位、部门名称、单位），可有一列“主管部门”。"
                   "上传后本年度的应参评单位以名单为准，替换以前上传的名单。")
        up = st.file_uploader("名单文件", type=["xlsx", "xls", "csv"], key="cov_upload",
                              max_upload_size=frame.upload_limit("cov_upload", LIST_MAX_MB))
        if up is not None:
            data = up.getvalue()
            try:
                units = read_expected_units(up.name, data)
            except PerfevalError as exc:
                st.error(str(exc))
            else:
                st.caption(f"名单中有 {len(units):,} 个单位。")
                if st.button(f"保存为 {year} 年度名单", key="cov_save", type="primary"):
                    n = set_expected_units(store, year, units, uploaded_by=user.name)
                    auditlog.log(store, auditlog.IMPORT, actor=user.name,
                                 address=auth.client_address(), file_name=up.name,
                                 checksum=hashlib.sha256(data).hexdigest(), year=year,
                                 detail=f"应参评单位名单 {n} 个")
                    st.cache_data.clear()
                    st.rerun()
        if expected_list(store, year) is not None and st.button(
                f"清除 {year} 年度名单（改用上一年度参评单位）", key="cov_clear"):
            clear_expected_units(store, year)
            st.cache_data.clear()
            st.rerun()
