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

Rules (each a family of phrasings, not one file's wording). A self-evaluation
is never refused for a missing field: the department is "" and the year None
while unknown (the pipeline asks for them), and ``Evaluation.warnings`` says in
Chinese what was left empty and why. Only a text that is no self-evaluation is
refused (no 绩效…自评/评价, or a policy document: …办法/通知/意见).

- title: a web copy's ``title:`` line, else the first short paragraph naming
  绩效 and 报告/结果/自评表 (also after ``附件N：`` or ``某某局：``, or over two
  paragraphs: ``2022年度某某局`` / ``部门整体绩效自评报告``).
- year: the title's first year (``2022年度``, or a bare ``2018`` in a title),
  a 评价年度 field, the first ``20xx年度`` of the body, any ``20xx年`` that is
  not a date (a date is when the report was written), then the file name.
- department: from the title (a parenthesised unit; the text before
  部门整体/项目支出/…/绩效 or before the year, 关于 and years stripped; the
  longest unit-like prefix naming a place before the project words), a
  labelled field's fuller name of it winning; else a labelled field
  (实施单位 first, then 单位名称/部门（单位）名称/评价单位/填报单位/…/部门：,
  then 主管部门, then 发文单位/发布机构); else the unit signing the report
  above its date; else the file name. ``Department.parent`` is the 主管部门
  field when it names another unit. Region: the county-level part of the name
  (硚口区, 牟定县), else the city (鄂州市). Kind, first rule that matches:
  街道办事处/街道 → 街道; 镇/乡(人民政府) → 乡镇; 政协/人大 → 人大政协;
  妇联/妇女联合会/共青团/团委/工会/残联/科协/工商联/侨联/文联/红十字会 → 群团;
  a name ending in 局/委/委员会/厅/办/办公室/部 → 委局;
  ending in 中心/院/所/站/队/馆/学校/中学/小学/幼儿园/医院 → 事业单位; else unknown.
- scope: 部门整体 when the title says 整体, 项目 when it names a 项目/工程/专项
  /资金, else 部门整体; the project name from a 项目名称 field or the title
  (the unit and year in front of it removed; none for a report over projects).
- self-score: (自评|综合|评价|考核)…(得分|评分|总分|分数|结果) N 分, 自评分为 N 分,
  自评总分（分）N / 自评总分：N (no 分), 总得分/最终得分 N 分 (not a part's
  得分); N ≤ 100, the 100 of "总分100分，自评得分95分" being the scale;
  sentences about another year (上年度…, 2021年度… in a 2022 report) skipped.
  In a flattened form: ``合计 | 100 | N``, ``总分 | N``, ``自评得分 | | N``.
- self-grade, only where no score is stated: 自评为优秀 / 评价等级为“良” /
  自评结果：合格 → 优/良/中/差 (合格, 中等 → 中; 不合格, 较差 → 差).
- budget: every clause ``label amount`` (amount in 元/万元/亿元, read as 万元)
  whose label is only budget words: the line (基本支出 → basic, 项目支出 →
  project, 总预算/预算总额/整体支出/… → total, 财政拨款 → fiscal) and the kind
  (执行/决算/支出/支付/使用/完成投资 → executed; 年初预算 → initial; 预算/下达/
  批复 → budget) carry over to the next clause of the paragraph when it omits
  them (``基本支出预算总额为 X 万元，实际执行总额为 Y 万元``). A label with other
  words (人员经费, 调整追加, 收入, 到位, 总投资) is not a budget line and is
  skipped. A named fund with its kind word (``下达…补助资金 2 万元``,
  ``衔接资金共下达 105 万元``) is read only when all such figures agree and no
  carry-over (上年结转) is stated. A figure stated twice with different values
  is dropped (a report over several projects). Flattened budget tables
  (年初预算数 | 全年预算数 | 全年执行数 …) are read by column, in 元 where a
  header or ``单位：元`` says so. Every figure left out is named in warnings.
- goals: ``(年度)目标 N：名称``; indicators under a category heading
  ``（1）产出指标…（50分）``: ``名称（年初目标值：X）句子`` or ``名称，目标值：X，
  实际完成值：Y``. A number in the name (``消防隐患整治率 99%``) is the target
  when the stated one has none. The actual is the value the sentence gives
  after the name (``整治率为 70%``), else the only value in the sentence with
  the target's unit, else None. Met as the sentence states it (完成/未完成…
  目标; 基本/部分完成 → None); 分值/得分 where the sentence gives both
  consistently. Indicators met outside any goal go to goal 0 (name '').
- problems / measures / result use: the content paragraphs of the sections
  whose heading names 存在的问题（偏差原因, 未完成原因）/ 改进措施 / 结果应用.
- reasons: a problem clause (split at ；/。, ``第 1 处：因…`` kept with its
  topic) naming an unmet indicator by its subject (four or more leading
  characters of the name without its measure word: 信访积案化解率 ↔
  信访积案化解, 消防隐患整治率 ↔ 消防隐患整改) becomes its reason, a measure
  naming it is appended as ``改进措施：…``. Nothing is attached by position.
