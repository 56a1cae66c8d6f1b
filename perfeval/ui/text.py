"""Text from data shown as plain text.

``st.markdown``, ``st.caption``, ``st.subheader``, ``st.info``/``success``/
``warning``/``error``, metric and expander labels all render Markdown (and
Streamlit's own extensions: ``:red[…]`` colours, ``:smile:`` and
``:material/…:`` icons, ``$…$`` LaTeX). A department, problem or reason text
holding ``![x](http://…)`` would load a remote image on every view, and
``[x](http://…)`` or a bare ``http://…`` would become a link. :func:`md`
escapes a data text so that it shows as the characters it holds: every
ASCII punctuation character is backslash-escaped (CommonMark allows exactly
that), and line breaks and tabs become spaces, so a text cannot open a block
(heading, list, code, table). GFM's bare-URL and e-mail autolinks are found
in the parsed text, after escapes are resolved, so escaping cannot stop
them: an invisible WORD JOINER (U+2060) is put inside ``http:``, ``www.``
and before ``@``, which the autolink patterns then do not match.

``st.text``, ``st.code`` and ``st.dataframe`` cells are plain already; a
chart's labels are escaped in :mod:`perfeval.ui.charts`.
"""

from __future__ import annotations

import re
import string

_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_SPACE = re.compile(r"\s+")
_AUTOLINK = re.compile(r"(?i)(?<=http)(?=s?:)|(?<=www)(?=\.)|(?=@)|(?<=ftp)(?=:)|(?<=mailto)(?=:)"
                       r"|(?<=xmpp)(?=:)")
JOINER = "\u2060"


def md(value) -> str:
    """A data text (or any value) as Markdown that renders exactly that text."""
    if value is None:
        return ""
    text = _AUTOLINK.sub(JOINER, _SPACE.sub(" ", str(value)).strip())
    return _SPECIAL.sub(r"\\\1", text)


def md_join(values, sep: str = " · ") -> str:
    """Several data texts, each escaped, joined by a literal separator."""
    return sep.join(md(v) for v in values if v not in (None, ""))


def md_list(texts) -> str:
    """Numbered items, one per line, each escaped (the list markers are ours)."""
    return "  \n".join(f"{n}\\. {md(t)}" for n, t in enumerate(texts, 1))
