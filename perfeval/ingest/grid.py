"""Tables flattened into text, and document tables, as grids for the form reader.

Many "reports" are a 自评表 copied from a web page or a PDF's text layer.
The cells survive, the geometry does not. Three flattenings are common:

- cells separated by ``|``: one row per line (docx/markdown copies), or one
  cell per line with a run of ``||||`` where a row's empty cells were
  (web copies);
- one cell per line, cells (and empty cells, as a blank-looking line)
  between blank lines (word-processor copies);
- cells separated by spaces on long lines (PDF text layers): empty cells
  vanish.

:func:`text_grid` turns the text into a stream of cells with the row breaks
the text does give, rejoins header words a narrow column wrapped (年度 /
指标值 → 年度指标值), and rebuilds rows by what the form's blocks are: a label
and its value (项目名称, 主管部门, 实施单位); the funds block (a line label and
as many figures as the header has columns); the goal block (two cells); the
indicator block (一级/二级 指标 where a row states them, then the name and
the header's remaining columns); the 总分 row (its figures under 分值/得分).
Where empty cells vanished (sparse text), an indicator row takes the header's
columns in order and a 分值/得分 that is no number is left empty with a
warning, never guessed.

:func:`docx_grids` and :func:`pdf_grids` give a document's own tables with
their geometry (merged cells resolved), for the same reader.
"""

from __future__ import annotations

import io
import re
import unicodedata

from ..model import normalize_category
from .common import docx_cell_text
from .forms import (
    ALL_LABEL_TEXTS,
    BUDGET_HEADERS,
    GOAL_HEADERS,
    IND_HEADERS,
    LABELS,
    LINE_WORDS,
    TOTAL_ROW_WORDS,
    Grid,
    _norm,
)

SHEET = "表格"  # the sheet name a text table is reported under
_BREAK = None  # a row break in the cell stream

_IND_WORDS = {w for words in IND_HEADERS.values() for w in words}
_BUDGET_WORDS = {w for words in BUDGET_HEADERS.values() for w in words}
_BUDGET_START = {w for k in ("initial", "budget", "executed") for w in BUDGET_HEADERS[k]}
_SUB_HEADER = {w for k in ("nature", "unit") for w in IND_HEADERS[k]} | {"指标值"}
_L1_WORDS = {"产出指标", "效益指标", "满意度指标", "产出", "效益", "满意度", "成本指标"}
_L2_WORDS = {
    "数量指标", "质量指标", "时效指标", "成本指标", "经济成本指标", "社会成本指标",
    "生态环境成本指标", "经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标",
    "服务对象满意度指标", "满意度指标", "数量", "质量", "时效", "成本", "经济效益", "社会效益",
    "生态效益", "可持续影响", "服务对象满意度",
}
# Words that open a block (or sit beside one as its row label).
_BLOCK_WORDS = {"绩效指标", "年度绩效指标", "项目资金", "年度预算数", "预算执行情况", "项目基本情况",
                "年度总体目标", "总体目标", "资金情况", "年度资金", "项目资金情况"}
_KNOWN = (_IND_WORDS | _BUDGET_WORDS | ALL_LABEL_TEXTS | set(TOTAL_ROW_WORDS) | _L1_WORDS
          | _L2_WORDS | _BLOCK_WORDS | {w for words in GOAL_HEADERS.values() for w in words}
          | {"年度资金总额", "当年财政拨款", "本年财政拨款", "上年结转资金", "其他资金"})
_NUMBER = re.compile(r"^[-+]?\d+(?:\.\d+)?\s*分?$")
_REASONISH = re.compile(r"[，。；,;]|原因|因为|由于|未|偏差|措施|影响")


def _n(cell) -> str:
    return _norm(cell) if cell else ""


def _is_line_label(cell: str) -> bool:
    t = _n(cell)
    if not t or _NUMBER.match(t) or len(t) > 20:
        return False
    return any(w in t for _, words in LINE_WORDS for w in words)


def _is_block(cell: str) -> bool:
    t = _n(cell)
    return t in _BLOCK_WORDS or t in ALL_LABEL_TEXTS


def _is_number(cell: str | None) -> bool:
    return bool(cell) and bool(_NUMBER.match(unicodedata.normalize("NFKC", cell).strip()))


# --------------------------------------------------------------------------
# text → cell stream


_SPACES2 = re.compile(r"[ \t\u3000\xa0]{2,}|\t")