- schedule: ``名称阶段（6月5日至6月9日）`` anywhere.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..model import (
    BUDGET_LINES,
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
from .common import decode_text, docx_cell_text, docx_paragraph_text
from .limits import MAX_REPORT_TEXT_BYTES, too_much_report_text

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


def extract_text(name: str, data: bytes, *, pdf_pages: list | None = None) -> str:
    """The text of a .txt/.docx/.pdf file, by its content first, then its
    suffix; refused past limits.MAX_REPORT_TEXT_BYTES (the report reader's
    matching grows faster than the text: 8 MB of text took 300 s)."""
    text = _extract_text(name, data, pdf_pages)
    # 3 bytes a character at most (UTF-8 of Chinese): no encoded copy needed
    if len(text) * 3 > MAX_REPORT_TEXT_BYTES and len(text.encode("utf-8")) > MAX_REPORT_TEXT_BYTES:
        raise ReportError(too_much_report_text(name))
    return text


def _extract_text(name: str, data: bytes, pdf_pages: list | None = None) -> str:
    if not data or data.isspace():  # (strip() would copy the whole file)
        raise ReportError(f"文件 {name} 是空文件，不是绩效自评报告")
    if data.startswith(b"PK\x03\x04"):
        return _docx_text(name, data)
    if b"%PDF-" in data[:1024]:
        return _pdf_text(name, data, pdf_pages)
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            raise ReportError(f"文件 {name} 是{what}，不是文字报告")
    suffix = Path(name).suffix.lower()
    if suffix in (".docx", ".pdf"):
        raise ReportError(f"文件 {name} 不是有效的 {suffix} 文件")
    if len(data) > MAX_REPORT_TEXT_BYTES:  # refused before decoding
        raise ReportError(too_much_report_text(name))
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
    text = decode_text(data)
    if text is None:
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
                lines.append(docx_paragraph_text(block._p))
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
            cells.append(" ".join(docx_cell_text(cell._tc).split()).replace("|", "｜"))
        lines.append(" | ".join(cells) + " |")
    return lines


def _pdf_text(name: str, data: bytes, pdf_pages: list | None = None) -> str:
    """The pages' text; ``pdf_pages`` (grid.pdf_pages) when already read."""
    import pdfplumber

    if pdf_pages is not None:
        pages = [text for text, _ in pdf_pages]
    else:
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
_TITLE_PARA = re.compile(
    r"^[^：>/|]{4,80}?(?:绩效.{0,20}(?:报告|结果|自评表|评价表)|自评价?(?:总结)?(?:报告|表|结果))"
    r"(?:（[^（）]*）)?$")
_YEAR = re.compile(r"(20\d{2})\s*年")
_LEADING_TITLE = re.compile(
    r"^([^：>/|。，]{4,60}?绩效[^：>/|。，]{0,16}?(?:报告|结果|自评表|评价表))"
    r"(?:\s+(?=\S)|(?=为|根据|按照|现将|一、))")
_ORG_SUFFIX = (
    r"(?:办事处|人民政府|政府|街道|局|委员会|委|办公室|办|政协|人大|常委会|联合会|妇联|团委|工会|"
    r"残联|科协|工商联|侨联|文联|红十字会|中心|院|所|站|队|馆|学校|中学|小学|幼儿园|医院|部|厅|处|社|"
    r"协会|镇|乡)"
)
_ORG = re.compile(rf"^[\u4e00-\u9fff（）]{{2,40}}?{_ORG_SUFFIX}$")
_DEPT_BEFORE = re.compile(r"部门（单位）|单位整体|部门整体|机关整体|整体支出|项目支出|部门预算|预算项目|绩效")
_FIELD_LABEL = re.compile(
    r"^(项目实施单位|实施单位|单位名称|部门名称|部门（单位）名称|单位（部门）名称|预算单位|预算部门"
    r"(?:（单位）|单位)?|填报单位|评价单位|项目单位|项目主管部门|县级主管部门|主管部门(?:（单位）)?|发文单位|发布机构)"
    r"\s*(?:（(?:盖章|公章|签章)）)?\s*[：:]?\s*(.*)$"
)


_PLAIN_FIELD = re.compile(r"^(单位|部门)\s*[：:]\s*(.+)$")


def _field_rank(label: str) -> int:
    """Lower is better: the evaluated unit before its 主管部门, the publisher last."""
    if "实施单位" in label:
        return 0
    if "主管部门" in label:
        return 2
    if label in ("发文单位", "发布机构"):
        return 3
    return 1


_YEAR_AROUND = re.compile(r"^\s*20\d{2}\s*年?度?\s*|\s*20\d{2}\s*年?度?\s*$")
# Words that start a project's name in a title: the unit named before them.
_PROJECT_WORD = re.compile(r"项目|资金|专项|工程|经费|转移支付|补助")
_PLACE = re.compile(r"[省市州县区旗镇乡]|^中共")


def _head(text: str) -> str:
    """The unit-name candidate before a title's subject: years, 关于 and colons off."""
    text = re.sub(r"^附件\s*\d*\s*[：:]?\s*", "", _YEAR_AROUND.sub("", text).strip())
    text = re.sub(r"(?:关于|对|的|[：:，])+$", "", text).strip()
    return _YEAR_AROUND.sub("", text).strip()


def _dept_from_title(title: str) -> str | None:
    for inner in re.findall(r"（([^（）]*)）", title):
        for part in re.split(r"[，、,\s]+", inner):
            if len(part) >= 3 and _ORG.match(part) and "年" not in part:
                return part
    m = _DEPT_BEFORE.search(title)
    if m:
        head = _head(title[: m.start()])
        head = head.split(" ")[-1] if head else head
        if _ORG.match(head or ""):
            return head
    # "海口市秀英区水务局2022年衔接资金项目…": the unit, then the year
    y = re.search(r"(?<!\d)20\d{2}(?!\d)", title)
    if y:
        head = _head(title[: y.start()])
        head = head.split(" ")[-1] if head else head
        if _ORG.match(head or ""):
            return head
    for token in reversed(title.split()):  # "… 工资性支出 青神县发展和改革局"
        if _ORG.match(token) and not _TITLE.search(token):
            return token
    # "红河州第二人民医院国家基本公共卫生服务项目…": the longest unit-like
    # prefix before the project words, when it names a place (not "农村厕所")
    pw = _PROJECT_WORD.search(title)
    lead = re.match(r"[\u4e00-\u9fff]+", title[: pw.start()] if pw else "")
    if lead:
        text = lead.group(0)
        for end in range(len(text), 2, -1):
            head = text[:end]
            if _ORG.match(head) and _PLACE.search(head[:-1]) and len(head) >= 5:
                return head
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
    ("事业单位", re.compile(r"(?:中心|院|所|站|队|馆|学校|中学|小学|幼儿园|医院)$")),
]


