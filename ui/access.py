"""Which pages a session may open: Documents needs the owner role, Quality the evaluator role."""

from __future__ import annotations

import streamlit as st

from assistant.modes import Role
from ui import state
from ui.i18n import t


def require(role: Role, lang: str) -> bool:
    """True when the signed-in account has `role`; otherwise say why (translated) and False."""
    if role in state.roles():
        return True
    key = "needs_signin" if not st.session_state.agent else f"needs_{role.value}"
    st.warning(t(lang, key))
    return False
