"""Whole-database backups, restore into a fresh file, and the integrity check.

Two forms:

- parquet zip (``.zip``): ``manifest.json`` (format, schema version, row
  counts and the SHA-256 of every member) and one ``<table>.parquet`` per table, users' password hashes
  included (hashes, never passwords: still keep the file safe). This is the
  form :func:`restore_backup` reads.
- xlsx workbook: one sheet per table, for people to read; no password hashes;
  refused beyond Excel's row limit (use the parquet zip).

Both read every table inside one transaction, so a backup taken while an
import commits is a consistent snapshot.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
import zlib
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
    """Write the parquet-zip backup; return rows per table. The manifest lists
    every table with its row count and the SHA-256 of its member, so a restore
    can tell a damaged or incomplete backup from a sound one."""
    version, tables = _snapshot(store)
    counts = {t: tbl.num_rows for t, tbl in tables.items()}
    members = {}
    for t, tbl in tables.items():
        buf = io.BytesIO()
        pq.write_table(tbl, buf, compression="zstd")
        members[f"{t}.parquet"] = buf.getvalue()
    manifest = {"format": FORMAT, "schema_version": version,
                "created_at": datetime.now().isoformat(timespec="seconds"), "tables": counts,
                "sha256": {m: hashlib.sha256(b).hexdigest() for m, b in members.items()}}
    # Parquet is compressed already: store the members as they are.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        for m, body in members.items():
            zf.writestr(m, body)
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


def _damaged(detail: str) -> PerfevalError:
    return PerfevalError(f"备份文件已损坏或不完整：{detail}，未恢复任何数据。")


def read_verified(zf: zipfile.ZipFile) -> tuple[int, dict[str, pa.Table]]:
    """The backup's schema version and tables, each checked against the
    manifest: every table of that schema version is listed and present, its
    member's SHA-256 and its row count match. Raises PerfevalError otherwise."""
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except KeyError as exc:
        raise PerfevalError("备份文件中没有 manifest.json，不是 perfeval 备份。") from exc
    except (ValueError, zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise PerfevalError("备份文件中的 manifest.json 无法读取，不是有效的 perfeval 备份。") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PerfevalError("不是 perfeval 备份文件。")
    try:
        version = int(manifest.get("schema_version", 0))
        expected = {str(k): int(v) for k, v in dict(manifest.get("tables") or {}).items()}
        digests = {str(k): str(v) for k, v in dict(manifest.get("sha256") or {}).items()}
    except (TypeError, ValueError) as exc:
        raise _damaged("清单 manifest.json 的内容格式不对") from exc
    if not 1 <= version <= SCHEMA_VERSION:
        raise PerfevalError(f"备份的数据库结构版本为 {version}，本程序支持到 {SCHEMA_VERSION}。")
    import duckdb

    con = duckdb.connect(":memory:")  # which tables that schema version has
    try:
        migrate(con, target=version)
        schema = set(table_names(con)) - {"schema_version"}
    finally:
        con.close()
    missing = sorted(schema - expected.keys())
    if missing:
        raise _damaged(f"清单中缺少表 {'、'.join(missing)}")
    if not digests:
        raise _damaged("清单中没有校验和（SHA-256）")
    tables = {}
    for table in sorted(schema):
        member = f"{table}.parquet"
        if member not in digests:
            raise _damaged(f"清单中缺少 {member} 的校验和")
        try:
            body = zf.read(member)
        except KeyError as exc:
            raise _damaged(f"缺少 {member}") from exc
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            raise _damaged(f"{member} 无法解压（{exc}）") from exc
        if hashlib.sha256(body).hexdigest() != digests[member]:
            raise _damaged(f"{member} 的校验和与清单不符")
        try:
            data = pq.read_table(io.BytesIO(body))
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _damaged(f"{member} 无法读取（{exc}）") from exc
        if data.num_rows != expected[table]:
            raise PerfevalError(f"备份中表 {table} 的行数与清单不符（清单 {expected[table]:,} 行，"
                                f"实际 {data.num_rows:,} 行），备份可能已损坏。")
        tables[table] = data
    return version, tables


def _remove(path: Path) -> None:
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


def restore_backup(source: str | Path | BinaryIO, db_path: str | Path, *,
                   actor: str | None = None) -> dict[str, int]:
    """Restore a parquet-zip backup into the new file ``db_path`` (which must not
    exist). Every member is verified first (:func:`read_verified`); the tables
    are written in one transaction into a staging file beside the target, which
    is checked, and renamed to ``db_path`` only when all of that succeeded: a
    failed restore leaves no file behind."""
    db_path = Path(db_path)
    if db_path.exists():
        raise PerfevalError(f"目标数据库 {db_path} 已存在；请用 --db 指定一个新文件，或先移走旧文件。")
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise PerfevalError(f"备份文件无法打开（{exc}）。") from exc
    with zf:
        version, tables = read_verified(zf)
    staging = db_path.with_name(db_path.name + ".restoring")
    _remove(staging)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    import duckdb

    try:
        con = duckdb.connect(str(staging))
        try:
            migrate(con, target=version)  # the backup's own schema; newer steps run below
            con.execute("BEGIN TRANSACTION")
            for table, data in tables.items():
                con.register("backup_rows", data)
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM backup_rows")  # noqa: S608
                con.unregister("backup_rows")
            if "audit_log" in tables:
                # Continue the log's numbering after the restored rows.
                nxt = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM audit_log").fetchall()[0][0]
                con.execute("DROP SEQUENCE audit_seq")
                con.execute(f"CREATE SEQUENCE audit_seq START WITH {int(nxt)}")
            con.execute("COMMIT")
        finally:
            con.close()
        rows = sum(t.num_rows for t in tables.values())
        del tables
        with Store(staging) as store:  # runs the newer migrations, if any
            problems = check_integrity(store)
            if problems:
                raise PerfevalError("恢复后的数据库未通过完整性检查：" + "；".join(problems))
            # A restore is a write like any other: its log row and a bump of the
            # generation (the dashboard's cache key) in one transaction, so the
            # restored file never shows the backup's generation for other content.
            with store.transaction() as cur:
                auditlog.append_rows(cur, [dict(
                    action=auditlog.BACKUP_RESTORE, actor=actor, result=auditlog.OK,
                    file_name=getattr(source, "name", None) or str(source),
                    detail=f"结构版本 {version}，{rows:,} 行")])
                store.bump_generation(cur)
            counts = store.counts()
        os.replace(staging, db_path)  # DuckDB checkpointed the WAL into the file on close
    except BaseException:
        _remove(staging)
        raise
    return counts


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
