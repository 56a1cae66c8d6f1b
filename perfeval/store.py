"""DuckDB store: schema and migrations, revisions, atomic writes.

One evaluation (department × year × scope × project) may be imported many
times; each import adds a revision and makes it current. Reads see only the
current revision (the ``cur_*`` views). Every write runs in one explicit
transaction with its scores (perfeval.scoring.score_tx), its audit-log rows
and a bump of the generation counter (the dashboard's cache key): on any
error nothing is written. Reads never write; the writer redoes stale scores
when it opens the file. The store stores what ingest parsed (values.parse_frames)
and parses nothing itself.

Threads: a DuckDB connection must not be used from two threads at once, so a
web app keeps one :class:`Store` and runs each query on ``store.cursor()``.
Processes: only one process may open the file read-write; see README
("命令行与看板共用数据库").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from . import rules
from .model import BUDGET_LINES, Evaluation, PerfevalError
from .paths import DEFAULT_DB, default_db_path  # noqa: F401 (the names' old home)

# --------------------------------------------------------------------------
# Schema. Each migration is applied once, in order, in its own transaction;
# never edit a released step, add a new one.
# --------------------------------------------------------------------------

_V1 = """
CREATE TABLE departments (
    dept_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    region VARCHAR,
    kind VARCHAR
);
CREATE TABLE evaluations (
    eval_id BIGINT PRIMARY KEY,
    dept_id INTEGER NOT NULL,
    year INTEGER NOT NULL,
    scope VARCHAR NOT NULL,
    project VARCHAR NOT NULL DEFAULT '',
    revision INTEGER NOT NULL,
    is_current BOOLEAN NOT NULL,
    self_score DOUBLE,
    source_name VARCHAR,
    checksum VARCHAR,
    imported_at TIMESTAMP NOT NULL,
    imported_by VARCHAR,
    is_demo BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE budget_lines (
    eval_id BIGINT NOT NULL,
    line VARCHAR NOT NULL,
    initial DOUBLE,
    budget DOUBLE,
    executed DOUBLE,
    weight DOUBLE,
    score DOUBLE,
    reason VARCHAR
);
CREATE TABLE goals (
    eval_id BIGINT NOT NULL,
    goal_no INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    expected VARCHAR,
    achieved VARCHAR
);
CREATE TABLE indicators (
    ind_id BIGINT NOT NULL,
    eval_id BIGINT NOT NULL,
    goal_no INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    category VARCHAR NOT NULL,
    subcategory VARCHAR,
    name VARCHAR NOT NULL,
    target_text VARCHAR,
    actual_text VARCHAR,
    comparator VARCHAR,
    target_num DOUBLE,
    target_unit VARCHAR,
    target_level VARCHAR,
    actual_num DOUBLE,
    actual_unit VARCHAR,
    actual_level VARCHAR,
    direction VARCHAR,
    direction_inferred BOOLEAN,
    target_readable BOOLEAN,
    actual_readable BOOLEAN,
    weight DOUBLE,
    score DOUBLE,
    met BOOLEAN,
    reason VARCHAR,
    source_text VARCHAR
);
CREATE TABLE findings (
    eval_id BIGINT NOT NULL,
    kind VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    text VARCHAR NOT NULL
);
CREATE TABLE schedule (
    eval_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    phase VARCHAR NOT NULL,
    start_text VARCHAR,
    end_text VARCHAR
);
CREATE TABLE unparsed (
    eval_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    text VARCHAR NOT NULL
);
CREATE VIEW cur_evaluations AS
    SELECT e.*, d.name AS department, d.region, d.kind
    FROM evaluations e JOIN departments d USING (dept_id)
    WHERE e.is_current;
"""

# Version 2: index the lookups every page makes (current evaluation by
# department-year, indicators and lines by evaluation).
_V2 = """
CREATE INDEX evaluations_key ON evaluations (dept_id, year, scope, project);
"""

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "初始结构", _V1),
    (2, "评价检索索引", _V2),
    # Version 3: computed scores per (evaluation, scheme); columns documented in scoring.py.
    (3, "评分结果", """
CREATE TABLE eval_scores (
    eval_id BIGINT NOT NULL, scheme VARCHAR NOT NULL, scheme_hash VARCHAR NOT NULL,
    exec_rate DOUBLE, exec_weight DOUBLE, exec_score DOUBLE,
    output_weight DOUBLE, output_score DOUBLE, effect_weight DOUBLE, effect_score DOUBLE,
    satisfaction_weight DOUBLE, satisfaction_score DOUBLE,
    max_score DOUBLE, total DOUBLE, grade VARCHAR, self_score DOUBLE, gap DOUBLE,
    indicator_count INTEGER, unmet_count INTEGER, over_count INTEGER, unreadable_count INTEGER,
    weight_basis VARCHAR, source_weight_sum DOUBLE, computed_at TIMESTAMP,
    PRIMARY KEY (eval_id, scheme)
);
CREATE TABLE indicator_scores (
    ind_id BIGINT NOT NULL, eval_id BIGINT NOT NULL, scheme VARCHAR NOT NULL,
    weight DOUBLE, score DOUBLE, lost DOUBLE, rule VARCHAR,
    over_achieved BOOLEAN, met_computed BOOLEAN
);
"""),
    # Version 4: users and the append-only audit log; columns documented in users.py / auditlog.py.
    (4, "用户与操作日志", """
CREATE TABLE users (
    name VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, role VARCHAR NOT NULL,
    departments VARCHAR[], created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP
);
CREATE SEQUENCE audit_seq;
CREATE TABLE audit_log (
    seq BIGINT NOT NULL, logged_at TIMESTAMP NOT NULL, actor VARCHAR, address VARCHAR,
    action VARCHAR NOT NULL, file_name VARCHAR, checksum VARCHAR, department VARCHAR,
    year INTEGER, revision INTEGER, result VARCHAR NOT NULL, detail VARCHAR
);
"""),
    # Version 5: a unit's 主管部门; a self-evaluation stated as a grade only.
    (5, "主管部门与自评等级", """
ALTER TABLE departments ADD COLUMN parent VARCHAR;
ALTER TABLE evaluations ADD COLUMN self_grade VARCHAR;
CREATE OR REPLACE VIEW cur_evaluations AS
    SELECT e.*, d.name AS department, d.region, d.kind, d.parent
    FROM evaluations e JOIN departments d USING (dept_id)
    WHERE e.is_current;
"""),
    # Version 6: the execution lines' sums beside the rate (queries aggregate
    # them instead of re-reading budget_lines); the parser version of each
    # indicator's parsed columns (perfeval reparse) and its name keys
    # (docs/规则.md §同一指标); the generation counter
    # (one row, bumped by every write: the dashboard's cache key). Scores are
    # recomputed when the file is next opened read-write.
    (6, "执行数列、解析版本与数据代数", """
ALTER TABLE eval_scores ADD COLUMN exec_budget DOUBLE;
ALTER TABLE eval_scores ADD COLUMN exec_executed DOUBLE;
ALTER TABLE indicators ADD COLUMN parser_version INTEGER;
ALTER TABLE indicators ADD COLUMN name_key VARCHAR;
ALTER TABLE indicators ADD COLUMN ikey VARCHAR;
UPDATE indicators SET name_key = NAME_KEY_SQL, ikey = IKEY_SQL;
DELETE FROM indicator_scores;
DELETE FROM eval_scores;
CREATE TABLE generation (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
""".replace("NAME_KEY_SQL", rules.name_key_sql("name")).replace(
        "IKEY_SQL", rules.indicator_key_sql("name"))),
    # Version 7: each later copy of an indicator within its evaluation
    # (rules.duplicates_sql), derived when written, and the reported figures
    # against the rule's in indicator_scores (perfeval.scoring; filled when
    # the file is next opened read-write, as the scoring version changed), so
    # that the audit counts without grouping or joining every indicator.
    (7, "重复指标标记与填报核对", """
ALTER TABLE indicator_scores ADD COLUMN reported_gap DOUBLE;
ALTER TABLE indicator_scores ADD COLUMN reported_in_band BOOLEAN;
ALTER TABLE indicator_scores ADD COLUMN met_overstated BOOLEAN;
ALTER TABLE indicators ADD COLUMN dup_of INTEGER;
ALTER TABLE indicators ADD COLUMN dup_conflict BOOLEAN;
UPDATE indicators SET dup_of = d.dup_of, dup_conflict = d.dup_conflict
FROM (DUPLICATES_SQL) d WHERE indicators.ind_id = d.ind_id;
""".replace("DUPLICATES_SQL", rules.duplicates_sql("indicators"))),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]

# Tables holding one evaluation's rows, in the order they are written.
CHILD_TABLES = ("budget_lines", "goals", "indicators", "findings", "schedule", "unparsed")


def fetch_one(cur, sql: str, params: Sequence | None = None):
    """First row or None. DuckDB 2 keeps a result open until it is read to the
    end, blocking the next statement, so read all rows (queries here are tiny)."""
    rows = cur.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def migrate(con: duckdb.DuckDBPyConnection, target: int = SCHEMA_VERSION) -> int:
    """Bring the file's schema to ``target``; return the version it had."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP)"
    )
    row = fetch_one(con, "SELECT coalesce(max(version), 0) FROM schema_version")
    found = int(row[0])
    if found > SCHEMA_VERSION:
        raise PerfevalError(
            f"数据库结构版本为 {found}，高于本程序支持的 {SCHEMA_VERSION}，请升级 perfeval。"
        )
    for version, description, sql in MIGRATIONS:
        if found < version <= target:
            con.execute("BEGIN TRANSACTION")
            try:
                for statement in filter(str.strip, sql.split(";")):
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [version, description, datetime.now()],
                )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
    return found


