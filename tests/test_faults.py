"""Fault test: an import killed with SIGKILL at random moments never leaves a
half revision, and the file always opens with exactly what was committed.

A helper process imports the modules and reads a ~200k-row demo once (as
three CSVs within the readers' row limit, committed together),
then for each round forks a child that opens the store and commits the file
(one transaction, new revisions for ~3,300 department-years). The test kills
the child at a random moment within the commit's measured duration (also
during DuckDB's checkpoint, which a commit of this size triggers), then opens
the file and checks it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfeval import demo
from perfeval.backup import check_integrity
from perfeval.ingest.template import frame_from_store
from perfeval.store import Store

pytestmark = pytest.mark.slow

KILLS = 12
DEPARTMENTS = 3300  # × 1 year × ~62 indicators ≈ 200k rows

HELPER = r"""
import os, sys
from perfeval.ingest import commit, read_file
from perfeval.store import Store

*csv_paths, db_path = sys.argv[1:]
results = [read_file(os.path.basename(p), open(p, "rb").read()) for p in csv_paths]
assert all(r.ok for r in results), [r.errors[:3] for r in results]
print("READY", flush=True)
for n, line in enumerate(sys.stdin):
    # Each commit is a new file's content: a byte-identical re-import adds no revision.
    for k, result in enumerate(results):
        result.checksum = f"fault-test-{n}-{k}-{os.getpid()}"
    pid = os.fork()
    if pid == 0:
        try:
            with Store(db_path) as store:
                commit(store, results, imported_by="fault-test")
            print("COMMITTED", flush=True)
        finally:
            os._exit(0)
    print(f"PID {pid}", flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"EXIT {status}", flush=True)
"""

FINGERPRINT = """
    SELECT count(*) AS n,
           bit_xor(hash(e.department, e.year, i.goal_no, i.seq, i.category, i.name,
                        i.target_text, i.actual_text, i.met)) AS h
    FROM cur_evaluations e JOIN indicators i USING (eval_id)"""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """The demo as three CSVs, each within limits.MAX_TEMPLATE_ROWS."""
    folder = tmp_path_factory.mktemp("faults")
    with Store(":memory:") as s:
        s.write(demo.generate(DEPARTMENTS, years=[2023]))
        df = frame_from_store(s)
    part = df["部门"].map({d: k % 3 for k, d in enumerate(df["部门"].unique())})
    paths = []
    for k in range(3):
        paths.append(folder / f"big-{k + 1}.csv")
        df[part == k].to_csv(paths[-1], index=False)
    return paths


def _state(db: Path) -> dict:
    with Store(db) as store:
        problems = check_integrity(store)
        revs = store.query_df("""
            SELECT count(*) AS keys, min(n) AS lo, max(n) AS hi FROM (
                SELECT count(*) AS n FROM evaluations GROUP BY dept_id, year, scope, project)""")
        counts = store.counts()
        fp = store.query_df(FINGERPRINT).iloc[0]
        current = int(store.query_df("SELECT count(*) AS n FROM cur_evaluations")["n"].iloc[0])
    return {"problems": problems, "keys": int(revs["keys"].iloc[0]),
            "lo": int(revs["lo"].iloc[0] or 0), "hi": int(revs["hi"].iloc[0] or 0),
            "counts": counts, "fingerprint": (int(fp["n"]), fp["h"]), "current": current}


class Helper:
    def __init__(self, csvs: list[Path], db: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HELPER, *map(str, csvs), str(db)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
        assert self._line() == "READY"

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"helper ended (code {self.proc.poll()})")
        return line.strip()

    def run(self, kill_after: float | None) -> tuple[bool, bool]:
        """One commit, killed after ``kill_after`` seconds; (committed, killed)."""
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        lines = [self._line()]
        while not lines[-1].startswith("PID"):
            lines.append(self._line())
        pid = int(lines[-1].split()[1])
        if kill_after is not None:
            time.sleep(kill_after)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # finished and reaped before the kill
                pass
        while not lines[-1].startswith("EXIT"):
            lines.append(self._line())
        status = int(lines[-1].split()[1])
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        return "COMMITTED" in lines, killed

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_sigkill_during_import_never_leaves_half_a_revision(big_csv, tmp_path):
    db = tmp_path / "faults.duckdb"
    helper = Helper(big_csv, db)
    try:
        start = time.perf_counter()
        assert helper.run(None) == (True, False)
        commit_seconds = time.perf_counter() - start
        base = _state(db)
        assert base["problems"] == []
        assert base["lo"] == base["hi"] == 1
        per_revision = {t: n for t, n in base["counts"].items() if t != "departments"}
        assert per_revision["evaluations"] == base["current"] == DEPARTMENTS
        assert per_revision["indicators"] > 190_000
        expected_fp = base["fingerprint"]

        rng = random.Random(7)
        revisions, outcomes = 1, {"before": 0, "after": 0}
        for _ in range(KILLS):
            delay = rng.uniform(0.0, commit_seconds * 1.2)
            committed, killed = helper.run(delay)
            st = _state(db)
            assert st["problems"] == [], (delay, st["problems"])
            # Every key has the same number of revisions: none half written.
            assert st["lo"] == st["hi"], (delay, st)
            assert st["hi"] in (revisions, revisions + 1), (delay, st)
            if committed:
                assert st["hi"] == revisions + 1
            if not killed:
                assert committed
            outcomes["after" if st["hi"] > revisions else "before"] += 1
            revisions = st["hi"]
            assert st["counts"]["departments"] == DEPARTMENTS
            assert st["current"] == DEPARTMENTS
            for table, n in per_revision.items():
                assert st["counts"][table] == n * revisions, (table, delay)
            # The current data is exactly the file's: same rows, same texts.
            assert st["fingerprint"] == expected_fp
        print(f"\n{KILLS} kills within {commit_seconds:.2f} s commits: "
              f"{outcomes['before']} rolled back, {outcomes['after']} had committed; "
              f"{revisions} revisions of {per_revision['indicators']:,} indicators")
        # The kills must have landed on both sides of the commit to mean anything.
        assert outcomes["before"] >= 3
    finally:
        helper.close()
