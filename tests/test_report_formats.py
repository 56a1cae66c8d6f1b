"""The real reports as .docx and as wrapped PDF text read like their text copies."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from perfeval.ingest.report import read_report
from perfeval.ingest.textnorm import display_width

REPORTS = Path(__file__).parent / "fixtures" / "reports"
NARRATIVE = [p for p in sorted(REPORTS.glob("*.txt")) if not p.stem.endswith("-table")]
COLUMNS = 76  # an A4 line of 12-point text: 38 Chinese characters
LINES_PER_PAGE = 36


def _wrapped(text: str) -> list[str]:
    """Lines as a PDF prints them: cut at the page width (CJK counts two)."""
    out = []
    for para in text.splitlines():
        line = ""
        for ch in para.rstrip():
            if display_width(line + ch) > COLUMNS:
                out.append(line)
                line = ""
            line += ch
        out.append(line)
    return out


def _pdf(lines: list[str]) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for start in range(0, len(lines), LINES_PER_PAGE):
        c.setFont("STSong-Light", 12)
        for n, line in enumerate(lines[start:start + LINES_PER_PAGE]):
            c.drawString(40, 800 - 21 * n, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def _docx(lines: list[str]) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _figures(ev) -> tuple:
    budget = sorted((b.line, b.budget, b.executed, b.initial) for b in ev.budget
                    if b.line in ("total", "basic", "project", "fiscal"))
    unmet = [(i.name, i.actual, i.reason) for _, i in ev.indicators if i.met is False]
    return (ev.department.name, ev.department.parent, ev.year, ev.scope, ev.self_score,
            ev.self_grade, budget, len(ev.indicators), unmet)


@pytest.mark.parametrize("path", NARRATIVE, ids=[p.stem for p in NARRATIVE])
def test_docx_and_pdf_copies_read_the_same(path):
    text = path.read_text("utf-8")
    want = _figures(read_report(path))
    as_docx = read_report(Path(path.stem + ".docx"),
                          _docx([ln for ln in text.splitlines() if ln.strip()]))
    assert _figures(as_docx) == want
    as_pdf = read_report(Path(path.stem + ".pdf"), _pdf(_wrapped(text)))
    assert _figures(as_pdf) == want
