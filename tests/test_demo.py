from __future__ import annotations

import pandas as pd

from perfeval.demo import build_demo, department_table, generate


def test_generator_is_deterministic():
    a, b = generate(12, seed=7), generate(12, seed=7)
    pd.testing.assert_frame_equal(a.evaluations, b.evaluations)
    for table in a.children:
        pd.testing.assert_frame_equal(a.children[table], b.children[table])
    c = generate(12, seed=8)
    assert not c.children["indicators"]["actual_text"].equals(a.children["indicators"]["actual_text"])


def test_demo_names_are_fictional_and_unique():
    names = department_table(500)["department"]
    assert names.is_unique
    assert names.str.endswith("（演示）").all()


def test_demo_spreads_look_real():
    f = generate(30)
    ind = f.children["indicators"]
    met_share = ind["met"].mean()
    assert 0.75 < met_share < 0.97  # most met, some not
    lines = f.children["budget_lines"]
    total = lines[lines["line"] == "total"]
    rate = total["executed"] / total["budget"]
    assert (rate.round(6) == 1).any() and (rate < 0.9).any() and rate.between(0.85, 1).mean() > 0.7
    cats = ind.groupby(["ekey", "goal_no"])["category"].agg(set)
    assert (cats.map(lambda s: "满意度" not in s)).any()
    assert (ind.groupby(["ekey", "goal_no"]).size() == 1).any()
    assert set(f.evaluations["year"]) == set(range(2019, 2025))
    assert f.evaluations["is_demo"].all()


def test_build_demo_flags_every_row_and_includes_the_sample(store):
    counts = build_demo(store)
    assert counts["departments"] == 31
    cur = store.query_df("SELECT department, is_demo FROM cur_evaluations")
    sample = cur["department"] == "武汉市硚口区人民政府荣华街道办事处"
    assert sample.sum() == 1
    # the sample is a real report: not demo data, though the demo command loads it
    assert cur.loc[~sample, "is_demo"].all() and not cur.loc[sample, "is_demo"].any()
    n = store.query_df("SELECT count(*) AS n FROM indicators")["n"].iloc[0]
    assert n == counts["indicators"]


def test_scale_gives_about_that_many_rows(store):
    counts = build_demo(store, scale=200_000, with_sample=False, chunk_departments=200)
    assert 160_000 < counts["indicators"] < 240_000
    # Chunking writes one transaction per chunk but the same departments.
    assert store.query_df("SELECT count(DISTINCT department) AS n FROM cur_evaluations")["n"].iloc[0] \
        == counts["departments"]
