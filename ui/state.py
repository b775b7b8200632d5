"""Process-wide resources of the app (one embedded index per process) and session defaults."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import quote

import streamlit as st

from assistant.modes import Audience
from assistant.service import Dalil
from assistant.settings import Settings, get_settings


@st.cache_resource(show_spinner=False)
def dalil() -> Dalil:
    return Dalil.open(get_settings(), shared=True)


def settings() -> Settings:
    return get_settings()


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@st.cache_resource(show_spinner=False)
def file_server() -> str | None:
    """Serve the corpus and uploaded files on 127.0.0.1 so a citation opens the original at its page."""
    s = get_settings()
    roots = {"corpus": s.corpus_dir, "uploads": s.uploads_dir}

    class Handler(_Files):
        def translate_path(self, path: str) -> str:
            parts = path.split("?")[0].split("#")[0].lstrip("/").split("/", 1)
            root = roots.get(parts[0])
            if root is None or len(parts) < 2:
                return "/nonexistent"
            from urllib.parse import unquote

            target = (root / unquote(parts[1])).resolve()
            return str(target) if root.resolve() in target.parents else "/nonexistent"

    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", s.file_server_port), Handler)
    except OSError:
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        except OSError:
            return None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def file_link(source: str, page: int | None) -> str | None:
    base = file_server()
    if not base or not source:
        return None
    s = get_settings()
    root = (
        "uploads" if (s.uploads_dir / source).exists() and not (s.corpus_dir / source).exists() else "corpus"
    )
    return f"{base}/{root}/{quote(source)}" + (f"#page={page}" if page else "")


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
