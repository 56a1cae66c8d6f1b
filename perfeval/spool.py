"""One writer, any client: the spool folder beside the database.

DuckDB lets one process open a file read-write, and while it does no other
process can open it at all. The dashboard server is that process; command-line
commands and files dropped into the inbox reach its database through a folder
that the server watches (no network service: an office can look inside with a
file manager).

Layout, beside ``data/perfeval.duckdb``::

    perfeval.duckdb.spool/
      server.json           who serves the file (pid, host, heartbeat)
      tmp/<job>/            a job being written by a client
      queue/<job>/          waiting: request.json, files/, stdin (0600)
      running/<job>/        taken by the server's writer (or reader) thread
      done/<job>/           response.json (exit code, output), out/ files
    inbox/                  files dropped here are imported (configurable)
      done/  failed/        where each ends, with 「文件名.结果.txt」

A job moves between folders by ``rename`` (atomic on one file system), so at
any moment it is in exactly one state. Its writes commit together with a row
of ``spool_jobs`` (the Store's commit marks, see :meth:`Store.marking`); after
a crash a job found in ``running/`` is finished if that row exists, else put
back in the queue: every job runs to its commit once, never twice.

Read-only commands (``history``, ``export`` …; their job name ends in
``-r``) are taken by a second thread: they need not wait behind a queue of
imports, only for a commit under way (they hold the store's write turn while
they read, so they see one commit throughout).

The command runs in the server exactly as it runs alone (same parser, same
functions, same validation, transaction and audit log), with the server's
Store and its output captured; the client prints that output and exits with
its status.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import pwd
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .model import PerfevalError

HEARTBEAT_SECONDS = 2.0
# A server whose heartbeat is older is taken as gone, unless the process that
# wrote server.json is provably still running (same pid and start time): a
# server busy with imports and page views may beat late, and a client that
# took it for gone would open the file itself and be refused.
STALE_SECONDS = 30.0
INBOX_SETTLE_SECONDS = 2.0  # a dropped file must keep its size this long before import
KEEP_DONE_JOBS = 200  # finished jobs kept in done/ for the status table
STATES = ("queue", "running", "done")
STATE_LABELS = {"queue": "等待", "running": "进行中", "done": "完成", "failed": "失败"}

# Commands that need the database; with a server running they go through it.
ROUTED_COMMANDS = {"import", "restore", "user", "history", "export", "export-form", "audit",
                   "score", "backup", "report", "reparse"}
# Of those, the ones that only read: run by the reader thread beside the writer.
READ_ONLY_COMMANDS = {"history", "export", "export-form", "audit", "backup", "report"}
READ_SUFFIX = "-r"  # a read-only job's name ends so: the threads pick by name alone
# Commands that must not run while a server holds the file.
REFUSED_WHILE_SERVING = {"demo"}
# Argument destinations that name files: inputs are copied into the job,
# outputs are written into the job's out/ and moved to their place by the client.
INPUT_DESTS = ("files",)
OUTPUT_DESTS = ("out", "xlsx")

INBOX_ACTOR = "收件箱"
CLI_ACTOR = "命令行"  # as perfeval.auditlog.cli_actor names a command-line account


def spool_dir(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".spool")


def inbox_dir(db_path: str | Path) -> Path:
    """``PERFEVAL_INBOX``, else ``inbox/`` beside the database file."""
    env = os.environ.get("PERFEVAL_INBOX")
    return Path(env) if env else Path(db_path).parent / "inbox"


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, default=str), "utf-8")
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


# -- who is serving --------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _process_started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), which
    tells a live server from a new process that reuses a dead one's pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after "(comm)"


def _same_process(info: dict) -> bool | None:
    """True/False when /proc can tell whether server.json's process still runs; else None."""
    pid = int(info.get("pid", -1))
    if not _pid_alive(pid):
        return False
    started = _process_started(pid)
    if started is None or not info.get("started"):
        return None
    return started == info["started"]


def server_info(db_path: str | Path) -> dict | None:
    """The live server of this database file, or None."""
    info = _read_json(spool_dir(db_path) / "server.json")
    if not info or info.get("host") != socket.gethostname():
        return None
    same = _same_process(info)
    if same is not None:
        return info if same else None
    fresh = time.time() - float(info.get("heartbeat", 0)) <= STALE_SECONDS
    return info if fresh else None


