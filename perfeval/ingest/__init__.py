"""Readers for every input form, and the one pipeline that reads and commits them.

One result type (:class:`common.FileResult`), one zip/folder expander
(:func:`expand_upload` for uploads, :func:`iter_paths` for files and folders
on disk; both go through ``_zip_members``), one amount parser
(:mod:`amounts`), one reader entry (:func:`read_file`) and one writer
(:func:`commit`, which writes one transaction and an audit row per file).

``read_file`` picks the reader by the file's kind: the flat template (.csv,
or a workbook with the template's headers), an official self-evaluation form
(.xlsx/.xls without them), or a document (.txt/.docx/.pdf), which is read
as a form when a 自评表 is inside it (:mod:`documents`, :mod:`grid`) and
as a narrative report otherwise (:mod:`report`).

What a file does not state, the user supplies: ``read_file(department=,
year=)`` fills an empty department name or a missing year (else the file
name may give them, with a warning); an evaluation still lacking either puts
"部门"/"年度" in ``FileResult.needs`` and an error issue “需要补充：部门/年度”,
so the file is not committed. Reader warnings (``Evaluation.warnings`` and
the form reader's notes) become warning issues. Only a file that is no
self-evaluation at all is refused.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..model import PerfevalError, sha256_bytes
from . import limits
from .common import (
    ERROR,
    NEED_DEPARTMENT,
    NEED_YEAR,
    WARNING,
    FileResult,
    Issue,
    department_from_filename,
    needs_of,
    year_from_filename,
)

TABLE_SUFFIXES = {".csv", ".xlsx", ".xlsm", ".xls"}
REPORT_SUFFIXES = {".txt", ".docx", ".pdf"}
SUFFIXES = TABLE_SUFFIXES | REPORT_SUFFIXES
OOXML_SUFFIXES = {".xlsx", ".xlsm", ".docx"}

# Limits for every file read (CLI and dashboard). A year's template for a
# city is ~20 MB; a form or report well under 1 MB. Beyond these a file is
# refused before any parser sees it, so memory stays bounded.
MAX_FILE_BYTES = 100 * 2**20  # one file, as uploaded or as unpacked from a zip
# The command line runs on the operator's own machine and must take a
# province's template CSV (1 million rows ≈ 240 MB), so it allows more.
CLI_MAX_FILE_BYTES = 512 * 2**20
MAX_UNPACKED_BYTES = 300 * 2**20  # all parts of one .xlsx/.docx once decompressed (zip bombs)
MAX_UPLOAD_BYTES = 200 * 2**20  # all files of one upload, zips unpacked
MAX_UPLOAD_FILES = 500  # files of one upload, zips unpacked
_CHUNK = 2**20


def read_file(name: str, data: bytes, *, is_demo: bool = False,
              department: str | None = None, year: int | None = None,
              max_bytes: int = MAX_FILE_BYTES) -> FileResult:
    """Read one file into evaluations (nothing is written). Never raises for
    bad content: problems come back as issues of the result.

    ``department`` and ``year`` are what the user supplies for a file that
    does not state them (``perfeval import --dept --year``, the fields beside
    a file on 数据管理); what the file states wins. An evaluation still
    lacking either puts it in ``needs`` and an error issue (“需要补充：部门/年度”),
    so it is not committed. Reader warnings become warning issues."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix not in SUFFIXES:
            raise PerfevalError(
                f"文件 {name}：不支持的文件类型“{suffix or '无扩展名'}”"
                "（支持 xlsx、xls、csv、txt、docx、pdf，或它们的 zip 压缩包）。")
        check_size(name, data, max_bytes)
        limits.check(name, data)  # rows, cells, pages: bounded before any parser runs
        result = limits.guarded(name, lambda: _read_checked(
            name, data, suffix, is_demo=is_demo, department=department, year=year))
    except PerfevalError as exc:
        result = FileResult(name=name, issues=[Issue(name, str(exc), severity=ERROR)])
    except Exception as exc:  # a parser's own failure on damaged bytes: still one Chinese line
        result = FileResult(name=name, issues=[Issue(
            name, f"文件 {name} 无法读取（{type(exc).__name__}），请确认文件未损坏。",
            severity=ERROR)])
    result.checksum = sha256_bytes(data)
    if result.evaluations:
        _complete(result, department=department, year=year)
    return result


