"""数据管理: upload and dry run, commit the good files, revision history and
restore, whole-database backups. Writes need a login (录入员 or 管理员);
every write is in the audit log; after a write every cached query is cleared.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from perfeval import auditlog, queries, users
from perfeval.backup import backup_bytes
from perfeval.ingest import (
    IDENTICAL,
    MAX_FILE_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_FILES,
    commit,
    read_uploads,
    summarize,
)
from perfeval.ingest.common import FileResult
from perfeval.model import PerfevalError
from perfeval.ui import auth, writer
from perfeval.ui.frame import table, upload_limit
from perfeval.ui.reports import coverage_panel
from perfeval.ui.text import md

DRY_RUN_KEY = "data_dry_run"
UPLOAD_TYPES = ["xlsx", "xls", "xlsm", "csv", "txt", "docx", "pdf", "zip"]

st.title("数据管理")
store = auth.get_store()
user = auth.current_user(store)
auth.require_read(user)

if writer.first_admin_panel(store):
    pass
elif user is None:
    st.info("导入、恢复版本和备份需要以管理员或录入员登录（左侧栏）。")


def _after_write() -> None:
    """Every page's cached queries afresh (the write scored its revisions)."""
    st.cache_data.clear()


def _issues_table(result) -> pd.DataFrame:
    return pd.DataFrame([{"级别": i.severity, "工作表": i.sheet or "",
                          "行": "" if i.row is None else str(i.row),
                          "列": i.column or "", "说明": i.message} for i in result.issues])


# -- 1. upload, dry run, commit ------------------------------------------------------
if users.can_import(user):
    st.header("导入")
    scope = "全部部门" if user.departments is None or user.role == users.ADMIN else \
        "、".join(map(md, user.departments))
    st.caption(f"支持 xlsx、xls、csv（导入模板或自评表）、txt、docx、pdf（自评报告），以及它们的 zip 压缩包。"
               f"单个文件不超过 {MAX_FILE_BYTES // 2**20} MB，一次最多 {MAX_UPLOAD_FILES} 个文件、"
               f"共 {MAX_UPLOAD_BYTES // 2**20} MB。可导入的部门：{scope}。")
    files = st.file_uploader("选择文件", type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="data_upload", max_upload_size=upload_limit(
                                 "data_upload", MAX_UPLOAD_BYTES // 2**20,
                                 f"单个文件不超过 {MAX_FILE_BYTES // 2**20} MB，共不超过 "
                                 f"{MAX_UPLOAD_BYTES // 2**20} MB"))
    dept_hint = st.text_input("自评表未填写单位名称时使用的部门名称（可留空）", key="data_dept")
    if files:
        uploads = [(f.name, f.getvalue()) for f in files]
        # 部门/年度 typed beside a file whose content does not state them (FileResult.needs).
        fields = {}
        for key, value in st.session_state.items():
            if isinstance(key, str) and key.startswith(("need_dept::", "need_year::")) and value:
                kind, name = key.split("::", 1)
                dept, year = fields.get(name, (None, None))
                fields[name] = ((str(value).strip() or None, year) if kind == "need_dept"
                                else (dept, int(value)))
        token = hashlib.sha256(repr([(n, hashlib.sha256(d).hexdigest()) for n, d in uploads]
                                    + [dept_hint, sorted(fields.items())]).encode()).hexdigest()
        dry = st.session_state.get(DRY_RUN_KEY)
        if not dry or dry["token"] != token:
            with st.spinner("正在试运行（只读取，不写入）…"):
                results = read_uploads(uploads, department=dept_hint.strip() or None,
                                       fields=fields)
                users.refuse_unpermitted(user, results)
            dry = {"token": token, "results": results, "done": None}
            st.session_state[DRY_RUN_KEY] = dry
        results = dry["results"]
        good = [r for r in results if r.ok]
        bad = [r for r in results if not r.ok]
        st.subheader("试运行结果")
        c1, c2, c3 = st.columns(3)
        c1.metric("文件", len(results))
        c2.metric("可导入", len(good))
        c3.metric("有错误", len(bad))
        for r in results:
            mark = "可导入" if r.ok else "有错误"
            label = f"【{mark}】{md(r.name)}" + (f"（{r.kind}）" if r.kind else "")
            with st.expander(label, expanded=not r.ok or len(results) <= 3):
                rows = summarize(r) if r.ok else []
                if rows:
                    table(pd.DataFrame(rows), hide_index=True, width="stretch")
                if r.issues:
                    table(_issues_table(r), hide_index=True, width="stretch")
                # A field stays on screen once filled (a widget not drawn loses its value).
                dept_key, year_key = f"need_dept::{r.name}", f"need_year::{r.name}"
                if r.needs:
                    st.caption("需要补充：" + "/".join(r.needs) + "（填写后自动重新试运行）")
                if "部门" in r.needs or st.session_state.get(dept_key):
                    st.text_input("部门（单位）名称", key=dept_key)
                if "年度" in r.needs or st.session_state.get(year_key):
                    st.number_input("年度", min_value=2000, max_value=2100, value=None,
                                    step=1, key=year_key)
                if not r.ok:
                    st.caption("此文件有错误，不会写入任何内容。")
        if dry.get("done"):
            st.success(md(dry["done"]))
        elif good:
            label = f"导入 {len(good)} 个无错误的文件" + (f"（跳过 {len(bad)} 个有错误的文件）" if bad else "")
            if st.button(label, type="primary", key="data_commit"):
                try:
                    with st.spinner("正在写入（一个事务）…"):
                        written = commit(store, results, skip_bad=True, imported_by=user.name)
                        _after_write()
                except PerfevalError as exc:
                    st.error(md(exc))
                else:
                    lines = [f"{w.department} {w.year} 年度 {w.scope}"
                             f"{'「' + w.project + '」' if w.project else ''} 第 {w.revision} 版"
                             for w in written]
                    dry["done"] = (f"已导入 {len(written)} 份评价：" + "；".join(lines[:20])
                                   + ("……" if len(lines) > 20 else ""))
                    dry["done"] += "".join(f" {r.name}：{i.message}" for r in good
                                           for i in r.warnings if i.message.startswith(IDENTICAL))
                    # Keep what the page shows, not the parsed files (frames can be large).
                    dry["results"] = [FileResult(name=r.name, issues=r.issues, kind=r.kind)
                                      for r in results]
                    st.rerun()
        else:
            st.warning("没有可导入的文件：请修正上面列出的错误后重新上传。")

