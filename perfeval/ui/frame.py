"""The dashboard's frame: cached queries, global filters bound to the URL,
page header with the demo badge, Excel downloads, navigation to 部门画像.

The one read-write Store is :func:`perfeval.ui.auth.get_store`
(``st.cache_resource``); every query takes its own cursor (``Store.query_df``).
Query results are cached with ``st.cache_data`` keyed on the database path,
the store's generation (a one-row counter bumped inside every write
transaction), the query and its arguments.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime

import pandas as pd
import streamlit as st

from perfeval import export, queries
from perfeval.model import PerfevalError
from perfeval.queries import Filters
from perfeval.store import default_db_path
from perfeval.ui import auth, links, plot, tables
from perfeval.ui.text import md

# The "全部" / "上一年度" options: not None, which a selectbox shows as its
# placeholder (English "Choose an option") instead of the option's label.
ALL = ""
PREVIOUS = 0
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


_GENERATION = "_perfeval_generation"


def _generation() -> int:
    """The store's generation, read once per script run: a page asks ``q()``
    a dozen times per run and each read was a query of its own. Streamlit gives
    each run a fresh ``ctx.cursors`` dict, which marks the run."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    memo = getattr(ctx, _GENERATION, None) if ctx is not None else None
    if memo is not None and memo[0] is ctx.cursors:
        return memo[1]
    gen = queries.generation(store())
    if ctx is not None:
        setattr(ctx, _GENERATION, (ctx.cursors, gen))
    return gen


def cache_key() -> tuple[str, int]:
    """(database path, generation): what a page's own st.cache_data keys on."""
    return str(default_db_path()), _generation()


def q(name: str, *args, **kwargs):
    """Run ``queries.<name>(store, *args, **kwargs)`` through the cache."""
    return _cached(str(default_db_path()), _generation(), name, args,
                   tuple(sorted(kwargs.items())))


def clear_caches() -> None:
    st.cache_data.clear()
    _figure.clear()
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None and hasattr(ctx, _GENERATION):  # a write in this run: read it again
        delattr(ctx, _GENERATION)


# -- global filters ------------------------------------------------------------
#
# The filters are plain widgets whose values the frame copies to and from the
# URL itself, not ``bind="query-params"`` widgets: Streamlit refuses to set a
# bound parameter, so a click-through could not carry the filters to its
# target, and a bound widget's first run on a new session writes the URL and
# asks for a second run. The rule: when the URL's filters differ from the ones
# this session last saw (a new session, a shared link, Back, a link), the URL
# wins and sets the widgets; otherwise the widgets win and the URL follows.

URL_SEEN = "_url_seen"
DEFAULTS = "_filter_defaults"


def _url_now() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _real_data() -> bool:
    return bool(q("has_real_data"))


def sidebar_filters() -> Filters:
    """The global filters in the sidebar, synchronised with the URL. Called
    once per run by the entry point, before the page runs."""
    real = _real_data()
    all_opts = q("filter_options", allowed())
    defaults = links.filter_defaults(all_opts, real_data=real)
    ss = st.session_state
    url = _url_now()
    url_filters = {k: v for k, v in url.items() if k in links.FILTER_KEYS}
    from_url = ss.get(URL_SEEN) is None or not links.same_params(url_filters, ss[URL_SEEN])
    include_demo = defaults["demo"]
    if real and not from_url:  # the switch, as the user left it
        include_demo = bool(ss.get("demo", defaults["demo"]))
    elif real and "demo" in url_filters:
        include_demo = url_filters["demo"][-1] == "1"
    opts = all_opts if include_demo else q("filter_options", allowed(), include_demo=False)
    defaults = links.filter_defaults(opts, real_data=real)
    ss[DEFAULTS] = defaults
    years = [int(y) for y in opts["years"]]
    scopes = opts["scopes"] or [links.SCOPE_DEFAULT]
    if from_url:
        asked = (url.get("year") or [None])[-1]
        ss["_year_missing"] = asked if asked is not None and asked not in map(str, years) else None
        for key, value in links.filter_values(url, opts, defaults).items():
            ss[key] = _widget_value(key, value)
    else:  # a widget value no longer among the options (demo switched) falls back
        for key, choices in (("year", years), ("cmp", years), ("region", opts["regions"]),
                             ("kind", opts["kinds"]), ("scope", scopes)):
            if _value(key, ss.get(key)) is not None and ss.get(key) not in choices:
                ss[key] = _widget_value(key, defaults[key])
        ss["departments"] = [d for d in ss.get("departments") or [] if d in opts["departments"]]
    with st.sidebar:
        st.markdown("### 筛选条件")
        if real and q("has_demo", Filters(), allowed()):
            st.toggle("含演示数据", key="demo",
                      help="已有真实评价：默认不显示演示数据。打开后一并显示虚构的演示数据。")
        if not years:
            st.caption("数据库中还没有评价数据。")
            ss[URL_SEEN] = url_filters
            return Filters(include_demo=include_demo)
        st.selectbox("年度", years, key="year")
        st.selectbox("对比年度", [PREVIOUS, *years], key="cmp",
                     format_func=lambda y: "上一年度" if y == PREVIOUS else str(y))
        st.selectbox("区域", [ALL, *opts["regions"]], key="region",
                     format_func=lambda v: v or "全部区域")
        st.selectbox("类别", [ALL, *opts["kinds"]], key="kind",
                     format_func=lambda v: v or "全部类别")
        st.multiselect("部门", department_picker(opts["departments"], ss.get("departments") or [],
                                               key="dept_find"),
                       key="departments", placeholder="全部部门（可多选）",
                       # Streamlit's bulk action reads "Select all" (English) and,
                       # on a capped list, would pick only the names listed.
                       select_all=False)
        if len(scopes) > 1:
            st.segmented_control("评价范围", scopes, key="scope", required=True)
    values = {k: _value(k, ss.get(k, defaults[k])) for k in links.FILTER_KEYS}
    if not real:
        values["demo"] = True
    wanted = links.url_params(values, defaults)
    if not links.same_params(url_filters, wanted):
        # One write for all filters; parameters of the page (dept) stay.
        st.query_params.from_dict({**{k: v for k, v in url.items()
                                      if k not in links.FILTER_KEYS}, **wanted})
    ss[URL_SEEN] = wanted
    return current_filters(years, scopes)


