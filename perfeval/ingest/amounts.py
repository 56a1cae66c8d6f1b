"""Amounts, scores and rates as written in reports and forms: one parser each.

Amounts are returned in 万元 (the unit the store keeps, see perfeval.rules):
``150万``, ``150万元``, ``1,500,000元``, ``0.5亿``; a bare number is in the
unit of its table or sentence (``factor`` converts it).
"""

from __future__ import annotations

import re
import unicodedata

from ..rules import YUAN_PER_WAN

# Placeholders are recognised by the form reader; imported lazily to avoid a cycle.


def _is_placeholder(v) -> bool:
    from .forms import is_placeholder

    return is_placeholder(v)


def to_wan(number: float, unit: str | None) -> float:
    """A number written with ``unit`` (元, 万元, 万, 亿元, 亿, or None = 万元) in 万元."""
    if unit == "元":
        return number / YUAN_PER_WAN
    if unit in ("亿元", "亿"):
        return number * YUAN_PER_WAN
    return number


_AMOUNT = re.compile(r"^([-+]?\d+(?:\.\d+)?)(亿元|亿|万元|万|元)?$")
_NUMBER = re.compile(r"^([-+]?\d+(?:\.\d+)?)(分|%)?$")


def _clean_number_text(v) -> str:
    t = unicodedata.normalize("NFKC", str(v))
    return "".join(t.split()).replace(",", "").replace("¥", "").replace("￥", "")


def parse_amount(v, factor: float = 1.0) -> float | None:
    """An amount in 万元: ``150万``, ``150万元``, ``7.29``, ``1,500,000元``.

    A bare number is in the block's unit (``factor`` converts it to 万元).
    Raises ValueError on text that is no amount.
    """
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v) * factor
    if _is_placeholder(v):
        return None
    m = _AMOUNT.match(_clean_number_text(v))
    if not m:
        raise ValueError(v)
    n = float(m.group(1))
    unit = m.group(2)
    if unit in ("万元", "万"):
        return n
    if unit == "元":
        return n / YUAN_PER_WAN
    if unit in ("亿元", "亿"):
        return n * YUAN_PER_WAN
    return n * factor


def parse_number(v) -> float | None:
    """A 分值/得分: ``20``, ``18.5``, ``20分``. Raises ValueError otherwise."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if _is_placeholder(v):
        return None
    m = _NUMBER.match(_clean_number_text(v))
    if not m or m.group(2) == "%":
        raise ValueError(v)
    return float(m.group(1))


def parse_rate(v) -> float | None:
    """An 执行率 as a fraction: ``83.5%``, ``0.835``, ``83.5``."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        n = float(v)
        return n / 100 if n > 1.5 else n
    if _is_placeholder(v):
        return None
    t = _clean_number_text(v)
    m = re.match(r"^([-+]?\d+(?:\.\d+)?)(%)?$", t)
    if not m:
        raise ValueError(v)
    n = float(m.group(1))
    return n / 100 if m.group(2) or n > 1.5 else n


