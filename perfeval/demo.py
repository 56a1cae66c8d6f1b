"""Deterministic synthetic demo data.

Every department name ends in （演示） and every row carries the demo flag, so
demo data is never mistaken for a real office's. The spreads are set to look
like real submissions: most indicators met, some unmet with plausible
shortfalls, execution mostly 85–100 % with a few low ones, some goals with no
效益 or 满意度 indicator or with a single indicator, and some departments
whose self-score runs a few points above what their indicators support.

Generation is vectorised (numpy/pandas) and written through ``Store.write``
in chunks, so ``--scale 10000000`` stays a matter of minutes, not hours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .store import EVAL_COLUMNS, FRAME_COLUMNS, Frames, Store
from .values import parse_frames

YEARS = list(range(2019, 2025))
DEFAULT_DEPARTMENTS = 30
INDICATORS_PER_EVAL = 80  # ~10 goals × ~8 indicators

REGIONS = ["云溪区", "松岭区", "青湾区", "石桥县"]
STREETS = ["青松", "白鹭", "望湖", "杏林", "晓月", "丰泽", "桂香", "银杉", "明湖", "临江",
           "枫桥", "翠竹"]
BUREAUS = ["教育局", "民政局", "卫生健康局", "城市管理执法局", "生态环境分局", "文化和旅游局",
           "住房和城乡建设局", "人力资源和社会保障局", "交通运输局", "应急管理局",
           "市场监督管理局", "退役军人事务局"]
GROUPS = ["妇女联合会", "共青团委员会", "残疾人联合会", "科学技术协会", "工商业联合会",
          "红十字会"]

GOAL_NAMES = ["运行管理经费", "社区治理经费", "公共安全经费", "民生保障经费", "环境卫生治理经费",
              "城市管理经费", "党建综合事务经费", "疫情防控经费", "就业服务经费", "文化活动经费",
              "信息化建设经费", "基础设施维护经费", "志愿服务经费", "安全生产经费"]

# (category, subcategory, name, comparator, values to draw the target from, unit,
#  reverse?). A comparator of '' with unit '' is a qualitative target (完成).
INDICATOR_LIBRARY = [
    ("产出", "数量指标", "网格巡查次数", "≥", (600, 800, 1200), "次", False),
    ("产出", "数量指标", "培训人次", "≥", (200, 300, 500), "人次", False),
    ("产出", "数量指标", "新增就业人数", "≥", (100, 150, 300), "人", False),
    ("产出", "数量指标", "维修道路面积", "≥", (2000, 5000), "平方米", False),
    ("产出", "数量指标", "开展宣传活动", "≥", (10, 12, 20), "场", False),
    ("产出", "数量指标", "完成立案", "", (), "", False),
    ("产出", "质量指标", "案件办结率", "≥", (90, 95, 98), "%", False),
    ("产出", "质量指标", "数据准确率", "", (100,), "%", False),
    ("产出", "质量指标", "工程验收合格率", "", (100,), "%", False),
    ("产出", "质量指标", "低保应保尽保率", "", (100,), "%", False),
    ("产出", "质量指标", "信访积案化解率", "≥", (80, 90, 100), "%", False),
    ("产出", "时效指标", "资金拨付及时率", "≥", (95, 100), "%", False),
    ("产出", "时效指标", "按时完成率", "≥", (90, 95), "%", False),
    ("产出", "成本指标", "单位运行成本", "≤", (50, 80, 120), "万元", True),
    ("产出", "数量指标", "做好共青团组织管理", "", (), "", False),
    ("效益", "社会效益指标", "群众知晓率", "≥", (85, 90), "%", False),
    ("效益", "社会效益指标", "重复信访发生率", "≤", (3, 5), "%", True),
    ("效益", "社会效益指标", "安全事故发生次数", "≤", (0, 1), "次", True),
    ("效益", "社会效益指标", "消防隐患整治率", "≥", (95, 99), "%", False),
    ("效益", "生态效益指标", "垃圾清运率", "≥", (98, 100), "%", False),
    ("效益", "可持续影响指标", "长效管理机制", "", (), "", False),
    ("效益", "经济效益指标", "带动就业增收", "", (), "", False),
    ("满意度", "服务对象满意度指标", "居民满意度", "≥", (85, 90, 95), "%", False),
    ("满意度", "服务对象满意度指标", "服务对象满意度", "≥", (85, 90), "%", False),
    ("满意度", "服务对象满意度指标", "投诉办理满意率", "≥", (90, 95), "%", False),
]

PROBLEMS = ["部分项目预算编制不够精准，执行进度前慢后快。", "绩效指标设置偏少，部分目标只有一个指标。",
            "个别指标难以量化，考核依据不足。", "部分工程受天气影响，进度滞后。",
            "资金支付流程较长，影响执行率。", "基层人员业务能力有待提升。"]
MEASURES = ["加强预算编制论证，提高预算精准度。", "完善绩效指标体系，增加产出和满意度指标。",
            "加强绩效运行监控，及时纠偏。", "加快项目实施进度，按月通报执行情况。",
            "开展绩效管理业务培训。"]
LOW_EXEC_REASONS = ["部分项目因政策调整暂缓实施。", "工程结算尚未完成，资金未支付。"]


def department_table(n: int) -> pd.DataFrame:
    """n fictional departments, deterministic, names unique and marked （演示）."""
    pools = [("街道", [s + "街道办事处" for s in STREETS]), ("委局", BUREAUS), ("群团", GROUPS)]
    seen: dict[str, int] = {}
    rows = []
    for i in range(n):
        region = REGIONS[i % len(REGIONS)]
        kind, pool = pools[i % 3]
        base = f"{region}{pool[(i // 3) % len(pool)]}"
        seen[base] = seen.get(base, 0) + 1
        suffix = f"第{seen[base]}分部" if seen[base] > 1 else ""
        rows.append((f"{base}{suffix}（演示）", region, kind))
    return pd.DataFrame(rows, columns=["department", "region", "kind"])


def generate(departments: int | pd.DataFrame = DEFAULT_DEPARTMENTS, *, years=YEARS,
             seed: int = 2024, indicators_per_eval: int = INDICATORS_PER_EVAL) -> Frames:
    """Frames for ``departments`` (a count, or rows of :func:`department_table`)."""
    rng = np.random.default_rng(seed)
    depts = (department_table(departments) if isinstance(departments, int)
             else departments.reset_index(drop=True))
    n_years = len(years)
    n_eval = len(depts) * n_years
    ev = pd.DataFrame({
        "ekey": np.arange(n_eval),
        "department": np.repeat(depts["department"].to_numpy(), n_years),
        "region": np.repeat(depts["region"].to_numpy(), n_years),
        "kind": np.repeat(depts["kind"].to_numpy(), n_years),
        "year": np.tile(np.asarray(years), len(depts)),
        "scope": "部门整体", "project": "", "source_name": "演示数据", "checksum": None,
        "is_demo": True,
    })
    # Department traits: a quality level (share of unmet indicators) and an
    # inflation habit (self-score above what the indicators support).
    # A few struggling departments pull the grades apart (良, 中, some 差).
    quality = np.repeat(np.where(rng.random(len(depts)) < 0.15, rng.beta(5, 6, len(depts)),
                                 rng.beta(2, 14, len(depts))), n_years)
    inflates = np.repeat(rng.random(len(depts)) < 0.3, n_years)

    # Goals: 6–14 per evaluation; indicators spread over goals.
    goals_per_eval = rng.integers(6, 15, n_eval)
    g_ekey = np.repeat(ev["ekey"].to_numpy(), goals_per_eval)
    g_no = _ranks(g_ekey)
    n_goals = len(g_ekey)
    # Some goals get a single indicator, most 4–12 (mean ≈ indicators_per_eval / 10).
    mean_per_goal = max(1, indicators_per_eval // 10)
    per_goal = np.where(rng.random(n_goals) < 0.12, 1,
                        rng.integers(max(1, mean_per_goal - 4), mean_per_goal + 5, n_goals))
    goal_name_idx = (g_no - 1 + g_ekey) % len(GOAL_NAMES)
    goals = pd.DataFrame({"ekey": g_ekey, "goal_no": g_no,
                          "name": np.asarray(GOAL_NAMES)[goal_name_idx],
                          "expected": None, "achieved": None})

    # Indicators: the first of each goal is 产出; the rest draw a category
    # (some goals thereby lack 效益 or 满意度, as real ones do).
    i_goal = np.repeat(np.arange(n_goals), per_goal)
    i_ekey = g_ekey[i_goal]
    first_in_goal = np.r_[True, i_goal[1:] != i_goal[:-1]]
    lib = pd.DataFrame(INDICATOR_LIBRARY, columns=["category", "subcategory", "name", "cmp",
                                                   "values", "unit", "reverse"])
    by_cat = {c: np.flatnonzero(lib["category"].to_numpy() == c) for c in ("产出", "效益", "满意度")}
    n_ind = len(i_goal)
    cat_draw = rng.choice(3, n_ind, p=[0.62, 0.25, 0.13])
    cat_draw[first_in_goal] = 0
    lib_idx = np.empty(n_ind, dtype=np.int64)
    for c, cat in enumerate(("产出", "效益", "满意度")):
        mask = cat_draw == c
        lib_idx[mask] = rng.choice(by_cat[cat], mask.sum())
    # Same name twice in one goal would be a duplicate row: shift the repeat.
    ind = lib.iloc[lib_idx].reset_index(drop=True)
    ind["ekey"] = i_ekey
    ind["goal_no"] = g_no[i_goal]
    ind["seq"] = _ranks(i_ekey)
    ind = ind.drop_duplicates(["ekey", "goal_no", "name"]).reset_index(drop=True)
    ind["seq"] = _ranks(ind["ekey"].to_numpy())
    n_ind = len(ind)

    # Targets.
    pick = rng.random(n_ind)
    target_val = np.array([v[int(p * len(v))] if v else np.nan
                           for v, p in zip(ind["values"], pick, strict=True)])
    qualitative = ind["cmp"].eq("") & ind["unit"].eq("")
    num_txt = pd.Series(target_val).map(lambda x: "" if np.isnan(x) else f"{x:g}")
    # "≥100%" reads oddly: a full target is written plainly, as units do.
    cmp = ind["cmp"].where(~((target_val == 100) & ind["unit"].eq("%")), "")
    ind["target_text"] = np.where(qualitative, np.where(pick < 0.5, "完成", "有效控制"),
                                  cmp + num_txt + ind["unit"])

    # Actuals: met or not by department quality.
    unmet = rng.random(n_ind) < quality[ind["ekey"].to_numpy()]
    reverse = ind["reverse"].to_numpy()
    tv = np.nan_to_num(target_val, nan=0.0)
    over = rng.random(n_ind) < 0.04
    met_val = np.where(reverse, tv * rng.uniform(0.5, 1.0, n_ind),
                       np.where(over, tv * rng.uniform(1.3, 1.6, n_ind),
                                tv * rng.uniform(1.0, 1.08, n_ind)))
    is_pct = ind["unit"].eq("%").to_numpy()
    met_val = np.where(is_pct & ~reverse, np.minimum(met_val, 100.0), met_val)
    miss_val = np.where(reverse, np.maximum(tv, 1) * rng.uniform(1.2, 2.0, n_ind),
                        tv * rng.uniform(0.3, 0.97, n_ind))
    actual_val = np.where(unmet, miss_val, met_val)
    actual_val = np.where(is_pct, np.round(actual_val, 1), np.round(actual_val))
    act_txt = pd.Series(actual_val).map(lambda x: f"{x:g}")
    qual_actual = np.where(unmet, np.where(rng.random(n_ind) < 0.5, "部分完成", "未完成"), "已完成")
    ind["actual_text"] = np.where(qualitative, qual_actual, act_txt + ind["unit"])
    ind["met"] = ~unmet
    ind["reason"] = np.where(unmet, "受客观因素影响未达预期，下一步加强督办。", None)
    ind["weight"] = np.nan
    ind["score"] = np.nan
    ind["source_text"] = None

    # Budget: execution mostly 85–100 %, some exactly 100 %, a few low.
    kind_scale = ev["kind"].map({"街道": 5000.0, "委局": 9000.0, "群团": 600.0}).to_numpy()
    total = np.round(kind_scale * rng.uniform(0.5, 1.6, n_eval), 2)
    basic_share = rng.uniform(0.3, 0.5, n_eval)
    rate = np.where(rng.random(n_eval) < 0.25, 1.0,
                    np.where(rng.random(n_eval) < 0.08, rng.uniform(0.55, 0.85, n_eval),
                             rng.uniform(0.88, 1.0, n_eval)))
    basic = np.round(total * basic_share, 2)
    project = np.round(total - basic, 2)
    basic_exec = np.round(basic * np.minimum(1.0, rate + 0.02), 2)
    project_exec = np.round(project * rate, 2)
    low = rate < 0.9
    reason = np.where(low & (rng.random(n_eval) < 0.6),
                      rng.choice(LOW_EXEC_REASONS, n_eval), None)
    budget = pd.concat([
        pd.DataFrame({"ekey": ev["ekey"], "line": "total", "budget": np.round(basic + project, 2),
                      "executed": np.round(basic_exec + project_exec, 2), "reason": reason}),
        pd.DataFrame({"ekey": ev["ekey"], "line": "basic", "budget": basic,
                      "executed": basic_exec, "reason": None}),
        pd.DataFrame({"ekey": ev["ekey"], "line": "project", "budget": project,
                      "executed": project_exec, "reason": None}),
    ], ignore_index=True).assign(initial=np.nan, weight=np.nan, score=np.nan)

    # Self-score: roughly what the indicators support, plus the habit.
    unmet_share = pd.Series(unmet).groupby(ind["ekey"]).mean().reindex(ev["ekey"]).fillna(0)
    # An unmet indicator keeps about half its weight on average (partial credit).
    supported = 100 - 10 * (1 - np.minimum(rate, 1)) - 40 * unmet_share.to_numpy()
    self_score = supported + np.where(inflates, rng.uniform(2, 6, n_eval), rng.uniform(-1, 1, n_eval))
    ev["self_score"] = np.clip(np.round(self_score * 2) / 2, 0, 100)

    findings = _texts(rng, ev["ekey"].to_numpy())
    empty = {t: pd.DataFrame(columns=FRAME_COLUMNS[t]) for t in ("schedule", "unparsed")}
    # Ready to write: the texts parsed as every import parses them.
    return parse_frames(Frames(ev.reindex(columns=EVAL_COLUMNS), {
        "budget_lines": budget[FRAME_COLUMNS["budget_lines"]],
        "goals": goals[FRAME_COLUMNS["goals"]],
        "indicators": ind[FRAME_COLUMNS["indicators"]],
        "findings": findings,
        **empty,
    }))


def _ranks(keys: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal (sorted) keys."""
    starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(keys)])
    return np.arange(len(keys)) - np.repeat(starts, lengths) + 1


