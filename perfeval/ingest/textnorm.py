"""Normalising report text before it is read.

Reports arrive as text copied out of PDFs or web pages: lines are wrapped at a
fixed width (often mid-word: ``基\\n\\n本支出``), pages break mid-sentence,
digits and punctuation come full-width or half-width at random, and amounts
carry thousands separators (``5,431.28 万元``). Everything here turns such text
into one canonical form, so that the reading rules in ``report.py`` need to
know one spelling of each thing:

- digits and Latin letters half-width; Chinese punctuation ``，：；（）！？``
  full-width (except inside numbers: ``5,431.28``, ``14:54``);
- thousands separators removed (``5431.28``);
- runs of spaces collapsed to one, but kept where they are
  (``消防隐患整治率 99%`` keeps its space: names are reported as written, and a
  space may separate a title's parts: ``… 工资性支出 青神县发展和改革局``);
- wrapped lines rejoined into paragraphs (see :func:`paragraphs`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Full-width ASCII variants (digits, letters, most signs) map to ASCII by a
# fixed offset; the Chinese punctuation we keep full-width is handled after.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_SPACES = {ord(c): " " for c in "\u3000\u00a0\u2002\u2003\u2009\u202f\t\r\x0b\x0c"}
_ZERO_WIDTH = {ord(c): None for c in "\u200b\u200c\u200d\u2060\ufeff"}

# Half-width punctuation that Chinese prose writes full-width.
_TO_FULL = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？"}

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# ",", ":" and "." between digits belong to the number (decimals, times).
_HALF_PUNCT = re.compile(r"[,:;()!?]")
_MULTISPACE = re.compile(r" {2,}")


def normalize_chars(text: str) -> str:
    """Canonical characters for one line (see module docstring)."""
    text = text.translate(_ZERO_WIDTH).translate(_SPACES)
    text = text.translate(_FULLWIDTH)
    # The offset map turned "，" into "," etc.; thousands separators go first,
    # then what is left becomes Chinese punctuation again.
    text = _THOUSANDS.sub("", text)
    text = text.replace(">=", "≥").replace("<=", "≤")
    text = _HALF_PUNCT.sub(lambda m: _punct(text, m.start()), text)
    text = _MULTISPACE.sub(" ", text)
    return text.strip()


def _punct(text: str, i: int) -> str:
    ch = text[i]
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if ch in ",:" and before.isdigit() and after.isdigit():
        return ch
    if ch == ":" and text.startswith("//", i + 1):  # URLs
        return ch
    return _TO_FULL[ch]


def display_width(text: str) -> int:
    """Columns the text takes in a fixed-width layout (CJK = 2)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# List and heading markers, each with a type name. The order in which types
# nest differs between reports, so the outline is built from the order they
# appear in (report.py), not from a fixed ranking.
MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("cn", re.compile(r"^[一二三四五六七八九十]{1,3}\s*[、.]\s*")),
    ("paren_cn", re.compile(r"^（[一二三四五六七八九十]{1,3}）\s*")),
    ("goal", re.compile(r"^(?:年度|绩效|年度绩效)?目标\s*\d{1,2}\s*[：、.]\s*")),
    ("digit", re.compile(r"^\d{1,2}\s*[、.](?![\d%])\s*")),
    ("paren_digit", re.compile(r"^（\d{1,2}）\s*")),
    ("circled", re.compile(r"^[\u2460-\u2473\u2776-\u277f]\s*")),
    ("chapter", re.compile(r"^第[一二三四五六七八九十\d]{1,3}[章节部分]\s*")),
]


def split_marker(text: str) -> tuple[str | None, str, str]:
    """(marker type, marker text, rest) of a paragraph; (None, '', text) if unmarked."""
    for kind, pattern in MARKERS:
        m = pattern.match(text)
        if m and m.end() < len(text):
            return kind, m.group(0), text[m.end():]
    return None, "", text


_TERMINAL = "。！？；：…"
# 【】 are left out: web pages use them for furniture ("【阅读:") that is
# never continued on the next line.
_CLOSERS = "”’）》」』"
_OPENERS = "“‘（《「『"
_PAIRS = dict(zip(_OPENERS, _CLOSERS, strict=True))
_PAGE_FURNITURE = re.compile(r"^(?:[-—–]\s*\d{1,4}\s*[-—–]|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?)$")
CUT_MARK = "[...]"


def _unclosed(line: str) -> bool:
    """Does the line open a bracket or quote it does not close?"""
    depth = 0
    for c in line:
        if c in _PAIRS:
            depth += 1
        elif c in _CLOSERS and depth:
            depth -= 1
    return depth > 0


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINAL


@dataclass
class Line:
    text: str
    cell: bool = False  # a table cell: never joined with its neighbours


def is_table_line(raw: str) -> bool:
    s = raw.strip()
    return s.endswith("|") or s.count(" | ") >= 1


def table_cells(raw: str) -> list[str]:
    """Cells of a flattened table line: ``a | b | c |`` → [a, b, c]."""
    s = raw.strip()
    s = s.removesuffix("|")
    return [c.strip() for c in s.split("|")]


def paragraphs(lines: list[Line]) -> list[Line]:
    """Rejoin wrapped lines into paragraphs.

    Wrapped text (most lines about the same, maximal width) is joined unless a
    line ends a sentence, is clearly short (the end of a paragraph or a
    heading), or the next line starts with a list marker. Text that is not
    wrapped (web copies, .docx) keeps its lines as paragraphs. In both, a line
    that leaves a bracket or quote open is joined with the next
    (``满意度（年初目标值：`` / ``100%）``).
    """
    body = [ln for ln in lines if ln.text and not ln.cell and ln.text != CUT_MARK]
    widths = sorted(display_width(ln.text) for ln in body)
    full = 0
    if len(widths) >= 5:
        p90 = widths[int(len(widths) * 0.9)]
        near_full = sum(w >= 0.85 * p90 for w in widths)
        # a PDF's headings and short last lines can outnumber its full lines:
        # a fifth of them at the common width (and at least four) is wrapping
        if p90 <= 160 and near_full >= max(4, 0.2 * len(widths)):
            full = p90
    out: list[Line] = []
    joinable = False  # may the last paragraph continue on the next line?
    for ln in lines:
        text = ln.text
        if not text or _PAGE_FURNITURE.match(text):
            continue  # blank lines and page numbers carry no break information
        if ln.cell or text == CUT_MARK:
            out.append(ln)
            joinable = False
            continue
        if joinable and split_marker(text)[0] is None:
            prev = out[-1].text
            sep = " " if prev[-1:].isascii() and prev[-1:].isalpha() and text[:1].isascii() and text[:1].isalpha() else ""
            out[-1] = Line(prev + sep + text)
        elif joinable and _unclosed(_last_line_of(out[-1])):
            out[-1] = Line(out[-1].text + text)
        else:
            out.append(Line(text))
        joinable = _continues(text, full)
    return out


def _last_line_of(line: Line) -> str:
    return line.text[-80:]


def _continues(line: str, full: int) -> bool:
    if _unclosed(line):
        return True
    if not full or _ends_sentence(line):
        return False
    return display_width(line) >= 0.8 * full


def normalize_lines(text: str) -> list[Line]:
    """Split raw text into normalised lines, table lines into cells."""
    out: list[Line] = []
    for raw in text.splitlines():
        if is_table_line(raw):
            cells = table_cells(raw)
            if len(cells) > 1 and not any(cells):
                continue  # a row rule "||||" (flattened web tables)
            out.extend(Line(normalize_chars(c), cell=True) for c in cells)
        else:
            out.append(Line(normalize_chars(raw)))
    return out
