"""Backups: the parquet zip restores every table exactly into a fresh file; the
workbook has one sheet per table and no password hashes; the integrity check
finds what a broken file would show."""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pandas as pd
import pytest

from perfeval import auditlog, backup, demo, users
from perfeval.cli import main
from perfeval.model import Department, PerfevalError
from perfeval.scoring import ensure_scores
from perfeval.store import Store
from tests.conftest import small_evaluation

PASSWORD = "backup-test-password"


@pytest.fixture
def full(tmp_path):
    s = Store(tmp_path / "full.duckdb")
    s.write(demo.generate(4, years=[2022, 2023]), imported_by="demo")
    demo.import_sample(s)
    ev = small_evaluation("=HYPERLINK(\"http://x\")街道")  # must stay text in the workbook
    ev.department = Department(ev.department.name, "测试区", "街道")
    s.write([ev])
    s.write([small_evaluation(unmet=False)])
    ensure_scores(s)
    users.add_user(s, "王管理", PASSWORD, users.ADMIN, actor="测试")
    users.add_user(s, "赵查看", PASSWORD, users.VIEWER, ["甲", "乙"], actor="王管理")
    yield s
    s.close()


def _tables(store) -> dict[str, pd.DataFrame]:
    cur = store.cursor()
    names = backup.table_names(cur)
    cur.close()
    out = {}
    for t in names:
        df = store.query_df(f"SELECT * FROM {t}")  # noqa: S608 (names from the catalogue)
        out[t] = df.sort_values(list(df.columns[:3])).reset_index(drop=True).astype(str)
    return out


def test_parquet_zip_round_trip_is_exact(full, tmp_path):
    out = tmp_path / "b.zip"
    counts = backup.write_parquet_zip(full, out)
    assert counts["indicators"] == full.counts()["indicators"] > 500
    restored_path = tmp_path / "restored.duckdb"
    backup.restore_backup(out, restored_path, actor="王管理")
    with Store(restored_path) as r:
        before, after = _tables(full), _tables(r)
        assert before.keys() == after.keys()
        for t in before:
            if t == "schema_version":  # made by the restore's own migrations
                pd.testing.assert_frame_equal(after[t][["version"]], before[t][["version"]])
                continue
            if t == "audit_log":  # one row more: the restore itself
                pd.testing.assert_frame_equal(after[t].iloc[:-1], before[t])
                continue
            if t == "generation":  # bumped by the restore (test_restore_bumps_the_generation)
                continue
            pd.testing.assert_frame_equal(after[t], before[t], obj=t)
        log = r.query_df("SELECT seq, action, actor FROM audit_log ORDER BY seq")
        assert log.iloc[-1].tolist() == [len(log), auditlog.BACKUP_RESTORE, "王管理"]
        auditlog.log(r, auditlog.LOGIN, actor="王管理")  # the numbering continues
        assert r.query_df("SELECT max(seq) AS m FROM audit_log")["m"][0] == len(log) + 1
        assert users.authenticate(r, "赵查看", PASSWORD).allowed == ["乙", "甲"] or \
            users.authenticate(r, "赵查看", PASSWORD).allowed == ["甲", "乙"]
        assert backup.check_integrity(r) == []


def test_restore_bumps_the_generation(full, tmp_path):
    """A restore is a write: the restored file's generation (the dashboard's
    cache key) is the backup's plus one, bumped with its audit-log row."""
    full.write([small_evaluation("代数街道")])
    g = full.generation()
    assert g > 0
    out = tmp_path / "b.zip"
    backup.write_parquet_zip(full, out)
    for k in (1, 2):  # each restore from the same backup: the backup's generation + 1
        target = tmp_path / f"r{k}.duckdb"
        backup.restore_backup(out, target, actor="王管理")
        with Store(target) as r:
            assert r.generation() == g + 1
            assert r.query_df("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1"
                              )["action"][0] == auditlog.BACKUP_RESTORE
    # A backup of a file that was never written (no generation row yet) restores to 1.
    with Store(tmp_path / "empty.duckdb") as empty:
        assert empty.generation() == 0
        backup.write_parquet_zip(empty, tmp_path / "e.zip")
    backup.restore_backup(tmp_path / "e.zip", tmp_path / "e.duckdb")
    with Store(tmp_path / "e.duckdb") as r:
        assert r.generation() == 1


def test_restore_refuses_existing_target_and_foreign_or_damaged_files(full, tmp_path):
    out = tmp_path / "b.zip"
    backup.write_parquet_zip(full, out)
    with pytest.raises(PerfevalError, match="已存在"):
        backup.restore_backup(out, full.path)
    not_backup = tmp_path / "x.zip"
    with zipfile.ZipFile(not_backup, "w") as z:
        z.writestr("a.txt", "x")
    with pytest.raises(PerfevalError, match="不是 perfeval 备份"):
        backup.restore_backup(not_backup, tmp_path / "n1.duckdb")
    # A manifest that does not match the data: refused, and no file left behind.
    tampered = tmp_path / "t.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "manifest.json":
                m = json.loads(body)
                m["tables"]["indicators"] += 1
                body = json.dumps(m).encode()
            dst.writestr(item, body)
    target = tmp_path / "n2.duckdb"
    with pytest.raises(PerfevalError, match="行数与清单不符"):
        backup.restore_backup(tampered, target)
    assert not target.exists() and list(tmp_path.glob("n2*")) == []


