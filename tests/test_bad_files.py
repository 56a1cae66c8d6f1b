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
    out = capsys.readouterr()
    assert "超过 512 MB" in out.out + out.err
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


# --------------------------------------------------------------------------
# Issue 13, item 6: malformed files give the reader's Chinese error, not a
# traceback; exit 2 on the CLI with an audit row; the other files go on.
# --------------------------------------------------------------------------

def _cli_import(capsys, db, *files, dry_run=False):
    args = ["--db", str(db), "import", *map(str, files)] + (["--dry-run"] if dry_run else [])
    code = main(args)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_xlsx_with_undefined_entity_is_a_chinese_error(tmp_path):
    from tests.malformed import undefined_entity_xlsx

    r = read_file("entity.xlsx", undefined_entity_xlsx(tmp_path))
    assert not r.ok
    msg = r.errors[0].message
    assert "entity.xlsx" in msg and "已损坏" in msg and "绩效自评" in msg


def test_xlsx_sheet_larger_than_declared_is_a_chinese_error(tmp_path):
    from tests.malformed import understated_sheet_xlsx

    r = read_file("lying.xlsx", understated_sheet_xlsx(tmp_path))
    assert not r.ok and "已损坏" in r.errors[0].message


def test_zip_with_corrupt_member_refuses_that_member_only(tmp_path):
    from tests.malformed import template_csv, zip_with_corrupt_member

    results = read_uploads([("batch.zip", zip_with_corrupt_member(template_csv())),
                            ("other.csv", template_csv("丙街道办事处"))])
    by_name = {r.name: r for r in results}
    assert by_name["batch.zip/good.csv"].ok and by_name["other.csv"].ok
    bad = by_name["batch.zip/bad.csv"]
    assert not bad.ok and "已损坏" in bad.errors[0].message and "无法解压" in bad.errors[0].message


def test_malformed_files_on_the_cli_exit_2_with_audit_rows(tmp_path, capsys):
    from perfeval import auditlog
    from perfeval.store import Store
    from tests.malformed import (
        template_csv,
        undefined_entity_xlsx,
        understated_sheet_xlsx,
        zip_with_corrupt_member,
    )

    files = {"entity.xlsx": undefined_entity_xlsx(tmp_path),
             "lying.xlsx": understated_sheet_xlsx(tmp_path),
             "batch.zip": zip_with_corrupt_member(template_csv()),
             "other.csv": template_csv("丙街道办事处")}
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    db = tmp_path / "cli.duckdb"
    code, out = _cli_import(capsys, db, *paths, dry_run=True)
    assert "Traceback" not in out and code == 1
    assert "other.csv：可导入" in out  # the good file's dry run is intact
    code, out = _cli_import(capsys, db, *paths)
    assert code == 2 and "Traceback" not in out and "未写入任何数据" in out
    with Store(db) as s:
        log = auditlog.read_log(s)
        refused = set(log.loc[log["结果"] == auditlog.REFUSED, "文件"])
        assert {"entity.xlsx", "lying.xlsx", "batch.zip/bad.csv"} <= refused
        assert s.counts()["evaluations"] == 0
    # --skip-bad writes the good files (the zip's good member too) and logs the others.
    code, out = _cli_import(capsys, db, *paths, "--skip-bad")
    with Store(db) as s:
        assert s.counts()["evaluations"] == 2


def test_backup_with_missing_member_on_the_cli(tmp_path, capsys):
    import zipfile as zf

    from perfeval import backup
    from perfeval.store import Store
    from tests.conftest import small_evaluation

    with Store(tmp_path / "a.duckdb") as s:
        s.write([small_evaluation()])
        backup.write_parquet_zip(s, tmp_path / "b.zip")
    with zf.ZipFile(tmp_path / "b.zip") as a, zf.ZipFile(tmp_path / "c.zip", "w") as b:
        for info in a.infolist():
            if info.filename != "indicators.parquet":
                b.writestr(info, a.read(info))
    target = tmp_path / "r.duckdb"
    code = main(["--db", str(target), "restore-backup", str(tmp_path / "c.zip")])
    out = capsys.readouterr()
    assert code == 2 and "缺少 indicators.parquet" in out.out + out.err
    assert not target.exists()


def test_encrypted_pdf_says_password_protected():
    from tests.malformed import report_pdf

    r = read_file("secret.pdf", report_pdf(password="s3cret"))
    assert not r.ok and "密码" in r.errors[0].message, r.issues


# --------------------------------------------------------------------------
# Issue 13, item 7: bounded reading (perfeval.ingest.limits)
# --------------------------------------------------------------------------

# The child's own peak (VmHWM): its ru_maxrss would start at pytest's peak.
CHILD = """
import sys, time
from pathlib import Path
from perfeval.ingest import read_file
from tests.test_fuzz_readers import peak_rss_mb
data = Path(sys.argv[1]).read_bytes()
t = time.time()
r = read_file(Path(sys.argv[1]).name, data)
print(round(time.time() - t, 2), peak_rss_mb(), r.ok, r.errors[0].message if r.errors else "")
"""


def _child_read(path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    secs, rss, ok, msg = out.stdout.strip().split(" ", 3)
    return float(secs), int(rss), ok == "True", msg


def test_numeric_bomb_xlsx_is_refused_fast_and_small(tmp_path):
    """290 MB of numeric cells in a 1.1 MB workbook: 214 s and 7.2 GB before."""
    from perfeval.ingest.limits import MAX_XLSX_CELLS
    from tests.malformed import numeric_xlsx

    path = tmp_path / "numbers.xlsx"
    path.write_bytes(numeric_xlsx(290))
    assert path.stat().st_size < 2 * MB
    secs, rss, ok, msg = _child_read(path)
    assert not ok and f"{MAX_XLSX_CELLS:,}" in msg
    assert rss < 1024 and secs < 60, (secs, rss)


def test_20000_page_pdf_is_refused_fast_and_small(tmp_path):
    """56 s and 2.1 GB before."""
    from perfeval.ingest.limits import MAX_PDF_PAGES
    from tests.malformed import many_pages_pdf

    path = tmp_path / "pages.pdf"
    path.write_bytes(many_pages_pdf(20_000))
    secs, rss, ok, msg = _child_read(path)
    assert not ok and "20,000 页" in msg and str(MAX_PDF_PAGES) in msg
    assert rss < 1024 and secs < 60, (secs, rss)


def test_limits_do_not_refuse_ordinary_files(tmp_path):
    from perfeval.ingest import limits
    from tests.malformed import many_pages_pdf, template_xlsx

    limits.check("t.xlsx", template_xlsx(tmp_path))
    limits.check("p.pdf", many_pages_pdf(limits.MAX_PDF_PAGES))
    with pytest.raises(Exception, match="上限"):
        limits.check("p.pdf", many_pages_pdf(limits.MAX_PDF_PAGES + 1))
