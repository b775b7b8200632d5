"""Sign-in: citizens need none; agents sign in with an account of DATA_DIR/users.sqlite (or with OIDC
through Streamlit's st.login when [auth] is configured in secrets).

The session survives a reload: a signed, expiring session token (assistant/sessions.py) is kept in
the cookie `dalil_session` (Path=/, SameSite=Strict, Secure when served over HTTPS). Streamlit reads
cookies (`st.context.cookies`) but has no call that sets one, so the cookie is written by a few
lines of JavaScript in the page (`st.html`): it cannot be HttpOnly. The token carries no role and
no personal data; it is refused once expired, once signed out (revoked on the server), or when its
account is gone. The alternative, a token in the URL's query parameters, would land in the
browser history, in copied links and in proxy logs.

Failed sign-ins are throttled per account and per address (assistant/sessions.py): a locked
account or address gets a message saying how long to wait.
"""

from __future__ import annotations

import html
import json

import streamlit as st

from assistant.errors import DalilError
from assistant.modes import Audience, Role
from assistant.sessions import Outcome, Session
from ui import state
from ui.i18n import error_message, t

COOKIE = "dalil_session"


def _oidc_configured() -> bool:
    try:
        return bool(st.secrets.get("auth"))
    except Exception:  # no secrets file
        return False


def _cookie_script(token: str | None, max_age: int) -> str:
    """JavaScript that sets (or, without a token, deletes) the session cookie."""
    value = json.dumps(token or "")  # a token is base64url and dots: nothing to escape, quoted anyway
    return (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie='{COOKIE}='+{value}+'; Path=/; Max-Age={max_age:d}; SameSite=Strict'+s;"
        "})();</script>"
    )


def _set_signed_in(session: Session) -> None:
    st.session_state.agent = session.user
    st.session_state.roles = session.roles
    st.session_state.session = session
    st.session_state.audience = Audience.AGENTS


def _set_signed_out() -> None:
    st.session_state.agent = None
    st.session_state.roles = frozenset()
    st.session_state.session = None
    st.session_state.audience = Audience.PUBLIC
    st.session_state.messages = []
    st.session_state.conversation_id = None


def restore_session() -> None:
    """Once per browser session: sign the agent back in from a valid session cookie."""
    if st.session_state.get("session_checked"):
        return
    st.session_state.session_checked = True
    token = st.context.cookies.get(COOKIE)
    if not token or st.session_state.agent:
        return
    try:
        session = state.sessions().resume(token)
    except DalilError as exc:  # a damaged sessions store: signed out, and said so
        st.session_state.session_error = error_message(st.session_state.lang, exc)
        return
    if session is not None:
        _set_signed_in(session)
    else:  # expired, signed out or forged: drop it
        st.session_state.cookie_script = _cookie_script(None, 0)


def write_pending_cookie() -> None:
    """Run the cookie script queued by a sign-in or sign-out (once)."""
    script = st.session_state.pop("cookie_script", None)
    if script:
        st.html(script, unsafe_allow_javascript=True)


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


def role_names(lang: str, roles: frozenset[Role]) -> str:
    return ", ".join(t(lang, f"role_{r.value}") for r in Role if r in roles)


def sidebar_identity(lang: str) -> None:
    agent = st.session_state.agent
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.session_state.agent = agent = str(st.user.get("email") or st.user.get("name") or "sso")
        st.session_state.roles = frozenset({Role.AGENT})
    if agent:
        st.markdown(
            f"**<bdi>{html.escape(agent)}</bdi>** · {html.escape(role_names(lang, state.roles()))}",
            unsafe_allow_html=True,
        )
        if st.button(t(lang, "signout"), key="signout", icon=":material/logout:"):
            session = st.session_state.session
            if session is not None:
                try:
                    state.sessions().sign_out(session)
                except DalilError as exc:  # signed out here all the same; the token expires on its own
                    st.session_state.session_error = error_message(lang, exc)
            _set_signed_out()
            st.session_state.cookie_script = _cookie_script(None, 0)
            if _oidc_configured():
                st.logout()
            st.rerun()
        st.session_state.audience = Audience.AGENTS
        return
    st.session_state.audience = Audience.PUBLIC
    if st.session_state.get("session_error"):
        st.error(st.session_state.pop("session_error"))
    st.caption(f"{t(lang, 'audience')} : {t(lang, 'citizen')}")
    with st.expander(t(lang, "signin"), expanded=bool(st.session_state.get("signin_open"))):
        if _oidc_configured():
            if st.button("SSO", key="sso"):
                st.login()
        with st.form("signin", clear_on_submit=False):
            user = st.text_input(t(lang, "user"), key="signin_user")
            password = st.text_input(t(lang, "password"), type="password", key="signin_password")
            if st.form_submit_button(t(lang, "signin_btn")):
                st.session_state.signin_open = True
                try:
                    result = state.sessions().sign_in(user.strip(), password, st.context.ip_address)
                except DalilError as exc:
                    st.error(error_message(lang, exc))
                    return
                if result.outcome is Outcome.SIGNED_IN and result.session and result.token:
                    _set_signed_in(result.session)
                    st.session_state.messages = []
                    st.session_state.conversation_id = None
                    st.session_state.cookie_script = _cookie_script(
                        result.token, state.settings().tuning.session_ttl_s
                    )
                    st.session_state.signin_open = False
                    st.rerun()
                elif result.outcome is Outcome.LOCKED:
                    st.error(t(lang, "signin_locked", minutes=_minutes(result.retry_after_s)))
                else:
                    st.error(t(lang, "bad_credentials"))
