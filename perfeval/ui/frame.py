"""The dashboard's frame: cached queries, global filters bound to the URL,
page header with the demo badge, Excel downloads, navigation to 部门画像.

The one read-write Store is :func:`perfeval.ui.auth.get_store`
(``st.cache_resource``); every query takes its own cursor (``Store.query_df``).
Query results are cached with ``st.cache_data`` keyed on the database path,
the store's generation (a one-row counter bumped inside every write
transaction), the query and its arguments.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from perfeval import export, queries
from perfeval.model import PerfevalError
from perfeval.queries import Filters
from perfeval.store import default_db_path
from perfeval.ui import auth, links
from perfeval.ui.text import md

ALL = None  # the "全部" option of region/kind selectboxes
SCOPE_DEFAULT = "部门整体"


def store():
    try:
        return auth.get_store()
    except PerfevalError as exc:
        st.error(str(exc))
        st.stop()


def allowed() -> tuple[str, ...] | None:
    """Departments the viewer may see (None = all); set by auth each run."""
    a = st.session_state.get(auth.ALLOWED_KEY)
    return tuple(a) if a is not None else None


@st.cache_data(ttl=600, max_entries=512, show_spinner=False)
def _cached(path: str, generation: int, name: str, args: tuple, kwargs: tuple):
    return getattr(queries, name)(auth.get_store(), *args, **dict(kwargs))


def cache_key() -> tuple[str, int]:
    """(database path, generation): what a page's own st.cache_data keys on."""
    return str(default_db_path()), queries.generation(store())


def q(name: str, *args, **kwargs):
    """Run ``queries.<name>(store, *args, **kwargs)`` through the cache."""
    s = store()
    return _cached(str(default_db_path()), queries.generation(s), name, args, tuple(sorted(kwargs.items())))


def clear_caches() -> None:
    st.cache_data.clear()


# -- global filters ------------------------------------------------------------


def sidebar_filters() -> Filters:
    """The global filters in the sidebar, each bound to its URL parameter.
    Called once per run by the entry point, before the page runs."""
    opts = q("filter_options", allowed())
    years = [int(y) for y in opts["years"]]
    with st.sidebar:
        st.markdown("### 筛选条件")
        if not years:
            st.caption("数据库中还没有评价数据。")
            return Filters()
        # Bound widgets write the option's label to the URL: keep labels plain.
        st.selectbox("年度", years, key="year", bind="query-params")
        st.selectbox("对比年度", [None, *years], key="cmp", bind="query-params",
                     format_func=lambda y: "上一年度" if y is None else str(y))
        st.selectbox("区域", [ALL, *opts["regions"]], key="region", bind="query-params",
                     format_func=lambda v: "全部区域" if v is None else v)
        st.selectbox("类别", [ALL, *opts["kinds"]], key="kind", bind="query-params",
                     format_func=lambda v: "全部类别" if v is None else v)
        st.multiselect("部门", opts["departments"], key="departments", bind="query-params",
                       placeholder="全部部门（可多选）")
        scopes = opts["scopes"]
        if len(scopes) > 1:
            st.segmented_control("评价范围", scopes, key="scope", bind="query-params",
                                 default=SCOPE_DEFAULT if SCOPE_DEFAULT in scopes else scopes[0],
                                 required=True)
    return current_filters(years, scopes)


def current_filters(years: list[int] | None = None, scopes: list[str] | None = None,
                    ss=None) -> Filters:
    ss = st.session_state if ss is None else ss
    if years is None:
        years = [int(y) for y in q("filter_options", allowed())["years"]]
    year = ss.get("year")
    year = int(year) if year is not None else (years[0] if years else None)
    scopes = scopes or [SCOPE_DEFAULT]
    scope = ss.get("scope") if len(scopes) > 1 else None
    scope = scope or (SCOPE_DEFAULT if SCOPE_DEFAULT in scopes else scopes[0])
    return Filters(year=year, compare_year=links.resolve_compare_year(year, ss.get("cmp"), years),
                   region=ss.get("region"), kind=ss.get("kind"),
                   departments=tuple(ss.get("departments") or ()), scope=scope)


