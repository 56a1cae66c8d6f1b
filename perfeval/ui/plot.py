"""Plotly figures on the dashboard, drawn by perfeval's own plotly.js bundle in a
Streamlit component (``st.components.v2``: in the page, no iframe).

Why not ``st.plotly_chart``: Streamlit's Plotly element loads the whole of
plotly.js (4.7 MB: every trace type, WebGL, maps) in each new browser session;
on this machine that added 0.8 s to a first view. plotly.js's cartesian bundle
(1.5 MB) took 0.64 s to load and run in a blank page; perfeval's bundle, built
from plotly.js's modules with only the traces of :data:`BUNDLED_TRACES` and the
zh-CN locale (1.2 MB, ``tools/plotly-bundle``, see ``assets/README.md``), 0.20 s.

A click on a point whose ``customdata`` starts with a department name (every
builder in :mod:`perfeval.ui.charts` puts it there) comes back as that name,
read by :func:`perfeval.ui.links.department_from_chart` from the clicked
points, which the component sends in the shape of Streamlit's selection state.
"""

from __future__ import annotations

import functools
import json

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from perfeval.ui import links

# The trace types in the bundle (tools/plotly-bundle/entry.js registers them).
BUNDLED_TRACES = frozenset({"bar", "heatmap", "scatter"})

# plotly.js 4 shows a "Share chart..." button by default that uploads the
# figure's data to Plotly Cloud: off, and no server to send to.
CONFIG = {"displaylogo": False, "locale": "zh-CN", "responsive": True,
          "showSendToCloud": False, "plotlyServerURL": "",
          "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


@functools.cache
def _template() -> go.layout.Template:
    """plotly_white's layout in the theme's colours. Not plotly.py's default:
    importing Streamlit makes that its "streamlit" template, whose colours
    are placeholders only ``st.plotly_chart`` fills in."""
    template = go.layout.Template(layout=pio.templates["plotly_white"].layout)
    colors = st.get_option("theme.chartCategoricalColors")
    if colors:
        template.layout.colorway = colors
    return template


def figure_data(fig: go.Figure) -> dict:
    """The figure as the component's JSON (numpy arrays as plotly.js typed
    arrays), drawn with :func:`_template`."""
    missing = {trace.type for trace in fig.data} - BUNDLED_TRACES
    if missing:  # plotly.js would draw an empty chart without a word
        raise ValueError(f"trace types not in perfeval's plotly.js bundle: {sorted(missing)}")
    fig.update_layout(template=_template())
    return json.loads(fig.to_json())


@functools.cache
def _component():
    """Registered on first use, not at import: the file-backed js is found through
    the manifest (pyproject.toml, [[tool.streamlit.component.components]]) that
    only a running Streamlit has scanned, so a plain import would fail."""
    return st.components.v2.component("perfeval.chart", js="chart.js", isolate_styles=False)


def show(spec: dict, key: str, *, clickable: bool = True) -> str | None:
    """Draw ``spec`` (:func:`figure_data`); the department clicked, if any."""
    result = _component()(data={"figure": spec, "config": CONFIG, "clickable": clickable},
                        key=key, on_click_change=lambda: None)
    return links.department_from_chart(getattr(result, "click", None)) if clickable else None
