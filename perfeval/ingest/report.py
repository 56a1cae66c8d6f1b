"""Narrative self-evaluation reports (.txt, .docx, .pdf) → :class:`Evaluation`.

Most units publish their 预算绩效自评 as a narrative report. Reading one goes:

1. bytes → text (:func:`extract_text`): UTF-8 (with or without BOM) or GBK
   text, .docx paragraphs and table rows (python-docx), .pdf pages
   (pdfplumber). Table rows become ``a | b | c |`` lines, the same flattened
   form web copies of official forms use.
2. text → paragraphs (:mod:`textnorm`): canonical characters, wrapped lines
   rejoined.
3. paragraphs → outline: headings nest in the order their marker types first
   appear (一、 （一） 1. （1） ① 目标 N：), so a paragraph knows which section,
   goal and indicator category it is in.
4. rules for each family of phrasings read what they understand; every
   paragraph (or table cell) no rule understood is kept in
   ``Evaluation.unparsed``. Headings themselves are structure, not content.

Rules (each a family of phrasings, not one file's wording):

- title: a web copy's ``title:`` line, else the first short paragraph naming
  绩效 and 报告/结果/自评表. Year: the first ``20xx年`` of the title.
- department: from the title (the text before 部门整体/项目支出/…绩效, or a
  parenthesised unit name), else from a labelled field (实施单位, 单位名称,
  主管部门, 发文单位). Region: the county-level part of the name (硚口区,
  牟定县), else the city (鄂州市). Kind, first rule that matches:
  街道办事处/街道 → 街道; 镇/乡(人民政府) → 乡镇; 政协/人大 → 人大政协;
  妇联/妇女联合会/共青团/团委/工会/残联/科协/工商联/侨联/文联/红十字会 → 群团;
  a name ending in 局/委/委员会/厅/办/办公室/部 → 委局;
  ending in 中心/院/所/站/队/馆/学校/医院 → 事业单位; else unknown.
- scope: 部门整体 when the title says 整体, 项目 when it names a 项目/工程/专项
  /资金, else 部门整体; the project name from a 项目名称 field or the title.
- self-score: (自评|综合|评价|考核)…(得分|评分|总分|分数|结果)… N 分, N ≤ 100;
  in a flattened form, a total row ``合计 | 100 | N``.
- budget: every clause ``label amount`` (amount in 元/万元/亿元, read as 万元)
  whose label is only budget words: the line (基本支出 → basic, 项目支出 →
  project, 总预算/预算总额/整体支出/… → total, 财政拨款 → fiscal) and the kind
  (执行/决算/支出/完成投资 → executed; 年初预算 → initial; 预算/下达/批复 →
  budget) carry over to the next clause of the paragraph when it omits them
  (``基本支出预算总额为 X 万元，实际执行总额为 Y 万元``). A label with other
  words (人员经费, 调整追加, 同比增加) is not a budget line and is skipped.
  The first figure wins; a different later one leaves its paragraph unparsed.
  Flattened budget tables (年初预算数 | 全年预算数 | 全年执行数 …) are read
  by column.
- goals: ``(年度)目标 N：名称``; indicators: a paragraph ``名称（年初目标值：X）
  句子`` under a category heading ``（1）产出指标…``. A number in the name
  (``消防隐患整治率 99%``) is the target when the stated one has none. The
  actual is the value the sentence gives after the name (``整治率为 70%``),
  else the only value in the sentence with the target's unit, else None. Met
  as the sentence states it (完成/未完成…目标; 基本/部分完成 → None). Indicators met
  outside any goal go to goal 0 (name '').
- problems / measures / result use: the content paragraphs of the sections
  whose heading names 存在的问题 / 改进措施 / 结果应用.
- schedule: ``名称阶段（6月5日至6月9日）`` anywhere.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..model import (
    BudgetLine,
    Department,
    Evaluation,
    Goal,
    Indicator,
    PerfevalError,
    Phase,
    sha256_bytes,
)
from . import textnorm as tn
from .amounts import to_wan

SUFFIXES = (".txt", ".docx", ".pdf")


class ReportError(PerfevalError):
    """The file is not a readable self-evaluation report."""


# --------------------------------------------------------------------------
# bytes → text


def read_report(path: Path | str, data: bytes | None = None) -> Evaluation:
    """Read one narrative report; ``data`` (the file's bytes) spares a read."""
    path = Path(path)
    name = path.name
    if data is None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ReportError(f"无法读取文件 {name}：{exc.strerror or exc}") from exc
    text = extract_text(name, data)
    ev = parse_text(text, source_name=name)
    ev.checksum = sha256_bytes(data)
    return ev


def extract_text(name: str, data: bytes) -> str:
    """The text of a .txt/.docx/.pdf file, by its content first, then its suffix."""
    if not data.strip():
        raise ReportError(f"文件 {name} 是空文件，不是绩效自评报告")
    if data.startswith(b"PK\x03\x04"):
        return _docx_text(name, data)
    if b"%PDF-" in data[:1024]:
        return _pdf_text(name, data)
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            raise ReportError(f"文件 {name} 是{what}，不是文字报告")
    suffix = Path(name).suffix.lower()
    if suffix in (".docx", ".pdf"):
        raise ReportError(f"文件 {name} 不是有效的 {suffix} 文件")
    return _decode(name, data)


_OTHER_FORMATS = [
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文件（.doc/.xls），请另存为 .docx 后再读"),
    (b"\x89PNG", "图片（PNG）"),
    (b"\xff\xd8\xff", "图片（JPEG）"),
    (b"GIF8", "图片（GIF）"),
    (b"II*\x00", "图片（TIFF）"),
    (b"MM\x00*", "图片（TIFF）"),
]


def _decode(name: str, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8-sig", "gb18030"]  # gb18030 is a superset of GBK
    for enc in encodings:
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReportError(f"文件 {name} 的文字编码无法识别（支持 UTF-8 和 GBK），或不是文本文件")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    if "\x00" in text or controls > len(text) / 100:
        raise ReportError(f"文件 {name} 是二进制文件，不是文本报告")
    return text


def _docx_text(name: str, data: bytes) -> str:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_lines(block))
            else:
                lines.append(block.text)
    except Exception as exc:  # python-docx raises many kinds on damaged files
        raise ReportError(f"文件 {name} 无法作为 .docx 打开（{type(exc).__name__}）") from exc
    text = "\n".join(lines)
    if not text.replace("|", "").strip():
        raise ReportError(f"文件 {name} 中没有文字")
    return text


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        seen: set[int] = set()
        cells = []
        for cell in row.cells:  # a merged cell repeats: keep it once
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()).replace("|", "｜"))
        lines.append(" | ".join(cells) + " |")
    return lines


