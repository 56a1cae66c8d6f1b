"""The one reading pipeline: what the user must supply, the command line, and
robustness against damaged input (a result or the reader's Chinese error,
never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfeval.cli import main
from perfeval.ingest import read_file, read_uploads
from perfeval.ingest.common import FileResult
from perfeval.store import Store
from tests import formfactory as ff

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = sorted([*FIXTURES.glob("forms/*-table.txt"), *FIXTURES.glob("reports/*-table.txt"),
                FIXTURES / "reports" / "ronghua-2022.txt"])
WORKBOOKS = {"guichi.xlsx": ff.guichi_form(), "yunnan.xlsx": ff.yunnan_public_form(),
             "qingshen.xlsx": ff.qingshen_form()}


def _is_chinese_line(message: str) -> bool:
    return "\n" not in message and any("\u4e00" <= ch <= "\u9fff" for ch in message) \
        and "Traceback" not in message


def _assert_result(result: FileResult) -> None:
    assert isinstance(result, FileResult)
    for issue in result.issues:
        assert _is_chinese_line(issue.message), issue.message
    if result.ok:
        assert result.evaluations or result.frames is not None


# --------------------------------------------------------------------------
# needs: 部门/年度 asked for, supplied, not committed without them


def test_a_table_without_unit_or_year_needs_both_and_takes_them():
    text = "项目支出绩效自评表\n项目名称 | 培训项目 |\n一级指标 | 二级指标 | 三级指标 | 年度指标值 | " \
           "实际完成值 | 分值 | 得分 |\n产出指标 | 数量指标 | 培训人次 | ≥100人次 | 120人次 | 50 | 50 |\n" \
           "总分 | | | | | 50 | 50 |\n"
    result = read_file("表.txt", text.encode())
    assert result.needs == ["部门", "年度"] and not result.ok
    assert any(i.message.startswith("需要补充：部门/年度") for i in result.errors)
    [ev] = result.evaluations  # everything else was read
    assert ev.self_score == 50 and ev.indicators[0][1].weight == 50
    ok = read_file("表.txt", text.encode(), department="某县教育局", year=2022)
    assert ok.ok and ok.needs == [] and ok.evaluations[0].key == ("某县教育局", 2022, "项目",
                                                                  "培训项目")
    # the dashboard passes the fields typed beside each file
    [res] = read_uploads([("表.txt", text.encode())], fields={"表.txt": ("某县教育局", 2022)})
    assert res.ok


def test_import_command_with_dept_and_year(tmp_path, capsys):
    text = "项目支出绩效自评表\n项目名称 | 培训项目 |\n一级指标 | 二级指标 | 三级指标 | 年度指标值 | " \
           "实际完成值 | 分值 | 得分 |\n产出指标 | 数量指标 | 培训人次 | ≥100人次 | 120人次 | 50 | 50 |\n"
    f = tmp_path / "表.txt"
    f.write_text(text, encoding="utf-8")
    db = tmp_path / "t.duckdb"
    assert main(["--db", str(db), "import", str(f)]) == 2
    assert "需要补充：部门/年度" in capsys.readouterr().out
    assert main(["--db", str(db), "import", str(f), "--dept", "某县教育局", "--year", "2022"]) == 0
    assert "已导入：某县教育局 2022 年度" in capsys.readouterr().out
    with Store(db, read_only=True) as store:
        log = store.query_df("SELECT result, file_name FROM audit_log ORDER BY seq")
    assert list(log["result"]) == ["拒绝", "成功"]  # both attempts are audited


def test_parse_json_for_every_kind(tmp_path, capsys):
    from perfeval.ingest.template import write_template

    write_template(tmp_path / "模板.xlsx")
    (tmp_path / "表.xlsx").write_bytes(ff.guichi_form())
    for name, kind in (("表.xlsx", "自评表"), ("模板.xlsx", "模板")):
        code = main(["parse", str(tmp_path / name), "--json"])
        out = json.loads(capsys.readouterr().out)
        assert out["input_kind"] == kind or not out["ok"]
        assert "needs" in out and "issues" in out
        if name == "表.xlsx":
            assert code == 0 and out["department"] == "池州市贵池区棠溪镇人民政府"
            assert out["self_score"] == 98


# --------------------------------------------------------------------------
# damaged input: random bytes, truncation, bit flips


SUFFIXES = [".txt", ".docx", ".pdf", ".xlsx", ".xls", ".csv"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=3000))
def test_random_bytes(suffix, data):
    _assert_result(read_file("随机" + suffix, data))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=2000))
def test_random_text(text):
    _assert_result(read_file("随机.txt", text.encode("utf-8")))


def _mutate(data: bytes, cut: float, flips: list[int]) -> bytes:
    b = bytearray(data[: max(1, int(len(data) * cut))])
    for pos in flips:
        b[pos % len(b)] ^= 1 << (pos % 8)
    return bytes(b)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=st.integers(0, len(TEXTS) - 1), cut=st.floats(0.05, 1.0),
       flips=st.lists(st.integers(0, 10**6), max_size=8))
def test_mutated_real_fixtures(k, cut, flips):
    path = TEXTS[k]
    _assert_result(read_file(path.name, _mutate(path.read_bytes(), cut, flips)))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(WORKBOOKS)), cut=st.floats(0.05, 1.0),
       flips=st.lists(st.integers(0, 10**6), max_size=8))
def test_mutated_workbooks(name, cut, flips):
    _assert_result(read_file(name, _mutate(WORKBOOKS[name], cut, flips)))


@pytest.mark.parametrize("build", [ff.guichi_form, ff.yunnan_public_form])
def test_xls_copies_read_like_the_workbooks(build):
    a = read_file("表.xlsx", build())
    b = read_file("表.xls", ff.to_xls(build()))
    assert b.ok
    got = [(i.name, i.weight, i.score) for _, i in b.evaluations[0].indicators]
    assert got == [(i.name, i.weight, i.score) for _, i in a.evaluations[0].indicators]


def test_data_page_asks_for_department_and_year_beside_the_file(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from perfeval import users
    from perfeval.ui import auth

    db = tmp_path / "page.duckdb"
    monkeypatch.setenv("PERFEVAL_DB", str(db))
    with Store(db) as s:
        users.add_user(s, "王管理", "page-test-password", users.ADMIN, actor="测试")
    at = AppTest.from_file(str(Path(__file__).parent.parent / "pages" / "data.py"),
                           default_timeout=60)
    at.session_state[auth.USER_KEY] = {"name": "王管理", "role": users.ADMIN, "departments": None}
    import time

    at.session_state[auth.SEEN_KEY] = time.time()
    at.run()
    text = ("项目支出绩效自评表\n项目名称 | 培训项目 |\n一级指标 | 二级指标 | 三级指标 | 年度指标值 | "
            "实际完成值 | 分值 | 得分 |\n产出指标 | 数量指标 | 培训人次 | ≥100人次 | 120人次 | 50 | 50 |\n")
    at.file_uploader[0].set_value([("表.txt", text.encode(), "text/plain")]).run()
    assert not at.exception
    assert any("需要补充：部门/年度" in c.value for c in at.caption)
    at.text_input(key="need_dept::表.txt").set_value("某县教育局").run()
    at.number_input(key="need_year::表.txt").set_value(2022).run()
    assert not at.exception
    m = {x.label: x.value for x in at.metric}
    assert m["可导入"] == "1", [df.value.to_string() for df in at.dataframe]
    row = at.dataframe[0].value.iloc[0]
    assert (row["部门"], row["年度"], row["项目"]) == ("某县教育局", 2022, "培训项目")


def test_bench_reading_throughput():
    from perfeval.bench import bench_reading

    figures = bench_reading(min_seconds=0)
    assert figures["read_report_text_docs_per_s"] > 0
    assert figures["read_form_workbook_docs_per_s"] > 0