# --------------------------------------------------------------------------
# Frames: the column-wise form of a batch of evaluations. Bulk paths (demo,
# template import) build them directly; object paths use frames_from().
# Every child frame refers to its evaluation by ``ekey`` (0..n-1 in the batch).
# --------------------------------------------------------------------------

EVAL_COLUMNS = ["ekey", "department", "region", "kind", "parent", "year", "scope", "project",
                "self_score", "self_grade", "source_name", "checksum", "is_demo"]
FRAME_COLUMNS = {
    "budget_lines": ["ekey", "line", "initial", "budget", "executed", "weight", "score", "reason"],
    "goals": ["ekey", "goal_no", "name", "expected", "achieved"],
    "indicators": ["ekey", "goal_no", "seq", "category", "subcategory", "name", "target_text",
                   "actual_text", "weight", "score", "met", "reason", "source_text"],
    "findings": ["ekey", "kind", "seq", "text"],
    "schedule": ["ekey", "seq", "phase", "start_text", "end_text"],
    "unparsed": ["ekey", "seq", "text"],
}


@dataclass
class Frames:
    evaluations: pd.DataFrame
    children: dict[str, pd.DataFrame]

    def __len__(self) -> int:
        return len(self.evaluations)


def frames_from(evals: Sequence[Evaluation]) -> Frames:
    rows: dict[str, list] = {t: [] for t in FRAME_COLUMNS}
    ev_rows = []
    for k, ev in enumerate(evals):
        d = ev.department
        ev_rows.append([k, d.name, d.region, d.kind, d.parent, ev.year, ev.scope,
                        ev.project or "", ev.self_score, ev.self_grade, ev.source_name,
                        ev.checksum, ev.is_demo])
        for b in ev.budget:
            rows["budget_lines"].append(
                [k, b.line, b.initial, b.budget, b.executed, b.weight, b.score, b.reason])
        seq = 0
        for g in ev.goals:
            rows["goals"].append([k, g.no, g.name, g.expected, g.achieved])
            for i in g.indicators:
                seq += 1
                rows["indicators"].append(
                    [k, g.no, seq, i.category, i.subcategory, i.name, i.target, i.actual,
                     i.weight, i.score, i.met, i.reason, i.source_text])
        for kind, texts in (("problem", ev.problems), ("measure", ev.measures),
                            ("result_use", ev.result_use)):
            rows["findings"].extend([k, kind, n, t] for n, t in enumerate(texts, 1))
        rows["schedule"].extend(
            [k, n, p.name, p.start, p.end] for n, p in enumerate(ev.schedule, 1))
        rows["unparsed"].extend([k, n, t] for n, t in enumerate(ev.unparsed, 1))
    from .values import parse_frames  # the model → rows conversion is ingest's: it parses

    return parse_frames(Frames(
        pd.DataFrame(ev_rows, columns=EVAL_COLUMNS),
        {t: pd.DataFrame(r, columns=FRAME_COLUMNS[t]) for t, r in rows.items()},
    ))


