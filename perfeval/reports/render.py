"""Write a :class:`~.doc.Doc` as .docx (python-docx) or .pdf (reportlab).

The PDF uses reportlab's built-in CID font STSong-Light, so Chinese text
needs no font file on the machine (the PDF viewer supplies the glyphs of
this standard font). The .docx names 宋体 for East Asian text, as Chinese
government documents do. Both have page numbers (第 N 页) in the footer.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from ..model import PerfevalError
from .doc import Doc

PDF_FONT = "STSong-Light"
DOCX_EAST_ASIAN_FONT = "宋体"
FORMATS = (".docx", ".pdf")


def write(doc: Doc, path: str | Path) -> Path:
    path = Path(path)
    data = render(doc, path.suffix)
    path.write_bytes(data)
    return path


def render(doc: Doc, fmt: str) -> bytes:
    fmt = fmt.lower() if fmt.startswith(".") else "." + fmt.lower()
    if fmt == ".docx":
        return to_docx(doc)
    if fmt == ".pdf":
        return to_pdf(doc)
    raise PerfevalError(f"不支持的报告格式 {fmt or '（无扩展名）'}：请用 .docx 或 .pdf")


# -- docx ------------------------------------------------------------------------


def _east_asian(run_or_style, name: str = DOCX_EAST_ASIAN_FONT) -> None:
    from docx.oxml.ns import qn

    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), name)


def _page_number_footer(section) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    p = section.footer.paragraphs[0]
    p.alignment = 1  # centre
    p.add_run("第 ")
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    p._p.append(fld)
    tail = OxmlElement("w:r")
    t2 = OxmlElement("w:t")
    t2.set(qn("xml:space"), "preserve")
    t2.text = " 页"
    tail.append(t2)
    p._p.append(tail)


def to_docx(doc: Doc) -> bytes:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    d = docx.Document()
    d.core_properties.title = doc.title
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Heading 3", "Table Grid"):
        style = d.styles[name]
        _east_asian(style)
    d.styles["Normal"].font.size = Pt(11)
    section = d.sections[0]
    section.left_margin = section.right_margin = Cm(2.5)
    _page_number_footer(section)
    for b in doc.blocks:
        if b.kind == "title":
            p = d.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = p.add_run(b.text)
            run.bold = True
            run.font.size = Pt(18)
        elif b.kind == "subtitle":
            p = d.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.add_run(b.text).font.size = Pt(14)
        elif b.kind == "heading":
            d.add_heading(b.text, level=min(b.level, 3))
        elif b.kind == "para":
            d.add_paragraph(b.text)
        elif b.kind == "note":
            p = d.add_paragraph()
            run = p.add_run(b.text)
            run.font.size = Pt(9)
        elif b.kind == "table":
            _docx_table(d, b)
        elif b.kind == "image":
            d.add_picture(io.BytesIO(b.png), width=Cm(b.width_cm))
            if b.text:
                cap = d.add_paragraph()
                cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
                cap.add_run(b.text).font.size = Pt(9)
        elif b.kind == "pagebreak":
            d.add_page_break()
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _docx_table(d, b) -> None:
    """A table with a bold header row, written as XML rows: python-docx's
    cell-by-cell API takes minutes for a table of 1,500 departments."""
    from copy import deepcopy

    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    t = d.add_table(rows=1, cols=len(b.headers))
    t.style = d.styles["Table Grid"]
    header = t.rows[0]._tr
    for cell, text in zip(t.rows[0].cells, b.headers, strict=True):
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(9)
    # Mark the header row to repeat on every page.
    trpr = header.get_or_add_trPr()
    rep = OxmlElement("w:tblHeader")
    trpr.append(rep)
    template = deepcopy(header)
    template.remove(template.find(qn("w:trPr")))
    for tc in template.findall(qn("w:tc")):
        for r in tc.iter(qn("w:r")):
            r.find(qn("w:rPr")).remove(r.find(qn("w:rPr")).find(qn("w:b")))
    tbl = t._tbl
    for row in b.rows:
        tr = deepcopy(template)
        for tc, text in zip(tr.findall(qn("w:tc")), row, strict=False):
            tc.find(".//" + qn("w:t")).text = text
        tbl.append(tr)


# -- pdf -------------------------------------------------------------------------


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))


def _styles():
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=PDF_FONT, fontSize=11, leading=18,
                          wordWrap="CJK", spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=26,
                                alignment=TA_CENTER, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=14, leading=22,
                                   alignment=TA_CENTER, spaceAfter=12),
        "h1": ParagraphStyle("h1", parent=base, fontSize=15, leading=24, spaceBefore=10),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=20, spaceBefore=6),
        "h3": ParagraphStyle("h3", parent=base, fontSize=11.5, leading=18, spaceBefore=4),
        "para": base,
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=12),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10.5, spaceAfter=0),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9, leading=12,
                                  alignment=TA_CENTER),
    }


def _p(text: str, style):
    from reportlab.platypus import Paragraph

    # Text from data is plain text: escape it so it is never read as markup.
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _footer(canvas, doc_) -> None:
    from reportlab.lib.pagesizes import A4

    canvas.saveState()
    canvas.setFont(PDF_FONT, 9)
    canvas.drawCentredString(A4[0] / 2, 1.2 * 28.35, f"第 {doc_.page} 页")
    canvas.restoreState()


def to_pdf(doc: Doc) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, PageBreak, SimpleDocTemplate, Table, TableStyle

    _register_font()
    st = _styles()
    buf = io.BytesIO()
    template = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2.2 * cm, rightMargin=2.2 * cm,
                                 topMargin=2 * cm, bottomMargin=2 * cm, title=doc.title)
    width = A4[0] - 4.4 * cm
    story = []
    for b in doc.blocks:
        if b.kind == "title":
            story.append(_p(b.text, _fitted(st["title"], b.text, width)))
        elif b.kind in ("subtitle", "para", "note"):
            story.append(_p(b.text, st[b.kind]))
        elif b.kind == "heading":
            story.append(_p(b.text, st[f"h{min(b.level, 3)}"]))
        elif b.kind == "table":
            from ..ingest.textnorm import display_width

            widths = _col_widths(b, width)
            data = [[_p(h, st["cell"]) for h in b.headers]]
            # Cells that fit their column (numbers, grades) as plain strings: a
            # Paragraph per cell is what makes a 1,500-row table slow; the rest
            # wrap. 8 pt type: a CJK character 8 pt wide, a digit about 4.
            data += [[v if display_width(v) * 4.2 + 7 <= widths[j] else _p(v, st["cell"])
                      for j, v in enumerate(row)] for row in b.rows]
            t = Table(data, repeatRows=1, colWidths=widths)
            t.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), PDF_FONT), ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]))
            story.append(t)
            story.append(_p("", st["note"]))
        elif b.kind == "image":
            img = Image(io.BytesIO(b.png))
            w = min(b.width_cm * cm, width)
            img.drawHeight = img.imageHeight * w / img.imageWidth
            img.drawWidth = w
            story.append(img)
            if b.text:
                story.append(_p(b.text, st["caption"]))
        elif b.kind == "pagebreak":
            story.append(PageBreak())
    template.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buf.getvalue()


def _fitted(style, text: str, width: float):
    """The title on one line where it fits at 13 pt or more (a report reads its
    title as one line; CJK characters are as wide as the font size)."""
    from reportlab.lib.styles import ParagraphStyle

    from ..ingest.textnorm import display_width

    size = min(style.fontSize, max(13.0, width / (display_width(text) / 2 + 1)))
    return ParagraphStyle("title_fit", parent=style, fontSize=size, leading=size * 1.45)


def _col_widths(b, width: float) -> list[float]:
    """Wider columns for longer texts (names, reasons), within the page width."""
    n = len(b.headers)
    longest = [max([len(b.headers[j])] + [len(r[j]) for r in b.rows[:200] if j < len(r)])
               for j in range(n)]
    weights = [min(max(x, 3), 30) for x in longest]
    total = sum(weights)
    return [width * w / total for w in weights]