def _complete(result: FileResult, *, department: str | None, year: int | None) -> None:
    """Fill what the file left empty (the user's fields, else the file name),
    turn reader warnings into issues and say what is still needed."""
    from .report import department_of

    name = result.name
    for ev in result.evaluations:
        if not ev.department.name:
            guess = department or department_from_filename(name)
            if guess:
                ev.department.name = guess
                if not department:
                    ev.warnings.append(f"文件中未写明部门（单位），按文件名取为“{guess}”，请核对")
        if ev.year is None:
            guess = year or year_from_filename(name)
            if guess:
                ev.year = guess
                if not year:
                    ev.warnings.append(f"文件中未写明年度，按文件名取为 {guess} 年，请核对")
        if ev.department.name and not (ev.department.region or ev.department.kind):
            derived = department_of(ev.department.name)
            ev.department.region, ev.department.kind = derived.region, derived.kind
        if not ev.source_name:
            ev.source_name = Path(name).name
        for w in ev.warnings:
            if not any(i.message == w for i in result.issues):
                result.issues.append(Issue(name, w, severity=WARNING))
    result.needs = needs_of(result.evaluations)
    if result.needs:
        what = "/".join(result.needs)
        flags = "、".join({NEED_DEPARTMENT: "--dept 名称", NEED_YEAR: "--year 年度"}[n]
                         for n in result.needs)
        result.issues.append(Issue(name, f"需要补充：{what}（文件中未写明；命令行用 {flags}，"
                                         "或在数据管理页文件旁填写）", severity=ERROR))