def department_of(name: str) -> Department:
    """The department with region and kind derived from its name (rules above)."""
    region = None
    m = _REGION.match(re.sub(r"^(?:中共|中国共产党)", "", name))  # 中共保山市委… → 保山市
    if m:
        for part in (m.group("county"), m.group("city")):
            if part and part != name and not any(part.endswith(s) for s in _NOT_REGION):
                region = part
                break
    kind = next((k for k, rule in KIND_RULES if rule.search(name)), None)
    return Department(name=name, region=region, kind=kind)


# Between "自评" and "得分" no part of the score may be named: "评价指标体系中，
# 产出指标得分45分" is a part, not the total.
_GAP = r"(?:(?!指标|产出|效益|满意度|预算执行|执行率)[^。；\d])"
_GAP_NO_COMMA = r"(?:(?!指标|产出|效益|满意度|预算执行|执行率)[^。；，\d])"
SCORE = re.compile(
    rf"(?:(?<!指标)(?:自评|综合|评价|考核){_GAP}{{0,12}}?(?:得分|评分|总分|分数|结果)|自评分)[^。；\d]{{0,6}}?"
    r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*分(?!值)"
)
# Without the 分 after the number the label must say 得分/总分 right before
# it: "自评总分（分）92.5", "自评总分：95".
SCORE_BARE = re.compile(
    rf"(?:(?<!指标)(?:自评|综合|评价|考核|绩效){_GAP_NO_COMMA}{{0,8}}?(?:得分|总分|评分)|自评分)"
    r"\s*(?:（分）|为|是|[：:])?\s*(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)(?![\d.%])\s*(?=[。；，,|）]|$)"
)
# A grade stated instead of a score: 自评为优秀, 评价等级为“良”, 自评结果：合格.
_GRADE = re.compile(
    r"(?:自评|评价|考核|评定)(?:结果|等级|等次|结论)?(?:为|是|[：:]|评定为|确定为)\s*"
    r"[“\"「]?(优秀|良好|合格|不合格|较差|中等|及格|优|良|中|差)(?![\u4e00-\u9fff])"
    r"|(?:等级|等次)\s*(?:为|是|[：:])\s*[“\"「]?(优秀|良好|合格|不合格|较差|中等|及格|优|良|中|差)"
    r"(?![\u4e00-\u9fff])"
)
_GRADE_OF = {"优秀": "优", "优": "优", "良好": "良", "良": "良", "合格": "中", "中等": "中",
             "及格": "中", "中": "中", "差": "差", "较差": "差", "不合格": "差"}


def _cjk_joined(text: str) -> str:
    """PDF text layers space out words ("自评为优 秀"): close spaces between CJK."""
    return re.sub(r"(?<=[\u4e00-\u9fff“”（）：])\s+(?=[\u4e00-\u9fff“”（）：])", "", text)


# "总得分为95分", "最终得分95分": a total, unless a part of the score is
# named just before it ("产出指标总得分…", "预算执行得分…").
SCORE_TOTAL = re.compile(
    r"(?P<before>[^。；]{0,8})(?:总得分|最终得分|综合得分|总分)\s*(?:为|是|[：:])?\s*"
    r"(?<![\d.])(\d{1,3}(?:\.\d{1,2})?)\s*分(?!值)"
)
_PART_OF_SCORE = re.compile(r"指标|预算|执行|产出|效益|满意度|分值|目标|权重|满分|共计")


_OTHER_YEAR = re.compile(r"上年|上一年|去年|以前年度|往年")


def _other_year(text: str, year: int | None) -> bool:
    """Does the sentence speak of another year than the one evaluated?"""
    if _OTHER_YEAR.search(text):
        return True
    years = {int(y) for y in re.findall(r"(?<!\d)(20\d{2})\s*年", text)}
    return bool(year and years and year not in years)


def read_score(text: str, year: int | None = None) -> float | None:
    """The self-score a sentence states, None when none or above 100.

    Sentences about another year's score (上年度自评得分…, 2021年度自评得分…
    in a 2022 report) are not this year's score.
    """
    sentences = [t for t in re.split(r"(?<=[。！？；])", _cjk_joined(text)) if t.strip()]
    for sentence in sentences:
        if _other_year(sentence, year):
            continue
        score = _score_in(sentence)
        if score is not None:
            return score
    return None


def _score_in(text: str) -> float | None:
    for rx in (SCORE, SCORE_BARE):
        found = [m for m in rx.finditer(text) if float(m.group(1)) <= 100
                 and not re.search(r"满分|分值", m.group(0))]
        # "评价总分100分，自评得分95分": the 100 is the scale, the later one the score
        if len(found) > 1 and float(found[0].group(1)) == 100:
            found = found[1:]
        if found:
            return float(found[0].group(1))
    for m in SCORE_TOTAL.finditer(text):
        if not _PART_OF_SCORE.search(m.group("before")) and float(m.group(2)) <= 100:
            return float(m.group(2))
    return None


def read_grade(text: str) -> str | None:
    """The grade a sentence states (优/良/中/差), None when none."""
    m = _GRADE.search(_cjk_joined(text))
    if not m:
        return None
    return _GRADE_OF[m.group(1) or m.group(2)]

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
    r"支出数|支出|决算数|决算|实际完成投资|完成投资|已支付|支付|已使用|使用|本年度|本年|当年|全年|年度|"
    r"其中|实际|财政|项目|"
    r"我(?:局|委|办|院|所|站|中心|单位|部门|镇|乡|街道|校|馆|队|会)|本(?:单位|部门|局|委|中心)|"
    r"部门|整体|该项目|本项目|项目资金|资金|总金额|金额|总额|总计|合计|共计|累计|总|数|为|是|"
    r"达到|达|共|约|的|了|已|计|完成"
)
_FILLER = re.compile(r"^(?:[\d\s年度：:、“”（）\-—]|（[AB](?:/[AB])?）)*$")


def _kind_of(label: str) -> str | None:
    label = re.sub(r"基本支出|项目支出|整体支出", "", label)
    if "执行" in label and "执行率" not in label:
        return "executed"
    if "年初预算" in label:
        return "initial"
    if re.search(r"预算|下达|批复", label):
        return "budget"
    if re.search(r"决算|支出|完成投资|支付|使用", label):
        return "executed"
    return None


