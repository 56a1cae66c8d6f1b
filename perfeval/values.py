"""Read target and actual texts into comparator, number, unit and level.

A report writes a target as ``100%``, ``≥95%``, ``不超过3次``, ``90%以上``,
``2200万元`` or as words (``完成``, ``有效控制``); the actual the same way.
:func:`parse_value` reads one text; :func:`parse_indicator_frame` reads a
whole indicator frame, each distinct text once (ingest calls it through
:func:`parse_frames` before every write, a million rows at a time; the rows
carry :data:`PARSER_VERSION`, and :func:`reparse_store` re-derives them).

Choices (see docs/规则.md):

- Text is normalised first: NFKC (full-width ``１００％`` → ``100%``,
  ``＞`` → ``>``), ``≧ ⩾ ≥`` → ``>=``, ``≦ ⩽ ≤`` → ``<=``, spaces and
  thousands separators dropped, trailing punctuation dropped.
- ``comparator`` is what the text says: a sign (``>=``), a word before the
  number (``不低于`` → ``>=``, ``不超过`` → ``<=``, ``低于`` → ``<``) or after
  it (``以上`` → ``>=``, ``以下/以内/内`` → ``<=``). A plain number keeps
  comparator ``None``: scoring reads it as "at least" unless the indicator's
  name marks it reverse (:data:`REVERSE_WORDS`), and records that the
  direction was inferred.
- A bare zero (``0``, ``0起``, ``无``, ``零``) reads as ``= 0``: "at least
  zero" is no target at all, so the only sensible reading is "none".
- ``unit`` is kept as written (``%``, ``次``, ``万元``, ``万``); no
  conversion between units. Descriptive words after a number (``100%合格``,
  ``95%达标``) are dropped.
- Qualitative words map to a level: 达成 (完成, 已完成, 有效控制, 效果明显,
  好, 合格, ...), 部分达成 (基本完成, 部分达成, 一般, ...), 未达成 (未完成,
  不合格, 差, ...). Anything else (a sentence, a range, a ratio) is kept as
  text and marked unreadable: never guessed.
- A target may sit in the indicator's name (``消防隐患整治率 99%`` with target
  text ``完成``): when the target text has no number, a number ending the
  name is the target.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

COMPARATORS = (">=", ">", "=", "<=", "<")
LEVELS = ("达成", "部分达成", "未达成")

# Words that make an indicator reverse (smaller is better) when no comparator
# says which way it goes. Matched as substrings of the name.
REVERSE_WORDS = (
    "成本", "费用", "支出额", "超支", "结余率", "结余", "沉淀",
    "事故", "伤亡", "死亡", "损失", "发案", "案发", "犯罪率",
    "投诉率", "投诉量", "投诉数", "投诉件", "投诉次数", "重访率", "重访", "越级访",
    "发生率", "差错率", "错误率", "误差", "偏差", "故障率", "返工率", "不合格率",
    "漏报率", "误报率", "流失率", "辍学率", "发病率", "感染率", "复发率", "失业率",
    "空置率", "闲置率", "逾期", "超期", "延误", "响应时间", "等待时间", "耗时", "用时",
    "能耗", "排放", "污染", "隐患数", "违规", "违纪",
)
# Words that keep an indicator positive although a reverse word occurs in it
# (成本节约率, 事故处置率, 投诉办结率, 重访化解率 are "higher is better").
POSITIVE_WORDS = (
    "满意", "化解", "控制率", "节约", "降低率", "下降率", "减少率", "整改率", "整治率",
    "办结率", "处置率", "处理率", "查处率", "结案率", "回复率", "劝返",
)


@dataclass(frozen=True)
class ParsedValue:
    comparator: str | None  # one of COMPARATORS, or None when the text states none
    number: float | None
    unit: str | None
    level: str | None  # one of LEVELS for a qualitative text
    readable: bool
    text: str | None  # the text as given

    @property
    def is_numeric(self) -> bool:
        return self.number is not None


# -- normalisation ----------------------------------------------------------

_SIGNS = str.maketrans({"≧": "≥", "⩾": "≥", "≦": "≤", "⩽": "≤", "﹪": "%", "﹤": "<", "﹥": ">"})
_TRAILING_PUNCT = "。.，,；;：:、！!"


def normalize_text(text: str) -> str:
    t = unicodedata.normalize("NFKC", str(text)).translate(_SIGNS)
    t = t.replace("≥", ">=").replace("≤", "<=").replace("=>", ">=").replace("=<", "<=")
    t = "".join(t.split())
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)  # 5,431.28
    t = t.strip(_TRAILING_PUNCT + "“”\"'‘’（）()")
    return t


# -- numbers ------------------------------------------------------------------

# Longest first: 不超过 before 超过, 大于等于 before 大于.
_PREFIX_COMPARATOR = {
    ">=": ">=", "大于等于": ">=", "大于或等于": ">=", "不低于": ">=", "不少于": ">=",
    "不小于": ">=", "至少": ">=", "最少": ">=", "高于等于": ">=",
    ">": ">", "大于": ">", "高于": ">", "多于": ">", "超过": ">",
    "<=": "<=", "小于等于": "<=", "小于或等于": "<=", "不超过": "<=", "不高于": "<=",
    "不多于": "<=", "不大于": "<=", "最多": "<=", "控制在": "<=",
    "<": "<", "小于": "<", "低于": "<", "少于": "<", "不足": "<",
    "=": "=", "==": "=", "等于": "=",
}
# Words before a number that say nothing about the direction.
_NEUTRAL_PREFIXES = ("为", "达到", "达", "完成", "实现", "约", "共", "累计", "全年", "年均")
_SUFFIX_COMPARATOR = {
    "及以上": ">=", "以上": ">=", "或以上": ">=",
    "及以下": "<=", "以下": "<=", "或以下": "<=", "以内": "<=", "之内": "<=", "内": "<=",
}
# Words after a number that describe it without changing it (100%合格).
_DESCRIPTIVE_SUFFIXES = ("合格", "达标", "完成", "左右", "覆盖")

_prefix_alt = "|".join(re.escape(p) for p in sorted(
    [*_PREFIX_COMPARATOR, *_NEUTRAL_PREFIXES], key=len, reverse=True))
_suffix_alt = "|".join(re.escape(s) for s in sorted(
    [*_SUFFIX_COMPARATOR, *_DESCRIPTIVE_SUFFIXES], key=len, reverse=True))
_NUMBER_RE = re.compile(
    rf"^(?P<pre>{_prefix_alt})?"
    r"(?P<num>[-+]?\d+(?:\.\d+)?)"
    r"(?P<unit>%|‰|[A-Za-z\u4e00-\u9fff²³/·]{1,6}?)??"
    rf"(?P<suf>{_suffix_alt})?$"
)
_ZERO_WORDS = {"无", "零", "没有", "0"}

# -- qualitative levels --------------------------------------------------------

_ACHIEVED_WORDS = {
    "好", "较好", "良好", "很好", "优", "优秀", "合格", "达标", "满意", "是", "有效", "及时",
    "有效控制", "得到有效控制", "效果明显", "效果显著", "效果良好", "效果较好", "明显", "显著",
    "提升", "有所提升", "明显提升", "稳步提升", "持续提升", "提高", "明显提高", "有所提高",
    "改善", "明显改善", "有所改善", "保障", "有效保障", "正常", "正常运转", "稳定", "平稳",
    "达到预期", "达到预期目标", "达成预期指标", "达成预期目标", "符合要求", "符合标准",
    "符合预期", "到位", "全覆盖", "按要求完成", "按计划完成", "已完成年初目标",
}
_PARTIAL_WORDS = {"一般", "中", "较差", "部分", "尚可", "有待提高", "有待提升"}
_UNMET_WORDS = {"差", "否", "无效", "不合格", "不达标", "不满意", "不及时", "未达到预期", "效果不明显"}
_ACHIEVED_RE = re.compile(
    r"^(已经?|圆满(地)?|全面|按时|按期|如期|及时|全部|顺利|较好(地)?|很好(地)?|超额|均已|已全部)?"
    r"(完成|达成|达到|实现|达标|落实)了?(预期|年初|既定|年度)?(目标值?|指标值?|任务)?$"
)
_PARTIAL_RE = re.compile(r"^(基本|部分|大部分|大体|大部)(上)?(完成|达成|达到|实现|达标|合格|满意|落实|到位)")
_UNMET_RE = re.compile(r"^(未|没有|没|尚未|无法|不能|未能)(按时|按期|全部|能)?(完成|达成|达到|实现|达标|合格|落实|到位)")


def _level_of(t: str) -> str | None:
    if _UNMET_RE.match(t) or t in _UNMET_WORDS:
        return "未达成"
    if _PARTIAL_RE.match(t) or t in _PARTIAL_WORDS:
        return "部分达成"
    if _ACHIEVED_RE.match(t) or t in _ACHIEVED_WORDS:
        return "达成"
    return None


@lru_cache(maxsize=65536)
def parse_value(text: str | None) -> ParsedValue:
    """Read one target or actual text; unreadable text is kept, never guessed."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ParsedValue(None, None, None, None, False, None)
    t = normalize_text(text)
    if not t:
        return ParsedValue(None, None, None, None, False, text)
    if t in _ZERO_WORDS:
        return ParsedValue("=", 0.0, None, None, True, text)
    m = _NUMBER_RE.match(t)
    if m:
        pre, suf = m.group("pre"), m.group("suf")
        comparator = _PREFIX_COMPARATOR.get(pre or "") or _SUFFIX_COMPARATOR.get(suf or "")
        number = float(m.group("num"))
        unit = m.group("unit") or None
        if comparator is None and number == 0:
            comparator = "="  # a bare zero: see the module notes
        return ParsedValue(comparator, number, unit, None, True, text)
    level = _level_of(t)
    if level is not None:
        return ParsedValue(None, None, None, level, True, text)
    return ParsedValue(None, None, None, None, False, text)