def _pdf_text(name: str, data: bytes) -> str:
    import pdfplumber

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [page.extract_text() or "" for page in pdf.pages]
    except Exception as exc:  # pdfminer raises many kinds on damaged files
        raise ReportError(f"文件 {name} 无法作为 PDF 打开（{type(exc).__name__}）") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise ReportError(f"文件 {name} 中没有可提取的文字（可能是扫描图片），请提供文字版 PDF 或 .docx")
    return text


# --------------------------------------------------------------------------
# text → paragraphs


@dataclass
class Para:
    text: str
    cell: bool = False
    marker: str | None = None  # marker type (textnorm.MARKERS)
    mark: str = ""
    body: str = ""
    heading: bool = False
    used: bool = False


_META = re.compile(r"^(source|title|url)\s*[:：]\s*(.*)$", re.IGNORECASE)


def _paragraphs(text: str) -> tuple[dict[str, str], list[Para]]:
    raw = text.splitlines()
    meta: dict[str, str] = {}
    while raw and (not raw[0].strip() or _META.match(raw[0].strip())):
        m = _META.match(raw.pop(0).strip())
        if m:
            meta[m.group(1).lower()] = m.group(2).strip()
    paras = []
    for line in tn.paragraphs(tn.normalize_lines("\n".join(raw))):
        if line.cell:
            paras.append(Para(line.text, cell=True, body=line.text))
        else:
            marker, mark, body = tn.split_marker(line.text)
            paras.append(Para(line.text, marker=marker, mark=mark, body=body))
    return meta, paras


def _title_like(text: str) -> bool:
    t = text.rstrip("。：")
    return len(t) <= 50 and not re.search(r"[。！？；]", t)


# --------------------------------------------------------------------------
# rules


_TITLE = re.compile(r"绩效.{0,20}(报告|结果|自评表|评价表)")
# A title paragraph ends with its title words (and perhaps a parenthesis);
# breadcrumbs ("首页 > … > …报告") and field lines ("来源：") are not titles.
_TITLE_PARA = re.compile(r"^[^：>/|]{4,80}?绩效.{0,20}(?:报告|结果|自评表|评价表)(?:（[^（）]*）)?$")
_YEAR = re.compile(r"(20\d{2})\s*年")
_ORG_SUFFIX = (
    r"(?:办事处|人民政府|政府|街道|局|委员会|委|办公室|办|政协|人大|常委会|联合会|妇联|团委|工会|"
    r"残联|科协|工商联|侨联|文联|红十字会|中心|院|所|站|队|馆|学校|医院|部|厅|处|社|协会)"
)
_ORG = re.compile(rf"^[\u4e00-\u9fff（）]{{2,40}}?{_ORG_SUFFIX}$")
_DEPT_BEFORE = re.compile(r"部门（单位）|单位整体|部门整体|整体支出|项目支出|部门预算|预算项目|绩效")
_FIELD_LABEL = re.compile(
    r"^(实施单位|单位名称|部门名称|预算单位|填报单位|主管部门|发文单位)(?:（盖章）)?\s*[：:]?\s*(.*)$"
)
_FIELD_RANK = {"实施单位": 0, "单位名称": 1, "部门名称": 1, "预算单位": 1, "填报单位": 1,
               "主管部门": 2, "发文单位": 3}


