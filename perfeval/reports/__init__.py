"""Reports people have to write: a unit's 自评结果 and the annual summary.

:func:`unit_report` and :func:`summary_report` return a :class:`Doc`;
:func:`render` / :func:`write` turn it into .docx or .pdf bytes or a file.
"""

from .doc import Doc
from .render import FORMATS, render, write
from .summary import summary_report
from .unit import unit_report

__all__ = ["Doc", "FORMATS", "render", "write", "summary_report", "unit_report"]
