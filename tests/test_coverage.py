from __future__ import annotations

from perfeval.coverage import coverage
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
