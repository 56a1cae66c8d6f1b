"""Filters.where: plain data in, parameterised SQL out."""

from __future__ import annotations

import duckdb
import pytest

from perfeval.filters import THIS_YEAR, Filters, order_sql
from perfeval.model import PerfevalError
from perfeval.queries import RANK_ORDERS, department_scores, unmet_indicators
from perfeval.queries import Filters as QueriesFilters


@pytest.mark.parametrize("f, kwargs, sql, params", [
    (Filters(), {}, "e.scope = ? AND list_contains(?::INTEGER[], e.year)", ["部门整体", []]),
    (Filters(year=2023), {}, "e.scope = ? AND list_contains(?::INTEGER[], e.year)",
     ["部门整体", [2023]]),
    (Filters(year=2023, scope=None), {"years": None}, "TRUE", []),
    (Filters(year=2023, compare_year=2022), {"years": [2023, 2022]},
     "e.scope = ? AND list_contains(?::INTEGER[], e.year)", ["部门整体", [2023, 2022]]),
    (Filters(region="硚口区", kind="街道", scope="项目"), {"years": None, "alias": "x"},
     "x.scope = ? AND x.region = ? AND x.kind = ?", ["项目", "硚口区", "街道"]),
    (Filters(departments=("甲", "乙")), {"years": None},
     "e.scope = ? AND list_contains(?::VARCHAR[], e.department)", ["部门整体", ["甲", "乙"]]),
    (Filters(departments=("甲",)), {"years": None, "departments": False}, "e.scope = ?",
     ["部门整体"]),
    (Filters(scope=None), {"years": None, "allowed": ("甲",)},
     "list_contains(?::VARCHAR[], e.department)", [["甲"]]),
    (Filters(scope=None), {"years": None, "allowed": ()},
     "list_contains(?::VARCHAR[], e.department)", [[]]),
    (Filters(scope=None), {"years": None, "eval_ids": [3, 1]},
     "list_contains(?::BIGINT[], e.eval_id)", [[3, 1]]),
])
def test_where(f, kwargs, sql, params):
    alias = kwargs.pop("alias", "e")
    assert f.where(alias, **kwargs) == (sql, params)


ROWS = [(1, "甲", "硚口区", "街道", 2023, "部门整体"), (2, "乙", "硚口区", "委局", 2023, "部门整体"),
        (3, "甲", "硚口区", "街道", 2022, "部门整体"), (4, "丙", "江汉区", "街道", 2023, "项目")]


@pytest.mark.parametrize("f, kwargs, ids", [
    (Filters(year=2023), {}, [1, 2]),
    (Filters(), {}, []),  # no year chosen: nothing
    (Filters(), {"years": None}, [1, 2, 3]),
    (Filters(scope=None), {"years": None}, [1, 2, 3, 4]),
    (Filters(year=2023, kind="街道"), {}, [1]),
    (Filters(year=2023, region="江汉区", scope="项目"), {}, [4]),
    (Filters(year=2023, departments=("乙",)), {}, [2]),
    (Filters(year=2023, departments=("乙",)), {"departments": False}, [1, 2]),
    (Filters(year=2023), {"allowed": ["甲"]}, [1]),
    (Filters(year=2023), {"allowed": []}, []),
    (Filters(year=2023, compare_year=2022), {"years": THIS_YEAR}, [1, 2]),
    (Filters(scope=None), {"years": None, "eval_ids": [4, 3]}, [3, 4]),
    (Filters(year=2023, region="x' OR '1'='1"), {}, []),  # values are bound, never spliced
])
def test_where_selects(f, kwargs, ids):
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (eval_id BIGINT, department VARCHAR, region VARCHAR, "
                "kind VARCHAR, year INTEGER, scope VARCHAR)")
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    cond, params = f.where("e", **kwargs)
    got = con.execute(f"SELECT eval_id FROM ev e WHERE {cond} ORDER BY eval_id",  # noqa: S608
                      params).fetchall()
    assert [r[0] for r in got] == ids


def test_where_refuses_a_bad_alias():
    with pytest.raises(ValueError):
        Filters().where("e; DROP TABLE x")


def test_queries_reexports_filters():
    assert QueriesFilters is Filters


def test_unknown_sort_key_is_a_clear_error():
    with pytest.raises(PerfevalError, match="未知的排序方式：worst（可选：low、high"):
        order_sql(RANK_ORDERS, "worst")


@pytest.mark.parametrize("call", [
    lambda s: department_scores(s, Filters(year=2023), None, order="worst"),
    lambda s: unmet_indicators(s, Filters(year=2023), None, order="worst"),
])
def test_queries_reject_unknown_sort_keys(call):
    from perfeval.store import Store

    with Store(":memory:") as s, pytest.raises(PerfevalError, match="未知的排序方式"):
        call(s)