def department_picker(names: list[str], selected: list[str], *, key: str) -> list[str]:
    """The options of a department picker: all names when they are few, else
    the selected ones and those found by a 查找部门 box (links.DEPARTMENT_OPTIONS)."""
    if len(names) <= links.DEPARTMENT_OPTIONS:
        return names
    keyword = st.text_input("查找部门", key=key,
                            placeholder=f"共 {len(names):,} 个部门：输入名称中的文字")
    shown, found = links.department_choices(names, selected, keyword, links.DEPARTMENT_OPTIONS)
    listed = sum(keyword.strip() in n for n in shown)
    if found > listed:
        st.caption(f"列出 {listed:,} 个（找到 {found:,} 个）；输入更多文字可缩小范围。")
    elif keyword.strip() and not found:
        st.caption("没有找到名称含这些文字的部门。")
    return shown


def _widget_value(key: str, value):
    if value is None and key in ("region", "kind"):
        return ALL
    return PREVIOUS if value is None and key == "cmp" else value


def _value(key: str, value):
    """A widget's value as the filters take it (None = 全部 / 上一年度)."""
    if key in ("region", "kind", "cmp") and not value:
        return None
    return value


def filter_params() -> dict[str, str | list[str]]:
    """The URL parameters of the current filters (defaults left out)."""
    return dict(st.session_state.get(URL_SEEN) or {})


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
    demo = ss.get("demo")
    return Filters(year=year, compare_year=links.resolve_compare_year(year, _value("cmp", ss.get("cmp")),
                                                                      years),
                   region=_value("region", ss.get("region")), kind=_value("kind", ss.get("kind")),
                   departments=tuple(ss.get("departments") or ()), scope=scope,
                   include_demo=True if demo is None else bool(demo))


def filters() -> Filters:
    """The filters for this run: set by the entry point; a page run on its own
    (page tests) reads them from the URL the same way the entry point does."""
    f = st.session_state.get("_filters")
    if isinstance(f, Filters):
        return f
    real = _real_data()
    opts = q("filter_options", allowed())
    values = links.filter_values(_url_now(), opts, links.filter_defaults(opts, real_data=real))
    if not values["demo"]:
        opts = q("filter_options", allowed(), include_demo=False)
        values = links.filter_values(_url_now(), opts,
                                     links.filter_defaults(opts, real_data=real))
    return current_filters([int(y) for y in opts["years"]], opts["scopes"], ss=values)


def url_select(label: str, options: list, *, key: str, placeholder: str,
               find: str | None = None) -> tuple:
    """A selectbox of the page kept in the URL parameter ``key`` (the same rule
    as the filters: a changed URL sets it, a changed choice writes the URL).
    ``find``: the key of a 查找部门 box shown when the options are many
    (department_picker). Returns (choice or None, the URL's value when it is
    not an option)."""
    ss = st.session_state
    seen = f"_url_seen_{key}"
    in_url = st.query_params.get(key)
    if seen not in ss or ss[seen] != in_url:
        ss[key] = in_url if in_url in options else None
        ss[seen] = in_url
    shown = options
    if find is not None:
        shown = department_picker(options, [ss[key]] if ss.get(key) is not None else [], key=find)
    value = st.selectbox(label, shown, index=None, key=key, placeholder=placeholder)
    if value != in_url and (value is not None or in_url in options):
        if value is None:
            del st.query_params[key]
        else:
            st.query_params[key] = value
        ss[seen] = value
    unknown = in_url if in_url is not None and in_url not in options else None
    return value, unknown


