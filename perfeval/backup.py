"""Whole-database backups, restore into a fresh file, and the integrity check.

Two forms:

- parquet zip (``.zip``): ``manifest.json`` (format, schema version, row
  counts) and one ``<table>.parquet`` per table, users' password hashes
  included (hashes, never passwords: still keep the file safe). This is the
  form :func:`restore_backup` reads.
- xlsx workbook: one sheet per table, for people to read; no password hashes;
  refused beyond Excel's row limit (use the parquet zip).

Both read every table inside one transaction, so a backup taken while an
import commits is a consistent snapshot.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import auditlog
from .model import PerfevalError
from .store import CHILD_TABLES, SCHEMA_VERSION, Store, migrate

FORMAT = "perfeval-backup"
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
# Never in the human-readable workbook.
XLSX_HIDDEN_COLUMNS = {"users": {"password_hash"}}


def table_names(cur) -> list[str]:
    """Base tables of the file, from DuckDB's own catalogue (never from user text)."""
    rows = cur.execute("""
        SELECT table_name FROM duckdb_tables()
        WHERE schema_name = 'main' AND NOT temporary ORDER BY table_name""").fetchall()
    return [r[0] for r in rows]


def _snapshot(store: Store) -> tuple[int, dict[str, pa.Table]]:
    cur = store.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            version = int(cur.execute("SELECT max(version) FROM schema_version").fetchall()[0][0])
            tables = {t: cur.sql(f"SELECT * FROM {t}").to_arrow_table()  # noqa: S608
                      for t in table_names(cur)}
        finally:
            cur.execute("ROLLBACK")  # read only: nothing to keep
    finally:
        cur.close()
    return version, tables


def write_parquet_zip(store: Store, out: str | Path | BinaryIO) -> dict[str, int]:
    """Write the parquet-zip backup; return rows per table."""
    version, tables = _snapshot(store)
    counts = {t: tbl.num_rows for t, tbl in tables.items()}
    manifest = {"format": FORMAT, "schema_version": version,
                "created_at": datetime.now().isoformat(timespec="seconds"), "tables": counts}
    # Parquet is compressed already: store the members as they are.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for t, tbl in tables.items():
            buf = io.BytesIO()
            pq.write_table(tbl, buf, compression="zstd")
            zf.writestr(f"{t}.parquet", buf.getvalue())
    return counts


def _cell(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if isinstance(v, (datetime, pd.Timestamp)):
        return v.isoformat(sep=" ", timespec="seconds")
    return v


def write_xlsx(store: Store, out: str | Path | BinaryIO) -> dict[str, int]:
    """Write the workbook backup (one sheet per table); return rows per table."""
    import xlsxwriter

    _, tables = _snapshot(store)
    too_big = [t for t, tbl in tables.items() if tbl.num_rows > XLSX_MAX_ROWS]
    if too_big:
        raise PerfevalError(f"表 {'、'.join(too_big)} 超过 Excel 的 {XLSX_MAX_ROWS:,} 行上限，"
                            "请改用 parquet 压缩包备份。")
    # Cell texts are data: never formulas or links (a name may start with "=").
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "in_memory": False})
    head = wb.add_format({"bold": True, "bg_color": "#DCE6F1"})
    counts = {}
    for t, tbl in tables.items():
        hidden = XLSX_HIDDEN_COLUMNS.get(t, set())
        cols = [c for c in tbl.column_names if c not in hidden]
        ws = wb.add_worksheet(t[:31])
        ws.write_row(0, 0, cols, head)
        ws.freeze_panes(1, 0)
        for i, row in enumerate(tbl.select(cols).to_pylist(), start=1):
            for j, c in enumerate(cols):
                v = _cell(row[c])
                if v is None:
                    continue
                if isinstance(v, str):
                    ws.write_string(i, j, v)
                else:
                    ws.write(i, j, v)
        counts[t] = tbl.num_rows
    wb.close()
    return counts


