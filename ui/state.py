"""Process-wide resources of the app (one embedded index per process) and session defaults."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import streamlit as st

from assistant.modes import Audience
from assistant.registry import doc_id_for
from assistant.service import Dalil
from assistant.settings import Settings, get_settings
from ui.files import FileAccess, make_server


@st.cache_resource(show_spinner=False)
def dalil() -> Dalil:
    return Dalil.open(get_settings(), shared=True)


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def _files() -> tuple[str, FileAccess] | None:
    """The citation file server (ui/files.py) on 127.0.0.1, and the key its links are signed with."""
    s = get_settings()
    access = FileAccess.from_settings(s)
    try:
        server = make_server(access, s.file_server_port)
    except OSError:
        try:
            server = make_server(access, 0)
        except OSError:
            return None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", access


def file_server() -> str | None:
    """The base URL of the citation file server, started once per process."""
    files = _files()
    return files[0] if files else None


def file_link(source: str, page: int | None) -> str | None:
    """A link that opens a cited document at its page, signed for the current session's audience
    (an agents-only document opens only from a signed-in agent's session)."""
    files = _files()
    if not files or not source:
        return None
    base, access = files
    audience = st.session_state.get("audience", Audience.PUBLIC)
    return base + access.link(doc_id_for(source), audience) + (f"#page={page}" if page else "")


def init_session() -> None:
    defaults: dict[str, object] = {
        "lang": "fr",
        "messages": [],
        "agent": None,
        "audience": Audience.PUBLIC,
        "feedback_done": set(),
    }
    for k, v in defaults.items():
        st.session_state.setdefault(k, v)


@functools.lru_cache(maxsize=1)
def css() -> str:
    return (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