def navigation(container, pages) -> None:
    """The page list in the sidebar: links that carry the current filters
    (Streamlit's own navigation would drop them from the URL)."""
    params = filter_params()
    for p in pages:
        container.page_link(p, label=p.title, icon=p.icon, query_params=params)


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
    missing = st.session_state.get("_year_missing")
    if missing is not None and f.year is not None:
        asked = f"{missing} 年度" if str(missing).isdigit() and len(str(missing)) <= 4 else "所选年度"
        st.warning(f"数据中没有{asked}的评价，显示 {f.year} 年度。", icon=":material/event_busy:")
    parts = [f"{f.year} 年度" if f.year else "全部年度"]
    if f.compare_year:
        parts.append(f"对比 {f.compare_year} 年度")
    elif f.year is not None:
        parts.append("无上年数据")
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
    """Go to 部门画像 for ``department`` with every filter in its URL."""
    if department:
        go_to(links.PROFILE_PAGE, links.profile_params(filter_params(), department))


def go_to(page: str, params: dict) -> None:
    """Open ``page`` with ``params`` as one history entry, in this session.

    ``st.switch_page`` first writes the new parameters to the current page's
    URL and then changes page: two history entries, and Back lands on the
    source page with the target's parameters. Instead the browser is told
    the target URL (pushState) and then, as on Back/Forward, Streamlit's own
    history handler runs that page with that query string."""
    ss = st.session_state
    ss["_nav_seq"] = ss.get("_nav_seq", 0) + 1
    target = links.page_url(page, params)
    here = st.session_state.get("_page_url_path", "")
    token = f"{id(ss)}-{ss['_nav_seq']}"
    st.html(f"""<script>(function () {{
  const token = {json.dumps(token)};
  if (window.__perfevalNav === token) return;  // a redraw of this element
  window.__perfevalNav = token;
  let base = window.location.pathname;
  const here = {json.dumps(here)};
  if (here && base.endsWith("/" + here)) base = base.slice(0, -here.length);
  if (!base.endsWith("/")) base += "/";
  window.history.pushState({{}}, "", base + {json.dumps(target)});
  window.dispatchEvent(new PopStateEvent("popstate"));
}})();</script>""", unsafe_allow_javascript=True)
    st.stop()


def page_link(page: str, label: str, **kwargs) -> None:
    """A link to another page that keeps the filters (each parameter once).
    Silent when the page is not in the navigation (a page run on its own)."""
    from streamlit.errors import StreamlitPageNotFoundError

    try:
        st.page_link(page, label=label, query_params=filter_params(), **kwargs)
    except StreamlitPageNotFoundError:
        pass


# Screen layout the theme cannot state: KPI values never cut (a smaller font
# on narrower screens; wrap rather than "158,…"), KPI cards two by two on a
# phone instead of one per line (总览's cards 5–8 after the content), and the
# file uploader's English texts ("200MB per file", "Upload") replaced (the limit
# by upload_limit()).
SCREEN_CSS = """<style>
[data-testid="stMetricValue"] > div { overflow: visible; text-overflow: clip; white-space: normal;
  overflow-wrap: anywhere; line-height: 1.2; }
[data-testid="stMetricLabel"] p { white-space: normal; }
[data-testid="stMetricDelta"] div { overflow: visible; text-overflow: clip; white-space: normal; }
[data-testid="stMetricDelta"] p { white-space: normal; }
@media (max-width: 1400px) { [data-testid="stMetricValue"] { font-size: 1.55rem; } }
@media (max-width: 1180px) { [data-testid="stMetricValue"] { font-size: 1.3rem; } }
@media (max-width: 640px) {
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"]) {
    flex-direction: row; flex-wrap: wrap; gap: 0.5rem; }
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"])
    > [data-testid="stColumn"] { flex: 1 1 calc(50% - 0.5rem) !important;
    width: calc(50% - 0.5rem) !important; min-width: calc(50% - 0.5rem) !important; }
  [data-testid="stMetricValue"] { font-size: 1.25rem; }
  /* 总览: the headline and the first four cards first, cards 5–8 after the content */
  [data-testid="stLayoutWrapper"]:has(> .st-key-ov_kpi_more) { order: 1; }
}
[data-testid="stFileUploaderDropzoneInstructions"] > div > span { display: none; }
[data-testid="stFileUploaderDropzone"] > span > button [data-testid="stMarkdownContainer"] p {
  display: none; }
[data-testid="stFileUploaderDropzone"] > span > button [data-testid="stMarkdownContainer"]::after {
  content: "选择文件"; }
</style>"""