def _check_frames(frames: Frames) -> None:
    ev = frames.evaluations
    dup = ev.duplicated(["department", "year", "scope", "project"], keep=False)
    if dup.any():
        first = ev[dup].iloc[0]
        raise PerfevalError(
            f"同一批导入中 {first['department']} {first['year']} 年度"
            f"（{first['scope']}{' ' + first['project'] if first['project'] else ''}）出现了多次。"
        )
    bad_lines = set(frames.children["budget_lines"]["line"]) - set(BUDGET_LINES)
    if bad_lines:
        raise PerfevalError(f"未知的预算行：{'、'.join(sorted(map(str, bad_lines)))}")


def _require_parsed(ind: pd.DataFrame) -> None:
    """The store writes parsed indicators only (ingest parses: values.parse_frames)."""
    from .values import PARSED_COLUMNS

    missing = [c for c in (*PARSED_COLUMNS, "parser_version") if c not in ind.columns]
    if missing and len(ind):
        raise PerfevalError("指标尚未解析目标值和实际值（缺少列：" + "、".join(missing)
                            + "），请经导入流程（values.parse_frames）写入。")


@dataclass
class WriteResult:
    eval_id: int
    department: str
    year: int
    scope: str
    project: str
    revision: int


class Store:
    """One DuckDB connection; ``cursor()`` per thread or per query."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        if str(self.path) != ":memory:":
            if read_only and not self.path.exists():
                raise PerfevalError(f"数据库文件不存在：{self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise PerfevalError(
                    f"数据库 {self.path} 正被另一个进程（多半是正在运行的看板）以读写方式占用。"
                    "请先停止看板再用命令行写入，或在看板的“数据管理”页导入。"
                ) from exc
            raise PerfevalError(f"无法打开数据库 {self.path}：{exc}") from exc
        # Reentrant: a write may append its audit-log row inside the same lock.
        self._write_lock = threading.RLock()
        self._marks = threading.local()
        if not read_only:
            migrate(self.con)
            from .scoring import rescore_stale

            # Scores of older rule versions (or from before migration 6) are
            # redone here, by the writer, so that reads never have to write.
            rescore_stale(self)

    # -- plumbing ----------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def close(self) -> None:
        self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside BEGIN … COMMIT, rolled back on any error; writers
        of this Store take turns. The thread's commit marks (see marking())
        run just before COMMIT, inside the transaction."""
        with self._write_lock:
            cur = self.cursor()
            try:
                cur.execute("BEGIN TRANSACTION")
                yield cur
                for mark in getattr(self._marks, "fns", ()):
                    mark(cur)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    @contextmanager
    def marking(self, fn) -> Iterator[None]:
        """While active, every transaction this thread commits also runs
        ``fn(cursor)`` before its COMMIT: the spool records a job as written
        in the same transaction as its data (perfeval.spool)."""
        fns = getattr(self._marks, "fns", ())
        self._marks.fns = (*fns, fn)
        try:
            yield
        finally:
            self._marks.fns = fns

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def query_df(self, sql: str, params: Sequence | dict | None = None) -> pd.DataFrame:
        cur = self.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def schema_version(self) -> int:
        return int(self.query_df("SELECT max(version) AS v FROM schema_version")["v"].iloc[0])

    def generation(self) -> int:
        """Bumped inside every write transaction (import, restore, rescoring):
        a cache key that never repeats within one file."""
        return int(self.query_df("SELECT coalesce(max(n), 0) AS n FROM generation")["n"].iloc[0])

    @staticmethod
    def bump_generation(cur) -> None:
        """Call inside the write's transaction (``cur`` from :meth:`transaction`)."""
        cur.execute("INSERT INTO generation VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET n = generation.n + 1")

    @staticmethod
    def mark_duplicates(cur, eval_ids: Sequence[int]) -> None:
        """Derive dup_of / dup_conflict again for these evaluations (their
        parsed actuals changed: perfeval reparse), inside the caller's transaction."""
        ids = [int(x) for x in eval_ids]
        cur.execute("UPDATE indicators SET dup_of = NULL, dup_conflict = NULL "
                    "WHERE list_contains($ids, eval_id)", {"ids": ids})
        src = "(SELECT * FROM indicators WHERE list_contains($ids, eval_id))"
        cur.execute(f"""
            UPDATE indicators SET dup_of = d.dup_of, dup_conflict = d.dup_conflict
            FROM ({rules.duplicates_sql(src)}) d WHERE indicators.ind_id = d.ind_id""",  # noqa: S608 (fixed text)
                    {"ids": ids})

    # -- writes ------------------------------------------------------------
    def write(self, evals: Sequence[Evaluation] | Frames, *, imported_by: str | None = None,
              fail_after_rows: int | None = None,
              log: Callable[[list[WriteResult]], Sequence[dict]] | None = None
              ) -> list[WriteResult]:
        """Write a batch of evaluations as new current revisions, all or nothing:
        the rows, their scores (perfeval.scoring, every scheme in use) and,
        given ``log``, the audit-log rows it returns for the written
        evaluations, in one transaction that also bumps the generation.

        Frames must carry the parsed indicator columns (values.parse_frames,
        called by ingest; :func:`frames_from` parses model objects).
        ``fail_after_rows`` exists for the fault tests: it raises inside the
        transaction once the evaluations are inserted.
        """
        from . import auditlog, scoring

        frames = evals if isinstance(evals, Frames) else frames_from(list(evals))
        if not len(frames):
            return []
        _check_frames(frames)
        _require_parsed(frames.children["indicators"])
        with self.transaction() as cur:
            written = self._write_tx(cur, frames, imported_by, fail_after_rows)
            scoring.score_tx(cur, eval_ids=[w.eval_id for w in written])
            if log is not None:
                auditlog.append_rows(cur, log(written))
            self.bump_generation(cur)
        return written

    def _write_tx(self, cur, frames: Frames, imported_by: str | None,
                  fail_after_rows: int | None) -> list[WriteResult]:
        ev = frames.evaluations.copy()
        # Departments: add the new names, fill region/kind/parent where given.
        for col in ("parent", "self_grade"):  # text columns bulk frames may leave all-NaN
            ev[col] = ev[col].astype(object).where(ev[col].notna(), None)
        depts = (ev[["department", "region", "kind", "parent"]]
                 .drop_duplicates("department", keep="last").rename(columns={"department": "name"}))
        cur.register("new_depts", depts)
        cur.execute("""
            UPDATE departments d SET region = coalesce(n.region, d.region),
                                     kind = coalesce(n.kind, d.kind),
                                     parent = coalesce(n.parent, d.parent)
            FROM new_depts n WHERE d.name = n.name""")
        cur.execute("""
            INSERT INTO departments
            SELECT (SELECT coalesce(max(dept_id), 0) FROM departments)
                   + row_number() OVER (ORDER BY n.name), n.name, n.region, n.kind, n.parent
            FROM new_depts n WHERE n.name NOT IN (SELECT name FROM departments)""")
        cur.unregister("new_depts")

        # Evaluations: next revision per key; the previous current one steps down.
        cur.register("new_evals", ev)
        keyed = cur.execute("""
            SELECT n.ekey, d.dept_id,
                   coalesce((SELECT max(revision) FROM evaluations e
                             WHERE e.dept_id = d.dept_id AND e.year = n.year
                               AND e.scope = n.scope AND e.project = n.project), 0) + 1 AS revision
            FROM new_evals n JOIN departments d ON d.name = n.department
            ORDER BY n.ekey""").df()
        base = fetch_one(cur, "SELECT coalesce(max(eval_id), 0) FROM evaluations")[0]
        ev = ev.merge(keyed, on="ekey")
        ev["eval_id"] = base + 1 + ev["ekey"]
        ev["imported_at"] = datetime.now()
        ev["imported_by"] = imported_by
        cur.unregister("new_evals")
        cur.register("new_evals", ev)
        cur.execute("""
            UPDATE evaluations e SET is_current = FALSE
            FROM new_evals n
            WHERE e.dept_id = n.dept_id AND e.year = n.year AND e.scope = n.scope
              AND e.project = n.project AND e.is_current""")
        cur.execute("""
            INSERT INTO evaluations BY NAME
            SELECT eval_id, dept_id, year, scope, project, revision, TRUE AS is_current,
                   self_score, self_grade, source_name, checksum, imported_at, imported_by,
                   coalesce(is_demo, FALSE) AS is_demo
            FROM new_evals""")
        cur.unregister("new_evals")
        if fail_after_rows is not None:
            raise PerfevalError("模拟故障：写入中途失败")

        ids = ev[["ekey", "eval_id"]]
        base_ind = fetch_one(cur, "SELECT coalesce(max(ind_id), 0) FROM indicators")[0]
        for table in CHILD_TABLES:
            df = frames.children[table]
            if df.empty:
                continue
            df = df.merge(ids, on="ekey").drop(columns="ekey")
            select = "SELECT * FROM rows"
            if table == "indicators":
                df["ind_id"] = base_ind + 1 + pd.RangeIndex(len(df))
                dups = rules.duplicates_sql("rows")
                select = f"SELECT r.*, d.dup_of, d.dup_conflict FROM rows r LEFT JOIN ({dups}) d USING (ind_id)"  # noqa: S608, E501
            cur.register("rows", df)
            cur.execute(f"INSERT INTO {table} BY NAME {select}")  # noqa: S608 (fixed text)
            cur.unregister("rows")
        return [WriteResult(int(r.eval_id), r.department, int(r.year), r.scope, r.project,
                            int(r.revision)) for r in ev.itertuples()]

    def restore(self, department: str, year: int, revision: int, *,
                scope: str = "部门整体", project: str = "",
                log: dict | None = None) -> None:
        """Make an older revision current again (a pointer move; nothing is
        deleted), with its scores where missing and the audit-log row ``log``,
        in one transaction that bumps the generation."""
        from . import auditlog, scoring

        with self.transaction() as cur:
            row = fetch_one(cur, """
                SELECT e.eval_id FROM evaluations e JOIN departments d USING (dept_id)
                WHERE d.name = ? AND e.year = ? AND e.scope = ? AND e.project = ?
                  AND e.revision = ?""", [department, year, scope, project, revision])
            if row is None:
                raise PerfevalError(
                    f"找不到 {department} {year} 年度（{scope}{project}）的第 {revision} 版。")
            cur.execute("""
                UPDATE evaluations SET is_current = (eval_id = ?)
                WHERE dept_id = (SELECT dept_id FROM evaluations WHERE eval_id = ?)
                  AND year = ? AND scope = ? AND project = ?""",
                        [row[0], row[0], year, scope, project])
            scoring.score_tx(cur, eval_ids=[int(row[0])])
            if log is not None:
                auditlog.append_rows(cur, [log])
            self.bump_generation(cur)

    # -- reads -------------------------------------------------------------
    def history(self, department: str | None = None, year: int | None = None) -> pd.DataFrame:
        return self.query_df("""
            SELECT d.name AS department, e.year, e.scope, e.project, e.revision, e.is_current,
                   e.self_score, e.source_name, e.checksum, e.imported_at, e.imported_by,
                   (SELECT count(*) FROM indicators i WHERE i.eval_id = e.eval_id) AS indicators
            FROM evaluations e JOIN departments d USING (dept_id)
            WHERE (? IS NULL OR d.name = ?) AND (? IS NULL OR e.year = ?)
            ORDER BY d.name, e.year, e.scope, e.project, e.revision""",
                             [department, department, year, year])

    def counts(self) -> dict[str, int]:
        tables = ("departments", "evaluations", *CHILD_TABLES)
        return {t: int(self.query_df(f"SELECT count(*) AS n FROM {t}")["n"].iloc[0])  # noqa: S608
                for t in tables}

    def load(self, eval_id: int) -> Evaluation:
        """Read one stored evaluation back into the domain model."""
        from .model import BudgetLine, Department, Goal, Indicator, Phase

        head = self.query_df("SELECT * FROM evaluations e JOIN departments d USING (dept_id) "
                             "WHERE eval_id = ?", [eval_id])
        if head.empty:
            raise PerfevalError(f"找不到评价 {eval_id}")
        h = head.iloc[0]

        def rows(table: str, order: str) -> pd.DataFrame:
            return self.query_df(f"SELECT * FROM {table} WHERE eval_id = ? ORDER BY {order}",  # noqa: S608
                                 [eval_id])

        def val(x):
            return None if pd.isna(x) else x

        goals = {int(g.goal_no): Goal(int(g.goal_no), g.name, val(g.expected), val(g.achieved))
                 for g in rows("goals", "goal_no").itertuples()}
        for i in rows("indicators", "seq").itertuples():
            goals[int(i.goal_no)].indicators.append(Indicator(
                category=i.category, name=i.name, target=val(i.target_text),
                actual=val(i.actual_text), subcategory=val(i.subcategory),
                weight=val(i.weight), score=val(i.score),
                met=None if pd.isna(i.met) else bool(i.met), reason=val(i.reason),
                source_text=val(i.source_text)))
        findings = rows("findings", "kind, seq")
        by_kind = {k: list(findings.loc[findings["kind"] == k, "text"])
                   for k in ("problem", "measure", "result_use")}
        return Evaluation(
            department=Department(h["name"], val(h["region"]), val(h["kind"]), val(h["parent"])),
            year=int(h["year"]), scope=h["scope"], project=h["project"],
            self_score=val(h["self_score"]), self_grade=val(h["self_grade"]),
            budget=[BudgetLine(b.line, val(b.budget), val(b.executed), val(b.initial),
                               val(b.weight), val(b.score), val(b.reason))
                    for b in rows("budget_lines", "line").itertuples()],
            goals=list(goals.values()),
            problems=by_kind["problem"], measures=by_kind["measure"],
            result_use=by_kind["result_use"],
            schedule=[Phase(p.phase, val(p.start_text), val(p.end_text))
                      for p in rows("schedule", "seq").itertuples()],
            unparsed=list(rows("unparsed", "seq")["text"]),
            source_name=val(h["source_name"]), checksum=val(h["checksum"]),
            is_demo=bool(h["is_demo"]))

    def current_eval_id(self, department: str, year: int, scope: str = "部门整体",
                        project: str = "") -> int | None:
        df = self.query_df("SELECT eval_id FROM cur_evaluations WHERE department = ? AND year = ? "
                           "AND scope = ? AND project = ?", [department, year, scope, project])
        return None if df.empty else int(df["eval_id"].iloc[0])


_shared: dict[str, Store] = {}
_shared_lock = threading.Lock()


def shared_store(path: str | Path | None = None) -> Store:
    """The process's one read-write Store of ``path``: the dashboard's pages
    and its writer thread (perfeval.spool) share it, so their writes take
    turns on one lock."""
    key = str(Path(path) if path is not None else default_db_path())
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Store(key)
        return _shared[key]


def open_store(path: str | Path | None = None, *, read_only: bool = False) -> Store:
    return Store(path, read_only=read_only)


