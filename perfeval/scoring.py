"""Scoring: schemes, indicator and evaluation scores, explanations, bulk scores.

One place for the scoring rules (docs/规则.md; thresholds, grade bands,
units and the execution-line fallback come from :mod:`perfeval.rules`).
Two paths compute the same figures:

- in memory, on a :class:`~perfeval.model.Evaluation` (the report parser and
  the audit use it): :func:`score_evaluation`, :func:`score_indicator`,
  :func:`explain`;
- in bulk over the store, in DuckDB SQL: :func:`score_tx` inside a write's
  transaction (Store.write and Store.restore score what they make current),
  :func:`score_store` for the command line. Reads never score.
  ``tests/test_scoring.py`` checks with hypothesis that both paths agree.

Rules (each a field of :class:`Scheme`):

- Weights: 预算执行率 ``exec_weight`` (10); the 一级指标 weights
  (产出 50, 效益 30, 满意度 10) are spread over the indicators ``spread``:
  ``category`` evenly over each category's indicators in the evaluation,
  ``goal`` each goal an equal share and within it as ``category``, ``all``
  every indicator an equal share of the pool (10+90).
- A category with no indicators (``empty_category``): ``redistribute`` (the
  default) gives its weight to the categories present, in proportion to
  their weights, so the maximum stays 100; ``shrink`` drops it, so the
  maximum falls below 100. With ``goal`` the same applies within each goal.
  An indicator whose category is none of 产出/效益/满意度 weighs 0.
- Source weights win: when every indicator of an evaluation has its 分值,
  those are the weights (``weight_basis`` 'source'); the execution weight is
  then the 总预算 line's 分值 (or any budget line's) when below 100; when
  there is none, or it is the form's 100 written on the budget block (鄂州
  2021 form), the execution weight is 0 if the indicator 分值 already sum to
  100 (execution is then scored as an indicator, 预算执行率), else
  ``exec_weight``.
  If they sum above 100 the indicator weights are scaled down to fit (the
  raw sum is kept in ``source_weight_sum`` for the audit); below 100 the
  maximum shrinks.
- Execution: 10 × min(B/A, 1) from the lines of rules.EXEC_LINE_LEVELS:
  the ``total`` (总预算) line; without one (project tables), the sum of
  基本支出 + 项目支出, else the sum of the funding-source lines (财政拨款,
  上年结转, 其他资金). No budget → rate NULL, execution score 0. The sums
  are stored (``exec_budget``, ``exec_executed``) so that queries aggregate
  the same lines.
- Indicator, in this order:
  1. numeric target and actual in the same unit (or one without a unit;
     万 and 万元 count as one): positive → w × min(actual/target, 1);
     reverse → full if actual ≤ target, else w × max(0, 1 − (actual −
     target)/target); a target ≤ 0 scores full only when met (``= 0``: only
     actual ≤ 0). Strict comparators (``>``, ``<``) score like ``>=``,
     ``<=``: the official formula has no case for the boundary. A positive
     actual ≥ rules.OVER_ACHIEVEMENT_RATIO (130 %) of its target scores full and is flagged
     ``over_achieved`` (reverse indicators are never flagged: zero
     accidents against "≤ 3" is no target set too low);
  2. a qualitative actual (达成 / 部分达成 / 未达成): the band's default
     share (1.0 / 0.7 / 0.3), or the source's 得分/分值 when it falls inside
     the band;
  3. nothing comparable, but the source says met → full; unmet → the
     未达成 default (0.3);
  4. nothing at all → ``unreadable_share`` (0: points that cannot be
     checked are not given).
- Total = execution score + Σ indicator scores; grade by rules.GRADE_BANDS
  (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, else 差, with rules.GRADE_TOLERANCE so that
  89.99999999 from summing thirds counts as 90). Gap = self-reported score − total
  (positive: the self-score is higher than the indicators support).

Tables (store migration 3), keyed by (eval_id, scheme). eval_ids never
change (a re-import is a new eval_id), so stored scores never go stale;
``scheme_hash`` catches a scheme whose rules changed in code.

``eval_scores``: eval_id, scheme, scheme_hash, exec_rate (B/A or NULL),
exec_budget and exec_executed (A and B: the sums of the chosen lines),
exec_weight, exec_score, output_weight, output_score, effect_weight,
effect_score, satisfaction_weight, satisfaction_score (weight = points
available in the category), max_score (exec_weight + Σ indicator weights,
100 unless a category is shrunk), total, grade (优/良/中/差), self_score,
gap (self_score − total), indicator_count, unmet_count (indicators found
unmet), over_count (over-achieved), unreadable_count (rule 'unreadable'),
weight_basis ('scheme' | 'source'), source_weight_sum (Σ 分值 as reported,
when used), computed_at.

``indicator_scores``: ind_id, eval_id, scheme, weight, score, lost
(weight − score), rule ('positive' | 'reverse' | 'band' | 'met' | 'unmet' |
'unreadable'), over_achieved, met_computed (TRUE/FALSE as scored, NULL
when nothing could be judged), and the reported figures against the rule's,
which the audit counts without reading the indicators again: reported_gap
(填报得分 − the rule's points, for a reported score of a non-band rule),
reported_in_band (a qualitative indicator's reported share lies in its
level's band), met_overstated (reported 完成, scored unmet).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

import pandas as pd

from . import rules
from .model import CATEGORIES, BudgetLine, Evaluation, Indicator, PerfevalError
from .rules import DEFAULT_SCHEME, grade_of, units_compatible
from .values import indicator_direction, parse_target, parse_value

# --------------------------------------------------------------------------
# Schemes
# --------------------------------------------------------------------------

SPREADS = ("category", "goal", "all")
EMPTY_CATEGORY = ("redistribute", "shrink")
GRADES = rules.GRADE_BANDS
# Part of every scheme's fingerprint: bump when the bulk rules or the
# eval_scores columns change, so stored scores are redone.
SCORING_VERSION = 3
# Source 分值 summing to at least this hold all 100 points by themselves.
SOURCE_FULL = 99.5
# Band of each qualitative level: (lowest share, highest share, default share).
DEFAULT_BANDS = {"达成": (0.8, 1.0, 1.0), "部分达成": (0.6, 0.8, 0.7), "未达成": (0.0, 0.6, 0.3)}
CATEGORY_COLUMNS = {"产出": "output", "效益": "effect", "满意度": "satisfaction"}


@dataclass(frozen=True)
class Scheme:
    name: str
    label: str
    exec_weight: float = 10.0
    category_weights: Mapping[str, float] = field(
        default_factory=lambda: {"产出": 50.0, "效益": 30.0, "满意度": 10.0})
    spread: str = "category"  # one of SPREADS
    empty_category: str = "redistribute"  # one of EMPTY_CATEGORY
    bands: Mapping[str, tuple[float, float, float]] = field(
        default_factory=lambda: dict(DEFAULT_BANDS))
    over_ratio: float = rules.OVER_ACHIEVEMENT_RATIO
    unreadable_share: float = 0.0

    def __post_init__(self):
        if self.spread not in SPREADS or self.empty_category not in EMPTY_CATEGORY:
            raise PerfevalError(f"评分方案 {self.name} 的设置无效")
        if set(self.category_weights) - set(CATEGORIES) or set(self.bands) != set(DEFAULT_BANDS):
            raise PerfevalError(f"评分方案 {self.name} 的一级指标或档位无效")

    @property
    def pool(self) -> float:
        """Points the indicators share (90 under every built-in scheme)."""
        return float(sum(self.category_weights.values()))

    def cat_weight(self, category: str) -> float:
        return float(self.category_weights.get(category, 0.0))

    @property
    def fingerprint(self) -> str:
        """Changes whenever a rule of the scheme changes (stored scores are then redone)."""
        body = json.dumps({**asdict(self), "category_weights": dict(self.category_weights),
                           "bands": dict(self.bands), "version": SCORING_VERSION},
                          sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    Scheme(DEFAULT_SCHEME, "财政部财预〔2020〕10号：执行率10、产出50、效益30、满意度10，"
                           "各类权重在本评价该类指标间平均分配"),
    Scheme("goals-even", "每个年度目标（项目）平分90分，目标内按产出50、效益30、满意度10的比例"
                         "在各类指标间平均分配", spread="goal"),
    Scheme("10+90", "四川做法：执行率10分，全部指标平分90分", spread="all"),
)}


def get_scheme(name: str | None = None) -> Scheme:
    scheme = SCHEMES.get(name or DEFAULT_SCHEME)
    if scheme is None:
        raise PerfevalError(f"未知的评分方案：{name}（可选：{'、'.join(SCHEMES)}）")
    return scheme


# --------------------------------------------------------------------------
# One indicator
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class IndicatorResult:
    weight: float
    score: float
    share: float  # score / weight, in [0, 1]
    rule: str  # positive | reverse | band | met | unmet | unreadable
    over_achieved: bool
    met_computed: bool | None

    @property
    def lost(self) -> float:
        return self.weight - self.score


def score_share(*, direction: str, target_num: float | None, actual_num: float | None,
                target_unit: str | None = None, actual_unit: str | None = None,
                actual_level: str | None = None, met: bool | None = None,
                reported_share: float | None = None,
                scheme: Scheme | None = None) -> tuple[float, str, bool, bool | None]:
    """(share of the weight kept, rule, over_achieved, met_computed) for one indicator."""
    scheme = scheme or get_scheme()
    if (target_num is not None and actual_num is not None
            and units_compatible(target_unit, actual_unit)):
        if direction == "reverse":
            if actual_num <= target_num:
                share = 1.0
            elif target_num <= 0:
                share = 0.0
            else:
                share = max(0.0, 1.0 - (actual_num - target_num) / target_num)
            return share, "reverse", False, share >= 1.0
        if actual_num >= target_num:
            share = 1.0
        elif target_num <= 0:
            share = 0.0
        else:
            share = max(0.0, actual_num / target_num)
        over = target_num > 0 and actual_num >= scheme.over_ratio * target_num
        return share, "positive", bool(over), share >= 1.0
    if actual_level is not None:
        low, high, default = scheme.bands[actual_level]
        if reported_share is not None and low <= reported_share <= high:
            share = reported_share
        else:
            share = default
        return share, "band", False, actual_level == "达成"
    if met is True:
        return 1.0, "met", False, True
    if met is False:
        return scheme.bands["未达成"][2], "unmet", False, False
    return scheme.unreadable_share, "unreadable", False, None


def score_indicator(indicator: Indicator, weight: float,
                    scheme: Scheme | None = None) -> IndicatorResult:
    """Score one indicator of the model with the given weight."""
    t = parse_target(indicator.name, indicator.target)
    a = parse_value(indicator.actual)
    direction, _ = indicator_direction(indicator.name, t.comparator, t.number)
    reported = None
    if indicator.score is not None and indicator.weight:
        if indicator.weight > 0:
            reported = indicator.score / indicator.weight
    share, rule, over, met = score_share(
        direction=direction, target_num=t.number, actual_num=a.number, target_unit=t.unit,
        actual_unit=a.unit, actual_level=a.level, met=indicator.met, reported_share=reported,
        scheme=scheme)
    return IndicatorResult(weight, weight * share, share, rule, over, met)


# --------------------------------------------------------------------------
# One evaluation, in memory
# --------------------------------------------------------------------------


def indicator_weights(ev: Evaluation, scheme: Scheme | None = None) -> tuple[list[float], str]:
    """Each indicator's weight (in ``ev.indicators`` order) and the basis ('scheme'|'source')."""
    scheme = scheme or get_scheme()
    pairs = ev.indicators
    if not pairs:
        return [], "scheme"
    if all(i.weight is not None for _, i in pairs):
        src = [max(float(i.weight), 0.0) for _, i in pairs]
        total = sum(src)
        exec_w = execution_weight(ev, scheme, "source")
        if exec_w + total > 100 and total > 0:
            scale = (100 - exec_w) / total
            src = [w * scale for w in src]
        return src, "source"
    cats = [i.category for _, i in pairs]
    if scheme.spread == "all":
        n = len(pairs)
        return [scheme.pool / n for _ in pairs], "scheme"
    if scheme.spread == "category":
        count = Counter(cats)
        present = sum(scheme.cat_weight(c) for c in count)
        out = []
        for c in cats:
            w = scheme.cat_weight(c)
            if scheme.empty_category == "redistribute":
                out.append(w * scheme.pool / present / count[c] if present > 0 else 0.0)
            else:
                out.append(w / count[c])
        return out, "scheme"
    # spread == "goal": goals with indicators share the pool equally.
    keys = [(g.no, i.category) for g, i in pairs]
    count = Counter(keys)
    goals = {g.no for g, _ in pairs}
    present = {no: sum(scheme.cat_weight(c) for (n2, c) in count if n2 == no) for no in goals}
    share = scheme.pool / len(goals)
    out = []
    for (no, c) in keys:
        w = scheme.cat_weight(c)
        if scheme.empty_category == "redistribute":
            within = w / present[no] if present[no] > 0 else 0.0
        else:
            within = w / scheme.pool if scheme.pool > 0 else 0.0
        out.append(share * within / count[(no, c)])
    return out, "scheme"