def backup_bytes(store: Store, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "parquet":
        write_parquet_zip(store, buf)
    elif fmt == "xlsx":
        write_xlsx(store, buf)
    else:
        raise PerfevalError(f"不支持的备份格式“{fmt}”（可用 xlsx、parquet）。")
    return buf.getvalue()


def restore_backup(source: str | Path | BinaryIO, db_path: str | Path, *,
                   actor: str | None = None) -> dict[str, int]:
    """Restore a parquet-zip backup into the new file ``db_path`` (which must not
    exist), all tables in one transaction; the file appears only when complete."""
    db_path = Path(db_path)
    if db_path.exists():
        raise PerfevalError(f"目标数据库 {db_path} 已存在；请用 --db 指定一个新文件，或先移走旧文件。")
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PerfevalError(f"备份文件无法打开（{exc}）。") from exc
    with zf:
        try:
            manifest = json.loads(zf.read("manifest.json"))
        except (KeyError, ValueError) as exc:
            raise PerfevalError("备份文件中没有有效的 manifest.json，不是 perfeval 备份。") from exc
        if manifest.get("format") != FORMAT:
            raise PerfevalError("不是 perfeval 备份文件。")
        version = int(manifest.get("schema_version", 0))
        if not 1 <= version <= SCHEMA_VERSION:
            raise PerfevalError(f"备份的数据库结构版本为 {version}，本程序支持到 {SCHEMA_VERSION}。")
        expected = {str(k): int(v) for k, v in manifest.get("tables", {}).items()}
        staging = db_path.with_name(db_path.name + ".restoring")
        for p in (staging, Path(str(staging) + ".wal")):
            p.unlink(missing_ok=True)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        import duckdb

        con = duckdb.connect(str(staging))
        try:
            migrate(con, target=version)  # the backup's own schema; newer steps run below
            known = set(table_names(con)) - {"schema_version"}
            con.execute("BEGIN TRANSACTION")
            for table in sorted(known & expected.keys()):
                data = pq.read_table(io.BytesIO(zf.read(f"{table}.parquet")))
                if data.num_rows != expected[table]:
                    raise PerfevalError(f"备份中表 {table} 的行数与清单不符，备份可能已损坏。")
                con.register("backup_rows", data)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM backup_rows")  # noqa: S608
                con.unregister("backup_rows")
            if "audit_log" in known:
                # Continue the log's numbering after the restored rows.
                nxt = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM audit_log").fetchall()[0][0]
                con.execute("DROP SEQUENCE audit_seq")
                con.execute(f"CREATE SEQUENCE audit_seq START WITH {int(nxt)}")
            con.execute("COMMIT")
        except BaseException:
            con.close()
            staging.unlink(missing_ok=True)
            Path(str(staging) + ".wal").unlink(missing_ok=True)
            raise
        con.close()
    os.replace(staging, db_path)
    with Store(db_path) as store:  # runs the newer migrations, if any
        problems = check_integrity(store)
        if problems:
            raise PerfevalError("恢复后的数据库未通过完整性检查：" + "；".join(problems))
        auditlog.log(store, auditlog.BACKUP_RESTORE, actor=actor,
                     file_name=getattr(source, "name", None) or str(source),
                     detail=f"结构版本 {version}，{sum(expected.values()):,} 行")
        return store.counts()


# --------------------------------------------------------------------------
# Integrity
# --------------------------------------------------------------------------

def check_integrity(store: Store) -> list[str]:
    """Problems found (empty when sound): every table reads in full, exactly one
    current revision per key, revisions numbered 1..n, no child row without
    its evaluation, no indicator without its goal."""
    problems: list[str] = []
    cur = store.cursor()
    try:
        for t in table_names(cur):
            # Reading every column of every row makes DuckDB verify each block's checksum.
            cur.execute(f"SELECT count(*), bit_xor(hash(x)) FROM {t} x").fetchall()  # noqa: S608

        def rows(sql: str) -> list:
            return cur.execute(sql).fetchall()

        bad = rows("""
            SELECT dept_id, year, scope, project, count(*) FILTER (is_current) AS cur,
                   count(*) AS n, count(DISTINCT revision) AS d, max(revision) AS m
            FROM evaluations GROUP BY ALL
            HAVING cur <> 1 OR n <> d OR m <> n""")
        if bad:
            problems.append(f"{len(bad)} 个评价的版本不一致（当前版本不唯一或版本号不连续）")
        dup = rows("SELECT eval_id FROM evaluations GROUP BY eval_id HAVING count(*) > 1")
        if dup:
            problems.append(f"{len(dup)} 个评价编号重复")
        for t in (*CHILD_TABLES, "eval_scores", "indicator_scores"):
            n = rows(f"""SELECT count(*) FROM {t} c
                         WHERE NOT EXISTS (SELECT 1 FROM evaluations e
                                           WHERE e.eval_id = c.eval_id)""")[0][0]  # noqa: S608
            if n:
                problems.append(f"表 {t} 有 {n} 行不属于任何评价")
        n = rows("""SELECT count(*) FROM indicators i WHERE NOT EXISTS (
                        SELECT 1 FROM goals g WHERE g.eval_id = i.eval_id
                                                AND g.goal_no = i.goal_no)""")[0][0]
        if n:
            problems.append(f"{n} 条指标找不到所属目标")
        n = rows("""SELECT count(*) FROM evaluations e WHERE NOT EXISTS (
                        SELECT 1 FROM departments d WHERE d.dept_id = e.dept_id)""")[0][0]
        if n:
            problems.append(f"{n} 个评价找不到所属部门")
    finally:
        cur.close()
    return problems