_NAME_TARGET_RE = re.compile(rf"(?:{_prefix_alt})?\d+(?:\.\d+)?\D{{0,8}}$")
# Units a target in a name may carry: a name such as 指标3率 or 第3季度完成率 has
# digits that are no target.
NAME_TARGET_UNITS = frozenset({
    "%", "‰", "个", "件", "次", "人", "人次", "户", "家", "项", "所", "处", "起", "天", "日",
    "小时", "万元", "元", "亿元", "万", "场", "期", "名", "篇", "条", "份", "批", "座", "套",
    "台", "辆", "公里", "米", "平方米", "亩", "吨", "个工作日", "分钟",
})


@lru_cache(maxsize=65536)
def target_in_name(name: str | None) -> ParsedValue | None:
    """The number ending an indicator name (``消防隐患整治率 99%`` → 99%), if any."""
    if not name:
        return None
    t = normalize_text(name)
    m = _NAME_TARGET_RE.search(t)
    if not m or m.start() == 0:  # a name that is only a number is no name with a target
        return None
    pv = parse_value(m.group(0))
    if pv.number is None or pv.unit not in NAME_TARGET_UNITS:
        return None
    return pv


@lru_cache(maxsize=65536)
def parse_target(name: str | None, text: str | None) -> ParsedValue:
    """The target of an indicator: its text, or a number in its name when the text has none."""
    pv = parse_value(text)
    if pv.number is None:
        in_name = target_in_name(name)
        if in_name is not None:
            return ParsedValue(in_name.comparator, in_name.number, in_name.unit, pv.level,
                               True, text)
    return pv


