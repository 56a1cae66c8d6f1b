"""Who has submitted: a year's expected units against its evaluations.

Expected units for year N are the list an administrator uploaded for N
(:func:`set_expected_units`, table ``expected_units``), or, without a list,
every unit with a current evaluation (of the filtered scope) in year N−1.
Units that submit without having been expected count as submitted (and so
as expected) too. The filters (region, kind, departments) and the viewer's
departments apply to both years; a listed unit that has never submitted has
no known region or kind, so it is left out while a region or kind filter is
set (it counts again without one).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from .ingest.common import decode_text
from .model import PerfevalError
from .queries import Filters, _evals

SOURCE_PREVIOUS = "上一年度参评单位"
SOURCE_LIST = "管理员上传的应参评单位名单"

EXPECTED_DDL = """
CREATE TABLE IF NOT EXISTS expected_units (
    year INTEGER NOT NULL, department VARCHAR NOT NULL, parent VARCHAR,
    uploaded_at TIMESTAMP, uploaded_by VARCHAR, PRIMARY KEY (year, department))"""

NAME_HEADERS = ("单位名称", "预算单位", "部门名称", "单位", "部门", "实施单位")
PARENT_HEADERS = ("主管部门", "上级部门", "主管单位")


@dataclass(frozen=True)
class Coverage:
    year: int
    expected: tuple[str, ...]  # units expected to submit for `year`
    submitted: tuple[str, ...]  # units with a current evaluation for `year`
    missing: tuple[str, ...]  # expected but not submitted, by name
    source: str = SOURCE_PREVIOUS  # where the expected units came from
    parents: tuple[tuple[str, str], ...] = ()  # (unit, 主管部门) where known

    @property
    def rate(self) -> float | None:
        """Share of expected units that submitted; None when none was expected."""
        if not self.expected:
            return None
        return 1 - len(self.missing) / len(self.expected)

    def parent_of(self, unit: str) -> str | None:
        return dict(self.parents).get(unit)

    def table(self) -> pd.DataFrame:
        """One row per expected unit: 单位, 主管部门, 状态 (已提交 / 未提交)."""
        parents = dict(self.parents)
        submitted = set(self.submitted)
        return pd.DataFrame({
            "单位": list(self.expected),
            "主管部门": [parents.get(u) or "" for u in self.expected],
            "状态": ["已提交" if u in submitted else "未提交" for u in self.expected]})


def _has_list_table(db) -> bool:
    df = db.query_df("SELECT count(*) AS n FROM information_schema.tables "
                     "WHERE table_name = 'expected_units'")
    return bool(df["n"].iloc[0])


def expected_list(db, year: int) -> pd.DataFrame | None:
    """The uploaded list for ``year`` (department, parent, region, kind), None without one."""
    if not _has_list_table(db):
        return None
    df = db.query_df("""
        SELECT x.department, coalesce(x.parent, d.parent) AS parent, d.region, d.kind,
               x.uploaded_at, x.uploaded_by
        FROM expected_units x LEFT JOIN departments d ON d.name = x.department
        WHERE x.year = ? ORDER BY x.department""", [int(year)])
    return None if df.empty else df


def coverage(db, f: Filters, allowed: Sequence[str] | None) -> Coverage | None:
    """Coverage of ``f.year`` (None when no year is chosen)."""
    if f.year is None:
        return None
    year = int(f.year)
    sql, params = _evals(f, allowed, [year - 1, year])
    df = db.query_df(f"""
        SELECT DISTINCT e.department, e.year, d.parent
        FROM ({sql}) e LEFT JOIN departments d ON d.dept_id = e.dept_id
        ORDER BY e.department""", params)  # noqa: S608 (the filters' fixed SQL)
    this = set(df.loc[df["year"] == year, "department"])
    parents = {r.department: r.parent for r in df.itertuples() if isinstance(r.parent, str)}
    listed = expected_list(db, year)
    if listed is None:
        last = set(df.loc[df["year"] == year - 1, "department"])
        source = SOURCE_PREVIOUS
    else:
        keep = pd.Series(True, index=listed.index)
        if allowed is not None:
            keep &= listed["department"].isin(list(allowed))
        if f.departments:
            keep &= listed["department"].isin(list(f.departments))
        if f.region:
            keep &= listed["region"].eq(f.region)
        if f.kind:
            keep &= listed["kind"].eq(f.kind)
        listed = listed[keep]
        last = set(listed["department"])
        parents.update({r.department: r.parent for r in listed.itertuples()
                        if isinstance(r.parent, str)})
        source = SOURCE_LIST
    expected = sorted(last | this)
    return Coverage(year=year, expected=tuple(expected), submitted=tuple(sorted(this)),
                    missing=tuple(sorted(last - this)), source=source,
                    parents=tuple(sorted((u, p) for u, p in parents.items() if u in expected)))


# -- the administrator's list ----------------------------------------------------------


def _rows(name: str, data: bytes) -> tuple[str, list[list]]:
    """(sheet label, rows) of a .csv or the first sheet of an .xlsx/.xls."""
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        text = decode_text(data)
        if text is None:
            raise PerfevalError(f"文件 {name} 的文字编码无法识别（支持 UTF-8 和 GBK）")
        return "", [row for row in csv.reader(io.StringIO(text))]
    if suffix in (".xlsx", ".xlsm", ".xls"):
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheet = wb.sheet_names[0]
            return sheet, wb.get_sheet_by_name(sheet).to_python()
        except Exception as exc:  # calamine raises several kinds on damaged files
            raise PerfevalError(f"文件 {name} 无法作为 Excel 工作簿打开（{type(exc).__name__}）") from exc
    raise PerfevalError(f"文件 {name} 不是 .xlsx、.xls 或 .csv 文件")


def _clean(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return " ".join(str(v).split())


def read_expected_units(name: str, data: bytes) -> pd.DataFrame:
    """The units of an uploaded list: columns department, parent (主管部门, may be None).

    The header row is the first of the first 20 rows that has a unit-name column
    (单位名称, 预算单位, 部门名称, 单位, 部门, 实施单位); 主管部门 is optional.
    """
    sheet, rows = _rows(name, data)
    where = f"文件 {name}" + (f" 工作表 {sheet}" if sheet else "")
    header_at = name_col = parent_col = None
    for i, row in enumerate(rows[:20]):
        cells = [_clean(c) for c in row]
        for key in NAME_HEADERS:
            if key in cells:
                header_at, name_col = i, cells.index(key)
                parent_col = next((cells.index(p) for p in PARENT_HEADERS if p in cells), None)
                break
        if header_at is not None:
            break
    if header_at is None:
        raise PerfevalError(f"{where}：前 20 行中没有“单位名称”列（也可写作 预算单位、部门名称、单位）")
    out: dict[str, str | None] = {}
    for i, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        cells = [_clean(c) for c in row]
        unit = cells[name_col] if name_col < len(cells) else ""
        parent = cells[parent_col] if parent_col is not None and parent_col < len(cells) else ""
        if not unit:
            if parent:
                raise PerfevalError(f"{where} 第 {i} 行：单位名称为空（主管部门为“{parent}”）")
            continue
        if len(unit) > 100:
            raise PerfevalError(f"{where} 第 {i} 行 单位名称：超过 100 个字")
        out[unit] = parent or out.get(unit)
    if not out:
        raise PerfevalError(f"{where}：没有单位名称")
    return pd.DataFrame({"department": list(out), "parent": pd.Series(list(out.values()), dtype=object)})


def set_expected_units(store, year: int, units: pd.DataFrame, *,
                       uploaded_by: str | None = None) -> int:
    """Replace the list of ``year`` with ``units`` (department, parent); one transaction."""
    df = units[["department", "parent"]].copy()
    df["parent"] = df["parent"].astype(object).where(df["parent"].notna(), None)
    df = df.drop_duplicates("department", keep="last")
    df.insert(0, "year", int(year))
    df["uploaded_at"] = datetime.now()
    df["uploaded_by"] = uploaded_by
    with store.transaction() as cur:
        cur.execute(EXPECTED_DDL)
        cur.execute("DELETE FROM expected_units WHERE year = ?", [int(year)])
        cur.register("new_expected", df)
        cur.execute("INSERT INTO expected_units BY NAME SELECT * FROM new_expected")
        cur.unregister("new_expected")
    return len(df)


def clear_expected_units(store, year: int) -> int:
    """Drop the list of ``year`` (back to last year's units); returns rows removed."""
    if not _has_list_table(store):
        return 0
    with store.transaction() as cur:
        n = cur.execute("SELECT count(*) FROM expected_units WHERE year = ?",
                        [int(year)]).fetchone()[0]
        cur.execute("DELETE FROM expected_units WHERE year = ?", [int(year)])
    return int(n)