def _dept_from_title(title: str) -> str | None:
    for inner in re.findall(r"（([^（）]*)）", title):
        for part in re.split(r"[，、,\s]+", inner):
            if len(part) >= 3 and _ORG.match(part) and "年" not in part:
                return part
    m = _DEPT_BEFORE.search(title)
    if m:
        head = re.sub(r"^\s*20\d{2}\s*年度?\s*", "", title[: m.start()]).strip()
        head = head.split(" ")[-1] if head else head
        if _ORG.match(head or ""):
            return head
    for token in reversed(title.split()):  # "… 工资性支出 青神县发展和改革局"
        if _ORG.match(token) and not _TITLE.search(token):
            return token
    return None


_REGION = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,7}?(?:省|自治区))?"
    r"(?:(?P<city>[\u4e00-\u9fff]{1,4}?(?:自治州|市|州|盟|地区))(?![市州]))?"
    r"(?:(?P<county>[\u4e00-\u9fff]{1,4}?(?:区|县|旗|市))(?![区县市]))?"
)
_NOT_REGION = ("城市", "都市", "社区", "小区", "园区", "景区", "片区", "辖区", "城区", "市区")

KIND_RULES = [
    ("街道", re.compile(r"街道办事处|街道$|街道工委")),
    ("乡镇", re.compile(r"[镇乡](?:人民政府|政府)?$")),
    ("人大政协", re.compile(r"政协|人大|人民代表大会")),
    ("群团", re.compile(r"妇联|妇女联合会|共青团|团委|团[区县市]委|工会|残联|残疾人联合会|科协|"
                      r"科学技术协会|工商联|工商业联合会|侨联|文联|红十字会")),
    ("委局", re.compile(r"(?:局|委|委员会|厅|办|办公室|部)$")),
    ("事业单位", re.compile(r"(?:中心|院|所|站|队|馆|学校|医院)$")),
]


def department_of(name: str) -> Department:
    """The department with region and kind derived from its name (rules above)."""
    region = None
    m = _REGION.match(name)
    if m:
        for part in (m.group("county"), m.group("city")):
            if part and part != name and not any(part.endswith(s) for s in _NOT_REGION):
                region = part
                break
    kind = next((k for k, rule in KIND_RULES if rule.search(name)), None)
    return Department(name=name, region=region, kind=kind)


SCORE = re.compile(
    r"(?:自评|综合|评价|考核)[^。；\d]{0,12}?(?:得分|评分|总分|分数|结果)[^。；\d]{0,6}?"
    r"(\d{1,3}(?:\.\d{1,2})?)\s*分(?!值)"
)

# --- budget sentences

_AMOUNT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(亿元|万元|元|万(?![\u4e00-\u9fff]))")
_LINE_WORDS = [
    ("basic", re.compile(r"基本支出|基本经费")),
    ("project", re.compile(r"项目支出|项目经费")),
    ("fiscal", re.compile(r"财政拨款|财政资金")),
    ("total", re.compile(r"总预算|预算总金额|预算总额|整体支出|年度资金总额|资金总额|预算收入|下达资金|项目资金")),
]
_KNOWN_WORDS = re.compile(
    r"部门整体支出|整体支出|基本支出|基本经费|项目支出|项目经费|财政拨款|财政资金|年度资金总额|"
    r"资金总额|预算总金额|预算总额|总预算|预算收入|年初预算数|年初预算|调整后预算数|调整后预算|"
    r"全年预算数|全年预算|预算数|预算|全年执行数|执行数|执行|下达资金|下达|批复|安排|实际支出|"
    r"支出数|支出|决算数|决算|实际完成投资|完成投资|本年度|本年|当年|全年|年度|其中|实际|"
    r"部门|整体|该项目|本项目|项目资金|资金|总金额|金额|总额|总计|合计|共计|累计|总|数|为|是|"
    r"达到|达|共|约|的|了|已|计|完成"
)
_FILLER = re.compile(r"^[\d\s年度：:、“”（）\-—]*$")


def _kind_of(label: str) -> str | None:
    label = re.sub(r"基本支出|项目支出|整体支出", "", label)
    if "执行" in label and "执行率" not in label:
        return "executed"
    if "年初预算" in label:
        return "initial"
    if re.search(r"预算|下达|批复", label):
        return "budget"
    if re.search(r"决算|支出|完成投资", label):
        return "executed"
    return None


def _amount(value: str, unit: str) -> float:
    return round(to_wan(float(value), unit), 6)