def _execution_lines(ev: Evaluation) -> list[BudgetLine]:
    """The budget lines the execution rate is read from (see module notes)."""
    for level in rules.EXEC_LINE_LEVELS:
        lines = [b for b in ev.budget if b.line in level]
        if any(b.budget is not None for b in lines):
            return lines
    return []


def execution_rate(ev: Evaluation) -> float | None:
    lines = _execution_lines(ev)
    budget = sum(b.budget for b in lines if b.budget is not None)
    executed = [b.executed for b in lines if b.executed is not None]
    if not lines or budget <= 0 or not executed:
        return None
    return sum(executed) / budget


def execution_weight(ev: Evaluation, scheme: Scheme, basis: str) -> float:
    """The execution rate's weight (see the module notes on source weights)."""
    if basis == "source":
        totals = [b.weight for b in ev.budget if b.line == "total" and b.weight is not None]
        anys = [b.weight for b in ev.budget if b.weight is not None]
        chosen = max(totals) if totals else (max(anys) if anys else None)
        if chosen is not None and chosen < 100:
            return max(float(chosen), 0.0)
        # No line 分值, or the form's 100 written on the budget block: when the
        # indicators already hold the 100 points, execution is one of them.
        src_sum = sum(max(float(i.weight), 0.0) for _, i in ev.indicators)
        if src_sum >= SOURCE_FULL:
            return 0.0
    return min(max(float(scheme.exec_weight), 0.0), 100.0)


