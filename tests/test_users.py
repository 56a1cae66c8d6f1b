"""Users, roles, logins: hashes only, refusals logged, failed logins slowed down."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from perfeval import auditlog, users
from perfeval.cli import build_parser, main
from perfeval.ingest import read_file
from perfeval.model import PerfevalError
from perfeval.store import Store
from tests.conftest import small_evaluation

PASSWORD = "Zq7-长城-horse-battery"


@pytest.fixture
def people(store):
    users.add_user(store, "王管理", PASSWORD, users.ADMIN, actor="测试")
    users.add_user(store, "李录入", PASSWORD + "e", users.ENTRY, ["甲街道", "乙街道"], actor="王管理")
    users.add_user(store, "赵查看", PASSWORD + "v", users.VIEWER, ["甲街道", "乙街道"], actor="王管理")
    return store


def _log(store) -> pd.DataFrame:
    return store.query_df("SELECT * FROM audit_log ORDER BY seq")


def test_login_succeeds_and_is_logged(people):
    user = users.authenticate(people, "赵查看", PASSWORD + "v", address="127.0.0.1")
    assert user == users.User("赵查看", users.VIEWER, ("乙街道", "甲街道")) or \
        user == users.User("赵查看", users.VIEWER, ("甲街道", "乙街道"))
    assert sorted(user.allowed) == ["乙街道", "甲街道"]
    last = _log(people).iloc[-1]
    assert (last["action"], last["actor"], last["result"], last["address"]) == (
        auditlog.LOGIN, "赵查看", auditlog.OK, "127.0.0.1")


def test_wrong_password_refused_and_logged(people):
    with pytest.raises(users.LoginError, match="用户名或密码不正确"):
        users.authenticate(people, "王管理", "not-the-password", address="10.0.0.9")
    last = _log(people).iloc[-1]
    assert (last["action"], last["actor"], last["result"], last["detail"]) == (
        auditlog.LOGIN, "王管理", auditlog.FAILED, "密码错误")


def test_unknown_name_refused_alike_and_typed_text_not_logged(people):
    typed = "Zq7-typed-into-the-name-box"  # people type passwords into the name field
    with pytest.raises(users.LoginError, match="用户名或密码不正确"):
        users.authenticate(people, typed, PASSWORD, address="10.0.0.9")
    last = _log(people).iloc[-1]
    assert last["actor"] is None or pd.isna(last["actor"])
    assert last["detail"] == "用户名不存在"
    assert typed not in _log(people).astype(str).to_string()


def test_password_never_stored_or_logged_in_clear(tmp_path, capsys, monkeypatch):
    db = tmp_path / "secret.duckdb"
    secrets = [PASSWORD, "第二个-Secret-密码-42", "Third-pass-phrase-99"]
    with Store(db) as store:
        # Store strings as they are, so a clear password would show in the bytes.
        store.con.execute("SET force_compression = 'uncompressed'")
        users.add_user(store, "control-user-name-xyz", secrets[0], users.ADMIN, actor="测试")
        users.set_password(store, "control-user-name-xyz", secrets[1], actor="测试")
        for wrong in (secrets[2], secrets[0]):
            with pytest.raises(users.LoginError):
                users.authenticate(store, "control-user-name-xyz", wrong)
        users.authenticate(store, "control-user-name-xyz", secrets[1])
        hashes = list(store.query_df("SELECT password_hash FROM users")["password_hash"])
        logged = _log(store).astype(str).to_string()
    # The CLI reads the password from stdin, never argv, and never echoes it.
    monkeypatch.setattr(sys, "stdin", io.StringIO(secrets[2] + "\n"))
    assert main(["--db", str(db), "user", "add", "cli-user", "--role", "录入员",
                 "--password-stdin"]) == 0
    out = capsys.readouterr()
    raw = db.read_bytes()
    assert b"control-user-name-xyz" in raw  # the control: clear text does show in the file
    assert hashes[0].startswith("$argon2id$")
    for secret in secrets:
        for blob in (raw, logged.encode(), (out.out + out.err).encode()):
            assert secret.encode() not in blob
            assert secret.encode("utf-16-le") not in blob
    with Store(db) as store:
        assert users.authenticate(store, "cli-user", secrets[2]).role == users.ENTRY


def test_roles_and_department_limits(people):
    admin, entry, viewer = (users.get_user(people, n) for n in ("王管理", "李录入", "赵查看"))
    assert users.can_manage_users(admin)
    assert not users.can_manage_users(entry) and not users.can_manage_users(viewer)
    assert not users.can_manage_users(None)
    assert users.can_import(admin, "任何部门") and users.can_import(entry, "甲街道")
    assert not users.can_import(entry, "丙街道")
    assert not users.can_import(viewer, "甲街道") and not users.can_import(None)
    assert admin.allowed is None and sorted(entry.allowed) == ["乙街道", "甲街道"]
    assert users.allowed_departments(None) is None  # open reading sees all
    assert not users.can_backup(entry) and not users.can_view_log(viewer)


def test_entry_clerk_cannot_import_other_departments(people):
    entry = users.get_user(people, "李录入")
    mine = read_file("a.xlsx", b"")  # an error result stays as it is
    ev_ok = small_evaluation("甲街道")
    ev_other = small_evaluation("丙街道")
    from perfeval.ingest.common import FileResult

    results = [FileResult("甲.txt", [ev_ok]), FileResult("丙.txt", [ev_other]), mine]
    users.refuse_unpermitted(entry, results)
    assert results[0].ok
    assert "无权导入以下部门：丙街道" in str(results[1].errors[0])
    fresh = [FileResult("甲.txt", [ev_ok])]
    users.refuse_unpermitted(users.get_user(people, "赵查看"), fresh)
    assert "没有导入权限" in str(fresh[0].errors[0])


def test_entry_clerk_cannot_manage_users_on_the_cli_either(people):
    # The CLI is for whoever holds the file; in the app, the page checks can_manage_users.
    assert not users.can_manage_users(users.get_user(people, "李录入"))


def test_last_administrator_cannot_be_removed_or_demoted(people):
    with pytest.raises(PerfevalError, match="唯一的管理员"):
        users.remove_user(people, "王管理", actor="王管理")
    with pytest.raises(PerfevalError, match="唯一的管理员"):
        users.set_role(people, "王管理", users.VIEWER, actor="王管理")
    users.set_role(people, "李录入", users.ADMIN, actor="王管理")
    users.remove_user(people, "王管理", actor="李录入")
    assert users.get_user(people, "王管理") is None
    actions = list(_log(people)["action"])
    assert actions[-2:] == [auditlog.USER_CHANGE, auditlog.USER_REMOVE]


def test_bad_inputs_refused(people):
    with pytest.raises(PerfevalError, match="至少 8 个字符"):
        users.add_user(people, "短", "short", users.VIEWER, actor="x")
    with pytest.raises(PerfevalError, match="未知角色"):
        users.add_user(people, "某人", PASSWORD, "超级用户", actor="x")
    with pytest.raises(PerfevalError, match="已存在"):
        users.add_user(people, "王管理", PASSWORD, users.VIEWER, actor="x")


def test_failed_logins_slow_down_per_user(people):
    t0 = datetime(2026, 1, 5, 9, 0, 0)
    for k in range(users.FREE_USER_FAILURES):
        with pytest.raises(users.LoginError) as exc:
            users.authenticate(people, "王管理", "wrong-password", now=t0 + timedelta(seconds=k))
        assert exc.value.wait == 0
    # The right password is not even checked while the user must wait.
    with pytest.raises(users.LoginError, match="请 1 秒后再试") as exc:
        users.authenticate(people, "王管理", PASSWORD, now=t0 + timedelta(seconds=2.2))
    assert 0 < exc.value.wait <= 1
    assert _log(people).iloc[-1]["result"] == auditlog.REFUSED
    with pytest.raises(users.LoginError):  # 4th failure: the next wait doubles
        users.authenticate(people, "王管理", "wrong-password", now=t0 + timedelta(seconds=4))
    assert users.login_wait(people, "王管理", now=t0 + timedelta(seconds=4.5)) == pytest.approx(1.5)
    assert users.authenticate(people, "王管理", PASSWORD, now=t0 + timedelta(seconds=7)).name == "王管理"
    assert users.login_wait(people, "王管理", now=t0 + timedelta(seconds=7)) == 0  # success resets
    # Other users are not held back by someone else's failures.
    assert users.login_wait(people, "李录入", now=t0 + timedelta(seconds=4)) == 0


def test_failed_logins_slow_down_per_address(people):
    t0 = datetime(2026, 1, 5, 10, 0, 0)
    for k in range(users.FREE_ADDRESS_FAILURES):
        with pytest.raises(users.LoginError):
            users.authenticate(people, f"猜测{k}", "guess-guess", address="192.0.2.7",
                               now=t0 + timedelta(seconds=k))
    with pytest.raises(users.LoginError, match="秒后再试"):
        users.authenticate(people, "赵查看", PASSWORD + "v", address="192.0.2.7",
                           now=t0 + timedelta(seconds=9.5))
    # Another address logs in at once; the window forgets old failures.
    assert users.authenticate(people, "赵查看", PASSWORD + "v", address="192.0.2.8",
                              now=t0 + timedelta(seconds=10)).name == "赵查看"
    later = t0 + users.FAIL_WINDOW + timedelta(seconds=11)
    assert users.login_wait(people, "x", "192.0.2.7", now=later) == 0


@given(n=st.integers(0, 40), since_last=st.floats(0, 400))
def test_wait_doubles_and_is_capped(n, since_last):
    now = datetime(2026, 1, 1, 12, 0, 0)
    failures = pd.DataFrame({"logged_at": [pd.Timestamp(now - timedelta(seconds=since_last))] * n})
    wait = users._wait_after(failures, users.FREE_USER_FAILURES, now)
    assert 0 <= wait <= users.MAX_WAIT
    if n < users.FREE_USER_FAILURES:
        assert wait == 0
    else:
        full = min(2.0 ** (n - users.FREE_USER_FAILURES), users.MAX_WAIT)
        # timedelta keeps microseconds: since_last is rounded to one
        assert wait == pytest.approx(max(0.0, full - since_last), abs=1e-6)


def test_settings_from_environment(monkeypatch):
    monkeypatch.delenv("PERFEVAL_READ_LOGIN", raising=False)
    monkeypatch.delenv("PERFEVAL_SESSION_IDLE_MINUTES", raising=False)
    assert not users.read_login_required() and users.can_read(None)
    assert users.session_idle_seconds() == 1800
    monkeypatch.setenv("PERFEVAL_READ_LOGIN", "1")
    monkeypatch.setenv("PERFEVAL_SESSION_IDLE_MINUTES", "5")
    assert users.read_login_required() and not users.can_read(None)
    assert users.session_expired(0, 301) and not users.session_expired(0, 299)
    monkeypatch.setenv("PERFEVAL_SESSION_IDLE_MINUTES", "abc")
    assert users.session_idle_seconds() == 1800


def test_user_cli(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "c.duckdb")

    def run(*argv, stdin=None):
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["--db", db, "user", *argv])
        out = capsys.readouterr()
        return code, out.out + out.err

    assert "还没有用户" in run("list")[1]
    assert run("add", "张三", "--role", "管理员", "--password-stdin", stdin=PASSWORD + "\n")[0] == 0
    code, out = run("add", "李四", "--role", "查看者", "--dept", "甲街道", "--dept", "乙街道",
                    "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "乙街道、甲街道" in out or "甲街道、乙街道" in out
    code, out = run("list")
    assert "张三\t管理员\t全部部门" in out and "李四\t查看者\t乙街道、甲街道" in out
    assert run("passwd", "李四", "--password-stdin", stdin="new-password-1\n")[0] == 0
    assert run("role", "李四", "录入员")[0] == 0
    code, out = run("remove", "张三")
    assert code == 2 and "唯一的管理员" in out
    code, out = run("add", "王五", "--role", "查看者", "--password-stdin", stdin="short\n")
    assert code == 2 and "至少 8 个字符" in out
    assert run("remove", "李四")[0] == 0
    # No way to pass a password on the command line.
    with pytest.raises(SystemExit):
        build_parser().parse_args(["user", "add", "x", "--role", "查看者", "--password", "p"])
    with Store(db) as store:
        assert list(store.query_df("SELECT action FROM audit_log ORDER BY seq")["action"]) == [
            auditlog.USER_ADD, auditlog.USER_ADD, auditlog.USER_PASSWD, auditlog.USER_CHANGE,
            auditlog.USER_REMOVE]


def test_cli_refuses_clearly_while_another_process_holds_the_file(tmp_path, capsys, monkeypatch):
    db = tmp_path / "held.duckdb"
    Store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
         "print('open', flush=True); sys.stdin.read()", str(db)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
        code = main(["--db", str(db), "user", "add", "张三", "--role", "管理员", "--password-stdin"])
        err = capsys.readouterr().err
        assert code == 2
        assert "正被另一个进程" in err and "数据管理" in err
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    time.sleep(0.1)
    with Store(db) as store:  # nothing was written, and the file is fine
        assert users.user_count(store) == 0


def test_user_list_shows_the_departments_the_database_holds(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "scoped.duckdb")
    with Store(db) as store:
        users.add_user(store, "管", PASSWORD, users.ADMIN, ["甲街道"], actor="测试")  # sees all anyway
        users.add_user(store, "录", PASSWORD, users.ENTRY, ["丙街道"], actor="测试")
        users.add_user(store, "看", PASSWORD, users.VIEWER, ["乙街道", "甲街道"], actor="测试")
        users.add_user(store, "全", PASSWORD, users.VIEWER, actor="测试")
        df = users.list_users(store)
    assert dict(zip(df["name"], df["departments"], strict=True)) == {
        "管": ("甲街道",), "录": ("丙街道",), "看": ("乙街道", "甲街道"), "全": None}
    assert main(["--db", db, "user", "list"]) == 0
    lines = {line.split("\t")[0]: line.split("\t")[2] for line in capsys.readouterr().out.splitlines()}
    assert lines == {"管": "全部部门", "录": "丙街道", "看": "乙街道、甲街道", "全": "全部部门"}