_KIND_LABELS = {"budget": "预算数", "executed": "执行数", "initial": "年初预算数"}

# A named fund with its kind word: "下达…补助资金 2 万元", "衔接资金共下达 105 万元".
# Read only when every such figure of the report agrees (see _Budget.settle).
_NAMED_FUND = re.compile(
    r"(?:下达|批复|安排)[^，。；]{0,60}?(?:资金|经费)(?:共|合计|总计)?为?$"
    r"|(?:资金|经费)(?:共|合计|总计|已)?(?:下达|批复|安排)(?:资金|经费)?(?:共|合计)?为?$"
)
_RUN_IN = re.compile(r"^[\u4e00-\u9fff]{2,16}情况(?:分析)?[：:]\s*")
_PART_WORDS = re.compile(r"人员|公用|工资|收入|结转|结余|追加|增加|减少|同比|上年|其中")


def _amount(value: str, unit: str) -> float:
    return round(to_wan(float(value), unit), 6)


class _Budget:
    """Budget figures as read, first value wins."""

    def __init__(self) -> None:
        self.lines: dict[str, dict[str, float]] = {}
        self.named: list[tuple[str, float, str]] = []  # (kind, 万元, clause) of named funds
        self.carryover: list[str] = []  # clauses naming a 结转/结余 amount
        self.conflicts: dict[tuple[str, str], list[float]] = {}
        self.skipped: list[tuple[str, str]] = []  # (kind, clause) of amounts not understood

    def settle(self, warnings: list[str]) -> None:
        """Drop figures stated twice with different values; take the
        named-fund figures when they are the whole story; warn of both."""
        for (line, kind), values in self.conflicts.items():
            self.lines[line].pop(kind, None)
            shown = "、".join(f"{v:g}" for v in dict.fromkeys(values))
            warnings.append(f"{BUDGET_LINES[line]}的{_KIND_LABELS[kind]}出现不同数额（{shown} 万元），未读取")
        self._settle_named(warnings)
        total = self.lines.get("total", {})
        for kind in ("budget", "executed"):
            clauses = [c for k, c in self.skipped if k == kind]
            if clauses and kind not in total:
                warnings.append(f"总预算的{_KIND_LABELS[kind]}未读取，金额的口径不明确：{clauses[0][:60]}")

    def _settle_named(self, warnings: list[str]) -> None:
        if not self.named:
            return
        kinds = {k for k, _, _ in self.named}
        values = {(k, v) for k, v, _ in self.named}
        clauses = "；".join(dict.fromkeys(c for _, _, c in self.named))
        total = self.lines.get("total", {})
        if len(values) != len(kinds):
            warnings.append(f"资金金额有多个口径，未读取预算数/执行数：{clauses[:120]}")
        elif self.carryover:
            warnings.append(f"资金含上年结转，全年预算数不明确，未读取：{clauses[:120]}")
        else:
            for kind, value in values:
                if kind not in total:
                    self.put("total", kind, value)

    def put(self, line: str, kind: str, value: float) -> bool:
        """Record a figure; False when it contradicts one read before (a
        report over several projects, or a typo: settle() drops both)."""
        slot = self.lines.setdefault(line, {})
        if kind in slot:
            same = abs(slot[kind] - value) <= max(0.01, 0.0005 * abs(slot[kind]))  # rounding
            if not same:
                self.conflicts.setdefault((line, kind), [slot[kind]]).append(value)
            return same
        slot[kind] = value
        return True

    def read_text(self, text: str) -> tuple[int, bool]:
        """(figures read, whole text understood) for one paragraph."""
        text = _cjk_joined(text)  # "基本支 出" in PDF text layers
        line = kind = None
        read = 0
        understood = True
        for sentence in re.split(r"[。！？\n]", text):
            if not sentence.strip().startswith("其中"):
                line = kind = None  # only 其中 continues the sentence before
            for clause in re.split(r"[，,；;]", sentence):
                # a run-in heading is no part of the label ("资金执行情况：2017年…")
                clause = _RUN_IN.sub("", clause.strip())
                line, kind, n, ok = self._read_clause(clause, line, kind)
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
            if re.search(r"上年|以前年度|年初结转", label):  # carried in, not left over
                self.carryover.append(clause)
            if not _FILLER.match(_KNOWN_WORDS.sub("", label)):
                understood = False  # another subject: 人员经费, 调整追加, …
                fund = _NAMED_FUND.search(label.strip())
                kind_here = _kind_of(label)
                if fund and kind_here in ("budget", "executed") and not _PART_WORDS.search(label):
                    self.named.append((kind_here, _amount(m.group(1), m.group(2)), clause))
                elif kind_here and not _PART_WORDS.search(label):
                    self.skipped.append((kind_here, clause))
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
    t = _HEADER_UNIT.sub("", re.sub(r"\s", "", text))
    return next((code for code, rx in _COLUMN_HEADERS if rx.match(t)), None)


def _row_label(text: str) -> str | None:
    t = re.sub(r"\s", "", text)
    return next((code for code, rx in _ROW_LABELS if rx.match(t)), None)


_TOTAL_SCORE_LABEL = re.compile(
    r"^(?:(?P<sum>合计|总计|得分合计)|总分|总得分|自评得分|自评总分|综合得分|自评分|自评得分合计)(?:（分）)?$")
_CELL_SCORE = re.compile(r"^(\d{1,3}(?:\.\d{1,2})?)分?$")


def _read_table_score(cells: list[Para]) -> float | None:
    """A form's total row: ``合计 | 100 | 96`` (分值 then 得分), ``总分 | 96``,
    ``自评得分 | | 96`` (the value in a later cell). A 合计 with one number
    is only the 分值 sum: no score."""
    texts = [c.text.replace(" ", "") for c in cells]
    for i, t in enumerate(texts):
        label = _TOTAL_SCORE_LABEL.match(t)
        if not label:
            continue
        following = [(j, texts[j]) for j in range(i + 1, min(i + 5, len(texts))) if texts[j]][:3]
        numbers: list[tuple[int, float]] = []
        for j, text in following:
            m = _CELL_SCORE.match(text)
            if not m:
                break
            numbers.append((j, float(m.group(1))))
        if len(numbers) >= 2 and numbers[0][1] == 100:
            j, score = numbers[1]
        elif len(numbers) == 1 and not label.group("sum"):
            j, score = numbers[0]
        else:
            continue
        if score <= 100:
            for c in cells[i: j + 1]:
                c.used = True
            return score
    return None