def upload_limit(key: str, mb: int, text: str | None = None) -> int:
    """The limit shown in the file uploader ``key`` in place of Streamlit's
    "200MB per file": Chinese, and the one this upload really has. Returns
    ``mb`` for the uploader's ``max_upload_size``."""
    shown = json.dumps(text or f"单个文件不超过 {mb} MB", ensure_ascii=False)
    st.html(f"<style>.st-key-{key} [data-testid=\"stFileUploaderDropzoneInstructions\"] > div::after"
            f" {{ content: {shown}; font-size: 0.875rem; }}</style>")
    return mb


@functools.cache
def freeze_startup_heap() -> None:
    """Once per server, after its first page run: what is alive then (Streamlit,
    pandas, plotly and their modules, some 130 thousand objects) is moved out of
    the garbage collector's reach. Streamlit collects all generations after
    every script run (runner.postScriptGC); with that heap scanned each time a
    collection took 0.25 s, holding every message of the run behind it."""
    import gc

    gc.collect()
    gc.freeze()


def screen_style() -> None:
    st.html(SCREEN_CSS)
    _preload_grid()


# Streamlit loads an element's code only when the first element of that kind
# arrives, after the queries before it have run. The data grid's is 1.5 MB with
# its Arrow readers: the entry point starts its download and compilation at the
# first message instead, while the page's script still runs; Streamlit's own
# import of the same URL then finds the module ready. Kept on 总览 and 部门画像
# too, which have no grid: without it their first views measured slower
# (3.0 s against 2.2–2.6 s at 10M; why was not traced: shared code, presumably).
@functools.cache
def _grid_chunk() -> str | None:
    from pathlib import Path

    found = sorted((Path(st.__file__).parent / "static" / "static" / "js").glob("DataFrame.*.js"))
    return found[0].name if len(found) == 1 else None  # else: named otherwise, load as usual


def _preload_grid() -> None:
    chunk = _grid_chunk()
    if chunk is None:
        return
    # In the event container (where toasts and style-only HTML go): no room on the page.
    st._event.html(f"""<script>(function () {{
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const url = new URL({json.dumps(chunk)}, main.src).href;
  if (document.querySelector('link[href="' + url + '"]')) return;
  const l = document.createElement("link");
  l.rel = "modulepreload"; l.href = url; l.crossOrigin = "";
  document.head.appendChild(l);
}})();</script>""", unsafe_allow_javascript=True)


# Built figures shared by every session (the same object, never changed):
# building a Plotly figure validates every property and costs more than its
# query. Keyed on the builder, its arguments (frames hashed by content) and
# the store's generation.
@st.cache_resource(ttl=600, max_entries=256, show_spinner=False)
def _figure(path: str, generation: int, builder: str, args: tuple) -> dict:
    from perfeval.ui import charts

    return plot.figure_data(getattr(charts, builder)(*args))


def figure(builder: str, *args) -> dict:
    """``charts.<builder>(*args)`` as :func:`chart` draws it, built once per store generation."""
    return _figure(str(default_db_path()), _generation(), builder, args)


def chart(spec: dict, key: str, *, clickable: bool = True) -> None:
    """A figure (:func:`figure`); a click on a department opens its 部门画像."""
    open_profile(plot.show(spec, key, clickable=clickable))


def plain_table(df: pd.DataFrame, columns: dict[str, str],
                formats: dict[str, tables.Formatter] | None = None, *, key: str) -> None:
    """A table of a few dozen rows at most as a plain table (perfeval.ui.tables,
    printed as it is); a click on a row opens its department's 部门画像."""
    clickable = "department" in df.columns
    row = tables.show(df, columns, formats, key=key, clickable=clickable)
    name = df.iloc[row]["department"] if row is not None else None
    open_profile(name if isinstance(name, str) and name else None)


def on_table_select(state, table: pd.DataFrame) -> None:
    open_profile(links.department_from_table(state, table))


EMPTY = "—"  # a missing value in a table or a card (never "None")


def table(data, **kwargs):
    """``st.dataframe`` that shows a missing value as "—": the grid's own
    placeholder is the English "None" (numeric columns cannot be filled with
    text without losing their format and sorting)."""
    kwargs.setdefault("placeholder", EMPTY)
    return st.dataframe(data, **kwargs)


def fmt_num(v, digits: int = 2, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    return f"{v:,.{digits}f}{unit}"


def fmt_pct(v, digits: int = 1) -> str:
    if v is None or pd.isna(v):
        return "—"
    return f"{v * 100:.{digits}f}%"