def test_workbook_has_a_sheet_per_table_and_no_hashes(full, tmp_path):
    out = tmp_path / "b.xlsx"
    counts = backup.write_xlsx(full, out)
    wb = openpyxl.load_workbook(out, read_only=True)
    assert set(wb.sheetnames) == set(counts)
    for name in wb.sheetnames:
        assert wb[name].max_row == counts[name] + 1, name
    header = [c.value for c in next(wb["users"].iter_rows(max_row=1))]
    assert "password_hash" not in header and "name" in header
    names = [r[1] for r in wb["departments"].iter_rows(min_row=2, values_only=True)]
    assert any(str(n).startswith("=HYPERLINK") for n in names)
    raw = out.read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        xml = b"".join(z.read(n) for n in z.namelist())
    assert b"<f>" not in xml and b"$argon2" not in xml


def test_workbook_refused_beyond_excel_rows(full, monkeypatch):
    monkeypatch.setattr(backup, "XLSX_MAX_ROWS", 100)
    with pytest.raises(PerfevalError, match="请改用 parquet"):
        backup.backup_bytes(full, "xlsx")


def test_integrity_check_finds_broken_states(full):
    full.write([small_evaluation()])  # revision 2 of 测试街道办事处
    assert backup.check_integrity(full) == []
    cur = full.cursor()
    cur.execute("INSERT INTO indicators (ind_id, eval_id, goal_no, seq, category, name) "
                "VALUES (999999, 999999, 1, 1, '产出', '孤儿指标')")
    cur.execute("UPDATE evaluations SET is_current = TRUE WHERE revision = 1 AND dept_id = "
                "(SELECT dept_id FROM departments WHERE name = '测试街道办事处')")
    cur.close()
    problems = backup.check_integrity(full)
    assert any("版本不一致" in p for p in problems)
    assert any("indicators 有 1 行不属于任何评价" in p for p in problems)


def test_backup_cli_round_trip(full, tmp_path, capsys):
    db = str(full.path)
    n = full.counts()["indicators"]
    full.close()
    assert main(["--db", db, "backup", str(tmp_path / "c.zip")]) == 0
    assert main(["--db", db, "backup", str(tmp_path / "c.xlsx")]) == 0
    new = str(tmp_path / "new.duckdb")
    assert main(["--db", new, "restore-backup", str(tmp_path / "c.zip")]) == 0
    out = capsys.readouterr().out
    assert f"{n:,} 条指标" in out
    assert main(["--db", new, "restore-backup", str(tmp_path / "c.zip")]) == 2
    assert "已存在" in capsys.readouterr().err


def _rewrite(src, dst, *, drop: str | None = None, patch=None, manifest=None):
    """Copy a backup zip, dropping or altering members."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for item in a.infolist():
            if item.filename == drop:
                continue
            body = a.read(item)
            if item.filename == "manifest.json" and manifest:
                m = json.loads(body)
                manifest(m)
                body = json.dumps(m).encode()
            if patch and item.filename == patch[0]:
                body = patch[1](body)
            b.writestr(item, body)


def test_manifest_has_checksums_and_counts(full, tmp_path):
    out = tmp_path / "b.zip"
    counts = backup.write_parquet_zip(full, out)
    with zipfile.ZipFile(out) as z:
        m = json.loads(z.read("manifest.json"))
        for t, n in counts.items():
            assert m["tables"][t] == n
            import hashlib

            assert m["sha256"][f"{t}.parquet"] == hashlib.sha256(z.read(f"{t}.parquet")).hexdigest()


def test_restore_refuses_damaged_or_incomplete_backups(full, tmp_path):
    import random

    out = tmp_path / "b.zip"
    backup.write_parquet_zip(full, out)
    rng = random.Random(13)

    def spray(body: bytes) -> bytes:  # 200 random bytes written into the member
        at = rng.randrange(len(body) // 4, len(body) - 200)
        return body[:at] + bytes(rng.randrange(256) for _ in range(200)) + body[at + 200:]

    def drop_indicators(m):
        del m["tables"]["indicators"]
        del m["sha256"]["indicators.parquet"]

    cases = {
        "sprayed": (dict(patch=("indicators.parquet", spray)), "校验和与清单不符"),
        "dropped": (dict(drop="indicators.parquet", manifest=drop_indicators), "缺少表 indicators"),
        "missing member": (dict(drop="goals.parquet"), "缺少 goals.parquet"),
        "no checksums": (dict(manifest=lambda m: m.pop("sha256")), "没有校验和"),
        "count": (dict(manifest=lambda m: m["tables"].update(goals=m["tables"]["goals"] - 1)),
                  "行数与清单不符"),
    }
    for label, (kw, message) in cases.items():
        bad = tmp_path / f"{label}.zip"
        _rewrite(out, bad, **kw)
        target = tmp_path / "restored" / f"{label}.duckdb"
        with pytest.raises(PerfevalError, match=message):
            backup.restore_backup(bad, target)
        assert not target.parent.exists() or list(target.parent.iterdir()) == [], label
        # The CLI says so in one line and exits 2.
        assert main(["--db", str(target), "restore-backup", str(bad)]) == 2, label
        assert not target.exists()
    # The sound backup still restores.
    target = tmp_path / "restored" / "ok.duckdb"
    counts = backup.restore_backup(out, target)
    assert counts["indicators"] == full.counts()["indicators"]


def test_failed_integrity_check_leaves_no_target(full, tmp_path, monkeypatch):
    out = tmp_path / "b.zip"
    backup.write_parquet_zip(full, out)
    monkeypatch.setattr(backup, "check_integrity", lambda store: ["人为的问题"])
    target = tmp_path / "r" / "x.duckdb"
    with pytest.raises(PerfevalError, match="完整性检查"):
        backup.restore_backup(out, target)
    assert list((tmp_path / "r").iterdir()) == []