def _server_alive(db_path: str | Path) -> bool:
    """While waiting: the serving process still exists (a busy one may beat late)."""
    info = _read_json(spool_dir(db_path) / "server.json")
    return bool(info) and info.get("host") == socket.gethostname() and _same_process(
        info) is not False


# -- the client side -------------------------------------------------------------


@dataclass
class Response:
    exit_code: int
    stdout: str
    stderr: str


def _replace_token(argv: list[str], value: str, new: str) -> None:
    for k, tok in enumerate(argv):
        if tok == value:
            argv[k] = new
            return
        if tok.startswith("--") and "=" in tok and tok.split("=", 1)[1] == value:
            argv[k] = tok.split("=", 1)[0] + "=" + new
            return


def submit(db_path: str | Path, argv: list[str], args, *, stdin: str | None = None,
           actor: str | None = None) -> str:
    """Put one command in the server's queue; return the job id. Input files
    are copied into the job (the client may delete them afterwards). Without
    ``actor`` the server records the owner of the job's folder (:func:`job_actor`)."""
    root = spool_dir(db_path)
    read = getattr(args, "command", None) in READ_ONLY_COMMANDS
    job = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}" + (READ_SUFFIX if read else "")
    tmp = root / "tmp" / job
    (tmp / "files").mkdir(parents=True)
    os.chmod(tmp, 0o700)
    argv = list(argv)
    outputs: dict[str, str] = {}
    for dest in INPUT_DESTS:
        for k, value in enumerate(getattr(args, dest, None) or []):
            src = Path(value)
            target = tmp / "files" / f"{k:03d}" / src.name
            target.parent.mkdir()
            if src.is_dir():
                shutil.copytree(src, target)
            else:
                shutil.copy2(src, target)
            _replace_token(argv, value, str(target.relative_to(tmp)))
    for dest in OUTPUT_DESTS:
        value = getattr(args, dest, None)
        if isinstance(value, str) and value:
            name = f"out/{Path(value).name}"
            outputs[name] = str(Path(value).resolve())
            _replace_token(argv, value, name)
    if stdin is not None:
        fd = os.open(tmp / "stdin", os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(stdin)
    _write_json(tmp / "request.json", {
        "job": job, "argv": argv, "outputs": outputs, "actor": actor,
        "submitted_at": datetime.now().isoformat(timespec="seconds"), "cwd": os.getcwd()})
    (root / "queue").mkdir(exist_ok=True)
    os.replace(tmp, root / "queue" / job)
    return job


def wait(db_path: str | Path, job: str, *, timeout: float | None = None,
         poll: float = 0.2) -> Response:
    """Wait for the job's response; move its output files to where the user asked."""
    root = spool_dir(db_path)
    done = root / "done" / job
    deadline = None if timeout is None else time.monotonic() + timeout
    while not (done / "response.json").exists():
        if deadline is not None and time.monotonic() > deadline:
            raise PerfevalError(f"看板的写入队列在 {timeout:.0f} 秒内没有处理完此命令"
                                f"（任务 {job} 仍在队列中，稍后会执行）。")
        if not _server_alive(db_path) and not (done / "response.json").exists():
            raise PerfevalError(f"看板已停止，任务 {job} 仍在队列中：看板再次启动后会执行；"
                                "也可删除 " + str(root / "queue" / job) + " 取消。")
        time.sleep(poll)
    resp = _read_json(done / "response.json") or {}
    request = _read_json(done / "request.json") or {}
    stdout, stderr = resp.get("stdout", ""), resp.get("stderr", "")
    for name, target in (request.get("outputs") or {}).items():
        src = done / name
        if src.exists():
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), target)
        for state in ("running", "done"):  # the server printed its own path of the file
            job_path = str(root / state / job / name)
            stdout, stderr = stdout.replace(job_path, target), stderr.replace(job_path, target)
    return Response(int(resp.get("exit_code", 2)), stdout, stderr)


# -- the server side -------------------------------------------------------------


class _ThreadStreams(io.TextIOBase):
    """sys.stdout/sys.stderr for the server: the writer thread's output goes
    to its job's buffer, every other thread's to the real stream."""

    def __init__(self, real):
        self._real = real
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buf = io.StringIO()
        self._local.buf = buf
        try:
            yield buf
        finally:
            self._local.buf = None

    def _target(self):
        return getattr(self._local, "buf", None) or self._real

    def write(self, s):
        return self._target().write(s)

    def read(self, *args):
        return self._target().read(*args)

    def readline(self, *args):
        return self._target().readline(*args)

    def flush(self):
        return self._target().flush()

    def isatty(self):
        return False

    def fileno(self):
        return self._real.fileno()

    @property
    def encoding(self):
        return getattr(self._real, "encoding", "utf-8")