@dataclass
class ScoredIndicator:
    goal_no: int
    goal: str
    category: str
    name: str
    target: str | None
    actual: str | None
    result: IndicatorResult
    reason: str


@dataclass
class EvaluationScore:
    scheme: str
    exec_rate: float | None
    exec_weight: float
    exec_score: float
    category_weights: dict[str, float]
    category_scores: dict[str, float]
    max_score: float
    total: float
    grade: str
    self_score: float | None
    gap: float | None
    weight_basis: str
    source_weight_sum: float | None
    indicators: list[ScoredIndicator]

    @property
    def unmet_count(self) -> int:
        return sum(1 for s in self.indicators if s.result.met_computed is False)

    @property
    def over_count(self) -> int:
        return sum(1 for s in self.indicators if s.result.over_achieved)

    def to_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "indicators"}
        d["unmet_count"] = self.unmet_count
        d["over_count"] = self.over_count
        return d


def score_evaluation(ev: Evaluation, scheme: Scheme | str | None = None) -> EvaluationScore:
    """Score an evaluation held in memory (no store needed)."""
    scheme = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
    weights, basis = indicator_weights(ev, scheme)
    exec_w = execution_weight(ev, scheme, basis)
    rate = execution_rate(ev)
    exec_score = exec_w * min(max(rate, 0.0), 1.0) if rate is not None else 0.0
    scored = []
    cat_w = {c: 0.0 for c in CATEGORIES}
    cat_s = {c: 0.0 for c in CATEGORIES}
    for (goal, ind), w in zip(ev.indicators, weights, strict=True):
        r = score_indicator(ind, w, scheme)
        scored.append(ScoredIndicator(goal.no, goal.name, ind.category, ind.name, ind.target,
                                      ind.actual, r, _reason(ind, r)))
        if ind.category in cat_w:
            cat_w[ind.category] += w
            cat_s[ind.category] += r.score
    total = exec_score + sum(s.result.score for s in scored)
    src_sum = (sum(max(float(i.weight), 0.0) for _, i in ev.indicators)
               if basis == "source" else None)
    return EvaluationScore(
        scheme=scheme.name, exec_rate=rate, exec_weight=exec_w, exec_score=exec_score,
        category_weights=cat_w, category_scores=cat_s, max_score=exec_w + sum(weights),
        total=total, grade=grade_of(total), self_score=ev.self_score,
        gap=None if ev.self_score is None else ev.self_score - total,
        weight_basis=basis, source_weight_sum=src_sum, indicators=scored)


