from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from perfeval.ingest import commit, read_file
from perfeval.ingest.template import COLUMNS, DATA_SHEET, frame_from_store, write_template
from perfeval.model import PerfevalError

from .conftest import small_evaluation

HEADERS = [c.header for c in COLUMNS]


def rows_frame(n_goals=2):
    base = {h: "" for h in HEADERS}
    base.update({"部门": "样例街道办事处", "区域": "样例区", "类别": "街道", "年度": "2023",
                 "自评得分": "96", "总预算数": "100", "总执行数": "95", "存在问题": "问题甲\n问题乙"})
    rows = []
    for g in range(1, n_goals + 1):
        for k, (cat, name, target, actual) in enumerate([
                ("产出指标", f"巡查次数{g}", "≥10次", "12次"),
                ("效益指标", f"知晓率{g}", "≥90%", "85%"),
                ("满意度指标", f"满意度{g}", "≥90%", "95%")]):
            r = dict(base)
            r.update({"目标序号": str(g), "年度目标": f"目标{g}", "一级指标": cat,
                      "三级指标": name, "年度指标值": target, "实际完成值": actual})
            if g > 1 or k > 0:
                r["存在问题"] = ""
            rows.append(r)
    return pd.DataFrame(rows, columns=HEADERS)


def csv_bytes(df, encoding="utf-8"):
    return df.to_csv(index=False).encode(encoding)


