"""What every reader returns: the evaluations it read and the problems it met."""

from __future__ import annotations

from dataclasses import dataclass, field

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