# --------------------------------------------------------------------------
# Explanations
# --------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _reason(ind: Indicator, r: IndicatorResult) -> str:
    t = parse_target(ind.name, ind.target)
    a = parse_value(ind.actual)
    unit = t.unit or a.unit or ""
    kept = f"保留 {r.share:.0%} 分值"
    if r.rule == "positive":
        if r.over_achieved:
            return (f"实际 {_fmt(a.number)}{unit} 达目标 {_fmt(t.number)}{unit} 的 "
                    f"{rules.pct_text(rules.OVER_ACHIEVEMENT_RATIO)} 以上（超额，目标可能偏低）")
        if r.share >= 1:
            return f"实际 {_fmt(a.number)}{unit} 达到目标 {_fmt(t.number)}{unit}"
        return f"实际 {_fmt(a.number)}{unit} 低于目标 {_fmt(t.number)}{unit}，{kept}"
    if r.rule == "reverse":
        if r.share >= 1:
            return f"实际 {_fmt(a.number)}{unit} 未超过目标 {_fmt(t.number)}{unit}（反向指标）"
        return f"反向指标实际 {_fmt(a.number)}{unit} 超过目标 {_fmt(t.number)}{unit}，{kept}"
    if r.rule == "band":
        return f"定性评价“{ind.actual}”属{a.level}档，{kept}"
    if r.rule == "met":
        return "实际值无法与目标比较，按来源注明的“已完成”计满分"
    if r.rule == "unmet":
        return f"实际值无法与目标比较，来源注明未完成，按未达成档默认{kept}"
    return f"实际值无法读取且来源未说明是否完成，{kept}"


@dataclass
class LostPoint:
    kind: str  # execution | indicator
    category: str | None
    goal_no: int | None
    goal: str | None
    indicator: str | None
    weight: float
    score: float
    lost: float
    rule: str
    reason: str


def explain(es: EvaluationScore, *, min_lost: float = 1e-9) -> list[LostPoint]:
    """Every point lost, execution first, then by category, goal and indicator."""
    out = []
    if es.exec_weight - es.exec_score > min_lost:
        reason = ("无预算执行数据，执行率不得分" if es.exec_rate is None else
                  f"预算执行率 {es.exec_rate:.2%}，得分 = {_fmt(es.exec_weight)} × 执行率")
        out.append(LostPoint("execution", None, None, None, "预算执行率", es.exec_weight,
                             es.exec_score, es.exec_weight - es.exec_score, "execution", reason))
    order = {c: k for k, c in enumerate(CATEGORIES)}
    items = sorted((s for s in es.indicators if s.result.lost > min_lost),
                   key=lambda s: (order.get(s.category, 9), s.goal_no))
    out.extend(LostPoint("indicator", s.category, s.goal_no, s.goal, s.name, s.result.weight,
                         s.result.score, s.result.lost, s.result.rule, s.reason) for s in items)
    return out


def format_explanation(ev: Evaluation, es: EvaluationScore) -> str:
    lines = [
        f"{ev.department.name} {ev.year} 年度 {ev.scope}{(' ' + ev.project) if ev.project else ''}"
        f"（方案：{es.scheme}）",
        f"计算得分 {_fmt(es.total)} / {_fmt(es.max_score)}，等级 {es.grade}；"
        f"自评得分 {_fmt(es.self_score)}，差额 {_fmt(es.gap)}",
        f"预算执行 {_fmt(es.exec_score)} / {_fmt(es.exec_weight)}；" + "；".join(
            f"{c} {_fmt(es.category_scores[c])} / {_fmt(es.category_weights[c])}"
            for c in CATEGORIES),
    ]
    lost = explain(es)
    if not lost:
        lines.append("未失分。")
    for p in lost:
        where = "预算执行" if p.kind == "execution" else f"{p.category} · 目标{p.goal_no} {p.goal} · {p.indicator}"
        lines.append(f"  -{p.lost:.2f}  {where}：{p.reason}（{_fmt(p.score)} / {_fmt(p.weight)}）")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Bulk, in DuckDB
# --------------------------------------------------------------------------

# One statement computes every score of the evaluations in temp table
# score_todo. Fragments vary only by scheme settings (never user text);
# numbers are bound parameters.
#
# A scheme weight depends only on the group its spread names ('category':
# evaluation × category; 'goal': evaluation × goal × category; 'all': the
# evaluation) and a source weight on a per-evaluation scale, so weights are
# computed on those groups and joined back once, on integer keys (category as
# a 1/2/3 code): the 10-million-row side sees one narrow join. ``ind`` is not
# materialised: scanning its columns twice is cheaper than writing them once.
_WEIGHT_SQL = {
    ("category", "redistribute"): "ec.cw * $pool / nullif(ev.present_e, 0) / ec.n_ec",
    ("category", "shrink"): "ec.cw / ec.n_ec",
    ("goal", "redistribute"): "($pool / ev.n_goals) * (g.cw / nullif(gg.present_g, 0)) / g.n_egc",
    ("goal", "shrink"): "($pool / ev.n_goals) * (g.cw / nullif($pool, 0)) / g.n_egc",
    ("all", "redistribute"): "$pool / ev.n_e",
    ("all", "shrink"): "$pool / ev.n_e",
}

