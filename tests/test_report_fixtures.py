"""Real published reports: the figures each states plainly are read, and none is invented.

Every ``tests/fixtures/reports/<name>.txt`` is a public document (its source URL
on line 1) with ``expected/<name>.figures.json`` beside it, holding what the
document states: department, year, self-score or grade, budget amounts (万元)
by line. A figure the document does not state is null there and must stay
None here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfeval.ingest.report import ReportError, read_report, to_json_dict

REPORTS = Path(__file__).parent / "fixtures" / "reports"
EXPECTED = REPORTS / "expected"
FIXTURES = sorted(REPORTS.glob("*.txt"))
BUDGET_LINES = ("total", "basic", "project", "fiscal")
KINDS = ("initial", "budget", "executed")


def _expected(path: Path) -> dict:
    return json.loads((EXPECTED / f"{path.stem}.figures.json").read_text("utf-8"))


def test_every_fixture_has_figures_and_a_source():
    assert len(FIXTURES) >= 15
    for path in FIXTURES:
        assert (EXPECTED / f"{path.stem}.figures.json").exists(), path.name
        first = path.read_text("utf-8").splitlines()[0]
        assert first.startswith("source: http") or path.name == "ronghua-2022.txt", path.name


def test_fixtures_come_from_at_least_six_provinces():
    # the file name starts with the province (older fixtures: a city of it)
    province_of = {"mouding": "yunnan", "nanxian": "hunan", "zhuzhou": "hunan", "ezhou": "hubei",
                   "qingshen": "sichuan", "ronghua": "hubei"}
    provinces = {province_of.get(p.stem.split("-")[0], p.stem.split("-")[0]) for p in FIXTURES}
    assert len(provinces) >= 6, provinces


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_stated_figures_are_read_and_none_invented(path):
    want = _expected(path)
    ev = read_report(path)
    d = ev.department
    assert (d.name, d.parent, ev.year, ev.scope) == (
        want["department"], want["parent"], want["year"], want["scope"])
    for key in ("region", "kind"):
        if key in want:
            assert getattr(d, key) == want[key]
    if "project" in want:
        assert ev.project == want["project"]
    # a score where one is stated, a grade only where a grade is stated instead
    assert ev.self_score == want["self_score"]
    assert ev.self_grade == want["self_grade"]
    for line in BUDGET_LINES:
        got = ev.budget_line(line)
        for kind in KINDS:
            value = getattr(got, kind) if got else None
            stated = want["budget"].get(line, {}).get(kind)
            if stated is None:
                assert value is None, f"{line}.{kind} = {value}: not stated in the document"
            else:
                assert value == pytest.approx(stated, abs=0.005), f"{line}.{kind}"
    if "indicators" in want:
        assert len(ev.indicators) == want["indicators"]
    if "unmet" in want:
        unmet = [[i.name, i.target, i.actual] for _, i in ev.indicators if i.met is False]
        assert unmet == want["unmet"]
    # what is missing is said, in Chinese
    if not d.name or ev.year is None or want.get("warnings"):
        assert ev.warnings and all(any("\u4e00" <= c <= "\u9fff" for c in w) for w in ev.warnings)
    data = to_json_dict(ev)
    assert {"parent", "self_grade", "warnings"} <= set(data)
    json.dumps(data, ensure_ascii=False)


def test_missing_department_is_empty_and_asked_for():
    ev = read_report(REPORTS / "sichuan-wenchuan-food-2021.txt")
    assert ev.department.name == ""
    assert any("单位" in w for w in ev.warnings)
    # several allocations and a carry-over: no budget figure is guessed
    assert any("未读取" in w for w in ev.warnings)


# --------------------------------------------------------------------------
# mutations of the real documents: a result or the reader's own error


_TEXTS = {p.name: p.read_bytes() for p in FIXTURES}


def _mutate(data: bytes, cut: int, deletions: list[int], flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data[: max(1, cut % (len(data) + 1))])
    for pos in deletions:
        if buf:
            del buf[pos % len(buf)]
    for pos, bit in flips:
        if buf:
            buf[pos % len(buf)] ^= 1 << bit
    return bytes(buf)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(_TEXTS)),
       suffix=st.sampled_from([".txt", ".docx", ".pdf", ""]),
       cut=st.integers(min_value=0, max_value=40_000),
       deletions=st.lists(st.integers(min_value=0, max_value=40_000), max_size=20),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=40_000),
                                st.integers(min_value=0, max_value=7)), max_size=20))
def test_mutated_fixtures_give_a_result_or_report_error(name, suffix, cut, deletions, flips):
    data = _mutate(_TEXTS[name], cut, deletions, flips)
    try:
        ev = read_report(Path(Path(name).stem + suffix), data)
    except ReportError as err:
        assert str(err)
        return
    assert ev.year is None or 2000 <= ev.year <= 2099
    assert ev.self_score is None or 0 <= ev.self_score <= 100
    for b in ev.budget:
        for v in (b.budget, b.executed, b.initial):
            assert v is None or v >= 0
    json.dumps(to_json_dict(ev), ensure_ascii=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(_TEXTS)), data=st.data())
def test_text_cut_anywhere_gives_a_result_or_report_error(name, data):
    text = _TEXTS[name].decode("utf-8")
    lines = text.splitlines()
    keep = data.draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    chopped = "\n".join(ln for ln, k in zip(lines, keep, strict=True) if k)
    try:
        read_report(Path(name), chopped.encode("utf-8"))
    except ReportError:
        pass


NARRATIVE = [p for p in FIXTURES if not p.stem.endswith("-table")]


@pytest.mark.parametrize("path", NARRATIVE, ids=[p.stem for p in NARRATIVE])
def test_the_body_alone_names_unit_year_and_scope(path):
    # as a .docx or .pdf of the same report comes: no web page title line
    want = _expected(path)
    lines = path.read_text("utf-8").splitlines()
    body = "\n".join(ln for ln in lines if not ln.startswith(("source:", "title:")))
    ev = read_report(Path("report.txt"), body.encode("utf-8"))
    expected = want.get("body_only", want)
    assert (ev.department.name, ev.year, ev.scope) == (
        expected["department"], expected["year"], expected["scope"])
    assert ev.self_score == want["self_score"] and ev.self_grade == want["self_grade"]


NOT_REPORTS = sorted((REPORTS / "not").glob("*.txt"))


@pytest.mark.parametrize("path", NOT_REPORTS, ids=[p.stem for p in NOT_REPORTS])
def test_real_policy_documents_are_refused(path):
    with pytest.raises(ReportError, match="不是绩效自评报告") as err:
        read_report(path)
    assert path.name in str(err.value)