def test_template_workbook_has_guide_and_example(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [DATA_SHEET, "示例", "填写说明"]
    assert [c.value for c in wb[DATA_SHEET][1]] == HEADERS
    assert wb[DATA_SHEET].max_row == 1  # empty data sheet
    assert wb["示例"].max_row > 2
    guide = {r[0]: r[1] for r in wb["填写说明"].iter_rows(min_row=2, values_only=True) if r[1]}
    assert guide["部门"] == "必填" and guide["二级指标"] == "选填"


def test_empty_template_import_says_no_rows(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    result = read_file("t.xlsx", path.read_bytes())
    assert not result.ok and "没有数据行" in str(result.errors[0])


def test_csv_import_reads_everything(store):
    result = read_file("a.csv", csv_bytes(rows_frame()))
    assert result.ok, [str(i) for i in result.issues]
    [w] = commit(store, [result])
    ev = store.load(w.eval_id)
    assert ev.department.name == "样例街道办事处" and ev.department.region == "样例区"
    assert ev.year == 2023 and ev.self_score == 96
    assert [(b.line, b.budget, b.executed) for b in ev.budget] == [("total", 100, 95)]
    assert [g.name for g in ev.goals] == ["目标1", "目标2"]
    assert [i.category for i in ev.goals[0].indicators] == ["产出", "效益", "满意度"]
    assert ev.problems == ["问题甲", "问题乙"]


def test_gbk_and_bom_csv_accepted(store):
    for enc in ("gbk", "utf-8-sig"):
        result = read_file("g.csv", csv_bytes(rows_frame(), enc))
        assert result.ok, [str(i) for i in result.issues]
        assert result.frames.evaluations["department"].tolist() == ["样例街道办事处"]


def test_round_trip_through_template_workbook(store, tmp_path):
    store.write([small_evaluation("甲街道"), small_evaluation("乙街道", 2022)])
    exported = frame_from_store(store)
    path = write_template(tmp_path / "out.xlsx", exported)
    result = read_file("out.xlsx", path.read_bytes())
    assert result.ok, [str(i) for i in result.issues]
    from perfeval.store import Store

    with Store(tmp_path / "second.duckdb") as other:
        commit(other, [result])
        again = frame_from_store(other)
    pd.testing.assert_frame_equal(exported.astype(str), again.astype(str))
    first = store.load(store.current_eval_id("甲街道", 2023))
    assert first.goals[0].indicators[1].actual == "80%"


def rejected(store, name, data, *expected):
    before = store.counts()
    result = read_file(name, data)
    assert not result.ok
    text = "\n".join(str(i) for i in result.errors)
    for part in expected:
        assert part in text, text
    with pytest.raises(Exception, match="未写入任何数据"):
        commit(store, [result])
    assert store.counts() == before
    return text


def test_missing_required_columns(store):
    df = rows_frame().drop(columns=["一级指标", "年度"])
    text = rejected(store, "m.csv", csv_bytes(df), "缺少必填列", "年度", "一级指标", "m.csv")
    assert "第" not in text  # a missing column has no row


def test_non_numeric_and_negative_amounts(store, tmp_path):
    df = rows_frame()
    df.loc[1, "总预算数"] = "一百"
    df.loc[2, "总执行数"] = "-5"
    text = rejected(store, "n.csv", csv_bytes(df), "第 3 行", "“总预算数”", "应为数字",
                    "第 4 行", "不能为负数")
    # In a workbook the column is named by its letter, and the sheet is named.
    path = write_template(tmp_path / "n.xlsx", df)
    text = rejected(store, "n.xlsx", path.read_bytes(), "工作表「绩效自评」", "H（总预算数）")
    assert "第 3 行" in text


def test_year_out_of_range(store):
    df = rows_frame()
    df["年度"] = "1999"
    rejected(store, "y.csv", csv_bytes(df), "年度必须在 2000–2100 之间", "1999")


def test_unknown_category(store):
    df = rows_frame()
    df.loc[0, "一级指标"] = "影响指标"
    rejected(store, "c.csv", csv_bytes(df), "未知的一级指标“影响指标”", "第 2 行")


def test_duplicate_indicator_rows(store):
    df = rows_frame()
    df = pd.concat([df, df.iloc[[1]]], ignore_index=True)
    rejected(store, "d.csv", csv_bytes(df), "在同一目标下重复出现", f"第 {len(df) + 1} 行")


def test_execution_above_budget_is_a_warning(store):
    df = rows_frame()
    df["总执行数"] = "120"
    result = read_file("w.csv", csv_bytes(df))
    assert result.ok
    assert any("执行数大于预算数" in str(w) for w in result.warnings)


def test_empty_and_non_spreadsheet_files(store):
    rejected(store, "e.csv", b"", "空文件")
    rejected(store, "e.xlsx", b"   \n", "空文件")
    rejected(store, "x.xlsx", b"PK\x03\x04 not really a zip", "不是可读取的 Excel 工作簿")
    rejected(store, "b.csv", bytes(range(256)) * 10, "b.csv")
    rejected(store, "p.png", b"\x89PNG\r\n", "不支持的文件类型")


def test_inconsistent_evaluation_columns(store):
    df = rows_frame()
    df.loc[3, "自评得分"] = "80"
    rejected(store, "i.csv", csv_bytes(df), "同一评价的各行填写不一致", "自评得分")


def test_bad_file_in_batch_stops_all_unless_skip_bad(store):
    good = read_file("good.csv", csv_bytes(rows_frame()))
    bad_df = rows_frame()
    bad_df["年度"] = "abc"
    bad = read_file("bad.csv", csv_bytes(bad_df))
    with pytest.raises(Exception, match="bad.csv"):
        commit(store, [good, bad])
    assert store.counts()["evaluations"] == 0
    commit(store, [good, bad], skip_bad=True)
    assert store.counts()["evaluations"] == 1


def test_nul_anywhere_in_a_csv_is_refused(store):
    df = rows_frame(n_goals=60)
    data = csv_bytes(df)
    assert len(data) > 8192
    cut = data.rindex(b"\n", 0, len(data) - 50)  # inside a department name near the end
    at = data.index("样例街道".encode(), cut)
    bad = data[:at] + b"\x00" + data[at:]
    assert b"\x00" not in bad[:4096]
    result = read_file("late-nul.csv", bad)
    assert not result.ok
    msg = result.errors[0].message
    assert "NUL" in msg and "late-nul.csv" in msg
    line = bad[:at].count(b"\n") + 1
    assert f"第 {line} 行" in msg
    with pytest.raises(PerfevalError):
        commit(store, [result])
    assert store.counts()["evaluations"] == 0


def test_reimporting_an_identical_file_adds_no_revision(store, tmp_path, capsys):
    from perfeval import auditlog
    from perfeval.cli import main

    data = csv_bytes(rows_frame())
    [w] = commit(store, [read_file("a.csv", data)])
    assert w.revision == 1
    again = read_file("a-copy.csv", data)
    assert commit(store, [again]) == []
    assert "与样例街道办事处 2023 年度的第 1 版相同" in again.warnings[-1].message
    assert store.history("样例街道办事处")["revision"].tolist() == [1]
    log = auditlog.read_log(store)
    assert "未新增版本" in log["说明"].iloc[0] and log["文件"].iloc[0] == "a-copy.csv"
    # A changed file adds revision 2; the same bytes again then equal revision 2.
    changed = csv_bytes(rows_frame().assign(自评得分="90"))
    [w2] = commit(store, [read_file("b.csv", changed)])
    assert w2.revision == 2
    third = read_file("b.csv", changed)
    assert commit(store, [third]) == []
    assert "第 2 版" in third.warnings[-1].message
    # The first file is not current any more: importing it again is a new revision.
    [w3] = commit(store, [read_file("a.csv", data)])
    assert w3.revision == 3
    # The CLI says so.
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    assert main(["--db", str(store.path), "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "未导入" in out and "第 3 版相同" in out