def filters() -> Filters:
    """The filters for this run: set by the entry point; a page run on its own
    (page tests) reads them from the URL the same way the bound widgets do."""
    f = st.session_state.get("_filters")
    if isinstance(f, Filters):
        return f
    opts = q("filter_options", allowed())
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    values = links.filters_from_params(params, opts)
    return current_filters([int(y) for y in opts["years"]], opts["scopes"], ss=values)


# -- page furniture ----------------------------------------------------------------


def header(title: str, f: Filters, *, caption: str | None = None) -> None:
    """Title, the filters in one line, and the 演示数据 badge when demo rows show.
    Stops the page when this deployment needs a login to read."""
    auth.require_read(auth.current_user(store()))
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    left.title(title)
    if f.year is not None and q("has_demo", f, allowed()):
        right.badge("演示数据", icon=":material/science:", color="orange",
                    help="当前显示的数据含虚构的演示数据，不代表任何真实单位。")
    parts = [f"{f.year} 年度" if f.year else "全部年度"]
    if f.compare_year:
        parts.append(f"对比 {f.compare_year} 年度")
    parts += [md(f.region) if f.region else "全部区域", md(f.kind) if f.kind else "全部类别",
              f"{len(f.departments)} 个部门" if f.departments else "全部部门", f.scope]
    st.caption(" · ".join(parts) + (f"　{caption}" if caption else ""))


def require_data(f: Filters) -> None:
    """Stop the page with a clear message when there is nothing to show."""
    if f.year is None:
        st.info("数据库中还没有评价数据。请在“数据管理”页导入自评表或报告，"
                "或在命令行运行 `perfeval demo` 生成演示数据。", icon=":material/database:")
        st.stop()
    if q("department_count", f, allowed()) == 0:
        st.info("当前筛选条件下没有评价。请调整左侧的年度、区域、类别或部门。",
                icon=":material/filter_alt_off:")
        st.stop()


def download(df: pd.DataFrame, labels: dict[str, str] | None, name: str, f: Filters, *,
             key: str, data=None) -> None:
    """An Excel download of a table (built on click). ``labels``: column →
    Chinese header (None: the frame's own headers). ``data`` (a callable
    returning a frame) replaces ``df`` when the download holds more rows than
    the screen."""
    def build() -> bytes:
        frame = data() if data is not None else df
        return export.excel_bytes(frame, labels=labels, filters=f.describe())

    st.download_button("下载 Excel", data=build,
                       file_name=f"{name}-{f.year or ''}-{datetime.now():%Y%m%d}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=key, icon=":material/download:", type="tertiary")


def open_profile(department: str | None) -> None:
    """Go to 部门画像 for ``department``. The global filters are bound widgets
    of the entry point: they keep their values and rewrite their own URL
    parameters (Streamlit refuses to set a bound parameter directly)."""
    if not department:
        return
    st.switch_page(links.PROFILE_PAGE, query_params=links.profile_params({}, department))


def page_link(page: str, label: str, **kwargs) -> None:
    """A link to another page that keeps the URL's filters. Silent when the page
    is not in the navigation (a page run on its own, as in page tests)."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        st.page_link(page, label=label,
                     query_params={k: st.query_params.get_all(k) for k in st.query_params},
                     **kwargs)
    except StreamlitPageNotFoundError:
        pass


PLOTLY_CONFIG = {"displaylogo": False, "locale": "zh-CN",
                 "modeBarButtonsToRemove": ["lasso2d", "select2d"]}


def chart(fig, key: str, *, clickable: bool = True) -> None:
    """A Plotly figure; a click on a department opens its 部门画像."""
    if not clickable:
        st.plotly_chart(fig, key=key, config=PLOTLY_CONFIG)
        return
    state = st.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points",
                            config=PLOTLY_CONFIG)
    on_chart_select(state)


def on_chart_select(state) -> None:
    open_profile(links.department_from_chart(state))


def on_table_select(state, table: pd.DataFrame) -> None:
    open_profile(links.department_from_table(state, table))


def fmt_num(v, digits: int = 2, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    return f"{v:,.{digits}f}{unit}"


def fmt_pct(v, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "—"
    return f"{v * 100:.{digits}f}%"
