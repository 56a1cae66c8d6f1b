"""A report as a list of blocks, written to .docx or .pdf by :mod:`.render`.

The unit report and the summary build a :class:`Doc`; the two writers turn
the same blocks into either format, so both carry the same text and figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # title, subtitle, heading, para, table, image, note, pagebreak
    text: str = ""
    level: int = 1  # heading level (1, 2, 3)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    png: bytes = b""
    width_cm: float = 15.0


@dataclass
class Doc:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add_title(self, text: str) -> None:
        self.blocks.append(Block("title", text))

    def subtitle(self, text: str) -> None:
        self.blocks.append(Block("subtitle", text))

    def heading(self, text: str, level: int = 1) -> None:
        self.blocks.append(Block("heading", text, level=level))

    def para(self, text: str) -> None:
        self.blocks.append(Block("para", text))

    def note(self, text: str) -> None:
        """Small print: sources, how a figure was computed."""
        self.blocks.append(Block("note", text))

    def table(self, headers: list[str], rows: list[list]) -> None:
        self.blocks.append(Block("table", headers=list(headers),
                                 rows=[[cell_text(c) for c in r] for r in rows]))

    def image(self, png: bytes, width_cm: float = 15.0, caption: str = "") -> None:
        self.blocks.append(Block("image", caption, png=png, width_cm=width_cm))

    def page_break(self) -> None:
        self.blocks.append(Block("pagebreak"))

    def text(self) -> str:
        """The plain text of the document (one line per paragraph, tables as
        ``a | b |`` lines), as the report parser reads a .docx."""
        out = []
        for b in self.blocks:
            if b.kind == "table":
                out.append(" | ".join(b.headers) + " |")
                out.extend(" | ".join(r) + " |" for r in b.rows)
            elif b.kind not in ("pagebreak", "image"):
                out.append(b.text)
        return "\n".join(out)


def cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:  # NaN
            return ""
        return f"{v:,.2f}"
    return str(v)


def num(x, digits: int = 2) -> str:
    """5431.28 → '5,431.28' (the sample's way of writing 万元); None → '—'."""
    if x is None or (isinstance(x, float) and x != x):
        return "—"
    return f"{float(x):,.{digits}f}"


def score(x) -> str:
    """98.0 → '98', 97.456 → '97.46'; None → '—'."""
    if x is None or (isinstance(x, float) and x != x):
        return "—"
    return f"{float(x):.2f}".rstrip("0").rstrip(".")


def pct(rate, digits: int = 2) -> str:
    """1.0 → '100%', 0.8734 → '87.34%'; None → '—'."""
    if rate is None or (isinstance(rate, float) and rate != rate):
        return "—"
    return f"{float(rate) * 100:.{digits}f}".rstrip("0").rstrip(".") + "%"
