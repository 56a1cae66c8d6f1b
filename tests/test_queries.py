"""Dashboard queries on hand-made evaluations: figures, filters, the viewer's
departments, the unmet streak, and that user text never becomes SQL."""

from __future__ import annotations

import pytest

from perfeval import queries
from perfeval.queries import Filters
from perfeval.scoring import DEFAULT_SCHEME, current_scores, ensure_scores, explain_stored
from tests.conftest import small_evaluation

A, B, C = "甲街道办事处", "乙街道办事处", "丙委员会"


@pytest.fixture
def db(store):
    evs = [small_evaluation(A, 2022, unmet=True, self_score=97),
           small_evaluation(A, 2023, unmet=True, self_score=96),
           small_evaluation(B, 2022, unmet=False, self_score=99),
           small_evaluation(B, 2023, unmet=False, self_score=90),
           small_evaluation(C, 2023, unmet=True, self_score=88)]
    evs[4].department.region, evs[4].department.kind = "另一区", "委局"
    evs[4].budget[0].executed = 60.0  # 总预算 100, 执行 60: low execution
    store.write(evs)
    ensure_scores(store)
    return store


F = Filters(year=2023, compare_year=2022)


def test_filter_options(db):
    opts = queries.filter_options(db)
    assert opts["years"] == [2023, 2022]
    assert opts["regions"] == ["另一区", "测试区"]
    assert opts["kinds"] == ["委局", "街道"]
    assert opts["departments"] == sorted([A, B, C])
    assert queries.filter_options(db, allowed=[A])["departments"] == [A]


def test_kpis_match_scores(db):
    k = queries.kpis(db, F, None)
    scores = current_scores(db)
    for year in (2022, 2023):
        s = scores[scores["year"] == year]
        assert k[year]["departments"] == len(s)
        assert k[year]["avg_total"] == pytest.approx(s["total"].mean())
        assert k[year]["avg_self"] == pytest.approx(s["self_score"].mean())
        assert k[year]["unmet"] == s["unmet_count"].sum()
        assert sum(k[year]["grades"].values()) == len(s)
    assert k[2023]["budget"] == pytest.approx(300.0)
    assert k[2023]["executed"] == pytest.approx(95 + 95 + 60)
    assert k[2023]["exec_rate"] == pytest.approx(250 / 300)
    assert k[2022]["exec_rate"] == pytest.approx(0.95)


def test_filters_and_allowed(db):
    assert queries.kpis(db, Filters(year=2023, region="另一区"), None)[2023]["departments"] == 1
    assert queries.kpis(db, Filters(year=2023, kind="街道"), None)[2023]["departments"] == 2
    assert queries.kpis(db, Filters(year=2023, departments=(A,)), None)[2023]["departments"] == 1
    only_b = queries.department_scores(db, F, [B])
    assert only_b["department"].tolist() == [B]
    # The department filter cannot widen what the viewer may see.
    assert queries.department_scores(db, Filters(year=2023, departments=(A,)), [B]).empty
    assert queries.department_evaluations(db, F, [B], A).empty


def test_department_scores_order_and_gap(db):
    df = queries.department_scores(db, F, None, order="low")
    assert df["total"].is_monotonic_increasing
    gaps = queries.department_scores(db, F, None, order="gap", limit=1)
    scores = current_scores(db)
    s = scores[scores["year"] == 2023].sort_values("gap", ascending=False).iloc[0]
    assert gaps["department"].iloc[0] == s["department"]
    assert gaps["gap"].iloc[0] == pytest.approx(s["gap"])
    c = df.set_index("department").loc[C]
    assert c["exec_rate"] == pytest.approx(0.6)