_GRADE_LABEL = re.compile(r"^(?:自评|评价|绩效|综合)?(?:等级|等次|结论|结果)(?:（[^（）]*）)?$")


def _read_table_grade(cells: list[Para]) -> str | None:
    """``自评等级 | 优秀``: a grade cell after its label."""
    texts = [c.text.replace(" ", "") for c in cells]
    for i, t in enumerate(texts[:-1]):
        if _GRADE_LABEL.match(t):
            nxt = next((x for x in texts[i + 1: i + 3] if x), "")
            grade = re.sub(r"[“”\"「」]|等级$|等次$", "", nxt)
            if grade in _GRADE_OF:
                return _GRADE_OF[grade]
    return None


_UNIT_DECL = re.compile(r"(?:金额|资金|数额)?单位\s*[：:]\s*(万元|元)(?![\u4e00-\u9fff])")
_HEADER_UNIT = re.compile(r"[（(](万元|元)[）)]$")


def _declared_unit(paras: list[Para]) -> str:
    """The unit a table declares ("单位：元"), 万元 when none."""
    for p in paras:
        m = _UNIT_DECL.search(p.text.replace(" ", ""))
        if m:
            return m.group(1)
    return "万元"


def _read_budget_table(cells: list[Para], budget: _Budget, unit: str = "万元") -> None:
    i = 0
    while i < len(cells):
        cols = []
        j = i
        units: list[str] = []
        while j < len(cells) and _column_of(cells[j].text):
            cols.append(_column_of(cells[j].text))
            hu = _HEADER_UNIT.search(cells[j].text.replace(" ", ""))
            units.append(hu.group(1) if hu else unit)
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
            while (m < len(cells) and len(values) < len(cols) and _row_label(cells[m].text) is None
                   and not _TABLE_END.match(cells[m].text.replace(" ", ""))):
                values.append(cells[m])
                m += 1
            ok = True
            for col, cell_unit, cell in zip(cols, units, values, strict=False):
                num = _CELL_NUMBER.match(cell.text.replace(" ", ""))
                if col in ("initial", "budget", "executed") and num:
                    ok &= budget.put(line, col, _amount(num.group(1), num.group(2) or cell_unit))
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
    r"生态效益|可持续影响)指标(?:完成情况)?(?:分析)?(?:（[^（）]{0,20}分[^（）]{0,12}）)?[。：]?$"
)
# "培训人次，年初目标值：100人次，实际完成值：120人次，完成年初目标。"
_INDICATOR_FIELDS = re.compile(
    r"^(?:指标\s*\d+\s*[：:]\s*)?(?P<name>[^，。：；（]{2,40}?)\s*[，：；]\s*"
    r"(?:年初|年度|预期)?(?:目标值|指标值)\s*[：为]?\s*(?P<target>[^，。；]+?)\s*[，；]\s*"
    r"(?:全年)?(?:实际完成值|实际完成|完成值|实际值)\s*[：为]?\s*(?P<actual>[^，。；]+?)\s*"
    r"(?:[，；。]\s*(?P<rest>.*))?$"
)
_WEIGHT_IN = re.compile(r"(?:分值|权重|满分)\s*(?:为|是|[：:])?\s*(\d{1,3}(?:\.\d{1,2})?)\s*分")
_SCORE_IN = re.compile(r"(?<!自评)(?<!总)得分\s*(?:为|是|[：:])?\s*(\d{1,3}(?:\.\d{1,2})?)\s*分")


def _read_points(ind: Indicator, sentence: str) -> None:
    """分值/得分 stated in the indicator's sentence: "分值10分，得分9分"."""
    w = _WEIGHT_IN.search(sentence)
    sc = _SCORE_IN.search(sentence)
    weight = float(w.group(1)) if w else None
    score = float(sc.group(1)) if sc else None
    if weight is not None and score is not None and score > weight:
        return  # one of them is misread: keep neither
    ind.weight, ind.score = weight, score
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


_DEVIATION = re.compile(r"^(?:偏差|未完成|偏离)?原因(?:分析)?(?:及改进措施)?\s*[：:]\s*(.*)$")
# "…未完成年初目标，主要原因是…": the reason in the indicator's own sentence
_INLINE_REASON = re.compile(r"(?:主要|偏差|未完成(?:的)?)?原因(?:是|为|在于|[：:])|由于|因为")


def _read_indicator(
    body: str, category: str, subcategory: str | None
) -> tuple[Indicator | None, str]:
    """(indicator, its sentence) of an item paragraph; (None, '') when it is none."""
    m = _INDICATOR.match(body)
    if not m or not m.group("name").strip() or len(m.group("name")) > 60:
        f = _INDICATOR_FIELDS.match(body)
        if not f or not re.search(r"\d|完成|达到|有效|明显|提升|提高", f.group("actual")):
            return None, ""
        rest = f.group("rest") or ""
        ind = Indicator(category=category, name=f.group("name").strip(),
                        target=_compact(f.group("target")), actual=_compact(f.group("actual")),
                        subcategory=subcategory, source_text=body)
        ind.met = (None if _PARTLY.search(rest) else False if _UNMET.search(rest)
                   else True if _MET.search(rest) else None)
        _read_points(ind, rest)
        return ind, rest or body
    name = m.group("name").strip()
    target = _compact(m.group("target")) or None
    in_name = _VALUE_IN_NAME.search(name)
    if in_name and not (target and re.search(r"\d", target)):
        target = _compact(in_name.group(0))
    sentence = m.group("sentence").strip()
    ind = Indicator(category=category, name=name, target=target, subcategory=subcategory,
                    source_text=body)
    _read_outcome(ind, sentence)
    _read_points(ind, sentence)
    if ind.met is False:
        r = _INLINE_REASON.search(sentence)
        if r:
            ind.reason = sentence[r.start():].strip()
    return ind, sentence


