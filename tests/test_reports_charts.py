"""Report charts: PNGs whose Chinese labels the shipped font draws (no missing glyph)."""

from __future__ import annotations

import io
import warnings

import pandas as pd
from PIL import Image

from perfeval.reports import charts

NAMES = ["武汉市硚口区人民政府荣华街道办事处", "青湾区妇女联合会", "石桥县住房和城乡建设局"]


def _png_ok(data: bytes) -> tuple[int, int]:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return img.size


def test_every_chart_draws_its_chinese_text():
    scores = pd.DataFrame({"department": NAMES, "total": [97.3, 58.0, 84.5],
                           "self_score": [98.0, 70.0, None], "exec_rate": [1.0, 0.72, 0.95]})
    trend = pd.DataFrame({"year": [2022, 2023, 2024], "total": [90.1, 91.2, 92.0],
                          "self_score": [92.0, 92.5, 93.1], "exec_rate": [0.93, 0.95, 0.96]})
    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" for every character it cannot draw.
        warnings.simplefilter("error")
        pngs = [charts.ranking(scores, "计算得分最低的 3 个部门（硚口区）"),
                charts.exec_vs_score(scores, "预算执行率与计算得分"),
                charts.grades({"优": 1, "良": 1, "差": 1}, "等级分布"),
                charts.trend(trend, "历年平均得分与预算执行率")]
    for data in pngs:
        w, h = _png_ok(data)
        assert w > 600 and h > 300


def test_the_font_is_the_shipped_one():
    assert charts.FONT_FILE.exists()
    assert charts._font_name() == "Noto Sans CJK SC"
    assert (charts.FONT_FILE.parent / "LICENSE.txt").read_text().startswith("NotoSansCJKsc")
