"""Bounded reading: what a reader may be given, checked before it parses.

The size limits of :mod:`perfeval.ingest` (file bytes, unpacked bytes) stop
zip bombs, but a small file can still hold far more than a reader should
take in: a 1.4 MB .xlsx whose sheet unpacks to 290 MB of numeric cells
(about 14 million cells) took 214 s and 7.2 GB, a 12 MB PDF of 20,000 pages
56 s and 2.1 GB. Readers build Python objects per cell, paragraph or page,
so the counts that matter are bounded here, cheaply, without parsing:

- an .xlsx/.xlsm: the cells of all its worksheets (``<c>`` elements counted
  while streaming the XML, never trusting the declared dimension) and the
  unpacked size of its shared strings;
- an .xls (not compressed): its size;
- a .docx: the unpacked size of its document body;
- a template (CSV, or the template's sheet of a workbook): its data rows
  and, for a CSV, the text of its template columns (counted while the CSV
  is read in blocks, :func:`perfeval.ingest.template._read_csv`);
- a report: its text (:func:`perfeval.ingest.report.extract_text`);
- a .pdf: its page count (from the page tree) and whether it is encrypted.

With these, any file within the size limits is read or refused within 1 GB
and 60 s (figures in tests/test_fuzz_readers.py and the issue-13 note).

:func:`guarded` is the last line: whatever a third-party parser raises for a
malformed file (calamine's ``XmlError`` or a Rust panic, ``zlib.error``,
pdfminer's errors, lxml's) becomes one Chinese error for that file, so one
bad file never stops the others.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

from ..model import PerfevalError

# A template of 70,000 indicator rows × 28 columns is 2 M cells (larger ones go
# as CSV, read faster); a self-evaluation form has a few thousand. Beyond this
# a workbook is refused (1.8 M cells read as the template: 0.43 GB peak).
MAX_XLSX_CELLS = 2_000_000
# An old .xls is not compressed: a cell record is 10–20 bytes, so this bounds
# it near MAX_XLSX_CELLS (the largest legitimate one, 65,536 rows × 28
# columns of a template, is about 20 MB: 10,000 rows are 2.9 MB).
MAX_XLS_BYTES = 32 * 2**20
# Shared strings of a workbook once unpacked (each one becomes a Python str).
MAX_XLSX_SHARED_STRINGS_BYTES = 64 * 2**20
# Data rows of one template file (CSV or sheet). An exported demo CSV read
# and committed on a quiet machine: 300,000 rows (73 MB) in 6 s at 0.69 GB
# peak, 500,000 in 11 s at 0.89 GB, 963,000 in 19 s at 1.57 GB. A larger
# template is split and imported in batches.
MAX_TEMPLATE_ROWS = 300_000
# Text of a template CSV's columns as read (a few long cells can fill the
# CLI's 512 MB with few rows); 300,000 ordinary rows are 60–90 MB.
MAX_TEMPLATE_TEXT_BYTES = 96 * 2**20
# One row of a template CSV: the CSV is read in blocks of this size (rows are
# counted per block, so a file over the limit is refused after reading little
# more than the limit: 4 MB blocks add ~0.1 GB, 16 MB ones ~0.15 GB), and a
# row whose values span lines must fit in one.
MAX_TEMPLATE_ROW_BYTES = 4 * 2**20
# The body of a .docx once unpacked; a 100-page report is 1–3 MB (9.7 MB of
# paragraphs took 44 s on a loaded machine).
MAX_DOCX_BODY_BYTES = 8 * 2**20
# Text of a report (.txt as a file; .docx/.pdf as extracted, in UTF-8): a full
# self-evaluation report is 15–200 KB. Matching reasons to indicators grows
# faster than the text (1 MB of .txt took 9 s, 2 MB 24 s, 8 MB 300 s on a busy
# machine).
MAX_REPORT_TEXT_BYTES = 2**20
# Pages of a PDF report; a self-evaluation report has 5–60. pdfplumber takes
# 0.1–0.4 s and ~1 MB a page (300 pages: 132 s, 0.5 GB on a loaded machine).
MAX_PDF_PAGES = 100

_CHUNK = 2**20
_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*):worksheet[\s>]")
T = TypeVar("T")


def check(name: str, data: bytes) -> None:
    """Refuse (PerfevalError) a file that would make its reader take too much."""
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xlsm") and data.startswith(b"PK"):
        _check_xlsx(name, data)
    elif suffix == ".docx" and data.startswith(b"PK"):
        _check_docx(name, data)
    elif suffix == ".pdf":
        _check_pdf(name, data)
    elif suffix == ".xls" and len(data) > MAX_XLS_BYTES:
        raise PerfevalError(f"文件 {name} 有 {len(data) / 2**20:.0f} MB，超过 .xls 工作簿 "
                            f"{MAX_XLS_BYTES // 2**20} MB 的读取上限，请另存为 .xlsx 或拆分后分批导入。")


def too_many_rows(name: str, sheet: str | None = None) -> str:
    where = f" 的工作表「{sheet}」" if sheet else " "
    return (f"文件 {name}{where}超过 {MAX_TEMPLATE_ROWS:,} 行数据，超出读取上限，"
            "请拆分后分批导入。")


def too_much_text(name: str) -> str:
    return (f"文件 {name} 的文字内容超过 {MAX_TEMPLATE_TEXT_BYTES // 2**20} MB，超出读取上限，"
            "请拆分后分批导入。")


def too_much_report_text(name: str) -> str:
    return (f"文件 {name} 的文字超过 {MAX_REPORT_TEXT_BYTES // 2**20} MB，不像是一份自评报告，"
            "超出读取上限，已拒绝。")


def row_too_long(name: str) -> str:
    return (f"文件 {name} 中有一行数据超过 {MAX_TEMPLATE_ROW_BYTES // 2**20} MB，超出读取上限，"
            "请检查文件。")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, label: str) -> bytes:
    """A zip member's bytes, at most ``limit`` + 1 (the stated size may lie);
    a damaged member gives a Chinese error instead of zlib's or zipfile's."""
    try:
        with zf.open(info) as fh:
            return fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError,
            ValueError) as exc:
        raise PerfevalError(f"{label} 已损坏，无法解压（{_why(exc)}）。") from exc


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError,
            ValueError) as exc:
        raise PerfevalError(f"文件 {name} 已损坏：其中的 {info.filename} 无法解压"
                            f"（{_why(exc)}）。") from exc


def _open_zip(name: str, data: bytes) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None  # not a zip: the reader says what the file is


def _check_xlsx(name: str, data: bytes) -> None:
    zf = _open_zip(name, data)
    if zf is None:
        return
    with zf:
        cells = 0
        for info in zf.infolist():
            part = PurePosixPath(info.filename)
            if info.filename.lower().startswith("xl/worksheets/") and part.suffix == ".xml":
                cells = _count_cells(zf, info, name, cells, part.name)
            elif part.name.lower() == "sharedstrings.xml":
                size = sum(len(c) for c in _stream(zf, info, name))
                if size > MAX_XLSX_SHARED_STRINGS_BYTES:
                    raise PerfevalError(
                        f"文件 {name} 的文字内容解压后超过 "
                        f"{MAX_XLSX_SHARED_STRINGS_BYTES // 2**20} MB，超出读取上限。")
        if cells > MAX_XLSX_CELLS:
            raise PerfevalError(f"文件 {name} 的工作表单元格超过 {MAX_XLSX_CELLS:,} 个，"
                                "超出读取上限，请拆分后分批导入。")


def _count_cells(zf, info, name: str, cells: int, sheet: str) -> int:
    """Add the ``<c>`` elements of one worksheet to ``cells`` (bytes.count per
    chunk: ~1 s for 290 MB), refusing past MAX_XLSX_CELLS."""
    marks = [b"<c ", b"<c>", b"<c/"]
    tail = b""
    first = True
    for chunk in _stream(zf, info, name):
        if first:  # a namespace prefix (<x:worksheet>) names cells <x:c>
            first = False
            m = _PREFIX.search(chunk[:4096])
            if m:
                marks = [b"<" + m.group(1) + b":c" + end for end in (b" ", b">", b"/")]
        buf = tail + chunk
        cells += sum(buf.count(mark) for mark in marks)
        tail = buf[-(len(marks[0]) - 1):]  # a mark straddling chunks is counted once
        if cells > MAX_XLSX_CELLS:
            raise PerfevalError(f"文件 {name} 的工作表单元格超过 {MAX_XLSX_CELLS:,} 个（{sheet}），"
                                "超出读取上限，请拆分后分批导入。")
    return cells


def _check_docx(name: str, data: bytes) -> None:
    zf = _open_zip(name, data)
    if zf is None:
        return
    with zf:
        for info in zf.infolist():
            if info.filename.lower().startswith("word/") and info.filename.endswith(".xml"):
                size = 0
                for chunk in _stream(zf, info, name):
                    size += len(chunk)
                    if size > MAX_DOCX_BODY_BYTES:
                        raise PerfevalError(
                            f"文件 {name} 的正文解压后超过 {MAX_DOCX_BODY_BYTES // 2**20} MB，"
                            "不像是自评报告，超出读取上限。")


def _check_pdf(name: str, data: bytes) -> None:
    """Encrypted with a password → say so (a PDF encrypted with an empty user
    password opens and is read); more than MAX_PDF_PAGES → refuse. The page
    count comes from the page tree (no page is parsed)."""
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import resolve1

    try:
        doc = PDFDocument(PDFParser(io.BytesIO(data)))
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise _encrypted(name) from exc
    except Exception as exc:  # noqa: BLE001 (pdfminer raises many kinds for a bad file)
        if "password" in str(exc).lower() or "encrypt" in type(exc).__name__.lower():
            raise _encrypted(name) from exc
        raise PerfevalError(f"文件 {name} 不是可读取的 PDF（{_why(exc)}）。") from exc
    try:
        pages = int(resolve1(resolve1(doc.catalog.get("Pages")).get("Count")))
    except Exception:  # noqa: BLE001 (a broken page tree: let the reader say so)
        pages = 0
    if pages <= MAX_PDF_PAGES:  # the stated count may lie: walk the tree (no page parsed)
        pages = _walk_pages(doc, MAX_PDF_PAGES + 1)
    if pages > MAX_PDF_PAGES:
        stated = f"有 {pages:,} 页，" if pages > MAX_PDF_PAGES + 1 else ""
        raise PerfevalError(f"文件 {name} {stated}超过自评报告 {MAX_PDF_PAGES} 页的上限，已拒绝。")


def _walk_pages(doc, stop: int) -> int:
    """Pages in the page tree, counted up to ``stop`` (pdfminer's own walk,
    which pdfplumber uses too)."""
    from pdfminer.pdfpage import PDFPage

    count = 0
    try:
        for _ in PDFPage.create_pages(doc):
            count += 1
            if count >= stop:
                break
    except Exception:  # noqa: BLE001 (a broken page tree: let the reader say so)
        pass
    return count


def _encrypted(name: str) -> PerfevalError:
    return PerfevalError(f"文件 {name} 是加密（有密码保护）的 PDF，无法读取；请去除密码后重新导入。")


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def guarded(name: str, read: Callable[[], T]) -> T:
    """Run a reader; any exception a parser raises for a malformed file becomes
    one Chinese PerfevalError for this file (a bug shows its type, so it can
    be found). KeyboardInterrupt and SystemExit pass."""
    try:
        return read()
    except PerfevalError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except MemoryError as exc:
        raise PerfevalError(f"文件 {name} 内容过多，读取时内存不足，已拒绝。") from exc
    except BaseException as exc:  # noqa: BLE001 (pyo3 panics derive from BaseException)
        if "password" in str(exc).lower() or "encrypt" in type(exc).__name__.lower():
            raise _encrypted(name) from exc
        raise PerfevalError(f"文件 {name} 已损坏或格式不对，无法读取（{_why(exc)}）。") from exc
