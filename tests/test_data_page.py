"""数据管理 and 审计日志 pages, and the sidebar login (AppTest)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from perfeval import auditlog, users
from perfeval.store import Store
from perfeval.ui import auth
from tests.conftest import small_evaluation

ROOT = Path(__file__).parent.parent
DATA_PAGE = str(ROOT / "pages" / "data.py")
LOG_PAGE = str(ROOT / "pages" / "log.py")
SAMPLE = ROOT / "data" / "samples" / "ronghua-2022.txt"
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"
PASSWORD = "page-test-password"


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    return path


@pytest.fixture
def people(db):
    with Store(db) as s:
        s.write([small_evaluation("甲街道"), small_evaluation("乙街道"), small_evaluation("丙街道")])
        s.write([small_evaluation("甲街道", unmet=False)])
        users.add_user(s, "王管理", PASSWORD, users.ADMIN, actor="测试")
        users.add_user(s, "李录入", PASSWORD, users.ENTRY, ["甲街道"], actor="测试")
        users.add_user(s, "赵查看", PASSWORD, users.VIEWER, ["甲街道", "乙街道"], actor="测试")
    return db


def page(path: str, user: str | None = None, *, idle: float = 0.0, role=None,
         departments=None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60)
    if user:
        roles = {"王管理": users.ADMIN, "李录入": users.ENTRY, "赵查看": users.VIEWER}
        at.session_state[auth.USER_KEY] = {"name": user, "role": role or roles[user],
                                           "departments": departments}
        at.session_state[auth.SEEN_KEY] = time.time() - idle
    return at.run()


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return buf.getvalue()


def test_without_users_the_page_says_how_to_create_the_first_administrator(db):
    at = page(DATA_PAGE)
    assert not at.exception
    assert "首次设置令牌" in _texts(at.info)  # the one-time token of perfeval.firstrun
    assert at.text_input(key="first_admin_token") is not None
    assert not at.file_uploader  # writing needs a login


def test_admin_dry_run_then_commit_good_files_only(people):
    at = page(DATA_PAGE, "王管理")
    assert not at.exception
    bad_csv = "部门,年度,目标序号\n某街道,2022,1\n".encode()
    at.file_uploader[0].set_value([
        ("ronghua-2022.txt", SAMPLE.read_bytes(), "text/plain"),
        ("坏表.csv", bad_csv, "text/csv"),
        ("包.zip", _zip({"../evil.txt": b"x"}), "application/zip"),
    ]).run()
    assert not at.exception
    m = {x.label: x.value for x in at.metric}
    assert (m["文件"], m["可导入"], m["有错误"]) == ("3", "1", "2")
    summary = at.dataframe[0].value
    row = summary.iloc[0]
    assert (row["部门"], row["年度"], row["目标"], row["指标"], row["预算行"], row["自评得分"]) == (
        RONGHUA, 2022, 12, 39, 3, 98.0)
    errors = "\n".join(df.value.to_string() for df in at.dataframe[1:])
    assert "缺少必填列" in errors and "指向压缩包以外" in errors
    button = next(b for b in at.button if b.key == "data_commit")
    assert "导入 1 个无错误的文件" in button.label and "跳过 2 个" in button.label
    button.click().run()
    assert not at.exception
    assert "已导入 1 份评价" in _texts(at.success) and "第 1 版" in _texts(at.success)
    with Store(people) as s:
        cur = s.query_df("SELECT department, self_score FROM cur_evaluations WHERE department = ?",
                         [RONGHUA])
        assert cur["self_score"].tolist() == [98.0]
        assert s.query_df("SELECT count(*) AS n FROM eval_scores")["n"][0] > 0  # scored
        log = s.query_df("SELECT actor, action, file_name, result FROM audit_log "
                         "WHERE action = ? ORDER BY seq", [auditlog.IMPORT])
        assert log.values.tolist() == [
            ["王管理", auditlog.IMPORT, "坏表.csv", auditlog.REFUSED],
            ["王管理", auditlog.IMPORT, "包.zip/../evil.txt", auditlog.REFUSED],
            ["王管理", auditlog.IMPORT, "ronghua-2022.txt", auditlog.OK]]


def test_entry_clerk_limited_to_a_department_cannot_import_another(people):
    at = page(DATA_PAGE, "李录入", departments=["甲街道"])
    at.file_uploader[0].set_value(("ronghua-2022.txt", SAMPLE.read_bytes(), "text/plain")).run()
    assert not at.exception
    assert "无权导入以下部门" in "\n".join(df.value.to_string() for df in at.dataframe)
    assert not [b for b in at.button if b.key == "data_commit"]
    assert "没有可导入的文件" in _texts(at.warning)
    assert not [h for h in at.header if h.value == "备份"]  # backups: administrators only


def test_viewer_sees_only_their_departments_and_cannot_write(people):
    at = page(DATA_PAGE, "赵查看", departments=["甲街道", "乙街道"])
    assert not at.exception
    assert not at.file_uploader
    assert at.selectbox(key="data_hist_dept").options == ["乙街道", "甲街道"]
    assert not [b for b in at.button if b.key == "data_restore"]
    assert at.session_state[auth.ALLOWED_KEY] == ["乙街道", "甲街道"]


def test_restore_an_older_revision(people):
    at = page(DATA_PAGE, "王管理")
    at.selectbox(key="data_hist_dept").set_value("甲街道").run()
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="data_restore_rev").set_value(1).run()
    at.button(key="data_restore").click().run()
    assert not at.exception
    assert "恢复为第 1 版" in _texts(at.success)
    with Store(people) as s:
        h = s.history("甲街道")
        assert h.loc[h["is_current"], "revision"].tolist() == [1]
        last = s.query_df("SELECT action, actor, revision FROM audit_log ORDER BY seq DESC LIMIT 1")
        assert last.values.tolist() == [[auditlog.RESTORE, "王管理", 1]]


def test_backup_download_for_administrators(people):
    at = page(DATA_PAGE, "王管理")
    at.button(key="data_backup_parquet").click().run()
    assert not at.exception
    dl = at.get("download_button")
    assert dl and "下载 zip 备份" in dl[0].proto.label


def test_idle_session_expires(people):
    at = page(DATA_PAGE, "王管理", idle=users.session_idle_seconds() + 5)
    assert not at.exception
    assert not at.file_uploader
    assert auth.USER_KEY not in at.session_state
    with Store(people) as s:
        last = s.query_df("SELECT action, actor, detail FROM audit_log ORDER BY seq DESC LIMIT 1")
        assert last.values.tolist() == [[auditlog.LOGOUT, "王管理", "空闲超时，已自动退出登录"]]


def test_removed_user_loses_access_at_the_next_rerun(people):
    at = page(DATA_PAGE, "李录入", departments=["甲街道"])
    assert at.file_uploader
    with Store(people) as s:
        users.remove_user(s, "李录入", actor="王管理")
    at.run()
    assert not at.file_uploader


def test_log_page_for_administrators_only(people):
    at = page(LOG_PAGE, "赵查看", departments=["甲街道", "乙街道"])
    assert "仅管理员可见" in _texts(at.warning)
    assert not at.dataframe
    at = page(LOG_PAGE, "王管理")
    assert not at.exception
    df = at.dataframe[0].value
    assert set(df["操作"]) == {auditlog.USER_ADD}
    assert df["操作人"].tolist()[0] == "测试"


def _login_app():
    from perfeval.ui import auth

    user = auth.login_sidebar(auth.get_store())
    import streamlit as st

    st.write(f"user={user.name if user else None}")


def test_sidebar_login_refuses_wrong_password_and_accepts_right_one(people):
    at = AppTest.from_function(_login_app, default_timeout=60).run()
    assert "user=None" in _texts(at.markdown)
    at.sidebar.text_input(key="auth_name").input("王管理")
    at.sidebar.text_input(key="auth_password").input("wrong-password")
    at.sidebar.button[0].click().run()
    assert "用户名或密码不正确" in _texts(at.sidebar.error)
    at.sidebar.text_input(key="auth_name").input("王管理")
    at.sidebar.text_input(key="auth_password").input(PASSWORD)
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert "user=王管理" in _texts(at.markdown)
    assert "已登录：王管理（管理员，全部部门）" in _texts(at.sidebar.caption)
    assert at.session_state[auth.ALLOWED_KEY] is None
    with Store(people) as s:
        log = s.query_df("SELECT result FROM audit_log WHERE action = ? ORDER BY seq",
                         [auditlog.LOGIN])
        assert log["result"].tolist() == [auditlog.FAILED, auditlog.OK]


def test_read_login_setting_closes_pages_to_anonymous_readers(people, monkeypatch):
    monkeypatch.setenv("PERFEVAL_READ_LOGIN", "1")
    at = page(DATA_PAGE)
    assert "需要登录后查看" in _texts(at.info)
    assert not at.selectbox


# -- a 查看者 limited to two departments, on every page and in every download ------------

APP = str(ROOT / "app.py")
PAGES = ["overview", "budget", "unmet", "trends", "profile", "review", "data"]
LISTING_PAGES = {"overview", "budget", "review", "data"}  # these name many departments


@pytest.fixture(scope="module")
def demo_with_viewer(tmp_path_factory):
    from perfeval.demo import build_demo
    from perfeval.scoring import ensure_scores

    path = tmp_path_factory.mktemp("viewer") / "demo.duckdb"
    with Store(path) as s:
        build_demo(s, with_sample=False)
        ensure_scores(s)
        names = s.query_df("SELECT name FROM departments ORDER BY name")["name"].tolist()
        mine = names[:2]
        users.add_user(s, "赵查看", PASSWORD, users.VIEWER, mine, actor="测试")
    return path, names, mine


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _shown_text(at: AppTest, downloads: list[bytes]) -> str:
    """Everything the page sends: element texts, table cells, chart specs, widget
    options, and the contents of every Excel download."""
    import openpyxl
    from google.protobuf import text_format

    parts = [df.value.to_string() for df in at.dataframe]
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and type(node).__name__ != "Dataframe":
            parts.append(text_format.MessageToString(proto, as_utf8=True))
    for data in downloads:
        if data[:2] == b"PK":
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            for ws in wb.worksheets:
                parts.extend(str(v) for row in ws.iter_rows(values_only=True) for v in row if v)
        else:
            parts.append(data.decode("utf-8-sig", "replace"))
    return "\n".join(parts)


def _run_page(monkeypatch, path, page: str, viewer: bool) -> tuple[AppTest, list[bytes]]:
    import streamlit as st

    downloads: list[bytes] = []
    original = st.download_button

    def eager_download(label, data=None, *args, **kwargs):
        body = data() if callable(data) else data
        downloads.append(body if isinstance(body, bytes) else str(body).encode())
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", eager_download)
    monkeypatch.setenv("PERFEVAL_DB", str(path))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    if viewer:
        at.session_state[auth.USER_KEY] = {"name": "赵查看", "role": users.VIEWER,
                                           "departments": None}  # the store's list wins
        at.session_state[auth.SEEN_KEY] = time.time()
    at.run()
    if page != "overview":
        downloads.clear()
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at, downloads


@pytest.mark.parametrize("page", PAGES)
def test_viewer_sees_only_their_two_departments_on_every_page_and_download(
        monkeypatch, demo_with_viewer, page):
    path, names, mine = demo_with_viewer
    found, in_downloads = {}, {}
    for viewer in (False, True):
        at, downloads = _run_page(monkeypatch, path, page, viewer)
        text = _shown_text(at, downloads)
        found[viewer] = {n for n in names if n in text}
        dl_text = _shown_text(AppTest.from_string(""), downloads)
        in_downloads[viewer] = {n for n in names if n in dl_text}
        assert downloads or page == "data", page  # every dashboard page offers one
    assert found[True] <= set(mine), (page, found[True] - set(mine))
    assert found[True], page  # the page does show the viewer's own departments
    assert len(found[False]) > len(mine) + 5, page  # the full set shows many more
    assert in_downloads[True] <= set(mine)
    if page in LISTING_PAGES - {"data"}:
        assert in_downloads[True] and len(in_downloads[False]) > len(mine), page
