"""Dalil's Streamlit app: chat (agents and citizens), documents (content owners), quality (evaluators)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from assistant.language import LANGUAGES
from assistant.offline import enforce_offline_env

enforce_offline_env()

from ui import state  # noqa: E402
from ui.i18n import t  # noqa: E402
from ui.signin import sidebar_identity  # noqa: E402

# a local image: a `:material/…` page icon makes the browser fetch it from a third-party font host
st.set_page_config(
    page_title="Dalil · دليل", page_icon=str(Path(__file__).parent / "favicon.png"), layout="wide"
)
state.init_session()
st.markdown(f"<style>{state.css()}</style>", unsafe_allow_html=True)

with st.sidebar:
    st.session_state.lang = st.selectbox(
        t(st.session_state.lang, "lang"),
        LANGUAGES,
        format_func=lambda code: t(code, "language_name"),
        index=LANGUAGES.index(st.session_state.lang),
        key="lang_select",
    )
lang = st.session_state.lang
if lang == "ar":
    st.markdown(
        "<style>[data-testid=stSidebarContent], [data-testid=stMainBlockContainer] "
        "{direction: rtl; text-align: right;}</style>",
        unsafe_allow_html=True,
    )
with st.sidebar:
    sidebar_identity(lang)

pages = [
    st.Page("page_chat.py", title=t(lang, "chat"), icon=":material/forum:", url_path="chat", default=True),
    st.Page("page_admin.py", title=t(lang, "admin"), icon=":material/library_books:", url_path="documents"),
    st.Page("page_quality.py", title=t(lang, "quality"), icon=":material/monitoring:", url_path="quality"),
]
st.navigation(pages).run()