class _Budget:
    """Budget figures as read, first value wins."""

    def __init__(self) -> None:
        self.lines: dict[str, dict[str, float]] = {}

    def put(self, line: str, kind: str, value: float) -> bool:
        """Record a figure; False when it contradicts one read before."""
        slot = self.lines.setdefault(line, {})
        if kind in slot:
            return abs(slot[kind] - value) < 0.005
        slot[kind] = value
        return True

    def read_text(self, text: str) -> tuple[int, bool]:
        """(figures read, whole text understood) for one paragraph."""
        line = kind = None
        read = 0
        understood = True
        for sentence in re.split(r"[。！？\n]", text):
            if not sentence.strip().startswith("其中"):
                line = kind = None  # only 其中 continues the sentence before
            for clause in re.split(r"[，,；;]", sentence):
                line, kind, n, ok = self._read_clause(clause.strip(), line, kind)
                read += n
                understood &= ok
        return read, understood and read > 0

    def _read_clause(
        self, clause: str, line: str | None, kind: str | None
    ) -> tuple[str | None, str | None, int, bool]:
        """(line, kind) carried on, figures read, clause understood."""
        read = 0
        understood = True
        amounts = list(_AMOUNT.finditer(clause))
        if not amounts:
            understood = not clause or bool(re.search(r"执行率|^其中[：:]?$", clause))
            return line, kind, 0, understood
        start = 0
        for m in amounts:
            label = clause[start: m.start()]
            start = m.end()
            if not _FILLER.match(_KNOWN_WORDS.sub("", label)):
                understood = False  # another subject: 人员经费, 调整追加, …
                continue
            label_line = next((code for code, rx in _LINE_WORDS if rx.search(label)), None)
            line = label_line or line or "total"
            kind = _kind_of(label) or kind
            if kind is None:
                understood = False
                continue
            if self.put(line, kind, _amount(m.group(1), m.group(2))):
                read += 1
            else:
                understood = False
        return line, kind, read, understood

    def as_lines(self) -> list[BudgetLine]:
        order = ["total", "basic", "project", "fiscal", "carryover", "other"]
        out = []
        for code in order:
            slot = self.lines.get(code)
            if slot:
                out.append(BudgetLine(code, budget=slot.get("budget"),
                                      executed=slot.get("executed"), initial=slot.get("initial")))
        return out


# --- flattened budget tables

_COLUMN_HEADERS = [
    ("initial", re.compile(r"^年初预算数?$")),
    ("budget", re.compile(r"^(?:全年|调整后)?预算数?(?:（A）)?$")),
    ("executed", re.compile(r"^(?:全年|预算)?执行数(?:（B）)?$")),
    ("rate", re.compile(r"^(?:预算)?执行率(?:（B/A）)?$")),
    ("weight", re.compile(r"^(?:分值|权重)$")),
    ("score", re.compile(r"^得分$")),
    ("reason", re.compile(r"^(?:原因|偏差原因.*)$")),
]
_ROW_LABELS = [
    ("fiscal", re.compile(r"^(?:其中[：:]?)?(?:当年)?财政(?:拨款|资金)(?:资金)?$")),
    ("carryover", re.compile(r"^(?:其中[：:]?)?上年结转(?:资金)?$")),
    ("other", re.compile(r"^(?:其中[：:]?)?其他资金$")),
    ("basic", re.compile(r"^(?:其中[：:]?)?基本支出$")),
    ("project", re.compile(r"^(?:其中[：:]?)?项目支出$")),
    ("total", re.compile(r"^(?:年度资金总额|资金总额|总额|合计|总计|总预算|预算总额)$")),
]
_TABLE_END = re.compile(r"^(?:绩效指标|一级指标|年度总体目标|总体目标)")
_CELL_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)\s*(亿元|万元|万|元)?$")


def _column_of(text: str) -> str | None:
    t = re.sub(r"\s", "", text)
    return next((code for code, rx in _COLUMN_HEADERS if rx.match(t)), None)


def _row_label(text: str) -> str | None:
    t = re.sub(r"\s", "", text)
    return next((code for code, rx in _ROW_LABELS if rx.match(t)), None)


_TOTAL_SCORE_LABEL = re.compile(r"^(?:合计|总分|总计|自评得分|自评总分)$")


def _read_table_score(cells: list[Para]) -> float | None:
    """A form's total row: ``合计 | 100 | 96`` (分值 then 得分)."""
    texts = [c.text.replace(" ", "") for c in cells]
    for i, t in enumerate(texts[:-2]):
        if _TOTAL_SCORE_LABEL.match(t) and texts[i + 1] == "100":
            m = re.fullmatch(r"\d{1,3}(?:\.\d{1,2})?", texts[i + 2])
            if m and float(m.group(0)) <= 100:
                for c in cells[i: i + 3]:
                    c.used = True
                return float(m.group(0))
    return None


