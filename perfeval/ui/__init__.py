"""The Streamlit-aware part of perfeval: the cached store and login (auth),
the frame (filters bound to the URL, cached queries, downloads), Plotly
figure builders (charts) and selection logic (links)."""


def _leave_pages_directory_mode() -> None:
    """Streamlit decides once per process, when the first session starts, that
    an app with a ``pages/`` folder beside its entry point is a v1 multipage
    app, and runs the requested page file *instead of* the entry point until
    the entry point's ``st.navigation`` clears that flag. A deep link
    (``/unmet?year=…``) as the first request after a start would then show the
    file names as navigation, no filters and no login. Every page imports this
    package first, so the very first run clears the flag and reruns the same
    URL, which now goes through ``app.py`` and its navigation."""
    try:
        import streamlit as st
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:  # pragma: no cover - a Streamlit without this module
        return
    ctx = get_script_run_ctx(suppress_warning=True)
    if not PagesManager.uses_pages_directory or ctx is None:
        return
    PagesManager.uses_pages_directory = False
    # The entry point itself is running: its st.navigation takes over.
    if ctx.page_script_hash and ctx.page_script_hash != ctx.pages_manager.main_script_hash:
        st.rerun()


_leave_pages_directory_mode()
