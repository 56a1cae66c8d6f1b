"""Plotly figure builders: Chinese titles, axis labels and units; red for
unmet or low, green for met, one blue for neutral figures. Every figure that
shows departments puts the department name first in ``customdata`` (see
:mod:`perfeval.ui.links`). Builders take aggregated frames only.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from perfeval import rules

RED = "#C0392B"
GREEN = "#2E8B57"
BLUE = "#2F5D8A"
LIGHT_BLUE = "#9DB7D5"
ORANGE = "#D68910"
GREY = "#8A94A6"
GRADE_COLORS = {"优": GREEN, "良": BLUE, "中": ORANGE, "差": RED}
LOW_EXEC = rules.LOW_EXEC_RATE

def esc(values):
    """Data texts as Plotly labels: Plotly renders a subset of HTML (``<a href>``,
    ``<b>``, ``<br>``) in tick labels, hover texts, legends and titles and
    decodes only a few entities (``&lt;`` ``&gt;`` ``&amp;``, numeric ones; not
    ``&quot;``), so ``<`` ``>`` ``&`` are escaped and quotes left. ``customdata`` keeps
    the raw names (click-through reads it; it is only shown through escaped
    ``%{y}``/``%{text}`` fields)."""
    if isinstance(values, str):
        return html.escape(values, quote=False)
    return [html.escape(v, quote=False) if isinstance(v, str) else v for v in values]


_FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, title: str, *, height: int = 420, x: str = "", y: str = "",
            legend: bool = True) -> go.Figure:
    fig.update_layout(title={"text": esc(title), "x": 0, "xanchor": "left", "y": 0.98,
                             "yanchor": "top"}, height=height,
                      margin={"l": 10, "r": 10, "t": 80 if legend else 60, "b": 40}, font={"family": _FONT},
                      showlegend=legend,
                      # Under the title, not beside it: on a narrow screen the two collide.
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom",
                              "x": 0, "xanchor": "left", "title": None},
                      hoverlabel={"font": {"family": _FONT}})
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return fig


def ranking_bar(df: pd.DataFrame, title: str) -> go.Figure:
    """Departments by computed score (bar, coloured by grade) with the self-score marked."""
    df = df.iloc[::-1]  # plotly draws the first category at the bottom
    colors = [GRADE_COLORS.get(g, GREY) if isinstance(g, str) else GREY for g in df["grade"]]
    custom = df[["department"]].to_numpy()
    fig = go.Figure()
    fig.add_bar(x=df["total"], y=esc(df["department"]), orientation="h", name="计算得分",
                marker_color=colors, customdata=custom,
                hovertemplate="%{y}<br>计算得分 %{x:.2f} 分<extra></extra>")
    fig.add_scatter(x=df["self_score"], y=esc(df["department"]), mode="markers", name="自评得分",
                    marker={"symbol": "diamond", "size": 10, "color": "#1F2933",
                            "line": {"width": 1, "color": "white"}},
                    customdata=custom, hovertemplate="%{y}<br>自评得分 %{x:.1f} 分<extra></extra>")
    low = max(0.0, min(60.0, float(pd.concat([df["total"], df["self_score"]]).min() or 0) - 5))
    fig.update_xaxes(range=[low, 101])
    return _layout(fig, title, height=max(320, 24 * len(df) + 120), x="得分（分）")


# Points a scatter is given at most. Each is an SVG node that Plotly restyles
# on every redraw (perfeval.ui.plot's plotly.js has no WebGL): at
# 1,500 points a filter change on 总览 took 0.15–0.2 s longer than at 500.
SCATTER_POINTS = 500


def exec_score_scatter(df: pd.DataFrame, title: str) -> go.Figure:
    low = df["exec_rate"] < LOW_EXEC
    fig = go.Figure()
    for mask, name, color in ((~low, f"执行率≥{rules.pct_text(LOW_EXEC)}", BLUE), (low, f"执行率<{rules.pct_text(LOW_EXEC)}", RED)):
        part = df[mask]
        fig.add_scatter(x=part["exec_rate"] * 100, y=part["total"], mode="markers", name=name,
                          marker={"color": color, "size": 9, "opacity": 0.8},
                          customdata=part[["department"]].to_numpy(), text=esc(part["department"]),
                          hovertemplate="%{text}<br>执行率 %{x:.1f}%<br>计算得分 %{y:.2f} 分"
                                        "<extra></extra>")
    fig.add_vline(x=LOW_EXEC * 100, line_dash="dot", line_color=GREY)
    return _layout(fig, title, x="预算执行率（%）", y="计算得分（分）")


def budget_bars(df: pd.DataFrame, title: str) -> go.Figure:
    """Per department: budget and executed side by side, each split into 基本支出 and 项目支出."""
    df = df.iloc[::-1]
    custom = df[["department"]].to_numpy()
    fig = go.Figure()
    parts = (("预算·基本支出", "basic_budget", None, "budget", "#C9D6E8"),
             ("预算·项目支出", "project_budget", "basic_budget", "budget", LIGHT_BLUE),
             ("执行·基本支出", "basic_executed", None, "executed", "#5B8DB8"),
             ("执行·项目支出", "project_executed", "basic_executed", "executed", BLUE))
    for name, col, base, group, color in parts:
        fig.add_bar(y=esc(df["department"]), x=df[col].fillna(0), orientation="h", name=name,
                    base=None if base is None else df[base].fillna(0), offsetgroup=group,
                    marker_color=color, customdata=custom,
                    hovertemplate=f"%{{y}}<br>{name} %{{x:,.2f}} 万元<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickformat=",.0f")  # 14,000, not plotly's SI "14k"
    return _layout(fig, title, height=max(360, 34 * len(df) + 120), x="金额（万元）")


def exec_heatmap(df: pd.DataFrame, title: str) -> go.Figure:
    """Department × year execution rates. Plotly reports no selection on a
    heatmap, so an invisible square marker sits on each cell: a click on a
    cell selects that marker and opens the department (customdata)."""
    wide = df.pivot(index="department", columns="year", values="exec_rate") * 100
    xs = [f"{int(y)}年" for y in wide.columns]
    fig = go.Figure(go.Heatmap(
        z=wide.to_numpy(), x=xs, y=esc(wide.index),
        zmin=70, zmax=100, zmid=LOW_EXEC * 100,
        colorscale=[[0, RED], [0.5, "#F4F1EA"], [1, GREEN]],
        text=wide.map(lambda v: "" if pd.isna(v) else f"{v:.0f}%").to_numpy(),
        texttemplate="%{text}", hoverinfo="skip",
        colorbar={"title": {"text": "执行率（%）"}}))
    cells = wide.stack(future_stack=True).dropna().reset_index(name="rate")  # drawn cells only
    fig.add_scatter(x=[f"{int(y)}年" for y in cells["year"]], y=esc(cells["department"]),
                    mode="markers", showlegend=False, customdata=cells[["department"]].to_numpy(),
                    marker={"symbol": "square", "size": 22, "opacity": 0},
                    hovertemplate="%{y}<br>%{x}<br>执行率 %{text}<extra></extra>",
                    text=[f"{v:.1f}%" for v in cells["rate"]])
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, height=max(320, 26 * len(wide) + 140), x="年度", legend=False)


METRIC_AXES = {"total": "计算得分（分）", "self_score": "自评得分（分）",
               "exec_rate": "预算执行率（%）", "unmet": "未完成指标数（个）"}


def trend_lines(df: pd.DataFrame, metric: str, title: str) -> go.Figure:
    fig = go.Figure()
    scale = 100 if metric == "exec_rate" else 1
    for dept, part in df.groupby("department", sort=False):
        # The name goes into the template as text: escape it, and its "%{" too.
        label = esc(str(dept))
        fig.add_scatter(x=part["year"], y=part[metric] * scale, mode="lines+markers", name=label,
                        customdata=part[["department"]].to_numpy(),
                        hovertemplate=label.replace("%", "&#37;")
                        + "<br>%{x}年 %{y:.2f}<extra></extra>")
    fig.update_xaxes(dtick=1, tickformat="d")
    return _layout(fig, title, x="年度", y=METRIC_AXES[metric])


def kind_median_bar(df: pd.DataFrame, title: str) -> go.Figure:
    df = df.iloc[::-1]
    colors = [RED if v < 0 else GREEN for v in df["vs_median"].fillna(0)]
    fig = go.Figure(go.Bar(
        x=df["vs_median"], y=esc(df["department"]), orientation="h", marker_color=colors,
        customdata=df[["department", "kind", "total", "kind_median"]].to_numpy(),
        text=esc(df["kind"].fillna("")), textposition="none",
        hovertemplate="%{y}（%{text}）<br>计算得分 %{customdata[2]:.2f}"
                      "<br>同类中位数 %{customdata[3]:.2f}<br>差 %{x:+.2f} 分<extra></extra>"))
    fig.add_vline(x=0, line_color=GREY)
    return _layout(fig, title, height=max(300, 24 * len(df) + 120),
                   x="与同类部门中位数之差（分）", legend=False)


def waterfall(steps: pd.DataFrame, title: str) -> go.Figure:
    """The maximum, each part's lost points and the total as a waterfall: bars
    floating on the running total (plotly.js's waterfall trace is not in
    perfeval's bundle), dotted connectors between them."""
    bases, heights, colors, levels, running = [], [], [], [], 0.0
    for value, measure in zip(steps["value"], steps["measure"], strict=True):
        if measure == "relative":
            bases.append(running + min(value, 0.0))
            heights.append(abs(value))
            colors.append(RED if value < 0 else GREEN)
            running += value
        else:  # "absolute" or "total": from zero
            bases.append(0.0)
            heights.append(value)
            colors.append(BLUE)
            running = value
        levels.append(running)
    text = [f"{v:+.2f}" if m == "relative" else f"{v:.2f}"
            for v, m in zip(steps["value"], steps["measure"], strict=True)]
    fig = go.Figure(go.Bar(x=steps["step"], y=heights, base=bases, marker_color=colors,
                           text=text, textposition="outside", customdata=steps["value"],
                           hovertemplate="%{x}<br>%{customdata:.2f} 分<extra></extra>"))
    for i in range(len(steps) - 1):  # the running total after step i, to the next bar
        fig.add_shape(type="line", x0=i + 0.4, x1=i + 0.6, y0=levels[i], y1=levels[i],
                      line={"color": GREY, "dash": "dot"})
    top = float(steps["value"].iloc[0]) if len(steps) else 100
    total = float(steps["value"].iloc[-1]) if len(steps) else 0
    # Start the axis below the total by at least the points lost, so that small
    # losses stay visible; never below zero.
    low = max(0.0, total - max(10.0, top - total))
    fig.update_yaxes(range=[low, top + (top - low) * 0.12])
    return _layout(fig, title, height=380, y="分", legend=False)


def score_history(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=df["year"], y=df["total"], mode="lines+markers+text", name="计算得分",
                    line={"color": BLUE, "width": 3}, text=[f"{v:.1f}" for v in df["total"]],
                    textposition="top center")
    fig.add_scatter(x=df["year"], y=df["self_score"], mode="lines+markers", name="自评得分",
                    line={"color": ORANGE, "dash": "dash"})
    fig.update_xaxes(dtick=1, tickformat="d")
    return _layout(fig, title, height=340, x="年度", y="得分（分）")


def grade_bar(grades: dict[str, int], title: str) -> go.Figure:
    names = list(grades)
    fig = go.Figure(go.Bar(x=names, y=[grades[g] for g in names], text=[grades[g] for g in names],
                           textposition="outside",
                           marker_color=[GRADE_COLORS.get(g, GREY) for g in names],
                           hovertemplate="%{x}：%{y} 个<extra></extra>"))
    return _layout(fig, title, height=260, x="等级", y="评价数（个）", legend=False)
