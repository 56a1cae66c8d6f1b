"""Hostile or useless inputs are refused with a clear Chinese message, before
any parser sees them where possible, and memory stays bounded.

Limits (perfeval.ingest): one file ≤ 100 MB; an .xlsx/.docx's parts ≤ 300 MB
once decompressed (counted while decompressing, so a lying zip header does not
help); one upload ≤ 500 files and ≤ 200 MB with zips unpacked; a template
≤ 200 columns. The Python memory a refusal takes is measured with tracemalloc.
"""

from __future__ import annotations

import io
import resource
import tracemalloc
import zipfile

import pytest

from perfeval.cli import build_parser, main
from perfeval.ingest import (
    MAX_FILE_BYTES,
    MAX_UNPACKED_BYTES,
    read_file,
    read_uploads,
)

MB = 2**20


def _measure(fn):
    """(result, peak Python memory in MB while fn ran)."""
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak / MB


def _only_error(results) -> str:
    assert len(results) == 1 and not results[0].ok, results
    return str(results[0].errors[0])


def xlsx_bomb(unpacked_mb: int) -> bytes:
    """A workbook-shaped zip whose sheet unpacks to ``unpacked_mb`` MB (~1.5 MB packed)."""
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 200 + b"</t></is></c></row>"
    chunk = row * (MB // len(row))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for _ in range(unpacked_mb):
                f.write(chunk)
    return buf.getvalue()


def test_xlsx_zip_bomb_refused_without_unpacking():
    data = xlsx_bomb(MAX_UNPACKED_BYTES // MB + 50)
    assert len(data) < 5 * MB
    results, peak = _measure(lambda: read_uploads([("预算.xlsx", data)]))
    msg = _only_error(results)
    assert "解压后超过 300 MB" in msg and "压缩炸弹" in msg
    assert peak < 20, peak  # the 350 MB sheet was never held


def test_zip_of_files_bomb_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("big.csv", b"0" * (MAX_FILE_BYTES + MB))
        z.writestr("ok.txt", "x")
    results, peak = _measure(lambda: read_uploads([("forms.zip", buf.getvalue())]))
    big = next(r for r in results if r.name == "forms.zip/big.csv")
    assert not big.ok and "解压后超过 100 MB" in str(big.errors[0])
    assert peak < 20, peak


def test_200mb_csv_upload_refused_by_size():
    data = b"\xe9\x83\xa8\xe9\x97\xa8,\xe5\xb9\xb4\xe5\xba\xa6\n" + b"x" * (200 * 10**6)
    results, peak = _measure(lambda: read_uploads([("全市.csv", data)]))
    msg = _only_error(results)
    assert "超过单个文件 100 MB 的上限" in msg and "分批导入" in msg
    assert peak < 5, peak  # refused by length: no copy, no decoding
    assert read_file("全市.csv", data).errors[0].message == results[0].errors[0].message


def test_200mb_csv_on_disk_refused_by_cli_without_reading(tmp_path, capsys):
    big = tmp_path / "全市.csv"
    with open(big, "wb") as f:  # sparse: costs no disk and no time
        f.write("部门,年度\n".encode())
        f.truncate(520 * MB)
    build_parser()  # import every command's module first: only the refusal is measured
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = main(["--db", str(tmp_path / "t.duckdb"), "import", str(big)])
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert code == 2
    assert "超过 512 MB" in capsys.readouterr().err
    assert grown_mb < 50, grown_mb


def test_docx_without_text_refused():
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    msg = _only_error(read_uploads([("空白报告.docx", buf.getvalue())]))
    assert "中没有文字" in msg


def test_image_only_pdf_refused():
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    img = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(img, "PNG")
    img.seek(0)
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawImage(ImageReader(img), 50, 400, 400, 300)
    c.showPage()
    c.save()
    msg = _only_error(read_uploads([("扫描件.pdf", buf.getvalue())]))
    assert "没有可提取的文字" in msg and "扫描图片" in msg


def test_csv_with_10000_columns_refused():
    header = ",".join(f"列{i}" for i in range(10_000))
    data = (header + "\n" + ",".join("1" for _ in range(10_000)) + "\n").encode()
    results, peak = _measure(lambda: read_uploads([("宽表.csv", data)]))
    msg = _only_error(results)
    assert "列数超过 200" in msg
    assert peak < 20, peak


@pytest.mark.parametrize("name", ["../../etc/passwd.csv", "sub/报告.txt", "C:\\Windows\\报告.txt",
                                  "..\\..\\报告.txt"])
def test_upload_names_with_path_separators_refused(name):
    msg = _only_error(read_uploads([(name, "武汉市某街道办事处2022年度部门整体支出绩效自评报告".encode())]))
    assert "路径分隔符" in msg


def test_zip_members_climbing_out_refused_others_read():
    sample = open("data/samples/ronghua-2022.txt", "rb").read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.txt", sample)
        z.writestr("/etc/cron.d/evil.txt", sample)
        z.writestr("a\\..\\..\\evil.txt", sample)
        z.writestr("街道/ronghua-2022.txt", sample)
        z.writestr("inner.zip", b"PK")
    results = {r.name: r for r in read_uploads([("报告.zip", buf.getvalue())])}
    assert "指向压缩包以外" in str(results["报告.zip/../../evil.txt"].errors[0])
    assert "绝对路径" in str(results["报告.zip//etc/cron.d/evil.txt"].errors[0])
    assert "指向压缩包以外" in str(results["报告.zip/a\\..\\..\\evil.txt"].errors[0])
    assert "不能再套压缩包" in str(results["报告.zip/inner.zip"].errors[0])
    good = results["报告.zip/街道/ronghua-2022.txt"]
    assert good.ok and good.evaluations[0].self_score == 98


def test_same_evaluation_twice_in_one_upload_is_an_error():
    sample = open("data/samples/ronghua-2022.txt", "rb").read()
    a, b = read_uploads([("a.txt", sample), ("b.txt", sample)])
    assert a.ok and not b.ok and "已在文件 a.txt 中出现" in str(b.errors[0])
