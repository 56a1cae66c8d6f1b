"""Bounded reading of templates and PDFs (issue 13, item 7): a template CSV
or sheet over MAX_TEMPLATE_ROWS rows or MAX_TEMPLATE_TEXT_BYTES of text, and a
PDF over MAX_PDF_PAGES pages (however many its page tree claims), are
refused with one Chinese line naming the file and the limit, and nothing is
written; files within the limits read as before (UTF-8, BOM, GBK, values
spanning lines). The big cases run in a child process, which must stay
within 1 GB and 60 s."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pandas as pd
import pytest

from perfeval.cli import main
from perfeval.ingest import CLI_MAX_FILE_BYTES, limits, read_file
from perfeval.ingest.template import COLUMNS, EXAMPLE_ROWS, write_template
from perfeval.store import Store
from tests.conftest import ROOT
from tests.malformed import pdf_bytes

HEADERS = [c.header for c in COLUMNS]
MB = 2**20


def template_rows(evaluations: int, *, first: int = 0) -> list[list]:
    """The example's four indicator rows for each of ``evaluations`` departments."""
    rows = []
    for n in range(first, first + evaluations):
        for r in EXAMPLE_ROWS:
            r = list(r)
            r[0] = f"第{n}号街道办事处"
            rows.append(r)
    return rows


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def write_big_csv(path, size: int) -> int:
    """A template CSV of about ``size`` bytes (blocks of real rows repeated,
    so it is written in a second or two); returns its data rows."""
    block = csv_bytes(template_rows(500)).split(b"\n", 1)[1]
    rows_per_block = 500 * len(EXAMPLE_ROWS)
    blocks = max(1, size // len(block))
    with open(path, "wb") as f:
        f.write(",".join(HEADERS).encode() + b"\n")
        for _ in range(blocks):
            f.write(block)
    return blocks * rows_per_block


def evaluations_in(db) -> int:
    with Store(db) as s:
        return int(s.query_df("SELECT count(*) AS n FROM evaluations")["n"][0])


# A child process reads one file with the CLI's limits: its own time and peak
# (VmHWM, not ru_maxrss, which a child of pytest inherits).
CHILD = """
import sys, time
from pathlib import Path
from perfeval.ingest import CLI_MAX_FILE_BYTES, read_paths
from tests.test_fuzz_readers import peak_rss_mb
t = time.time()
r = read_paths([sys.argv[1]], max_bytes=CLI_MAX_FILE_BYTES)[0]
print(round(time.time() - t, 2), peak_rss_mb(), r.ok, r.errors[0].message if r.errors else "")
"""


def child_read(path) -> tuple[float, int, bool, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    secs, rss, ok, msg = out.stdout.strip().splitlines()[-1].split(" ", 3)
    return float(secs), int(rss), ok == "True", msg


# --------------------------------------------------------------------------
# CSV templates
# --------------------------------------------------------------------------

@pytest.mark.slow
def test_512mb_csv_refused_by_cli_within_1gb_and_60s(tmp_path):
    """The CLI accepts a CSV up to 512 MB; before the row limit one took
    minutes and over 2 GB (figures in the issue-13 note)."""
    big = tmp_path / "全省.csv"
    rows = write_big_csv(big, CLI_MAX_FILE_BYTES - 4 * MB)
    assert rows > limits.MAX_TEMPLATE_ROWS and big.stat().st_size <= CLI_MAX_FILE_BYTES
    secs, rss, ok, msg = child_read(big)
    big.unlink()
    assert not ok
    assert msg == f"文件 全省.csv 超过 {limits.MAX_TEMPLATE_ROWS:,} 行数据，超出读取上限，请拆分后分批导入。"
    assert rss < 1024 and secs < 60, (secs, rss)


def test_csv_over_row_limit_refused_by_import_nothing_written(tmp_path, capsys):
    path = tmp_path / "全市.csv"
    rows = write_big_csv(path, limits.MAX_TEMPLATE_ROWS // 4000 * MB)  # ~4,700 rows a MB
    assert rows > limits.MAX_TEMPLATE_ROWS
    db = tmp_path / "t.duckdb"
    code = main(["--db", str(db), "import", str(path)])
    out = capsys.readouterr()
    assert code == 2
    assert f"文件 全市.csv 超过 {limits.MAX_TEMPLATE_ROWS:,} 行数据" in out.out + out.err
    assert evaluations_in(db) == 0


def test_csv_rows_are_records_not_lines(monkeypatch):
    """The limit counts rows as Excel does: a value spanning lines (存在问题
    holds one item a line) is one row; one row past the limit is refused."""
    rows = template_rows(3)  # 12 rows; the example's first row has 2-line cells
    data = csv_bytes(rows)
    assert data.count(b"\n") > len(rows) + 1
    monkeypatch.setattr(limits, "MAX_TEMPLATE_ROWS", len(rows))
    r = read_file("三个街道.csv", data)
    assert r.ok, r.issues
    assert len(r.frames.evaluations) == 3 and len(r.frames.children["indicators"]) == 12
    r = read_file("三个街道.csv", csv_bytes(rows + template_rows(1, first=3)[:1]))
    assert [e.message for e in r.errors] == [
        "文件 三个街道.csv 超过 12 行数据，超出读取上限，请拆分后分批导入。"]


def test_csv_with_too_much_text_refused():
    """Few rows with long cells: refused by the text limit, not read."""
    rows = template_rows(12)  # 48 cells of 1/40 of the limit, each under the row limit
    cell = "加强管理\n" * (limits.MAX_TEMPLATE_TEXT_BYTES // 40 // 13)
    for r in rows:
        r[HEADERS.index("改进措施")] = cell
    data = csv_bytes(rows)
    assert len(data) > limits.MAX_TEMPLATE_TEXT_BYTES and len(rows) < 100
    r = read_file("长文本.csv", data, max_bytes=CLI_MAX_FILE_BYTES)
    assert [e.message for e in r.errors] == [
        f"文件 长文本.csv 的文字内容超过 {limits.MAX_TEMPLATE_TEXT_BYTES // MB} MB，"
        "超出读取上限，请拆分后分批导入。"]


def test_csv_row_longer_than_a_block_refused():
    """A row whose values span lines is parsed within a block or two."""
    rows = template_rows(1)
    rows[1][HEADERS.index("存在问题")] = "问题\n" * (2 * limits.MAX_TEMPLATE_ROW_BYTES // 7 + 1)
    r = read_file("一行很长.csv", csv_bytes(rows))
    assert [e.message for e in r.errors] == [
        f"文件 一行很长.csv 中有一行数据超过 {limits.MAX_TEMPLATE_ROW_BYTES // MB} MB，"
        "超出读取上限，请检查文件。"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_read_the_same(encoding):
    rows = template_rows(2)
    base = read_file("两个街道.csv", csv_bytes(rows))
    r = read_file("两个街道.csv", csv_bytes(rows, encoding))
    assert r.ok, r.issues
    pd.testing.assert_frame_equal(r.frames.children["indicators"],
                                  base.frames.children["indicators"])
    assert list(r.frames.evaluations["department"]) == ["第0号街道办事处", "第1号街道办事处"]
    findings = r.frames.children["findings"]
    assert list(findings["text"][:2]) == ["部分项目进度偏慢", "指标设置偏少"]


def test_csv_neither_utf8_nor_gbk_refused():
    data = csv_bytes(template_rows(1)) + b"\xff\xfe\xff\n"
    r = read_file("乱码.csv", data)
    assert [e.message for e in r.errors] == [
        "文件 乱码.csv：无法识别编码（支持 UTF-8、带 BOM 的 UTF-8 和 GBK）。"]


def test_csv_nul_after_first_block_refused_with_its_line():
    rows = template_rows(2000)
    data = csv_bytes(rows)
    at = data.index(b"\n", 5 * MB if len(data) > 6 * MB else len(data) // 2) + 1
    line = data.count(b"\n", 0, at) + 1
    data = data[:at] + b"\x00" + data[at:]
    r = read_file("二进制.csv", data)
    assert [e.message for e in r.errors] == [
        f"文件 二进制.csv 不是表格文件（第 {line} 行含二进制内容 NUL）。"]


def test_template_sheet_over_row_limit_refused(tmp_path, monkeypatch):
    rows = template_rows(5)
    path = write_template(tmp_path / "t.xlsx", pd.DataFrame(rows, columns=HEADERS))
    data = path.read_bytes()
    monkeypatch.setattr(limits, "MAX_TEMPLATE_ROWS", len(rows))
    assert read_file("五个街道.xlsx", data).ok
    monkeypatch.setattr(limits, "MAX_TEMPLATE_ROWS", len(rows) - 1)
    r = read_file("五个街道.xlsx", data)
    assert [e.message for e in r.errors] == [
        "文件 五个街道.xlsx 的工作表「绩效自评」超过 19 行数据，超出读取上限，请拆分后分批导入。"]


# --------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------

def pages_pdf(pages: int, *, stated: int | None = None) -> bytes:
    """A valid PDF of ``pages`` pages, each with a line of text, whose page
    tree states ``stated`` pages (default: the truth)."""
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    content = b"BT /F1 12 Tf 50 700 Td (Self-evaluation report page) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            ("<< /Type /Pages /Kids [" + " ".join(f"{i + 5} 0 R" for i in range(pages))
             + f"] /Count {pages if stated is None else stated} >>").encode(),
            font.encode(),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
             b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"] * pages
    return pdf_bytes(objs)


def test_pdf_whose_page_tree_understates_its_pages_is_refused():
    """/Count 1 over 20,000 pages: the pages are counted, not believed."""
    data = pages_pdf(20_000, stated=1)
    r = read_file("少报页数.pdf", data)
    assert [e.message for e in r.errors] == [
        f"文件 少报页数.pdf 超过自评报告 {limits.MAX_PDF_PAGES} 页的上限，已拒绝。"]


def test_pdf_at_page_limit_passes_the_check_and_one_more_is_refused():
    limits.check("p.pdf", pages_pdf(limits.MAX_PDF_PAGES, stated=1))
    with pytest.raises(Exception, match=f"超过自评报告 {limits.MAX_PDF_PAGES} 页的上限"):
        limits.check("p.pdf", pages_pdf(limits.MAX_PDF_PAGES + 1, stated=3))


def test_20000_page_text_pdf_refused_by_cli_within_1gb_and_60s(tmp_path, capsys):
    """The issue's case: 20,000 pages of text (56 s and 2.1 GB before)."""
    path = tmp_path / "两万页.pdf"
    path.write_bytes(pages_pdf(20_000))
    secs, rss, ok, msg = child_read(path)
    assert not ok
    assert msg == f"文件 两万页.pdf 有 20,000 页，超过自评报告 {limits.MAX_PDF_PAGES} 页的上限，已拒绝。"
    assert rss < 1024 and secs < 60, (secs, rss)
    db = tmp_path / "t.duckdb"
    assert main(["--db", str(db), "import", str(path)]) == 2
    out = capsys.readouterr()
    assert "超过自评报告" in out.out + out.err
    assert evaluations_in(db) == 0


# --------------------------------------------------------------------------
# Text reports and old workbooks
# --------------------------------------------------------------------------

def test_txt_report_over_text_limit_refused_before_decoding():
    """The sample report repeated past 1 MB: 8 MB of it took 300 s before."""
    from tests.conftest import FIXTURES

    text = (FIXTURES / "reports" / "ronghua-2022.txt").read_bytes()
    assert read_file("荣华街道.txt", text).ok
    big = text * (limits.MAX_REPORT_TEXT_BYTES // len(text) + 1)
    r = read_file("荣华街道.txt", big)
    assert [e.message for e in r.errors] == [
        f"文件 荣华街道.txt 的文字超过 {limits.MAX_REPORT_TEXT_BYTES // MB} MB，不像是一份自评报告，"
        "超出读取上限，已拒绝。"]


def test_docx_report_over_text_limit_refused():
    import docx

    from tests.conftest import FIXTURES

    text = (FIXTURES / "reports" / "ronghua-2022.txt").read_text("utf-8")
    document = docx.Document()
    # one long paragraph: little XML around much text, within the body limit
    document.add_paragraph(text * (limits.MAX_REPORT_TEXT_BYTES // len(text.encode()) + 1))
    buf = io.BytesIO()
    document.save(buf)
    r = read_file("荣华街道.docx", buf.getvalue())
    assert [e.message for e in r.errors] == [
        f"文件 荣华街道.docx 的文字超过 {limits.MAX_REPORT_TEXT_BYTES // MB} MB，不像是一份自评报告，"
        "超出读取上限，已拒绝。"]


def test_xls_over_size_limit_refused(tmp_path, monkeypatch):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("绩效自评")
    for i, row in enumerate([HEADERS, *template_rows(2)]):
        for j, v in enumerate(row):
            ws.write(i, j, v)
    wb.save(str(tmp_path / "t.xls"))
    data = (tmp_path / "t.xls").read_bytes()
    r = read_file("两个街道.xls", data)
    assert r.ok and len(r.frames.evaluations) == 2, r.issues
    monkeypatch.setattr(limits, "MAX_XLS_BYTES", len(data) - 1)
    r = read_file("两个街道.xls", data)
    assert len(r.errors) == 1 and r.errors[0].message.startswith("文件 两个街道.xls 有 ")
    assert "超过 .xls 工作簿 0 MB 的读取上限" in r.errors[0].message


def test_docx_text_same_as_python_docx_and_fast_with_many_breaks():
    """The docx text helpers give python-docx's text (paragraphs with tabs and
    breaks, a merged table) without its XPath union: a paragraph of 20,000
    line breaks took minutes through Paragraph.text."""
    import time

    import docx

    from perfeval.ingest.common import docx_cell_text, docx_paragraph_text

    d = docx.Document()
    p = d.add_paragraph("一、基本情况\t全年预算数1200万元")
    p.add_run("\n执行数1150万元").bold = True
    p.add_run().add_break(docx.enum.text.WD_BREAK.PAGE)
    table = d.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "一级指标\n产出指标"
    table.cell(1, 2).text = "得分\t25"
    d.add_paragraph("第1行\n" * 20_000)
    buf = io.BytesIO()
    d.save(buf)
    d = docx.Document(io.BytesIO(buf.getvalue()))
    t = time.time()
    ours = [docx_paragraph_text(p._p) for p in d.paragraphs]
    cells = [docx_cell_text(c._tc) for row in d.tables[0].rows for c in row.cells]
    assert time.time() - t < 10
    assert ours[0] == d.paragraphs[0].text == "一、基本情况\t全年预算数1200万元\n执行数1150万元"
    assert ours[1] == "第1行\n" * 20_000
    assert cells == [c.text for row in d.tables[0].rows for c in row.cells]
    assert cells[:3] == ["一级指标\n产出指标", "一级指标\n产出指标", ""]