_streams_lock = threading.Lock()


def _thread_streams() -> tuple[_ThreadStreams, _ThreadStreams, _ThreadStreams]:
    with _streams_lock:
        for name in ("stdout", "stderr"):
            if not isinstance(getattr(sys, name), _ThreadStreams):
                setattr(sys, name, _ThreadStreams(getattr(sys, name)))
        if not isinstance(sys.stdin, _ThreadStreams):
            sys.stdin = _ThreadStreams(sys.stdin)
    return sys.stdout, sys.stderr, sys.stdin  # type: ignore[return-value]


SPOOL_TABLE = """
CREATE TABLE IF NOT EXISTS spool_jobs (
    job VARCHAR PRIMARY KEY, committed_at TIMESTAMP NOT NULL
)"""


def _owner(path: Path) -> str | None:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (KeyError, OSError):
        return None


def job_actor(job_dir: Path, request: dict) -> str:
    """Who a job runs for: the actor it names, else the account that wrote it
    (the folder's owner: the client cannot claim another account's name)."""
    if request.get("actor"):
        return request["actor"]
    owner = _owner(job_dir / "request.json")
    return f"{CLI_ACTOR}:{owner}" if owner else CLI_ACTOR


class Writer:
    """The server's one writer thread: inbox, queue, one job at a time; beside
    it a reader thread for read-only jobs and a heartbeat thread.

    ``run_command(store, argv, actor=)`` runs a command line in this process
    and returns its exit code (perfeval.cli.run_in_server); it is passed in so
    that this module does not import the CLI.
    """

    def __init__(self, store, run_command: Callable[..., int], *,
                 inbox: Path | None = None, poll: float = 0.5):
        self.store = store
        self.run_command = run_command
        self.root = spool_dir(store.path)
        self.inbox = inbox or inbox_dir(store.path)
        self.poll = poll
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seen_sizes: dict[str, tuple[int, float]] = {}
        self.current: str | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self) -> Writer:
        for sub in ("tmp", *STATES):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for sub in ("", "done", "failed"):
            (self.inbox / sub).mkdir(parents=True, exist_ok=True)
        with self.store.transaction() as cur:
            cur.execute(SPOOL_TABLE)
        self._recover()
        self._heartbeat()
        self._threads = [
            threading.Thread(target=self._loop, args=(False,), name="perfeval-writer", daemon=True),
            # Reads need not wait behind imports: DuckDB gives each cursor the last commit.
            threading.Thread(target=self._loop, args=(True,), name="perfeval-reader", daemon=True),
            # Its own thread: a long import must not make clients think the server is gone.
            threading.Thread(target=self._beat, name="perfeval-heartbeat", daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                self._heartbeat()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        with contextlib.suppress(OSError):
            (self.root / "server.json").unlink()

    def _heartbeat(self) -> None:
        _write_json(self.root / "server.json", {
            "pid": os.getpid(), "started": _process_started(os.getpid()),
            "host": socket.gethostname(), "db": str(self.store.path),
            "heartbeat": time.time(), "current": self.current})

    def _committed(self, job: str) -> bool:
        df = self.store.query_df("SELECT 1 FROM spool_jobs WHERE job = ?", [job])
        return not df.empty

    def _recover(self) -> None:
        """Jobs left in running/ by a crash: finished if their commit landed,
        else back in the queue. Half-written client jobs in tmp/ are dropped."""
        for d in sorted((self.root / "running").iterdir()):
            if (d / "response.json").exists():
                pass  # the command had ended; filing its result was cut short
            elif self._committed(d.name):
                self._respond(d, 0, "此命令已在看板重启前写入完成（输出未能保存）。\n", "")
            else:
                os.replace(d, self.root / "queue" / d.name)
                continue
            request = _read_json(d / "request.json") or {}
            if request.get("inbox"):
                code = int((_read_json(d / "response.json") or {}).get("exit_code", 2))
                self._file_inbox_result(d, request, code)
            self._finish(d)
        for d in (self.root / "tmp").iterdir():
            req = _read_json(d / "request.json") or {}
            if req.get("inbox"):  # taken from the inbox: queue it if the file made it here
                if (d / "files" / "000" / req.get("file_name", "")).is_file():
                    os.replace(d, self.root / "queue" / d.name)
                else:
                    shutil.rmtree(d, ignore_errors=True)
            elif time.time() - d.stat().st_mtime > 3600:  # a client that died mid-submit
                shutil.rmtree(d, ignore_errors=True)

    # -- the loop -------------------------------------------------------------
    def _loop(self, read: bool) -> None:
        while not self._stop.is_set():
            try:
                if not read:
                    self._scan_inbox()
                job = self._next_job(read)
                if job is not None:
                    self._run(job, read=read)
                    continue
            except Exception as exc:  # the thread must keep running; the job records it
                print(f"perfeval {'读取' if read else '写入'}线程：{exc!r}", file=sys.__stderr__)
            self._stop.wait(self.poll)

    def _next_job(self, read: bool = False) -> Path | None:
        queue = sorted((self.root / "queue").iterdir(), key=lambda p: p.name)
        for d in queue:
            if d.name.endswith(READ_SUFFIX) != read:
                continue
            target = self.root / "running" / d.name
            try:
                os.replace(d, target)
            except OSError:
                continue
            return target
        return None

    def _run(self, job_dir: Path, *, read: bool = False) -> None:
        if not read:
            self.current = job_dir.name
        request = _read_json(job_dir / "request.json") or {}
        actor = job_actor(job_dir, request)
        stdin_file = job_dir / "stdin"
        stdin = stdin_file.read_text("utf-8") if stdin_file.exists() else ""
        stdin_file.unlink(missing_ok=True)  # a password never stays on disk
        (job_dir / "out").mkdir(exist_ok=True)
        argv = [_rebase(a, job_dir) for a in request.get("argv", [])]
        out, err, inp = _thread_streams()
        with out.capture() as o, err.capture() as e, inp.capture() as i:
            i.write(stdin)
            i.seek(0)
            # A write commits with its spool_jobs row. A read holds the store's
            # write turn (an empty transaction), so no import commits between
            # its queries: one consistent view; it waits for a commit under
            # way, not for the queue or the parsing of the files in it.
            guard = self.store.transaction() if read else self.store.marking(
                _job_mark(job_dir.name))
            try:
                with guard:
                    code = self.run_command(self.store, argv, actor=actor)
            except Exception as exc:  # a bug, not a user error: the job still ends
                print(f"错误：内部错误（{type(exc).__name__}: {exc}）", file=sys.stderr)
                code = 2
        # The response first, then the inbox file filed with its result, then
        # done/: a crash in between leaves a job that _recover() completes.
        self._respond(job_dir, code, o.getvalue(), e.getvalue())
        if request.get("inbox"):
            self._file_inbox_result(job_dir, request, code)
        self._finish(job_dir)
        if not read:
            self.current = None

    def _respond(self, job_dir: Path, code: int, stdout: str, stderr: str) -> None:
        _write_json(job_dir / "response.json", {
            "exit_code": code, "stdout": stdout, "stderr": stderr,
            "finished_at": datetime.now().isoformat(timespec="seconds")})

    def _finish(self, job_dir: Path) -> None:
        # The inputs were copies (or filed from the inbox); the record stays.
        shutil.rmtree(job_dir / "files", ignore_errors=True)
        os.replace(job_dir, self.root / "done" / job_dir.name)
        self._prune()

    def _prune(self) -> None:
        done = sorted((self.root / "done").iterdir(), key=lambda p: p.name)
        for d in done[:-KEEP_DONE_JOBS]:
            shutil.rmtree(d, ignore_errors=True)

    # -- the inbox ------------------------------------------------------------
    def _scan_inbox(self) -> None:
        """Files whose size has held for INBOX_SETTLE_SECONDS become import jobs."""
        now = time.time()
        for f in sorted(self.inbox.iterdir()):
            if not f.is_file() or f.name.startswith(".") or f.suffix in (".part", ".tmp"):
                continue
            size = f.stat().st_size
            seen = self._seen_sizes.get(f.name)
            if seen is None or seen[0] != size:
                self._seen_sizes[f.name] = (size, now)
                continue
            if now - seen[1] < INBOX_SETTLE_SECONDS:
                continue
            del self._seen_sizes[f.name]
            self._inbox_job(f)

    def _inbox_job(self, f: Path) -> None:
        owner = _owner(f)
        actor = f"{INBOX_ACTOR}:{owner}" if owner else INBOX_ACTOR
        job = f"{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        tmp = self.root / "tmp" / job
        (tmp / "files" / "000").mkdir(parents=True)
        _write_json(tmp / "request.json", {
            "job": job, "argv": ["import", f"files/000/{f.name}", "--user", actor],
            "outputs": {}, "actor": actor, "inbox": True, "file_name": f.name,
            "submitted_at": datetime.now().isoformat(timespec="seconds")})
        # Taking the file out of the inbox is one rename; _recover() finishes
        # the job's move into the queue if the server dies in between.
        target = tmp / "files" / "000" / f.name
        try:
            os.replace(f, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # PERFEVAL_INBOX on another file system: a complete copy, queued,
            # then the original removed (after a crash in between the file is
            # read again, and its second import is refused as identical).
            part = target.with_name(target.name + ".part")
            shutil.copy2(f, part)
            os.replace(part, target)
            os.replace(tmp, self.root / "queue" / job)
            f.unlink()
            return
        os.replace(tmp, self.root / "queue" / job)

    def _file_inbox_result(self, job_dir: Path, request: dict, code: int) -> None:
        """The inbox file into done/ or failed/, its result beside it: the
        result is written first, so a filed file always has one."""
        name = request["file_name"]
        src = job_dir / "files" / "000" / name
        if not src.exists():  # filed before a crash
            return
        resp = _read_json(job_dir / "response.json") or {}
        where = self.inbox / ("done" if code == 0 else "failed")
        where.mkdir(parents=True, exist_ok=True)
        target = _free_name(where / name)
        label = "导入成功" if code == 0 else "导入失败"
        _write_text(where / f"{target.name}.结果.txt",
                    f"{label}（退出码 {code}，{datetime.now():%Y-%m-%d %H:%M:%S}）\n"
                    f"{resp.get('stdout', '')}{resp.get('stderr', '')}")
        shutil.move(str(src), target)


def _rebase(arg: str, job_dir: Path) -> str:
    for prefix in ("files/", "out/"):
        if arg.startswith(prefix):
            return str(job_dir / arg)
        if arg.startswith("--") and "=" in arg and arg.split("=", 1)[1].startswith(prefix):
            key, value = arg.split("=", 1)
            return f"{key}={job_dir / value}"
    return arg


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    for k in range(2, 10_000):
        p = path.with_name(f"{path.stem}({k}){path.suffix}")
        if not p.exists():
            return p
    return path.with_name(f"{path.stem}-{uuid.uuid4().hex[:6]}{path.suffix}")


def _job_mark(job: str) -> Callable:
    def mark(cur) -> None:
        cur.execute("INSERT INTO spool_jobs VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [job, datetime.now()])
    return mark


# -- status for the data page ------------------------------------------------------


def queue_status(db_path: str | Path, *, limit: int = 50) -> list[dict]:
    """Jobs in every state, newest first: 状态, 任务, 命令, 提交人, 时间, 结果."""
    root = spool_dir(db_path)
    rows = []
    for state in STATES:
        folder = root / state
        if not folder.exists():
            continue
        for d in folder.iterdir():
            req = _read_json(d / "request.json") or {}
            resp = _read_json(d / "response.json") if state == "done" else None
            label = STATE_LABELS[state]
            if resp is not None and int(resp.get("exit_code", 0)) != 0:
                label = STATE_LABELS["failed"]
            argv = req.get("argv") or []
            what = req.get("file_name") or " ".join(
                Path(a).name if a.startswith(("files/", "out/")) else a for a in argv)
            text = ((resp or {}).get("stderr") or (resp or {}).get("stdout") or "").strip()
            rows.append({"状态": label, "任务": d.name, "命令": what,
                         "来源": "收件箱" if req.get("inbox") else "命令行",
                         "提交人": job_actor(d, req) if req else "", "提交时间": req.get("submitted_at") or "",
                         "完成时间": (resp or {}).get("finished_at") or "",
                         "结果": text.splitlines()[-1] if text else ""})
    rows.sort(key=lambda r: r["任务"], reverse=True)
    return rows[:limit]
