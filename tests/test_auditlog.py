"""The audit log: every write is a row (who, what file, checksum, department-year,
revision, result), and the app only ever appends to it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from perfeval import auditlog
from perfeval.ingest import commit, read_file
from perfeval.model import PerfevalError, sha256_bytes
from perfeval.store import frames_from
from tests.conftest import small_evaluation

SAMPLE = Path("data/samples/ronghua-2022.txt")
RONGHUA = "武汉市硚口区人民政府荣华街道办事处"


def _log(store) -> pd.DataFrame:
    return store.query_df("SELECT * FROM audit_log ORDER BY seq")


def test_each_import_is_a_row_with_file_checksum_and_revision(store):
    data = SAMPLE.read_bytes()
    for _ in range(2):
        commit(store, [read_file(SAMPLE.name, data)], imported_by="李录入")
    log = _log(store)
    assert list(log["seq"]) == [1, 2]
    assert set(log["action"]) == {auditlog.IMPORT} and set(log["result"]) == {auditlog.OK}
    assert set(log["actor"]) == {"李录入"}
    assert set(log["file_name"]) == {SAMPLE.name}
    assert set(log["checksum"]) == {sha256_bytes(data)}
    assert list(zip(log["department"], log["year"], log["revision"], strict=True)) == [
        (RONGHUA, 2022, 1), (RONGHUA, 2022, 1)]  # the same bytes again add no revision
    assert "未新增版本" in log["detail"].iloc[1]


def test_files_with_errors_are_logged_as_refused_and_nothing_written(store):
    good = read_file(SAMPLE.name, SAMPLE.read_bytes())
    bad = read_file("坏.csv", "部门,年度\n甲,2022\n".encode())
    assert not bad.ok
    with pytest.raises(PerfevalError, match="1 个文件有错误，未写入任何数据"):
        commit(store, [good, bad], imported_by="李录入")
    assert store.counts()["evaluations"] == 0
    log = _log(store)
    assert list(log["result"]) == [auditlog.REFUSED] and log["file_name"][0] == "坏.csv"
    assert "缺少必填列" in log["detail"][0]
    commit(store, [good, bad], imported_by="李录入", skip_bad=True)
    assert list(_log(store)["result"]) == [auditlog.REFUSED, auditlog.REFUSED, auditlog.OK]


def test_a_failed_write_is_logged_as_failed(store, monkeypatch):
    res = read_file(SAMPLE.name, SAMPLE.read_bytes())

    def broken(*args, **kwargs):
        raise PerfevalError("磁盘已满")

    monkeypatch.setattr(store, "write", broken)
    with pytest.raises(PerfevalError, match="磁盘已满"):
        commit(store, [res], imported_by="李录入")
    row = _log(store).iloc[-1]
    assert (row["result"], row["detail"], row["file_name"]) == (auditlog.FAILED, "磁盘已满",
                                                                SAMPLE.name)


def test_restore_is_logged_success_and_failure(store):
    store.write([small_evaluation(unmet=True)])
    store.write([small_evaluation(unmet=False)])
    auditlog.restore_revision(store, "测试街道办事处", 2023, 1, actor="王管理")
    with pytest.raises(PerfevalError, match="找不到"):
        auditlog.restore_revision(store, "测试街道办事处", 2023, 9, actor="王管理")
    log = _log(store)
    assert list(zip(log["action"], log["revision"], log["result"], strict=True)) == [
        (auditlog.RESTORE, 1, auditlog.OK), (auditlog.RESTORE, 9, auditlog.FAILED)]
    assert store.history()["is_current"].tolist() == [True, False]


def test_the_log_only_grows(store):
    commit(store, [read_file(SAMPLE.name, SAMPLE.read_bytes())], imported_by="甲")
    auditlog.log(store, auditlog.LOGIN, actor="甲", address="127.0.0.1")
    before = _log(store)
    store.write(frames_from([small_evaluation()]))
    auditlog.restore_revision(store, RONGHUA, 2022, 1, actor="甲")
    auditlog.log(store, auditlog.LOGOUT, actor="甲")
    after = _log(store)
    pd.testing.assert_frame_equal(after.iloc[: len(before)], before)
    assert len(after) == len(before) + 2


def test_no_code_updates_or_deletes_log_rows():
    root = Path(__file__).parent.parent
    pattern = re.compile(r"(UPDATE|DELETE\s+FROM|TRUNCATE|DROP\s+TABLE)\s+audit_log", re.I)
    sources = [*root.glob("perfeval/**/*.py"), *root.glob("pages/*.py"), root / "app.py"]
    hits = [str(p) for p in sources if p.exists() and pattern.search(p.read_text("utf-8"))]
    assert hits == []


def test_unknown_action_or_column_refused(store):
    with pytest.raises(ValueError, match="unknown audit actions"):
        auditlog.log(store, "随便写", actor="x")
    with pytest.raises(ValueError, match="no columns"):
        auditlog.log_many(store, [dict(action=auditlog.LOGIN, actor="x", result="成功",
                                       password="x")])
    assert _log(store).empty


def test_read_log_filters_and_display_names(store):
    auditlog.log(store, auditlog.LOGIN, actor="甲", result=auditlog.FAILED)
    auditlog.log(store, auditlog.LOGIN, actor="乙")
    df = auditlog.read_log(store, actor="甲")
    assert list(df.columns)[:5] == ["序号", "时间", "操作人", "来源地址", "操作"]
    assert df["结果"].tolist() == [auditlog.FAILED]
    assert auditlog.read_log(store)["操作人"].tolist() == ["乙", "甲"]  # newest first