# -- 2. revisions and restore ----------------------------------------------------------
st.header("版本历史")
allowed = st.session_state.get(auth.ALLOWED_KEY)
departments = queries.filter_options(store, allowed)["departments"]
if not departments:
    st.caption("还没有数据。")
else:
    c1, c2 = st.columns([3, 1])
    dept = c1.selectbox("部门", departments, key="data_hist_dept")
    hist = store.history(dept)
    years = sorted(hist["year"].unique().tolist(), reverse=True)
    year = c2.selectbox("年度", years, key="data_hist_year") if years else None
    hist = hist[hist["year"] == year] if year is not None else hist
    show = hist.rename(columns={"scope": "范围", "project": "项目", "revision": "版本",
                                "is_current": "当前", "self_score": "自评得分",
                                "source_name": "来源文件", "imported_at": "导入时间",
                                "imported_by": "导入人", "indicators": "指标数"})
    table(show.drop(columns=["department", "year", "checksum"]), hide_index=True,
                 width="stretch")
    if users.can_restore(user, dept) and len(hist) > 1:
        keys = hist[["scope", "project"]].drop_duplicates().itertuples(index=False)
        options = {f"{s}「{p}」" if p else s: (s, p) for s, p in keys}
        c1, c2, c3 = st.columns([2, 1, 1])
        which = c1.selectbox("评价", list(options), key="data_restore_key")
        scope_, project_ = options[which]
        revs = hist[(hist["scope"] == scope_) & (hist["project"] == project_)]
        rev = c2.selectbox("恢复为第几版", revs["revision"].tolist(), key="data_restore_rev")
        if c3.button("设为当前版本", key="data_restore"):
            try:
                auditlog.restore_revision(store, dept, int(year), int(rev), actor=user.name,
                                          scope=scope_, project=project_)
                _after_write()
                st.success(f"已将 {md(dept)} {year} 年度（{md(which)}）恢复为第 {rev} 版。")
            except PerfevalError as exc:
                st.error(md(exc))

# -- 3. backups --------------------------------------------------------------------
if users.can_backup(user):
    st.header("备份")
    st.caption("整个数据库：xlsx 工作簿（每张表一个工作表，供查阅）或 parquet 压缩包"
               "（可用 `perfeval restore-backup 文件` 恢复到新数据库文件；含密码散列，请妥善保管）。")
    c1, c2 = st.columns(2)
    for col, fmt, label, mime, ext in (
            (c1, "xlsx", "生成 xlsx 备份", "application/vnd.openxmlformats-officedocument"
             ".spreadsheetml.sheet", "xlsx"),
            (c2, "parquet", "生成 parquet 备份", "application/zip", "zip")):
        if col.button(label, key=f"data_backup_{fmt}"):
            try:
                with st.spinner("正在生成备份…"):
                    st.session_state[f"data_backup_bytes_{fmt}"] = backup_bytes(store, fmt)
                auditlog.log(store, auditlog.BACKUP, actor=user.name,
                             address=auth.client_address(), detail=fmt)
            except PerfevalError as exc:
                col.error(str(exc))
        # Offered once: the next rerun (the download's own) drops the bytes.
        data = st.session_state.pop(f"data_backup_bytes_{fmt}", None)
        if data:
            col.download_button(f"下载 {ext} 备份（{len(data) / 2**20:.1f} MB）", data,
                                file_name=f"perfeval-backup.{ext}", mime=mime,
                                key=f"data_backup_dl_{fmt}")

# -- 4. who has submitted ---------------------------------------------------------------
coverage_panel(store, user)

# -- 5. the writer's queue and the inbox --------------------------------------------
if users.can_import(user):
    writer.queue_panel(store)
