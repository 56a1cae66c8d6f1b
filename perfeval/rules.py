"""The rules of the domain, each stated once (see docs/规则.md).

Thresholds, grade bands, the definition of "unmet", the key that makes two
years' indicators "the same", the execution-line fallback and units live
here. Scoring, the audit, the queries and the pages' texts read them from
here; the SQL fragments below are generated from the same values, so the
bulk SQL and the in-memory code cannot drift apart.
"""

from __future__ import annotations

import re

# The scoring scheme used unless one is chosen (财政部财预〔2020〕10号), and the
# evaluation scope the pages show first.
DEFAULT_SCHEME = "财预〔2020〕10号"
DEFAULT_SCOPE = "部门整体"

# -- grades (规则.md §等级) ------------------------------------------------------

# Grade bands of the default scheme: (lower bound, grade), highest first.
GRADE_BANDS: tuple[tuple[float, str], ...] = ((90.0, "优"), (80.0, "良"), (60.0, "中"), (0.0, "差"))
GRADE_ORDER: tuple[str, ...] = tuple(g for _, g in GRADE_BANDS)
# Totals are sums of thirds and the like: 89.99999999 counts as 90.
GRADE_TOLERANCE = 1e-6


def grade_of(total: float | None) -> str | None:
    if total is None:
        return None
    for cut, grade in GRADE_BANDS:
        if total + GRADE_TOLERANCE >= cut:
            return grade
    return GRADE_BANDS[-1][1]


def grade_sql(expr: str) -> str:
    """The same bands as a SQL CASE over ``expr`` (a fixed expression, never user text)."""
    whens = " ".join(f"WHEN {expr} + {GRADE_TOLERANCE!r} >= {cut!r} THEN '{g}'"
                     for cut, g in GRADE_BANDS[:-1])
    return f"(CASE {whens} ELSE '{GRADE_BANDS[-1][1]}' END)"


def grade_help() -> str:
    """The bands as UI text: 优 ≥90，良 ≥80，中 ≥60，差 <60."""
    parts = [f"{g} ≥{cut:g}" for cut, g in GRADE_BANDS[:-1]]
    return "，".join([*parts, f"{GRADE_BANDS[-1][1]} <{GRADE_BANDS[-2][0]:g}"])


# -- thresholds (规则.md §阈值) ---------------------------------------------------

# An evaluation whose 全年执行数 / 全年预算数 is below this is "low execution".
LOW_EXEC_RATE = 0.9
# Actual ≥ this × target: over-achieved (no extra points; the target was probably too low).
OVER_ACHIEVEMENT_RATIO = 1.3
# Self-score − computed score above this many points: 自评分虚高 (a 警告); above the hint, a 提示.
SCORE_GAP_WARN = 1.0
SCORE_GAP_HINT = 0.5
# The score command's summary counts self-scores more than this many points above.
SCORE_GAP_LARGE = 5.0


def pct_text(rate: float) -> str:
    """0.9 → '90%' for UI texts."""
    return f"{rate * 100:g}%"


def low_exec_text() -> str:
    """'低于 90%' — the low-execution label of pages and charts."""
    return f"低于 {pct_text(LOW_EXEC_RATE)}"


def over_text() -> str:
    """'≥130%' — the over-achievement label."""
    return f"≥{pct_text(OVER_ACHIEVEMENT_RATIO)}"


# -- unmet (规则.md §未完成) -------------------------------------------------------

# An indicator is unmet when the scoring judged it unmet (``met_computed``
# FALSE); where the scoring could not judge it (no score row), the report's own
# 完成/未完成 (``met``) decides. Scoring already falls back to ``met`` for
# indicators it cannot compare, so on scored rows both readings agree.


def is_unmet(met_computed: bool | None, met: bool | None) -> bool:
    return (met_computed if met_computed is not None else met) is False


def met_sql(scores: str, indicators: str | None = None) -> str:
    """The met status (TRUE/FALSE/NULL) as SQL over the aliases of
    indicator_scores and indicators (indicator_scores alone: scored rows)."""
    if indicators is None:
        return f"{scores}.met_computed"
    return f"coalesce({scores}.met_computed, {indicators}.met)"


def unmet_sql(scores: str, indicators: str | None = None) -> str:
    """SQL condition "unmet" (see :func:`met_sql`)."""
    return f"{met_sql(scores, indicators)} = FALSE"


# -- the same indicator in two years (规则.md §同一指标) ----------------------------