def _texts(rng, ekeys: np.ndarray) -> pd.DataFrame:
    parts = []
    for kind, pool in (("problem", PROBLEMS), ("measure", MEASURES)):
        k = rng.integers(1, 4, len(ekeys))
        e = np.repeat(ekeys, k)
        seq = _ranks(e)
        start = np.repeat(rng.integers(0, len(pool), len(ekeys)), k)
        parts.append(pd.DataFrame({"ekey": e, "kind": kind, "seq": seq,
                                   "text": np.asarray(pool)[(start + seq) % len(pool)]}))
    return pd.concat(parts, ignore_index=True)[FRAME_COLUMNS["findings"]]


# Indicators one generated evaluation holds on average (measured: goals of
# 1–12 indicators, minus repeated names within a goal).
MEASURED_INDICATORS_PER_EVAL = 64


def departments_for_scale(indicator_rows: int, years: int = len(YEARS)) -> int:
    return max(DEFAULT_DEPARTMENTS,
               round(indicator_rows / (years * MEASURED_INDICATORS_PER_EVAL)))


def build_demo(store: Store, *, scale: int | None = None, seed: int = 2024,
               with_sample: bool = True, chunk_departments: int = 2000) -> dict:
    """Fill ``store`` with the demo set; return counts. Chunks of departments
    keep memory flat at large scales (each chunk is one transaction, with its
    own seed, so the result depends only on scale and seed)."""
    n = departments_for_scale(scale) if scale else DEFAULT_DEPARTMENTS
    depts = department_table(n)
    written = 0
    for start in range(0, n, chunk_departments):
        frames = generate(depts.iloc[start:start + chunk_departments], seed=seed + start)
        store.write(frames, imported_by="demo")
        written += len(frames.children["indicators"])
    if with_sample:
        written += import_sample(store)
    return {"departments": n + (1 if with_sample else 0), "indicators": written}


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "ronghua-2022.txt"


def import_sample(store: Store) -> int:
    """The one real department: the reference report, read by the report parser."""
    from .ingest.report import read_report

    ev = read_report(SAMPLE)
    ev.is_demo = False  # a real report: shown without the 演示数据 badge
    store.write([ev], imported_by="demo")
    return sum(len(g.indicators) for g in ev.goals)