_AFTER_NAME = re.compile(rf"\s*(?:为|达到了?|达|是|[：:])?\s*({_VALUE})")


def _after(core: str, sentence: str) -> re.Match | None:
    """The value right after the first mention of ``core`` that has one
    (one compiled pattern, not one per indicator name)."""
    start = sentence.find(core)
    while start >= 0:
        m = _AFTER_NAME.match(sentence, start + len(core))
        if m:
            return m
        start = sentence.find(core, start + 1)
    return None


def _read_outcome(ind: Indicator, sentence: str) -> None:
    core = _VALUE_IN_NAME.sub("", ind.name).strip()
    actual = None
    if core:
        m = _after(core, sentence)
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
    ("problems", re.compile(r"存在的?问题|偏差原因|偏离.{0,8}原因|未完成(?:的)?原因")),
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
    """Read a report's text (see module docstring); ReportError if it is none.

    A self-evaluation is never refused for a missing field: an unknown
    department is ``""``, an unknown year None (the pipeline asks for them).
    """
    name = source_name or "文本"
    meta, paras = _paragraphs(text)
    whole = meta.get("title", "") + "\n" + "\n".join(p.text for p in paras)
    if not whole.strip():
        raise ReportError(f"文件 {name} 中没有文字")
    heading = next((p.text for p in paras[:6] if not p.cell and _title_like(p.text)), "")
    for t in [meta.get("title", ""), heading]:
        t = re.sub(r"[（(]试行[）)]$", "", tn.normalize_chars(t))
        if re.search(r"(?:办法|细则|通知|意见|规定|指引|制度|方案|指南|规程)$", t) and not re.search(
                r"(?:自评|评价)(?:总结)?(?:报告|表|结果|情况)", t):
            raise ReportError(f"文件 {name} 是“{t}”，不是绩效自评报告")
    if not _is_self_evaluation(whole):
        raise ReportError(f"文件 {name} 不是绩效自评报告：没有找到“绩效”“自评/评价”等字样")

    titles = [tn.normalize_chars(meta["title"])] if meta.get("title") else []
    body = [p for p in paras if p.text][:12]
    for k, p in enumerate(body):
        text = re.sub(r"^附件\s*\d*\s*[：:]?\s*", "", p.text)  # "附件2：…报告"
        text = re.sub(r"\.(?:pdf|docx?|wps|txt)$", "", text, flags=re.IGNORECASE)  # a file name shown as title
        lead = _LEADING_TITLE.match(text) if not p.cell else None
        if lead and not _TITLE_PARA.match(text):
            # a PDF text layer joined into one paragraph: "…绩效自评报告 一、基本情况…"
            titles.append(lead.group(1))
            continue
        unit_colon = re.match(r"^([^：]{2,40})：(.+)$", text)
        if _TITLE_PARA.match(text) or (
            unit_colon and _ORG.match(unit_colon.group(1)) and _TITLE_PARA.match(unit_colon.group(2))
        ):
            prev = body[k - 1] if k else None
            # a title over two paragraphs: "2022年度某某局" / "部门整体绩效自评报告"
            if (prev and not prev.used and _title_like(prev.text) and len(prev.text) <= 40
                    and "绩效" not in prev.text and re.fullmatch(r"[\u4e00-\u9fff\d （）]+", prev.text)
                    and not _TITLE_PARA.match(prev.text) and _dept_from_title(p.text) is None
                    and _dept_from_title(prev.text + p.text)):
                titles.append(prev.text + p.text)
                prev.used = True
            titles.append(text)
            p.used = True
            nxt = body[k + 1] if k + 1 < len(body) else None
            # "2019年部门整体支出绩效评价报告" / "益阳市赫山区城市管理和综合执法局"
            if (nxt and _dept_from_title(text) is None and len(nxt.text) <= 30
                    and _ORG.match(nxt.text)):
                titles.insert(len(titles) - 1, f"{text} {nxt.text}")
                nxt.used = True

    warnings: list[str] = []
    stem = tn.normalize_chars(Path(source_name).stem) if source_name else ""
    year = _find_year(titles, paras)
    if year is None and stem:
        year = _year_in(stem, bare=True)
        if year is not None:
            warnings.append(f"评价年度 {year} 取自文件名，正文未写明")
    dept_name, parent = _find_department(titles, paras)
    if not dept_name and stem:
        dept_name = _dept_from_title(stem) or ""
        if dept_name:
            warnings.append(f"单位名称“{dept_name}”取自文件名，正文未写明")
    if year is None:
        warnings.append("未找到评价年度，需要补充")
    if not dept_name:
        warnings.append("未找到被评价单位的名称，需要补充")
    title = titles[0] if titles else ""
    scope, project = _find_scope(title, paras, dept_name)

    department = department_of(dept_name) if dept_name else Department(name="")
    department.parent = parent
    ev = Evaluation(department=department, year=year, scope=scope,
                    project=project, source_name=source_name)
    goals: dict[int, Goal] = {}
    budget = _Budget()
    _walk(paras, ev, goals, budget)
    cells = [p for p in paras if p.cell]
    _read_budget_table(cells, budget, _declared_unit(paras))
    if ev.self_score is None:
        ev.self_score = _read_table_score(cells)
    if ev.self_score is None and ev.self_grade is None:
        ev.self_grade = _read_table_grade(cells)
    if ev.self_score is not None:
        ev.self_grade = None  # a grade is kept only where no score is stated
    budget.settle(warnings)
    ev.budget = budget.as_lines()
    ev.goals = [goals[n] for n in sorted(goals)]
    _attach_reasons(ev, paras)
    ev.unparsed = _unparsed(paras)
    ev.warnings = warnings + ev.warnings
    return ev


def _is_self_evaluation(whole: str) -> bool:
    """绩效 with 自评/评价/绩效目标, or a 自评报告/自评表 about funds ("专项资金项目自评报告")."""
    if "绩效" in whole and re.search(r"自评|评价|绩效目标", whole):
        return True
    return bool(re.search(r"自评(?:价)?(?:报告|表|结果|得分|分)", whole)
                and re.search(r"资金|预算|支出|项目", whole))


