"""Reading target and actual texts (perfeval.values)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfeval import rules
from perfeval.values import (
    PARSED_COLUMNS,
    REVERSE_WORDS,
    indicator_direction,
    parse_indicator_frame,
    parse_target,
    parse_value,
)

# text → (comparator, number, unit, level)
NUMERIC_CASES = [
    ("100%", None, 100.0, "%"),
    ("≥95%", ">=", 95.0, "%"),
    (">=95%", ">=", 95.0, "%"),
    ("≥ 95 %", ">=", 95.0, "%"),
    ("≤3次", "<=", 3.0, "次"),
    ("<5%", "<", 5.0, "%"),
    ("=0", "=", 0.0, None),
    ("0起", "=", 0.0, "起"),
    ("无", "=", 0.0, None),
    ("100%合格", None, 100.0, "%"),
    ("96%", None, 96.0, "%"),
    ("50个", None, 50.0, "个"),
    ("≥50个", ">=", 50.0, "个"),
    ("2200万元", None, 2200.0, "万元"),
    ("150万", None, 150.0, "万"),
    ("5件", None, 5.0, "件"),
    ("90%以上", ">=", 90.0, "%"),
    ("不低于95%", ">=", 95.0, "%"),
    ("不超过3次", "<=", 3.0, "次"),
    ("１００％", None, 100.0, "%"),
    ("≧95%", ">=", 95.0, "%"),
    ("≦3次", "<=", 3.0, "次"),
    ("＞90%", ">", 90.0, "%"),
    ("3天内", "<=", 3.0, "天"),
    ("5,431.28万元", None, 5431.28, "万元"),
    ("30%", None, 30.0, "%"),
    ("大于等于 98.5%", ">=", 98.5, "%"),
    ("低于2%", "<", 2.0, "%"),
    ("5次以内", "<=", 5.0, "次"),
    ("达到95%", None, 95.0, "%"),
]

LEVEL_CASES = [
    ("完成", "达成"),
    ("已完成", "达成"),
    ("圆满完成", "达成"),
    ("达成预期指标", "达成"),
    ("有效控制", "达成"),
    ("效果明显", "达成"),
    ("好", "达成"),
    ("合格", "达成"),
    ("按时完成", "达成"),
    ("圆满地完成了年初目标", "达成"),
    ("部分达成", "部分达成"),
    ("基本完成", "部分达成"),
    ("基本合格", "部分达成"),
    ("未完成", "未达成"),
    ("未达成", "未达成"),
    ("不合格", "未达成"),
    ("差", "未达成"),
]

UNREADABLE = [
    "无重大安全事故",
    "2022 年度荣华街道办事处消防隐患整治率为 70%，未完成年初目标。",
    "90%-95%",
    "1:1",
    "",
    "   ",
]


@pytest.mark.parametrize(("text", "comparator", "number", "unit"), NUMERIC_CASES)
def test_numeric_texts(text, comparator, number, unit):
    pv = parse_value(text)
    assert (pv.comparator, pv.number, pv.unit, pv.level) == (comparator, number, unit, None)
    assert pv.readable and pv.text == text


@pytest.mark.parametrize(("text", "level"), LEVEL_CASES)
def test_qualitative_texts(text, level):
    pv = parse_value(text)
    assert (pv.level, pv.number, pv.comparator, pv.readable) == (level, None, None, True)


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_text_is_kept_not_guessed(text):
    pv = parse_value(text)
    assert not pv.readable
    assert pv.number is None and pv.level is None
    assert pv.text == text


def test_missing_text():
    for missing in (None, float("nan"), pd.NA):
        pv = parse_value(missing)
        assert not pv.readable and pv.text is None


@pytest.mark.parametrize(("name", "text", "comparator", "number", "unit"), [
    ("消防隐患整治率 99%", "完成", None, 99.0, "%"),
    ("群众对环境美化满意度 90%以上", "完成", ">=", 90.0, "%"),
    ("完成立案 5 件", "完成", None, 5.0, "件"),
    ("数据维护 100%", "完成", None, 100.0, "%"),
    # The text's own number wins over the name's.
    ("消防隐患整治率 99%", "≥95%", ">=", 95.0, "%"),
    # Digits that are no target.
    ("“12135”投诉回复满意率", "完成", None, None, None),
    ("第3季度完成率", "完成", None, None, None),
])
def test_target_in_name(name, text, comparator, number, unit):
    pv = parse_target(name, text)
    assert (pv.comparator, pv.number, pv.unit) == (comparator, number, unit)
    assert pv.readable


@pytest.mark.parametrize(("name", "comparator", "target", "expected"), [
    ("网格案结率", ">=", 95, ("positive", False)),
    ("网格案结率", ">", 95, ("positive", False)),
    ("信访件数", "<=", 3, ("reverse", False)),
    ("信访件数", "<", 3, ("reverse", False)),
    ("暴露垃圾点", "=", 0, ("reverse", False)),
    ("网格案结率", None, 100, ("positive", True)),
    ("赴省重访率", None, 100, ("reverse", True)),
    ("重大安全事故", None, None, ("reverse", True)),
    ("项目成本", None, 150, ("reverse", True)),
    ("资金结余率", None, 5, ("reverse", True)),
    ("投诉率", None, 1, ("reverse", True)),
    ("差错率", None, 1, ("reverse", True)),
    ("火灾发生率", None, 1, ("reverse", True)),
    # Reverse words inside "higher is better" names.
    ("非访劝返率", None, 100, ("positive", True)),
    ("“12135”投诉回复满意率", None, 100, ("positive", True)),
    ("成本节约率", None, 5, ("positive", True)),
    ("事故处置率", None, 100, ("positive", True)),
    # The comparator beats the name.
    ("赴省重访率", ">=", 100, ("positive", False)),
])
def test_direction(name, comparator, target, expected):
    assert indicator_direction(name, comparator, target) == expected


def test_reverse_words_listed():
    for word in ("成本", "事故", "投诉率", "重访率", "发生率", "差错率", "结余率"):
        assert word in REVERSE_WORDS


def test_parse_indicator_frame_shape_and_values():
    df = pd.DataFrame({
        "name": ["信访积案化解率", "消防隐患整治率 99%", "赴省重访率", "老旧社区改造", "x", "x"],
        "target_text": ["100%", "完成", "完成", "有效控制", None, "看情况"],
        "actual_text": ["30%", "70%", "100%", "无重大安全事故", None, "基本完成"],
    }, index=[10, 11, 12, 13, 14, 15])
    out = parse_indicator_frame(df)
    assert list(out.columns) == PARSED_COLUMNS
    assert list(out.index) == list(range(6))
    assert out["target_num"].iloc[0] == 100 and out["actual_num"].iloc[0] == 30
    assert out["target_num"].iloc[1] == 99 and out["actual_num"].iloc[1] == 70
    assert out["target_level"].iloc[1] == "达成"
    assert list(out["direction"]) == ["positive", "positive", "reverse", "positive",
                                      "positive", "positive"]
    assert out["direction_inferred"].all()
    assert list(out["target_readable"]) == [True, True, True, True, False, False]
    assert list(out["actual_readable"]) == [True, True, True, False, False, True]
    assert out["actual_level"].iloc[5] == "部分达成"
    assert out["comparator"].iloc[0] is None
    assert math.isnan(out["actual_num"].iloc[4])


def test_parse_indicator_frame_empty():
    out = parse_indicator_frame(pd.DataFrame(columns=["name", "target_text", "actual_text"]))
    assert list(out.columns) == PARSED_COLUMNS and len(out) == 0


texts = st.sampled_from([t for t, *_ in NUMERIC_CASES] + [t for t, _ in LEVEL_CASES]
                        + UNREADABLE + [None])
names = st.sampled_from(["信访积案化解率", "消防隐患整治率 99%", "赴省重访率", "项目成本", None])


# No deadline: on the shared 2-core machine one example can take 0.5 s.
@settings(deadline=None)
@given(st.lists(st.tuples(names, texts, texts), min_size=1, max_size=30))
def test_frame_agrees_with_per_text_functions(rows):
    df = pd.DataFrame(rows, columns=["name", "target_text", "actual_text"])
    out = parse_indicator_frame(df)
    assert len(out) == len(rows)
    for (name, target, actual), (_, r) in zip(rows, out.iterrows(), strict=True):
        t = parse_target(name, target)
        a = parse_value(actual)
        assert r["comparator"] == t.comparator
        assert (r["target_num"] == t.number) or (t.number is None and np.isnan(r["target_num"]))
        assert (r["actual_num"] == a.number) or (a.number is None and np.isnan(r["actual_num"]))
        assert r["actual_level"] == a.level and r["target_level"] == t.level
        assert (r["direction"], r["direction_inferred"]) == indicator_direction(
            name, t.comparator, t.number)
        assert r["target_readable"] == t.readable and r["actual_readable"] == a.readable
        assert (r["name_key"], r["ikey"]) == (rules.name_key(name), rules.indicator_key(name))


# -- parsed at ingest, re-derived by reparse -------------------------------------------


def test_store_write_refuses_unparsed_frames():
    from perfeval.model import PerfevalError
    from perfeval.store import Frames, Store, frames_from
    from tests.conftest import small_evaluation

    parsed = frames_from([small_evaluation()])
    raw = parsed.children["indicators"].drop(columns=["parser_version", "target_num"])
    with Store(":memory:") as s, pytest.raises(PerfevalError, match="尚未解析"):
        s.write(Frames(parsed.evaluations, {**parsed.children, "indicators": raw}))


def test_reparse_rederives_old_rows_and_rescores(tmp_path, capsys):
    from perfeval.cli import main
    from perfeval.store import Store
    from perfeval.values import PARSER_VERSION
    from tests.conftest import small_evaluation

    db = tmp_path / "r.duckdb"
    with Store(db) as s:
        [w] = s.write([small_evaluation()])
        before = s.query_df("SELECT total FROM eval_scores WHERE eval_id = ?", [w.eval_id])
        # As an older reader left them: the target of 矛盾纠纷调处率 unread.
        s.con.execute("UPDATE indicators SET target_num = NULL, parser_version = 0 "
                      "WHERE name = '矛盾纠纷调处率'")
        s.con.execute("UPDATE eval_scores SET total = -1")
        g = s.generation()
    assert main(["reparse", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["indicators"], out["evaluations"], out["parser_version"]) == (1, 1, PARSER_VERSION)
    with Store(db) as s:
        row = s.query_df("SELECT target_num, parser_version FROM indicators "
                         "WHERE name = '矛盾纠纷调处率'").iloc[0]
        assert (row["target_num"], row["parser_version"]) == (95.0, PARSER_VERSION)
        after = s.query_df("SELECT total FROM eval_scores WHERE eval_id = ?", [w.eval_id])
        assert after["total"].iloc[0] == pytest.approx(before["total"].iloc[0])
        assert s.generation() == g + 1
    assert main(["reparse", "--db", str(db)]) == 0
    assert "无需重新解析" in capsys.readouterr().out