def indicator_direction(name: str | None, comparator: str | None,
                        target_num: float | None = None) -> tuple[str, bool]:
    """('positive' | 'reverse', inferred).

    The comparator decides (``>= >`` positive, ``<= <`` reverse, ``= 0``
    reverse: nothing may happen). Otherwise the name decides and the result
    is marked inferred: a word of :data:`POSITIVE_WORDS` keeps it positive, a
    word of :data:`REVERSE_WORDS` makes it reverse, and positive is the default.
    """
    if comparator in (">=", ">"):
        return "positive", False
    if comparator in ("<=", "<"):
        return "reverse", False
    if comparator == "=" and target_num == 0:
        return "reverse", False
    return _direction_from_name(name or ""), True


@lru_cache(maxsize=65536)
def _direction_from_name(name: str) -> str:
    n = normalize_text(name) if name else ""
    if any(w in n for w in POSITIVE_WORDS):
        return "positive"
    if any(w in n for w in REVERSE_WORDS):
        return "reverse"
    return "positive"


# -- frames --------------------------------------------------------------------

PARSED_COLUMNS = ["comparator", "target_num", "target_unit", "target_level", "actual_num",
                  "actual_unit", "actual_level", "direction", "direction_inferred",
                  "target_readable", "actual_readable", "name_key", "ikey"]