_IND_SQL = """
CREATE OR REPLACE TEMP TABLE score_ind AS
WITH ind AS NOT MATERIALIZED (
    SELECT i.ind_id, i.eval_id, i.goal_no, i.direction, i.target_num,
           i.actual_num, i.target_unit, i.actual_unit, i.actual_level, i.met,
           i.weight AS src_w, i.score AS src_score,
           CASE i.category WHEN '产出' THEN 1 WHEN '效益' THEN 2 WHEN '满意度' THEN 3
                           ELSE 0 END::UTINYINT AS cat,
           CASE i.category WHEN '产出' THEN $w_output WHEN '效益' THEN $w_effect
                           WHEN '满意度' THEN $w_satisfaction ELSE 0.0 END AS cw
    FROM indicators i SEMI JOIN score_todo t USING (eval_id)
),"""

_EXEC_W_SQL = """CASE WHEN e.n_src = e.n_e AND b.exec_w_src < 100 THEN greatest(b.exec_w_src, 0.0)
                WHEN e.n_src = e.n_e AND e.src_sum >= $source_full THEN 0.0
                ELSE least(greatest($exec_weight, 0.0), 100.0) END AS exec_w"""
_SCALE_SQL = """CASE WHEN ev.exec_w + ev.src_sum > 100 AND ev.src_sum > 0
                THEN (100 - ev.exec_w) / ev.src_sum ELSE 1.0 END AS src_scale"""

# spread → (CTEs ending in gw, the keys gw is joined on)
_GROUP_SQL = {
    "category": ("""
grp_ec AS (
    SELECT eval_id, cat, any_value(cw) AS cw, count(*) AS n_ec,
           count(src_w) AS n_src, sum(greatest(src_w, 0.0)) AS src_sum
    FROM ind GROUP BY eval_id, cat
),
ev AS (
    SELECT e.eval_id, e.n_e, e.n_src = e.n_e AS from_source, e.src_sum, e.present_e, {exec_w}
    FROM (SELECT eval_id, sum(n_ec) AS n_e, sum(n_src) AS n_src, sum(src_sum) AS src_sum,
                 sum(cw) AS present_e
          FROM grp_ec GROUP BY eval_id) e
    LEFT JOIN score_bud b USING (eval_id)
),
gw AS (
    SELECT ec.eval_id, ec.cat, ev.from_source, ev.src_sum, ev.exec_w, {scale},
           coalesce({weight_expr}, 0.0) AS scheme_w
    FROM grp_ec ec JOIN ev USING (eval_id)
),""", "eval_id, cat"),
    "all": ("""
ev AS (
    SELECT e.eval_id, e.n_e, e.n_src = e.n_e AS from_source, e.src_sum, {exec_w}
    FROM (SELECT eval_id, count(*) AS n_e, count(src_w) AS n_src,
                 sum(greatest(src_w, 0.0)) AS src_sum
          FROM ind GROUP BY eval_id) e
    LEFT JOIN score_bud b USING (eval_id)
),
gw AS (
    SELECT ev.eval_id, ev.from_source, ev.src_sum, ev.exec_w, {scale},
           coalesce({weight_expr}, 0.0) AS scheme_w
    FROM ev
),""", "eval_id"),
    "goal": ("""
grp AS (
    SELECT eval_id, goal_no, cat, any_value(cw) AS cw, count(*) AS n_egc,
           count(src_w) AS n_src, sum(greatest(src_w, 0.0)) AS src_sum
    FROM ind GROUP BY eval_id, goal_no, cat
),
grp_g AS (SELECT eval_id, goal_no, sum(cw) AS present_g FROM grp GROUP BY ALL),
ev AS (
    SELECT e.eval_id, e.n_e, e.n_src = e.n_e AS from_source, e.src_sum, gn.n_goals, {exec_w}
    FROM (SELECT eval_id, sum(n_egc) AS n_e, sum(n_src) AS n_src, sum(src_sum) AS src_sum
          FROM grp GROUP BY eval_id) e
    JOIN (SELECT eval_id, count(*) AS n_goals FROM grp_g GROUP BY eval_id) gn USING (eval_id)
    LEFT JOIN score_bud b USING (eval_id)
),
gw AS (
    SELECT g.eval_id, g.goal_no, g.cat, ev.from_source, ev.src_sum, ev.exec_w, {scale},
           coalesce({weight_expr}, 0.0) AS scheme_w
    FROM grp g JOIN ev USING (eval_id) JOIN grp_g gg USING (eval_id, goal_no)
),""", "eval_id, goal_no, cat"),
}