# Across years a target written into the name may change (矛盾纠纷调处率95% →
# 矛盾纠纷调处率99%): the key drops whitespace (incl. U+3000), digits (ASCII and
# full-width), decimal points and percent/permille signs. A name made only of
# those characters keeps itself as its key.
# Whitespace is spelt out: Python's \\s and DuckDB's (RE2) differ.
_KEY_RE = re.compile("[\t\n\f\r \u30000-9\uff10-\uff19.\uff0e%\uff05\u2030]+")
_KEY_SQL_CLASS = "[\\t\\n\\f\\r \\x{3000}0-9\\x{FF10}-\\x{FF19}.\\x{FF0E}%\\x{FF05}\\x{2030}]+"


def indicator_key(name: str | None) -> str | None:
    if name is None:
        return None
    return _KEY_RE.sub("", name) or name


def indicator_key_sql(col: str) -> str:
    """:func:`indicator_key` as SQL over the column expression ``col``."""
    return f"coalesce(nullif(regexp_replace({col}, '{_KEY_SQL_CLASS}', '', 'g'), ''), {col})"


# Within one evaluation two indicators are "the same" when their names match
# after removing whitespace only (DUPLICATE_INDICATOR).
_WS_RE = re.compile("[\t\n\f\r \u3000]+")


def name_key(name: str | None) -> str | None:
    return None if name is None else _WS_RE.sub("", name)


def name_key_sql(col: str) -> str:
    return f"regexp_replace({col}, '[\\t\\n\\f\\r \\x{{3000}}]+', '', 'g')"


# Two copies' actuals "read the same" when their keys match: the number as %g
# with its unit, else the qualitative level, else the text without whitespace.
ACTUAL_KEY_SQL = ("coalesce(printf('%g', actual_num) || coalesce(actual_unit, ''), actual_level, "
                  + name_key_sql("coalesce(actual_text, '')") + ")")


def duplicates_sql(src: str) -> str:
    """The later copies among the indicator rows ``src`` (a table or a
    subquery with eval_id, ind_id, seq, name_key and the parsed actual):
    ``ind_id``, ``dup_of`` (the seq of the first copy, lowest seq, which is the
    reference) and ``dup_conflict`` (its actual reads differently from the
    first's). Stored with each indicator when written (store.Store.write),
    so the audit counts duplicates without grouping every indicator."""
    return f"""
        WITH k AS MATERIALIZED (
            SELECT eval_id, ind_id, seq, name_key, {ACTUAL_KEY_SQL} AS akey
            FROM {src} WHERE name_key IS NOT NULL
        ), f AS (
            SELECT eval_id, name_key, min(seq) AS first_seq, arg_min(akey, seq) AS first_akey
            FROM k GROUP BY eval_id, name_key HAVING count(*) > 1
        )
        SELECT k.ind_id, f.first_seq AS dup_of, k.akey IS DISTINCT FROM f.first_akey AS dup_conflict
        FROM k JOIN f USING (eval_id, name_key)
        WHERE k.seq > f.first_seq"""  # noqa: S608 (fixed text; src is the caller's fixed name)


# -- execution rate (规则.md §预算执行率) ------------------------------------------

# The budget lines the execution rate is read from, first level that has a
# budget: 总预算; else 基本支出 + 项目支出 (project tables); else the funding
# sources 财政拨款 + 上年结转 + 其他资金. Rate = Σ 执行数 / Σ 预算数 of that level.
EXEC_LINE_LEVELS: tuple[tuple[str, ...], ...] = (
    ("total",), ("basic", "project"), ("fiscal", "carryover", "other"))


def exec_level_sql(col: str = "line") -> str:
    """Level (1, 2, 3) of a budget line in :data:`EXEC_LINE_LEVELS`, as SQL."""
    whens = " ".join(
        f"WHEN {col} IN ({', '.join(repr(x) for x in lines)}) THEN {k}"
        for k, lines in enumerate(EXEC_LINE_LEVELS, 1))
    return f"(CASE {whens} END)"


def exec_rate_sql(scores: str = "s") -> str:
    """Execution rate aggregated over several scored evaluations (eval_scores alias):
    Σ 执行数 / Σ 预算数 of each evaluation's chosen lines, evaluations with a rate only.
    For one evaluation it is its ``exec_rate``."""
    return (f"(sum({scores}.exec_executed) FILTER ({scores}.exec_rate IS NOT NULL)"
            f" / nullif(sum({scores}.exec_budget) FILTER ({scores}.exec_rate IS NOT NULL), 0))")


# -- units (规则.md §单位) ---------------------------------------------------------

# 元 per 万元: amounts are stored in 万元.
YUAN_PER_WAN = 10_000
# Units that count as one when a target and an actual are compared.
UNIT_CANON = {"万元": "万", "亿元": "亿"}


def units_compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or UNIT_CANON.get(a, a) == UNIT_CANON.get(b, b)


def unit_canon_sql(col: str) -> str:
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in UNIT_CANON.items())
    return f"(CASE {col} {cases} ELSE {col} END)"