def _split_spaced(line: str) -> list[str] | None:
    """A line of space-separated cells (PDF text), or None for prose."""
    parts = _SPACES2.split(line.strip())
    if len(parts) < 2 or sum(_n(p) in _KNOWN for p in parts) < 2:
        parts = line.split()
    if len(parts) >= 2 and sum(_n(p) in _KNOWN for p in parts) >= 2:
        return [p.strip() for p in parts]
    return None


def _stream(text: str) -> tuple[list, bool]:
    """The text as cells and row breaks; second value: whether empty cells
    were kept (dense) or vanished (sparse)."""
    lines = text.splitlines()
    nonblank = [ln for ln in lines if ln.strip()]
    piped = sum("|" in ln for ln in nonblank)
    out: list = []
    if nonblank and piped >= max(3, len(nonblank) // 5):
        lines = _join_continued(lines)
        for ln in lines:
            if "|" not in ln:
                if ln.strip():
                    out += [_BREAK, ln.strip(), _BREAK]
                continue
            parts = ln.split("|")
            if ln.rstrip().endswith("|"):
                parts = parts[:-1]
            cells = [p.strip() for p in parts]
            filled = sum(bool(c) for c in cells)
            if filled >= 2:
                out += [_BREAK, *cells, _BREAK]
            elif filled == 0 and len(cells) >= 2:
                out.append(_BREAK)  # a row's trailing empty cells
            else:
                out += cells
        return out, True
    dense = any(ln.strip("\r\n") and not ln.strip() for ln in lines)
    split = [_split_spaced(ln) if ln.strip() else None for ln in lines]
    # Several lines of space-separated cells: a PDF text layer, one table row a line.
    spaced = sum(c is not None for c in split) >= 3
    sparse = False
    for ln, cells in zip(lines, split, strict=True):
        if not ln.strip():
            if ln.strip("\r\n"):  # a blank-looking line is an empty cell
                out.append("")
            continue
        if cells is None and spaced:
            cells = [p for p in (_SPACES2.split(ln.strip()) if _SPACES2.search(ln.strip())
                                 else ln.split()) if p]
        if cells:
            sparse = True
            out += [_BREAK, *cells, _BREAK]
        else:
            out.append(ln.strip())
    return out, dense and not sparse


def _join_continued(lines: list[str]) -> list[str]:
    """A cell with a line break inside (``年度<br>指标值``) continues on the next
    line: a short or piped line not ending in ``|`` joins the piped line after it."""
    out: list[str] = []
    for ln in lines:
        prev = out[-1] if out else None
        first = ln.split("|")[0]
        if (prev is not None and "|" in ln and prev.strip() and not prev.rstrip().endswith("|")
                and ("|" in prev or _n(prev.strip() + first.strip()) in _KNOWN)):
            out[-1] = prev.rstrip() + ln.lstrip()
        else:
            out.append(ln)
    return out


def _join_fragments(items: list) -> list:
    """Rejoin words a narrow column wrapped into several cells or lines
    (年初 / 预算数, 经济效益 / 指标, 绩 / 效 / 指 / 标)."""
    out: list = []
    i = 0
    while i < len(items):
        cur = items[i]
        if cur is not _BREAK and cur:
            for k in (4, 3, 2):
                # the parts, a row break between them allowed (a wrapped line)
                part, j = [], i
                while len(part) < k and j < len(items) and j < i + 2 * k:
                    if items[j] is not _BREAK:
                        if not _n(items[j]):  # empty, or only a (…)
                            break
                        part.append(items[j])
                    j += 1
                if len(part) == k:
                    joined = "".join(part)
                    if _n(joined) in _KNOWN:
                        out.append(joined)
                        i = j
                        break
            else:
                out.append(cur)
                i += 1
            continue
        # A unit or points in parentheses on a line of its own belongs to the word before.
        if (cur is not _BREAK and cur and not _n(cur) and out and out[-1] is not _BREAK
                and out[-1] and re.fullmatch(r"\s*[（(][^（()）]*[)）]\s*", cur)):
            out[-1] = out[-1] + cur
            i += 1
            continue
        out.append(cur)
        i += 1
    return out


# --------------------------------------------------------------------------
# cell stream → rows


class _Rows:
    def __init__(self, items: list, dense: bool):
        self.items = items
        self.i = 0
        self.dense = dense
        self.rows: list[list] = []
        self.warnings: list[str] = []
        self.mode = "head"
        self.width = 0  # columns of the current block's header
        self.ind: dict[str, int] = {}

    # -- cursor -------------------------------------------------------------
    def peek(self, k: int = 0):
        j = self.i + k
        return self.items[j] if j < len(self.items) else _BREAK

    def at_end(self) -> bool:
        return self.i >= len(self.items)

    def take(self, n: int, stop) -> list:
        """Up to n cells of this row: stop at a row break or where ``stop`` says."""
        got = []
        while len(got) < n and not self.at_end():
            c = self.peek()
            if c is _BREAK or stop(c):
                break
            got.append(c)
            self.i += 1
        return got

    # -- block headers ------------------------------------------------------
    def header_run(self, words: set[str]) -> list[str]:
        run, j = [], self.i
        while j < len(self.items) and self.items[j] is not _BREAK and _n(self.items[j]) in words:
            run.append(self.items[j])
            j += 1
        return run

    def try_headers(self) -> bool:
        c = self.peek()
        t = _n(c)
        if t == "一级指标":
            run = self.header_run(_IND_WORDS)
            self.i += len(run)
            j = self.i
            while j < len(self.items) and self.items[j] is _BREAK:
                j += 1
            # The second header row (指标性质 指标值 度量单位) on a row of its own.
            if not set(map(_n, run)) & (_SUB_HEADER - {"指标值"}):
                save, self.i = self.i, j
                second = self.header_run(_SUB_HEADER)
                if second:
                    run = run + second
                    self.i += len(second)
                else:
                    self.i = save
            cols = self._combine_two_row(run)
            self.rows.append(cols)
            norm = [_n(x) for x in cols]

            def col(words):
                return next((k for k, x in enumerate(norm) if x in words), None)

            self.ind = {"l1": 0, "l2": col(IND_HEADERS["l2"]),
                        "name": col(IND_HEADERS["name"]),
                        "weight": col(IND_HEADERS["weight"])}
            self.width = len(cols)
            self.mode = "ind" if self.ind["name"] is not None else "head"
            return True
        if t in _BUDGET_START:
            run = self.header_run(_BUDGET_WORDS)
            keys = {k for k, words in BUDGET_HEADERS.items() for x in run if _n(x) in words}
            if len(run) >= 3 and {"budget", "executed"} <= keys:
                self.i += len(run)
                self.rows.append([None, *run])
                self.width = len(run)
                self.mode = "budget"
                return True
        if t in GOAL_HEADERS["expected"] and _n(self.peek(1)) in GOAL_HEADERS["achieved"]:
            self.rows.append([None, self.peek(), self.peek(1)])
            self.i += 2
            self.mode = "goal"
            return True
        return False

    @staticmethod
    def _combine_two_row(run: list[str]) -> list[str]:
        """一级 … 年度指标值 实际完成值 分值 得分 原因 指标性质 指标值 度量单位 (the
        second header row follows the first) → one row with the three in place."""
        norm = [_n(x) for x in run]
        tgt = next((k for k, x in enumerate(norm) if x in IND_HEADERS["target"]
                    and x not in _SUB_HEADER), None)
        sub = next((k for k, x in enumerate(norm) if x in _SUB_HEADER and tgt is not None
                    and k > tgt + 1), None)
        if tgt is None or sub is None:
            return run
        end = sub
        while end < len(run) and norm[end] in _SUB_HEADER:
            end += 1
        return run[:tgt] + run[sub:end] + run[tgt + 1:sub] + run[end:]

    # -- rows -----------------------------------------------------------------
    def label_row(self) -> None:
        label = self.peek()
        self.i += 1
        value = self.peek()
        row = [label]
        if value is not _BREAK and _n(value) not in _KNOWN:
            row.append(value)
            self.i += 1
        self.rows.append(row)

    def budget_row(self) -> None:
        label = self.peek()
        self.i += 1
        cells = self.take(self.width, lambda c: _is_line_label(c) or _is_block(c)
                          or _n(c) in _IND_WORDS)
        self.rows.append([label, *cells])

    def goal_row(self) -> None:
        cells = self.take(2, lambda c: _is_block(c) or _n(c) in _IND_WORDS
                          or _n(c) in _BUDGET_START)
        self.rows.append([None, *cells])

    def total_row(self) -> None:
        word = self.peek()
        self.i += 1
        w = self.ind["weight"] if self.ind["weight"] is not None else self.width - 1
        cells = self.take(self.width - 1, lambda c: _is_block(c))
        if len(cells) > self.width - w:  # every cell kept: the figures sit in their columns
            self.rows.append([word, *cells])
        else:  # the word spanned the columns before 分值
            self.rows.append([word, *([None] * (w - 1)), *cells])
        self.mode = "tail"

    def ind_row(self) -> None:
        row: list = [None] * self.width
        c = self.peek()
        t = _n(c)
        l2 = self.ind["l2"]
        nxt = _n(self.peek(1))
        if t in _L1_WORDS and (t not in _L2_WORDS or nxt in _L2_WORDS) or (
                normalize_category(t) and t not in _L2_WORDS and len(t) <= 8):
            row[0] = c
            self.i += 1
            if l2 is not None and _n(self.peek()) in _L2_WORDS:
                row[l2] = self.peek()
                self.i += 1
        elif t in _L2_WORDS and l2 is not None:
            row[l2] = c
            self.i += 1
        name = self.ind["name"]
        nxt = _n(self.peek())
        if row[0] is not None or (l2 is not None and row[l2] is not None):
            if nxt in _L1_WORDS or nxt in _L2_WORDS:  # a 二级指标 with no indicator under it
                self.rows.append(row)
                return
        rest = self.width - name

        def stop(x):
            # A 一级/二级指标 word is never a value: a row whose empty cells were
            # miscounted ends there, so the next row starts aligned again.
            t = _n(x)
            return (_is_block(x) or t in TOTAL_ROW_WORDS or t in _L1_WORDS
                    or (t in _L2_WORDS and t.endswith("指标")))

        if self.dense:
            cells = self.take(rest, stop)
        else:
            cells = self._sparse_cells(rest, stop)
        row[name:name + len(cells)] = cells
        self.rows.append(row)

    def _sparse_cells(self, rest: int, stop) -> list:
        """Empty cells vanished: the row's cells up to the next 一级/二级指标 or
        row break, placed by what they are. 分值/得分 (adjacent, as every
        layout has them) take the row's last numbers, a reason after them is
        text; the cells between the name and 分值 fill their columns from the
        left, the last of them the column just before 分值 (实际完成值). A row
        whose numbers do not fit leaves 分值/得分 empty and says so."""
        def new_row(x):
            return stop(x) or _n(x) in _L1_WORDS or _n(x) in _L2_WORDS

        name, w = self.ind["name"], self.ind["weight"]
        full = w - name + 2 if w is not None and w > name else None  # name … 得分
        cells: list = []
        while not self.at_end():
            x = self.peek()
            if x is _BREAK or (cells and new_row(x)):
                break
            cells.append(x)
            self.i += 1
            # No row breaks in the text: a row ends at 得分, the row's cells
            # complete and its last two numbers, unless a reason follows.
            if (full and len(cells) >= full and _is_number(cells[-1]) and _is_number(cells[-2])):
                nxt = self.peek()
                if (nxt is not _BREAK and nxt and full < rest and _REASONISH.search(nxt)
                        and not _is_number(nxt)):
                    cells.append(nxt)
                    self.i += 1
                break
        out: list = [None] * rest
        if not cells:
            return []
        out[0] = cells[0]
        rest_cells = cells[1:]
        if w is None or w + 1 >= name + rest or w <= name:
            out[1:1 + len(rest_cells)] = rest_cells[:rest - 1]
            return out
        wi = w - name  # index of 分值 in out; 得分 follows it
        has_reason = wi + 2 < rest
        if has_reason and rest_cells and not _is_number(rest_cells[-1]) and (
                len(rest_cells) > wi + 1 or _REASONISH.search(rest_cells[-1])):
            out[wi + 2] = rest_cells.pop()
        if len(rest_cells) >= 2 and _is_number(rest_cells[-1]) and _is_number(rest_cells[-2]):
            out[wi], out[wi + 1] = rest_cells[-2], rest_cells[-1]
            middle = rest_cells[:-2]
        else:
            if any(_is_number(x) for x in rest_cells[-2:]):
                self.warnings.append(f"指标“{cells[0]}”的分值/得分无法与表头对齐，未读入")
            middle = [x for x in rest_cells if not _is_number(x)] if len(rest_cells) > wi - 1 \
                else rest_cells
            middle = middle[:wi - 1]
        slots = wi - 1  # columns between the name and 分值
        if len(middle) >= slots:
            out[1:wi] = middle[:slots]
        elif middle:
            out[1:len(middle)] = middle[:-1]
            out[wi - 1] = middle[-1]
        return out

    def run(self) -> list[list]:
        while not self.at_end():
            c = self.peek()
            if c is _BREAK:
                self.i += 1
                continue
            if self.try_headers():
                continue
            t = _n(c)
            if t in ALL_LABEL_TEXTS:
                # 项目名称 opens the next form; a text box label closes the indicators.
                in_form = self.mode in ("ind", "tail") and t not in LABELS["project"]
                self.mode = "tail" if in_form else "head"
                self.label_row()
                continue
            if not (c or "").strip() and self.mode in ("budget", "goal"):
                self.i += 1  # an empty cell between rows of the block
                continue
            if self.mode == "budget":
                if _is_line_label(c):
                    self.budget_row()
                    continue
                self.mode = "head"
            elif self.mode == "goal":
                if not _is_block(c):
                    self.goal_row()
                    continue
                self.mode = "head"
            elif self.mode == "ind":
                if t in TOTAL_ROW_WORDS:
                    self.total_row()
                    continue
                if not _is_block(c):
                    self.ind_row()
                    continue
                self.mode = "head"
            self.rows.append([c])
            self.i += 1
        return self.rows


def text_grid(name: str, text: str, warnings: list[str] | None = None) -> Grid:
    """A flattened table's text as one grid (several forms stack in it)."""
    items, dense = _stream(text)
    builder = _Rows(_join_fragments(items), dense)
    rows = builder.run()
    if warnings is not None:
        warnings.extend(f"文件 {name}：{w}" for w in builder.warnings)
    cells = [[(None if x is None or (isinstance(x, str) and not x.strip()) else x)
              for x in r] for r in rows]
    return Grid(name, SHEET, cells, {})


# --------------------------------------------------------------------------
# document tables with their geometry


def _cell_text(t: str | None) -> str | None:
    if t is None:
        return None
    # A narrow PDF/Word cell wraps CJK text over lines: no space belongs there.
    t = re.sub(r"(?<=[\u4e00-\u9fff])\s*\n\s*(?=[\u4e00-\u9fff（(])", "", t)
    t = " ".join(t.split())
    return t or None


def docx_grids(name: str, data: bytes) -> list[Grid]:
    """Every table of a .docx as a grid; a merged cell reads at its first
    position (python-docx repeats it over the columns it spans)."""
    import docx

    document = docx.Document(io.BytesIO(data))
    grids = []
    for k, table in enumerate(document.tables):
        cells, merged = [], {}
        origin: dict = {}  # cell element → (row, col) where it starts (merges repeat it)
        for r, row in enumerate(table.rows):
            out = []
            for c, cell in enumerate(row.cells):
                tc = cell._tc
                if tc in origin:
                    merged[(r, c)] = origin[tc]
                    out.append(None)
                    continue
                origin[tc] = (r, c)
                out.append(_cell_text(docx_cell_text(tc)))
            cells.append(out)
        grids.append(Grid(name, f"表{k + 1}", cells, merged))
    return grids


def stack_grids(grids: list[Grid]) -> Grid:
    """A document's tables one below another, as one sheet (a Word form often
    puts its head, funds and indicators in separate tables)."""
    cells: list[list] = []
    merged: dict = {}
    for g in grids:
        top = len(cells)
        cells += [list(r) for r in g.cells]
        merged.update({(r + top, c): (r0 + top, c0) for (r, c), (r0, c0) in g.merged_to.items()})
    return Grid(grids[0].file, SHEET, cells, merged)


def pdf_pages(data: bytes) -> list[tuple[str, list]]:
    """Each page's (text, tables) from one parse: pdfplumber parses a page's
    objects once for both (two passes over a PDF took twice as long); each
    page's cache is dropped once it is read."""
    import pdfplumber

    out = []
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            out.append((page.extract_text() or "", page.extract_tables()))
            page.close()
    return out


def pdf_grids(name: str, data: bytes, pages: list[tuple[str, list]] | None = None) -> list[Grid]:
    """The tables pdfplumber finds, one grid per document (a form runs on
    over pages: its parts are stacked in page order). ``pages``: from
    :func:`pdf_pages`, else the PDF is parsed here."""
    rows: list[list] = []
    headers: set[tuple] = set()
    for _, tables in pages if pages is not None else pdf_pages(data):
        for table in tables:
            for row in table:
                cells = [_cell_text(c) for c in row]
                key = tuple(_n(c) for c in cells)
                if "一级指标" in key:
                    if key in headers:
                        continue  # the indicator header repeated on a following page
                    headers.add(key)
                rows.append(cells)
    return [Grid(name, SHEET, rows, {})] if rows else []