def _read_budget_table(cells: list[Para], budget: _Budget) -> None:
    i = 0
    while i < len(cells):
        cols = []
        j = i
        while j < len(cells) and _column_of(cells[j].text):
            cols.append(_column_of(cells[j].text))
            j += 1
        if not ("budget" in cols and "executed" in cols):
            i = max(j, i + 1)
            continue
        for c in cells[i:j]:
            c.used = True
        k = j
        while k < len(cells) and not _TABLE_END.match(cells[k].text.replace(" ", "")):
            line = _row_label(cells[k].text)
            if line is None:
                k += 1
                continue
            values = []
            m = k + 1
            while m < len(cells) and len(values) < len(cols) and _row_label(cells[m].text) is None:
                values.append(cells[m])
                m += 1
            ok = True
            for col, cell in zip(cols, values, strict=False):
                num = _CELL_NUMBER.match(cell.text.replace(" ", ""))
                if col in ("initial", "budget", "executed") and num:
                    ok &= budget.put(line, col, _amount(num.group(1), num.group(2) or "万元"))
                    cell.used = True
                elif re.fullmatch(r"[—\-/]*", cell.text) or (
                    col == "rate" and re.fullmatch(r"\d+(?:\.\d+)?%", cell.text)
                ):
                    cell.used = True  # placeholders and the derivable rate
            cells[k].used = ok
            k = m
        i = k


# --- goals, indicators, phases

_GOAL = re.compile(r"^(?:年度|绩效|年度绩效)?目标\s*(\d{1,2})\s*[：、.]\s*(.*)$")
_CATEGORY_WORDS = {
    "产出": ("产出", None), "成本": ("产出", "成本"), "数量": ("产出", "数量"),
    "质量": ("产出", "质量"), "时效": ("产出", "时效"),
    "效益": ("效益", None), "经济效益": ("效益", "经济效益"), "社会效益": ("效益", "社会效益"),
    "生态效益": ("效益", "生态效益"), "可持续影响": ("效益", "可持续影响"),
    "满意度": ("满意度", None), "服务对象满意度": ("满意度", "服务对象满意度"),
}
_CATEGORY = re.compile(
    r"^(?:（\d{1,2}）\s*)?(服务对象满意度|满意度|产出|效益|成本|数量|质量|时效|经济效益|社会效益|"
    r"生态效益|可持续影响)指标(?:完成情况)?(?:分析)?[。：]?$"
)
_INDICATOR = re.compile(
    r"^(?P<name>[^。（]*(?:（[^（）。]*）[^。（]*)*?)\s*"
    r"（(?:年初|年度|预期)?(?:目标值|指标值|目标)\s*[：为]?\s*(?P<target>[^（）]*)）"
    r"\s*[。.]?\s*(?P<sentence>.*)$"
)
_UNITS = (
    r"%|‰|万元|元|人次|件|次|个|户|人|名|场|期|篇|条|项|家|所|座|处|栋|台|套|天|日|小时|"
    r"分钟|个工作日|公里|千米|米|平方米|亩|吨|份|册|本|批|块|起"
)
_VALUE = rf"[≥≤><]?\s*\d+(?:\.\d+)?\s*(?:{_UNITS})?(?:以上|以下|及以上|及以下)?(?:合格)?"
_VALUE_IN_NAME = re.compile(rf"[≥≤><]?\s*(?<![\d.])\d+(?:\.\d+)?\s*(?:{_UNITS})(?:以上|以下|及以上|及以下)?")
_VALUE_WITH_UNIT = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*({_UNITS})")
_PARTLY = re.compile(r"(?:基本|部分|大部分)(?:完成|达到|实现|达成)")
_UNMET = re.compile(r"(?:未|没有|没|尚未|未能)(?:能|够)?(?:完成|达到|实现|达成)")
_MET = re.compile(r"(?:完成|达到|实现|达成)(?:了)?(?:年初|年度|预期|既定)?(?:目标|指标)")
_PHASE = re.compile(r"^(?P<name>[^（。，；]{2,24}?阶段)\s*（(?P<when>[^（）]{1,40})）")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _read_indicator(
    body: str, category: str, subcategory: str | None
) -> tuple[Indicator | None, str]:
    """(indicator, its sentence) of an item paragraph; (None, '') when it is none."""
    m = _INDICATOR.match(body)
    if not m or not m.group("name").strip() or len(m.group("name")) > 60:
        return None, ""
    name = m.group("name").strip()
    target = _compact(m.group("target")) or None
    in_name = _VALUE_IN_NAME.search(name)
    if in_name and not (target and re.search(r"\d", target)):
        target = _compact(in_name.group(0))
    sentence = m.group("sentence").strip()
    ind = Indicator(category=category, name=name, target=target, subcategory=subcategory,
                    source_text=body)
    _read_outcome(ind, sentence)
    return ind, sentence