_DATE = re.compile(r"20\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?")
_YEAR_FIELD = re.compile(r"^(?:评价年度|评价年份|年度|所属年度|项目年度)\s*[：:]\s*(20\d{2})(?!\d)")


def _year_in(text: str, bare: bool = False) -> int | None:
    """The first year of a title or file name: ``2022年度``, ``2018绩效…`` (bare)."""
    m = _YEAR.search(text)
    if m:
        return int(m.group(1))
    if bare:
        m = re.search(r"(?<!\d)(20\d{2})(?!\d)", text)
        if m:
            return int(m.group(1))
    return None


def _find_year(titles: list[str], paras: list[Para]) -> int | None:
    for t in titles:
        found = _year_in(t, bare=True)
        if found:
            return found
    for i, p in enumerate(paras):
        m = _YEAR_FIELD.match(p.text.replace(" ", ""))
        if m:
            return int(m.group(1))
        if p.cell and re.fullmatch(r"(?:评价)?年度", p.text):
            q = next((q for q in paras[i + 1: i + 3] if q.text), None)
            if q and re.fullmatch(r"20\d{2}\s*年?度?", q.text):
                return int(q.text[:4])
    for p in paras[:40]:
        m = re.search(r"(20\d{2})\s*年度", p.text)
        if m:
            return int(m.group(1))
    for p in paras:  # a date ("2018年6月5日") is when the report was written
        m = _YEAR.search(_DATE.sub("", p.text))
        if m:
            return int(m.group(1))
    return None


def _find_department(titles: list[str], paras: list[Para]) -> tuple[str, str | None]:
    """(evaluated unit, its 主管部门 or None): title, labelled fields, signature."""
    fields: list[tuple[int, str, str, list[Para]]] = []  # rank, label, value, paras
    for i, p in enumerate(paras):
        # "主管部门：某某局 实施单位：某某中心" holds two fields
        parts = [p.text] if p.cell else re.split(r"\s+(?=[\u4e00-\u9fff（）]{2,14}[：:])", p.text)
        for part in parts:
            m = _FIELD_LABEL.match(part) or _PLAIN_FIELD.match(part)
            if not m:
                continue
            value, held = m.group(2).strip(), [p]
            if not value and p.cell:
                q = next((q for q in paras[i + 1: i + 3] if q.text), None)
                value, held = (q.text, [p, q]) if q else ("", held)
            value = re.split(r"\s{2,}|\s+(?=\S+[：:])", value)[0].strip() if value else value
            if value and _ORG.match(value):
                fields.append((_field_rank(m.group(1)), m.group(1), value, held))
    fields.sort(key=lambda f: f[0])
    name = ""
    for t in titles:
        found = _dept_from_title(t)
        if found:
            name = found
            break
    if name:
        # a field's fuller name of the same unit wins ("前山镇" → "徐闻县前山镇人民政府")
        fuller = next((f for f in fields if f[0] <= 1 and name in f[2] and f[2] != name), None)
        if fuller:
            name = fuller[2]
            for q in fuller[3]:
                q.used = True
    elif fields:
        name = fields[0][2]
        for q in fields[0][3]:
            q.used = True
    else:
        name = _signature(paras) or ""
    parent = next((f[2] for f in fields if f[0] == 2 and f[2] != name), None)
    if parent and name:
        for f in fields:
            if f[2] == parent:
                for q in f[3]:
                    q.used = True
    return name, parent


def _signature(paras: list[Para]) -> str | None:
    """The unit that signs the report: a unit's name just before the closing date."""
    tail = [p for p in paras if not p.cell and p.text][-10:]
    for a, b in zip(tail, tail[1:], strict=False):
        org = re.sub(r"[（(](?:盖章|公章|签章)[）)]$", "", a.text).strip()
        if len(org) <= 30 and _ORG.match(org) and _DATE.fullmatch(b.text.replace(" ", "")):
            a.used = b.used = True
            return org
    for a in tail:  # "某某县民政局 2021年3月5日" on one line
        m = re.fullmatch(r"(\S{3,30}?)\s*" + _DATE.pattern, a.text)
        if m and _ORG.match(m.group(1)):
            a.used = True
            return m.group(1)
    return None


def _find_scope(title: str, paras: list[Para], dept: str = "") -> tuple[str, str]:
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
        if dept and t.startswith(dept):  # "海口市秀英区水务局2022年衔接资金项目…"
            t = _YEAR_AROUND.sub("", t[len(dept):])
        t = re.sub(r"(?:项目支出)?(?:重点)?(?:绩效)?(?:单位)?(?:自评价?|评价)(?:总结)?(?:报告|表|结果).*$", "", t)
        t = _YEAR_AROUND.sub("", t.strip()) if dept and title.startswith(dept) else t.strip()
        t = re.sub(r"(?:重点|绩效)$", "", t)
        project = t.split(" ")[-1] if t else ""
        if project in ("项目", "项目资金", "项目支出", "资金", "专项资金", "专项"):
            project = ""  # a report over several projects names none
    return "项目", project


def _walk(paras: list[Para], ev: Evaluation, goals: dict[int, Goal], budget: _Budget) -> None:
    stack: list[_Entry] = []
    awaiting: Indicator | None = None  # an item whose sentence is still to come
    last_ind: Indicator | None = None  # the item a 偏差原因 paragraph would explain
    after_ind: Indicator | None = None
    for i, p in enumerate(paras):
        if p.text:  # only the paragraph right after an item may explain it
            after_ind, last_ind = last_ind, None
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
            last_ind, awaiting = awaiting, None
            p.used = True
            continue
        awaiting = None
        dev = _DEVIATION.match(p.body) if category and after_ind is not None else None
        if dev:  # "偏差原因：…" right after an indicator is its reason
            rest = dev.group(1).strip()
            if rest.rstrip("。") not in ("", "无", "/", "不适用") and after_ind.met is not True:
                after_ind.reason = rest
            p.used = True
            continue
        if category:
            ind, sentence = _read_indicator(p.body, *category)
            if ind:
                no = goal_no or 0
                if no not in goals:
                    goals[no] = Goal(no, "")
                goals[no].indicators.append(ind)
                awaiting = None if sentence else ind
                last_ind = ind
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
        score = read_score(p.text, ev.year)
        if score is not None:
            ev.self_score = score
            if len([s for s in re.split(r"[。！？]", p.text) if s.strip()]) == 1:
                p.used = True
    if ev.self_score is None and ev.self_grade is None:
        grade = read_grade(p.text)
        if grade and not _other_year(p.text, ev.year):
            ev.self_grade = grade
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