_SCORE_SQL = """
weighted AS (
    SELECT ind.*, gw.from_source, gw.src_sum, gw.exec_w,
           CASE WHEN gw.from_source THEN greatest(ind.src_w, 0.0) * gw.src_scale
                ELSE gw.scheme_w END AS weight,
           ind.target_num IS NOT NULL AND ind.actual_num IS NOT NULL
             AND (ind.target_unit IS NULL OR ind.actual_unit IS NULL
                  OR {canon_t} = {canon_a}) AS numeric,
           CASE WHEN ind.src_w > 0 AND ind.src_score IS NOT NULL
                THEN ind.src_score / ind.src_w END AS reported_share
    FROM ind JOIN gw USING ({keys})
),
shared AS (
    SELECT *,
        reported_share BETWEEN
            (CASE actual_level WHEN '达成' THEN $b1_lo WHEN '部分达成' THEN $b2_lo ELSE $b3_lo END)
            AND (CASE actual_level WHEN '达成' THEN $b1_hi WHEN '部分达成' THEN $b2_hi
                                   ELSE $b3_hi END) AS in_band,
        CASE
          WHEN numeric AND direction = 'reverse' THEN
            CASE WHEN actual_num <= target_num THEN 1.0
                 WHEN target_num <= 0 THEN 0.0
                 ELSE greatest(0.0, 1.0 - (actual_num - target_num) / target_num) END
          WHEN numeric THEN
            CASE WHEN actual_num >= target_num THEN 1.0
                 WHEN target_num <= 0 THEN 0.0
                 ELSE greatest(0.0, actual_num / target_num) END
          WHEN actual_level IS NOT NULL THEN
            CASE WHEN in_band THEN reported_share
                 ELSE CASE actual_level WHEN '达成' THEN $b1_def WHEN '部分达成' THEN $b2_def
                                        ELSE $b3_def END END
          WHEN met THEN 1.0
          WHEN NOT met THEN $b3_def
          ELSE $unreadable END AS share,
        CASE WHEN numeric AND direction = 'reverse' THEN 'reverse'
             WHEN numeric THEN 'positive'
             WHEN actual_level IS NOT NULL THEN 'band'
             WHEN met THEN 'met' WHEN NOT met THEN 'unmet'
             ELSE 'unreadable' END AS rule
    FROM weighted
)
SELECT *, met AND NOT met_computed AS met_overstated
FROM (
    SELECT ind_id, eval_id, cat, weight, weight * share AS score,
           weight - weight * share AS lost, rule, met,
           coalesce(rule = 'positive' AND target_num > 0
                    AND actual_num >= $over_ratio * target_num, FALSE) AS over_achieved,
           CASE WHEN rule IN ('positive', 'reverse') THEN share >= 1.0
                WHEN rule = 'band' THEN actual_level = '达成'
                WHEN rule IN ('met', 'unmet') THEN met END AS met_computed,
           -- The reported score against the rule's, for the audit
           -- (REPORTED_SCORE_MISMATCH, QUALITATIVE_OUT_OF_BAND).
           CASE WHEN rule <> 'band' AND reported_share IS NOT NULL AND weight > 0
                THEN src_score - share * src_w END AS reported_gap,
           CASE WHEN rule = 'band' THEN in_band END AS reported_in_band,
           from_source, src_sum, exec_w
    FROM shared
)
"""

_BUDGET_SQL = """
CREATE OR REPLACE TEMP TABLE score_bud AS
WITH lv AS (
    SELECT b.eval_id, b.line, b.budget, b.executed, b.weight, {level} AS level
    FROM budget_lines b JOIN score_todo t USING (eval_id)
),
chosen AS (
    SELECT eval_id, min(level) FILTER (WHERE budget IS NOT NULL) AS level
    FROM lv GROUP BY eval_id
)
SELECT lv.eval_id,
       sum(lv.budget) FILTER (WHERE lv.level = c.level AND lv.budget IS NOT NULL) AS a,
       sum(lv.executed) FILTER (WHERE lv.level = c.level) AS b,
       coalesce(max(lv.weight) FILTER (WHERE lv.line = 'total'), max(lv.weight)) AS exec_w_src
FROM lv LEFT JOIN chosen c USING (eval_id)
GROUP BY lv.eval_id
""".replace("{level}", rules.exec_level_sql("b.line"))

_EVAL_SQL = """
INSERT INTO eval_scores BY NAME
WITH agg AS (
    SELECT eval_id,
           sum(weight) AS ind_weight, sum(score) AS ind_score, count(*) AS indicator_count,
           sum(weight) FILTER (WHERE cat = 1) AS output_weight,
           sum(score) FILTER (WHERE cat = 1) AS output_score,
           sum(weight) FILTER (WHERE cat = 2) AS effect_weight,
           sum(score) FILTER (WHERE cat = 2) AS effect_score,
           sum(weight) FILTER (WHERE cat = 3) AS satisfaction_weight,
           sum(score) FILTER (WHERE cat = 3) AS satisfaction_score,
           count(*) FILTER (WHERE met_computed = FALSE) AS unmet_count,
           count(*) FILTER (WHERE over_achieved) AS over_count,
           count(*) FILTER (WHERE rule = 'unreadable') AS unreadable_count,
           bool_and(from_source) AS from_source, any_value(src_sum) AS src_sum,
           any_value(exec_w) AS exec_w
    FROM score_ind GROUP BY eval_id
),
base AS (
    SELECT t.eval_id, t.self_score,
           CASE WHEN b.a > 0 AND b.b IS NOT NULL THEN b.b / b.a END AS exec_rate,
           b.a AS exec_budget, b.b AS exec_executed,
           coalesce(a.exec_w, least(greatest($exec_weight, 0.0), 100.0)) AS exec_weight,
           a.*
    FROM score_todo t LEFT JOIN score_bud b USING (eval_id) LEFT JOIN agg a USING (eval_id)
),
totals AS (
    SELECT *,
           CASE WHEN exec_rate IS NULL THEN 0.0
                ELSE exec_weight * least(greatest(exec_rate, 0.0), 1.0) END AS exec_score
    FROM base
)
SELECT eval_id, $scheme AS scheme, $scheme_hash AS scheme_hash, exec_rate, exec_budget,
       exec_executed, exec_weight, exec_score,
       coalesce(output_weight, 0.0) AS output_weight, coalesce(output_score, 0.0) AS output_score,
       coalesce(effect_weight, 0.0) AS effect_weight, coalesce(effect_score, 0.0) AS effect_score,
       coalesce(satisfaction_weight, 0.0) AS satisfaction_weight,
       coalesce(satisfaction_score, 0.0) AS satisfaction_score,
       exec_weight + coalesce(ind_weight, 0.0) AS max_score,
       exec_score + coalesce(ind_score, 0.0) AS total,
       {grade} AS grade,
       self_score, self_score - (exec_score + coalesce(ind_score, 0.0)) AS gap,
       coalesce(indicator_count, 0) AS indicator_count, coalesce(unmet_count, 0) AS unmet_count,
       coalesce(over_count, 0) AS over_count, coalesce(unreadable_count, 0) AS unreadable_count,
       CASE WHEN coalesce(from_source, FALSE) THEN 'source' ELSE 'scheme' END AS weight_basis,
       CASE WHEN coalesce(from_source, FALSE) THEN src_sum END AS source_weight_sum,
       $now AS computed_at
FROM totals
""".replace("{grade}", rules.grade_sql("(exec_score + coalesce(ind_score, 0.0))"))