def _read_outcome(ind: Indicator, sentence: str) -> None:
    core = _VALUE_IN_NAME.sub("", ind.name).strip()
    actual = None
    if core:
        m = re.search(re.escape(core) + rf"\s*(?:为|达到了?|达|是|[：:])?\s*({_VALUE})", sentence)
        if m and re.search(r"\d", m.group(1)):
            actual = _compact(m.group(1))
    if actual is None and ind.target:
        unit = _VALUE_WITH_UNIT.search(ind.target)
        if unit:
            same = [v for v in _VALUE_WITH_UNIT.finditer(sentence) if v.group(2) == unit.group(2)]
            if len(same) == 1:
                actual = _compact(same[0].group(0))
    ind.actual = actual
    if _PARTLY.search(sentence):
        ind.met = None  # "基本完成": neither met nor unmet as stated; the text is kept
    elif _UNMET.search(sentence):
        ind.met = False
    elif _MET.search(sentence):
        ind.met = True
    else:
        ind.met = None


def _read_phase(body: str) -> Phase | None:
    m = _PHASE.match(body)
    if not m:
        return None
    when = _compact(m.group("when"))
    parts = re.split(r"至|到|—|－|-|~", when, maxsplit=1)
    if len(parts) == 2:
        return Phase(m.group("name"), parts[0] or None, parts[1] or None)
    end = re.sub(r"(?:之前|以前|前)$", "", when)
    if end != when:
        return Phase(m.group("name"), None, end)
    return Phase(m.group("name"), when, None)


_SECTIONS = [
    ("problems", re.compile(r"存在的?问题")),
    ("result_use", re.compile(r"结果应用")),
    ("measures", re.compile(r"改进措施|改进意见|整改措施|改进建议|下一步(?:工作)?(?:计划|打算|措施)")),
]


# --------------------------------------------------------------------------
# the reader


@dataclass
class _Entry:
    marker: str
    body: str
    goal: int | None = None
    category: tuple[str, str | None] | None = None


def parse_text(text: str, source_name: str | None = None) -> Evaluation:
    """Read a report's text (see module docstring); ReportError if it is none."""
    name = source_name or "文本"
    meta, paras = _paragraphs(text)
    whole = meta.get("title", "") + "\n" + "\n".join(p.text for p in paras)
    if not whole.strip():
        raise ReportError(f"文件 {name} 中没有文字")
    if "绩效" not in whole or not re.search(r"自评|评价|绩效目标", whole):
        raise ReportError(f"文件 {name} 不是绩效自评报告：没有找到“绩效”“自评/评价”等字样")

    titles = [tn.normalize_chars(meta["title"])] if meta.get("title") else []
    for p in [p for p in paras if not p.cell][:10]:
        if _TITLE_PARA.match(p.text):
            titles.append(p.text)
            p.used = True

    year = _find_year(titles, paras)
    if year is None:
        raise ReportError(f"文件 {name} 中没有找到评价年度（如“2022年度”）")
    dept_name = _find_department(titles, paras)
    if not dept_name:
        raise ReportError(f"文件 {name} 中没有找到预算单位名称（标题或“实施单位”栏）")
    title = titles[0] if titles else ""
    scope, project = _find_scope(title, paras)

    ev = Evaluation(department=department_of(dept_name), year=year, scope=scope,
                    project=project, source_name=source_name)
    goals: dict[int, Goal] = {}
    budget = _Budget()
    _walk(paras, ev, goals, budget)
    cells = [p for p in paras if p.cell]
    _read_budget_table(cells, budget)
    if ev.self_score is None:
        ev.self_score = _read_table_score(cells)
    ev.budget = budget.as_lines()
    ev.goals = [goals[n] for n in sorted(goals)]
    ev.unparsed = _unparsed(paras)
    return ev


def _find_year(titles: list[str], paras: list[Para]) -> int | None:
    for t in titles:
        m = _YEAR.search(t)
        if m:
            return int(m.group(1))
    for p in paras[:40]:
        m = re.search(r"(20\d{2})\s*年度", p.text)
        if m:
            return int(m.group(1))
    for p in paras:
        m = _YEAR.search(p.text)
        if m:
            return int(m.group(1))
    return None


def _find_department(titles: list[str], paras: list[Para]) -> str | None:
    for t in titles:
        found = _dept_from_title(t)
        if found:
            return found
    best: tuple[int, str, list[Para]] | None = None
    for i, p in enumerate(paras):
        m = _FIELD_LABEL.match(p.text)
        if not m:
            continue
        value, held = m.group(2).strip(), [p]
        if not value and p.cell:
            q = next((q for q in paras[i + 1: i + 3] if q.text), None)
            value, held = (q.text, [p, q]) if q else ("", held)
        if value and _ORG.match(value) and (best is None or _FIELD_RANK[m.group(1)] < best[0]):
            best = (_FIELD_RANK[m.group(1)], value, held)
    if best is None:
        return None
    for p in best[2]:
        p.used = True
    return best[1]