# name_key / ikey: the indicator's name as the audit compares it within one
# evaluation and across years (rules.name_key, rules.indicator_key), derived
# once here so that reads never run a regular expression over every name.


def _val(x):
    return None if x is None or (not isinstance(x, str) and pd.isna(x)) else x


def parse_indicator_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Parsed columns (:data:`PARSED_COLUMNS`) for a frame of name/target_text/actual_text.

    Same rows in the same order, fresh RangeIndex. Each distinct (name,
    target_text) and each distinct actual_text is read once.
    """
    n = len(df)
    if n == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in PARSED_COLUMNS})
    from .rules import indicator_key, name_key

    # Distinct (name, target_text) pairs via integer codes: factorizing the
    # string columns one by one is far cheaper than grouping on object pairs.
    n_codes, n_uniques = pd.factorize(df["name"], use_na_sentinel=True)
    tt_codes, tt_uniques = pd.factorize(df["target_text"], use_na_sentinel=True)
    stride = len(tt_uniques) + 1
    t_codes, pair_keys = pd.factorize((n_codes.astype(np.int64) + 1) * stride + tt_codes + 1)
    t_rows = []
    for key in pair_keys:
        ni, ti = divmod(int(key), stride)
        name = _val(n_uniques[ni - 1]) if ni else None
        text = _val(tt_uniques[ti - 1]) if ti else None
        pv = parse_target(name, text)
        direction, inferred = indicator_direction(name, pv.comparator, pv.number)
        t_rows.append((pv.comparator, np.nan if pv.number is None else pv.number, pv.unit,
                       pv.level, direction, inferred, pv.readable))
    t = list(zip(*t_rows, strict=True))

    a_codes, a_uniques = pd.factorize(df["actual_text"], use_na_sentinel=True)
    a_parsed = [parse_value(_val(x)) for x in a_uniques]
    # One extra slot at the end for missing actuals (code -1 indexes it).
    a_parsed.append(ParsedValue(None, None, None, None, False, None))
    a_num = np.array([np.nan if p.number is None else p.number for p in a_parsed], dtype=float)
    a_unit = np.array([p.unit for p in a_parsed], dtype=object)
    a_level = np.array([p.level for p in a_parsed], dtype=object)
    a_readable = np.array([p.readable for p in a_parsed], dtype=bool)

    def take_t(k: int, dtype) -> np.ndarray:
        return np.asarray(t[k], dtype=dtype)[t_codes]

    # Explicit object Series: letting pandas infer its str dtype costs more
    # than all the parsing.
    columns = {
        "comparator": take_t(0, object),
        "target_num": take_t(1, float),
        "target_unit": take_t(2, object),
        "target_level": take_t(3, object),
        "actual_num": a_num[a_codes],
        "actual_unit": a_unit[a_codes],
        "actual_level": a_level[a_codes],
        "direction": take_t(4, object),
        "direction_inferred": take_t(5, bool),
        "target_readable": take_t(6, bool),
        "actual_readable": a_readable[a_codes],
        "name_key": np.array([name_key(_val(x)) for x in n_uniques] + [None],
                             dtype=object)[n_codes],
        "ikey": np.array([indicator_key(_val(x)) for x in n_uniques] + [None],
                         dtype=object)[n_codes],
    }
    return pd.DataFrame({k: pd.Series(v, dtype=v.dtype, copy=False) for k, v in columns.items()})


# -- ingest: parsed columns, stamped with the parser's version ------------------

# Bump whenever a change to this module reads some text differently: rows
# parsed by an older version are then re-derived by ``perfeval reparse``.
PARSER_VERSION = 1


def parse_frames(frames):
    """The import frames (store.Frames) with the parsed indicator columns
    (:data:`PARSED_COLUMNS`) and ``parser_version`` added: ingest calls this
    before Store.write, which stores what it is given and parses nothing."""
    ind = frames.children["indicators"]
    if "parser_version" in ind.columns:
        return frames
    parsed = parse_indicator_frame(ind[["name", "target_text", "actual_text"]])
    out = pd.concat([ind.reset_index(drop=True).drop(columns=PARSED_COLUMNS, errors="ignore"),
                     parsed.reset_index(drop=True)], axis=1)
    out["parser_version"] = PARSER_VERSION
    return type(frames)(frames.evaluations, {**frames.children, "indicators": out})


def reparse_store(store, *, everything: bool = False) -> dict:
    """Re-derive the parsed columns of indicators read by an older parser
    (``everything``: all indicators) and rescore their evaluations, in one
    transaction that bumps the generation. Returns counts and seconds."""
    import time

    from .scoring import schemes_in_use, score_tx

    start = time.perf_counter()
    cond = "TRUE" if everything else "coalesce(parser_version, 0) < ?"
    params = [] if everything else [PARSER_VERSION]
    with store.transaction() as cur:
        texts = cur.execute(
            f"SELECT DISTINCT name, target_text, actual_text FROM indicators WHERE {cond}",  # noqa: S608
            params).df()
        if texts.empty:
            return {"indicators": 0, "evaluations": 0, "scored": 0,
                    "parser_version": PARSER_VERSION,
                    "seconds": round(time.perf_counter() - start, 3)}
        parsed = pd.concat([texts, parse_indicator_frame(texts)], axis=1)
        ids = [int(x) for x in cur.execute(
            f"SELECT DISTINCT eval_id FROM indicators WHERE {cond}", params).df()["eval_id"]]  # noqa: S608
        cur.register("reparsed", parsed)
        sets = ", ".join(f"{c} = r.{c}" for c in PARSED_COLUMNS)
        n = cur.execute(f"""
            UPDATE indicators i SET {sets}, parser_version = ?
            FROM reparsed r
            WHERE i.name IS NOT DISTINCT FROM r.name
              AND i.target_text IS NOT DISTINCT FROM r.target_text
              AND i.actual_text IS NOT DISTINCT FROM r.actual_text
              AND {cond.replace('parser_version', 'i.parser_version')}""",  # noqa: S608
                        [PARSER_VERSION, *params]).fetchone()[0]
        cur.unregister("reparsed")
        store.mark_duplicates(cur, ids)  # read from the parsed actuals
        # Scores of every scheme in use are redone for the evaluations touched.
        schemes = schemes_in_use(cur)
        cur.execute("DELETE FROM indicator_scores WHERE list_contains(?, eval_id)", [ids])
        cur.execute("DELETE FROM eval_scores WHERE list_contains(?, eval_id)", [ids])
        scored = score_tx(cur, schemes, eval_ids=ids)
        store.bump_generation(cur)
    return {"indicators": int(n), "evaluations": len(ids), "scored": scored,
            "parser_version": PARSER_VERSION, "seconds": round(time.perf_counter() - start, 3)}