def check_size(name: str, data: bytes, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse a file too large to read, or an Office file that unpacks too far."""
    if len(data) > max_bytes:
        raise PerfevalError(f"文件 {name} 有 {len(data) / 2**20:.0f} MB，超过单个文件 "
                            f"{max_bytes // 2**20} MB 的上限，请拆分后分批导入。")
    if Path(name).suffix.lower() in OOXML_SUFFIXES and data.startswith(b"PK"):
        _check_ooxml(name, data)


def _check_ooxml(name: str, data: bytes) -> None:
    """An .xlsx/.docx is a zip: its parts must unpack within MAX_UNPACKED_BYTES.
    The sizes a zip states may lie, so the parts are decompressed in chunks and
    counted (zipfile stops at the stated size and then checks the CRC)."""
    too_big = PerfevalError(
        f"文件 {name} 解压后超过 {MAX_UNPACKED_BYTES // 2**20} MB（可能是“压缩炸弹”），已拒绝。")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError):
        return  # not a zip at all: the reader says what the file is
    try:
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_UPLOAD_FILES or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise too_big
            total = 0
            for info in infos:
                with zf.open(info) as fh:
                    while chunk := fh.read(_CHUNK):
                        total += len(chunk)
                        if total > MAX_UNPACKED_BYTES:
                            raise too_big
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
            OSError, zlib.error) as exc:
        raise PerfevalError(f"文件 {name} 已损坏，无法作为 {Path(name).suffix} 打开（{exc}）。") from exc


def _read_checked(name: str, data: bytes, suffix: str, *, is_demo: bool,
                  department: str | None, year: int | None) -> FileResult:
    try:
        if suffix in TABLE_SUFFIXES:
            from .template import NotATemplate, read_template

            try:
                return read_template(name, data, is_demo=is_demo)
            except NotATemplate:
                if suffix == ".csv":
                    raise
                from .forms import read_form_workbook

                notes: list[str] = []
                evals = read_form_workbook(Path(name), data, department=department, year=year,
                                           warnings=notes)
                return FileResult(name=name, evaluations=evals, kind="自评表",
                                  issues=[Issue(name, n, severity=WARNING) for n in notes])
        from .documents import read_document

        evals, notes, kind = read_document(name, data, department=department, year=year)
        return FileResult(name=name, evaluations=evals, kind=kind,
                          issues=[Issue(name, n, severity=WARNING) for n in notes])
    except PerfevalError as exc:
        return FileResult(name=name, issues=[Issue(name, str(exc), severity=ERROR)])


# --------------------------------------------------------------------------
# Uploads (the dashboard): names are checked, zips unpacked in memory
# --------------------------------------------------------------------------

def unsafe_name_reason(name: str, *, in_zip: bool) -> str | None:
    """Why a file name is refused, or None. An upload is a bare file name; a
    zip member may sit in folders but never climb out or start at a root."""
    if not name or "\x00" in name:
        return "文件名为空或含非法字符"
    if not in_zip:
        if "/" in name or "\\" in name:
            return "文件名含路径分隔符（/ 或 \\）"
        return None
    norm = name.replace("\\", "/")
    parts = PurePosixPath(norm).parts
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "压缩包内的文件名是绝对路径"
    if ".." in parts:
        return "压缩包内的文件名含“..”，指向压缩包以外"
    return None


def _refused(name: str, message: str) -> FileResult:
    return FileResult(name=name, issues=[Issue(name, message, severity=ERROR)])


def expand_upload(name: str, data: bytes) -> tuple[list[tuple[str, bytes]], list[FileResult]]:
    """One uploaded file → (files to read, refusals). A zip gives its members
    (no nested zips), within MAX_UPLOAD_FILES and MAX_UPLOAD_BYTES."""
    reason = unsafe_name_reason(name, in_zip=False)
    if reason:
        return [], [_refused(name, f"文件「{name}」已拒绝：{reason}。")]
    if Path(name).suffix.lower() != ".zip":
        return [(name, data)], []
    return _zip_members(name, data)


def _member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if not info.flag_bits & 0x800:  # no UTF-8 flag: Windows zips store GBK names
        try:
            name = name.encode("cp437").decode("gbk")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _zip_members(name: str, data: bytes) -> tuple[list[tuple[str, bytes]], list[FileResult]]:
    """The members of one zip (the one expander for uploads, files and folders)."""
    if len(data) > MAX_UPLOAD_BYTES:
        return [], [_refused(name, f"压缩包 {name} 超过 {MAX_UPLOAD_BYTES // 2**20} MB，已拒绝。")]
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        return [], [_refused(name, f"压缩包 {name} 已损坏，无法打开。")]
    files, refused, total = [], [], 0
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_UPLOAD_FILES:
            return [], [_refused(name, f"压缩包 {name} 含 {len(infos)} 个文件，"
                                       f"超过上限 {MAX_UPLOAD_FILES}。")]
        for info in infos:
            member = _member_name(info)
            label = f"{name}/{member}"
            reason = unsafe_name_reason(member, in_zip=True)
            if reason:
                refused.append(_refused(label, f"「{label}」已拒绝：{reason}。"))
                continue
            if _skip_name(member):
                continue
            base = PurePosixPath(member.replace("\\", "/")).name
            if base.lower().endswith(".zip"):
                refused.append(_refused(label, f"{label}：压缩包内不能再套压缩包，请解开后上传。"))
                continue
            if info.file_size > MAX_FILE_BYTES:
                refused.append(_refused(label, f"{label} 解压后超过 {MAX_FILE_BYTES // 2**20} MB，"
                                               "已拒绝。"))
                continue
            try:  # the stated size may lie: read one byte past the limit
                body = limits.read_member(zf, info, MAX_FILE_BYTES, label)
            except PerfevalError as exc:  # this member only: the others are read
                refused.append(_refused(label, str(exc)))
                continue
            if len(body) > MAX_FILE_BYTES:
                refused.append(_refused(label, f"{label} 解压后超过 {MAX_FILE_BYTES // 2**20} MB，"
                                               "已拒绝。"))
                continue
            total += len(body)
            if total > MAX_UPLOAD_BYTES:
                return [], [_refused(name, f"压缩包 {name} 解压后超过 "
                                           f"{MAX_UPLOAD_BYTES // 2**20} MB（可能是“压缩炸弹”），已拒绝。")]
            files.append((label, body))
    return files, refused


def _skip_name(name: str) -> bool:
    base = PurePosixPath(name.replace("\\", "/")).name
    # Office lock files, macOS resource forks, hidden files.
    return base.startswith(("~$", ".", "._")) or "__MACOSX" in name


def iter_paths(paths, *, max_bytes: int = CLI_MAX_FILE_BYTES):
    """Files named, files under folders (recursively) and members of zips, in a
    stable order, one at a time: ``(name, bytes)``, or a FileResult refusing
    a path (missing, unreadable, too large, a bad zip)."""
    for p in map(Path, paths):
        if p.is_dir():
            items = [(str(f.relative_to(p.parent)), f) for f in sorted(p.rglob("*"))
                     if f.is_file() and not _skip_name(str(f.relative_to(p)))]
        elif p.exists():
            items = [(p.name, p)]
        else:
            yield _refused(str(p), f"找不到文件或文件夹：{p}")
            continue
        for label, f in items:
            try:
                if f.stat().st_size > max_bytes:
                    yield _refused(label, f"文件 {label} 超过 {max_bytes // 2**20} MB，已拒绝。")
                    continue
                body = f.read_bytes()
            except OSError as exc:
                yield _refused(label, f"无法读取文件 {label}：{exc.strerror or exc}")
                continue
            if f.suffix.lower() == ".zip":
                members, refused = _zip_members(label, body)
                yield from refused
                yield from members
            else:
                yield label, body


def read_paths(paths, *, department: str | None = None, year: int | None = None,
               max_bytes: int = CLI_MAX_FILE_BYTES) -> list[FileResult]:
    """Dry run of files, folders and zips on disk (the command line): one
    result per file, refusals included, duplicates flagged; nothing written."""
    out = []
    for item in iter_paths(paths, max_bytes=max_bytes):
        if isinstance(item, FileResult):
            out.append(item)
        else:
            out.append(read_file(item[0], item[1], department=department, year=year,
                                 max_bytes=max_bytes))
    _flag_duplicates(out)
    return out


def read_uploads(uploads: list[tuple[str, bytes]], *, department: str | None = None,
                 year: int | None = None,
                 fields: dict[str, tuple[str | None, int | None]] | None = None) -> list[FileResult]:
    """Dry run of an upload: one result per file (zips unpacked), in upload order.
    Refused files come back as results with an error; nothing is written.
    ``fields`` gives, per file name, the 部门/年度 the user filled in beside it."""
    out: list[FileResult] = []
    total = sum(len(d) for _, d in uploads)
    if len(uploads) > MAX_UPLOAD_FILES or total > MAX_UPLOAD_BYTES:
        return [_refused("（本次上传）", f"一次最多上传 {MAX_UPLOAD_FILES} 个文件、共 "
                                      f"{MAX_UPLOAD_BYTES // 2**20} MB，请分批上传。")]
    count = 0
    for name, data in uploads:
        files, refused = expand_upload(name, data)
        out.extend(refused)
        for member, body in files:
            count += 1
            if count > MAX_UPLOAD_FILES:
                out.append(_refused(member, f"本次上传超过 {MAX_UPLOAD_FILES} 个文件，其余未读取。"))
                return out
            dept, yr = (fields or {}).get(member, (None, None))
            out.append(read_file(member, body, department=dept or department, year=yr or year))
    _flag_duplicates(out)
    return out


def _keys(result: FileResult) -> list[tuple]:
    if result.frames is not None:
        ev = result.frames.evaluations
        return list(zip(ev["department"], ev["year"], ev["scope"], ev["project"], strict=True))
    return [(e.department.name, e.year, e.scope, e.project or "") for e in result.evaluations]


def _flag_duplicates(results: list[FileResult]) -> None:
    """Two files giving the same evaluation: the later one is an error."""
    seen: dict[tuple, str] = {}
    for r in results:
        if not r.ok:
            continue
        for key in _keys(r):
            key = (key[0], int(key[1]), key[2], key[3])
            if key in seen:
                r.issues.append(Issue(r.name, f"{key[0]} {key[1]} 年度（{key[3] or key[2]}）"
                                              f"已在文件 {seen[key]} 中出现。", severity=ERROR))
                break
            seen[key] = r.name


def summarize(result: FileResult) -> list[dict]:
    """What a file would write, one row per evaluation (the dry run's table)."""
    if result.frames is not None:
        f = result.frames
        ev = f.evaluations
        ind = f.children["indicators"].groupby("ekey").size()
        goals = f.children["goals"].groupby("ekey").size()
        lines = f.children["budget_lines"].groupby("ekey").size()
        return [dict(部门=r.department, 年度=int(r.year), 范围=r.scope, 项目=r.project or "",
                     目标=int(goals.get(r.ekey, 0)), 指标=int(ind.get(r.ekey, 0)),
                     预算行=int(lines.get(r.ekey, 0)),
                     自评得分=None if r.self_score != r.self_score else r.self_score)
                for r in ev.itertuples()]
    return [dict(部门=e.department.name, 年度=e.year, 范围=e.scope, 项目=e.project or "",
                 目标=len(e.goals), 指标=sum(len(g.indicators) for g in e.goals),
                 预算行=len(e.budget), 自评得分=e.self_score)
            for e in result.evaluations]


def evaluations_count(result: FileResult) -> int:
    return len(result.frames) if result.frames is not None else len(result.evaluations)


def commit(store, results: list[FileResult], *, skip_bad: bool = False,
           imported_by: str | None = None):
    """Write the evaluations of ``results`` in one transaction, with their
    scores and their audit-log rows: if any part fails, nothing lands (the
    failure itself is then logged on its own).

    Any file with errors stops everything unless ``skip_bad``; then only the
    good files are written. Returns the store's write results."""
    from .. import auditlog
    from ..store import frames_from
    from ..values import parse_frames

    actor = imported_by or auditlog.cli_actor()
    bad = [r for r in results if not r.ok]
    refusals = [dict(action=auditlog.IMPORT, actor=actor, file_name=r.name, checksum=r.checksum,
                     result=auditlog.REFUSED, detail=r.errors[0].message[:500]) for r in bad]
    if bad and not skip_bad:
        auditlog.log_many(store, refusals)
        raise PerfevalError(
            f"{len(bad)} 个文件有错误，未写入任何数据：" + "、".join(r.name for r in bad))
    good = [r for r in results if r.ok]
    same = set_aside_identical(store, good)
    refusals += [dict(action=auditlog.IMPORT, actor=actor, file_name=r.name, checksum=r.checksum,
                      department=key[0], year=key[1], revision=rev, result=auditlog.OK,
                      detail=f"与第 {rev} 版相同，未新增版本")
                 for r, revs in same for key, rev in revs]
    set_aside = {id(r) for r, _ in same}
    good = [r for r in good if id(r) not in set_aside]
    frames = [parse_frames(r.frames) for r in good if r.frames is not None]
    objects = [e for r in good for e in r.evaluations]
    if objects:
        frames.append(frames_from(objects))
    if not frames:
        auditlog.log_many(store, refusals)
        return []
    # Which file gave each written evaluation, for its audit row.
    source = {}
    for r in good:
        for key in _keys(r):
            source[(key[0], int(key[1]), key[2], key[3])] = r

    def log_rows(written) -> list[dict]:
        rows = []
        for w in written:
            r = source.get((w.department, int(w.year), w.scope, w.project))
            rows.append(dict(action=auditlog.IMPORT, actor=actor, file_name=r and r.name,
                             checksum=r and r.checksum, department=w.department, year=w.year,
                             revision=w.revision, result=auditlog.OK,
                             detail=f"{w.scope}「{w.project}」" if w.project else w.scope))
        return refusals + rows

    try:
        return store.write(_concat(frames) if len(frames) > 1 else frames[0],
                           imported_by=imported_by, log=log_rows)
    except Exception as exc:
        auditlog.log_many(store, refusals + [
            dict(action=auditlog.IMPORT, actor=actor, file_name=r.name, checksum=r.checksum,
                 result=auditlog.FAILED, detail=str(exc)[:500]) for r in good])
        raise


IDENTICAL = "与已导入的版本完全相同"


def set_aside_identical(store, results: list[FileResult]) -> list[tuple[FileResult, list]]:
    """Files whose every evaluation is current in the store with the file's own
    checksum: re-importing such a byte-identical file adds no revision. Each
    gets a warning naming the revision it equals; the caller skips them.
    Returns [(file, [(evaluation key, revision it equals)])]."""
    out = []
    for r in results:
        keys = {(k[0], int(k[1]), k[2], k[3]) for k in _keys(r)}
        if not r.checksum or not keys:
            continue
        rows = store.query_df("""
            SELECT d.name AS department, e.year, e.scope, e.project, e.revision
            FROM evaluations e JOIN departments d USING (dept_id)
            WHERE e.is_current AND e.checksum = ?""", [r.checksum])
        stored = {(x.department, int(x.year), x.scope, x.project): int(x.revision)
                  for x in rows.itertuples()}
        if not keys <= stored.keys():
            continue
        revs = sorted({stored[k] for k in keys})
        which = (f"{next(iter(keys))[0]} {next(iter(keys))[1]} 年度的第 {revs[0]} 版" if len(keys) == 1
                 else f"{len(keys)} 份评价的当前版本（第 {'、'.join(map(str, revs))} 版）")
        r.issues.append(Issue(r.name, f"{IDENTICAL}：与{which}相同（文件校验和一致），未新增版本。",
                              severity=WARNING))
        out.append((r, sorted((k, stored[k]) for k in keys)))
    return out


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
