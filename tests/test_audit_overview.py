"""The review page's overview counts findings without building them
(audit._run_counts: one scan of the indicators, aggregate forms of the same
conditions); its counts must be the detail path's, check by check and
evaluation by evaluation."""

from __future__ import annotations

import copy

import pandas as pd
from hypothesis import HealthCheck, given, settings

from perfeval import demo
from perfeval.audit import CHECKS, SEVERITIES, AuditSettings, audit_overview, audit_store
from perfeval.model import Department
from perfeval.rules import DEFAULT_SCHEME
from perfeval.scoring import SCHEMES
from perfeval.store import Store
from tests.test_audit import CASES, evaluation_st, two_years


def assert_overview_matches_findings(store, **kw) -> pd.DataFrame:
    full = audit_store(store, **kw)
    ov = audit_overview(store, limit=None, **kw)
    got = {(r.code, r.severity): r.count for r in ov.by_code.itertuples()}
    assert got == full.groupby(["code", "severity"]).size().to_dict()
    per_eval = (full.groupby(["eval_id", "severity"]).size().unstack(fill_value=0)
                .reindex(columns=list(SEVERITIES), fill_value=0))
    table = ov.table.set_index("eval_id")[list(SEVERITIES)]
    table = table[table.sum(axis=1) > 0]
    pd.testing.assert_frame_equal(table.sort_index(), per_eval.sort_index(),
                                  check_names=False, check_dtype=False)
    assert ov.counts == {s: int((full["severity"] == s).sum()) for s in SEVERITIES}
    return full


def check_cases() -> list:
    """Every check's triggering and near case (tests.test_audit.CASES), each
    under a department of its own."""
    out = []
    for k, (_, case) in enumerate(CASES):
        for trigger in (True, False):
            ev, prev = case(trigger)
            for e in (prev, ev):
                if e is not None:
                    e.department = Department(f"案例{k}{'甲' if trigger else '乙'}")
                    out.append(e)
    return out


def test_overview_counts_are_the_findings_on_demo_data(tmp_path):
    with Store(tmp_path / "d.duckdb") as store:
        store.write(demo.generate(6, years=[2021, 2022, 2023]), imported_by="demo")
        demo.import_sample(store)
        store.write(two_years())
        store.write(check_cases())
        full = assert_overview_matches_findings(store)
        assert set(full["code"]) == set(CHECKS)  # every check found, with its near misses
        # One year (its previous year out of scope), and checks disabled.
        assert_overview_matches_findings(store, year=2022)
        assert_overview_matches_findings(store, settings=AuditSettings(disabled=frozenset(
            {"DUPLICATE_INDICATOR", "UNMET_REPEATED", "TARGET_NO_UNIT", "SCORE_GAP"})))
        # A scheme nothing is scored under: unmet is the report's own status,
        # the scored checks find nothing.
        other = next(name for name in SCHEMES if name != DEFAULT_SCHEME)
        unscored = assert_overview_matches_findings(store, settings=AuditSettings(scheme=other))
        assert "UNMET_REPEATED" in set(unscored["code"])
        assert not {"OVER_ACHIEVED", "REPORTED_MET_MISMATCH"} & set(unscored["code"])
        assert_overview_matches_findings(
            store, settings=AuditSettings(disabled=frozenset({"DUPLICATE_INDICATOR_CONFLICT"})))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prev=evaluation_st(2022), ev=evaluation_st(2023))
def test_overview_counts_are_the_findings_on_random_evaluations(prev, ev):
    with Store(":memory:") as store:
        store.write([copy.deepcopy(prev), copy.deepcopy(ev)])
        assert_overview_matches_findings(store)
        assert_overview_matches_findings(store, year=2023)


def test_bench_times_the_audit_in_a_child_process(tmp_path):
    """`perfeval bench` reports the audit's seconds, findings and peak memory
    per size, measured in a process that only opens the file and audits it."""
    from perfeval.bench import _bench_audit

    db = tmp_path / "b.duckdb"
    with Store(db) as store:
        store.write(two_years())
        n = len(audit_store(store))
    out = _bench_audit(db, "1k")
    assert out["1k_audit_findings"] == n > 0 and out["1k_audit_s"] >= 0
    assert out["1k_audit_frame_s"] >= 0
    assert 50e6 < out["1k_audit_peak_rss_bytes"] < 2e9  # an interpreter with pandas and DuckDB


def test_overview_duplicate_counts_compare_actuals_as_the_findings_do():
    """Copies of one name whose actuals print alike under %g (1234567 and
    1234568), differ only in sign of zero, or in unit: conflicts exactly
    where audit_store says so."""
    from tests.test_audit import clean

    ev = clean()
    goal = ev.goals[0]
    base = goal.indicators[0]
    for actual in (base.actual, "1234567次", "1234568次", "0次", "-0次", "0", "95%", "95.0%", "95"):
        goal.indicators.append(_with_actual(base, actual))
    with Store(":memory:") as store:
        store.write([ev])
        full = assert_overview_matches_findings(store)
        assert {"DUPLICATE_INDICATOR", "DUPLICATE_INDICATOR_CONFLICT"} <= set(full["code"])


def _with_actual(ind, actual):
    out = copy.deepcopy(ind)
    out.actual = actual
    return out
