"""``perfeval bench``: build synthetic databases of stated sizes and time the
work users wait for — demo generation, CSV import, scoring, audit and one
rerun of each dashboard page — plus file size and peak memory.

Figures are printed as a table, or with ``--json`` as one object whose keys
name the figure and its unit (``*_s`` seconds, ``*_rows_per_s``, ``*_bytes``),
so releases can be compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .store import Store


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_size(rows: int, workdir: Path, *, csv_import: bool, pages: bool,
               browser: bool = False) -> dict:
    from .demo import build_demo
    from .scoring import score_store

    tag = _tag(rows)
    db = workdir / f"bench-{tag}.duckdb"
    out: dict[str, float | int] = {}
    with Store(db) as store:
        secs, counts = _timed(lambda: build_demo(store, scale=rows, with_sample=False))
        n = counts["indicators"]
        out[f"{tag}_indicator_rows"] = n
        out[f"{tag}_demo_generate_s"] = round(secs, 2)
        out[f"{tag}_demo_generate_rows_per_s"] = round(n / secs)
        # Imports score as they write; this times scoring everything afresh.
        secs, _ = _timed(lambda: score_store(store, recompute=True))
        out[f"{tag}_score_s"] = round(secs, 2)
        out[f"{tag}_score_rows_per_s"] = round(n / secs)
        if csv_import:
            out.update(_bench_csv(store, workdir, tag))
    out[f"{tag}_db_file_bytes"] = db.stat().st_size
    out.update(_bench_audit(db, tag))
    if pages:
        out.update(_bench_pages(db, tag))
    if browser:
        out.update(_bench_browser(db, tag))
    return out


def _child_json(code: str, db: Path, failure: str) -> dict:
    """Run ``code`` in a child Python with ``db`` as its argument; its last
    output line is a JSON object."""
    proc = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{failure}：{proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _bench_audit(db: Path, tag: str) -> dict:
    """The audit of every current evaluation (perfeval.audit.bench_audit) in a
    child process that opens the file read-only, so its peak memory is the
    audit's and not the generator's or the scorer's."""
    code = ("import json,sys; from perfeval.audit import bench_audit; "
            "from perfeval.store import Store; s = Store(sys.argv[1], read_only=True); "
            "print(json.dumps(bench_audit(s)))")
    audit = _child_json(code, db, "复核计时失败")
    out = {f"{tag}_audit_s": round(audit["seconds"], 2), f"{tag}_audit_findings": audit["findings"]}
    if audit.get("peak_rss_bytes") is not None:
        out[f"{tag}_audit_peak_rss_bytes"] = audit["peak_rss_bytes"]
    if audit.get("frame_seconds") is not None:
        out[f"{tag}_audit_frame_s"] = round(audit["frame_seconds"], 2)
    return out


def _bench_browser(db: Path, tag: str) -> dict:
    """First view and a year change of each page in Chromium, beside a trivial
    Streamlit page (perfeval.ui.bench.bench_browser), in a child process."""
    code = ("import json,sys; from perfeval.ui.bench import bench_browser; "
            "print(json.dumps(bench_browser(sys.argv[1])))")
    proc = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"浏览器计时失败：{proc.stderr.strip().splitlines()[-1:]}")
    timings = json.loads(proc.stdout.strip().splitlines()[-1])
    return {f"{tag}_browser_{k}": v for k, v in timings.items()}


