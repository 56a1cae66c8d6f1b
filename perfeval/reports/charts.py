"""Charts of the summary report as PNG images (matplotlib, Agg).

Chinese labels use the Noto Sans CJK SC subset shipped in ``fonts/`` (SIL
Open Font License), so a chart renders the same on a fresh machine with no
CJK system font. Figures are built with ``matplotlib.figure.Figure`` (not
pyplot): no global state, safe in the dashboard's threads.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pandas as pd

from .. import rules

FONT_FILE = Path(__file__).parent / "fonts" / "NotoSansCJKsc-Regular-subset.otf"
GRADE_COLORS = {"优": "#2e7d32", "良": "#1565c0", "中": "#f9a825", "差": "#c62828"}
DPI = 150


@cache
def _font_name() -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(FONT_FILE))
    return font_manager.FontProperties(fname=str(FONT_FILE)).get_name()


def _figure(w: float = 8.0, h: float = 4.5):
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rcParams["font.family"] = [_font_name(), "DejaVu Sans"]
    rcParams["axes.unicode_minus"] = False  # the subset's hyphen, not U+2212
    return Figure(figsize=(w, h), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _short(name: str, n: int = 16) -> str:
    name = str(name).replace("（演示）", "")
    return name if len(name) <= n else name[: n - 1] + "…"


def ranking(df: pd.DataFrame, title: str) -> bytes:
    """Horizontal bars: computed score per department (colour = grade), ◆ self-score."""
    df = df.iloc[::-1]
    fig = _figure(8, max(3.0, 0.28 * len(df) + 1.2))
    ax = fig.subplots()
    y = range(len(df))
    colors = [GRADE_COLORS.get(rules.grade_of(t) if pd.notna(t) else "", "#9e9e9e")
              for t in df["total"]]
    ax.barh(list(y), df["total"].fillna(0), color=colors)
    ax.scatter(df["self_score"], list(y), marker="D", color="black", s=14, zorder=3,
               label="自评得分")
    ax.set_yticks(list(y), [_short(d) for d in df["department"]], fontsize=7)
    ax.set_xlim(0, 102)  # a self-score of 100 stays inside the frame
    ax.set_xlabel("计算得分（分）")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=7)
    return _png(fig)


def exec_vs_score(df: pd.DataFrame, title: str) -> bytes:
    """Scatter: execution rate (x) against computed score (y), the 90% line dashed."""
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    d = df.dropna(subset=["exec_rate", "total"])
    low = d["exec_rate"] < rules.LOW_EXEC_RATE
    ax.scatter(d.loc[~low, "exec_rate"] * 100, d.loc[~low, "total"], s=10, color="#1565c0",
               alpha=0.7, label=f"执行率 ≥ {rules.pct_text(rules.LOW_EXEC_RATE)}")
    ax.scatter(d.loc[low, "exec_rate"] * 100, d.loc[low, "total"], s=12, color="#c62828",
               alpha=0.8, label=f"执行率 < {rules.pct_text(rules.LOW_EXEC_RATE)}")
    ax.axvline(rules.LOW_EXEC_RATE * 100, color="#c62828", linestyle="--", linewidth=0.8)
    ax.set_xlabel("预算执行率（%）")
    ax.set_ylabel("计算得分（分）")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def grades(counts: dict[str, int], title: str) -> bytes:
    fig = _figure(6, 3.5)
    ax = fig.subplots()
    labels = list(rules.GRADE_ORDER)
    values = [int(counts.get(g, 0)) for g in labels]
    bars = ax.bar(labels, values, color=[GRADE_COLORS[g] for g in labels])
    ax.bar_label(bars, [f"{v} 个" for v in values], fontsize=8)
    ax.set_ylabel("评价数（个）")
    ax.set_title(title)
    ax.margins(y=0.15)
    return _png(fig)


def trend(df: pd.DataFrame, title: str) -> bytes:
    """Average computed and self score per year (left axis), execution rate (right)."""
    fig = _figure(8, 4)
    ax = fig.subplots()
    years = df["year"].astype(int).tolist()
    ax.plot(years, df["total"], marker="o", label="平均计算得分", color="#1565c0")
    ax.plot(years, df["self_score"], marker="D", label="平均自评得分", color="#6a1b9a")
    ax.set_ylabel("得分（分）")
    ax.set_xticks(years, [str(y) for y in years])
    ax2 = ax.twinx()
    ax2.plot(years, df["exec_rate"] * 100, marker="s", linestyle="--", color="#ef6c00",
             label="预算执行率（%）")
    ax2.set_ylabel("预算执行率（%）")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="lower left")
    ax.set_title(title)
    return _png(fig)
