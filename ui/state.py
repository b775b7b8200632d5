"""Process-wide resources of the app (one embedded index per process) and session defaults."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import streamlit as st

from assistant.audit import AuditLog
from assistant.client import DalilClient
from assistant.errors import ConfigError
from assistant.http_client import HttpClient
from assistant.keys import secret_key
from assistant.modes import Audience, Role
from assistant.service import Dalil
from assistant.sessions import Sessions
from assistant.settings import Settings, get_settings
from ingest.local_client import LocalClient
from ui.files import FileAccess, make_server


@st.cache_resource(show_spinner=False)
def dalil() -> Dalil:
    """The app's own index, model client and audit log: only without a service (DALIL_API_URL)."""
    s = get_settings()
    if s.api_url:
        raise ConfigError(
            "the app works through the service at DALIL_API_URL and never opens the index itself: "
            "use state.client()"
        )
    return Dalil.open(s, shared=True)


def remote() -> bool:
    """Whether a running `dalil serve` (DALIL_API_URL) owns the index: the app goes through it."""
    return bool(get_settings().api_url)


@st.cache_resource(show_spinner=False)
def _client() -> DalilClient:
    s = get_settings()
    if s.api_url:
        return HttpClient(s)
    return LocalClient(s, dalil=dalil())


def client() -> DalilClient:
    """Answers, search, collections, documents and feedback: through the service when
    DALIL_API_URL is set (with DALIL_API_KEY; the app then never opens the index), else in this
    process over the app's own index. Through the service, calls name the signed-in agent (the
    service records "AGENT via KEY"; the app's one key is what is authorised)."""
    base = _client()
    agent = st.session_state.get("agent")
    if isinstance(base, HttpClient) and agent:
        return base.acting_for(str(agent))
    return base


@st.cache_resource(show_spinner=False)
def _audit() -> AuditLog:
    s = get_settings()
    return AuditLog(s.audit_path, key=secret_key(s), privacy_mode=s.privacy_mode)


def audit() -> AuditLog:
    """The audit trail (answers and feedback) for the Quality page: the app's own, or, beside a
    service on the same data directory, the service's (an SQLite file, not the index)."""
    return _audit() if remote() else dalil().audit


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


def file_link(doc_id: str, page: int | None) -> str | None:
    """A link that opens a cited document at its page, signed for the current session's audience
    (an agents-only document opens only from a signed-in agent's session)."""
    files = _files()
    if not files or not doc_id:
        return None
    base, access = files
    audience = st.session_state.get("audience", Audience.PUBLIC)
    return base + access.link(doc_id, audience) + (f"#page={page}" if page else "")


@st.cache_resource(show_spinner=False)
def sessions() -> Sessions:
    """Sign-in, session tokens and sign-out (assistant/sessions.py), one per process."""
    return Sessions.from_settings(get_settings())


def roles() -> frozenset[Role]:
    """The signed-in agent's roles (empty for a citizen)."""
    found: frozenset[Role] = st.session_state.get("roles") or frozenset()
    return found


def init_session() -> None:
    defaults: dict[str, object] = {
        "lang": "fr",
        "messages": [],
        "agent": None,
        "roles": frozenset(),
        "session": None,
        "audience": Audience.PUBLIC,
        "feedback_done": set(),
        "conversation_id": None,
        # a citizen's conversations, kept for the browser session only: id -> conversation
        "session_conversations": {},
    }
    for k, v in defaults.items():
        st.session_state.setdefault(k, v)


@functools.lru_cache(maxsize=1)
def css() -> str:
    return (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