_INDICATOR_INSERT_SQL = """
INSERT INTO indicator_scores BY NAME
SELECT ind_id, eval_id, $scheme AS scheme, weight, score, lost, rule, over_achieved, met_computed,
       reported_gap, reported_in_band, met_overstated
FROM score_ind
"""


def _bulk_sql(scheme: Scheme) -> str:
    groups, keys = _GROUP_SQL[scheme.spread]
    groups = groups.format(exec_w=_EXEC_W_SQL, scale=_SCALE_SQL,
                           weight_expr=_WEIGHT_SQL[(scheme.spread, scheme.empty_category)])
    score = _SCORE_SQL.format(keys=keys, canon_t=rules.unit_canon_sql("ind.target_unit"),
                              canon_a=rules.unit_canon_sql("ind.actual_unit"))
    return _IND_SQL + groups + score


def _bulk_params(scheme: Scheme) -> dict:
    b = scheme.bands
    return {
        "pool": scheme.pool, "exec_weight": float(scheme.exec_weight),
        "w_output": scheme.cat_weight("产出"), "w_effect": scheme.cat_weight("效益"),
        "w_satisfaction": scheme.cat_weight("满意度"),
        "b1_lo": b["达成"][0], "b1_hi": b["达成"][1], "b1_def": b["达成"][2],
        "b2_lo": b["部分达成"][0], "b2_hi": b["部分达成"][1], "b2_def": b["部分达成"][2],
        "b3_lo": b["未达成"][0], "b3_hi": b["未达成"][1], "b3_def": b["未达成"][2],
        "unreadable": float(scheme.unreadable_share), "over_ratio": float(scheme.over_ratio),
        "source_full": SOURCE_FULL,
    }


