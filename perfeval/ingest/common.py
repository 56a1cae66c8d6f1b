"""What every reader returns: the evaluations it read and the problems it met."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..model import Evaluation

ERROR = "错误"
WARNING = "警告"


@dataclass
class Issue:
    """One problem found in an input file, located as precisely as the form allows."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None  # 1-based, as Excel and text editors count
    column: str | None = None  # Excel letter (xlsx) or column header (csv)
    severity: str = ERROR

    def __str__(self) -> str:
        where = [f"文件 {self.file}"]
        if self.sheet:
            where.append(f"工作表「{self.sheet}」")
        if self.row is not None:
            where.append(f"第 {self.row} 行")
        if self.column:
            where.append(f"{self.column} 列")
        return f"[{self.severity}] {'，'.join(where)}：{self.message}"


@dataclass
class FileResult:
    """The outcome of reading one file; nothing is written until the caller commits."""

    name: str
    evaluations: list[Evaluation] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    frames: object | None = None  # store.Frames, for the bulk table path
    kind: str = ""  # 模板 / 报告 / 自评表
    checksum: str | None = None  # SHA-256 of the file's bytes (for the audit log)
    # Fields the user must supply before the file can be written ("部门", "年度"):
    # an evaluation whose department name is "" or whose year is None.
    needs: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


NEED_DEPARTMENT = "部门"
NEED_YEAR = "年度"


def needs_of(evaluations: list[Evaluation]) -> list[str]:
    """Which of 部门/年度 some evaluation still lacks."""
    out = []
    if any(not e.department.name for e in evaluations):
        out.append(NEED_DEPARTMENT)
    if any(e.year is None for e in evaluations):
        out.append(NEED_YEAR)
    return out


_FORM_WORDS = re.compile(
    r"(?:部门|单位)?(?:（单位）|\(单位\))?(?:整体)?(?:项目)?(?:支出)?(?:预算)?(?:绩效)?"
    r"(?:自评|评价)(?:表|报告|结果|总结报告)|项目支出|整体支出|部门整体|绩效自评|附件\s*\d*")
_YEAR = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_UNIT_END = re.compile(r"(局|委员会|委|办公室|办事处|办|中心|院|所|站|队|馆|学校|医院|政府|街道|镇|乡"
                       r"|联合会|妇联|团委|工会|残联|科协|部|厅|处|会|社|公司)$")


def _stem(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    return unicodedata.normalize("NFKC", base.rsplit(".", 1)[0])


def year_from_filename(name: str) -> int | None:
    """``2022年荣华街道绩效自评.docx`` → 2022 (one year only, else None)."""
    years = {int(y) for y in _YEAR.findall(_stem(name)) if 2000 <= int(y) <= 2100}
    return years.pop() if len(years) == 1 else None


def department_from_filename(name: str) -> str | None:
    """A unit name the file name states: the stem without years and form words,
    kept only when it ends like a unit name (…局, …中心, …街道办事处)."""
    t = _YEAR.sub(" ", _stem(name))
    t = re.sub(r"年度?", " ", t)
    t = _FORM_WORDS.sub(" ", t)
    parts = [p for p in re.split(r"[\s_\-—、，,（）()【】\[\]]+", t) if p]
    for p in parts:
        if len(p) >= 3 and _UNIT_END.search(p) and re.search(r"[\u4e00-\u9fff]", p):
            return p
    return None


def decode_text(data: bytes) -> str | None:
    """Bytes of a text file in UTF-16 (with BOM), UTF-8 or GBK; None when none fits."""
    encodings = (["utf-16"] if data.startswith((b"\xff\xfe", b"\xfe\xff"))
                 else ["utf-8-sig", "gb18030"])  # gb18030 is a superset of GBK
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return None


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN_PARTS = {_W + t for t in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab")}


def docx_paragraph_text(p) -> str:
    """python-docx's ``Paragraph.text`` of a ``w:p`` element, without its XPath
    union, which grows with the square of a run's parts (a paragraph of a
    few thousand line breaks took minutes). Each part gives its own text
    (python-docx's elements: w:br → "\\n", w:tab → "\\t")."""
    out: list[str] = []
    for child in p:
        if child.tag == _W + "r":
            runs = (child,)
        elif child.tag == _W + "hyperlink":
            runs = [r for r in child if r.tag == _W + "r"]
        else:
            continue
        for r in runs:
            out.extend(str(e) for e in r if e.tag in _RUN_PARTS)
    return "".join(out)


def docx_cell_text(tc) -> str:
    """``_Cell.text`` of a ``w:tc`` element, the same way."""
    return "\n".join(docx_paragraph_text(p) for p in tc if p.tag == _W + "p")
