"""The one writer: command-line commands and inbox files through the server's
writer thread (perfeval.spool), in this process and in a real server."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfeval import auditlog, firstrun, spool, users
from perfeval.cli import main, run_in_server
from perfeval.model import PerfevalError
from perfeval.store import Store

from .conftest import FIXTURES, ROOT, free_port
from .test_template import csv_bytes, rows_frame

SAMPLE = FIXTURES / "reports" / "ronghua-2022.txt"
SAMPLE_DEPT = "武汉市硚口区人民政府荣华街道办事处"


def template_csv(path: Path, dept: str, year: int = 2023) -> Path:
    df = rows_frame()
    df["部门"] = dept
    df["年度"] = str(year)
    path.write_bytes(csv_bytes(df))
    return path


@pytest.fixture
def served(tmp_path):
    """A Store with its writer thread running in this process, as the dashboard has."""
    db = tmp_path / "s.duckdb"
    store = Store(db)
    writer = spool.Writer(store, run_in_server, inbox=tmp_path / "inbox", poll=0.05).start()
    yield db, store, writer
    writer.stop()
    store.close()


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_commands_go_through_the_running_server(served, tmp_path, capsys):
    db, store, _ = served
    assert spool.server_info(db)["pid"] == os.getpid()
    code, out, err = run(capsys, "--db", db, "import", SAMPLE)
    assert code == 0, err
    assert f"已导入：{SAMPLE_DEPT} 2022 年度 部门整体（第 1 版）" in out
    # The server's own Store holds it: no second process ever opened the file.
    assert store.current_eval_id(SAMPLE_DEPT, 2022) is not None
    code, out, _ = run(capsys, "--db", db, "history")
    assert code == 0 and SAMPLE_DEPT in out and "第1版" in out
    # Outputs land where the user asked, and the message names that path.
    out_csv = tmp_path / "出口" / "all.csv"
    code, out, _ = run(capsys, "--db", db, "export", out_csv)
    assert code == 0 and out_csv.exists() and str(out_csv) in out
    # A user error comes back as the same one line and exit status 2.
    code, _, err = run(capsys, "--db", db, "restore", "无此部门", "2020", "1")
    assert code == 2 and err.startswith("错误：") and "无此部门" in err
    # Commands that would replace the file are refused while it is served.
    code, _, err = run(capsys, "--db", db, "demo", "--force")
    assert code == 2 and "看板" in err and db.exists()
    # The audit log names the command-line account, as when run alone.
    log = auditlog.read_log(store, action=auditlog.IMPORT)
    assert log["操作人"].iloc[0] == auditlog.cli_actor()


def test_password_is_asked_by_the_client_and_never_left_on_disk(served, monkeypatch, capsys):
    db, store, writer = served
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("secret-pass-1\n"))
    code, out, err = run(capsys, "--db", db, "user", "add", "张三", "--role", users.ADMIN,
                         "--password-stdin")
    assert code == 0, err
    assert users.authenticate(store, "张三", "secret-pass-1").name == "张三"
    for job in (writer.root / "done").iterdir():
        assert not (job / "stdin").exists()


def test_inbox_files_are_imported_and_filed(served, tmp_path):
    db, store, writer = served
    inbox = tmp_path / "inbox"
    template_csv(inbox / "good.csv", "收件箱街道")
    (inbox / "bad.csv").write_text("不是模板\n", "utf-8")
    deadline = time.time() + 30
    while time.time() < deadline and not (
            (inbox / "done" / "good.csv").exists() and (inbox / "failed" / "bad.csv").exists()):
        time.sleep(0.1)
    assert store.current_eval_id("收件箱街道", 2023) is not None
    assert "导入成功" in (inbox / "done" / "good.csv.结果.txt").read_text("utf-8")
    failure = (inbox / "failed" / "bad.csv.结果.txt").read_text("utf-8")
    assert "导入失败" in failure and "缺少必填列" in failure
    log = auditlog.read_log(store, action=auditlog.IMPORT)
    assert set(log["文件"]) >= {"good.csv", "bad.csv"}
    assert all(a.startswith(spool.INBOX_ACTOR) for a in log["操作人"])
    states = {r["命令"]: r["状态"] for r in spool.queue_status(db)}
    assert states == {"good.csv": "完成", "bad.csv": "失败"}


def test_a_file_still_growing_waits(served, tmp_path, monkeypatch):
    """A file being copied into the inbox is imported whole, once its size holds."""
    _, store, _ = served
    monkeypatch.setattr(spool, "INBOX_SETTLE_SECONDS", 0.5)
    data = template_csv(tmp_path / "x.csv", "慢慢街道").read_bytes()
    target = tmp_path / "inbox" / "slow.csv"
    with open(target, "wb") as fh:
        for k in range(0, len(data), len(data) // 5 + 1):
            fh.write(data[k:k + len(data) // 5 + 1])
            fh.flush()
            time.sleep(0.3)
    deadline = time.time() + 30
    while time.time() < deadline and store.current_eval_id("慢慢街道", 2023) is None:
        time.sleep(0.1)
    ev = store.load(store.current_eval_id("慢慢街道", 2023))
    assert len(ev.indicators) == len(rows_frame())
    assert not (tmp_path / "inbox" / "failed" / "slow.csv").exists()


def test_crash_recovery_finishes_committed_jobs_and_requeues_the_rest(tmp_path):
    db = tmp_path / "k.duckdb"
    with Store(db) as store:
        w = spool.Writer(store, run_in_server, inbox=tmp_path / "inbox")
        for sub in ("tmp", *spool.STATES):
            (w.root / sub).mkdir(parents=True, exist_ok=True)
        with store.transaction() as cur:
            cur.execute(spool.SPOOL_TABLE)
        # Two jobs left in running/ by a crash: one whose commit landed, one not.
        for name in ("a-committed", "b-not"):
            (w.root / "running" / name).mkdir()
            (w.root / "running" / name / "request.json").write_text('{"argv": []}')
        with store.transaction() as cur:
            cur.execute("INSERT INTO spool_jobs VALUES ('a-committed', now())")
        w._recover()
        assert (w.root / "done" / "a-committed" / "response.json").exists()
        assert (w.root / "queue" / "b-not").exists()
        assert not any((w.root / "running").iterdir())


def test_marks_commit_with_the_data_or_not_at_all(tmp_path):
    with Store(tmp_path / "m.duckdb") as store:
        with store.transaction() as cur:
            cur.execute(spool.SPOOL_TABLE)

        def mark(cur):
            cur.execute("INSERT INTO spool_jobs VALUES ('j1', now())")

        with pytest.raises(PerfevalError), store.marking(mark):
            with store.transaction() as cur:
                cur.execute("INSERT INTO departments VALUES (1, '甲', NULL, NULL, NULL)")
                raise PerfevalError("中途失败")
        assert store.query_df("SELECT count(*) AS n FROM spool_jobs")["n"][0] == 0
        assert store.query_df("SELECT count(*) AS n FROM departments")["n"][0] == 0
        with store.marking(mark), store.transaction() as cur:
            cur.execute("INSERT INTO departments VALUES (1, '甲', NULL, NULL, NULL)")
        assert store.query_df("SELECT count(*) AS n FROM spool_jobs")["n"][0] == 1


def test_first_admin_needs_the_token_once(tmp_path, capsys):
    with Store(tmp_path / "f.duckdb") as store:
        token = firstrun.setup_token(store)
        assert token and token in capsys.readouterr().err
        with pytest.raises(PerfevalError, match="令牌不正确"):
            firstrun.create_first_admin(store, "wrong", "管理员甲", "long-password-1")
        user = firstrun.create_first_admin(store, token, "管理员甲", "long-password-1")
        assert user.role == users.ADMIN
        with pytest.raises(PerfevalError, match="已经有用户"):
            firstrun.create_first_admin(store, token, "管理员乙", "long-password-1")
        assert firstrun.setup_token(store) is None
        log = auditlog.read_log(store, action=auditlog.USER_ADD)
        assert log["操作人"].tolist() == [firstrun.FIRST_ADMIN_ACTOR]


# -- a real server process ---------------------------------------------------------


def _start_server(db: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PERFEVAL_DB=str(db), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfeval.ui.serve", "--server.port", str(free_port()),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while spool.server_info(db) is None:
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"server did not start: {log.read_text('utf-8', 'replace')[-2000:]}")
        time.sleep(0.2)
    return proc


def _cli(db: Path, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "perfeval.cli", "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.slow
def test_kill_9_while_the_queue_holds_files(tmp_path):
    """kill -9 mid-queue: after a restart every file is imported exactly once."""
    db = tmp_path / "kill.duckdb"
    Store(db).close()
    files = [template_csv(tmp_path / f"t{k}.csv", f"队列街道{k:02d}") for k in range(12)]
    proc = _start_server(db, tmp_path / "server1.log")
    jobs = [spool.submit(db, ["import", str(f)], argparse.Namespace(files=[str(f)]))
            for f in files]
    done = spool.spool_dir(db) / "done"
    while not any(done.iterdir()):  # kill once the first job has finished
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = len(list((spool.spool_dir(db) / "queue").iterdir())) + len(
        list((spool.spool_dir(db) / "running").iterdir()))
    proc = _start_server(db, tmp_path / "server2.log")
    try:
        deadline = time.time() + 180
        while time.time() < deadline and len(list(done.iterdir())) < len(jobs):
            time.sleep(0.2)
        assert sorted(p.name for p in done.iterdir()) == sorted(jobs)
        code = _cli(db, "history")
        assert code.returncode == 0
        for k in range(12):  # one revision each: none lost, none twice
            assert code.stdout.count(f"队列街道{k:02d} 2023 部门整体 第1版") == 1
            assert f"队列街道{k:02d} 2023 部门整体 第2版" not in code.stdout
    finally:
        proc.terminate()
        proc.wait(15)
    assert left >= 1, "the kill came after the queue had emptied: nothing was tested"
