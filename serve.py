"""预算绩效自评看板 with its session route: ``streamlit run serve.py``.

The same app as ``streamlit run app.py``, served as an ``st.App`` so that the
server can set the HttpOnly session cookie (a script cannot): a login then
survives a reload, a new tab and a shared link. See perfeval/ui/auth.py.
"""

import streamlit as st

# app.py builds its navigation with st.navigation; without this, a fresh server whose
# first visitor opens a deep link (/budget) runs pages/budget.py on its own, the
# old "pages directory" mode, with neither the sidebar's filters nor the login.
from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

from perfeval.ui.auth import session_routes

PagesManager.uses_pages_directory = False

app = st.App("app.py", routes=session_routes())