def _bench_csv(store: Store, workdir: Path, tag: str) -> dict:
    """Export the current data as template CSVs, then import them into a new
    file, one after another: a file holds at most limits.MAX_TEMPLATE_ROWS
    rows, so larger data is split at evaluation boundaries."""
    from .ingest import CLI_MAX_FILE_BYTES, commit, read_file
    from .ingest.limits import MAX_TEMPLATE_ROWS
    from .ingest.template import frame_from_store
    from .safe import write_csv

    frame = frame_from_store(store)
    key = frame.groupby(["部门", "年度", "评价范围", "项目名称"], sort=False, dropna=False).ngroup()
    first_row = key.map(key.reset_index(drop=True).drop_duplicates().reset_index()
                        .set_index(0)["index"])
    part = first_row // (MAX_TEMPLATE_ROWS - 1000)  # an evaluation has far fewer rows
    csvs = []
    for k, rows in frame.groupby(part, sort=True):
        csvs.append(workdir / f"bench-{tag}-{k + 1}.csv")
        write_csv(rows, csvs[-1])
    del frame
    target = workdir / f"bench-{tag}-import.duckdb"

    def run():
        n = 0
        with Store(target) as s:
            for csv in csvs:
                result = read_file(csv.name, csv.read_bytes(), max_bytes=CLI_MAX_FILE_BYTES)
                if not result.ok:
                    raise RuntimeError("; ".join(map(str, result.errors[:3])))
                commit(s, [result])
                n += len(result.frames.children["indicators"])
        return n

    secs, n = _timed(run)
    return {f"{tag}_csv_bytes": sum(c.stat().st_size for c in csvs),
            f"{tag}_csv_import_s": round(secs, 2),
            f"{tag}_csv_import_rows_per_s": round(n / secs)}


def _bench_pages(db: Path, tag: str) -> dict:
    """One rerun of each page (AppTest) in a child process, so its peak memory
    is the dashboard's and not this process's."""
    # VmHWM is the child's own peak after exec; getrusage would count the
    # parent's pages shared at fork time.
    code = ("import json,sys,re; from perfeval.ui.bench import bench_pages; "
            "t = bench_pages(sys.argv[1]); "
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()); "
            "t['peak_rss_bytes'] = int(hwm.group(1)) * 1024 if hwm else None; "
            "print(json.dumps(t))")
    timings = _child_json(code, db, "页面计时失败")
    peak = timings.pop("peak_rss_bytes")
    out = {f"{tag}_page_{name}_s": round(secs, 3) for name, secs in timings.items()}
    out[f"{tag}_pages_peak_rss_bytes"] = peak
    return out


def _tag(rows: int) -> str:
    return f"{rows // 1_000_000}m" if rows >= 1_000_000 else f"{rows // 1000}k"


SAMPLE_TEXT = Path(__file__).resolve().parent.parent / "data" / "samples" / "ronghua-2022.txt"


def bench_reading(min_seconds: float = 1.0) -> dict:
    """Reading throughput through the one pipeline (``ingest.read_file``), in
    documents per second: the sample report as text, and the same evaluation
    as a central-form workbook (written by :mod:`perfeval.formwriter`)."""
    import io

    from .formwriter import write_form
    from .ingest import read_file

    text = SAMPLE_TEXT.read_bytes()
    first = read_file(SAMPLE_TEXT.name, text)
    buf = io.BytesIO()
    write_form(first.evaluations, buf)
    inputs = {"report_text": (SAMPLE_TEXT.name, text),
              "form_workbook": ("ronghua-2022.xlsx", buf.getvalue())}
    out: dict[str, float | int] = {}
    for key, (name, data) in inputs.items():
        n, start = 0, time.perf_counter()
        while True:
            result = read_file(name, data)
            if not result.evaluations:
                raise RuntimeError("; ".join(map(str, result.errors[:3])))
            n += 1
            secs = time.perf_counter() - start
            if secs >= min_seconds and n >= 3:
                break
        out[f"read_{key}_docs_per_s"] = round(n / secs, 1)
    return out


def run(sizes: list[int], *, csv_rows: int, page_sizes: list[int], keep: Path | None,
        browser_sizes: list[int] | None = None) -> dict:
    out: dict[str, float | int] = dict(bench_reading())
    with tempfile.TemporaryDirectory(prefix="perfeval-bench-") as tmp:
        workdir = keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for rows in sizes:
            out.update(bench_size(rows, workdir, csv_import=rows == csv_rows,
                                  pages=rows in page_sizes,
                                  browser=rows in (browser_sizes or [])))
    return out

