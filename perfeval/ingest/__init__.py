"""Readers for every input form, and the one import path that commits them.

``read_file`` picks the reader by the file's kind: the flat template (.csv,
or a workbook with the template's headers), an official self-evaluation form
(.xlsx/.xls without them), or a narrative report (.txt/.docx/.pdf).
``import_files`` reads everything first and then writes in ONE transaction.
"""

from __future__ import annotations

from pathlib import Path

from ..model import PerfevalError
from .common import ERROR, WARNING, FileResult, Issue

TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm", ".xls"}
REPORT_SUFFIXES = {".txt", ".docx", ".pdf"}
SUFFIXES = TABLE_SUFFIXES | REPORT_SUFFIXES


def read_file(name: str, data: bytes, *, is_demo: bool = False,
              department: str | None = None) -> FileResult:
    """Read one file into evaluations (nothing is written). Never raises for
    bad content: problems come back as issues of the result. ``department``
    names the unit where an official form leaves 主管部门 and 实施单位 empty."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix not in SUFFIXES:
            raise PerfevalError(
                f"文件 {name}：不支持的文件类型“{suffix or '无扩展名'}”"
                "（支持 xlsx、xls、csv、txt、docx、pdf，或它们的 zip 压缩包）。")
        if suffix in TABLE_SUFFIXES:
            from .template import NotATemplate, read_template

            try:
                return read_template(name, data, is_demo=is_demo)
            except NotATemplate:
                if suffix == ".csv":
                    raise
                from .forms import read_form_workbook

                notes: list[str] = []
                evals = read_form_workbook(Path(name), data, department=department,
                                           warnings=notes)
                return FileResult(name=name, evaluations=evals, kind="自评表",
                                  issues=[Issue(name, n, severity=WARNING) for n in notes])
        from .report import read_report

        return FileResult(name=name, evaluations=[read_report(Path(name), data)], kind="报告")
    except PerfevalError as exc:
        return FileResult(name=name, issues=[Issue(name, str(exc), severity=ERROR)])


def evaluations_count(result: FileResult) -> int:
    return len(result.frames) if result.frames is not None else len(result.evaluations)


def commit(store, results: list[FileResult], *, skip_bad: bool = False,
           imported_by: str | None = None):
    """Write the evaluations of ``results`` in one transaction.

    Any file with errors stops everything unless ``skip_bad``; then only the
    good files are written. Returns the store's write results."""
    from ..store import frames_from

    bad = [r for r in results if not r.ok]
    if bad and not skip_bad:
        raise PerfevalError(
            f"{len(bad)} 个文件有错误，未写入任何数据：" + "、".join(r.name for r in bad))
    good = [r for r in results if r.ok]
    frames = [r.frames for r in good if r.frames is not None]
    objects = [e for r in good for e in r.evaluations]
    if objects:
        frames.append(frames_from(objects))
    if not frames:
        return []
    return store.write(_concat(frames) if len(frames) > 1 else frames[0],
                       imported_by=imported_by)


def _concat(parts):
    """Join several batches' frames, renumbering their evaluation keys."""
    import pandas as pd

    from ..store import Frames

    evs, children, offset = [], {t: [] for t in parts[0].children}, 0
    for f in parts:
        evs.append(f.evaluations.assign(ekey=f.evaluations["ekey"] + offset))
        for t, df in f.children.items():
            children[t].append(df.assign(ekey=df["ekey"] + offset))
        offset += int(f.evaluations["ekey"].max()) + 1 if len(f.evaluations) else 0
    return Frames(pd.concat(evs, ignore_index=True),
                  {t: pd.concat(v, ignore_index=True) for t, v in children.items()})