# --- reasons for unmet indicators

# A clause that goes on with the topic of the one before ("第 1 处：因…").
_CONTINUES = re.compile(r"^(?:第\s*\d+\s*[处项个条点]|其中|因|由于|原因|主要|具体|一是|二是|三是|（\d+）|\d+[、.])")


def _core(name: str) -> str:
    """An indicator's subject: its name without values, units or spaces."""
    core = re.sub(r"[^\u4e00-\u9fff]", "", _VALUE_IN_NAME.sub("", name))
    # the measure word is no part of the subject (化解率 ↔ 化解偏差大), as long
    # as a subject of four characters is left (培训覆盖率 → 培训覆盖)
    for suffix in ("完成率", "达标率", "覆盖率", "合格率", "及时率", "满意度", "次数", "人数", "数量",
                   "比例", "率", "数"):
        if core.endswith(suffix) and len(core) - len(suffix) >= 4:
            return core[: -len(suffix)]
    return core


def _shared_start(core: str, text: str) -> int:
    """Length of the longest run of ``core``, starting in its first two
    characters, that ``text`` contains (信访积案化解率 ↔ 信访积案化解偏差大: 6)."""
    best = 0
    for start in range(min(2, len(core))):
        n = best + 1
        while start + n <= len(core) and core[start: start + n] in text:
            best = n
            n += 1
    return best


def _segments(paragraphs: list[str]) -> list[str]:
    """Topics of free text: clauses split at ；/。, continuations kept together."""
    out: list[str] = []
    for para in paragraphs:
        first = True
        for piece in re.findall(r"[^；。]+[；。]?", para):
            piece = piece.strip()
            if not piece:
                continue
            if not first and _CONTINUES.match(piece) and out:
                out[-1] = out[-1] + piece
            else:
                out.append(piece)
            first = False
    return [o.rstrip("；") for o in out]


def _best_match(segment: str, unmet: list[tuple[Indicator, str, int]]) -> Indicator | None:
    """``unmet``: (indicator, its subject, the characters of it to share)."""
    best, best_n = None, 0
    compact = re.sub(r"\s", "", segment)
    for ind, core, need in unmet:
        n = _shared_start(core, compact)
        if n >= need and n > best_n:
            best, best_n = ind, n
    return best


def _attach_reasons(ev: Evaluation, paras: list[Para]) -> None:
    """Problems and measures that name an unmet indicator become its reason.

    Matching is by the indicator's subject (信访积案化解率 ↔ 信访积案化解;
    消防隐患整治率 ↔ 消防隐患整改); a text naming no indicator is left alone.
    """
    unmet = [i for _, i in ev.indicators if i.met is False]
    if not unmet:
        return
    # subjects once per indicator, not once per indicator and text
    subjects = [(i, core, max(4, -(-len(core) * 3 // 5)))  # at least 4 and 60% of it
                for i in unmet for core in [_core(i.name)]]
    reasons: dict[int, list[str]] = {}
    measures: dict[int, list[str]] = {}
    for texts, into in ((ev.problems, reasons), (ev.measures, measures)):
        for seg in _segments(texts):
            ind = _best_match(seg, subjects)
            if ind is not None:
                into.setdefault(id(ind), []).append(seg)
    for ind in unmet:
        parts = [ind.reason.rstrip("。")] if ind.reason else []
        if reasons.get(id(ind)):
            parts.append("；".join(reasons[id(ind)]))
        if measures.get(id(ind)):
            parts.append("改进措施：" + "；".join(measures[id(ind)]))
        if parts:
            ind.reason = "。".join(x.rstrip("。") for x in parts) + "。"


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
        "parent": ev.department.parent,
        "region": ev.department.region,
        "kind": ev.department.kind,
        "year": ev.year,
        "scope": ev.scope,
        "project": ev.project,
        "self_score": ev.self_score,
        "self_grade": ev.self_grade,
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
                     "actual": i.actual, "met": i.met, "weight": i.weight, "score": i.score,
                     "reason": i.reason}
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
        "warnings": list(ev.warnings),
    }


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:,.2f}"


def summary(ev: Evaluation) -> str:
    """A readable Chinese account of what was read."""
    d = ev.department
    extra = "，".join(x for x in (d.region, d.kind) if x)
    lines = [
        f"文件：{ev.source_name or '—'}",
        f"单位：{d.name or '—'}" + (f"（{extra}）" if extra else ""),
        *([f"主管部门：{d.parent}"] if d.parent else []),
        f"年度：{ev.year or '—'}　评价范围：{ev.scope}" + (f"　项目：{ev.project}" if ev.project else ""),
        f"自评得分：{'—' if ev.self_score is None else f'{ev.self_score:g}'}"
        + (f"　自评等级：{ev.self_grade}" if ev.self_grade else ""),
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
            if i.reason:
                lines.append(f"    原因：{i.reason}")
    lines.append(f"存在的问题 {len(ev.problems)} 条，改进措施 {len(ev.measures)} 条，"
                 f"结果应用 {len(ev.result_use)} 条，自评工作安排 {len(ev.schedule)} 个阶段")
    for s in ev.schedule:
        lines.append(f"  {s.name}：{s.start or '—'} 至 {s.end or '—'}")
    for w in ev.warnings:
        lines.append(f"注意：{w}")
    lines.append(f"未识别的内容 {len(ev.unparsed)} 段（--json 可查看全文）")
    return "\n".join(lines)