def _find_scope(title: str, paras: list[Para]) -> tuple[str, str]:
    if "整体" in title or not re.search(r"项目|工程|专项|资金", title):
        return "部门整体", ""
    project = ""
    for i, p in enumerate(paras):
        m = re.match(r"^项目名称\s*[：:]?\s*(.*)$", p.text)
        if m:
            value, held = m.group(1).strip(), [p]
            if not value and p.cell:
                q = next((q for q in paras[i + 1: i + 3] if q.text), None)
                value, held = (q.text, [p, q]) if q else ("", held)
            if value:
                project = re.sub(r"^[0-9A-Z]{10,}[-—]", "", value)
                for q in held:
                    q.used = True
                break
    if not project:
        t = re.sub(r"（[^（）]*）", " ", title)
        t = re.sub(r"(?:项目支出)?绩效(?:自评|评价)(?:报告|表|结果).*$", "", t).strip()
        project = t.split(" ")[-1] if t else ""
    return "项目", project


def _walk(paras: list[Para], ev: Evaluation, goals: dict[int, Goal], budget: _Budget) -> None:
    stack: list[_Entry] = []
    awaiting: Indicator | None = None  # an item whose sentence is still to come
    for i, p in enumerate(paras):
        if p.cell:  # table cells: facts and goal names, no outline
            if p.text:
                m = _GOAL.match(p.text)
                if m and m.group(2).strip():
                    _goal_paragraph(p, m, _Entry("goal", p.text), [], goals)
                else:
                    _read_facts(p, ev, budget)
            continue
        if p.text == tn.CUT_MARK:
            p.used = True
            awaiting = None
            continue
        if p.marker:
            types = [e.marker for e in stack]
            if p.marker in types:
                del stack[types.index(p.marker):]
            entry = _Entry(p.marker, p.body)
            stack.append(entry)
            p.heading = _is_heading(p, paras[i + 1: i + 2], stack)
            goal_m = _GOAL.match(p.text) if p.marker == "goal" else None
            if goal_m:
                _goal_paragraph(p, goal_m, entry, stack, goals)
                awaiting = None
                continue
            cat = _CATEGORY.match(p.body) if _title_like(p.body) else None
            if cat:
                entry.category = _CATEGORY_WORDS[cat.group(1)]
                p.used = p.heading = True
                awaiting = None
                continue
        else:
            cat = _CATEGORY.match(p.text)
            if cat:  # an unmarked category heading scopes like a marked one
                types = [e.marker for e in stack]
                if "cat" in types:
                    del stack[types.index("cat"):]
                stack.append(_Entry("cat", p.text, category=_CATEGORY_WORDS[cat.group(1)]))
                p.used = p.heading = True
                awaiting = None
                continue
        goal_no, category = _context(stack)
        if awaiting is not None and not p.marker and category:
            awaiting.source_text = f"{awaiting.source_text}{p.text}"
            _read_outcome(awaiting, p.text)
            awaiting = None
            p.used = True
            continue
        awaiting = None
        if category:
            ind, sentence = _read_indicator(p.body, *category)
            if ind:
                no = goal_no or 0
                if no not in goals:
                    goals[no] = Goal(no, "")
                goals[no].indicators.append(ind)
                awaiting = None if sentence else ind
                p.used = True
                continue
        if p.heading and _title_like(p.body):
            continue
        phase = _read_phase(p.body)
        if phase:
            ev.schedule.append(phase)
            p.used = True
            continue
        # a paragraph's own words do not make it a section heading
        section = _section(stack[:-1] if p.marker else stack)
        if section and not p.heading:
            getattr(ev, section).append(p.body)
            p.used = True
        _read_facts(p, ev, budget)


def _read_facts(p: Para, ev: Evaluation, budget: _Budget) -> None:
    if ev.self_score is None:
        m = SCORE.search(p.text)
        if m and float(m.group(1)) <= 100:
            ev.self_score = float(m.group(1))
            if len([s for s in re.split(r"[。！？]", p.text) if s.strip()]) == 1:
                p.used = True
    _read, understood = budget.read_text(p.body)
    if understood:
        p.used = True


def _is_heading(p: Para, following: list[Para], stack: list[_Entry]) -> bool:
    if not following:
        return False
    nxt = following[0]
    if nxt.marker is None or nxt.cell:
        return _title_like(p.body) and nxt.text != tn.CUT_MARK
    return nxt.marker not in [e.marker for e in stack]