def _used(sql: str, params: dict) -> dict:
    """DuckDB rejects named parameters a statement does not use."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


_MISSING_SQL = """
        SELECT e.eval_id, e.self_score FROM cur_evaluations e
        WHERE NOT EXISTS (SELECT 1 FROM eval_scores s
                          WHERE s.eval_id = e.eval_id AND s.scheme = ? AND s.scheme_hash = ?)"""


def missing_count(store, scheme: Scheme | str | None = None) -> int:
    scheme = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
    df = store.query_df(f"SELECT count(*) AS n FROM ({_MISSING_SQL})",  # noqa: S608 (fixed text)
                        [scheme.name, scheme.fingerprint])
    return int(df["n"].iloc[0])


def schemes_in_use(cur) -> list[Scheme]:
    """The default scheme and every known scheme that has stored scores."""
    names = [r[0] for r in cur.execute("SELECT DISTINCT scheme FROM eval_scores").fetchall()]
    return [get_scheme(), *(SCHEMES[n] for n in sorted(names)
                            if n in SCHEMES and n != DEFAULT_SCHEME)]


def score_tx(cur, schemes: Scheme | str | list | None = None, *,
             eval_ids: list[int] | None = None, recompute: bool = False) -> int:
    """Score, on ``cur`` inside the caller's write transaction, the current
    evaluations lacking scores (of ``eval_ids`` only, when given) under each
    of ``schemes`` (default: :func:`schemes_in_use`); return how many
    (evaluation, scheme) pairs were scored.

    Rows of older rule versions (another ``scheme_hash``) are replaced;
    ``recompute`` replaces all of the schemes' rows.
    """
    if schemes is None:
        schemes = schemes_in_use(cur)
    elif not isinstance(schemes, list):
        schemes = [schemes]
    done = 0
    for scheme in schemes:
        scheme = scheme if isinstance(scheme, Scheme) else get_scheme(scheme)
        done += _score_scheme(cur, scheme, eval_ids, recompute)
    return done


def _score_scheme(cur, scheme: Scheme, eval_ids, recompute: bool) -> int:
    params = _bulk_params(scheme)
    bulk = _bulk_sql(scheme)
    stale = "" if recompute else "AND s.scheme_hash <> ?"
    only = "" if eval_ids is None else "AND list_contains(?::BIGINT[], s.eval_id)"
    ids = [] if eval_ids is None else [[int(x) for x in eval_ids]]
    stale_params = [scheme.name, *([] if recompute else [scheme.fingerprint]), *ids]
    cur.execute(f"DELETE FROM indicator_scores WHERE (eval_id, scheme) IN ("  # noqa: S608
                f"SELECT eval_id, scheme FROM eval_scores s WHERE s.scheme = ? {stale} {only})",
                stale_params)
    cur.execute(f"DELETE FROM eval_scores s WHERE s.scheme = ? {stale} {only}",  # noqa: S608
                stale_params)
    todo = _MISSING_SQL + ("" if eval_ids is None else " AND list_contains(?::BIGINT[], e.eval_id)")
    todo_params = [scheme.name, scheme.fingerprint, *ids]
    cur.execute(f"CREATE OR REPLACE TEMP TABLE score_todo AS {todo}", todo_params)  # noqa: S608
    n = int(cur.execute("SELECT count(*) FROM score_todo").fetchone()[0])
    if n:
        cur.execute(_BUDGET_SQL)
        cur.execute(bulk, _used(bulk, params))
        cur.execute(_INDICATOR_INSERT_SQL, {"scheme": scheme.name})
        eval_params = {**params, "scheme": scheme.name, "scheme_hash": scheme.fingerprint,
                       "now": datetime.now()}
        cur.execute(_EVAL_SQL, _used(_EVAL_SQL, eval_params))
    for t in ("score_ind", "score_bud", "score_todo"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return n


def score_store(store, scheme_name: str | Scheme | None = None, *,
                recompute: bool = False) -> int:
    """Score every current evaluation lacking scores under the scheme; return how many.

    One transaction (it bumps the generation); ``recompute`` replaces all of
    the scheme's rows.
    """
    scheme = scheme_name if isinstance(scheme_name, Scheme) else get_scheme(scheme_name)
    if store.read_only:
        raise PerfevalError("数据库以只读方式打开，无法写入评分结果。")
    with store.transaction() as cur:
        n = _score_scheme(cur, scheme, None, recompute)
        if n:
            store.bump_generation(cur)
        return n


def ensure_scores(store, scheme_name: str | Scheme | None = None) -> int:
    """Score what is missing (one cheap count when nothing is); return how many were scored.

    A write: for the command line and the writer's start (:func:`rescore_stale`),
    never for a read path. A read-only store is left as it is (returns 0).
    """
    scheme = scheme_name if isinstance(scheme_name, Scheme) else get_scheme(scheme_name)
    if store.read_only or missing_count(store, scheme) == 0:
        return 0
    return score_store(store, scheme)


def rescore_stale(store) -> int:
    """When a store is opened read-write: score what lacks scores under the
    schemes in use (after a migration or a change of rules in code)."""
    cur = store.cursor()
    try:
        schemes = schemes_in_use(cur)
    finally:
        cur.close()
    return sum(ensure_scores(store, s) for s in schemes)


def explain_stored(store, eval_id: int, scheme_name: str | None = None
                   ) -> tuple[EvaluationScore, list[LostPoint]]:
    """Score and lost points of one stored evaluation (for the dashboard's waterfall).

    Computed in memory from the stored rows; the bulk tables hold the same
    figures (tests/test_scoring.py checks that both paths agree).
    """
    es = score_evaluation(store.load(eval_id), get_scheme(scheme_name))
    return es, explain(es)


def current_scores(store, scheme_name: str | None = None) -> pd.DataFrame:
    """eval_scores of the current evaluations with department, year, scope, project."""
    scheme = get_scheme(scheme_name)
    return store.query_df("""
        SELECT e.department, e.region, e.kind, e.year, e.scope, e.project, s.*
        FROM cur_evaluations e JOIN eval_scores s USING (eval_id)
        WHERE s.scheme = ? ORDER BY e.department, e.year, e.scope, e.project""", [scheme.name])


def score_summary(store, scheme_name: str | Scheme | None = None) -> dict:
    """Current evaluations under the scheme: count, grades (rules.GRADE_ORDER),
    mean total, self-score and gap, and how many self-scores exceed the total
    by more than rules.SCORE_GAP_LARGE."""
    scheme = scheme_name if isinstance(scheme_name, Scheme) else get_scheme(scheme_name)
    grades = ", ".join(f"count(*) FILTER (WHERE grade = '{g}') AS \"{g}\""
                       for g in rules.GRADE_ORDER)
    row = store.query_df(f"""
        SELECT count(*) AS evaluations, avg(total) AS mean_total,
               avg(s.self_score) AS mean_self, avg(s.gap) AS mean_gap,
               count(*) FILTER (WHERE gap > ?) AS inflated, {grades}
        FROM cur_evaluations e JOIN eval_scores s USING (eval_id)
        WHERE s.scheme = ?""", [rules.SCORE_GAP_LARGE, scheme.name]).iloc[0]  # noqa: S608

    def num(x):
        return None if pd.isna(x) else round(float(x), 2)

    return {"scheme": scheme.name, "evaluations": int(row["evaluations"]),
            "grades": {g: int(row[g]) for g in rules.GRADE_ORDER},
            "mean_total": num(row["mean_total"]), "mean_self_score": num(row["mean_self"]),
            "mean_gap": num(row["mean_gap"]), "self_score_5_plus_above": int(row["inflated"])}


def bench_scoring(store, scheme_name: str | None = None) -> dict:
    """Seconds to score every current evaluation from scratch (all rows replaced)."""
    scheme = get_scheme(scheme_name)
    counts = store.query_df("""
        SELECT count(DISTINCT e.eval_id) AS evaluations, count(i.ind_id) AS indicators
        FROM cur_evaluations e LEFT JOIN indicators i USING (eval_id)""")
    start = time.perf_counter()
    n = score_store(store, scheme, recompute=True)
    seconds = time.perf_counter() - start
    return {"scheme": scheme.name, "evaluations": n,
            "indicators": int(counts["indicators"].iloc[0]), "seconds": round(seconds, 3)}


__all__ = [
    "DEFAULT_SCHEME", "SCHEMES", "Scheme", "get_scheme", "grade_of", "score_share",
    "score_indicator", "indicator_weights", "execution_rate", "score_evaluation", "explain",
    "format_explanation", "score_store", "score_tx", "ensure_scores", "rescore_stale",
    "missing_count", "current_scores", "schemes_in_use", "score_summary",
    "bench_scoring", "EvaluationScore", "IndicatorResult", "LostPoint",
    "explain_stored",
]
