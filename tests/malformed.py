"""Malformed and oversized files built from real ones, for the reader tests
(issue 13, items 6 and 7) and the fuzz test."""

from __future__ import annotations

import io
import re
import struct
import zipfile

import pandas as pd

from perfeval.ingest.template import COLUMNS, EXAMPLE_ROWS, write_template

HEADERS = [c.header for c in COLUMNS]


def template_xlsx(tmp_path) -> bytes:
    path = write_template(tmp_path / "tpl.xlsx", pd.DataFrame(EXAMPLE_ROWS, columns=HEADERS))
    return path.read_bytes()


def template_csv(name: str = "示例街道办事处") -> bytes:
    df = pd.DataFrame(EXAMPLE_ROWS, columns=HEADERS)
    df["部门"] = name
    return df.to_csv(index=False).encode("utf-8")


def rewrite(data: bytes, member: str, fn) -> bytes:
    """The zip with one member's bytes replaced by ``fn(bytes)``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as a, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as b:
        for info in a.infolist():
            body = a.read(info)
            b.writestr(info.filename, fn(body) if info.filename == member else body)
    return buf.getvalue()


def undefined_entity_xlsx(tmp_path) -> bytes:
    """A cell holding an XML entity no DTD defines (calamine: XmlError)."""
    return rewrite(template_xlsx(tmp_path), "xl/worksheets/sheet1.xml", lambda b: b.replace(
        b'<c r="A2"', b'<c r="A2" t="inlineStr"><is><t>&undefinedentity;</t></is></c><c r="Z2"', 1))


def understated_sheet_xlsx(tmp_path) -> bytes:
    """The sheet is larger than the size its zip headers declare."""
    data = bytearray(template_xlsx(tmp_path))
    member = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(member.decode())
    small = info.file_size // 3
    struct.pack_into("<I", data, info.header_offset + 22, small)  # local header
    for m in re.finditer(rb"PK\x01\x02", bytes(data)):  # central directory
        n = struct.unpack_from("<H", data, m.start() + 28)[0]
        if bytes(data[m.start() + 46:m.start() + 46 + n]) == member:
            struct.pack_into("<I", data, m.start() + 24, small)
    return bytes(data)


def zip_with_corrupt_member(good: bytes) -> bytes:
    """good.csv intact, bad.csv's deflate stream damaged (zlib.error)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("good.csv", good)
        z.writestr("bad.csv", template_csv("乙街道办事处") * 3)
    data = bytearray(buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("bad.csv")
    start = info.header_offset + 30 + len(info.filename)
    for k in range(start + 10, start + 60):
        data[k] ^= 0x5A
    return bytes(data)


def numeric_xlsx(unpacked_mb: int) -> bytes:
    """A template-headed workbook whose sheet unpacks to ``unpacked_mb`` MB of
    numeric cells (290 MB packs to ~1.1 MB)."""
    ss = "".join(f"<si><t>{h}</t></si>" for h in HEADERS)
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    head = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData><row r="1">'
            + "".join(f'<c t="s"><v>{i}</v></c>' for i in range(len(HEADERS))) + "</row>").encode()
    row = b"<row>" + b"<c><v>1</v></c>" * len(HEADERS) + b"</row>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats'
            '-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
            'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml'
            '.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship'
                   f' Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets>'
                   '<sheet name="绩效自评" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            f'Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
        z.writestr("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst {ns}>{ss}</sst>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(head)
            block = row * 1000
            for _ in range(unpacked_mb * 2**20 // len(block)):
                f.write(block)
            f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def many_pages_pdf(pages: int) -> bytes:
    """A valid PDF of ``pages`` blank pages (written by hand: 20,000 pages in 1 MB)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            ("<< /Type /Pages /Kids [" + " ".join(f"{i + 3} 0 R" for i in range(pages))
             + f"] /Count {pages} >>").encode()]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"] * pages
    return pdf_bytes(objs)


def pdf_bytes(objs: list[bytes]) -> bytes:
    """A PDF file of the objects ``objs`` (object 1 the catalog), with its xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (i, body))
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()


def report_pdf(*, password: str | None = None, text: str | None = None) -> bytes:
    """A one-page text PDF (reportlab), optionally encrypted with a user password."""
    from reportlab.lib import pdfencrypt
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    enc = pdfencrypt.StandardEncryption(password, canPrint=0) if password else None
    c = canvas.Canvas(buf, encrypt=enc)
    c.setFont("STSong-Light", 11)
    lines = (text or "某某街道办事处2023年度部门整体支出绩效自评报告\n一、基本情况\n"
             "全年预算数1200万元，执行数1150万元。").splitlines()
    for k, line in enumerate(lines):
        c.drawString(50, 800 - 16 * k, line)
    c.showPage()
    c.save()
    return buf.getvalue()
