"""Dalil's Streamlit app: chat (agents and citizens), documents (content owners), quality (evaluators)."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from assistant.language import LANGUAGES
from assistant.offline import enforce_offline_env

enforce_offline_env()

from assistant.modes import Role  # noqa: E402
from ui import state  # noqa: E402
from ui.i18n import t  # noqa: E402
from ui.signin import restore_session, sidebar_identity, write_pending_cookie  # noqa: E402

# a local image: a `:material/…` page icon makes the browser fetch it from a third-party font host
st.set_page_config(
    page_title="Dalil · دليل", page_icon=str(Path(__file__).parent / "favicon.png"), layout="wide"
)
state.init_session()
restore_session()
st.markdown(f"<style>{state.css()}</style>", unsafe_allow_html=True)


def _language_changed() -> None:
    st.session_state.lang = st.session_state.lang_select


# the selector's own value first: its label is drawn in the language just chosen, not one run late
if st.session_state.get("lang_select") in LANGUAGES:
    st.session_state.lang = st.session_state.lang_select
lang = st.session_state.lang
with st.sidebar:
    st.selectbox(
        t(lang, "lang"),
        LANGUAGES,
        format_func=lambda code: t(code, "language_name"),
        index=LANGUAGES.index(lang),
        key="lang_select",
        on_change=_language_changed,
    )
# the upload widget's own words (its button, its size line) are fixed in Streamlit's frontend in
# English: drawn over in the interface language
st.markdown(
    "<style>[data-testid=stFileUploaderDropzone] button p, "
    "[data-testid=stFileUploaderDropzoneInstructions] span {font-size: 0;}"
    "[data-testid=stFileUploaderDropzone] button p::after "
    f"{{content: {json.dumps(t(lang, 'upload_browse'))}; font-size: .875rem;}}"
    "[data-testid=stFileUploaderDropzoneInstructions] span::after "
    f"{{content: {json.dumps(t(lang, 'upload_drop'))}; font-size: .8rem;}}</style>",
    unsafe_allow_html=True,
)
if lang == "ar":
    st.markdown(
        "<style>[data-testid=stSidebarContent], [data-testid=stMainBlockContainer] "
        "{direction: rtl; text-align: right;}</style>",
        unsafe_allow_html=True,
    )
with st.sidebar:
    sidebar_identity(lang)
    write_pending_cookie()

chat = st.Page("page_chat.py", title=t(lang, "chat"), icon=":material/forum:", default=True)
# `/chat` opened directly (an old link, a bookmark) is the chat, not "Page not found"
chat_alias = st.Page("page_chat.py", title=t(lang, "chat"), icon=":material/forum:", url_path="chat")
documents = st.Page(
    "page_admin.py", title=t(lang, "admin"), icon=":material/library_books:", url_path="documents"
)
quality = st.Page(
    "page_quality.py", title=t(lang, "quality"), icon=":material/monitoring:", url_path="quality"
)
# every page can be reached by its address (a page a role does not allow says so, translated);
# the sidebar links only to the pages the signed-in roles open
current = st.navigation([chat, chat_alias, documents, quality], position="hidden")
with st.sidebar:
    st.page_link(chat, label=t(lang, "chat"), icon=":material/forum:")
    if Role.OWNER in state.roles():
        st.page_link(documents, label=t(lang, "admin"), icon=":material/library_books:")
    if Role.EVALUATOR in state.roles():
        st.page_link(quality, label=t(lang, "quality"), icon=":material/monitoring:")
current.run()
