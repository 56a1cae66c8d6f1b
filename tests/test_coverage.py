from __future__ import annotations

import pytest

from perfeval.coverage import (
    SOURCE_LIST,
    SOURCE_PREVIOUS,
    clear_expected_units,
    coverage,
    read_expected_units,
    set_expected_units,
)
from perfeval.model import PerfevalError
from perfeval.queries import Filters
from perfeval.store import Store

from .conftest import small_evaluation


def test_a_unit_of_last_year_that_has_not_submitted_is_missing(tmp_path):
    with Store(tmp_path / "c.duckdb") as store:
        for name, year in [("甲街道", 2021), ("乙街道", 2021), ("甲街道", 2022), ("丙街道", 2022)]:
            store.write([small_evaluation(name, year)])
        cov = coverage(store, Filters(year=2022), None)
        assert cov.missing == ("乙街道",)
        assert cov.submitted == ("丙街道", "甲街道")
        assert set(cov.expected) == {"甲街道", "乙街道", "丙街道"}
        assert round(cov.rate, 4) == round(2 / 3, 4)
        # The viewer's departments limit both years.
        assert coverage(store, Filters(year=2022), ["甲街道"]).missing == ()
        assert coverage(store, Filters(), None) is None


def _xlsx(rows) -> bytes:
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "名单"
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_uploaded_list_decides_who_is_expected(tmp_path):
    with Store(tmp_path / "l.duckdb") as store:
        for name, year in [("甲街道", 2021), ("乙街道", 2021), ("甲街道", 2022)]:
            store.write([small_evaluation(name, year)])
        units = read_expected_units("名单.xlsx", _xlsx([
            ["2022 年度应参评单位名单", None], ["单位名称", "主管部门"],
            ["甲街道", "区政府"], ["丁中心", "区卫健局"], [None, None], ["丁中心", "区卫健局"]]))
        assert list(units["department"]) == ["甲街道", "丁中心"]
        assert set_expected_units(store, 2022, units, uploaded_by="王管理") == 2
        cov = coverage(store, Filters(year=2022), None)
        # 乙街道 submitted last year but is not on the list; 丁中心 is on it and has not submitted.
        assert cov.source == SOURCE_LIST
        assert cov.missing == ("丁中心",)
        assert set(cov.expected) == {"甲街道", "丁中心"}
        assert cov.parent_of("丁中心") == "区卫健局"
        assert list(cov.table()["状态"]) == ["未提交", "已提交"]
        # A listed unit that never submitted has no known region: left out under a region filter.
        assert coverage(store, Filters(year=2022, region="测试区"), None).missing == ()
        assert coverage(store, Filters(year=2022), ["甲街道"]).missing == ()
        # Another year keeps the default; clearing the list restores it.
        assert coverage(store, Filters(year=2021), None).source == SOURCE_PREVIOUS
        assert clear_expected_units(store, 2022) == 2
        assert coverage(store, Filters(year=2022), None).missing == ("乙街道",)


def test_list_from_csv_in_gbk_and_its_errors():
    data = "部门,主管部门\n甲街道,区政府\n乙街道,\n".encode("gbk")
    units = read_expected_units("list.csv", data)
    assert list(units["department"]) == ["甲街道", "乙街道"]
    assert units["parent"].tolist() == ["区政府", None]
    with pytest.raises(PerfevalError, match="文件 x.csv：前 20 行中没有“单位名称”列"):
        read_expected_units("x.csv", "名称,备注\n甲,乙\n".encode())
    with pytest.raises(PerfevalError, match="文件 x.xlsx 工作表 名单 第 3 行：单位名称为空"):
        read_expected_units("x.xlsx", _xlsx([["单位名称", "主管部门"], ["甲", "区"], [None, "区"]]))
    with pytest.raises(PerfevalError, match="不是 .xlsx、.xls 或 .csv 文件"):
        read_expected_units("x.pdf", b"%PDF-1.4")
    with pytest.raises(PerfevalError, match="无法作为 Excel 工作簿打开"):
        read_expected_units("x.xlsx", b"not a workbook")