def _goal_paragraph(p: Para, m: re.Match, entry: _Entry, stack: list[_Entry],
                    goals: dict[int, Goal]) -> None:
    no = int(m.group(1))
    rest = m.group(2).strip()
    entry.goal = no
    p.used = True
    goal = goals.get(no)
    cat = _CATEGORY.match(rest)
    if cat:  # "目标 1：（1）产出指标完成情况分析"
        p.heading = True
        inline = tn.split_marker(rest)
        stack.append(_Entry(inline[0] or "cat", rest, category=_CATEGORY_WORDS[cat.group(1)]))
        if goal is None:
            goals[no] = Goal(no, "")
        return
    name = re.split(r"[。；]", rest, maxsplit=1)[0].strip()
    if goal is None:
        goals[no] = Goal(no, name, expected=rest if rest != name else None)
    elif not goal.name:
        goal.name = name


def _context(stack: list[_Entry]) -> tuple[int | None, tuple[str, str | None] | None]:
    goal_no = None
    category = None
    for e in stack:
        if e.goal is not None:
            goal_no, category = e.goal, None  # a category belongs to its goal
        if e.category is not None:
            category = e.category
    return goal_no, category


def _section(stack: list[_Entry]) -> str | None:
    for e in reversed(stack):
        for key, rx in _SECTIONS:
            if rx.search(e.body[:40]):
                return key
    return None


def _unparsed(paras: list[Para]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for p in paras:
        if p.cell and not p.used:
            if p.text:
                run.append(p.text)
            continue
        if run:
            out.append(" | ".join(run))
            run = []
        if not p.cell and not p.used and not (p.heading and _title_like(p.body)):
            out.append(p.text)
    if run:
        out.append(" | ".join(run))
    return out


# --------------------------------------------------------------------------
# output


def to_json_dict(ev: Evaluation) -> dict:
    """What ``perfeval parse --json`` prints: amounts in 万元, absent → None / []."""
    return {
        "department": ev.department.name,
        "region": ev.department.region,
        "kind": ev.department.kind,
        "year": ev.year,
        "scope": ev.scope,
        "project": ev.project,
        "self_score": ev.self_score,
        "budget": [
            {"line": b.line, "budget": b.budget, "executed": b.executed}
            for b in ev.budget
            if b.line in ("total", "basic", "project")
        ],
        "goals": [
            {
                "no": g.no,
                "name": g.name,
                "indicators": [
                    {"category": i.category, "name": i.name, "target": i.target,
                     "actual": i.actual, "met": i.met}
                    for i in g.indicators
                ],
            }
            for g in ev.goals
        ],
        "problems": list(ev.problems),
        "measures": list(ev.measures),
        "result_use": list(ev.result_use),
        "schedule": [{"name": s.name, "start": s.start, "end": s.end} for s in ev.schedule],
        "unparsed": list(ev.unparsed),
    }


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}"


def summary(ev: Evaluation) -> str:
    """A readable Chinese account of what was read."""
    d = ev.department
    extra = "，".join(x for x in (d.region, d.kind) if x)
    lines = [
        f"文件：{ev.source_name or '—'}",
        f"单位：{d.name}" + (f"（{extra}）" if extra else ""),
        f"年度：{ev.year}　评价范围：{ev.scope}" + (f"　项目：{ev.project}" if ev.project else ""),
        f"自评得分：{'—' if ev.self_score is None else f'{ev.self_score:g}'}",
    ]
    labels = {"total": "总预算", "basic": "基本支出", "project": "项目支出", "fiscal": "财政拨款",
              "carryover": "上年结转", "other": "其他资金"}
    if ev.budget:
        lines.append("预算执行（万元）：")
        for b in ev.budget:
            rate = f"　执行率 {b.rate:.1%}" if b.rate is not None else ""
            lines.append(f"  {labels[b.line]}：预算数 {_fmt(b.budget)}　执行数 {_fmt(b.executed)}{rate}")
    else:
        lines.append("预算执行：未找到")
    inds = [i for _, i in ev.indicators]
    counts = "，".join(f"{c} {sum(i.category == c for i in inds)}" for c in ("产出", "效益", "满意度"))
    lines.append(f"年度目标 {len(ev.goals)} 个，绩效指标 {len(inds)} 个（{counts}）")
    for g in ev.goals:
        lines.append(f"  目标 {g.no}：{g.name or '（未命名）'}（{len(g.indicators)} 个指标）")
    unmet = [(g, i) for g, i in ev.indicators if i.met is False]
    if unmet:
        lines.append(f"未完成的指标 {len(unmet)} 个：")
        for g, i in unmet:
            lines.append(f"  目标 {g.no} {i.category}「{i.name}」：目标值 {i.target or '—'}，"
                         f"实际 {i.actual or '—'}")
    lines.append(f"存在的问题 {len(ev.problems)} 条，改进措施 {len(ev.measures)} 条，"
                 f"结果应用 {len(ev.result_use)} 条，自评工作安排 {len(ev.schedule)} 个阶段")
    for s in ev.schedule:
        lines.append(f"  {s.name}：{s.start or '—'} 至 {s.end or '—'}")
    lines.append(f"未识别的内容 {len(ev.unparsed)} 段（--json 可查看全文）")
    return "\n".join(lines)
