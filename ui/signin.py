"""Sign-in: citizens need none; agents sign in with an account of DATA_DIR/users.sqlite, or with OIDC
through Streamlit's st.login when [auth] is configured in secrets."""

from __future__ import annotations

import streamlit as st

from assistant import credentials
from assistant.modes import Audience
from ui import state
from ui.i18n import t


def _oidc_configured() -> bool:
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file
        return False


def sidebar_identity(lang: str) -> None:
    agent = st.session_state.agent
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.session_state.agent = agent = str(st.user.get("email") or st.user.get("name") or "sso")
    if agent:
        st.markdown(f":material/person: **{agent}** · {t(lang, 'agent')}")
        if st.button(t(lang, "signout"), key="signout"):
            st.session_state.agent = None
            st.session_state.audience = Audience.PUBLIC
            if _oidc_configured():
                st.logout()
            st.rerun()
        st.session_state.audience = Audience.AGENTS
        return
    st.session_state.audience = Audience.PUBLIC
    st.caption(f"{t(lang, 'audience')} : {t(lang, 'citizen')}")
    with st.expander(t(lang, "signin")):
        if _oidc_configured():
            if st.button("SSO", key="sso"):
                st.login()
        with st.form("signin", clear_on_submit=False):
            user = st.text_input(t(lang, "user"), key="signin_user")
            password = st.text_input(t(lang, "password"), type="password", key="signin_password")
            if st.form_submit_button(t(lang, "signin_btn")):
                if credentials.check(state.settings().credentials_path, user, password):
                    st.session_state.agent = user
                    st.session_state.audience = Audience.AGENTS
                    st.rerun()
                else:
                    st.error(t(lang, "bad_credentials"))