def test_unmet_rows_streak_and_shortfall(db):
    df, total = queries.unmet_indicators(db, F, None)
    assert total == 2
    assert sorted(df["department"]) == sorted([A, C])
    assert set(df["indicator"]) == {"矛盾纠纷调处率"}
    row = df.set_index("department").loc[A]
    assert row["target_text"] == "≥95%" and row["actual_text"] == "80%"
    assert row["shortfall"] == pytest.approx((95 - 80) / 95)
    assert row["streak"] == 2  # unmet in 2022 and 2023
    assert row["measures"] == "措施一"
    assert df.set_index("department").loc[C]["streak"] == 1  # C has no 2022 evaluation
    assert queries.unmet_indicators(db, Filters(year=2022), None)[1] == 1


def test_unmet_filters_and_keyword_is_data(db):
    assert queries.unmet_indicators(db, F, None, category="效益")[1] == 0
    assert queries.unmet_indicators(db, F, None, category="产出")[1] == 2
    assert queries.unmet_indicators(db, F, None, keyword="纠纷")[1] == 2
    assert queries.unmet_indicators(db, F, None, keyword="丙委")[1] == 1
    for text in ("'; DROP TABLE indicators; --", "%", "_", "\\"):
        assert queries.unmet_indicators(db, F, None, keyword=text)[1] == 0
    assert queries.filter_options(db)["years"]  # tables intact
    assert queries.unmet_indicators(db, F, [B])[1] == 0


def test_budget_and_heatmap(db):
    b = queries.budget_by_department(db, F, None, order="exec_low")
    assert b["department"].iloc[0] == C
    a = b.set_index("department").loc[A]
    assert (a["basic_budget"], a["basic_executed"]) == (40.0, 40.0)
    assert (a["project_budget"], a["project_executed"]) == (60.0, 55.0)
    t = queries.budget_totals(db, F, None)
    assert t["total"]["low"] == 1
    heat = queries.exec_heatmap(db, F, None, limit=1)
    assert set(heat["department"]) == {C}


def test_trends_yoy_and_medians(db):
    lines = queries.trends(db, F, None, [A, B])
    assert len(lines) == 4 and set(lines["department"]) == {A, B}
    avg = queries.trends(db, F, None)
    assert avg["department"].unique().tolist() == ["全部（平均）"]
    scores = current_scores(db)
    assert avg.set_index("year").loc[2023, "total"] == pytest.approx(
        scores[scores["year"] == 2023]["total"].mean())
    yoy = queries.year_over_year(db, F, None).set_index("department")
    assert yoy.loc[B, "self_delta"] == pytest.approx(90 - 99)
    assert yoy.loc[C, "total_prev"] != yoy.loc[C, "total_prev"]  # NaN: no 2022 evaluation
    med = queries.kind_medians(db, F, None).set_index("department")
    assert med.loc[C, "vs_median"] == pytest.approx(0.0)  # alone in its kind


def test_profile_queries_and_waterfall(db):
    ev = queries.department_evaluations(db, F, None, A)
    assert ev["year"].tolist() == [2023, 2022]
    eid = int(ev["eval_id"].iloc[0])
    card = queries.evaluation_card(db, eid)
    es, lost = explain_stored(db, eid, DEFAULT_SCHEME)
    assert card["total"] == pytest.approx(es.total)
    steps = queries.waterfall_steps(es.max_score, es.total, lost)
    assert steps["value"].iloc[0] + steps["value"].iloc[1:-1].sum() == pytest.approx(
        steps["value"].iloc[-1])
    assert steps["step"].iloc[-1] == "计算得分"
    inds = queries.evaluation_indicators(db, eid)
    assert len(inds) == 5 and inds["met_computed"].eq(False).sum() == 1
    assert set(queries.evaluation_findings(db, eid)["kind"]) == {"problem", "measure"}
    hist = queries.score_history(db, F, A)
    assert hist["year"].tolist() == [2022, 2023]


def test_empty_database(store):
    assert queries.filter_options(store)["years"] == []
    ensure_scores(store)
    f = Filters(year=2024)
    assert queries.kpis(store, f, None) == {}
    assert queries.department_scores(store, f, None).empty
    assert queries.unmet_indicators(store, f, None)[1] == 0
    assert not queries.has_demo(store, f, None)
