"""Documents (.txt/.docx/.pdf): a 自评表 inside is read as a form, else as a report.

A document holds a form when one of its tables (or its text rebuilt as a
table, see :mod:`grid`) has an indicator header (一级指标 with 三级指标 or
指标名称). Tables come first from the file's own structure — python-docx
tables, pdfplumber's ``extract_tables()`` — and from the text as a fallback.
The form reader then gives the budget block, every indicator with
分值/得分/偏差原因 and the 总分; the narrative around the table (a web
page's 发文单位, a report's 存在的问题) fills only what the form left empty.
Without a form the report reader reads the text.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..model import Evaluation, PerfevalError, sha256_bytes
from .forms import FormError, Grid, grids_look_like_form, read_form_grids

_IND_HEADER = re.compile(r"一\s*级\s*指\s*标")


def _own_tables(name: str, data: bytes, pdf_pages: list | None = None) -> list[Grid]:
    """The document's tables with their geometry; [] when it has none or
    they cannot be read (the text path then says what is wrong)."""
    from .grid import docx_grids, pdf_grids

    try:
        if data.startswith(b"PK\x03\x04"):
            return docx_grids(name, data)
        if b"%PDF-" in data[:1024]:
            return pdf_grids(name, data, pdf_pages)
    except Exception:  # damaged file: extract_text below reports it in Chinese
        return []
    return []


def _pdf_pages(data: bytes) -> list | None:
    """A PDF's pages read once for its text and its tables; None for any other
    file, or when that fails (each reader then says what is wrong)."""
    if data.startswith(b"PK\x03\x04") or b"%PDF-" not in data[:1024]:
        return None
    from .grid import pdf_pages

    try:
        return pdf_pages(data)
    except Exception:  # noqa: BLE001 (pdfminer raises many kinds on damaged files)
        return None


def read_document(name: str, data: bytes, *, department: str | None = None,
                  year: int | None = None) -> tuple[list[Evaluation], list[str], str]:
    """(evaluations, reader warnings, kind 自评表/报告). Raises ReportError
    only for a file that is not a self-evaluation (or not readable at all)."""
    from .grid import stack_grids, text_grid
    from .report import ReportError, extract_text, parse_text

    warnings: list[str] = []
    pages = _pdf_pages(data)
    text = extract_text(name, data, pdf_pages=pages)  # refuses images, binaries, empty files
    tables = _own_tables(name, data, pages)
    # The document's tables as one sheet first (head and indicators may sit in
    # separate tables), then each table alone, then the text rebuilt as a table.
    tries = []
    if tables and grids_look_like_form(tables):
        tries.append([stack_grids(tables)])
        if len(tables) > 1:
            tries.append([g for g in tables if grids_look_like_form([g])])
    # A form's text names 一级指标 (perhaps wrapped or letter-spaced); prose need not
    # be rebuilt as a table.
    if _IND_HEADER.search(text):
        g = text_grid(name, text, warnings)
        if grids_look_like_form([g]):
            tries.append([g])
    evals: list[Evaluation] = []
    failures: list[str] = []
    for grids in tries:
        notes: list[str] = []
        try:
            evals = read_form_grids(name, grids, department=department, year=year,
                                    warnings=notes)
        except FormError as exc:  # a table we cannot align: try the next reading
            failures.append(f"表格未能按自评表读取（{exc}）")
            continue
        if evals:
            warnings += notes
            break
    if tries and not evals:
        warnings += [*failures, "已按报告读取"]
    narrative: Evaluation | None = None
    try:
        narrative = parse_text(text, source_name=Path(name).name)
    except ReportError:
        if not evals:
            raise
    checksum = sha256_bytes(data)
    if not evals:
        if narrative is None:  # pragma: no cover - parse_text raised above
            raise PerfevalError(f"文件 {name} 不是绩效自评报告")
        narrative.checksum = checksum
        return [narrative], warnings, "报告"
    for ev in evals:
        ev.checksum = checksum
        if narrative is not None:
            _fill_from(ev, narrative, single=len(evals) == 1)
    return evals, warnings, "自评表"


def _fill_from(ev: Evaluation, text_ev: Evaluation, *, single: bool) -> None:
    """What the form left empty, from the narrative around it."""
    d, t = ev.department, text_ev.department
    if not d.name and t.name:
        d.name = t.name
    if d.name == t.name:
        d.region = d.region or t.region
        d.kind = d.kind or t.kind
        d.parent = d.parent or t.parent
    if ev.year is None and text_ev.year is not None:
        ev.year = text_ev.year
    if not single:
        return  # a page of several projects: the narrative belongs to none of them
    if ev.self_score is None and text_ev.self_score is not None:
        ev.self_score = text_ev.self_score
    ev.self_grade = ev.self_grade or getattr(text_ev, "self_grade", None)
    for key in ("problems", "measures", "result_use"):
        if not getattr(ev, key) and getattr(text_ev, key):
            setattr(ev, key, list(getattr(text_ev, key)))
